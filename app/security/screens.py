"""Every screen, API and menu entry of the console, declared once (SPEC §6: roles declared in code).

An entry names the view (FAB's permission name for it: the class name, or its `class_permission_name`),
its place in the menu (name, label, icon, category), the permissions the view has, and which role holds
which of them. From this one table come:

- the registration of the views (`register`, called by app/views/__init__.py and by the security
  manager for FAB's own account screens), in the table's order, which is the menu's order;
- each role's grants (`grants_of`, hence `ROLE_CONFIGS` in roles.py): its permissions on the views,
  plus `menu_access` to every menu entry it is shown and to the categories holding them;
- the menus the school is not shown (`not_the_schools`): those meant for service users only.

A new screen is one entry here plus its view class. Menu and view names are ASCII (FAB makes
permission names of them); their Chinese comes from translations/zh.
"""
from dataclasses import dataclass, field

from flask_babel import lazy_gettext as _

from app.models.user import COLLEGE_ADMIN, LAB_ADMIN, PUBLIC, SERVICE_USER

from . import permissions as P

LAB_SIDE = (LAB_ADMIN, COLLEGE_ADMIN)  # an instrument's lab and college; the school holds every permission
SIGNED_IN = (LAB_ADMIN, COLLEGE_ADMIN, SERVICE_USER)
EVERYONE = (*SIGNED_IN, PUBLIC)


def to(roles, permissions) -> dict:
    """The same permissions for each of `roles`."""
    return {role: tuple(permissions) for role in roles}


@dataclass(frozen=True)
class Category:
    name: str
    label: object
    icon: str


@dataclass(frozen=True)
class Screen:
    """A view or API. `menu` None: registered without a menu entry (reached from other pages)."""

    view: str
    grants: dict = field(default_factory=dict)  # role → the permissions it holds on the view
    menu: str | None = None
    label: object = None
    icon: str | None = None
    category: Category | None = None
    href: str | None = None
    menu_roles: tuple | None = None  # who is shown the menu entry; default: every role granted the view
    permissions: tuple | None = None  # the view's permissions; default: FAB's, from its exposed methods
    methods: dict | None = None  # an API's method → the permission it needs (FAB's method_permission_name)
    api: bool = False
    fab_own: bool = False  # one of FAB's own account views: the security manager registers it

    @property
    def shown_to(self) -> tuple:
        return tuple(self.grants) if self.menu_roles is None else self.menu_roles


@dataclass(frozen=True)
class Link:
    """A menu entry that is a plain link (to a page another screen serves)."""

    menu: str
    label: object
    href: str
    icon: str
    category: Category | None
    shown_to: tuple


SECURITY = Category("Security", _("Security"), "fa-cogs")  # FAB's own category name; the school's only
RESOURCES = Category("Resources", _("Resources"), "fa-flask")
ORG = Category("Organisation", _("Organisation"), "fa-university")
STAFF = Category("Staff", _("Staff & training"), "fa-users")
IOT = Category("IoT", _("IoT"), "fa-wifi")
REPORTS = Category("Reports", _("Reports"), "fa-file-excel")
BOOKING = Category("Booking", _("Booking"), "fa-calendar-alt")
MINE = Category("My services", _("My services"), "fa-concierge-bell")
CUSTOMERS = Category("Customers", _("Customers"), "fa-handshake")
COMPLIANCE = Category("Compliance", _("Records and compliance"), "fa-clipboard-check")

# what every signed-in account needs for its own profile and password, and its messages
_OWN_FORMS = to(SIGNED_IN, (P.CAN_THIS_FORM_GET, P.CAN_THIS_FORM_POST))
_OPEN = to(EVERYONE, ())  # an entry of the public menu: its pages' permissions are granted on the view

