"""The security screens the school administrator uses — users and roles — and FAB's REST login, as the
security manager (app/security/manager.py) registers them.

Roles are declared in code (app/security/screens.py), so the role screen is read-only.
"""
from flask import request
from flask_appbuilder import ModelView
from flask_appbuilder.fields import QuerySelectMultipleField
from flask_appbuilder.fieldwidgets import Select2ManyWidget
from flask_appbuilder.security.sqla.models import Role
from flask_appbuilder.api import expose, safe
from flask_appbuilder.const import (API_SECURITY_ACCESS_TOKEN_KEY, API_SECURITY_PROVIDER_DB,
                                    API_SECURITY_REFRESH_TOKEN_KEY)
from flask_appbuilder.security.api import SecurityApi
from flask_appbuilder.security.schemas import login_post
from flask_appbuilder.security.views import UserDBModelView
from flask_jwt_extended import create_access_token, create_refresh_token
from marshmallow import ValidationError as InvalidBody
from flask_appbuilder.widgets import ListWidget, ShowWidget
from flask_babel import gettext, lazy_gettext as _
from wtforms import ValidationError
from wtforms.validators import DataRequired

from app import clock
from app.extensions import db
from app.models import PlatformUser
from app.security.roles import role_label
from app.security.scope import ScopeFilter
from app.services.people import registration

from .api_fields import integer_text
from .interface import interface


def _blank(value):
    return "" if value is None else value


def _server_time(value):
    """FAB writes its account times (last login, created, changed) in the server's local time, without
    a zone (ab_user is FAB's table); shown, like every instant, in Beijing time."""
    return "" if value is None else clock.display(value.astimezone())


def _roles_text(roles):
    return "、".join(str(role_label(r.name)) for r in roles or [])


def _caseless_unique(taken, message):
    def validator(form, field):
        editing = integer_text(getattr(form, "_id", "") or "")  # FAB's edit form carries the record's key as text
        if field.data and taken(db.session, field.data, except_id=editing):
            raise ValidationError(str(message))

    return validator


def _roles_field():
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
        **{name: _blank for name in ("unit", "email", "first_name", "last_name", "login_count", "fail_login_count")},
        **{name: _server_time for name in ("last_login", "created_on", "changed_on")},
        "roles": _roles_text,
        "active": lambda v: _("Yes") if v else _("No"),
    }
    # FAB's own Unique validator compares case-sensitively; sign-in does not (migration 0021)
    validators_columns = {"username": [_caseless_unique(registration.username_taken, registration.MSG_USERNAME_TAKEN)],
                          "email": [_caseless_unique(registration.email_taken, registration.MSG_EMAIL_TAKEN)]}
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
    list_widget = ListWidget
    show_widget = ShowWidget
    list_title = _("List Roles")
    show_title = _("Show Role")
    label_columns = {"name": _("Role")}
    list_columns = show_columns = ["name"]
    search_columns = ["name"]
    formatters_columns = {"name": role_label}


class PlatformSecurityApi(SecurityApi):
    """FAB's REST login, whose body schema leaves `provider` optional and then reads it unchecked (a body
    without it answered 500): a missing provider is the database's, as the login form's."""

    @expose("/login", methods=["POST"])
    @safe
    def login(self):
        data = request.get_json(silent=True)
        if not isinstance(data, dict):
            return self.response_400(message=gettext("The request body must be JSON."))
        try:
            payload = login_post.load({"provider": API_SECURITY_PROVIDER_DB, **data})
        except InvalidBody as error:
            return self.response_400(message=error.messages)
        sm = self.appbuilder.sm
        user = (sm.auth_user_db if payload["provider"] == API_SECURITY_PROVIDER_DB else sm.auth_user_ldap)(
            payload["username"], payload["password"])
        if not user:
            return self.response_401()
        answer = {API_SECURITY_ACCESS_TOKEN_KEY: create_access_token(identity=str(user.id), fresh=True)}
        if payload.get("refresh"):
            answer[API_SECURITY_REFRESH_TOKEN_KEY] = create_refresh_token(identity=str(user.id))
        return self.response(200, **answer)

    login.__doc__ = SecurityApi.login.__doc__
