"""Related records (issue 21, defects 2 and 6): what a form's dropdown or an API's `_info` offers, and what
an add or an edit may name, is one rule — the records in the caller's scope, and for a user an active one
(any active customer: a lab trains whoever comes). A service user listed every customer through `_info`; a
lab's API writes named other colleges' people, a registration not yet approved, another lab's platform."""
import pytest
import sqlalchemy as sa
from flask_appbuilder import ModelRestApi

from app.extensions import db
from app.models import Authorisation, Instrument, ServiceUser, TrainingSession, Unit

from . import factories as f
from .conftest import csrf_token
from .test_scope import jwt_headers

ROLES = ["school_admin", "college_admin", "lab_admin", "service_user", "student_user", "campus_user"]


def scoped_apis(app):
    return sorted({v.resource_name for v in app.appbuilder.baseviews if isinstance(v, ModelRestApi)})


def owner_paths(app, model, ids):
    """{id: path of the unit that owns the record}, read without the platform's scope code."""
    if model is Unit:
        query = sa.select(Unit.id, Unit.path).where(Unit.id.in_(ids))
    elif hasattr(model, "unit_id"):
        query = sa.select(model.id, Unit.path).join(Unit, Unit.id == model.unit_id).where(model.id.in_(ids))
    else:  # owned through an instrument
        query = (sa.select(model.id, Unit.path).join(Instrument, Instrument.id == model.instrument_id)
                 .join(Unit, Unit.id == Instrument.unit_id).where(model.id.in_(ids)))
    with app.app_context():
        found = dict(db.session.execute(query).all())
        db.session.remove()
    return found


def caller(app, username):
    with app.app_context():
        row = db.session.execute(sa.text(
            "SELECT a.id, u.path, s.id AS own FROM ab_user a LEFT JOIN unit u ON u.id = a.unit_id "
            "LEFT JOIN service_user s ON s.account_id = a.id WHERE a.username = :name"), {"name": username}).one()
        db.session.remove()
    return row


@pytest.mark.parametrize("who", ROLES)
def test_info_of_every_api_offers_only_what_the_caller_may_name(app, uni, client, who):
    """The denial matrix of `_info`: for every API and role, each record a related field offers is in the
    caller's subtree (a user: active; a service user: only itself), and a caller that may not add or edit
    is told no add or edit fields at all."""
    headers, me = jwt_headers(client, who), caller(app, who)
    for resource in scoped_apis(app):
        api = next(v for v in app.appbuilder.baseviews if getattr(v, "resource_name", None) == resource)
        info = client.get(f"/api/v1/{resource}/_info", headers=headers)
        assert info.status_code in (200, 403), (resource, info.status_code)
        if info.status_code == 403:
            continue
        body = info.get_json()
        permissions = set(body.get("permissions", []))
        for key, permission in (("add_columns", "can_post"), ("edit_columns", "can_put")):
            if permission not in permissions:
                assert key not in body, f"{who} is told the {key} of {resource}"
            for field in body.get(key, []):
                values = field.get("values")
                if not values:
                    continue
                model = sa.inspect(api.datamodel.obj).relationships[field["name"]].mapper.class_
                ids = {v["id"] for v in values}
                if model is ServiceUser:
                    with app.app_context():
                        states = dict(db.session.execute(sa.select(ServiceUser.id, ServiceUser.status)
                                                         .where(ServiceUser.id.in_(ids))).all())
                        db.session.remove()
                    assert set(states.values()) == {"active"}, (resource, field["name"], states)
                    if me.path is None:
                        assert ids == {me.own}, f"{who} is offered other customers in {resource}.{field['name']}"
                elif hasattr(model, "scope_clause") and model.__name__ != "CustomerOrg":
                    assert me.path is not None, f"{who} is offered {model.__name__} records in {resource}"
                    paths = owner_paths(app, model, ids)
                    # a unit's parent field also offers the scope root's own parent (saving it unmoved)
                    allowed = [p for i, p in paths.items() if p.startswith(me.path)
                               or (model is Unit and field["name"] == "parent" and me.path.startswith(p))]
                    assert len(allowed) == len(ids), f"{who} is offered {model.__name__} {paths} in {resource}"


