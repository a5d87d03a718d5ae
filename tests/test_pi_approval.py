"""The PI's approval of on-campus charges (issue 14, item 4): confirming a campus charge asks the PI of its
project account by a signed link mailed to them (a real SMTP server); the charge is not invoiced before
the PI approves; a rejection needs a reason and is corrected by a credit note and a new charge, which
asks again; a PI without e-mail decides on paper and the lab records it; a tampered, replaced or expired
link opens nothing; the page needs no sign-in and a CSRF token; another lab reaches none of it."""
import io
import re
from datetime import date, datetime, timedelta

import pytest
import sqlalchemy as sa
import time_machine

from app import clock
from app.extensions import db
from app.models import Booking, ChargeApproval, Person, PlatformUser, ServiceUser, Unit
from app.services.booking import bookings as booking_service, usage
from app.services.money import pi_approval, settlement
from app.services.actors import Actor
from app.services.errors import PolicyDenied, RuleViolation

from . import factories as f
from .conftest import csrf_token
from .mail_server import mail_on, smtp_server  # noqa: F401  (fixtures)
from .test_settlement_screens import flashed

NOW = datetime(2026, 12, 7, 18, 0, tzinfo=clock.BEIJING)
SETTINGS = booking_service.Settings()


@pytest.fixture(autouse=True)
def frozen():
    with time_machine.travel(NOW, tick=True):
        yield


def _use(session, inst, user, hour):
    start = datetime(2026, 12, 7, hour, 0, tzinfo=clock.BEIJING)
    booking = Booking(instrument_id=inst.id, user=user, mode="self_operated", state="scheduled", scheduled_start=start,
                      scheduled_end=start + timedelta(hours=2), submitted_at=start - timedelta(days=2),
                      respond_by=date(2026, 12, 9))
    session.add(booking)
    session.flush()
    lab = Actor.of(session.execute(sa.select(PlatformUser).filter_by(username="lab_admin")).scalar_one())
    return usage.register(session, lab, NOW, SETTINGS, booking=booking, start=start, end=start + timedelta(hours=2)).charge


@pytest.fixture
def campus(app, uni):
    """An instrument with a published standard; campus_user's PI (with e-mail) and two priced uses: one of
    campus_user's, one of service_user's (an enterprise: no PI). Committed, removed afterwards."""
    with app.app_context():
        inst = f.bookable_instrument(db.session.get(Unit, uni.l11), name="审批测试仪器")
        f.fee_standard(inst, state="published", effective_from=date(2026, 1, 1), items=[f.standard_item(
            "机时", "小时", "100", basis="hours", prices=[("campus", 0, None, "100", None), ("enterprise", 0, None, "150", "对外")])])
        pi = f.person(db.session.get(Unit, uni.l21), name="王教授", email="pi.wang@example.edu.cn")
        user = db.session.get(ServiceUser, uni.customer_campus_user)
        user.pi_id = pi.id
        ids = {"instrument": inst.id, "pi": pi.id, "charge": _use(db.session, inst, user, 9).id,
               "outside": _use(db.session, inst, db.session.get(ServiceUser, uni.customer_service_user), 13).id}
        db.session.commit()
        db.session.remove()
    yield ids
    with app.app_context():
        db.session.get(ServiceUser, uni.customer_campus_user).pi_id = None
        db.session.commit()
        f.remove_instruments([ids["instrument"]])
        db.session.execute(sa.delete(Person).where(Person.id == ids["pi"]))
        db.session.commit()
        db.session.remove()


def lab_actor(session):
    return Actor.of(session.execute(sa.select(PlatformUser).filter_by(username="lab_admin")).scalar_one())


def _charge(session, charge_id):
    return session.get(settlement.Charge, charge_id)


