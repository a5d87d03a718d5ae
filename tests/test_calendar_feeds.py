"""iCalendar feeds (issue 13): a service user's secret URL of its own bookings and an instrument's for
its lab, read as Outlook or a phone reads them (no session), parsed back with the icalendar library;
a renewed secret cuts the old URL off."""
import re
from urllib.parse import urlsplit
from datetime import date, datetime

import icalendar
import pytest
import sqlalchemy as sa
import time_machine

from app import clock
from app.extensions import db
from app.models import Booking, Instrument, InstrumentFeed, ServiceUser, Unit

from . import factories as f
from .conftest import csrf_token

NOW = datetime(2026, 12, 7, 9, 0, tzinfo=clock.BEIJING)


@pytest.fixture(autouse=True)
def frozen():
    with time_machine.travel(NOW, tick=True):
        yield


@pytest.fixture
def bookings(app, uni):
    with app.app_context():
        instrument = f.bookable_instrument(db.session.get(Unit, uni.l11), name="订阅测试仪器", location="分析楼 101")
        ids = {"instrument": instrument.id}
        for who, hour, mode in (("service_user", 10, "self_operated"), ("campus_user", 14, "self_operated"),
                                ("service_user", None, "sample")):
            user = db.session.get(ServiceUser, getattr(uni, f"customer_{who}"))
            booking = Booking(instrument_id=instrument.id, user_id=user.id, mode=mode, state="scheduled",
                              submitted_at=NOW, respond_by=date(2026, 12, 14), respond_by_official=True,
                              purpose=f"{who} 的用途")
            if hour:
                booking.requested_start = booking.scheduled_start = clock.aware(datetime(2026, 12, 8, hour, 0))
                booking.requested_end = booking.scheduled_end = clock.aware(datetime(2026, 12, 8, hour + 2, 0))
            else:
                booking.requested_date = booking.scheduled_date = date(2026, 12, 9)
                booking.sample_count = 2
            db.session.add(booking)
            db.session.flush()
            ids[f"{who}_{mode}"] = booking.id
        db.session.commit()
        db.session.remove()
    yield ids
    with app.app_context():
        db.session.execute(sa.delete(Booking).where(Booking.instrument_id == ids["instrument"]))
        db.session.execute(sa.delete(InstrumentFeed).where(InstrumentFeed.instrument_id == ids["instrument"]))
        db.session.execute(sa.delete(Instrument).where(Instrument.id == ids["instrument"]))
        db.session.commit()
        db.session.remove()


def feed_url(html):
    return re.search(r'class="form-control input-sm feed-url" readonly value="([^"]+)"', html).group(1)


def read_feed(app, url):
    """As a calendar application fetches it: no cookies, no sign-in."""
    parts = urlsplit(url)
    assert f"{parts.scheme}://{parts.netloc}" == app.config["PUBLIC_URL"]  # never the request's Host
    resp = app.test_client().get(parts.path)
    return resp, (icalendar.Calendar.from_ical(resp.data) if resp.status_code == 200 else None)


def test_a_feed_address_is_built_from_public_url_not_the_requests_host(app, uni, login_as, bookings):
    """A feed's address outlives the request that showed it: a forged Host header must not become the address
    a user pastes into their calendar (issue 21, defect 4)."""
    forged = app.test_client()  # the signed-in session, sent to a forged host
    forged.set_cookie("session", login_as("service_user").get_cookie("session").value, domain="evil.example")
    page = forged.get("/mybookingview/list/", headers={"Host": "evil.example"}).get_data(as_text=True)
    assert feed_url(page).startswith(app.config["PUBLIC_URL"] + "/calendar/") and "evil.example" not in feed_url(page)


def events(cal):
    return {str(e["uid"]): e for e in cal.walk("VEVENT")}


def test_a_service_user_subscribes_to_its_own_bookings(app, uni, login_as, bookings):
    page = login_as("service_user").get("/mybookingview/list/").get_data(as_text=True)
    url = feed_url(page)
    resp, cal = read_feed(app, url)
    assert resp.status_code == 200 and resp.mimetype == "text/calendar"
    assert "set-cookie" not in {k.lower() for k in resp.headers.keys()}
    found = events(cal)
    mine = found[f"booking-{bookings['service_user_self_operated']}@127.0.0.1"]
    start = mine.decoded("dtstart")
    assert start == datetime(2026, 12, 8, 10, 0, tzinfo=clock.BEIJING) and str(start.tzinfo) == "Asia/Shanghai"
    assert mine["dtstart"].params["TZID"] == "Asia/Shanghai" and str(mine["status"]) == "CONFIRMED"
    assert str(mine["location"]) == "分析楼 101" and "订阅测试仪器" in str(mine["summary"])
    sample = found[f"booking-{bookings['service_user_sample']}@127.0.0.1"]
    assert sample.decoded("dtstart") == date(2026, 12, 9)  # a sample day is an all-day event
    assert f"booking-{bookings['campus_user_self_operated']}@127.0.0.1" not in found  # nobody else's
    assert [tz["tzid"] for tz in cal.walk("VTIMEZONE")] == ["Asia/Shanghai"]


