"""Settings, read from the environment (README lists every one)."""
import os
import secrets
from pathlib import Path

from flask_appbuilder.const import AUTH_DB

BASE_DIR = Path(__file__).resolve().parent
INSTANCE_DIR = Path(os.environ.get("INSTANCE_PATH", BASE_DIR / "instance"))
# the task queue (app/tasks.py) and the login-rate counters on Redis; unset = a SQLite queue in
# instance/tasks.db and counters in each process
REDIS_URL = os.environ.get("REDIS_URL", "")
TASK_QUEUE_NAME = os.environ.get("TASK_QUEUE_NAME", "platform")


def _secret_key() -> str:
    """SECRET_KEY from the environment, else generated once into instance/."""
    if os.environ.get("SECRET_KEY"):
        return os.environ["SECRET_KEY"]
    INSTANCE_DIR.mkdir(parents=True, exist_ok=True)
    key_file = INSTANCE_DIR / "secret_key"
    if not key_file.exists():
        key_file.write_text(secrets.token_hex(32))
        key_file.chmod(0o600)
    return key_file.read_text().strip()


class Config:
    SECRET_KEY = _secret_key()
    SQLALCHEMY_DATABASE_URI = os.environ.get(
        "DATABASE_URL", f"sqlite:///{INSTANCE_DIR / 'platform.db'}"
    )
    SQLALCHEMY_TRACK_MODIFICATIONS = False
    MQTT_URL = os.environ.get("MQTT_URL", "")

    APP_NAME = "高校科研设施和仪器开放共享在线服务平台"
    APP_THEME = ""
    AUTH_TYPE = AUTH_DB
    # AUTH_ROLE_ADMIN (the school administrator, the platform's superuser, SPEC §1) and AUTH_ROLE_PUBLIC are
    # the role names of app/models/user.py, set by create_app
    AUTH_USER_REGISTRATION = False
    FAB_CREATE_DB = False  # schema comes from Alembic migrations only
    # permissions are written by `flask --app app sync-roles`, never as a side effect of start-up
    FAB_UPDATE_PERMS = False
    FAB_SECURITY_MANAGER_CLASS = "app.security.manager.PlatformSecurityManager"
    FAB_INDEX_VIEW = "app.views.home.HomeView"
    FAB_API_SWAGGER_UI = False
    FAB_PASSWORD_HASH_METHOD = "scrypt"
    FAB_BASE_TEMPLATE = "platform_layout.html"  # FAB's layout plus the site's icon

    BABEL_DEFAULT_LOCALE = "zh"
    BABEL_DEFAULT_TIMEZONE = "Asia/Shanghai"
    LANGUAGES = {"zh": {"flag": "cn", "name": "简体中文"}}
    BABEL_TRANSLATION_DIRECTORIES = str(BASE_DIR / "translations")

    # Security base (issue 2, item 6)
    WTF_CSRF_ENABLED = True
    WTF_CSRF_TIME_LIMIT = None
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    SESSION_COOKIE_SECURE = os.environ.get("SESSION_COOKIE_SECURE", "") == "1"
    REMEMBER_COOKIE_HTTPONLY = True
    # the largest request body accepted (bytes); a larger one is answered 413 in Chinese
    MAX_CONTENT_LENGTH = int(os.environ.get("MAX_CONTENT_LENGTH", str(16 * 1024 * 1024)))
    AUTH_RATE_LIMITED = True
    AUTH_RATE_LIMIT = os.environ.get("AUTH_RATE_LIMIT", "10 per minute")
    REGISTRATION_RATE_LIMIT = os.environ.get("REGISTRATION_RATE_LIMIT", "5 per hour")  # registrations per client address
    RATELIMIT_ENABLED = True
    # how many reverse proxies in front of the app set X-Forwarded-For and -Proto (app/http.py); 0 = none,
    # and the headers are ignored (a client could otherwise forge its address past the rate limits)
    TRUSTED_PROXY_HOPS = int(os.environ.get("TRUSTED_PROXY_HOPS", "0"))
    RATELIMIT_STORAGE_URI = os.environ.get("RATELIMIT_STORAGE_URI", REDIS_URL or "memory://")

    # Domain settings
    PAGE_SIZE = 25
    # non-profit principle: a price more than this share above its cost basis needs a written
    # justification before it can be submitted (notice §(四)1)
    FEE_MARGIN_TOLERANCE = os.environ.get("FEE_MARGIN_TOLERANCE", "0.10")
    # a record changed but not updated within this many working days is overdue
    UPDATE_DEADLINE_WORKDAYS = 5
    # a terminal silent for longer than this shows 离线 whatever its last message said
    IOT_OFFLINE_AFTER_MINUTES = int(os.environ.get("IOT_OFFLINE_AFTER_MINUTES", "10"))
    # Art. 24: the unit subsidy ratio by the annual assessment grade. The measures fix only the
    # ceiling (20 %); these defaults are ours, to be replaced by the province's published ratios.
    SUBSIDY_RATIO_BY_GRADE = {"excellent": "0.20", "good": "0.15", "pass": "0.10", "poor": "0"}
    # Art. 19–21: the school's assessment of its colleges. The measures name the indicators and the
    # four grades, not the weights; these defaults are ours (app/services/upkeep/assessment.py explains
    # each measure). Weights are relative; a grade needs at least its total score.
    # Booking (app/services/booking/bookings.py): the no-show grace after a slot's start; N no-shows within M
    # days suspend self-operated booking for D days; an authorisation to operate lapses after this
    # many months without use. Our defaults; the notice fixes only the 5-working-day response.
    BOOKING = {
        "no_show_grace_minutes": int(os.environ.get("NO_SHOW_GRACE_MINUTES", "30")),
        "no_show_limit": 3, "no_show_window_days": 90, "no_show_suspension_days": 30,
        "authorisation_lapse_months": int(os.environ.get("AUTHORISATION_LAPSE_MONTHS", "12")),
        # Art. 16: an outside user without a service contract may book under the school's standard terms,
        # accepting them as it books (0: a contract is needed before the lab schedules)
        "standard_terms": int(os.environ.get("STANDARD_TERMS_APPLY", "1")),
    }
    # measured against registered (app/services/iot/machine_time.py): the grace around a slot, and the share by
    # which the terminal's machine time may differ from the registered hours before the lab is warned
    MACHINE_TIME = {"grace_minutes": int(os.environ.get("MACHINE_TIME_GRACE_MINUTES", "15")),
                    "mismatch_share": float(os.environ.get("MACHINE_TIME_MISMATCH_SHARE", "0.2"))}
    # the power interlock's command outbox (app/services/iot/interlock.py): an unconfirmed command is published
    # again after retry_seconds, and after max_attempts it stays unconfirmed and the lab is told
    INTERLOCK = {"retry_seconds": int(os.environ.get("INTERLOCK_RETRY_SECONDS", "30")),
                 "max_attempts": int(os.environ.get("INTERLOCK_MAX_ATTEMPTS", "20"))}
    # the days an on-campus charge's PI may use the signed approval link mailed to them (app/services/money/pi_approval.py)
    PI_APPROVAL_LINK_DAYS = int(os.environ.get("PI_APPROVAL_LINK_DAYS", "14"))
    # the days after a booking's completion within which its user may evaluate it (app/services/booking/evaluations.py)
    EVALUATION_WINDOW_DAYS = int(os.environ.get("EVALUATION_WINDOW_DAYS", "30"))
    # e-mail of the message centre's messages (app/services/people/mail.py); MAIL_SERVER unset = in-app only
    MAIL_SERVER = os.environ.get("MAIL_SERVER", "")
    MAIL_PORT = int(os.environ.get("MAIL_PORT", "25"))
    MAIL_USE_TLS = os.environ.get("MAIL_USE_TLS", "") in ("1", "true", "yes")
    MAIL_USERNAME = os.environ.get("MAIL_USERNAME", "")
    MAIL_PASSWORD = os.environ.get("MAIL_PASSWORD", "")
    MAIL_DEFAULT_SENDER = os.environ.get("MAIL_DEFAULT_SENDER", "")
    # scanned service contracts (Art. 16): PDFs, kept outside the web root
    CONTRACT_FOLDER = Path(os.environ.get("CONTRACT_FOLDER", INSTANCE_DIR / "contracts"))
    CONTRACT_MAX_BYTES = int(os.environ.get("CONTRACT_MAX_BYTES", str(10 * 1024 * 1024)))
    # the scans of PIs' signed papers (a decision on paper, app/services/money/pi_approval.py): PDFs of at most
    # CONTRACT_MAX_BYTES, kept outside the web root
    APPROVAL_SCAN_FOLDER = Path(os.environ.get("APPROVAL_SCAN_FOLDER", INSTANCE_DIR / "approval-scans"))
    # a published phone is called again this many days after a call last reached it (issue 23: a quarter)
    CONTACT_RECHECK_DAYS = int(os.environ.get("CONTACT_RECHECK_DAYS", "92"))
    # the monthly self-check and the quarterly review (notice §(三)3): the first month checked, and the working
    # days after a month's (a quarter's) end by which its check (review) is signed off
    SELF_CHECKS_SINCE = os.environ.get("SELF_CHECKS_SINCE", "2026-06")
    SELF_CHECK_DUE_WORKING_DAYS = int(os.environ.get("SELF_CHECK_DUE_WORKING_DAYS", "5"))
    REVIEW_DUE_WORKING_DAYS = int(os.environ.get("REVIEW_DUE_WORKING_DAYS", "10"))
    # the asset ledgers the school uploads (issue 23), kept by their SHA-256 outside the web root: the dry run's
    # file is the one committed, and each import's file stays as its evidence
    LEDGER_FOLDER = Path(os.environ.get("LEDGER_FOLDER", INSTANCE_DIR / "ledgers"))
    # the platform's address as users reach it: links in e-mails, and the host in calendar event ids
    PUBLIC_URL = os.environ.get("PUBLIC_URL", "http://127.0.0.1:8080")
    ASSESSMENT_RULES = {
        "indicators": {"organisation": 25, "operation": 30, "sharing": 30, "iot": 15},
        "measures": {
            "organisation": {"records_complete": 40, "staff_trained": 30, "self_checks": 30},
            "operation": {"networked": 50, "utilisation": 50},
            "sharing": {"sharing_rate": 40, "responded_in_time": 30, "fees_published": 30},
            "iot": {"terminals_installed": 60, "terminals_reporting": 40},
        },
        "targets": {"utilisation_hours": 1000, "sharing_rate": "0.30"},
        "grades": [["excellent", 90], ["good", 75], ["pass", 60]],
    }


class TestConfig(Config):
    TESTING = True
    # the suite's shared app signs in thousands of times under a pinned clock, whose minute never ends: the
    # limits' own tests make apps with small ones (tests/test_proxy_and_limits.py)
    AUTH_RATE_LIMIT = "1000000 per minute"
    REGISTRATION_RATE_LIMIT = "1000000 per minute"