def test_a_campus_charge_waits_for_its_pi_before_it_is_invoiced(app, campus, session):
    charge, lab = _charge(session, campus["charge"]), lab_actor(session)
    settlement.confirm(session, lab, charge, NOW)
    approval = charge.approval
    assert (approval.state, approval.pi_name, approval.email_to, approval.project_account) == \
        ("awaiting", "王教授", "pi.wang@example.edu.cn", "2026001001")
    with pytest.raises(PolicyDenied) as refused:
        settlement.invoice(session, lab, charge, NOW, "FP-PI-1", NOW.date())
    assert refused.value.code == "pi_awaiting" and "课题负责人" in refused.value.message and charge.state == "confirmed"
    pi_approval.decide(session, approval, NOW, True)
    assert (approval.state, approval.decided_via) == ("approved", "link")
    settlement.invoice(session, lab, charge, NOW, "FP-PI-1", NOW.date())
    assert charge.state == "invoiced"
    # the outside user's charge asks no one
    outside = _charge(session, campus["outside"])
    settlement.confirm(session, lab, outside, NOW)
    assert outside.approval is None
    settlement.invoice(session, lab, outside, NOW, "FP-PI-2", NOW.date())


def test_a_rejection_needs_a_reason_and_the_corrected_charge_asks_again(app, campus, session):
    charge, lab = _charge(session, campus["charge"]), lab_actor(session)
    settlement.confirm(session, lab, charge, NOW)
    with pytest.raises(RuleViolation) as refused:
        pi_approval.decide(session, charge.approval, NOW, False, "  ")
    assert "理由" in refused.value.errors["note"] and charge.approval.state == "awaiting"
    pi_approval.decide(session, charge.approval, NOW, False, "不是本课题组的测试")
    with pytest.raises(PolicyDenied) as refused:
        settlement.invoice(session, lab, charge, NOW, "FP-PI-3", NOW.date())
    assert refused.value.code == "pi_rejected" and "不是本课题组的测试" in refused.value.message
    with pytest.raises(PolicyDenied):
        pi_approval.decide(session, charge.approval, NOW, True)  # decided once
    settlement.credit(session, lab, charge, NOW, str(charge.total), "课题负责人不同意")
    fresh = settlement.new_charge(session, lab, charge.usage, NOW)
    settlement.confirm(session, lab, fresh, NOW)
    assert fresh.approval is not None and fresh.approval.state == "awaiting" and fresh.approval.id != charge.approval.id


PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"


def college_actor(session):
    return Actor.of(session.execute(sa.select(PlatformUser).filter_by(username="college_admin")).scalar_one())


def scan(tmp_path, data=PDF, name="审批单.pdf"):
    return pi_approval.Scan(data, name, tmp_path, 1024 * 1024)


def test_the_lab_never_records_its_own_charges_approval(app, campus, session, tmp_path):
    """The lab that earns the charge recorded a paper approval "for" a PI who has an address and never saw the
    link, and the charge was invoiced to another group's account (issue 21, defect 5)."""
    charge, lab = _charge(session, campus["charge"]), lab_actor(session)
    settlement.confirm(session, lab, charge, NOW)
    with pytest.raises(PolicyDenied) as refused:
        pi_approval.record_paper(session, lab, charge.approval, NOW, True, "纸质签字", scan(tmp_path))
    assert refused.value.code == "lab_records_own" and charge.approval.state == "awaiting"
    # above the lab, but the PI has an address: only the PI decides, through the link
    with pytest.raises(PolicyDenied) as refused:
        pi_approval.record_paper(session, college_actor(session), charge.approval, NOW, True, "纸质签字", scan(tmp_path))
    assert refused.value.code == "pi_has_email" and charge.approval.state == "awaiting"
    assert list(tmp_path.iterdir()) == []
    with pytest.raises(PolicyDenied):
        settlement.invoice(session, lab, charge, NOW, "FP-PI-9", NOW.date())
    pi_approval.renew(session, lab, charge.approval, NOW)  # what the lab may do: send a new link


