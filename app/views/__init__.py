"""Menu and view registration: declarations only."""
from flask import current_app
from .openapi import PlatformOpenApi
from flask_babel import lazy_gettext as _

from app.security import permissions as P

from .instruments import InstrumentApi, InstrumentView, UnsuitableFilingApi, UnsuitableFilingView
from .org import InnovationPlatformApi, InnovationPlatformView, UnitApi, UnitView
from .people import PersonApi, PersonView, TrainingSessionApi, TrainingSessionView
from .fees import FeeComponentView, FeeItemView, FeePriceView, FeeStandardView
from .iot import InterlockCommandView, IotRejectionView, IotTerminalView
from .pi_approval import PiApprovalView
from .public import PublicFeesView
from .reports import ReportsView
from .annual_records import AssessmentView, InstrumentYearCostView, TypicalCaseView
from .system import TaskFailureView
from . import api_fields
from .base import guard_list_args
from .availability_api import AuthorisationApi, AvailabilityApi
from .booking_api import BookingApi
from .settlement_api import ChargeApi, UsageApi
from .settlement_screens import ChargeView, MyChargeView, MyUsageView, UsageRecordView
from .statements import StatementApi, StatementView
from .evaluations import EvaluationApi, EvaluationView, MyEvaluationView
from .booking_admin import AuthorisationView, BookingRuleView, ClosureView, OpeningHoursView
from .booking_calendar import BookingCalendarView
from .bookings import BookingQueueView, BookingRecordView, MyAuthorisationView, MyBookingView, TodayScheduleView
from .contracts import MyContractView, ServiceContractView
from .feeds import CalendarFeedView
from .messages import MessageView
from .customers import CustomerOrgView, RegistrationQueueView, RegistrationView, ServiceUserView


