"""From use to money in Chromium (issue 14): `lab_admin` registers the use of `service_user`'s ended
booking from its page, confirms and invoices the charge; `service_user` finds it among its charges
with its lines and evaluates the booking; the lab records the payment and the user sees it settled; the
average shows on the public instrument page. Against the demo served by gunicorn."""
import re

import sqlalchemy as sa

from app import clock

from app.models import Booking, Charge, Evaluation, ServiceUser, UsageRecord
from app.models.user import PlatformUser

from .test_flows import _flash, demo_db  # noqa: F401  (demo_db: the fixture)



def _ended_booking(engine):
    """service_user's scheduled self-operated booking whose slot has ended, no use registered yet (SPEC §5)."""
    with engine.connect() as conn:
        user = conn.execute(sa.select(ServiceUser.id).join(PlatformUser, PlatformUser.id == ServiceUser.account_id)
                            .where(PlatformUser.username == "service_user")).scalar_one()
        used = sa.select(UsageRecord.booking_id).where(UsageRecord.booking_id.is_not(None), UsageRecord.source == "manual")
        return conn.execute(sa.select(Booking.id, Booking.instrument_id).where(
            Booking.user_id == user, Booking.state == "scheduled", Booking.mode == "self_operated",
            Booking.scheduled_end < clock.now(), Booking.id.not_in(used))
            .order_by(Booking.scheduled_end.desc()).limit(1)).one()


def test_lab_admin_settles_a_use_and_service_user_evaluates_it(ui, demo_db):
    engine, page = demo_db, ui.page
    booking_id, instrument_id = _ended_booking(engine)

    # lab_admin: the booking's page offers its slot as the use; the charge follows
    ui.login("lab_admin")
    ui.goto(f"/bookingrecordview/show/{booking_id}")
    form = page.locator("form.use-register")
    assert form.locator("input[name=start]").input_value()  # the slot, offered
    form.locator("input[name=samples]").fill("3")  # the NMR's standard prices by the sample
    ui.step("lab-admin-opens-the-ended-booking")
    form.locator("button[type=submit]").click()
    page.wait_for_load_state("networkidle")
    assert "使用已登记" in _flash(ui), _flash(ui)
    ui.step("lab-admin-registered-the-use")
    page.locator("a.charge-link").first.click()
    page.wait_for_load_state("networkidle")
    charge_id = int(re.search(r"/chargeview/show/(\d+)", page.url).group(1))
    assert page.locator(".charge-lines tbody tr").count() >= 1
    total = page.locator(".charge-total").inner_text()
    ui.step("lab-admin-opens-the-charge")
    page.click("button:has-text('确认费用')")
    page.wait_for_load_state("networkidle")
    assert "已确认" in _flash(ui), _flash(ui)
    page.fill("form.charge-invoice input[name=invoice_number]", f"FP-BROWSER-{charge_id}")
    page.click("button:has-text('登记开票')")
    page.wait_for_load_state("networkidle")
    assert "已登记开票" in _flash(ui), _flash(ui)
    ui.step("lab-admin-invoiced-the-charge")
    with engine.connect() as conn:
        state, number = conn.execute(sa.select(Charge.state, Charge.invoice_number).where(Charge.id == charge_id)).one()
    assert (state, number) == ("invoiced", f"FP-BROWSER-{charge_id}")
    ui.goto("/chargeview/list/")
    assert page.locator(f"a[href='/chargeview/show/{charge_id}']").count() >= 1
    ui.step("lab-admin-charges")
    today = clock.today()
    ui.goto(f"/statements/?year={today.year}&month={today.month}")
    assert f"FP-BROWSER-{charge_id}" in page.locator("body").inner_text()  # invoiced today: this month's
    ui.step("lab-admin-statement")
    ui.logout()

    # service_user: its charge with its lines, then its evaluation of the booking
    ui.login("service_user")
    ui.goto("/mychargeview/list/")
    assert page.locator(f"a[href='/mychargeview/show/{charge_id}']").count() >= 1
    ui.step("service-user-sees-its-charges")
    ui.goto(f"/mychargeview/show/{charge_id}")
    assert f"FP-BROWSER-{charge_id}" in page.locator("body").inner_text()
    assert page.locator(".charge-total").inner_text() == total
    assert page.locator(".charge-steps").count() == 0  # no settlement steps for the customer
    ui.step("service-user-reads-the-charge")
    ui.goto(f"/mybookingview/show/{booking_id}")
    for field in ("score", "attitude", "timeliness", "quality"):
        page.select_option(f"#evaluation-{field}", "5")
    page.fill("#evaluation-comment", "浏览器测试：服务及时，数据可靠。")
    ui.step("service-user-evaluates")
    page.click("button:has-text('提交评价')")
    page.wait_for_load_state("networkidle")
    assert "感谢您的评价" in _flash(ui), _flash(ui)
    assert "浏览器测试：服务及时" in page.locator(".evaluation-given").inner_text()
    ui.step("service-user-evaluated")
    with engine.connect() as conn:
        assert conn.execute(sa.select(Evaluation.score).where(Evaluation.booking_id == booking_id)).scalar() == 5
    ui.goto("/myusageview/list/")
    ui.step("service-user-uses")
    ui.goto("/statements/")
    assert f"FP-BROWSER-{charge_id}" in page.locator("body").inner_text()
    ui.step("service-user-statement")
    ui.logout()
    ui.login("lab_admin")
    ui.goto("/evaluationview/list/")
    assert "浏览器测试：服务及时" in page.locator("body").inner_text()
    ui.step("lab-admin-evaluations")
    # the payment arrives: the lab records it, and the charge is settled
    ui.goto(f"/chargeview/show/{charge_id}")
    page.select_option("form.charge-settle select[name=method]", "bank_transfer")
    page.click("button:has-text('登记结清')")
    page.wait_for_load_state("networkidle")
    assert "已登记结清" in _flash(ui), _flash(ui)
    ui.step("lab-admin-settled-the-charge")
    with engine.connect() as conn:
        assert conn.execute(sa.select(Charge.state, Charge.payment_method).where(Charge.id == charge_id)).one() == (
            "settled", "bank_transfer")
    ui.logout()
    ui.login("service_user")
    ui.goto(f"/mychargeview/show/{charge_id}")
    assert "已结清" in page.locator("body").inner_text()
    ui.step("service-user-sees-it-settled")
    ui.logout()

    # anyone: the public page shows the instrument's average
    ui.goto(f"/public/instruments/{instrument_id}")
    ratings = page.locator(".public-ratings").inner_text()
    assert re.search(r"\d\.\d 分（满分 5 分，共 \d+ 条评价）", ratings), ratings
    ui.step("public-page-shows-the-average")
