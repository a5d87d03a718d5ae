"""The security manager FAB runs: users bound to units, a REST login that refuses a bad body in Chinese,
refused tokens answered 401, failed sign-ins logged with the client's address, and the caller's permissions
loaded once per request. Its own screens (users, read-only roles) are app/views/accounts.py's, placed by
the screen table (app/security/screens.py); FAB's raw permission and view-menu screens are not registered
(they would only show English identifiers and invite clicking permissions that `sync-roles` overwrites).
"""
import logging

from flask import g, has_request_context, jsonify, request
from flask_appbuilder.security.sqla.manager import SecurityManager
from flask_appbuilder.security.sqla.models import (
    Permission,
    PermissionView,
    Role,
    ViewMenu,
    assoc_permissionview_role,
)
from flask_babel import gettext
from sqlalchemy.orm import joinedload

from app.models import PlatformUser
from app.views.accounts import PlatformRoleView, PlatformSecurityApi, PlatformUserView
from app.views.interface import interface

from . import screens

log = logging.getLogger(__name__)


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
        PlatformRoleView.related_views = [PlatformUserView]
        registered = screens.register(self.appbuilder, (PlatformUserView, PlatformRoleView), links=False)
        self.user_view = registered["PlatformUserView"]

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
