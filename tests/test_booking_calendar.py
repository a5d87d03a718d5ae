"""Booking on screen (issue 13): a service user books from an instrument's calendar and follows its
bookings; the lab answers from its queue; the calendar's events hide other users' names from service
users; the availability search and the public page's next free times. Through the pages, with the
CSRF token each page hands out."""
import re
from datetime import date, datetime

import pytest
import sqlalchemy as sa
import time_machine

from app import clock
from app.extensions import db
from app.models import Booking, Closure, Instrument, ServiceUser, Unit

from . import factories as f
from .conftest import csrf_token

NOW = datetime(2026, 12, 7, 9, 0, tzinfo=clock.BEIJING)  # Monday morning


@pytest.fixture(autouse=True)
def frozen():
    with time_machine.travel(NOW, tick=True):
        yield


@pytest.fixture
def setup(app, uni):
    """Two bookable instruments of lab_admin's lab (one class, service_user authorised on the first),
    one of another college, and a booking of campus_user on the first."""
    with app.app_context():
        lab = db.session.get(Unit, uni.l11)
        allowed = f.bookable_instrument(lab, name="日历授权仪器", class_code="010101")
        other = f.bookable_instrument(lab, name="日历同类仪器", class_code="010102")
        foreign = f.bookable_instrument(db.session.get(Unit, uni.l21), name="日历他院仪器", class_code="010103")
        service_user = db.session.get(ServiceUser, uni.customer_service_user)
        campus_user = db.session.get(ServiceUser, uni.customer_campus_user)
        for instrument in (allowed, foreign):
            f.authorisation(service_user, instrument, granted_on=date(2026, 11, 1))
        f.authorisation(campus_user, allowed, granted_on=date(2026, 11, 1))
        f.fee_standard(allowed, state="published", effective_from=date(2026, 1, 1))  # public, with its page
        db.session.flush()
        theirs = Booking(instrument_id=allowed.id, user_id=campus_user.id, mode="self_operated", state="pending",
                         requested_start=clock.aware(datetime(2026, 12, 8, 14, 0)),
                         requested_end=clock.aware(datetime(2026, 12, 8, 16, 0)), submitted_at=NOW,
                         respond_by=date(2026, 12, 14), respond_by_official=True, purpose="他人的预约")
        db.session.add(theirs)
        db.session.commit()
        ids = {"allowed": allowed.id, "other": other.id, "foreign": foreign.id, "theirs": theirs.id}
        db.session.remove()
    yield ids
    with app.app_context():
        instruments = (ids["allowed"], ids["other"], ids["foreign"])
        db.session.execute(sa.delete(Closure).where(Closure.instrument_id.in_(instruments)))
        db.session.execute(sa.delete(Booking).where(Booking.instrument_id.in_(instruments)))
        db.session.execute(sa.delete(Instrument).where(Instrument.id.in_(instruments)))
        db.session.commit()
        db.session.remove()


def bookings_of(app, instrument_id):
    with app.app_context():
        rows = db.session.execute(sa.select(Booking.user_id, Booking.state, Booking.requested_start)
                                  .where(Booking.instrument_id == instrument_id).order_by(Booking.id)).all()
        db.session.remove()
        return rows


def submit(client, instrument_id, **fields):
    token = csrf_token(client, f"/bookings/book/{instrument_id}")
    return client.post(f"/bookings/book/{instrument_id}", data={"csrf_token": token, **fields})


def test_a_service_user_books_a_free_slot_from_the_calendar(app, uni, login_as, setup):
    user = login_as("service_user")
    page = user.get(f"/bookings/book/{setup['allowed']}").get_data(as_text=True)
    assert 'id="calendar"' in page and "fullcalendar.global.min.js" in page and "提交预约" in page
    resp = submit(user, setup["allowed"], mode="self_operated", start="2026-12-08T10:00", end="2026-12-08T12:00",
                  purpose="表征")
    assert resp.status_code == 302 and "/mybookingview/show/" in resp.headers["Location"]
    shown = user.get(resp.headers["Location"]).get_data(as_text=True)
    assert "实验室将于 2026-12-14 前答复" in shown and "2026-12-08 10:00–12:00" in shown
    rows = bookings_of(app, setup["allowed"])
    assert (rows[-1].user_id, rows[-1].state) == (uni.customer_service_user, "pending")
    assert clock.local(rows[-1].requested_start) == datetime(2026, 12, 8, 10, 0, tzinfo=clock.BEIJING)


