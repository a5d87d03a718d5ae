"""Denial matrix (issue 2): every scoped screen and API, every out-of-scope record, every role.

A refusal is 404 (record outside scope), 403 (no permission) or, for an anonymous browser,
a redirect to the login page; in every case nothing changes.
"""
import re

import pytest
import sqlalchemy as sa

from app.extensions import db
from app.models import InnovationPlatform, Instrument, Person, TrainingSession, Unit, UnsuitableFiling

from . import factories as f
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
    assert refused(client.post(f"/{endpoint}/edit/{pk}", data={"csrf_token": token, "name": "改名", "topic": "改名",
                                                               "reason": "改名"}), who)
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
    resp = client.post(f"/personview/edit/{pk}", data={"csrf_token": token, "name": before["name"], "unit": getattr(uni, foreign),
                                                       "duty": "technician"})
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
    resp = client.post(f"/personview/edit/{pk}", data={"csrf_token": token, "name": "材料实验室的老师", "unit": uni.l11,
                                                       "duty": "technician", "mobile": "13900139000"})
    assert resp.status_code == 302
    after = snapshot(app, Person, pk)
    assert after["unit_id"] == uni.l11 and after["mobile"] == "13900139000"
    # put it back for the other tests
    with app.app_context():
        p = db.session.get(Person, pk)
        p.unit_id, p.mobile = uni.l12, "13800138000"
        db.session.commit()
        db.session.remove()


# The scope functions themselves, as each role's request sees them: the views that use them directly (the
# calendar, the feeds, the evaluation screen) rely on exactly these answers.