def test_a_renewed_secret_cuts_the_old_address_off(app, login_as, bookings):
    user = login_as("service_user")
    old = feed_url(user.get("/mybookingview/list/").get_data(as_text=True))
    assert user.post("/calendar/mine/renew", data={"csrf_token": "forged"}).status_code == 400
    assert read_feed(app, old)[0].status_code == 200
    token = csrf_token(user, "/mybookingview/list/")
    assert user.post("/calendar/mine/renew", data={"csrf_token": token}).status_code == 302
    new = feed_url(user.get("/mybookingview/list/").get_data(as_text=True))
    assert new != old
    assert read_feed(app, old)[0].status_code == 404 and read_feed(app, new)[0].status_code == 200


def test_the_lab_subscribes_to_an_instruments_bookings_with_names(app, uni, login_as, bookings):
    lab = login_as("lab_admin")
    url = feed_url(lab.get(f"/bookings/calendar/{bookings['instrument']}").get_data(as_text=True))
    _resp, cal = read_feed(app, url)
    summaries = sorted(str(e["summary"]) for e in cal.walk("VEVENT"))
    with app.app_context():
        names = {db.session.get(ServiceUser, getattr(uni, f"customer_{w}")).name for w in ("service_user", "campus_user")}
        db.session.remove()
    assert len(summaries) == 3 and all(any(s.startswith(n) for n in names) for s in summaries)
    # a service user's calendar page carries no instrument feed
    assert "feed-url" not in login_as("service_user").get(f"/bookings/book/{bookings['instrument']}").get_data(as_text=True)


def test_only_the_instruments_own_side_renews_its_secret(app, uni, login_as, bookings):
    outsider = login_as("service_user")
    token = csrf_token(outsider, "/mybookingview/list/")
    assert outsider.post(f"/calendar/instrument/{bookings['instrument']}/renew", data={"csrf_token": token}).status_code == 403
    with app.app_context():
        foreign = f.bookable_instrument(db.session.get(Unit, uni.l21), name="订阅他院仪器")
        db.session.commit()
        foreign_id = foreign.id
        db.session.remove()
    try:
        lab = login_as("lab_admin")
        token = csrf_token(lab, f"/bookings/calendar/{bookings['instrument']}")
        assert lab.post(f"/calendar/instrument/{foreign_id}/renew", data={"csrf_token": token}).status_code == 404
        assert lab.post(f"/calendar/instrument/{bookings['instrument']}/renew", data={"csrf_token": token}).status_code == 302
    finally:
        with app.app_context():
            db.session.execute(sa.delete(InstrumentFeed).where(InstrumentFeed.instrument_id == foreign_id))
            db.session.execute(sa.delete(Instrument).where(Instrument.id == foreign_id))
            db.session.commit()
            db.session.remove()
    assert app.test_client().get("/calendar/not-a-secret.ics").status_code == 404
    assert app.test_client().get("/calendar/instrument/not-a-secret.ics").status_code == 404


def test_a_cancelled_booking_is_cancelled_in_its_users_feed_and_gone_from_the_labs_and_closures_show(
        app, uni, login_as, bookings):
    """A subscribed calendar learns that a booking was cancelled (STATUS:CANCELLED in the user's feed, so the
    event disappears there); the lab's feed leaves it out and shows the instrument's closures (issue 21, §3)."""
    from app.models import Closure

    with app.app_context():
        cancelled = Booking(instrument_id=bookings["instrument"], user_id=uni.customer_service_user, mode="self_operated",
                            state="cancelled", submitted_at=NOW, respond_by=date(2026, 12, 14), cancelled_at=NOW,
                            requested_start=clock.aware(datetime(2026, 12, 10, 9, 0)),
                            requested_end=clock.aware(datetime(2026, 12, 10, 10, 0)))
        closure = Closure(instrument_id=bookings["instrument"], kind="maintenance", reason="更换灯丝",
                          starts_at=clock.aware(datetime(2026, 12, 11, 8, 0)), ends_at=clock.aware(datetime(2026, 12, 11, 18, 0)))
        db.session.add_all([cancelled, closure])
        db.session.commit()
        cancelled_id, closure_id = cancelled.id, closure.id
        db.session.remove()
    try:
        _resp, mine = read_feed(app, feed_url(login_as("service_user").get("/mybookingview/list/").get_data(as_text=True)))
        event = events(mine)[f"booking-{cancelled_id}@127.0.0.1"]
        assert str(event["status"]) == "CANCELLED"
        lab = login_as("lab_admin")
        _resp, theirs = read_feed(app, feed_url(lab.get(f"/bookings/calendar/{bookings['instrument']}").get_data(as_text=True)))
        found = events(theirs)
        assert f"booking-{cancelled_id}@127.0.0.1" not in found
        shut = found[f"closure-{closure_id}@127.0.0.1"]
        assert "更换灯丝" in str(shut["summary"]) and shut.decoded("dtstart") == datetime(2026, 12, 11, 8, 0, tzinfo=clock.BEIJING)
    finally:
        with app.app_context():
            db.session.execute(sa.delete(Closure).where(Closure.id == closure_id))
            db.session.commit()
            db.session.remove()
