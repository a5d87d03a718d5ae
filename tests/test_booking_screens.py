"""The lab's booking screens (issue 13): authorisations to operate, booking rules, opening hours and
closures — scoped, refusing bad input beside the field, instants typed and shown in Beijing time."""
import re
from datetime import datetime, timezone

import pytest
import sqlalchemy as sa
import time_machine

from app import clock
from app.extensions import db
from app.models import Authorisation, Booking, BookingRule, Closure, Instrument, OpeningHours, ServiceUser, Unit

from . import factories as f
from .conftest import csrf_token

UTC = timezone.utc


def field_error(html, field_id):
    start = html.index(f'id="{field_id}"')
    cell = html[start: html.index("</td>", start)]
    m = re.search(r'alert-danger">(.*?)</div>', cell, re.S)
    return m.group(1).strip() if m else ""


@pytest.fixture(autouse=True)
def frozen():
    """These screens are dated early in December 2026 (authorisations granted in November, closures ahead)."""
    with time_machine.travel(datetime(2026, 12, 7, 10, 0, tzinfo=clock.BEIJING), tick=True):
        yield


@pytest.fixture
def instruments(app, uni):
    with app.app_context():
        own = f.bookable_instrument(db.session.get(Unit, uni.l11), name="屏幕本室仪器")
        other = f.bookable_instrument(db.session.get(Unit, uni.l12), name="屏幕他室仪器")
        db.session.commit()
        ids = own.id, other.id
        db.session.remove()
    yield ids
    with app.app_context():
        for model in (Authorisation, BookingRule, OpeningHours, Closure):
            db.session.execute(sa.delete(model).where(model.instrument_id.in_(ids)))
        db.session.execute(sa.delete(Instrument).where(Instrument.id.in_(ids)))
        db.session.commit()
        db.session.remove()


def count(app, model, *where):
    with app.app_context():
        n = db.session.execute(sa.select(sa.func.count()).select_from(model).where(*where)).scalar()
        db.session.remove()
        return n


def test_a_lab_authorises_a_researcher_of_another_lab(app, uni, login_as, instruments):
    own, other = instruments
    lab = login_as("lab_admin")
    form_page = lab.get("/authorisationview/add").get_data(as_text=True)
    assert "屏幕本室仪器" in form_page and "屏幕他室仪器" not in form_page  # only its own instruments are offered
    assert "校内用户" in form_page  # any active user: campus_user belongs to another college's lab
    token = csrf_token(lab, "/authorisationview/add")
    data = {"csrf_token": token, "user": uni.customer_campus_user, "instrument": own, "state": "active",
            "granted_on": "2026-11-20", "trainer": "彭老师"}
    assert lab.post("/authorisationview/add", data=data).status_code == 302
    again = lab.post("/authorisationview/add", data=data)
    assert "已有本仪器的上机资格记录" in field_error(again.get_data(as_text=True), "user")
    assert count(app, Authorisation, Authorisation.instrument_id == own) == 1
    foreign = lab.post("/authorisationview/add", data={**data, "instrument": other, "user": uni.customer_service_user})
    assert count(app, Authorisation, Authorisation.instrument_id == other) == 0
    assert foreign.status_code in (200, 302)


def test_suspending_needs_a_reason(app, uni, login_as, instruments):
    own, _other = instruments
    lab = login_as("lab_admin")
    token = csrf_token(lab, "/authorisationview/add")
    resp = lab.post("/authorisationview/add", data={"csrf_token": token, "user": uni.customer_service_user, "instrument": own,
                                                    "state": "suspended", "granted_on": "2026-11-20", "trainer": "彭老师"})
    html = resp.get_data(as_text=True)
    assert "暂停或撤销上机资格须说明原因" in field_error(html, "reason")
    assert 'value="彭老师"' in html  # kept
    assert count(app, Authorisation, Authorisation.instrument_id == own) == 0


def test_booking_rules_refuse_nonsense(app, login_as, instruments):
    own, _other = instruments
    lab = login_as("lab_admin")
    token = csrf_token(lab, "/bookingruleview/add")
    base = {"csrf_token": token, "instrument": own, "accepts_self_operated": "y", "min_slot_minutes": "30",
            "max_slot_minutes": "240", "max_days_ahead": "14", "min_hours_ahead": "2", "cancel_hours_before": "24",
            "interlock_grace_minutes": "10"}
    none = lab.post("/bookingruleview/add", data={k: v for k, v in base.items() if k != "accepts_self_operated"})
    assert "至少接受一种预约方式" in field_error(none.get_data(as_text=True), "accepts_self_operated")
    short = lab.post("/bookingruleview/add", data={**base, "max_slot_minutes": "20"})
    assert "最长时段不能短于最短时段" in field_error(short.get_data(as_text=True), "max_slot_minutes")
    assert lab.post("/bookingruleview/add", data=base).status_code == 302
    twice = lab.post("/bookingruleview/add", data=base)
    assert "已有预约规则" in field_error(twice.get_data(as_text=True), "instrument")
    assert count(app, BookingRule, BookingRule.instrument_id == own) == 1


