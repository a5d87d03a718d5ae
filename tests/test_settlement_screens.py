"""Uses and charges on screen (issue 14): the lab registers a booking's use from the booking's page (or
starts and ends it), takes the charge through its steps on the charge's page; the service user sees
its own uses and charges and nothing of anyone else's; refusals are flashed in Chinese, nothing changed."""
from datetime import date, datetime, timedelta
import re

import pytest
import sqlalchemy as sa
import time_machine

from app import clock
from app.extensions import db
from app.models import Booking, Charge, Unit, UsageRecord
from app.security.roles import LAB_ADMIN

from . import factories as f
from .conftest import csrf_token

NOW = datetime(2026, 12, 7, 18, 0, tzinfo=clock.BEIJING)


@pytest.fixture(autouse=True)
def frozen():
    with time_machine.travel(NOW, tick=True):
        yield


@pytest.fixture
def setup(app, uni):
    with app.app_context():
        inst = f.bookable_instrument(db.session.get(Unit, uni.l11), name="结算屏幕仪器")
        f.fee_standard(inst, state="published", effective_from=date(2026, 1, 1), items=[f.standard_item(
            "机时", "小时", "100", basis="hours", prices=[("campus", 0, None, "100", None), ("enterprise", 0, None, "150", "对外")])])
        ids = {"instrument": inst.id}
        for key, user, hour, mode in (("booking", uni.customer_service_user, 9, "self_operated"),
                                      ("live", uni.customer_service_user, 14, "self_operated"),
                                      ("campus", uni.customer_campus_user, 12, "self_operated")):
            start = datetime(2026, 12, 7, hour, 0, tzinfo=clock.BEIJING)
            booking = Booking(instrument_id=inst.id, user_id=user, mode=mode, state="scheduled", scheduled_start=start,
                              scheduled_end=start + timedelta(hours=2), submitted_at=start - timedelta(days=3),
                              respond_by=date(2026, 12, 9))
            db.session.add(booking)
            db.session.flush()
            ids[key] = booking.id
        db.session.commit()
        db.session.remove()
    yield ids
    with app.app_context():
        f.remove_instruments([ids["instrument"]])
        db.session.remove()


def charges_of(app, booking_id):
    with app.app_context():
        rows = db.session.execute(sa.select(Charge.id, Charge.state, Charge.total).join(UsageRecord)
                                  .where(UsageRecord.booking_id == booking_id).order_by(Charge.id)).all()
        db.session.remove()
        return rows


def flashed(html):
    return " ".join(re.findall(r'alert-(?:danger|success|warning)[^>]*>(.*?)</div>', html, re.S))


def test_the_lab_registers_a_use_and_settles_its_charge_on_screen(app, login_as, setup):
    lab = login_as("lab_admin")
    page_url = f"/bookingrecordview/show/{setup['booking']}"
    page = lab.get(page_url).get_data(as_text=True)
    assert "登记使用" in page and 'value="2026-12-07T09:00"' in page  # the slot is offered as the use's time
    token = csrf_token(lab, page_url)
    bad = lab.post(f"/usagerecordview/register/{setup['booking']}", follow_redirects=True,
                   data={"csrf_token": token, "start": "2026-12-07T09:00", "end": "2026-12-07T08:00"})
    assert "结束时间须晚于开始时间" in flashed(bad.get_data(as_text=True))
    assert charges_of(app, setup["booking"]) == []
    done = lab.post(f"/usagerecordview/register/{setup['booking']}", follow_redirects=True,
                    data={"csrf_token": token, "start": "2026-12-07T09:00", "end": "2026-12-07T10:40", "direction": "development"})
    html = done.get_data(as_text=True)
    assert "使用已登记" in flashed(html)
    [(charge_id, state, total)] = charges_of(app, setup["booking"])
    assert (state, total) == ("pending", 300)  # two started hours at the enterprise price
    assert f"/chargeview/show/{charge_id}" in html

    charge_url = f"/chargeview/show/{charge_id}"
    charge_page = lab.get(charge_url).get_data(as_text=True)
    assert "机时 (小时)" in charge_page and "确认费用" in charge_page and "300.00" in charge_page

    def step(name, **data):
        resp = lab.post(f"/chargeview/step/{charge_id}/{name}", data={"csrf_token": csrf_token(lab, charge_url), **data},
                        follow_redirects=True)
        return flashed(resp.get_data(as_text=True))

    assert "已确认" in step("confirm")
    assert "发票号码" in step("invoice", invoice_number="", invoice_date="2026-12-07")
    assert charges_of(app, setup["booking"])[0][1] == "confirmed"
    assert "已登记开票" in step("invoice", invoice_number="FP-S1", invoice_date="2026-12-07")
    assert "红冲金额不能超过" in step("credit", amount="300.01", reason="多收")
    assert "已开具红冲单" in step("credit", amount="100", reason="少用一小时")
    assert "剩余金额" in lab.get(charge_url).get_data(as_text=True)
    assert "已登记结清" in step("settle", paid_on="2026-12-07", method="bank_transfer")
    assert [(s, t) for _i, s, t in charges_of(app, setup["booking"])] == [("settled", 300), ("credited", -100)]