SCREENS = (
    # FAB's account screens (the security manager registers them; the school's menu)
    Screen("UserInfoEditView", _OWN_FORMS, fab_own=True),
    Screen("ResetMyPasswordView", _OWN_FORMS, fab_own=True),
    Screen("PlatformUserView", to(SIGNED_IN, (P.CAN_USERINFO, P.RESET_MY_PASSWORD, P.USER_INFO_EDIT)),
           "List Users", _("List Users"), "fa-user", SECURITY, menu_roles=()),
    Screen("PlatformRoleView", {}, "List Roles", _("List Roles"), "fa-user-gear", SECURITY, permissions=P.READ),
    # the instruments, their filings and fee standards; labs draft fees and colleges review them, the
    # workflow service decides whose step it is (app/services/catalogue/fees.py)
    Screen("InstrumentView", to(LAB_SIDE, P.CRUD), "Instruments", _("Instruments"), "fa-microscope", RESOURCES),
    Screen("UnsuitableFilingView", to(LAB_SIDE, P.CRUD), "Unsuitable filings", _("Unsuitable filings"), "fa-file-alt",
           RESOURCES),
    Screen("FeeStandardView", to(LAB_SIDE, (*P.CRUD, P.CAN_STEP)), "Fee standards", _("Fee standards"), "fa-yen-sign",
           RESOURCES),
    Screen("FeeItemView", to(LAB_SIDE, P.CRUD)),
    Screen("FeePriceView", to(LAB_SIDE, P.CRUD)),
    Screen("FeeComponentView", to(LAB_SIDE, P.CRUD)),
    # units: a college keeps its labs, a lab reads them
    Screen("UnitView", {COLLEGE_ADMIN: P.CRUD, LAB_ADMIN: P.READ}, "Units", _("Units"), "fa-sitemap", ORG),
    Screen("InnovationPlatformView", to(LAB_SIDE, P.CRUD), "Innovation platforms", _("Innovation platforms"),
           "fa-building", ORG),
    Screen("PersonView", to(LAB_SIDE, P.CRUD), "People", _("People"), "fa-user", STAFF),
    Screen("TrainingSessionView", to(LAB_SIDE, P.CRUD), "Training", _("Training"), "fa-chalkboard-teacher", STAFF),
    # colleges and labs tune their own terminals and see what was refused; registering and binding unknown
    # terminals is the school's
    Screen("IotTerminalView", to(LAB_SIDE, (*P.READ, P.CAN_EDIT)), "IoT terminals", _("IoT terminals"),
           "fa-satellite-dish", IOT),
    Screen("IotRejectionView", to(LAB_SIDE, P.READ), "Refused IoT messages", _("Refused IoT messages"), "fa-ban", IOT,
           permissions=P.READ),
    Screen("InterlockCommandView", to(LAB_SIDE, P.READ), "Plug commands", _("Plug commands"), "fa-plug", IOT,
           permissions=P.READ),  # written by the usage service, never by hand
    # marking a filing uploaded to the province is the school's
    Screen("ReportsView", to(LAB_SIDE, (P.CAN_INDEX, P.CAN_DOWNLOAD, P.CAN_EXPORT, P.CAN_EXPORT_STATUS,
                                      P.CAN_EXPORT_FILE)),
           "Report downloads", _("Report downloads"), "fa-file-excel", REPORTS),
    # labs enter their yearly cost basis and typical cases, colleges check them; the school assesses the
    # colleges, which only read theirs
    Screen("InstrumentYearCostView", to(LAB_SIDE, P.CRUD), "Annual cost basis", _("Annual cost basis"), "fa-coins",
           REPORTS),
    Screen("TypicalCaseView", to(LAB_SIDE, P.CRUD), "Typical cases", _("Typical cases"), "fa-star", REPORTS),
    Screen("AssessmentView", {COLLEGE_ADMIN: P.READ}, "Annual assessments", _("Annual assessments"), "fa-award",
           REPORTS),
    Screen("TaskFailureView", {}, "Background task failures", _("Background task failures"),
           "fa-exclamation-triangle", SECURITY, permissions=P.READ),  # the school's: background work that failed
    # 清查建账: the school imports the asset ledger and names its departments and columns; every administrator
    # reconciles its own scope with it
    Screen("LedgerImportView", {}, "Ledger import", _("Asset ledger import"), "fa-file-import", COMPLIANCE,
           permissions=P.LEDGER_IMPORT),
    Screen("LedgerUnitNameView", {}, "Ledger department names", _("Ledger department names"), "fa-tags", COMPLIANCE),
    Screen("LedgerMappingView", {}, "Ledger column mappings", _("Ledger column mappings"), "fa-columns", COMPLIANCE,
           permissions=(*P.READ, P.CAN_DELETE)),
    Screen("ReconciliationView", to(LAB_SIDE, (P.CAN_INDEX, P.CAN_ACCEPT, P.CAN_DRAFT, P.CAN_CALL)), "Reconciliation",
           _("Reconciliation with the asset ledger"), "fa-balance-scale", COMPLIANCE,
           permissions=(P.CAN_INDEX, P.CAN_ACCEPT, P.CAN_DRAFT, P.CAN_CALL)),
    Screen("ContactCallView", to(LAB_SIDE, P.READ), "Contact calls", _("Calls to published contacts"), "fa-phone",
           COMPLIANCE, permissions=P.READ),  # recorded from the workspace, never edited
    Screen("SelfCheckView", {LAB_ADMIN: P.SELF_CHECK, COLLEGE_ADMIN: (*P.SELF_CHECK, *P.SELF_CHECK_REVIEW)},
           "Self-checks", _("Monthly self-check"), "fa-clipboard-check", COMPLIANCE,
           permissions=(*P.SELF_CHECK, *P.SELF_CHECK_REVIEW)),
    # the lab side's booking work
    Screen("BookingQueueView", to(LAB_SIDE, (P.CAN_LIST,)), "Bookings to answer", _("Bookings to answer"), "fa-inbox",
           BOOKING, permissions=(P.CAN_LIST,)),
    Screen("TodayScheduleView", to(LAB_SIDE, P.READ), "Today's schedule", _("Today's schedule"), "fa-calendar-day",
           BOOKING, permissions=P.READ),
    Screen("BookingRecordView", to(LAB_SIDE, (*P.READ, P.CAN_ANSWER)), "Booking records", _("Booking records"),
           "fa-list-alt", BOOKING, permissions=(*P.READ, P.CAN_ANSWER)),
    Screen("UsageRecordView", to(LAB_SIDE, (*P.READ, *P.USE_STEPS)), "Uses", _("Uses"), "fa-stopwatch", BOOKING,
           permissions=(*P.READ, *P.USE_STEPS)),
    Screen("ChargeView", to(LAB_SIDE, (*P.READ, P.CAN_STEP)), "Charges", _("Charges"), "fa-file-invoice-dollar",
           BOOKING, permissions=(*P.READ, P.CAN_STEP)),
    # a lab's statements, and a service user's own (its menu link below)
    Screen("StatementView", to(SIGNED_IN, (P.CAN_INDEX, P.CAN_DOWNLOAD)), "Statements", _("Statements"),
           "fa-file-invoice", BOOKING, href="/statements/", menu_roles=LAB_SIDE),
    Screen("EvaluationView", to(LAB_SIDE, (*P.READ, P.CAN_REPLY)), "Evaluations", _("Evaluations"),
           "fa-star-half-alt", BOOKING, permissions=(*P.READ, P.CAN_REPLY)),
    # labs keep who may operate their instruments and when they can be booked
    Screen("AuthorisationView", to(LAB_SIDE, P.CRUD), "Authorisations", _("Authorisations to operate"), "fa-id-badge",
           BOOKING),
    Screen("BookingRuleView", to(LAB_SIDE, P.CRUD), "Booking rules", _("Booking rules"), "fa-sliders-h", BOOKING),
    Screen("OpeningHoursView", to(LAB_SIDE, P.CRUD), "Opening hours", _("Opening hours"), "fa-clock", BOOKING),
    Screen("ClosureView", to(LAB_SIDE, P.CRUD), "Closures", _("Closures"), "fa-tools", BOOKING),
    Screen("ServiceContractView", to(LAB_SIDE, (*P.CRUD, P.CAN_FILE)), "Service contracts", _("Service contracts"),
           "fa-file-signature", BOOKING, permissions=(*P.CRUD, P.CAN_FILE)),
    # the lab side and the service users both look for a free instrument; only service users book
    Screen("BookingCalendarView", {**to(LAB_SIDE, P.CALENDAR_PAGES), SERVICE_USER: (*P.CALENDAR_PAGES, P.CAN_BOOK)},
           "Find a free instrument", _("Find a free instrument"), "fa-search", BOOKING, href="/bookings/search",
           menu_roles=LAB_SIDE),
    # a calendar subscription is read by Outlook or a phone, which cannot sign in: its secret URL grants it
    Screen("CalendarFeedView", {PUBLIC: P.FEEDS, SERVICE_USER: (*P.FEEDS, P.CAN_RENEW_MINE),
                                **to(LAB_SIDE, (*P.FEEDS, P.CAN_RENEW_INSTRUMENT))}),
    Screen("MessageView", to(SIGNED_IN, (*P.READ, P.CAN_READ_ALL)), permissions=(*P.READ, P.CAN_READ_ALL)),
    # a service user's own
    Screen("MyBookingView", {SERVICE_USER: (*P.READ, P.CAN_CANCEL, *P.OWN_USE_STEPS)}, "My bookings",
           _("My bookings"), "fa-calendar-check", MINE, permissions=(*P.READ, P.CAN_CANCEL, *P.OWN_USE_STEPS)),
    Screen("MyAuthorisationView", {SERVICE_USER: P.READ}, "My authorisations", _("My authorisations to operate"),
           "fa-id-badge", MINE, permissions=P.READ),
    Screen("MyUsageView", {SERVICE_USER: P.READ}, "My uses", _("My uses"), "fa-stopwatch", MINE,
           permissions=P.READ),
    Screen("MyChargeView", {SERVICE_USER: P.READ}, "My charges", _("My charges"), "fa-file-invoice-dollar", MINE,
           permissions=P.READ),
    Link("My statements", _("My statements"), "/statements/", "fa-file-invoice", MINE, (SERVICE_USER,)),
    Screen("MyEvaluationView", {SERVICE_USER: (*P.READ, P.CAN_EVALUATE)}, "My evaluations", _("My evaluations"),
           "fa-star-half-alt", MINE, permissions=(*P.READ, P.CAN_EVALUATE)),
    Screen("MyContractView", {SERVICE_USER: (*P.READ, P.CAN_FILE)}, "My contracts", _("My organisation's contracts"),
           "fa-file-signature", MINE, permissions=(*P.READ, P.CAN_FILE)),
    Link("Find a free instrument", _("Find a free instrument"), "/bookings/search", "fa-search", MINE,
         (SERVICE_USER,)),
    # colleges and the school keep the service users (approving registrations) and their organisations
    Screen("ServiceUserView", {COLLEGE_ADMIN: P.CRUD, LAB_ADMIN: P.READ}, "Service users", _("Service users"),
           "fa-user-tag", CUSTOMERS),
    Screen("RegistrationQueueView", {COLLEGE_ADMIN: (*P.READ, P.CAN_DECIDE)}, "Registrations",
           _("Registrations to approve"), "fa-user-clock", CUSTOMERS, permissions=(*P.READ, P.CAN_DECIDE)),
    Screen("CustomerOrgView", {COLLEGE_ADMIN: P.CRUD, LAB_ADMIN: P.READ}, "Customer organisations",
           _("Customer organisations"), "fa-building", CUSTOMERS),
    # outside users register themselves, then wait for an administrator's approval
    Screen("RegistrationView", {PUBLIC: (P.CAN_FORM,)}),
    # what anonymous visitors (and so everyone) may open: the published fee schedules, and a PI's approval
    # page, which its signed URL grants
    Screen("PublicFeesView", to(EVERYONE, (P.CAN_FEES, P.CAN_INSTRUMENT, P.CAN_DOWNLOAD)), "Fee schedules",
           _("Fee schedules"), "fa-yen-sign"),
    Screen("PiApprovalView", to(EVERYONE, (P.CAN_DECIDE,))),
    # the REST APIs (FAB's generic ones need no `methods`)
    Screen("UnitApi", {COLLEGE_ADMIN: P.API_CRUD, LAB_ADMIN: P.API_READ}, api=True),
    Screen("InnovationPlatformApi", to(LAB_SIDE, P.API_CRUD), api=True),
    Screen("InstrumentApi", to(LAB_SIDE, P.API_CRUD), api=True),
    Screen("PersonApi", to(LAB_SIDE, P.API_CRUD), api=True),
    Screen("TrainingSessionApi", to(LAB_SIDE, P.API_CRUD), api=True),
    Screen("UnsuitableFilingApi", to(LAB_SIDE, P.API_CRUD), api=True),
    # service users submit, follow and cancel their own bookings; the lab side answers, cancels, registers
    Screen("BookingApi", {SERVICE_USER: (*P.API_READ, P.CAN_POST, P.CAN_CANCEL),
                          **to(LAB_SIDE, (*P.API_READ, P.CAN_ANSWER, P.CAN_CANCEL, P.CAN_REGISTER_USE))},
           api=True, methods={"get": P.CAN_GET, "get_list": P.CAN_GET, "info": P.CAN_INFO, "post": P.CAN_POST,
                              "schedule": P.CAN_ANSWER, "delay": P.CAN_ANSWER, "refuse": P.CAN_ANSWER,
                              "cancel": P.CAN_CANCEL, "complete": P.CAN_REGISTER_USE}),
    Screen("AuthorisationApi", {SERVICE_USER: P.API_READ, **to(LAB_SIDE, P.API_CRUD)}, api=True),
    Screen("AvailabilityApi", to(SIGNED_IN, (P.CAN_GET,)), api=True,
           methods={"search": P.CAN_GET, "instrument": P.CAN_GET}),
    Screen("UsageApi", to(SIGNED_IN, P.API_READ), api=True),
    Screen("ChargeApi", {SERVICE_USER: P.API_READ, **to(LAB_SIDE, (*P.API_READ, P.CAN_SETTLE))}, api=True,
           methods={"get": P.CAN_GET, "get_list": P.CAN_GET, "info": P.CAN_INFO, "confirm": P.CAN_SETTLE,
                    "invoice": P.CAN_SETTLE, "settle": P.CAN_SETTLE, "credit": P.CAN_SETTLE, "waive": P.CAN_SETTLE}),
    Screen("EvaluationApi", {SERVICE_USER: (*P.API_READ, P.CAN_POST), **to(LAB_SIDE, (*P.API_READ, P.CAN_REPLY))},
           api=True, methods={"get": P.CAN_GET, "get_list": P.CAN_GET, "info": P.CAN_INFO, "post": P.CAN_POST,
                              "reply": P.CAN_REPLY}),
    Screen("StatementApi", to(SIGNED_IN, (P.CAN_GET,)), api=True, methods={"statement": P.CAN_GET}),
    Screen("ReconciliationApi", to(LAB_SIDE, (P.CAN_GET, P.CAN_POST)), api=True,
           methods={"listing": P.CAN_GET, "accept": P.CAN_POST, "draft": P.CAN_POST}),
    Screen("ComplianceApi", to(LAB_SIDE, (P.CAN_GET,)), api=True, methods={"deadlines": P.CAN_GET}),
    # FAB's OpenAPI document at /api/v1/_openapi of every API above
    Screen("OpenApi", to(SIGNED_IN, (P.CAN_GET,)), api=True),
)