def test_a_service_user_no_longer_lists_every_customer(client, uni):
    """The reported request: `_info` of the authorisations with their add fields, as service_user."""
    headers = jwt_headers(client, "service_user")
    body = client.get("/api/v1/authorisation/_info?q=(keys:!(add_columns))", headers=headers).get_json()
    assert body == {}
    assert "学生创业用户" not in client.get("/api/v1/authorisation/_info", headers=headers).get_data(as_text=True)


@pytest.fixture
def foreign(app, uni):
    """A registration waiting for approval (not yet a customer anyone may authorise)."""
    with app.app_context():
        pending = f.service_user(f.customer(name="待审单位"), name="待审用户", status="pending")
        db.session.commit()
        ids = {"pending": pending.id, "org": pending.org_id}
        db.session.remove()
    yield ids
    with app.app_context():
        db.session.execute(sa.delete(Authorisation).where(Authorisation.user_id == ids["pending"]))
        db.session.execute(sa.delete(ServiceUser).where(ServiceUser.id == ids["pending"]))
        db.session.execute(sa.text("DELETE FROM customer_org WHERE id = :id"), {"id": ids["org"]})
        db.session.commit()
        db.session.remove()


def count(app, model, *where):
    with app.app_context():
        n = db.session.execute(sa.select(sa.func.count()).select_from(model).where(*where)).scalar()
        db.session.remove()
    return n


def test_a_training_names_only_people_of_the_labs_scope(app, uni, client):
    headers = jwt_headers(client, "lab_admin")
    body = {"level": "lab", "unit": uni.l11, "held_on": "2026-06-01", "topic": "越权培训"}
    for attendees in ([uni.person_c2, uni.person_l21], [uni.person_l11, uni.person_l12]):
        refused = client.post("/api/v1/training/", json={**body, "attendees": attendees}, headers=headers)
        assert refused.status_code == 422 and "attendees" in refused.get_json()["message"], refused.get_data(as_text=True)
    assert count(app, TrainingSession, TrainingSession.topic == "越权培训") == 0
    made = client.post("/api/v1/training/", json={**body, "attendees": [uni.person_l11]}, headers=headers)
    assert made.status_code == 201, made.get_data(as_text=True)  # positive control
    pk = made.get_json()["id"]
    moved = client.put(f"/api/v1/training/{pk}", json={"attendees": [uni.person_l11, uni.person_l21]}, headers=headers)
    assert moved.status_code == 422
    with app.app_context():
        assert [p.id for p in db.session.get(TrainingSession, pk).attendees] == [uni.person_l11]
        db.session.delete(db.session.get(TrainingSession, pk))
        db.session.commit()
        db.session.remove()


def test_the_screen_refuses_a_foreign_attendee_too(app, uni, login_as):
    lab = login_as("lab_admin")
    token = csrf_token(lab, "/trainingsessionview/add")
    page = lab.post("/trainingsessionview/add", data={"csrf_token": token, "level": "lab", "unit": uni.l11,
                                                        "held_on": "2026-06-01", "topic": "越权培训",
                                                        "attendees": [uni.person_l11, uni.person_l21]})
    assert count(app, TrainingSession, TrainingSession.topic == "越权培训") == 0  # FAB dropped the foreign one and saved
    assert page.status_code == 200 and "不是有效的选项" in page.get_data(as_text=True)


def test_an_authorisation_names_an_active_customer_only(app, uni, client, foreign):
    headers = jwt_headers(client, "lab_admin")
    body = {"instrument": uni.inst_l11, "state": "active", "granted_on": "2026-06-01"}
    refused = client.post("/api/v1/authorisation/", json={**body, "user": foreign["pending"]}, headers=headers)
    assert refused.status_code == 422 and "user" in refused.get_json()["message"], refused.get_data(as_text=True)
    assert count(app, Authorisation, Authorisation.user_id == foreign["pending"]) == 0
    # positive control: an active on-campus researcher of another college's lab may be trained and authorised
    made = client.post("/api/v1/authorisation/", json={**body, "user": uni.customer_campus_user}, headers=headers)
    assert made.status_code == 201, made.get_data(as_text=True)
    with app.app_context():
        db.session.delete(db.session.get(Authorisation, made.get_json()["id"]))
        db.session.commit()
        db.session.remove()


