"""The booking REST API (SPEC §5) as outside tests call it: JWT or a browser session with
X-CSRFToken, Beijing times in and out, the status codes, Chinese messages, and the scope (a service
user reaches only its own bookings, a lab its subtree's)."""
from datetime import date, datetime

import pytest
import sqlalchemy as sa
import time_machine

from app import clock
from app.extensions import db
from app.models import Booking, Instrument, ServiceUser, Unit

from . import factories as f
from .conftest import session_csrf_token
from .test_scope import jwt_headers

NOW = datetime(2026, 12, 7, 9, 0, tzinfo=clock.BEIJING)  # Monday morning


@pytest.fixture(autouse=True)
def frozen():
    with time_machine.travel(NOW, tick=True):
        yield


@pytest.fixture
def setup(app, uni):
    """A bookable instrument of lab_admin's lab on which service_user is authorised, and one it is not."""
    with app.app_context():
        lab = db.session.get(Unit, uni.l11)
        allowed = f.bookable_instrument(lab, name="接口可预约仪器")
        other = f.bookable_instrument(lab, name="接口未授权仪器")
        foreign = f.bookable_instrument(db.session.get(Unit, uni.l21), name="接口他院仪器")
        for who in ("customer_service_user", "customer_campus_user"):
            f.authorisation(db.session.get(ServiceUser, getattr(uni, who)), allowed, granted_on=date(2026, 11, 1))
        f.authorisation(db.session.get(ServiceUser, uni.customer_service_user), foreign, granted_on=date(2026, 11, 1))
        db.session.commit()
        ids = {"allowed": allowed.id, "other": other.id, "foreign": foreign.id}
        db.session.remove()
    yield ids
    with app.app_context():
        db.session.execute(sa.delete(Booking).where(Booking.instrument_id.in_(ids.values())))
        db.session.execute(sa.delete(Instrument).where(Instrument.id.in_(ids.values())))
        db.session.commit()
        db.session.remove()


def book(client, headers, instrument_id, start="2026-12-08T10:00", end="2026-12-08T12:00", **extra):
    body = {"instrument_id": instrument_id, "mode": "self_operated", "start": start, "end": end, "purpose": "测试", **extra}
    return client.post("/api/v1/booking/", json=body, headers=headers)


def test_submit_then_read_back_in_beijing_time(client, setup):
    headers = jwt_headers(client, "service_user")
    resp = book(client, headers, setup["allowed"])
    assert resp.status_code == 201, resp.get_data(as_text=True)
    body = resp.get_json()
    assert body["state"] == "pending" and body["respond_by"] == "2026-12-14" and body["id"]
    shown = client.get(f"/api/v1/booking/{body['id']}", headers=headers).get_json()["result"]
    assert (shown["state"], shown["respond_by"], shown["mode"], shown["instrument_id"]) == (
        "pending", "2026-12-14", "self_operated", setup["allowed"])
    assert shown["requested_start"] == "2026-12-08T10:00" and shown["scheduled_start"] is None


def test_an_offset_is_converted(client, setup):
    headers = jwt_headers(client, "service_user")
    resp = book(client, headers, setup["allowed"], start="2026-12-08T02:00:00Z", end="2026-12-08T11:00+08:00")
    assert resp.status_code == 201, resp.get_data(as_text=True)
    assert resp.get_json()["result"]["requested_start"] == "2026-12-08T10:00"


def test_overlap_is_409_and_nothing_is_saved(app, client, setup):
    service, campus = jwt_headers(client, "service_user"), jwt_headers(client, "campus_user")
    assert book(client, service, setup["allowed"]).status_code == 201
    clash = book(client, campus, setup["allowed"], start="2026-12-08T11:00", end="2026-12-08T13:00")
    assert clash.status_code == 409 and "该时段已被预约" in clash.get_json()["message"]
    with app.app_context():
        assert db.session.execute(sa.select(sa.func.count()).select_from(Booking)
                                  .where(Booking.instrument_id == setup["allowed"])).scalar() == 1
        db.session.remove()


@pytest.mark.parametrize("who,code", [("student_user", 403), ("service_user", 403)])
def test_no_authorisation_is_403(client, setup, who, code):
    resp = book(client, jwt_headers(client, who), setup["other"])
    assert resp.status_code == code and "自主上机资格" in resp.get_json()["message"]


@pytest.mark.parametrize("change,field", [
    ({"start": "明天上午"}, "start"), ({"mode": "flying"}, "mode"), ({"mode": None}, "mode"),
    ({"instrument_id": "x"}, "instrument_id"), ({"start": "2026-12-08T12:00", "end": "2026-12-08T10:00"}, "end"),
    ({"start": "2026-12-01T10:00", "end": "2026-12-01T11:00"}, "start"),
])
def test_bad_input_is_422_in_chinese(client, setup, change, field):
    body = {"instrument_id": setup["allowed"], "mode": "self_operated", "start": "2026-12-08T10:00", "end": "2026-12-08T12:00",
            **change}
    resp = client.post("/api/v1/booking/", json=body, headers=jwt_headers(client, "service_user"))
    assert resp.status_code == 422, resp.get_data(as_text=True)
    message = resp.get_json()["message"][field]
    assert any("\u4e00" <= ch <= "\u9fff" for ch in message), message