class TestScopeFunctions:
    @pytest.fixture
    def as_user(self, app):
        from contextlib import contextmanager

        from flask_login import login_user

        @contextmanager
        def signed_in(username):
            # an application context of its own: a request's g (the cached scope, the signed-in user) and database
            # session are its alone, as in a served request
            with app.app_context(), app.test_request_context():
                if username is not None:
                    login_user(app.appbuilder.sm.find_user(username))
                yield
        return signed_in

    def test_the_school_reaches_the_whole_tree(self, as_user, uni, session):
        from app.security import scope

        with as_user("school_admin"):
            assert scope.scope_root() == scope.ALL and scope.scope_unit_ids() == scope.ALL
            assert scope.root_parent_id() is None
            assert scope.unit_in_scope(uni.l21) and not scope.unit_in_scope(None)
            assert scope.own_service_user_id() is None  # an administrator is nobody's customer
            every = set(session.scalars(sa.select(Instrument.id)))
            assert {i.id for i in scope.apply_scope(session.query(Instrument), Instrument)} == every

    @pytest.mark.parametrize("username,root,parent,units", [
        ("college_admin", "c1", "school", ["c1", "l11", "l12"]),
        ("lab_admin", "l11", "c1", ["l11"]),
    ])
    def test_a_college_or_lab_reaches_its_subtree(self, as_user, uni, session, username, root, parent, units):
        from app.security import scope

        ids = {getattr(uni, key) for key in units}
        with as_user(username):
            assert scope.scope_root() == getattr(uni, root)
            assert scope.root_parent_id() == getattr(uni, parent)
            assert set(scope.scope_unit_ids()) == ids
            assert scope.unit_in_scope(getattr(uni, root)) and scope.unit_in_scope(str(getattr(uni, root)))
            assert not scope.unit_in_scope(uni.l21) and not scope.unit_in_scope(None)
            reached = {i.unit_id for i in scope.apply_scope(session.query(Instrument), Instrument)}
            assert reached and reached <= ids and uni.l11 in reached

    @pytest.mark.parametrize("username", ["service_user", None])
    def test_a_customer_or_anonymous_reaches_no_unit(self, as_user, uni, session, username):
        from app.security import scope

        with as_user(username):
            assert scope.scope_root() == scope.NOTHING and scope.scope_unit_ids() == scope.NOTHING
            assert scope.root_parent_id() is None
            assert not scope.unit_in_scope(uni.l11) and not scope.unit_in_scope(uni.school)
            assert scope.apply_scope(session.query(Instrument), Instrument).all() == []
            expected = uni.customer_service_user if username else None
            assert scope.own_service_user_id() == expected

    def test_the_customer_row_is_looked_up_once_per_request(self, as_user, app, uni):
        from app.security import scope

        statements = []

        def record(_conn, _cursor, statement, *_rest):
            statements.append(statement)

        with as_user("service_user"):
            assert scope.own_service_user_id() == uni.customer_service_user
            sa.event.listen(db.engine, "before_cursor_execute", record)
            try:
                assert scope.own_service_user_id() == uni.customer_service_user
            finally:
                sa.event.remove(db.engine, "before_cursor_execute", record)
        assert statements == []

    def test_the_scope_is_worked_out_once_per_request(self, as_user, uni):
        from app.security import scope

        statements = []

        def record(_conn, _cursor, statement, *_rest):
            statements.append(statement)

        with as_user("lab_admin"):
            assert scope.scope_unit_ids() == (uni.l11,)
            sa.event.listen(db.engine, "before_cursor_execute", record)
            try:
                assert scope.scope_unit_ids() == (uni.l11,) and scope.scope_root() == uni.l11
            finally:
                sa.event.remove(db.engine, "before_cursor_execute", record)
        assert statements == []

    def test_a_customer_may_name_only_itself_and_only_while_active(self, as_user, uni, session):
        from app.models import ServiceUser
        from app.security import scope

        def named():
            return set(session.scalars(sa.select(ServiceUser.id).where(scope.reference_clause_for(ServiceUser))))

        with as_user("service_user"):
            assert named() == {uni.customer_service_user}
            own = session.get(ServiceUser, uni.customer_service_user)
            own.status = "rejected"
            session.flush()  # rolled back with the request's session
            assert named() == set()
        with as_user(None):
            assert named() == set()
        with as_user("lab_admin"):  # a lab serves any active customer, another lab's researcher included
            waiting = f.service_user(name="待审核用户")
            waiting.status = "pending"
            session.flush()  # rolled back with the request's session
            active = set(session.scalars(sa.select(ServiceUser.id).where(ServiceUser.status == "active")))
            assert named() == active and uni.customer_campus_user in active and waiting.id not in active

    @pytest.mark.parametrize("username,expected", [
        ("college_admin", ["school", "c1", "l11", "l12"]),  # its subtree and, to keep, the school above it
        ("lab_admin", ["c1", "l11"]),
    ])
    def test_a_unit_parent_dropdown_also_offers_the_roots_own_parent(self, as_user, uni, session, username, expected):
        from flask_appbuilder.models.sqla.interface import SQLAInterface

        from app.security.scope import ScopeFilter

        with as_user(username):
            units = ScopeFilter("id", SQLAInterface(Unit))
            kept = {u.id for u in units.apply(session.query(Unit), "keep_root_parent")}
            plain = {u.id for u in units.apply(session.query(Unit), None)}
        assert kept == {getattr(uni, key) for key in expected}
        assert plain == kept - {getattr(uni, expected[0])}

    def test_the_school_dropdown_is_the_whole_tree(self, as_user, session):
        from flask_appbuilder.models.sqla.interface import SQLAInterface

        from app.security.scope import ScopeFilter

        with as_user("school_admin"):
            query = session.query(Unit)
            assert ScopeFilter("id", SQLAInterface(Unit)).apply(query, "keep_root_parent") is query

    @pytest.mark.parametrize("username", ["school_admin", "lab_admin", "service_user", None])
    def test_a_message_is_its_recipients_alone_whatever_the_callers_unit(self, as_user, app, session, username):
        from app.models import Message
        from app.security import scope

        with as_user(username):
            accounts = {name: app.appbuilder.sm.find_user(name).id for name in ("school_admin", "lab_admin",
                                                                                  "service_user")}
            for name, account in accounts.items():
                session.add(Message(recipient_id=account, kind="test", subject=f"给{name}", body="正文"))
            session.flush()  # rolled back with the request's session
            reached = {m.recipient_id for m in scope.apply_scope(session.query(Message), Message)}
        assert reached == ({accounts[username]} if username else set())