BY_VIEW = {entry.view: entry for entry in SCREENS if isinstance(entry, Screen)}


def _menu_names():
    """(menu name, the roles shown it) of every menu entry and its category, in the table's order."""
    for entry in SCREENS:
        if isinstance(entry, Link) or entry.menu:
            if entry.category:
                yield entry.category.name, entry.shown_to
            yield entry.menu, entry.shown_to


def grants_of(role) -> list:
    """The role's (permission, view) pairs: what the table grants it, and the menu entries it is shown."""
    pairs = [(permission, entry.view) for entry in SCREENS if isinstance(entry, Screen)
             for permission in entry.grants.get(role, ())]
    menus = dict.fromkeys(name for name, roles in _menu_names() if role in roles)  # once each, in order
    return pairs + [(P.MENU_ACCESS, name) for name in menus]


def not_the_schools() -> frozenset:
    """The menu entries meant for service users only: the school (which holds every permission) is not shown
    them — an administrator's account books nothing of its own."""
    shown = {}
    for name, roles in _menu_names():
        shown.setdefault(name, set()).update(roles)
    return frozenset((P.MENU_ACCESS, name) for name, roles in shown.items() if roles == {SERVICE_USER})


def method_permissions(entry: Screen) -> dict:
    """FAB's method_permission_name: a method → its permission without FAB's `can_` prefix."""
    return {method: P.method_name(permission) for method, permission in entry.methods.items()}