def test_samples_need_a_positive_count(client, setup):
    headers = jwt_headers(client, "student_user")
    bad = client.post("/api/v1/booking/", json={"instrument_id": setup["other"], "mode": "sample", "sample_count": 0},
                      headers=headers)
    assert bad.status_code == 422 and "样品数量" in bad.get_json()["message"]["sample_count"]
    good = client.post("/api/v1/booking/", json={"instrument_id": setup["other"], "mode": "sample", "sample_count": 4,
                                                  "samples": "土壤样品 4 份，干燥，无危险性"}, headers=headers)
    assert good.status_code == 201 and good.get_json()["state"] == "pending"


def test_a_service_user_reaches_only_its_own(client, setup):
    service, student = jwt_headers(client, "service_user"), jwt_headers(client, "student_user")
    mine = book(client, service, setup["allowed"]).get_json()["id"]
    assert client.get(f"/api/v1/booking/{mine}", headers=student).status_code == 404
    assert client.post(f"/api/v1/booking/{mine}/cancel", json={}, headers=student).status_code == 404
    listed = client.get("/api/v1/booking/?q=(page_size:100)", headers=student).get_json()
    assert mine not in listed["ids"]
    own = client.get("/api/v1/booking/?q=(page_size:100)", headers=service).get_json()
    assert mine in own["ids"] and own["count"] == len(own["ids"])
    # a customer cannot answer its own booking
    assert client.post(f"/api/v1/booking/{mine}/schedule", json={}, headers=service).status_code == 403


def test_the_lab_answers_and_other_scopes_do_not_reach(client, setup):
    service = jwt_headers(client, "service_user")
    first = book(client, service, setup["allowed"]).get_json()["id"]
    lab = jwt_headers(client, "lab_admin")
    scheduled = client.post(f"/api/v1/booking/{first}/schedule", json={}, headers=lab)
    assert scheduled.status_code == 200 and scheduled.get_json()["result"]["scheduled_start"] == "2026-12-08T10:00"
    again = client.post(f"/api/v1/booking/{first}/schedule", json={}, headers=lab)
    assert again.status_code == 409
    moved = client.post(f"/api/v1/booking/{first}/delay", json={"start": "2026-12-09T14:00", "end": "2026-12-09T16:00",
                                                                  "reason": "技术员出差"}, headers=lab)
    assert moved.status_code == 200 and moved.get_json()["result"]["scheduled_start"] == "2026-12-09T14:00"
    second = book(client, service, setup["allowed"], start="2026-12-10T10:00", end="2026-12-10T11:00").get_json()["id"]
    bare = client.post(f"/api/v1/booking/{second}/refuse", json={"reason": "排期已满"}, headers=lab)
    assert bare.status_code == 422 and "替代方案" in bare.get_json()["message"]["alternative"]
    refused = client.post(f"/api/v1/booking/{second}/refuse", json={"reason": "排期已满", "alternative": "12 月 11 日上午"},
                          headers=lab)
    assert refused.status_code == 200 and refused.get_json()["state"] == "refused"
    foreign = book(client, service, setup["foreign"]).get_json()["id"]
    assert client.post(f"/api/v1/booking/{foreign}/schedule", json={}, headers=lab).status_code == 404
    college = jwt_headers(client, "college_admin")
    assert client.get(f"/api/v1/booking/{foreign}", headers=college).status_code == 404
    assert client.get(f"/api/v1/booking/{first}", headers=college).status_code == 200


def test_a_browser_session_needs_its_own_csrf_token(login_as, setup):
    browser = login_as("service_user")
    body = {"instrument_id": setup["allowed"], "mode": "self_operated", "start": "2026-12-08T10:00", "end": "2026-12-08T11:00"}
    assert browser.post("/api/v1/booking/", json=body).status_code == 400  # no token
    resp = browser.post("/api/v1/booking/", json=body, headers={"X-CSRFToken": session_csrf_token(browser)})
    assert resp.status_code == 201, resp.get_data(as_text=True)
    cancelled = browser.post(f"/api/v1/booking/{resp.get_json()['id']}/cancel", json={},
                             headers={"X-CSRFToken": session_csrf_token(browser)})
    assert cancelled.status_code == 200 and cancelled.get_json()["state"] == "cancelled"


def test_the_openapi_document_lists_the_booking_endpoints(client, setup):
    spec = client.get("/api/v1/_openapi", headers=jwt_headers(client, "service_user"))
    assert spec.status_code == 200
    paths = spec.get_json()["paths"]
    for path in ("/booking/", "/booking/{pk}", "/booking/{pk}/schedule", "/booking/{pk}/delay", "/booking/{pk}/refuse",
                 "/booking/{pk}/cancel"):
        assert "/api/v1" + path in paths, sorted(paths)
    assert "post" in paths["/api/v1/booking/"] and "post" in paths["/api/v1/booking/{pk}/schedule"]
