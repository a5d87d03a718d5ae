"""Denial matrix (issue 2): every scoped screen and API, every out-of-scope record, every role.

A refusal is 404 (record outside scope), 403 (no permission) or, for an anonymous browser,
a redirect to the login page; in every case nothing changes.
"""
import re

import pytest
import sqlalchemy as sa

from app.extensions import db
from app.models import InnovationPlatform, Instrument, Person, TrainingSession, Unit, UnsuitableFiling

from .conftest import PASSWORD, csrf_token, session_csrf_token

# screen endpoint prefix, API resource, model, attribute prefix in the University handle, a text field
SCREENS = [
    ("unitview", "unit", Unit, "", "name"),
    ("instrumentview", "instrument", Instrument, "inst_", "name"),
    ("personview", "person", Person, "person_", "name"),
    ("innovationplatformview", "platform", InnovationPlatform, "platform_", "name"),
    ("trainingsessionview", "training", TrainingSession, "training_", "topic"),
    ("unsuitablefilingview", "unsuitable_filing", UnsuitableFiling, "filing_", "remarks"),
]

# who, and which units' records are outside their scope
OUTSIDE = {
    "lab_admin": ["school", "c1", "l12", "c2", "l21"],
    "college_admin": ["school", "c2", "l21"],
    "service_user": ["school", "c1", "l11", "l21"],
    None: ["school", "c1", "l11", "l21"],
}
INSIDE = {"lab_admin": ["l11"], "college_admin": ["c1", "l11", "l12"]}
# ancestors of the scope root: their names may appear as the root's own parent, nothing more
ANCESTORS = {"lab_admin": ["school", "c1"], "college_admin": ["school"]}

CASES = [
    (who, screen, unit_key)
    for who, units in OUTSIDE.items()
    for screen in SCREENS
    for unit_key in units
]


def _ids(case):
    who, screen, unit_key = case
    return f"{who or 'anonymous'}-{screen[0]}-{unit_key}"


def page_text(resp):
    """The page with the JSON escapes of its embedded widgets decoded (FAB's search form)."""
    html = resp.get_data(as_text=True)
    return re.sub(r"\\u([0-9a-fA-F]{4})", lambda m: chr(int(m.group(1), 16)), html).replace('\\"', '"')


def record_id(uni, screen, unit_key):
    return getattr(uni, f"{screen[3]}{unit_key}")


def snapshot(app, model, pk):
    with app.app_context():
        row = db.session.get(model, pk)
        result = None if row is None else {c.key: getattr(row, c.key) for c in model.__table__.columns}
        db.session.remove()
        return result


def refused(resp, who):
    if who is None:
        return resp.status_code in (401, 403, 404) or (
            resp.status_code == 302 and "/login" in resp.headers.get("Location", "")
        )
    return resp.status_code in (403, 404)


@pytest.mark.parametrize("case", CASES, ids=[_ids(c) for c in CASES])
def test_screen_refuses_out_of_scope_record(app, uni, login_as, case):
    who, screen, unit_key = case
    endpoint, _resource, model, _prefix, _field = screen
    pk = record_id(uni, screen, unit_key)
    before = snapshot(app, model, pk)
    client = login_as(who)
    for url in (f"/{endpoint}/show/{pk}", f"/{endpoint}/edit/{pk}"):
        assert refused(client.get(url), who), url
    token = session_csrf_token(client)
    assert refused(client.post(f"/{endpoint}/edit/{pk}", data={"csrf_token": token, "name": "改名", "topic": "改名", "reason": "改名"}), who)
    assert refused(client.post(f"/{endpoint}/delete/{pk}", data={"csrf_token": token}), who)
    assert snapshot(app, model, pk) == before


