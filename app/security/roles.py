"""Roles declared in code (SPEC §6) and their idempotent sync (`flask --app app sync-roles`)."""
from flask import current_app
from flask_babel import lazy_gettext as _

from . import permissions as P

SCHOOL_ADMIN = "SchoolAdmin"
COLLEGE_ADMIN = "CollegeAdmin"
LAB_ADMIN = "LabAdmin"
SERVICE_USER = "ServiceUser"
PUBLIC = "Public"

ROLE_LABELS = {
    SCHOOL_ADMIN: _("School administrator"),
    COLLEGE_ADMIN: _("College administrator"),
    LAB_ADMIN: _("Laboratory administrator"),
    SERVICE_USER: _("Service user"),
    PUBLIC: _("Public visitor"),
}


def role_label(name):
    return ROLE_LABELS.get(name, name)


def _grant(perms, *views):
    return [(perm, view) for view in views for perm in perms]


def _menus(*names):
    return [(P.MENU_ACCESS, name) for name in names]


_ADMIN_SCREENS = (P.PLATFORM_VIEW, P.INSTRUMENT_VIEW, P.PERSON_VIEW, P.TRAINING_VIEW, P.FILING_VIEW)
_ADMIN_APIS = (P.PLATFORM_API, P.INSTRUMENT_API, P.PERSON_API, P.TRAINING_API, P.FILING_API)
_ADMIN_MENUS = _menus(
    P.MENU_ORG, P.MENU_RESOURCES, P.MENU_STAFF, P.MENU_UNITS, P.MENU_PLATFORMS,
    P.MENU_INSTRUMENTS, P.MENU_PEOPLE, P.MENU_TRAINING, P.MENU_FILINGS, P.MENU_FEE_STANDARDS,
    P.MENU_IOT, P.MENU_TERMINALS, P.MENU_REJECTIONS, P.MENU_INTERLOCK, P.MENU_REPORTS, P.MENU_REPORT_DOWNLOADS, P.MENU_YEAR_COSTS,
    P.MENU_TYPICAL_CASES,
)
# labs enter their instruments' yearly cost basis and typical cases, colleges check them; the school assesses the
# colleges (and records its own grade from the province): colleges only read theirs
_YEAR_WORK = _grant(P.CRUD, P.YEAR_COST_VIEW, P.TYPICAL_CASE_VIEW)
# colleges and labs tune their own terminals (type, power threshold) and see what was refused;
# registering and binding unknown terminals is the school's (it holds every permission)
_IOT_WORK = (_grant(P.READ + (P.CAN_EDIT,), P.TERMINAL_VIEW) + _grant(P.READ, P.REJECTION_VIEW)
             + _grant(P.READ, P.INTERLOCK_VIEW))
# labs draft and submit, colleges review: both work on the fee screens; the workflow service
# decides which step is whose (app/services/fees.py)
_FEE_WORK = _grant(P.CRUD, *P.FEE_SCREENS) + [(P.CAN_STEP, P.FEE_STANDARD_VIEW)]

# bookings: service users submit, follow and cancel their own; the lab side answers and cancels
_BOOKING_CUSTOMER = (_grant(P.API_READ + (P.CAN_POST, P.CAN_CANCEL), P.BOOKING_API)
                     + _grant(P.API_READ, P.USAGE_API, P.CHARGE_API) + _grant(P.READ, P.MY_USAGE_VIEW, P.MY_CHARGE_VIEW)
                     + list(P.STATEMENT_PAGES)
                     + _grant(P.READ + (P.CAN_EVALUATE,), P.MY_EVALUATION_VIEW)
                     + _grant(P.API_READ + (P.CAN_POST,), P.EVALUATION_API)
                     + _grant(P.API_READ, P.AUTHORISATION_API) + [(P.CAN_GET, P.AVAILABILITY_API)]
                     + _grant(P.READ + (P.CAN_CANCEL,) + P.OWN_USE_STEPS, P.MY_BOOKING_VIEW) + _grant(P.READ, P.MY_AUTHORISATION_VIEW)
                     + list(P.CALENDAR_PAGES) + [(P.CAN_BOOK, P.CALENDAR_VIEW), P.RENEW_MY_FEED]
                     + _grant(P.READ + (P.CAN_FILE,), P.MY_CONTRACT_VIEW)
                     + _menus(P.MENU_MY_SERVICES, P.MENU_FIND_FREE, P.MENU_MY_BOOKINGS, P.MENU_MY_AUTHORISATIONS,
                              P.MENU_MY_CONTRACTS, P.MENU_MY_USES, P.MENU_MY_CHARGES, P.MENU_MY_STATEMENTS,
                              P.MENU_MY_EVALUATIONS))
