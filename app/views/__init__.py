"""Menu and view registration: declarations only."""
from flask import current_app

from .openapi import PlatformOpenApi

from app.security import screens

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
from .list_args import guard_list_args
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
from .ledger import LedgerImportView, LedgerMappingView, LedgerUnitNameView
from .reconciliation import ContactCallView, ReconciliationView
from .self_checks import SelfCheckView
from .compliance_api import ComplianceApi, ReconciliationApi


VIEWS = (
    InstrumentView, UnsuitableFilingView, FeeStandardView, FeeItemView, FeePriceView, FeeComponentView,
    UnitView, InnovationPlatformView, PersonView, TrainingSessionView,
    IotTerminalView, IotRejectionView, InterlockCommandView,
    ReportsView, InstrumentYearCostView, TypicalCaseView, AssessmentView, TaskFailureView,
    LedgerImportView, LedgerUnitNameView, LedgerMappingView, ReconciliationView, ContactCallView, SelfCheckView,
    BookingQueueView, TodayScheduleView, BookingRecordView, UsageRecordView, ChargeView, StatementView, EvaluationView,
    AuthorisationView, BookingRuleView, OpeningHoursView, ClosureView, ServiceContractView, BookingCalendarView,
    CalendarFeedView, MessageView,
    MyBookingView, MyAuthorisationView, MyUsageView, MyChargeView, MyEvaluationView, MyContractView,
    ServiceUserView, RegistrationQueueView, CustomerOrgView, RegistrationView, PublicFeesView, PiApprovalView,
    UnitApi, InnovationPlatformApi, InstrumentApi, PersonApi, TrainingSessionApi, UnsuitableFilingApi,
    BookingApi, AuthorisationApi, AvailabilityApi, UsageApi, ChargeApi, EvaluationApi, StatementApi,
    ReconciliationApi, ComplianceApi,
    # FAB's OpenAPI document (/api/v1/_openapi) of every API, without its Swagger UI (which loads its
    # scripts from a CDN)
    PlatformOpenApi,
)


def register(appbuilder):
    """Every view of VIEWS where the screen table (app/security/screens.py) places it."""
    # a unit's page lists what it holds; an instrument's page its filings (all scoped)
    UnitView.related_views = [InstrumentView, PersonView, InnovationPlatformView, TrainingSessionView]
    InstrumentView.related_views = [UnsuitableFilingView]
    registered = screens.register(appbuilder, VIEWS)
    if appbuilder.sm.is_auth_limited:  # registering is rate-limited per client address
        appbuilder.sm.limiter.limit(current_app.config["REGISTRATION_RATE_LIMIT"], methods=["POST"])(
            registered["RegistrationView"].blueprint)
    # one guard of every list's and _info's Rison query (FAB's decorator crashes on some)
    current_app.before_request(api_fields.guard_query)
    current_app.before_request(guard_list_args)  # and of every screen's page, page size and order