@pytest.mark.parametrize("fields, field, message", [
    ({"start": "2026-12-08T15:00", "end": "2026-12-08T17:00"}, "start", "该时段已被预约"),
    ({"start": "2026-12-07T07:00", "end": "2026-12-07T08:00"}, "start", "该时间已过"),
    ({"start": "2026-12-08T12:00", "end": "2026-12-08T11:00"}, "end", "结束时间须晚于开始时间"),
    ({"start": "2026-12-08T18:00", "end": "2026-12-08T19:00"}, "start", "不在开放时间"),
    ({"start": "2026-12-08T下午", "end": "2026-12-08T19:00"}, "start", "YYYY-MM-DDTHH:MM"),
])
def test_a_bad_slot_is_refused_beside_its_field_and_nothing_is_booked(app, login_as, setup, fields, field, message):
    user = login_as("service_user")
    before = bookings_of(app, setup["allowed"])
    resp = submit(user, setup["allowed"], mode="self_operated", purpose="表征", **fields)
    html = resp.get_data(as_text=True)
    assert resp.status_code == 200
    group = html[html.index(f'id="{field}"'):]
    group = group[:group.index("</div>")]
    assert message in group, group
    assert f'value="{fields["start"]}"' in html  # what was typed is kept
    assert bookings_of(app, setup["allowed"]) == before


def test_self_operation_needs_an_authorisation_but_sample_testing_does_not(app, login_as, setup):
    user = login_as("service_user")
    page = user.get(f"/bookings/book/{setup['other']}").get_data(as_text=True)
    assert "您尚无该仪器的上机资格" in page
    refused = submit(user, setup["other"], mode="self_operated", start="2026-12-08T10:00", end="2026-12-08T11:00")
    assert "上机资格" in refused.get_data(as_text=True) and bookings_of(app, setup["other"]) == []
    zero = submit(user, setup["other"], mode="sample", date="2026-12-09", sample_count="0", samples="粉末")
    assert zero.status_code == 200 and bookings_of(app, setup["other"]) == []
    sent = submit(user, setup["other"], mode="sample", date="2026-12-09", sample_count="3", samples="粉末 3 份",
                  sample_hazards="无", sample_disposal="退回")
    assert sent.status_code == 302 and [r.state for r in bookings_of(app, setup["other"])] == ["pending"]


def test_events_hide_other_users_names_from_a_service_user(app, uni, login_as, setup):
    span = "start=2026-12-07T00:00:00Z&end=2026-12-14T00:00:00Z"
    url = f"/bookings/calendar/{setup['allowed']}/events?{span}"
    user = login_as("service_user")
    assert submit(user, setup["allowed"], mode="self_operated", start="2026-12-08T10:00", end="2026-12-08T12:00",
                  purpose="表征").status_code == 302
    events = {e["start"]: e for e in user.get(url).get_json() if e.get("display") != "background"}
    assert events["2026-12-08T10:00:00"]["title"].startswith("我的预约")
    assert events["2026-12-08T14:00:00"]["title"] == "已被预约"  # campus_user's, without the name
    assert events["2026-12-08T14:00:00"]["classNames"] == ["booking-busy"]  # nor its state (issue 21)
    assert "booking-pending" in events["2026-12-08T10:00:00"]["classNames"]
    lab = login_as("lab_admin").get(url).get_json()
    with app.app_context():
        name = db.session.get(ServiceUser, uni.customer_campus_user).name
        db.session.remove()
    assert any(e["title"].startswith(name) for e in lab)
    assert login_as("service_user").get(f"/bookings/calendar/{setup['allowed']}/events?start=x&end=y").status_code == 400


def test_a_closure_shows_on_the_calendar(app, login_as, setup):
    with app.app_context():
        db.session.add(Closure(instrument_id=setup["allowed"], kind="maintenance", reason="更换灯丝",
                               starts_at=clock.aware(datetime(2026, 12, 9, 8, 0)),
                               ends_at=clock.aware(datetime(2026, 12, 9, 18, 0))))
        db.session.commit()
        db.session.remove()
    events = login_as("service_user").get(
        f"/bookings/calendar/{setup['allowed']}/events?start=2026-12-07T00:00:00Z&end=2026-12-14T00:00:00Z").get_json()
    closed = [e for e in events if "calendar-closure" in e["classNames"]]
    assert closed and closed[0]["start"] == "2026-12-09T08:00:00" and "更换灯丝" in closed[0]["title"]


def test_another_labs_calendar_with_names_is_not_shown_to_a_lab(login_as, setup):
    lab = login_as("lab_admin")
    assert lab.get(f"/bookings/calendar/{setup['allowed']}").status_code == 200
    assert lab.get(f"/bookings/calendar/{setup['foreign']}").status_code == 404
    assert lab.get(f"/bookings/book/{setup['allowed']}").status_code == 403  # only service users book