def test_a_pi_without_e_mail_decides_on_paper_recorded_above_the_lab_with_its_scan(app, campus, session, uni, tmp_path):
    session.get(Person, campus["pi"]).email = None
    charge, lab, college = _charge(session, campus["charge"]), lab_actor(session), college_actor(session)
    settlement.confirm(session, lab, charge, NOW)
    approval = charge.approval
    assert approval.email_to is None
    with pytest.raises(PolicyDenied) as refused:
        pi_approval.record_paper(session, lab, approval, NOW, True, "纸质签字", scan(tmp_path))
    assert refused.value.code == "lab_records_own"
    other_college = Actor(college.user_id, frozenset({"CollegeAdmin"}), "college", session.get(Unit, uni.c2).path)
    with pytest.raises(PolicyDenied):
        pi_approval.record_paper(session, other_college, approval, NOW, True, "纸质签字", scan(tmp_path))
    for note, paper, field in (("  ", scan(tmp_path), "note"), ("纸质签字", None, "scan"),
                               ("纸质签字", scan(tmp_path, b"GIF89a not a pdf"), "scan"),
                               ("纸质签字", pi_approval.Scan(PDF, "big.pdf", tmp_path, 10), "scan")):
        with pytest.raises(RuleViolation) as bad:
            pi_approval.record_paper(session, college, approval, NOW, True, note, paper)
        assert set(bad.value.errors) == {field}, bad.value.errors
    assert approval.state == "awaiting" and list(tmp_path.iterdir()) == []
    pi_approval.record_paper(session, college, approval, NOW, True, "2026-12-07 课题负责人纸质审批单签字", scan(tmp_path))
    assert (approval.state, approval.decided_via, approval.recorded_by_id, approval.scan_name, approval.scan_size) == \
        ("approved", "paper", college.user_id, "审批单.pdf", len(PDF))
    assert (tmp_path / approval.scan_path).read_bytes() == PDF
    assert pi_approval.scan_path(tmp_path, approval) == tmp_path / approval.scan_path
    settlement.invoice(session, lab, charge, NOW, "FP-PI-8", NOW.date())
    with pytest.raises(sa.exc.IntegrityError), session.begin_nested():  # the database keeps the rule too
        session.execute(sa.text("UPDATE charge_approval SET scan_path = NULL WHERE id = :id"), {"id": approval.id})


def test_the_link_opens_only_its_own_approval_and_not_once_replaced_or_expired(app, campus, session):
    charge, lab = _charge(session, campus["charge"]), lab_actor(session)
    settlement.confirm(session, lab, charge, NOW)
    secret, settings = app.config["SECRET_KEY"], pi_approval.Settings(link_days=14)
    link = pi_approval.token(charge.approval, secret)
    assert pi_approval.by_token(session, link, secret, settings) is charge.approval
    for bad in (link[:-2] + ("AA" if not link.endswith("AA") else "BB"), "nonsense", pi_approval.token(charge.approval, "other")):
        with pytest.raises(PolicyDenied) as refused:
            pi_approval.by_token(session, bad, secret, settings)
        assert refused.value.code == "link_invalid"
    with time_machine.travel(NOW + timedelta(days=15)):
        with pytest.raises(PolicyDenied) as refused:
            pi_approval.by_token(session, link, secret, settings)
        assert refused.value.code == "link_expired" and "过期" in refused.value.message
    pi_approval.renew(session, lab, charge.approval, NOW)
    with pytest.raises(PolicyDenied) as refused:
        pi_approval.by_token(session, link, secret, settings)
    assert refused.value.code == "link_invalid"