def test_opening_hours(app, login_as, instruments):
    own, _other = instruments
    lab = login_as("lab_admin")
    token = csrf_token(lab, "/openinghoursview/add")
    ok = lab.post("/openinghoursview/add", data={"csrf_token": token, "instrument": own, "weekday": "0",
                                                 "opens": "09:00", "closes": "12:00"})
    assert ok.status_code == 302
    backwards = lab.post("/openinghoursview/add", data={"csrf_token": token, "instrument": own, "weekday": "0",
                                                        "opens": "14:00", "closes": "13:00"})
    assert "结束时间须晚于开放时间" in field_error(backwards.get_data(as_text=True), "closes")
    overlap = lab.post("/openinghoursview/add", data={"csrf_token": token, "instrument": own, "weekday": "0",
                                                      "opens": "11:00", "closes": "15:00"})
    assert "重叠" in field_error(overlap.get_data(as_text=True), "opens")
    listed = lab.get("/openinghoursview/list/").get_data(as_text=True)
    assert "星期一" in listed and "09:00" in listed


def test_a_closure_is_typed_and_shown_in_beijing_time(app, login_as, instruments):
    own, _other = instruments
    lab = login_as("lab_admin")
    token = csrf_token(lab, "/closureview/add")
    resp = lab.post("/closureview/add", data={"csrf_token": token, "instrument": own, "kind": "calibration",
                                              "starts_at": "2026-12-09 08:00", "ends_at": "2026-12-09 17:30",
                                              "reason": "年度计量校准"})
    assert resp.status_code == 302, resp.get_data(as_text=True)[-1500:]
    with app.app_context():
        closure = db.session.execute(sa.select(Closure).where(Closure.instrument_id == own)).scalar_one()
        assert closure.starts_at == datetime(2026, 12, 9, 0, 0, tzinfo=UTC)
        pk = closure.id
        db.session.remove()
    assert 'value="2026-12-09 08:00"' in lab.get(f"/closureview/edit/{pk}").get_data(as_text=True)
    assert "2026-12-09 17:30" in lab.get("/closureview/list/").get_data(as_text=True)
    backwards = lab.post("/closureview/add", data={"csrf_token": token, "instrument": own, "kind": "maintenance",
                                                   "starts_at": "2026-12-10 10:00", "ends_at": "2026-12-10 09:00"})
    assert "结束时间须晚于开始时间" in field_error(backwards.get_data(as_text=True), "ends_at")


def test_booking_lists_send_as_many_statements_for_a_full_page_as_for_one_row(app, uni, login_as):
    """Each list loads the instrument and the user it shows with the page, not one row at a time (the
    booking screens share one interface object; the bench found the queue's users lazy-loaded)."""
    with app.app_context():
        lab = db.session.get(Unit, uni.l11)
        instruments = [f.bookable_instrument(lab, name=f"语句计数仪器{i}") for i in range(3)]
        users = [f.service_user(name=f"语句计数用户{i}") for i in range(4)]
        now = clock.now()
        for inst in instruments:
            for user in users:
                db.session.add(Booking(instrument_id=inst.id, user_id=user.id, mode="sample", state="pending",
                                       requested_date=clock.today(), sample_count=1, submitted_at=now,
                                       respond_by=clock.today(), respond_by_official=True))
        db.session.commit()
        ids, user_ids = [i.id for i in instruments], [u.id for u in users]
        db.session.remove()
    client, seen = login_as("lab_admin"), []

    def statements(url):
        seen.clear()
        listener = lambda *_args: seen.append(1)  # noqa: E731
        sa.event.listen(db.engine, "before_cursor_execute", listener)
        try:
            page = client.get(url)
            assert page.status_code == 200
        finally:
            sa.event.remove(db.engine, "before_cursor_execute", listener)
        return len(seen), page.get_data(as_text=True)

    try:
        with app.app_context():
            for view in ("BookingQueueView", "BookingRecordView"):
                statements(f"/{view.lower()}/list/")
                one, _ = statements(f"/{view.lower()}/list/?psize_{view}=1")
                full, page = statements(f"/{view.lower()}/list/?psize_{view}=25")
                assert sum(page.count(f"语句计数用户{i}") for i in range(4)) >= 12  # the twelve rows with their users
                assert full == one, view
    finally:
        with app.app_context():
            db.session.execute(sa.delete(Booking).where(Booking.instrument_id.in_(ids)))
            db.session.execute(sa.delete(Instrument).where(Instrument.id.in_(ids)))
            db.session.execute(sa.delete(ServiceUser).where(ServiceUser.id.in_(user_ids)))
            db.session.commit()
            db.session.remove()