def test_the_lab_answers_from_its_queue(app, login_as, setup):
    lab = login_as("lab_admin")
    queue = lab.get("/bookingqueueview/list/").get_data(as_text=True)
    assert "他人的预约" not in queue and "日历授权仪器" in queue
    url = f"/bookingrecordview/answer/{setup['theirs']}/schedule"
    token = csrf_token(lab, f"/bookingrecordview/show/{setup['theirs']}")
    assert lab.post(url, data={"csrf_token": "forged"}).status_code == 400
    assert bookings_of(app, setup["allowed"])[0].state == "pending"
    resp = lab.post(url, data={"csrf_token": token})
    assert resp.status_code == 302
    assert bookings_of(app, setup["allowed"])[0].state == "scheduled"
    assert "日历授权仪器" not in lab.get("/bookingqueueview/list/").get_data(as_text=True)


def test_a_delay_without_a_reason_changes_nothing(app, login_as, setup):
    lab = login_as("lab_admin")
    token = csrf_token(lab, f"/bookingrecordview/show/{setup['theirs']}")
    resp = lab.post(f"/bookingrecordview/answer/{setup['theirs']}/delay",
                    data={"csrf_token": token, "start": "2026-12-09T10:00", "end": "2026-12-09T12:00", "reason": ""},
                    follow_redirects=True)
    assert "原因" in resp.get_data(as_text=True)
    assert bookings_of(app, setup["allowed"])[0].state == "pending"


def test_an_overdue_booking_is_red_in_the_queue(app, login_as, setup):
    with app.app_context():
        db.session.get(Booking, setup["theirs"]).respond_by = date(2026, 12, 4)
        db.session.commit()
        db.session.remove()
    queue = login_as("lab_admin").get("/bookingqueueview/list/").get_data(as_text=True)
    assert re.search(r'label-danger booking-overdue">已超期：2026-12-04', queue)


def test_a_service_user_cancels_its_own_booking_and_no_other(app, uni, login_as, setup):
    user = login_as("service_user")
    resp = submit(user, setup["allowed"], mode="self_operated", start="2026-12-10T10:00", end="2026-12-10T11:00",
                  purpose="表征")
    mine = int(resp.headers["Location"].rstrip("/").rsplit("/", 1)[1])
    token = csrf_token(user, f"/mybookingview/show/{mine}")
    assert user.get(f"/mybookingview/show/{setup['theirs']}").status_code in (302, 404)
    assert user.post(f"/mybookingview/cancel/{setup['theirs']}", data={"csrf_token": token}).status_code == 404
    assert user.post(f"/mybookingview/cancel/{mine}", data={"csrf_token": token}).status_code == 302
    states = {r.user_id: r.state for r in bookings_of(app, setup["allowed"])}
    assert states == {uni.customer_service_user: "cancelled", uni.customer_campus_user: "pending"}
    listed = user.get("/mybookingview/list/").get_data(as_text=True)
    assert "日历授权仪器" in listed and "他人的预约" not in listed


def test_the_availability_search_finds_the_free_instruments_of_a_class(login_as, setup):
    user = login_as("service_user")
    busy = user.get("/bookings/search?class=010100&at=2026-12-08T14:30&hours=1").get_data(as_text=True)
    assert "日历同类仪器" in busy and "日历授权仪器" not in busy  # campus_user holds 14:00–16:00
    free = user.get("/bookings/search?class=010100&at=2026-12-08T10:00&hours=1").get_data(as_text=True)
    assert "日历同类仪器" in free and "日历授权仪器" in free
    late = user.get("/bookings/search?class=010100&at=2026-12-30T10:00&hours=1").get_data(as_text=True)
    assert "请选择未来两周内的时间" in late
    forged = user.get("/bookings/search?class=zz&at=2026-12-08T10:00&hours=1").get_data(as_text=True)
    assert "请选择仪器分类" in forged


def test_the_public_page_shows_the_next_free_times(client, setup):
    page = client.get(f"/public/instruments/{setup['allowed']}")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    # 2 hours' notice from 09:00; campus_user holds 8 December 14:00–16:00
    free = re.findall(r"free-slots.*?</ul>", html, re.S)[0]
    assert "2026-12-07 11:00–12:00" in free and "2026-12-07 10:00" not in free
    assert "2026-12-08 14:00" not in free and "2026-12-08 15:00" not in free
    assert 'href="/bookings/book/' in html