def test_the_pi_is_mailed_the_link_and_approves_on_its_page_without_signing_in(app, client, login_as, campus, mail_on):
    lab = login_as("lab_admin")
    token = csrf_token(lab, f"/chargeview/show/{campus['charge']}")
    assert lab.post(f"/chargeview/step/{campus['charge']}/confirm", data={"csrf_token": token}).status_code == 302
    [mail] = [m for m in mail_on.wait_for(1) if "pi.wang@example.edu.cn" in m["to"]]
    text = mail["message"].get_body(("plain",)).get_content()
    assert "审批测试仪器" in mail["message"]["Subject"] and "2026001001" in text and "200.00" in text
    path = re.search(r"(/pi-approval/[A-Za-z0-9_.\-]+)", text).group(1)
    page = lab.get(f"/chargeview/show/{campus['charge']}").get_data(as_text=True)
    assert "待课题负责人审批" in page and "pi.wang@example.edu.cn" in page
    refused = lab.post(f"/chargeview/step/{campus['charge']}/invoice", follow_redirects=True,
                       data={"csrf_token": token, "invoice_number": "FP-PI-9", "invoice_date": "2026-12-07"})
    assert "课题负责人" in flashed(refused.get_data(as_text=True))

    pi = app.test_client()  # the PI: no account, no sign-in
    shown = pi.get(path)
    html = shown.get_data(as_text=True)
    assert shown.status_code == 200 and "王教授" in html and "200.00" in html and "同意" in html
    assert pi.post(path, data={"decision": "approve"}).status_code == 400  # no CSRF token: nothing decided
    with app.app_context():
        assert db.session.execute(sa.select(ChargeApproval.state)).scalar() == "awaiting"
        db.session.remove()
    pi_token = re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)
    done = pi.post(path, data={"csrf_token": pi_token, "decision": "approve"}, follow_redirects=True)
    assert "已记录" in flashed(done.get_data(as_text=True))
    assert "课题负责人已同意" in done.get_data(as_text=True) and "pi-decision" not in done.get_data(as_text=True)
    invoiced = lab.post(f"/chargeview/step/{campus['charge']}/invoice", follow_redirects=True,
                        data={"csrf_token": token, "invoice_number": "FP-PI-9", "invoice_date": "2026-12-07"})
    assert "已登记开票" in flashed(invoiced.get_data(as_text=True))
    assert pi.get(path.replace("/pi-approval/", "/pi-approval/x")).status_code == 404


def test_another_lab_reaches_none_of_it_and_the_user_sees_the_state(app, client, login_as, campus):
    lab = login_as("lab_admin")
    token = csrf_token(lab, f"/chargeview/show/{campus['charge']}")
    lab.post(f"/chargeview/step/{campus['charge']}/confirm", data={"csrf_token": token})
    other = login_as("lab2_admin")  # another college's lab: the charge, its approval and its steps are 404
    charge = campus["charge"]
    with app.app_context():
        nonce = db.session.execute(sa.select(ChargeApproval.nonce)).scalar()
        db.session.remove()
    assert other.get(f"/chargeview/show/{charge}").status_code == 404
    other_token = csrf_token(other, "/chargeview/list/")
    for step in ("pi_renew", "pi_record", "confirm"):
        assert other.post(f"/chargeview/step/{charge}/{step}", data={"csrf_token": other_token}).status_code == 404
    assert other.get(f"/chargeview/scan/{charge}").status_code == 404
    assert other.get(f"/api/v1/charge/{charge}").status_code == 404
    assert charge not in {row["id"] for row in other.get("/api/v1/charge/?q=(page_size:100)").get_json()["result"]}
    with app.app_context():
        assert db.session.execute(sa.select(ChargeApproval.nonce)).scalar() == nonce  # no new link was made
        assert db.session.execute(sa.select(ChargeApproval.state)).scalar() == "awaiting"
        db.session.remove()
    school = login_as("school_admin")  # positive control: the school sees it
    assert "待课题负责人审批" in school.get(f"/chargeview/show/{charge}").get_data(as_text=True)
    user = login_as("campus_user")
    assert "待课题负责人审批" in user.get(f"/mychargeview/show/{campus['charge']}").get_data(as_text=True)
    own = user.get(f"/mychargeview/show/{campus['charge']}").get_data(as_text=True)
    assert "charge-pi" not in own and "pi.wang@example.edu.cn" not in own  # the PI's address is the lab's to see
    stranger = login_as("service_user")
    assert stranger.get(f"/mychargeview/show/{campus['charge']}").status_code == 404