@pytest.mark.parametrize("field,key", [("responsible_person", "person_l21"), ("platform", "platform_l21"),
                                       ("responsible_person", "person_c1"), ("platform", "platform_school")])
def test_an_instrument_names_its_person_and_platform_in_scope(app, uni, client, field, key):
    headers = jwt_headers(client, "lab_admin")
    with app.app_context():
        before = {c: getattr(db.session.get(Instrument, uni.inst_l11), c) for c in ("responsible_person_id", "platform_id")}
        db.session.remove()
    edit = client.put(f"/api/v1/instrument/{uni.inst_l11}", json={field: getattr(uni, key)}, headers=headers)
    assert edit.status_code == 422 and field in edit.get_json()["message"], edit.get_data(as_text=True)
    added = client.post("/api/v1/instrument/", headers=headers, json={
        "asset_number": "ZC-REL-0001", "name": "越权关联", "original_value": 1, "unit": uni.l11, "kind": "instrument",
        "funding_source": "fiscal_full", "run_status": "normal", "sharing_status": "external", field: getattr(uni, key)})
    assert added.status_code == 422 and field in added.get_json()["message"], added.get_data(as_text=True)
    assert count(app, Instrument, Instrument.asset_number == "ZC-REL-0001") == 0
    with app.app_context():
        after = {c: getattr(db.session.get(Instrument, uni.inst_l11), c) for c in ("responsible_person_id", "platform_id")}
        db.session.remove()
    assert after == before
    own = client.put(f"/api/v1/instrument/{uni.inst_l11}", headers=headers,
                     json={field: getattr(uni, key.rsplit("_", 1)[0] + "_l11")})
    assert own.status_code == 200, own.get_data(as_text=True)  # positive control
    with app.app_context():
        instrument = db.session.get(Instrument, uni.inst_l11)
        instrument.responsible_person_id, instrument.platform_id = before["responsible_person_id"], before["platform_id"]
        db.session.commit()
        db.session.remove()


def test_an_edit_keeps_a_reference_its_editor_could_not_make(app, uni, login_as):
    """Only what changes is asked: the school filed a lab's instrument under a school platform; the lab may
    still edit the instrument's other fields (and cannot newly name that platform)."""
    with app.app_context():
        db.session.get(Instrument, uni.inst_l11).platform_id = uni.platform_school
        db.session.commit()
        db.session.remove()
    try:
        headers = jwt_headers(login_as(None), "lab_admin")
        client = login_as(None)
        resp = client.put(f"/api/v1/instrument/{uni.inst_l11}", json={"location": "主楼 101"}, headers=headers)
        assert resp.status_code == 200, resp.get_data(as_text=True)
    finally:
        with app.app_context():
            instrument = db.session.get(Instrument, uni.inst_l11)
            instrument.platform_id, instrument.location = None, None
            db.session.commit()
            db.session.remove()


def test_an_instrument_names_its_classification_by_its_code(app, uni, client):
    """A related record keyed by a code, not an id (the national classification): named through the API, checked
    like any other reference (the check read `.id` and answered 500)."""
    headers = jwt_headers(client, "lab_admin")
    with app.app_context():
        before = db.session.get(Instrument, uni.inst_l11).class_code
        db.session.remove()
    try:
        changed = client.put(f"/api/v1/instrument/{uni.inst_l11}", json={"instrument_class": "010102"}, headers=headers)
        assert changed.status_code == 200, changed.get_data(as_text=True)
        unknown = client.put(f"/api/v1/instrument/{uni.inst_l11}", json={"instrument_class": "999999"}, headers=headers)
        assert unknown.status_code == 422
    finally:
        with app.app_context():
            db.session.get(Instrument, uni.inst_l11).class_code = before
            db.session.commit()
            db.session.remove()
