"""Permission constants: the only place permission and view-menu names are spelled out.

View and menu names are ASCII because FAB turns them into permission names; their Chinese
labels come from translations/zh.
"""
# FAB permission names
CAN_LIST = "can_list"
CAN_SHOW = "can_show"
CAN_ADD = "can_add"
CAN_EDIT = "can_edit"
CAN_DELETE = "can_delete"
CAN_GET = "can_get"
CAN_POST = "can_post"
CAN_PUT = "can_put"
CAN_INFO = "can_info"
CAN_STEP = "can_step"  # a fee-standard workflow step; the service decides whose step it is
MENU_ACCESS = "menu_access"

READ = (CAN_LIST, CAN_SHOW)
CRUD = (CAN_LIST, CAN_SHOW, CAN_ADD, CAN_EDIT, CAN_DELETE)
API_READ = (CAN_GET, CAN_INFO)
API_CRUD = (CAN_GET, CAN_INFO, CAN_POST, CAN_PUT, CAN_DELETE)

# views (class names) and their REST APIs
UNIT_VIEW, UNIT_API = "UnitView", "UnitApi"
PLATFORM_VIEW, PLATFORM_API = "InnovationPlatformView", "InnovationPlatformApi"
INSTRUMENT_VIEW, INSTRUMENT_API = "InstrumentView", "InstrumentApi"
PERSON_VIEW, PERSON_API = "PersonView", "PersonApi"
TRAINING_VIEW, TRAINING_API = "TrainingSessionView", "TrainingSessionApi"
FILING_VIEW, FILING_API = "UnsuitableFilingView", "UnsuitableFilingApi"

TERMINAL_VIEW, REJECTION_VIEW = "IotTerminalView", "IotRejectionView"
INTERLOCK_VIEW = "InterlockCommandView"
PUBLIC_VIEW = "PublicFeesView"
REPORTS_VIEW = "ReportsView"
YEAR_COST_VIEW, ASSESSMENT_VIEW = "InstrumentYearCostView", "AssessmentView"
TYPICAL_CASE_VIEW = "TypicalCaseView"
TASK_FAILURE_VIEW = "TaskFailureView"
BOOKING_API = "BookingApi"
USAGE_API, CHARGE_API = "UsageApi", "ChargeApi"
CAN_REGISTER_USE = "can_register_use"  # register a booking's use (the instrument's lab side)
CAN_SETTLE = "can_settle"  # confirm, invoice, settle, credit or waive a charge (the lab side)
USAGE_VIEW, CHARGE_VIEW = "UsageRecordView", "ChargeView"
MY_USAGE_VIEW, MY_CHARGE_VIEW = "MyUsageView", "MyChargeView"
# a booking's use: registered after the fact, or started and ended as it happens
USE_STEPS = ("can_register", "can_start", "can_end")
# a self-operated booking's own user starts and ends its use (and so its interlocked plug)
OWN_USE_STEPS = ("can_start", "can_end")
EVALUATION_VIEW, MY_EVALUATION_VIEW, EVALUATION_API = "EvaluationView", "MyEvaluationView", "EvaluationApi"
CAN_REPLY, CAN_EVALUATE = "can_reply", "can_evaluate"
STATEMENT_VIEW = "StatementView"
STATEMENT_API = "StatementApi"
STATEMENT_PAGES = (("can_index", STATEMENT_VIEW), ("can_download", STATEMENT_VIEW), ("can_get", STATEMENT_API))
AUTHORISATION_API, AVAILABILITY_API = "AuthorisationApi", "AvailabilityApi"
AUTHORISATION_VIEW, BOOKING_RULE_VIEW = "AuthorisationView", "BookingRuleView"
OPENING_HOURS_VIEW, CLOSURE_VIEW = "OpeningHoursView", "ClosureView"
BOOKING_SETUP_SCREENS = (AUTHORISATION_VIEW, BOOKING_RULE_VIEW, OPENING_HOURS_VIEW, CLOSURE_VIEW)
SERVICE_USER_VIEW, CUSTOMER_ORG_VIEW = "ServiceUserView", "CustomerOrgView"
REGISTRATION_QUEUE_VIEW, REGISTRATION_VIEW = "RegistrationQueueView", "RegistrationView"
BOOKING_QUEUE_VIEW, BOOKING_RECORD_VIEW, TODAY_VIEW = "BookingQueueView", "BookingRecordView", "TodayScheduleView"
MY_BOOKING_VIEW, MY_AUTHORISATION_VIEW = "MyBookingView", "MyAuthorisationView"
CALENDAR_VIEW = "BookingCalendarView"
# an instrument's calendar and its events, which instruments are free at a time; booking from the calendar
CALENDAR_PAGES = (("can_events", CALENDAR_VIEW), ("can_instrument_calendar", CALENDAR_VIEW), ("can_search", CALENDAR_VIEW),
                  ("can_terms", CALENDAR_VIEW))