def test_the_api_answers_409_while_the_pi_has_not_approved(app, client, login_as, campus):
    lab = login_as("lab_admin")
    token = csrf_token(lab, f"/chargeview/show/{campus['charge']}")
    headers = {"X-CSRFToken": token}
    assert lab.post(f"/api/v1/charge/{campus['charge']}/confirm", json={}, headers=headers).status_code == 200
    shown = lab.get(f"/api/v1/charge/{campus['charge']}").get_json()
    assert shown["result"]["pi_approval"] == "awaiting"
    refused = lab.post(f"/api/v1/charge/{campus['charge']}/invoice", headers=headers,
                       json={"invoice_number": "FP-API-PI", "invoice_date": "2026-12-07"})
    assert refused.status_code == 409 and refused.get_json()["reason"] == "pi_awaiting"
    assert "课题负责人" in refused.get_json()["message"]
    assert lab.get(f"/api/v1/charge/{campus['outside']}").get_json()["result"]["pi_approval"] is None


def test_a_stale_decision_is_refused(app, campus, session, elsewhere):
    charge, lab = _charge(session, campus["charge"]), lab_actor(session)
    settlement.confirm(session, lab, charge, NOW)
    session.commit()
    approval = charge.approval
    assert approval.state == "awaiting"  # as this session read it
    # the PI decides through the link meanwhile, in a request of its own
    assert elsewhere(sa.update(ChargeApproval).where(ChargeApproval.id == approval.id).values(
        state="approved", decided_at=NOW, decided_via="link")) == 1
    assert approval.state == "awaiting"
    with pytest.raises(PolicyDenied) as refused:
        pi_approval.decide(session, approval, NOW, False, "重复")
    assert refused.value.code == "decided"
    session.refresh(approval)
    assert (approval.state, approval.note) == ("approved", None)  # the first decision stands


def test_an_outside_charge_waits_for_nobody(app, campus, session):
    other, lab = _charge(session, campus["outside"]), lab_actor(session)
    settlement.confirm(session, lab, other, NOW)
    assert other.approval is None


def test_a_charge_credited_while_it_waits_cannot_be_approved(app, campus, session):
    charge, lab = _charge(session, campus["charge"]), lab_actor(session)
    settlement.confirm(session, lab, charge, NOW)
    settlement.credit(session, lab, charge, NOW, str(charge.total), "录入错误")
    with pytest.raises(PolicyDenied) as refused:
        pi_approval.decide(session, charge.approval, NOW, True)
    assert refused.value.code == "charge_state" and "红冲" in refused.value.message


def test_a_paper_decision_on_screen_is_the_college_administrators_with_its_scan(app, login_as, campus):
    """On the charge's page the lab gets no paper form (its post is refused, nothing changes); the college's
    administrator records the PI's signed paper with its scan, which only the charge's lab side downloads."""
    with app.app_context():
        db.session.get(Person, campus["pi"]).email = None
        db.session.commit()
        db.session.remove()
    page_url, charge = f"/chargeview/show/{campus['charge']}", campus["charge"]
    lab = login_as("lab_admin")
    token = csrf_token(lab, page_url)
    lab.post(f"/chargeview/step/{charge}/confirm", data={"csrf_token": token})
    page = lab.get(page_url).get_data(as_text=True)
    assert "charge-pi\"" not in page and "不能由收费的实验室" in page
    refused = lab.post(f"/chargeview/step/{charge}/pi_record", follow_redirects=True, content_type="multipart/form-data",
                       data={"csrf_token": token, "decision": "approve", "note": "代签", "scan": (io.BytesIO(PDF), "a.pdf")})
    assert "不能由收费的实验室" in flashed(refused.get_data(as_text=True))
    college = login_as("college_admin")
    page = college.get(page_url).get_data(as_text=True)
    assert 'enctype="multipart/form-data" class="form-inline charge-step charge-pi"' in page
    token = csrf_token(college, page_url)
    not_pdf = college.post(f"/chargeview/step/{charge}/pi_record", follow_redirects=True, content_type="multipart/form-data",
                           data={"csrf_token": token, "decision": "approve", "note": "纸质签字",
                                 "scan": (io.BytesIO(b"<html>"), "a.pdf")})
    assert "PDF" in flashed(not_pdf.get_data(as_text=True))
    with app.app_context():
        assert db.session.execute(sa.select(ChargeApproval.state)).scalar() == "awaiting"
        db.session.remove()
    done = college.post(f"/chargeview/step/{charge}/pi_record", follow_redirects=True, content_type="multipart/form-data",
                        data={"csrf_token": token, "decision": "approve", "note": "12月7日纸质审批单签字",
                              "scan": (io.BytesIO(PDF), "审批单.pdf")})
    assert "已登记课题负责人审批结果" in flashed(done.get_data(as_text=True)) and "pi-approval-scan" in done.get_data(as_text=True)
    for viewer in (college, lab):  # the lab side sees what was recorded
        with viewer.get(f"/chargeview/scan/{charge}") as download:
            assert download.status_code == 200 and download.data == PDF and download.mimetype == "application/pdf"
    assert login_as("service_user").get(f"/chargeview/scan/{charge}").status_code in (403, 404)
    assert login_as("campus_user").get(f"/chargeview/scan/{charge}").status_code in (403, 404)


