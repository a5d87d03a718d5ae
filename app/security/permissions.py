"""Permission names: the only place they are spelled out. Which view holds which, and which role is granted
what, is the screen table's (app/security/screens.py)."""
# FAB's generic permissions of a screen and of a REST API
CAN_LIST = "can_list"
CAN_SHOW = "can_show"
CAN_ADD = "can_add"
CAN_EDIT = "can_edit"
CAN_DELETE = "can_delete"
CAN_DOWNLOAD = "can_download"
CAN_GET = "can_get"
CAN_POST = "can_post"
CAN_PUT = "can_put"
CAN_INFO = "can_info"
MENU_ACCESS = "menu_access"

READ = (CAN_LIST, CAN_SHOW)
CRUD = (CAN_LIST, CAN_SHOW, CAN_ADD, CAN_EDIT, CAN_DELETE)
API_READ = (CAN_GET, CAN_INFO)
API_CRUD = (CAN_GET, CAN_INFO, CAN_POST, CAN_PUT, CAN_DELETE)

# FAB's own account screens: one's profile and password
CAN_THIS_FORM_GET = "can_this_form_get"
CAN_THIS_FORM_POST = "can_this_form_post"
CAN_USERINFO = "can_userinfo"
RESET_MY_PASSWORD = "resetmypassword"
USER_INFO_EDIT = "userinfoedit"

# the platform's own
CAN_STEP = "can_step"  # a workflow step (fee standard, charge); the service decides whose step it is
CAN_ANSWER = "can_answer"  # schedule, delay or refuse a booking (the instrument's lab side)
CAN_CANCEL = "can_cancel"
CAN_REGISTER_USE = "can_register_use"  # register a booking's use (the instrument's lab side)
CAN_SETTLE = "can_settle"  # confirm, invoice, settle, credit or waive a charge (the lab side)
CAN_REPLY, CAN_EVALUATE = "can_reply", "can_evaluate"
CAN_DECIDE = "can_decide"  # a registration, or a PI's approval of a charge
CAN_FILE = "can_file"  # download a contract's scanned PDF
CAN_BOOK = "can_book"
CAN_READ_ALL = "can_read_all"  # mark all one's messages read
CAN_FORM = "can_form"  # the registration form
CAN_FEES, CAN_INSTRUMENT = "can_fees", "can_instrument"  # the public catalogue and an instrument's page
CAN_INDEX = "can_index"
CAN_EXPORT, CAN_EXPORT_STATUS, CAN_EXPORT_FILE = "can_export", "can_export_status", "can_export_file"
CAN_MARK_UPLOADED = "can_mark_uploaded"  # the school's: it uploads the file to the province
# the asset ledger: the school imports it (dry run, sheet, mapping, commit, the dry run's workbook); the lab
# side accepts a ledger value into a record and drafts a record from a ledger entry
LEDGER_IMPORT = ("can_index", "can_dry_run", "can_sheet", "can_save_mapping", "can_commit", "can_report", "can_demo")
CAN_ACCEPT, CAN_DRAFT = "can_accept", "can_draft"
CAN_CALL = "can_call"  # record what a call to a published contact found
# the monthly self-check (the lab side goes through its records and signs the month off) and the quarterly
# review (the unit above the lab approves or returns each check and signs the quarter off)
SELF_CHECK = ("can_index", "can_open", "can_confirm", "can_sign")
SELF_CHECK_REVIEW = ("can_review", "can_decide", "can_sign_review")
# a booking's use: registered after the fact, or started and ended as it happens
CAN_REGISTER, CAN_START, CAN_END = "can_register", "can_start", "can_end"
USE_STEPS = (CAN_REGISTER, CAN_START, CAN_END)
# a self-operated booking's own user starts and ends its use (and so its interlocked plug)
OWN_USE_STEPS = (CAN_START, CAN_END)
# an instrument's calendar and its events, which instruments are free at a time, the booking terms
CALENDAR_PAGES = ("can_events", "can_instrument_calendar", "can_search", "can_terms")
# the calendar subscriptions (personal, an instrument's) and renewing their secret addresses
FEEDS = ("can_personal", CAN_INSTRUMENT)
CAN_RENEW_MINE, CAN_RENEW_INSTRUMENT = "can_renew_mine", "can_renew_instrument"


def method_name(permission: str) -> str:
    """The name FAB's @permission_name and method_permission_name take: the permission without `can_`."""
    return permission.removeprefix("can_")
