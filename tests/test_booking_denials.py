"""The denial matrix grows by the booking screens and endpoints (issue 13): every service user against
the other service users' bookings and authorisations (service_user against student_user's and
campus_user's too), the lab and college sides against another college's, customers against the lab's
screens, anonymous visitors against everything. A refusal is 403 or 404 (a redirect to the login
page for an anonymous browser), and nothing changes."""
from datetime import date, datetime, timedelta

import pytest
import sqlalchemy as sa

from app import clock
from app.extensions import db
from app.models import Authorisation, Booking, Instrument, ServiceUser, Unit

from . import factories as f
from .conftest import session_csrf_token
from .test_scope import jwt_headers, refused

CUSTOMERS = ("service_user", "student_user", "campus_user")


@pytest.fixture(scope="module")
def records(app, uni):
    """A pending booking and an authorisation of each customer on an instrument of lab_admin's lab
    (l11), and service_user's booking on another college's instrument (l21)."""
    with app.app_context():
        home = f.bookable_instrument(db.session.get(Unit, uni.l11), name="矩阵本室仪器")
        away = f.bookable_instrument(db.session.get(Unit, uni.l21), name="矩阵他院仪器")
        ids = {"home": home.id, "away": away.id}
        for n, who in enumerate(CUSTOMERS):
            user = db.session.get(ServiceUser, getattr(uni, f"customer_{who}"))
            ids[f"auth_{who}"] = f.authorisation(user, home, granted_on=date(2026, 11, 1)).id
            for instrument in (home, away) if who == "service_user" else (home,):
                start = clock.aware(datetime(2027, 1, 4 + n, 10, 0))
                booking = Booking(instrument_id=instrument.id, user_id=user.id, mode="self_operated", state="pending",
                                  requested_start=start, requested_end=start + timedelta(hours=2),
                                  submitted_at=clock.now(), respond_by=date(2027, 1, 11), respond_by_official=False)
                db.session.add(booking)
                db.session.flush()
                ids[f"booking_{who}_{'home' if instrument is home else 'away'}"] = booking.id
        db.session.commit()
        db.session.remove()
    yield ids
    with app.app_context():
        instruments = (ids["home"], ids["away"])
        db.session.execute(sa.delete(Booking).where(Booking.instrument_id.in_(instruments)))
        db.session.execute(sa.delete(Authorisation).where(Authorisation.instrument_id.in_(instruments)))
        db.session.execute(sa.delete(Instrument).where(Instrument.id.in_(instruments)))
        db.session.commit()
        db.session.remove()


def state_of(app, booking_id):
    with app.app_context():
        value = db.session.get(Booking, booking_id).state
        db.session.remove()
        return value


OTHERS = [(who, other) for who in CUSTOMERS for other in CUSTOMERS if other != who]


@pytest.mark.parametrize("who,other", OTHERS, ids=[f"{w}-vs-{o}" for w, o in OTHERS])
def test_a_service_user_cannot_reach_another_users_booking(app, login_as, records, who, other):
    client = login_as(who)
    theirs = records[f"booking_{other}_home"]
    token = session_csrf_token(client)  # a valid token of its own session: only the scope may refuse
    assert refused(client.get(f"/mybookingview/show/{theirs}"), who)
    assert client.post(f"/mybookingview/cancel/{theirs}", data={"csrf_token": token}).status_code == 404
    for step in ("start", "end"):  # 开始使用 / 结束使用 (and so an interlocked plug) on someone else's booking
        assert client.post(f"/mybookingview/{step}/{theirs}", data={"csrf_token": token}).status_code == 404
    listed = client.get("/mybookingview/list/").get_data(as_text=True)
    assert f"/mybookingview/show/{theirs}\"" not in listed
    assert f"/mybookingview/show/{records[f'booking_{who}_home']}\"" in listed
    assert refused(client.get(f"/myauthorisationview/show/{records[f'auth_{other}']}"), who)
    assert client.get(f"/myauthorisationview/show/{records[f'auth_{who}']}").status_code == 200
    assert state_of(app, theirs) == "pending"


