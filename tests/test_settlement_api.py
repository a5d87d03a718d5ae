"""The use and charge API (SPEC §5) as outside tests call it: the lab completes a booking and the
charge goes confirm → invoice → credit note → new charge → settle; the service user reads only its
own; every refusal is a Chinese message with nothing changed."""
from datetime import date, datetime, timedelta

import pytest
import sqlalchemy as sa
import time_machine

from app import clock
from app.extensions import db
from app.models import Booking, Charge, Instrument, ServiceUser, Unit, UsageRecord

from . import factories as f
from .conftest import session_csrf_token
from .test_scope import jwt_headers

NOW = datetime(2026, 12, 7, 18, 0, tzinfo=clock.BEIJING)


@pytest.fixture(autouse=True)
def frozen():
    with time_machine.travel(NOW, tick=True):
        yield


def _scheduled(inst, user_id, start, hours=3, state="scheduled"):
    booking = Booking(instrument_id=inst.id, user_id=user_id, mode="self_operated", state=state, scheduled_start=start,
                      scheduled_end=start + timedelta(hours=hours), submitted_at=start - timedelta(days=3),
                      respond_by=date(2026, 12, 9))
    db.session.add(booking)
    db.session.flush()
    return booking.id


@pytest.fixture
def setup(app, uni):
    """An instrument of lab_admin's lab with a published hourly standard (enterprise 150, campus 100),
    service_user's scheduled booking that has ended, a cancelled one, and campus_user's."""
    with app.app_context():
        inst = f.bookable_instrument(db.session.get(Unit, uni.l11), name="结算接口仪器")
        f.fee_standard(inst, state="published", effective_from=date(2026, 1, 1), items=[f.standard_item(
            "机时", "小时", "100", basis="hours", prices=[("campus", 0, None, "100", None), ("enterprise", 0, None, "150", "对外")])])
        start = datetime(2026, 12, 7, 9, 0, tzinfo=clock.BEIJING)
        ids = {"instrument": inst.id,
               "booking": _scheduled(inst, uni.customer_service_user, start),
               "cancelled": _scheduled(inst, uni.customer_service_user, start + timedelta(hours=4), 1, "cancelled"),
               "campus": _scheduled(inst, uni.customer_campus_user, start + timedelta(hours=5), 1)}
        db.session.commit()
        db.session.remove()
    yield ids
    with app.app_context():
        f.remove_instruments([ids["instrument"]])
        db.session.remove()


def complete(client, headers, booking_id, **body):
    body.setdefault("start", "2026-12-07T09:00")
    body.setdefault("end", "2026-12-07T11:30")
    return client.post(f"/api/v1/booking/{booking_id}/complete", json=body, headers=headers)


def test_the_whole_path_through_the_api(client, setup, uni):
    lab, service = jwt_headers(client, "lab_admin"), jwt_headers(client, "service_user")
    done = complete(client, lab, setup["booking"])
    assert done.status_code == 200, done.get_data(as_text=True)
    charge_id = done.get_json()["charge_id"]
    assert done.get_json()["usage_id"]
    charge = client.get(f"/api/v1/charge/{charge_id}", headers=service).get_json()["result"]
    assert (charge["state"], charge["total"], charge["booking_id"], charge["credit_of_id"]) == (
        "pending", 450.0, setup["booking"], None)
    assert charge["lines"] == [{"description": "机时 (小时)", "quantity": 3.0, "unit_price": 150.0, "amount": 450.0}]
    assert client.get(f"/api/v1/booking/{setup['booking']}", headers=service).get_json()["result"]["state"] == "completed"

    def step(name, expect=200, headers=lab, **body):
        resp = client.post(f"/api/v1/charge/{charge_id}/{name}", json=body, headers=headers)
        assert resp.status_code == expect, resp.get_data(as_text=True)
        return resp.get_json()

    assert step("confirm", 403, headers=service)  # a service user's role holds no settling
    step("confirm")
    assert "已确认" in step("confirm", 409)["message"]
    assert "开票日期不能早于使用日期" in step("invoice", 422, invoice_number="FP-A1", invoice_date="2026-12-06")["message"]["invoice_date"]
    assert step("invoice", 422, invoice_number="FP-A1", invoice_date="12/07/2026")["message"]["invoice_date"]
    assert step("invoice", invoice_number="FP-A1", invoice_date="2026-12-07")["state"] == "invoiced"
    refused = step("credit", 422, amount=450.01, reason="多收")
    assert "红冲金额不能超过" in refused["message"]["amount"]
    note = step("credit", 201, amount="150", reason="实际两小时")
    assert (note["result"]["total"], note["result"]["credit_of_id"]) == (-150.0, charge_id)
    assert client.get(f"/api/v1/charge/{charge_id}", headers=service).get_json()["result"]["remaining"] == 300.0
    assert "付款日期不能早于开票日期" in step("settle", 422, paid_on="2026-12-06", method="bank_transfer")["message"]["paid_on"]
    assert step("settle", 422, paid_on="2026-12-07", method="cash")["message"]["method"]
    assert step("settle", paid_on="2026-12-07", method="bank_transfer")["state"] == "settled"
    listed = client.get("/api/v1/charge/", headers=service).get_json()
    assert {c["id"] for c in listed["result"]} >= {charge_id, note["id"]}
    assert {c["user_id"] for c in listed["result"]} == {uni.customer_service_user}  # its own, nobody else's