def register(appbuilder, views, links=True):
    """Register `views` (classes) by the table, in its order, with their menu entries and permissions, and the
    table's links (`links`; not in the security manager's earlier call). Returns the instances by name."""
    by_name = {(cls.class_permission_name or cls.__name__): cls for cls in views}
    unknown = set(by_name) - set(BY_VIEW)
    if unknown:
        raise LookupError(f"views missing from app/security/screens.py: {sorted(unknown)}")
    registered = {}
    for entry in SCREENS:
        if isinstance(entry, Link):
            if links:
                appbuilder.add_link(entry.menu, label=entry.label, href=entry.href, icon=entry.icon,
                                    category=entry.category.name)
            continue
        cls = by_name.get(entry.view)
        if cls is None:
            continue
        if entry.permissions is not None:
            cls.base_permissions = list(entry.permissions)
        if entry.methods is not None:
            cls.method_permission_name = method_permissions(entry)
        if entry.api:
            registered[entry.view] = appbuilder.add_api(cls)
        elif entry.menu:
            category = entry.category
            registered[entry.view] = appbuilder.add_view(
                cls, entry.menu, label=entry.label, icon=entry.icon, href=entry.href or "",
                category=category.name if category else "", category_label=category.label if category else "",
                category_icon=category.icon if category else "")
        else:
            registered[entry.view] = appbuilder.add_view_no_menu(cls)
    return registered
