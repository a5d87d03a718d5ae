"""The REST API beside the bookings (issue 13, item 10): authorisations to operate and availability,
scoped exactly like the screens; listed in FAB's OpenAPI document."""
from datetime import date, datetime

import pytest
import sqlalchemy as sa
import time_machine

from app import clock
from app.extensions import db
from app.models import Authorisation, Booking, Instrument, ServiceUser, Unit

from . import factories as f
from .test_scope import jwt_headers

NOW = datetime(2026, 12, 7, 9, 0, tzinfo=clock.BEIJING)


@pytest.fixture(autouse=True)
def frozen():
    with time_machine.travel(NOW, tick=True):
        yield


@pytest.fixture
def setup(app, uni):
    with app.app_context():
        lab = db.session.get(Unit, uni.l11)
        free = f.bookable_instrument(lab, name="接口空闲仪器", class_code="010201")
        busy = f.bookable_instrument(lab, name="接口占用仪器", class_code="010202")
        foreign = f.bookable_instrument(db.session.get(Unit, uni.l21), name="接口他院空闲仪器", class_code="010203")
        campus = db.session.get(ServiceUser, uni.customer_campus_user)
        mine = f.authorisation(db.session.get(ServiceUser, uni.customer_service_user), free, granted_on=date(2026, 11, 1))
        theirs = f.authorisation(campus, busy, granted_on=date(2026, 11, 1))
        start = clock.aware(datetime(2026, 12, 8, 10))
        db.session.add(Booking(instrument_id=busy.id, user_id=campus.id, mode="self_operated", state="scheduled",
                               requested_start=start, requested_end=clock.aware(datetime(2026, 12, 8, 12)),
                               scheduled_start=start, scheduled_end=clock.aware(datetime(2026, 12, 8, 12)),
                               submitted_at=NOW, respond_by=date(2026, 12, 14), respond_by_official=True))
        db.session.commit()
        ids = {"free": free.id, "busy": busy.id, "foreign": foreign.id, "mine": mine.id, "theirs": theirs.id}
        db.session.remove()
    yield ids
    with app.app_context():
        instruments = (ids["free"], ids["busy"], ids["foreign"])
        db.session.execute(sa.delete(Booking).where(Booking.instrument_id.in_(instruments)))
        db.session.execute(sa.delete(Authorisation).where(Authorisation.instrument_id.in_(instruments)))
        db.session.execute(sa.delete(Instrument).where(Instrument.id.in_(instruments)))
        db.session.commit()
        db.session.remove()


def test_a_service_user_lists_only_its_own_authorisations(client, setup):
    headers = jwt_headers(client, "service_user")
    listed = client.get("/api/v1/authorisation/?q=(page_size:100)", headers=headers).get_json()
    ids = {row["id"] for row in listed["result"]}
    assert setup["mine"] in ids and setup["theirs"] not in ids
    assert client.get(f"/api/v1/authorisation/{setup['theirs']}", headers=headers).status_code == 404
    assert client.post("/api/v1/authorisation/", headers=headers,
                       json={"user": 1, "instrument": setup["free"], "state": "active", "granted_on": "2026-12-01"}
                       ).status_code == 403


def test_the_lab_grants_through_the_api_with_the_screens_rules(app, client, uni, setup):
    headers = jwt_headers(client, "lab_admin")
    body = {"user": uni.customer_campus_user, "instrument": setup["free"], "state": "suspended", "granted_on": "2026-12-01",
            "trainer": "彭老师"}
    refused = client.post("/api/v1/authorisation/", headers=headers, json=body)
    assert refused.status_code == 422 and "原因" in str(refused.get_json()["message"])
    done = client.post("/api/v1/authorisation/", headers=headers, json={**body, "state": "active"})
    assert done.status_code == 201, done.get_data(as_text=True)
    foreign = client.post("/api/v1/authorisation/", headers=headers,
                          json={**body, "state": "active", "instrument": setup["foreign"]})
    assert foreign.status_code in (403, 404, 422)
    with app.app_context():
        assert db.session.execute(sa.select(sa.func.count()).select_from(Authorisation)
                                  .where(Authorisation.instrument_id == setup["foreign"])).scalar() == 0
        db.session.remove()


def test_availability_of_a_class_at_a_time(client, setup):
    headers = jwt_headers(client, "service_user")
    at_ten = client.get("/api/v1/availability/?class=010200&start=2026-12-08T10:30&hours=1", headers=headers).get_json()
    names = {row["name"] for row in at_ten["result"]}
    assert "接口空闲仪器" in names and "接口他院空闲仪器" in names and "接口占用仪器" not in names
    later = client.get("/api/v1/availability/?class=010200&start=2026-12-08T14:00&hours=1", headers=headers).get_json()
    assert "接口占用仪器" in {row["name"] for row in later["result"]}
    bad = client.get("/api/v1/availability/?class=999999&start=2026-12-30T10:00&hours=20", headers=headers)
    assert bad.status_code == 422 and set(bad.get_json()["message"]) == {"class", "start", "hours"}
    assert client.get("/api/v1/availability/?class=010200&start=2026-12-08T10:30").status_code == 401


def test_an_instruments_calendar_through_the_api(client, setup):
    url = f"/api/v1/availability/{setup['busy']}?start=2026-12-07T00:00&end=2026-12-14T00:00"
    body = client.get(url, headers=jwt_headers(client, "service_user")).get_json()
    # another user's booking is busy time only: its state is the lab side's and its own user's (issue 21)
    assert body["busy"] == [{"start": "2026-12-08T10:00", "end": "2026-12-08T12:00", "mine": False}]
    assert body["opening_hours"]["0"] == [["08:30", "17:30"]]
    assert body["next_free"][0] == {"start": "2026-12-07T11:00", "end": "2026-12-07T12:00"}
    campus = client.get(url, headers=jwt_headers(client, "campus_user")).get_json()
    assert campus["busy"] == [{"start": "2026-12-08T10:00", "end": "2026-12-08T12:00", "mine": True, "state": "scheduled"}]
    lab = client.get(url, headers=jwt_headers(client, "lab_admin")).get_json()
    assert lab["busy"] == [{"start": "2026-12-08T10:00", "end": "2026-12-08T12:00", "mine": False, "state": "scheduled"}]
    assert client.get(f"/api/v1/availability/{setup['busy']}?start=2026-12-07T00:00&end=2026-12-01T00:00",
                      headers=jwt_headers(client, "service_user")).status_code == 422


def test_the_openapi_document_lists_them(client):
    paths = client.get("/api/v1/_openapi", headers=jwt_headers(client, "service_user")).get_json()["paths"]
    assert {"/api/v1/authorisation/", "/api/v1/availability/", "/api/v1/availability/{instrument_id}",
            "/api/v1/booking/"} <= set(paths)