CAN_BOOK = "can_book"
CONTRACT_VIEW, MY_CONTRACT_VIEW = "ServiceContractView", "MyContractView"
CAN_FILE = "can_file"  # download a contract's scanned PDF
FEED_VIEW = "CalendarFeedView"
# a calendar subscription is read by Outlook or a phone, which cannot sign in: its secret URL grants it
FEEDS = [("can_personal", FEED_VIEW), ("can_instrument", FEED_VIEW)]
RENEW_MY_FEED, RENEW_INSTRUMENT_FEED = ("can_renew_mine", FEED_VIEW), ("can_renew_instrument", FEED_VIEW)
CAN_DECIDE = "can_decide"
CAN_ANSWER = "can_answer"  # schedule, delay or refuse a booking (the instrument's lab side)
CAN_CANCEL = "can_cancel"
OPENAPI = ("can_get", "OpenApi")  # FAB's OpenAPI document at /api/v1/_openapi
REPORT_PAGES = (("can_index", REPORTS_VIEW), ("can_download", REPORTS_VIEW), ("can_export", REPORTS_VIEW),
                ("can_export_status", REPORTS_VIEW), ("can_export_file", REPORTS_VIEW))
CAN_MARK_UPLOADED = "can_mark_uploaded"  # the school's: it uploads the file to the province
FEE_STANDARD_VIEW, FEE_ITEM_VIEW = "FeeStandardView", "FeeItemView"
FEE_PRICE_VIEW, FEE_COMPONENT_VIEW = "FeePriceView", "FeeComponentView"
FEE_SCREENS = (FEE_STANDARD_VIEW, FEE_ITEM_VIEW, FEE_PRICE_VIEW, FEE_COMPONENT_VIEW)

# menus (names, not labels)
MENU_ORG = "Organisation"
MENU_RESOURCES = "Resources"
MENU_STAFF = "Staff"
MENU_UNITS = "Units"
MENU_PLATFORMS = "Innovation platforms"
MENU_INSTRUMENTS = "Instruments"
MENU_PEOPLE = "People"
MENU_TRAINING = "Training"
MENU_FILINGS = "Unsuitable filings"
MENU_PUBLIC_FEES = "Fee schedules"
MENU_FEE_STANDARDS = "Fee standards"
MENU_IOT = "IoT"
MENU_TERMINALS = "IoT terminals"
MENU_REJECTIONS = "Refused IoT messages"
MENU_INTERLOCK = "Plug commands"
MENU_REPORTS = "Reports"
MENU_REPORT_DOWNLOADS = "Report downloads"
MENU_YEAR_COSTS = "Annual cost basis"
MENU_TYPICAL_CASES = "Typical cases"
MENU_ASSESSMENTS = "Annual assessments"
MENU_SECURITY = "Security"  # FAB's own category (users, roles); the school's only
MENU_TASK_FAILURES = "Background task failures"
MENU_BOOKING = "Booking"
MENU_AUTHORISATIONS = "Authorisations"
MENU_BOOKING_RULES = "Booking rules"
MENU_OPENING_HOURS = "Opening hours"
MENU_CLOSURES = "Closures"
MENU_CUSTOMERS = "Customers"
MENU_SERVICE_USERS = "Service users"
MENU_REGISTRATIONS = "Registrations"
MENU_CUSTOMER_ORGS = "Customer organisations"
MENU_BOOKING_QUEUE = "Bookings to answer"
MENU_TODAY = "Today's schedule"
MENU_BOOKING_RECORDS = "Booking records"
MENU_FIND_FREE = "Find a free instrument"
MENU_MY_SERVICES = "My services"
MENU_MY_BOOKINGS = "My bookings"
MENU_MY_AUTHORISATIONS = "My authorisations"
MENU_CONTRACTS = "Service contracts"
MENU_MY_CONTRACTS = "My contracts"
MENU_USES = "Uses"
MENU_CHARGES = "Charges"
MENU_MY_USES = "My uses"
MENU_MY_CHARGES = "My charges"
MENU_STATEMENTS = "Statements"
MENU_EVALUATIONS = "Evaluations"
MENU_MY_EVALUATIONS = "My evaluations"
MENU_MY_STATEMENTS = "My statements"

PI_APPROVAL_VIEW = "PiApprovalView"
# what anonymous visitors (and so everyone) may open: the published fee schedules; the calendar feeds and a
# PI's approval page, which their secret or signed URL grants
PUBLIC_PAGES = [("can_fees", PUBLIC_VIEW), ("can_instrument", PUBLIC_VIEW), ("can_download", PUBLIC_VIEW),
                (MENU_ACCESS, MENU_PUBLIC_FEES), ("can_decide", PI_APPROVAL_VIEW)] + FEEDS
# outside users register themselves (then wait for an administrator's approval)
REGISTRATION_PAGE = [("can_form", REGISTRATION_VIEW)]

MESSAGE_VIEW = "MessageView"
# what every signed-in account needs for its own profile and password, and its messages
SELF_SERVICE = [
    ("can_list", MESSAGE_VIEW),
    ("can_show", MESSAGE_VIEW),
    ("can_read_all", MESSAGE_VIEW),
    ("can_userinfo", "PlatformUserView"),
    ("resetmypassword", "PlatformUserView"),
    ("userinfoedit", "PlatformUserView"),
    ("can_this_form_get", "UserInfoEditView"),
    ("can_this_form_post", "UserInfoEditView"),
    ("can_this_form_get", "ResetMyPasswordView"),
    ("can_this_form_post", "ResetMyPasswordView"),
]