def register(appbuilder):
    # a unit's page lists what it holds; an instrument's page its filings (all scoped)
    UnitView.related_views = [InstrumentView, PersonView, InnovationPlatformView, TrainingSessionView]
    InstrumentView.related_views = [UnsuitableFilingView]
    org, resources, staff = _("Organisation"), _("Resources"), _("Staff & training")
    appbuilder.add_view(InstrumentView, P.MENU_INSTRUMENTS, label=_("Instruments"), icon="fa-microscope",
                        category=P.MENU_RESOURCES, category_label=resources, category_icon="fa-flask")
    appbuilder.add_view(UnsuitableFilingView, P.MENU_FILINGS, label=_("Unsuitable filings"), icon="fa-file-alt",
                        category=P.MENU_RESOURCES)
    appbuilder.add_view(FeeStandardView, P.MENU_FEE_STANDARDS, label=_("Fee standards"), icon="fa-yen-sign",
                        category=P.MENU_RESOURCES)
    for view in (FeeItemView, FeePriceView, FeeComponentView):
        appbuilder.add_view_no_menu(view)
    appbuilder.add_view(UnitView, P.MENU_UNITS, label=_("Units"), icon="fa-sitemap",
                        category=P.MENU_ORG, category_label=org, category_icon="fa-university")
    appbuilder.add_view(InnovationPlatformView, P.MENU_PLATFORMS, label=_("Innovation platforms"), icon="fa-building",
                        category=P.MENU_ORG)
    appbuilder.add_view(PersonView, P.MENU_PEOPLE, label=_("People"), icon="fa-user",
                        category=P.MENU_STAFF, category_label=staff, category_icon="fa-users")
    appbuilder.add_view(TrainingSessionView, P.MENU_TRAINING, label=_("Training"), icon="fa-chalkboard-teacher",
                        category=P.MENU_STAFF)
    iot = _("IoT")
    appbuilder.add_view(IotTerminalView, P.MENU_TERMINALS, label=_("IoT terminals"), icon="fa-satellite-dish",
                        category=P.MENU_IOT, category_label=iot, category_icon="fa-wifi")
    appbuilder.add_view(IotRejectionView, P.MENU_REJECTIONS, label=_("Refused IoT messages"), icon="fa-ban",
                        category=P.MENU_IOT)
    appbuilder.add_view(InterlockCommandView, P.MENU_INTERLOCK, label=_("Plug commands"), icon="fa-plug",
                        category=P.MENU_IOT)
    reports = _("Reports")
    appbuilder.add_view(ReportsView, P.MENU_REPORT_DOWNLOADS, label=_("Report downloads"), icon="fa-file-excel",
                        category=P.MENU_REPORTS, category_label=reports, category_icon="fa-file-excel")
    appbuilder.add_view(InstrumentYearCostView, P.MENU_YEAR_COSTS, label=_("Annual cost basis"), icon="fa-coins",
                        category=P.MENU_REPORTS)
    appbuilder.add_view(TypicalCaseView, P.MENU_TYPICAL_CASES, label=_("Typical cases"), icon="fa-star",
                        category=P.MENU_REPORTS)
    appbuilder.add_view(AssessmentView, P.MENU_ASSESSMENTS, label=_("Annual assessments"), icon="fa-award",
                        category=P.MENU_REPORTS)
    # the school's (it holds every permission): background work that failed
    appbuilder.add_view(TaskFailureView, P.MENU_TASK_FAILURES, label=_("Background task failures"),
                        icon="fa-exclamation-triangle", category=P.MENU_SECURITY)
    booking = _("Booking")
    appbuilder.add_view(BookingQueueView, P.MENU_BOOKING_QUEUE, label=_("Bookings to answer"), icon="fa-inbox",
                        category=P.MENU_BOOKING, category_label=booking, category_icon="fa-calendar-alt")
    appbuilder.add_view(TodayScheduleView, P.MENU_TODAY, label=_("Today's schedule"), icon="fa-calendar-day",
                        category=P.MENU_BOOKING)
    appbuilder.add_view(BookingRecordView, P.MENU_BOOKING_RECORDS, label=_("Booking records"), icon="fa-list-alt",
                        category=P.MENU_BOOKING)
    appbuilder.add_view(UsageRecordView, P.MENU_USES, label=_("Uses"), icon="fa-stopwatch", category=P.MENU_BOOKING)
    appbuilder.add_view(ChargeView, P.MENU_CHARGES, label=_("Charges"), icon="fa-file-invoice-dollar",
                        category=P.MENU_BOOKING)
    appbuilder.add_view(StatementView, P.MENU_STATEMENTS, label=_("Statements"), icon="fa-file-invoice",
                        href="/statements/", category=P.MENU_BOOKING)
    appbuilder.add_view(EvaluationView, P.MENU_EVALUATIONS, label=_("Evaluations"), icon="fa-star-half-alt",
                        category=P.MENU_BOOKING)
    appbuilder.add_view(AuthorisationView, P.MENU_AUTHORISATIONS, label=_("Authorisations to operate"), icon="fa-id-badge",
                        category=P.MENU_BOOKING)
    appbuilder.add_view(BookingRuleView, P.MENU_BOOKING_RULES, label=_("Booking rules"), icon="fa-sliders-h",
                        category=P.MENU_BOOKING)
    appbuilder.add_view(OpeningHoursView, P.MENU_OPENING_HOURS, label=_("Opening hours"), icon="fa-clock",
                        category=P.MENU_BOOKING)
    appbuilder.add_view(ClosureView, P.MENU_CLOSURES, label=_("Closures"), icon="fa-tools", category=P.MENU_BOOKING)
    appbuilder.add_view(ServiceContractView, P.MENU_CONTRACTS, label=_("Service contracts"), icon="fa-file-signature",
                        category=P.MENU_BOOKING)
    # the lab side and the service users both look for a free instrument; only service users book
    appbuilder.add_view(BookingCalendarView, P.MENU_FIND_FREE, label=_("Find a free instrument"), icon="fa-search",
                        href="/bookings/search", category=P.MENU_BOOKING)
    appbuilder.add_view_no_menu(CalendarFeedView)
    appbuilder.add_view_no_menu(MessageView)  # reached from the navbar, with its unread count
    mine = _("My services")
    appbuilder.add_view(MyBookingView, P.MENU_MY_BOOKINGS, label=_("My bookings"), icon="fa-calendar-check",
                        category=P.MENU_MY_SERVICES, category_label=mine, category_icon="fa-concierge-bell")
    appbuilder.add_view(MyAuthorisationView, P.MENU_MY_AUTHORISATIONS, label=_("My authorisations to operate"),
                        icon="fa-id-badge", category=P.MENU_MY_SERVICES)
    appbuilder.add_view(MyUsageView, P.MENU_MY_USES, label=_("My uses"), icon="fa-stopwatch", category=P.MENU_MY_SERVICES)
    appbuilder.add_view(MyChargeView, P.MENU_MY_CHARGES, label=_("My charges"), icon="fa-file-invoice-dollar",
                        category=P.MENU_MY_SERVICES)
    appbuilder.add_link(P.MENU_MY_STATEMENTS, label=_("My statements"), href="/statements/", icon="fa-file-invoice",
                        category=P.MENU_MY_SERVICES)
    appbuilder.add_view(MyEvaluationView, P.MENU_MY_EVALUATIONS, label=_("My evaluations"), icon="fa-star-half-alt",
                        category=P.MENU_MY_SERVICES)
    appbuilder.add_view(MyContractView, P.MENU_MY_CONTRACTS, label=_("My organisation's contracts"),
                        icon="fa-file-signature", category=P.MENU_MY_SERVICES)
    appbuilder.add_link(P.MENU_FIND_FREE, label=_("Find a free instrument"), href="/bookings/search", icon="fa-search",
                        category=P.MENU_MY_SERVICES)
    customers = _("Customers")
    appbuilder.add_view(ServiceUserView, P.MENU_SERVICE_USERS, label=_("Service users"), icon="fa-user-tag",
                        category=P.MENU_CUSTOMERS, category_label=customers, category_icon="fa-handshake")
    appbuilder.add_view(RegistrationQueueView, P.MENU_REGISTRATIONS, label=_("Registrations to approve"),
                        icon="fa-user-clock", category=P.MENU_CUSTOMERS)
    appbuilder.add_view(CustomerOrgView, P.MENU_CUSTOMER_ORGS, label=_("Customer organisations"), icon="fa-building",
                        category=P.MENU_CUSTOMERS)
    registration = appbuilder.add_view_no_menu(RegistrationView)
    if appbuilder.sm.is_auth_limited:  # registering is rate-limited per client address
        appbuilder.sm.limiter.limit(current_app.config["REGISTRATION_RATE_LIMIT"], methods=["POST"])(
            registration.blueprint)
    appbuilder.add_view(PublicFeesView, P.MENU_PUBLIC_FEES, label=_("Fee schedules"), icon="fa-yen-sign")
    appbuilder.add_view_no_menu(PiApprovalView)
    for api in (UnitApi, InnovationPlatformApi, InstrumentApi, PersonApi, TrainingSessionApi, UnsuitableFilingApi,
                BookingApi, AuthorisationApi, AvailabilityApi, UsageApi, ChargeApi, EvaluationApi, StatementApi):
        appbuilder.add_api(api)
    # FAB's OpenAPI document (/api/v1/_openapi) of every API above, without its Swagger UI (which
    # loads its scripts from a CDN)
    appbuilder.add_api(PlatformOpenApi)
    # one guard of every list's and _info's Rison query (FAB's decorator crashes on some)
    current_app.before_request(api_fields.guard_query)
    current_app.before_request(guard_list_args)  # and of every screen's page, page size and order