def test_refusals_change_nothing(app, client, setup):
    lab = jwt_headers(client, "lab_admin")
    for booking, body, status, words in (
        (setup["booking"], {"end": "2026-12-07T08:00"}, 422, "结束时间须晚于开始时间"),
        (setup["booking"], {"hours": 3}, 422, "机时与开始、结束时间不符"),
        (setup["booking"], {"start": "tomorrow"}, 422, "YYYY-MM-DDTHH:MM"),
        (setup["cancelled"], {}, 409, "不能登记使用"),
    ):
        resp = complete(client, lab, booking, **body)
        assert resp.status_code == status, resp.get_data(as_text=True)
        assert words in str(resp.get_json()["message"])
    with app.app_context():
        assert db.session.execute(sa.select(sa.func.count()).select_from(UsageRecord)
                                  .where(UsageRecord.instrument_id == setup["instrument"])).scalar() == 0
    assert complete(client, lab, setup["booking"]).status_code == 200
    again = complete(client, lab, setup["booking"])  # completed now: no second use
    assert again.status_code == 409


def test_each_reaches_only_its_own_and_its_scope(client, setup):
    lab, campus = jwt_headers(client, "lab_admin"), jwt_headers(client, "campus_user")
    charge_id = complete(client, lab, setup["booking"]).get_json()["charge_id"]
    usage_id = client.get(f"/api/v1/charge/{charge_id}", headers=lab).get_json()["result"]["usage_id"]
    assert client.get(f"/api/v1/charge/{charge_id}", headers=campus).status_code == 404
    assert client.get(f"/api/v1/usage/{usage_id}", headers=campus).status_code == 404
    assert charge_id not in {c["id"] for c in client.get("/api/v1/charge/", headers=campus).get_json()["result"]}
    assert complete(client, campus, setup["campus"]).status_code == 403  # a service user registers no use
    assert client.get(f"/api/v1/usage/{usage_id}", headers=jwt_headers(client, "service_user")).status_code == 200
    other_college = jwt_headers(client, "college_admin")
    assert client.get(f"/api/v1/charge/{charge_id}", headers=other_college).status_code == 200  # lab_admin's college
    assert client.post(f"/api/v1/charge/{charge_id}/confirm", json={}, headers=other_college).status_code == 200


def test_a_browser_session_needs_its_own_csrf_token(login_as, client, setup):
    charge_id = complete(client, jwt_headers(client, "lab_admin"), setup["booking"]).get_json()["charge_id"]
    browser = login_as("lab_admin")
    assert browser.post(f"/api/v1/charge/{charge_id}/confirm", json={}).status_code == 400
    resp = browser.post(f"/api/v1/charge/{charge_id}/confirm", json={}, headers={"X-CSRFToken": session_csrf_token(browser)})
    assert resp.status_code == 200 and resp.get_json()["state"] == "confirmed"


def test_a_list_of_charges_costs_the_same_statements_for_one_or_many(app, client, setup, uni, count_queries):
    lab = jwt_headers(client, "lab_admin")
    complete(client, lab, setup["booking"])
    with count_queries() as one:
        assert client.get("/api/v1/charge/?q=(page_size:1)", headers=lab).status_code == 200
    with app.app_context():  # more charges of the lab's
        inst = db.session.get(Instrument, setup["instrument"])
        user = db.session.get(ServiceUser, uni.customer_service_user)
        for n in range(5):
            start = datetime(2026, 12, 1 + n, 9, 0, tzinfo=clock.BEIJING)
            use = UsageRecord(instrument_id=inst.id, user=user, started_at=start, ended_at=start + timedelta(hours=1),
                              hours=1, source="manual", service_type="external", direction="research")
            db.session.add(Charge(usage=use, user=user, total=10, state="pending"))
        db.session.commit()
        db.session.remove()
    with count_queries() as many:
        page = client.get("/api/v1/charge/?q=(page_size:6)", headers=lab)
    assert page.status_code == 200 and len(page.get_json()["result"]) == 6
    assert len(many) == len(one)


def test_the_openapi_document_lists_the_use_and_charge_endpoints(client):
    paths = client.get("/api/v1/_openapi", headers=jwt_headers(client, "lab_admin")).get_json()["paths"]
    for path in ("/booking/{pk}/complete", "/charge/", "/charge/{pk}", "/charge/{pk}/confirm", "/charge/{pk}/invoice",
                 "/charge/{pk}/settle", "/charge/{pk}/credit", "/charge/{pk}/waive", "/usage/", "/usage/{pk}"):
        assert "/api/v1" + path in paths, sorted(paths)
