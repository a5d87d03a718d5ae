"""Roles declared in code (SPEC §6) and their idempotent sync (`flask --app app sync-roles`)."""
from flask import current_app
from flask_babel import lazy_gettext as _

from app.models.user import COLLEGE_ADMIN, LAB_ADMIN, PUBLIC, SCHOOL_ADMIN, SERVICE_USER  # noqa: F401

from . import screens

ROLE_LABELS = {
    SCHOOL_ADMIN: _("School administrator"),
    COLLEGE_ADMIN: _("College administrator"),
    LAB_ADMIN: _("Laboratory administrator"),
    SERVICE_USER: _("Service user"),
    PUBLIC: _("Public visitor"),
}


def role_label(name):
    return ROLE_LABELS.get(name, name)


# SchoolAdmin is FAB's AUTH_ROLE_ADMIN: it holds every permission, kept so by FAB and by sync — except the
# menus meant for service users only
NOT_THE_SCHOOLS = screens.not_the_schools()
ROLE_CONFIGS = {role: screens.grants_of(role) for role in (COLLEGE_ADMIN, LAB_ADMIN, SERVICE_USER, PUBLIC)}


def sync_roles(sm=None):
    """Create or update every declared role to exactly its declared permissions.

    Also writes FAB's permission/view-menu rows for every registered view first, so it is
    the one command that brings a database's security tables in line with the code.
    """
    appbuilder = current_app.appbuilder
    sm = sm or appbuilder.sm
    session = sm.session
    for name in (SCHOOL_ADMIN, *ROLE_CONFIGS):
        if sm.find_role(name) is None:
            sm.add_role(name)
    appbuilder.add_permissions(update_perms=True)
    admin = sm.find_role(SCHOOL_ADMIN) or sm.add_role(SCHOOL_ADMIN)
    admin.permissions = [pvm for pvm in session.query(sm.permissionview_model).all()
                         if (pvm.permission.name, pvm.view_menu.name) not in NOT_THE_SCHOOLS]
    for name, grants in ROLE_CONFIGS.items():
        role = sm.find_role(name) or sm.add_role(name)
        wanted = []
        for perm, view in grants:
            pvm = sm.add_permission_view_menu(perm, view)
            if pvm is not None:
                wanted.append(pvm)
        role.permissions = wanted
    session.commit()
    return {name: len(grants) for name, grants in ROLE_CONFIGS.items()}