@pytest.mark.parametrize("who", ["lab_admin", "college_admin"])
@pytest.mark.parametrize("screen", SCREENS, ids=[s[0] for s in SCREENS])
def test_lists_and_dropdowns_hide_out_of_scope_records(app, uni, login_as, who, screen):
    endpoint, _resource, model, _prefix, field = screen
    client = login_as(who)
    html = page_text(client.get(f"/{endpoint}/list/"))
    add_form = page_text(client.get(f"/{endpoint}/add"))
    with app.app_context():
        for unit_key in OUTSIDE[who]:
            if model is Unit and unit_key in ANCESTORS[who]:
                continue
            text = getattr(db.session.get(model, record_id(uni, screen, unit_key)), field)
            assert text not in html, f"{text} leaks into the {endpoint} list of {who}"
        for unit_key in INSIDE[who]:
            text = getattr(db.session.get(model, record_id(uni, screen, unit_key)), field)
            assert text in html, f"{text} missing from the {endpoint} list of {who}"
        # the list's search filters offer no unit outside the scope either (positive control:
        # the scope's own units are offered)
        if model is not Unit:
            for unit_key in OUTSIDE[who]:
                name = db.session.get(Unit, getattr(uni, unit_key)).name
                assert f">{name}<" not in html, f"unit {name} offered in the {endpoint} search of {who}"
            for unit_key in INSIDE[who] if model is not UnsuitableFiling else []:  # filings filter by instrument
                name = db.session.get(Unit, getattr(uni, unit_key)).name
                assert f">{name}<" in html, f"unit {name} missing from the {endpoint} search of {who}"
        # related dropdowns: no unit outside the scope is offered (the college's own parent
        # appears in the unit form only as the unchanged parent of the scope root)
        for unit_key in OUTSIDE[who]:
            name = db.session.get(Unit, getattr(uni, unit_key)).name
            if endpoint == "unitview" and unit_key == ANCESTORS[who][-1]:
                continue
            assert f">{name}<" not in add_form, f"unit {name} offered in the {endpoint} form of {who}"
        db.session.remove()


def jwt_headers(client, username):
    resp = client.post("/api/v1/security/login", json={"username": username, "password": PASSWORD, "provider": "db", "refresh": False})
    assert resp.status_code == 200, resp.get_data(as_text=True)
    return {"Authorization": f"Bearer {resp.json['access_token']}"}


API_CASES = [c for c in CASES if c[0] is not None]


@pytest.mark.parametrize("case", API_CASES, ids=[_ids(c) for c in API_CASES])
def test_api_refuses_out_of_scope_record(app, uni, client, case):
    who, screen, unit_key = case
    _endpoint, resource, model, _prefix, field = screen
    pk = record_id(uni, screen, unit_key)
    before = snapshot(app, model, pk)
    headers = jwt_headers(client, who)
    assert client.get(f"/api/v1/{resource}/{pk}", headers=headers).status_code in (403, 404)
    assert client.put(f"/api/v1/{resource}/{pk}", json={field: "改名"}, headers=headers).status_code in (403, 404)
    assert client.delete(f"/api/v1/{resource}/{pk}", headers=headers).status_code in (403, 404)
    listing = client.get(f"/api/v1/{resource}/?q=(page_size:100)", headers=headers)
    if listing.status_code == 200:
        assert pk not in [row.get("id") for row in listing.json["result"]]
    else:
        assert listing.status_code == 403
    assert snapshot(app, model, pk) == before


def test_api_anonymous_is_refused(uni, client):
    for _e, resource, *_ in SCREENS:
        assert client.get(f"/api/v1/{resource}/").status_code == 401


def test_api_list_matches_screen_scope(app, uni, client):
    headers = jwt_headers(client, "college_admin")
    ids = {row["id"] for row in client.get("/api/v1/instrument/?q=(page_size:100)", headers=headers).json["result"]}
    with app.app_context():
        expected = set(db.session.execute(
            sa.select(Instrument.id).where(Instrument.unit_id.in_([uni.c1, uni.l11, uni.l12]))).scalars())
        db.session.remove()
    assert {uni.inst_c1, uni.inst_l11, uni.inst_l12} <= ids == expected