def test_the_pi_rejects_through_the_link_only_with_a_reason_and_a_renewed_link_replaces_the_old(app, login_as, campus):
    """On the PI's page: a rejection without a reason is refused and changes nothing; with one it is recorded and
    the charge cannot be invoiced. Before that, the lab mails a new link: the old one opens nothing, the new one
    the charge; once decided, no new link is sent (issue 21, §3)."""
    lab = login_as("lab_admin")
    page_url, charge = f"/chargeview/show/{campus['charge']}", campus["charge"]
    token = csrf_token(lab, page_url)
    lab.post(f"/chargeview/step/{charge}/confirm", data={"csrf_token": token})
    with app.app_context():
        approval = db.session.execute(sa.select(ChargeApproval)).scalar_one()
        old_link = f"/pi-approval/{pi_approval.token(approval, app.config['SECRET_KEY'])}"
        db.session.remove()
    pi = app.test_client()
    assert pi.get(old_link).status_code == 200
    renewed = lab.post(f"/chargeview/step/{charge}/pi_renew", data={"csrf_token": token}, follow_redirects=True)
    assert "已重新发送审批链接" in flashed(renewed.get_data(as_text=True))
    assert pi.get(old_link).status_code == 404
    with app.app_context():
        approval = db.session.execute(sa.select(ChargeApproval)).scalar_one()
        new_link = f"/pi-approval/{pi_approval.token(approval, app.config['SECRET_KEY'])}"
        db.session.remove()
    page = pi.get(new_link).get_data(as_text=True)
    pi_token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    blank = pi.post(new_link, data={"csrf_token": pi_token, "decision": "reject", "note": "  "}, follow_redirects=True)
    assert "理由" in flashed(blank.get_data(as_text=True))
    with app.app_context():
        assert db.session.execute(sa.select(ChargeApproval.state)).scalar() == "awaiting"
        db.session.remove()
    done = pi.post(new_link, data={"csrf_token": pi_token, "decision": "reject", "note": "不是本课题组的测试"},
                   follow_redirects=True)
    assert "已记录" in flashed(done.get_data(as_text=True))
    with app.app_context():
        assert db.session.execute(sa.select(ChargeApproval.state, ChargeApproval.note, ChargeApproval.decided_via)).one() \
            == ("rejected", "不是本课题组的测试", "link")
        db.session.remove()
    invoice = lab.post(f"/chargeview/step/{charge}/invoice", follow_redirects=True,
                       data={"csrf_token": token, "invoice_number": "FP-PI-R", "invoice_date": "2026-12-07"})
    assert "不是本课题组的测试" in flashed(invoice.get_data(as_text=True))
    again = lab.post(f"/chargeview/step/{charge}/pi_renew", data={"csrf_token": token}, follow_redirects=True)
    assert "该费用已经审批过了" in flashed(again.get_data(as_text=True))