@pytest.mark.parametrize("who,other", OTHERS, ids=[f"{w}-vs-{o}" for w, o in OTHERS])
def test_the_api_gives_a_service_user_only_its_own(app, client, records, who, other):
    headers = jwt_headers(client, who)
    theirs = records[f"booking_{other}_home"]
    assert client.get(f"/api/v1/booking/{theirs}", headers=headers).status_code == 404
    assert client.post(f"/api/v1/booking/{theirs}/cancel", headers=headers).status_code == 404
    ids = {row["id"] for row in client.get("/api/v1/booking/?q=(page_size:100)", headers=headers).get_json()["result"]}
    assert theirs not in ids and records[f"booking_{who}_home"] in ids
    assert state_of(app, theirs) == "pending"


LAB_SCREENS = ["/bookingqueueview/list/", "/bookingrecordview/list/", "/todayscheduleview/list/",
               "/authorisationview/list/", "/bookingruleview/list/", "/interlockcommandview/list/"]


@pytest.mark.parametrize("who", CUSTOMERS)
def test_customers_do_not_reach_the_lab_side(app, login_as, records, who):
    client = login_as(who)
    for url in LAB_SCREENS + [f"/bookingrecordview/show/{records['booking_service_user_home']}"]:
        assert client.get(url).status_code == 403, url
    token = session_csrf_token(client)
    for step in ("schedule", "refuse", "cancel"):
        resp = client.post(f"/bookingrecordview/answer/{records[f'booking_{who}_home']}/{step}",
                           data={"csrf_token": token, "reason": "自己答复", "alternative": "无"})
        assert resp.status_code == 403
    # the lab's 开始使用 on the customer's own booking is the lab's screen, not the customer's
    assert client.post(f"/usagerecordview/start/{records[f'booking_{who}_home']}", data={"csrf_token": token}).status_code == 403
    headers = jwt_headers(client, who)
    assert client.post(f"/api/v1/booking/{records[f'booking_{who}_home']}/schedule", json={},
                       headers=headers).status_code == 403
    assert state_of(app, records[f"booking_{who}_home"]) == "pending"


@pytest.mark.parametrize("who", ["lab_admin", "college_admin"])
def test_the_lab_side_does_not_reach_another_colleges_bookings(app, login_as, records, who):
    client = login_as(who)
    away = records["booking_service_user_away"]
    token = session_csrf_token(client)
    assert refused(client.get(f"/bookingrecordview/show/{away}"), who)
    for step in ("schedule", "refuse", "cancel"):
        resp = client.post(f"/bookingrecordview/answer/{away}/{step}",
                           data={"csrf_token": token, "reason": "越权", "alternative": "无"})
        assert resp.status_code == 404
    assert client.get(f"/bookings/calendar/{records['away']}").status_code == 404
    assert client.post(f"/usagerecordview/start/{away}", data={"csrf_token": token}).status_code == 404
    assert client.post(f"/mybookingview/start/{away}", data={"csrf_token": token}).status_code == 403  # a customer's screen
    for url in ("/bookingqueueview/list/", "/bookingrecordview/list/"):
        listed = client.get(url).get_data(as_text=True)
        assert "矩阵他院仪器" not in listed and "矩阵本室仪器" in listed
    assert state_of(app, away) == "pending"


def test_anonymous_visitors_reach_none_of_it(app, client, records):
    booking = records["booking_service_user_home"]
    for url in LAB_SCREENS + ["/mybookingview/list/", f"/mybookingview/show/{booking}", "/myauthorisationview/list/",
                              f"/bookings/calendar/{records['home']}", f"/bookings/book/{records['home']}",
                              f"/bookings/calendar/{records['home']}/events?start=2027-01-04&end=2027-01-11",
                              "/bookings/search"]:
        assert refused(client.get(url), None), url
    token = session_csrf_token(client)
    for step in ("cancel", "start", "end"):
        assert refused(client.post(f"/mybookingview/{step}/{booking}", data={"csrf_token": token}), None)
    assert refused(client.post(f"/bookingrecordview/answer/{booking}/cancel", data={"csrf_token": token}), None)
    assert client.get(f"/api/v1/booking/{booking}").status_code == 401
    assert state_of(app, booking) == "pending"
