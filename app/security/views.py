"""The security screens the school administrator uses: users (bound to units) and roles.

Roles are declared in code (roles.py), so the role screen is read-only, and FAB's raw
permission / view-menu screens are not registered at all (they would only show English
identifiers and invite clicking permissions that `sync-roles` overwrites).
"""
from flask_appbuilder import ModelView
from flask_appbuilder.fields import QuerySelectMultipleField
from flask_appbuilder.fieldwidgets import Select2ManyWidget
from flask_appbuilder.security.sqla.models import Role
from flask_appbuilder.security.views import UserDBModelView
from flask_appbuilder.widgets import ListWidget, ShowWidget
from flask_babel import lazy_gettext as _
from wtforms.validators import DataRequired

from app.models import PlatformUser
from app.views.interface import interface

from .roles import role_label
from .scope import ScopeFilter


def _blank(value):
    return "" if value is None else value


def _roles_text(roles):
    return "、".join(str(role_label(r.name)) for r in roles or [])


def _roles_field():
    from app.extensions import db

    return QuerySelectMultipleField(
        _("Role"),
        query_func=lambda: db.session.query(Role).order_by(Role.id),
        get_label=lambda role: str(role_label(role.name)),
        get_pk_func=lambda role: role.id,
        widget=Select2ManyWidget(),
        validators=[DataRequired()],
    )


class PlatformUserView(UserDBModelView):
    """Users with the unit they are bound to (the root of their scope)."""

    datamodel = interface(PlatformUser)

    list_columns = ["last_name", "first_name", "username", "email", "active", "roles", "unit"]
    search_columns = ["first_name", "last_name", "username", "email", "active", "unit"]
    add_columns = ["first_name", "last_name", "username", "active", "email", "roles", "unit", "password", "conf_password"]
    edit_columns = ["first_name", "last_name", "username", "active", "email", "roles", "unit"]
    show_fieldsets = [
        (_("User info"), {"fields": ["username", "active", "roles", "unit", "login_count"]}),
        (_("Personal Info"), {"fields": ["first_name", "last_name", "email"], "expanded": True}),
        (_("Audit Info"), {"fields": ["last_login", "fail_login_count", "created_on", "changed_on"], "expanded": False}),
    ]
    user_show_fieldsets = [
        (_("User info"), {"fields": ["username", "active", "roles", "unit"]}),
        (_("Personal Info"), {"fields": ["first_name", "last_name", "email"], "expanded": True}),
    ]
    label_columns = {**UserDBModelView.label_columns, "unit": _("Unit"), "roles": _("Role")}
    description_columns = {
        **UserDBModelView.description_columns,
        "username": _("The name used to sign in."),
        "email": _("The user's e-mail address."),
        "unit": _("The user sees this unit and every unit below it."),
    }
    formatters_columns = {
        **{name: _blank for name in ("unit", "email", "first_name", "last_name", "last_login", "login_count",
                                     "fail_login_count", "created_on", "changed_on")},
        "roles": _roles_text,
        "active": lambda v: _("Yes") if v else _("No"),
    }
    validators_columns = {}
    add_form_query_rel_fields = {"unit": [["id", ScopeFilter, None]]}
    edit_form_query_rel_fields = {"unit": [["id", ScopeFilter, None]]}
    search_form_query_rel_fields = {"unit": [["id", ScopeFilter, None]]}
    list_title = _("List Users")
    show_title = _("Show User")
    add_title = _("Add User")
    edit_title = _("Edit User")

    def __init__(self, **kwargs):
        self.add_form_extra_fields = {**UserDBModelView.add_form_extra_fields, "roles": _roles_field()}
        self.edit_form_extra_fields = {"roles": _roles_field()}
        super().__init__(**kwargs)


class PlatformRoleView(ModelView):
    route_base = "/roles"
    datamodel = interface(Role)
    base_permissions = ["can_list", "can_show"]
    list_widget = ListWidget
    show_widget = ShowWidget
    list_title = _("List Roles")
    show_title = _("Show Role")
    label_columns = {"name": _("Role")}
    list_columns = show_columns = ["name"]
    search_columns = ["name"]
    formatters_columns = {"name": role_label}