def count(app, model, **where):
    with app.app_context():
        n = db.session.execute(sa.select(sa.func.count()).select_from(model).filter_by(**where)).scalar()
        db.session.remove()
        return n


def instrument_form(unit_id, **overrides):
    data = {
        "kind": "instrument", "asset_number": "ZC-NEW-0001", "name": "越权新增的仪器", "original_value": "400000",
        "funding_source": "fiscal_full", "run_status": "normal", "sharing_status": "external", "unit": str(unit_id),
        "purchase_date": "2024-01-02", "acceptance_date": "2024-02-01", "class_code": "010102",
    }
    data.update(overrides)
    return data


@pytest.mark.parametrize("who,foreign", [("lab_admin", "l12"), ("lab_admin", "c1"), ("college_admin", "l21"), ("college_admin", "c2")])
def test_cannot_add_into_foreign_unit(app, uni, login_as, who, foreign):
    client = login_as(who)
    token = csrf_token(client, "/instrumentview/add")
    before = count(app, Instrument)
    resp = client.post("/instrumentview/add", data={**instrument_form(getattr(uni, foreign)), "csrf_token": token})
    assert resp.status_code == 200  # the form comes back with the error beside the field
    html = resp.get_data(as_text=True)
    # the unit select offers only units in scope, so a foreign id leaves it empty: refused beside the field
    unit_field = html[html.index('id="unit"'):]
    assert "alert-danger" in unit_field[: unit_field.index("</td>")]
    assert count(app, Instrument) == before
    headers = jwt_headers(client, who)
    payload = {"asset_number": "ZC-API-0001", "name": "越权新增", "original_value": 1, "unit": getattr(uni, foreign),
               "kind": "instrument", "funding_source": "fiscal_full", "run_status": "normal", "sharing_status": "external"}
    api = client.post("/api/v1/instrument/", json=payload, headers=headers)
    assert api.status_code in (400, 404, 422), api.get_data(as_text=True)
    assert count(app, Instrument) == before


@pytest.mark.parametrize("who,own,foreign", [("lab_admin", "l11", "l21"), ("college_admin", "l12", "c2")])
def test_cannot_move_record_to_foreign_unit(app, uni, login_as, who, own, foreign):
    client = login_as(who)
    pk = getattr(uni, f"person_{own}")
    before = snapshot(app, Person, pk)
    token = csrf_token(client, f"/personview/edit/{pk}")
    resp = client.post(f"/personview/edit/{pk}", data={"csrf_token": token, "name": before["name"], "unit": getattr(uni, foreign), "duty": "technician"})
    assert resp.status_code == 200
    assert snapshot(app, Person, pk) == before
    headers = jwt_headers(client, who)
    api = client.put(f"/api/v1/person/{pk}", json={"unit": getattr(uni, foreign)}, headers=headers)
    assert api.status_code in (400, 404, 422)
    assert snapshot(app, Person, pk) == before


def test_in_scope_edit_works(app, uni, login_as):
    """Positive control: the same requests succeed inside the scope, so the refusals above mean something."""
    client = login_as("college_admin")
    pk = uni.person_l12
    token = csrf_token(client, f"/personview/edit/{pk}")
    resp = client.post(f"/personview/edit/{pk}", data={"csrf_token": token, "name": "材料实验室的老师", "unit": uni.l11, "duty": "technician", "mobile": "13900139000"})
    assert resp.status_code == 302
    after = snapshot(app, Person, pk)
    assert after["unit_id"] == uni.l11 and after["mobile"] == "13900139000"
    # put it back for the other tests
    with app.app_context():
        p = db.session.get(Person, pk)
        p.unit_id, p.mobile = uni.l12, "13800138000"
        db.session.commit()
        db.session.remove()
