"""A screen is declared once (app/security/screens.py): every registered view has its entry and every entry
is registered, each with the menu place and permissions the table gives it; no view spells a permission, and
no module but the user model spells a role's name."""
import ast
import pathlib

from app.models import user as role_names
from app.security import permissions as P
from app.security import screens
from app.security.roles import NOT_THE_SCHOOLS, ROLE_CONFIGS

APP = pathlib.Path(__file__).resolve().parent.parent / "app"
# FAB's own plumbing, not screens of ours: its index and locale switch, sign-in form, menu API and
# password reset by the school (reached from the user screen, the school's only)
FAB_PLUMBING = {"HomeView", "UtilView", "LocaleView", "AuthDBView", "ResetPasswordView", "MenuApi",
                "PlatformSecurityApi"}


def test_every_registered_view_is_in_the_table_and_every_entry_registered(app):
    registered = {view.class_permission_name: view for view in app.appbuilder.baseviews}
    assert set(registered) - FAB_PLUMBING == set(screens.BY_VIEW)
    for name, entry in screens.BY_VIEW.items():
        view = registered[name]
        if entry.permissions is not None:
            assert set(view.base_permissions) == set(entry.permissions), name
        for role, granted in entry.grants.items():
            assert set(granted) <= set(view.base_permissions), (name, role)


def _menu_items(app):
    items = {}
    for item in app.appbuilder.menu.get_list():
        for child in item.childs or [item]:
            items.setdefault(child.name, []).append((item.name if item.childs else None, str(child.label)))
    return items


def test_the_menu_is_the_tables(app):
    items = _menu_items(app)
    for entry in screens.SCREENS:
        if isinstance(entry, screens.Link) or entry.menu:
            category = entry.category.name if entry.category else None
            assert (category, str(entry.label)) in items[entry.menu], entry.menu


def test_a_role_is_shown_the_menus_of_what_it_may_open():
    lab = set(ROLE_CONFIGS[role_names.LAB_ADMIN])
    assert (P.MENU_ACCESS, "Instruments") in lab and (P.MENU_ACCESS, "Resources") in lab
    assert (P.MENU_ACCESS, "Annual assessments") not in lab  # the college's and the school's
    user = set(ROLE_CONFIGS[role_names.SERVICE_USER])
    # the statements and the free-instrument search: in the service user's own menu, not the lab side's
    assert (P.MENU_ACCESS, "My statements") in user and (P.MENU_ACCESS, "Find a free instrument") in user
    assert (P.MENU_ACCESS, "Statements") not in user and (P.MENU_ACCESS, "Booking") not in user
    assert ("can_index", "StatementView") in user
    assert set(ROLE_CONFIGS[role_names.PUBLIC]) == {
        (P.CAN_FEES, "PublicFeesView"), (P.CAN_INSTRUMENT, "PublicFeesView"), (P.CAN_DOWNLOAD, "PublicFeesView"),
        (P.MENU_ACCESS, "Fee schedules"), (P.CAN_DECIDE, "PiApprovalView"), ("can_personal", "CalendarFeedView"),
        (P.CAN_INSTRUMENT, "CalendarFeedView"), (P.CAN_FORM, "RegistrationView")}


def test_the_school_is_not_shown_the_service_users_own_menus():
    assert (P.MENU_ACCESS, "My services") in NOT_THE_SCHOOLS and (P.MENU_ACCESS, "My statements") in NOT_THE_SCHOOLS
    # the search is also the lab side's (under 预约管理): the school keeps it
    assert (P.MENU_ACCESS, "Find a free instrument") not in NOT_THE_SCHOOLS
    assert all(name.startswith("My ") for _perm, name in NOT_THE_SCHOOLS)


def _python_files(*parts):
    return sorted(APP.joinpath(*parts).rglob("*.py"))


def _string_literals(path):
    return [(node.lineno, node.value) for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
            if isinstance(node, ast.Constant) and isinstance(node.value, str)]


def _permission_name_literals(path):
    """@permission_name("…") with a literal: a permission spelled in the view."""
    return [(node.lineno, node.args[0].value) for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
            if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "permission_name"
            and node.args and isinstance(node.args[0], ast.Constant)]


def test_no_view_spells_a_permission():
    found = [f"{path.relative_to(APP)}:{line} {value}" for path in _python_files("views")
             for line, value in _string_literals(path) if value.startswith("can_") or value == P.MENU_ACCESS]
    found += [f"{path.relative_to(APP)}:{line} {value}" for path in _python_files("views")
              for line, value in _permission_name_literals(path)]
    assert found == []


def test_role_names_only_as_constants():
    names = {role_names.SCHOOL_ADMIN, role_names.COLLEGE_ADMIN, role_names.LAB_ADMIN, role_names.PUBLIC}
    # "ServiceUser" is also a model's name (relationship("ServiceUser")): only its use as a role counts
    found = [f"{path.relative_to(APP)}:{line} {value}" for path in _python_files()
             if path != APP / "models" / "user.py"
             for line, value in _string_literals(path) if value in names]
    assert found == []
