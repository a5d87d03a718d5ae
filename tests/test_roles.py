"""Roles declared in code: sync is idempotent, and every page a role's permissions name opens."""
import pytest
import sqlalchemy as sa

from app.extensions import db
from app.security import permissions as P
from app.security.roles import ROLE_CONFIGS, sync_roles

ACCOUNTS = {"CollegeAdmin": "college_admin", "LabAdmin": "lab_admin", "ServiceUser": "service_user"}
SCREENS = {
    "UnitView": "/unitview", "InnovationPlatformView": "/innovationplatformview", "InstrumentView": "/instrumentview",
    "PersonView": "/personview", "TrainingSessionView": "/trainingsessionview",
    "UnsuitableFilingView": "/unsuitablefilingview", "InstrumentYearCostView": "/instrumentyearcostview",
    "AssessmentView": "/assessmentview", "TypicalCaseView": "/typicalcaseview",
    "PlatformUserView": "/users", "PlatformRoleView": "/roles",
}
PAGES = {P.CAN_LIST: "{base}/list/", P.CAN_ADD: "{base}/add"}


def role_permissions(app, name):
    with app.app_context():
        role = app.appbuilder.sm.find_role(name)
        perms = {(pv.permission.name, pv.view_menu.name) for pv in role.permissions}
        db.session.remove()
        return perms


def test_sync_roles_is_idempotent_and_removes_strays(app):
    before = {name: role_permissions(app, name) for name in ROLE_CONFIGS}
    with app.app_context():
        sm = app.appbuilder.sm
        stray = sm.add_permission_view_menu(P.CAN_DELETE, "PlatformUserView")
        sm.add_permission_role(sm.find_role("LabAdmin"), stray)
        db.session.commit()
        sync_roles()
        sync_roles()
        db.session.remove()
    after = {name: role_permissions(app, name) for name in ROLE_CONFIGS}
    assert after == before
    for name, grants in ROLE_CONFIGS.items():
        assert after[name] == set(grants)


CASES = [(role, view, perm) for role in ACCOUNTS for view in SCREENS for perm in PAGES]


@pytest.mark.parametrize("role,view,perm", CASES, ids=[f"{r}-{v}-{p}" for r, v, p in CASES])
def test_route_smoke_follows_declared_permissions(uni, login_as, role, view, perm):
    client = login_as(ACCOUNTS[role])
    url = PAGES[perm].format(base=SCREENS[view])
    granted = (perm, view) in set(ROLE_CONFIGS[role])
    status = client.get(url).status_code
    assert status == (200 if granted else 403), url


def test_school_admin_opens_every_screen(uni, login_as):
    client = login_as("school_admin")
    for base in SCREENS.values():
        assert client.get(f"{base}/list/").status_code == 200, base


def test_success_flashes_are_chinese(app, uni, login_as):
    from .conftest import csrf_token

    client = login_as("lab_admin")
    token = csrf_token(client, "/trainingsessionview/add")
    resp = client.post("/trainingsessionview/add", data={"csrf_token": token, "level": "lab", "unit": uni.l11,
                                                         "held_on": "2026-06-10", "topic": "闪存提示测试"}, follow_redirects=True)
    html = resp.get_data(as_text=True)
    assert "记录已添加" in html, html[html.find("alert"):][:300]
    with app.app_context():
        from app.models import TrainingSession

        db.session.execute(sa.delete(TrainingSession).where(TrainingSession.topic == "闪存提示测试"))
        db.session.commit()
        db.session.remove()


def test_anonymous_reaches_only_the_public_pages(app, uni):
    """Every GET route of the app, opened without signing in: only the public ones answer 200."""
    client = app.test_client()
    public = set()
    for rule in app.url_map.iter_rules():
        if "GET" not in rule.methods or rule.endpoint in ("static", "appbuilder.static", "favicon"):  # files
            continue
        url = rule.rule
        for arg in rule.arguments:
            url = url.replace(f"<{arg}>", "1").replace(f"<string:{arg}>", "x").replace(f"<int:{arg}>", "1").replace(f"<path:{arg}>", "x")
        if "<" in url:
            continue
        if client.get(url).status_code == 200:
            public.add(rule.rule)
    assert public == {"/", "/login/", "/public/fees", "/public/fees.xlsx", "/register/"}