def test_the_lab_starts_and_ends_a_use_as_it_happens(app, login_as, setup):
    lab = login_as("lab_admin")
    page_url = f"/bookingrecordview/show/{setup['live']}"
    resp = lab.post(f"/usagerecordview/start/{setup['live']}", data={"csrf_token": csrf_token(lab, page_url)},
                    follow_redirects=True)
    assert "已开始使用" in flashed(resp.get_data(as_text=True))
    assert "结束使用" in resp.get_data(as_text=True)
    again = lab.post(f"/usagerecordview/start/{setup['campus']}", data={"csrf_token": csrf_token(lab, page_url)},
                     follow_redirects=True)
    assert "已有正在进行的使用" in flashed(again.get_data(as_text=True))
    with app.app_context():
        open_id = db.session.execute(sa.select(UsageRecord.id).where(UsageRecord.booking_id == setup["live"])).scalar()
        db.session.remove()
    with time_machine.travel(NOW + timedelta(minutes=95), tick=False):  # the session signed earlier still holds
        resp = lab.post(f"/usagerecordview/end/{open_id}", data={"csrf_token": csrf_token(lab, page_url)},
                        follow_redirects=True)
    assert "已结束使用" in flashed(resp.get_data(as_text=True))
    [(_id, state, total)] = charges_of(app, setup["live"])
    assert (state, total) == ("pending", 300)  # 1 h 35: two started hours at 150


def test_without_a_token_nothing_is_registered(app, login_as, setup):
    lab = login_as("lab_admin")
    resp = lab.post(f"/usagerecordview/register/{setup['booking']}",
                    data={"start": "2026-12-07T09:00", "end": "2026-12-07T10:00"})
    assert resp.status_code == 400 and charges_of(app, setup["booking"]) == []


def test_a_service_user_sees_its_own_uses_and_charges_only(app, login_as, setup):
    lab = login_as("lab_admin")
    token = csrf_token(lab, f"/bookingrecordview/show/{setup['booking']}")
    for key, hour in (("booking", 9), ("campus", 12)):
        lab.post(f"/usagerecordview/register/{setup[key]}",
                 data={"csrf_token": token, "start": f"2026-12-07T{hour:02d}:00", "end": f"2026-12-07T{hour + 1:02d}:00"})
    [(own_charge, _s, _t)] = charges_of(app, setup["booking"])
    [(other_charge, _s2, campus_total)] = charges_of(app, setup["campus"])
    assert campus_total == 100  # the on-campus price
    service = login_as("service_user")
    listed = service.get("/mychargeview/list/").get_data(as_text=True)
    assert f"/mychargeview/show/{own_charge}" in listed and f"/mychargeview/show/{other_charge}" not in listed
    own = service.get(f"/mychargeview/show/{own_charge}")
    assert own.status_code == 200 and "机时 (小时)" in own.get_data(as_text=True)
    assert "确认费用" not in own.get_data(as_text=True)  # no settlement steps for the customer
    assert service.get(f"/mychargeview/show/{other_charge}").status_code == 404
    assert "结算屏幕仪器" in service.get("/myusageview/list/").get_data(as_text=True)
    # the lab's screens and steps are not the customer's
    assert service.get("/chargeview/list/").status_code in (302, 403)
    step = service.post(f"/chargeview/step/{own_charge}/confirm",
                        data={"csrf_token": csrf_token(service, "/mychargeview/list/")})
    assert step.status_code in (302, 403)
    assert charges_of(app, setup["booking"])[0][1] == "pending"


def test_another_labs_administrator_reaches_none_of_it(app, login_as, setup, uni):
    lab = login_as("lab_admin")
    lab.post(f"/usagerecordview/register/{setup['booking']}",
             data={"csrf_token": csrf_token(lab, f"/bookingrecordview/show/{setup['booking']}"),
                   "start": "2026-12-07T09:00", "end": "2026-12-07T10:00"})
    [(charge_id, _s, _t)] = charges_of(app, setup["booking"])
    with app.app_context():  # the optics lab's administrator, in the other college
        if app.appbuilder.sm.find_user("lab_admin_optics") is None:
            f.user(app.appbuilder.sm, "lab_admin_optics", LAB_ADMIN, db.session.get(Unit, uni.l21))
        db.session.remove()
    other = login_as("lab_admin_optics")
    assert other.get(f"/chargeview/show/{charge_id}").status_code == 404
    assert f"/chargeview/show/{charge_id}" not in other.get("/chargeview/list/").get_data(as_text=True)
    token = csrf_token(other, "/chargeview/list/")
    assert other.post(f"/chargeview/step/{charge_id}/confirm", data={"csrf_token": token}).status_code == 404
    assert other.post(f"/usagerecordview/register/{setup['campus']}",
                      data={"csrf_token": token, "start": "2026-12-07T12:00", "end": "2026-12-07T13:00"}).status_code == 404
    assert charges_of(app, setup["campus"]) == []
