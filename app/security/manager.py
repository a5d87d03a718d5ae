"""FAB security manager: users bound to units, permissions cached once per request."""
from flask import g, has_request_context
from flask_appbuilder.security.sqla.manager import SecurityManager
from flask_appbuilder.security.sqla.models import (
    Permission,
    PermissionView,
    Role,
    ViewMenu,
    assoc_permissionview_role,
)
from flask_babel import lazy_gettext as _

from app.models import PlatformUser

from app.views.interface import interface

from .views import PlatformRoleView, PlatformUserView


class PlatformSecurityManager(SecurityManager):
    user_model = PlatformUser
    userdbmodelview = PlatformUserView

    def __init__(self, appbuilder):
        super().__init__(appbuilder)
        # FAB's __init__ overwrites the user view's datamodel with its plain interface
        PlatformUserView.datamodel = interface(PlatformUser)

    def register_views(self):
        """Database login, own profile and password, users and (read-only) roles — nothing else."""
        self.appbuilder.add_api(self.security_api)
        self.appbuilder.add_view_no_menu(self.userinfoeditview())
        self.appbuilder.add_view_no_menu(self.resetpasswordview())
        self.appbuilder.add_view_no_menu(self.resetmypasswordview())
        self.auth_view = self.authdbview()
        self.appbuilder.add_view_no_menu(self.auth_view)
        if self.is_auth_limited:
            self.limiter.limit(self.auth_rate_limit, methods=["POST"])(self.auth_view.blueprint)
        self.user_view = self.appbuilder.add_view(
            PlatformUserView, "List Users", icon="fa-user", label=_("List Users"),
            category="Security", category_icon="fa-cogs", category_label=_("Security"),
        )
        role_view = self.appbuilder.add_view(
            PlatformRoleView, "List Roles", icon="fa-user-gear", label=_("List Roles"), category="Security",
        )
        role_view.related_views = [self.user_view.__class__]

    # FAB asks the database once per permission check (~18 per page). Load the caller's
    # whole permission set once per request instead.
    def _request_cache(self):
        if not has_request_context():
            return None
        if "_perm_cache" not in g:
            g._perm_cache = {}
        return g._perm_cache

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
        rows = (
            self.session.query(Permission.name, ViewMenu.name)
            .select_from(PermissionView)
            .join(assoc_permissionview_role, PermissionView.id == assoc_permissionview_role.c.permission_view_id)
            .join(Role, Role.id == assoc_permissionview_role.c.role_id)
            .join(Permission, Permission.id == PermissionView.permission_id)
            .join(ViewMenu, ViewMenu.id == PermissionView.view_menu_id)
            .filter(Role.id.in_(role_ids))
            .all()
        )
        perms = {(p, v) for p, v in rows}
        if cache is not None:
            cache[key] = perms
        return perms

    def exist_permission_on_roles(self, view_name, permission_name, role_ids):
        return (permission_name, view_name) in self._role_permissions(role_ids)

    def is_item_public(self, permission_name, view_name):
        role = self.get_public_role()
        if role is None:
            return False
        return (permission_name, view_name) in self._role_permissions([role.id])

    def _get_user_permission_view_menus(self, user, permission_name, view_menus_name):
        roles = [self.get_public_role()] if user is None else self.get_user_roles(user)
        role_ids = [r.id for r in roles if r is not None]
        perms = self._role_permissions(role_ids) if role_ids else set()
        names = {v for p, v in perms if p == permission_name}
        if view_menus_name is not None:
            names &= set(view_menus_name)
        return names
