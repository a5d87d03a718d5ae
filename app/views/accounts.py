"""Accounts: the security manager FAB runs (users bound to units, permissions cached once per
request) and the security screens the school administrator uses — users and roles.

Roles are declared in code (app/security/roles.py), so the role screen is read-only, and FAB's raw
permission / view-menu screens are not registered at all (they would only show English
identifiers and invite clicking permissions that `sync-roles` overwrites).
"""
import logging

from flask import g, has_request_context, jsonify, request
from flask_appbuilder import ModelView
from flask_appbuilder.fields import QuerySelectMultipleField
from flask_appbuilder.fieldwidgets import Select2ManyWidget
from flask_appbuilder.security.sqla.manager import SecurityManager
from flask_appbuilder.security.sqla.models import (
    Permission,
    PermissionView,
    Role,
    ViewMenu,
    assoc_permissionview_role,
)
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
from sqlalchemy.orm import joinedload
from wtforms import ValidationError
from wtforms.validators import DataRequired

from app import clock
from app.extensions import db
from app.models import PlatformUser
from app.security.roles import role_label
from app.security.scope import ScopeFilter
from app.services import registration

from .api_fields import integer_text
from .interface import interface

log = logging.getLogger(__name__)


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
    base_permissions = ["can_list", "can_show"]
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


class PlatformSecurityManager(SecurityManager):
    user_model = PlatformUser
    userdbmodelview = PlatformUserView
    security_api = PlatformSecurityApi

    def __init__(self, appbuilder):
        super().__init__(appbuilder)
        # FAB's __init__ overwrites the user view's datamodel with its plain interface
        PlatformUserView.datamodel = interface(PlatformUser)

    def register_views(self):
        """Database login, own profile and password, users and (read-only) roles — nothing else."""
        security_api = self.appbuilder.add_api(self.security_api)
        self.appbuilder.add_view_no_menu(self.userinfoeditview())
        self.appbuilder.add_view_no_menu(self.resetpasswordview())
        self.appbuilder.add_view_no_menu(self.resetmypasswordview())
        self.auth_view = self.authdbview()
        self.appbuilder.add_view_no_menu(self.auth_view)
        if self.is_auth_limited:  # the form and the REST login take passwords alike: one count per client address
            sign_in = self.limiter.shared_limit(self.auth_rate_limit, scope="sign-in", methods=["POST"])
            sign_in(self.auth_view.blueprint)
            sign_in(security_api.blueprint)
        self.user_view = self.appbuilder.add_view(
            PlatformUserView, "List Users", icon="fa-user", label=_("List Users"),
            category="Security", category_icon="fa-cogs", category_label=_("Security"),
        )
        role_view = self.appbuilder.add_view(
            PlatformRoleView, "List Roles", icon="fa-user-gear", label=_("List Roles"), category="Security",
        )
        role_view.related_views = [self.user_view.__class__]

    def create_jwt_manager(self, app):
        """A token that does not verify — forged, malformed, expired, revoked, of a removed account — is
        answered 401 in Chinese (flask-jwt-extended answers a malformed one 422, as if the request were bad)."""
        jwt_manager = super().create_jwt_manager(app)

        def refused(*_args):
            return jsonify({"msg": gettext("The sign-in token is not valid or has expired: sign in again.")}), 401

        for loader in (jwt_manager.invalid_token_loader, jwt_manager.expired_token_loader,
                       jwt_manager.revoked_token_loader, jwt_manager.user_lookup_error_loader,
                       jwt_manager.token_verification_failed_loader):
            loader(refused)
        return jwt_manager

    def auth_user_db(self, username, password):
        """FAB's password check, and a failure logged with the client's address (the proxy's client, where
        TRUSTED_PROXY_HOPS says how many proxies to trust; app/http.py)."""
        user = super().auth_user_db(username, password)
        if user is None and has_request_context():
            log.warning("sign-in failed for %r from %s", (username or "")[:64], request.remote_addr)
        return user

    # FAB asks the database once per permission check (~18 per page). Load the caller's
    # whole permission set once per request instead.
    def _request_cache(self):
        if not has_request_context():
            return None
        if "_perm_cache" not in g:
            g._perm_cache = {}
        return g._perm_cache

    def get_user_by_id(self, pk):
        """The user with its roles and groups in one statement (FAB's lazy loads make it three, every request)."""
        return self.session.get(self.user_model, pk, options=[joinedload(self.user_model.roles),
                                                              joinedload(self.user_model.groups)])

    def get_public_role(self):
        cache = self._request_cache()
        if cache is None:
            return super().get_public_role()
        if "public_role" not in cache:
            cache["public_role"] = super().get_public_role()
        return cache["public_role"]

    def get_user_roles(self, user):
        cache = self._request_cache()
        if cache is None or not getattr(user, "is_authenticated", False):
            return super().get_user_roles(user)
        key = ("roles", user.id)
        if key not in cache:
            cache[key] = super().get_user_roles(user)
        return cache[key]

    def _role_permissions(self, role_ids):
        cache = self._request_cache()
        key = ("perms", tuple(sorted(role_ids)))
        if cache is not None and key in cache:
            return cache[key]
        rows = self._permission_rows().filter(Role.id.in_(role_ids)).all()
        perms = {(p, v) for p, v in rows}
        if cache is not None:
            cache[key] = perms
        return perms

    def exist_permission_on_roles(self, view_name, permission_name, role_ids):
        return (permission_name, view_name) in self._role_permissions(role_ids)

    def is_item_public(self, permission_name, view_name):
        return (permission_name, view_name) in self._public_permissions()

    def _public_permissions(self):
        """The public role's permissions by its name: one statement (every API call asks first)."""
        cache = self._request_cache()
        if cache is not None and "public_perms" in cache:
            return cache["public_perms"]
        perms = set(self._permission_rows().filter(Role.name == self.auth_role_public).all())
        if cache is not None:
            cache["public_perms"] = perms
        return perms

    def _permission_rows(self):
        return (
            self.session.query(Permission.name, ViewMenu.name)
            .select_from(PermissionView)
            .join(assoc_permissionview_role, PermissionView.id == assoc_permissionview_role.c.permission_view_id)
            .join(Role, Role.id == assoc_permissionview_role.c.role_id)
            .join(Permission, Permission.id == PermissionView.permission_id)
            .join(ViewMenu, ViewMenu.id == PermissionView.view_menu_id)
        )

    def _get_user_permission_view_menus(self, user, permission_name, view_menus_name):
        roles = [self.get_public_role()] if user is None else self.get_user_roles(user)
        role_ids = [r.id for r in roles if r is not None]
        perms = self._role_permissions(role_ids) if role_ids else set()
        names = {v for p, v in perms if p == permission_name}
        if view_menus_name is not None:
            names &= set(view_menus_name)
        return names
