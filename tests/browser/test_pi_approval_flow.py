"""The PI's approval in Chromium (issue 14, item 4): `lab_admin` confirms `campus_user`'s charge; the
platform mails the PI a signed link (through the task queue to the suite's SMTP server); the PI, who has
no account, opens it and approves; the lab can then invoice the charge it could not invoice before."""
import re
import time
from urllib.parse import urlsplit

import sqlalchemy as sa

from app.models import Charge, ChargeApproval, Person, ServiceUser
from app.models.user import PlatformUser

from .test_flows import _flash, demo_db  # noqa: F401  (demo_db: the fixture)


def _campus_charge(engine):
    """campus_user's pending charge from the demo's flow, and its PI's address."""
    with engine.connect() as conn:
        user = conn.execute(sa.select(ServiceUser.id, ServiceUser.pi_id).join(
            PlatformUser, PlatformUser.id == ServiceUser.account_id).where(PlatformUser.username == "campus_user")).one()
        charge = conn.execute(sa.select(Charge.id).where(Charge.user_id == user.id, Charge.state == "pending")
                              .order_by(Charge.id.desc()).limit(1)).scalar_one()
        email = conn.execute(sa.select(Person.email).where(Person.id == user.pi_id)).scalar_one()
    return charge, email


def test_the_pi_approves_a_campus_charge_by_the_mailed_link(ui, stack, demo_db):
    engine, page = demo_db, ui.page
    charge_id, pi_email = _campus_charge(engine)
    assert pi_email
    ui.login("lab_admin")
    ui.goto(f"/chargeview/show/{charge_id}")
    page.click("button:has-text('确认费用')")
    page.wait_for_load_state("networkidle")
    assert "待课题负责人审批" in page.locator(".charge-approval").inner_text()
    assert page.locator("form.charge-invoice").count() == 0  # held until the PI approves (the service refuses it too)
    ui.step("lab-admin-cannot-invoice-before-the-pi-approves")
    ui.logout()

    inbox = stack.smtp.inbox
    deadline = time.monotonic() + 60
    while not inbox.to(pi_email) and time.monotonic() < deadline:
        page.wait_for_timeout(250)
    mails = inbox.to(pi_email)
    assert mails, (pi_email, [m["message"]["Subject"] for m in inbox.messages], stack.consumer.text()[-2000:])
    text = mails[-1].get_body(("plain",)).get_content()
    link = re.search(r"(https?://\S+/pi-approval/\S+)", text).group(1)
    ui.goto(urlsplit(link).path)  # the link as mailed (its host is PUBLIC_URL's), on the served demo
    assert "审批校内测试费用" in page.locator("h2").inner_text() and "2026" in page.locator("body").inner_text()
    ui.step("the-pi-opens-the-link-without-signing-in")
    page.click("button:has-text('同意')")
    page.wait_for_load_state("networkidle")
    assert "审批意见已记录" in _flash(ui), _flash(ui)
    assert "课题负责人已同意" in page.locator(".pi-approval-state").inner_text()
    assert page.locator("form.pi-decision").count() == 0  # decided once
    ui.step("the-pi-approved")
    with engine.connect() as conn:
        assert conn.execute(sa.select(ChargeApproval.state, ChargeApproval.decided_via)
                            .where(ChargeApproval.charge_id == charge_id)).one() == ("approved", "link")

    ui.login("lab_admin")
    ui.goto(f"/chargeview/show/{charge_id}")
    page.fill("form.charge-invoice input[name=invoice_number]", f"FP-PI-{charge_id}")
    page.click("button:has-text('登记开票')")
    page.wait_for_load_state("networkidle")
    assert "已登记开票" in _flash(ui), _flash(ui)
    ui.step("lab-admin-invoices-the-approved-charge")