_BOOKING_LAB = (_grant(P.API_READ + (P.CAN_ANSWER, P.CAN_CANCEL, P.CAN_REGISTER_USE), P.BOOKING_API)
                + _grant(P.API_READ, P.USAGE_API) + _grant(P.API_READ + (P.CAN_SETTLE,), P.CHARGE_API)
                + _grant(P.READ + P.USE_STEPS, P.USAGE_VIEW) + _grant(P.READ + (P.CAN_STEP,), P.CHARGE_VIEW)
                + list(P.STATEMENT_PAGES)
                + _grant(P.READ + (P.CAN_REPLY,), P.EVALUATION_VIEW) + _grant(P.API_READ + (P.CAN_REPLY,), P.EVALUATION_API)
                + _grant(P.API_CRUD, P.AUTHORISATION_API) + [(P.CAN_GET, P.AVAILABILITY_API)]
                + _grant(P.READ + (P.CAN_ANSWER,), P.BOOKING_RECORD_VIEW) + _grant((P.CAN_LIST,), P.BOOKING_QUEUE_VIEW)
                + _grant(P.READ, P.TODAY_VIEW)
                + list(P.CALENDAR_PAGES) + [P.RENEW_INSTRUMENT_FEED]
                + _menus(P.MENU_BOOKING_QUEUE, P.MENU_TODAY, P.MENU_BOOKING_RECORDS, P.MENU_FIND_FREE, P.MENU_USES,
                         P.MENU_CHARGES, P.MENU_STATEMENTS, P.MENU_EVALUATIONS))

# labs keep who may operate their instruments and when they can be booked; colleges and the school
# keep the service users (approving registrations, creating on-campus users) and their organisations
_BOOKING_SETUP = _grant(P.CRUD, *P.BOOKING_SETUP_SCREENS) + _grant(P.CRUD + (P.CAN_FILE,), P.CONTRACT_VIEW)
_CUSTOMERS_READ = _grant(P.READ, P.SERVICE_USER_VIEW, P.CUSTOMER_ORG_VIEW)
_CUSTOMERS_WORK = (_grant(P.CRUD, P.SERVICE_USER_VIEW, P.CUSTOMER_ORG_VIEW)
                   + _grant(P.READ + (P.CAN_DECIDE,), P.REGISTRATION_QUEUE_VIEW))
_BOOKING_MENUS = _menus(P.MENU_BOOKING, P.MENU_AUTHORISATIONS, P.MENU_BOOKING_RULES, P.MENU_OPENING_HOURS,
                        P.MENU_CLOSURES, P.MENU_CONTRACTS, P.MENU_CUSTOMERS, P.MENU_SERVICE_USERS, P.MENU_CUSTOMER_ORGS)

# SchoolAdmin is FAB's AUTH_ROLE_ADMIN: it holds every permission, kept so by FAB and by sync — except
# the service users' own menu (it books nothing: an administrator's account has no bookings of its own).
NOT_THE_SCHOOLS = frozenset(_menus(P.MENU_MY_SERVICES, P.MENU_MY_STATEMENTS))
ROLE_CONFIGS = {
    COLLEGE_ADMIN: P.SELF_SERVICE + P.PUBLIC_PAGES
    + _grant(P.CRUD, P.UNIT_VIEW, *_ADMIN_SCREENS)
    + _grant(P.API_CRUD, P.UNIT_API, *_ADMIN_APIS)
    + _FEE_WORK
    + _IOT_WORK
    + list(P.REPORT_PAGES)
    + _YEAR_WORK
    + _grant(P.READ, P.ASSESSMENT_VIEW)
    + _BOOKING_LAB + [P.OPENAPI] + _BOOKING_SETUP + _CUSTOMERS_WORK
    + _ADMIN_MENUS + _BOOKING_MENUS
    + _menus(P.MENU_ASSESSMENTS, P.MENU_REGISTRATIONS),
    LAB_ADMIN: P.SELF_SERVICE + P.PUBLIC_PAGES
    + _grant(P.READ, P.UNIT_VIEW)
    + _grant(P.API_READ, P.UNIT_API)
    + _grant(P.CRUD, *_ADMIN_SCREENS)
    + _grant(P.API_CRUD, *_ADMIN_APIS)
    + _FEE_WORK
    + _IOT_WORK
    + list(P.REPORT_PAGES)
    + _YEAR_WORK
    + _BOOKING_LAB + [P.OPENAPI] + _BOOKING_SETUP + _CUSTOMERS_READ
    + _ADMIN_MENUS + _BOOKING_MENUS,
    SERVICE_USER: P.SELF_SERVICE + P.PUBLIC_PAGES + _BOOKING_CUSTOMER + [P.OPENAPI],
    PUBLIC: P.PUBLIC_PAGES + P.REGISTRATION_PAGE,
}


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
