"""Django settings for NEMO-CE as a benchmark peer.

Modelled on NEMO's resources/settings.py and NEMO/tests/test_settings.py. Differences that
matter for the benchmark: UTC (so calendar unix seconds need no conversion), PostgreSQL from
NEMO_DATABASE_URL, and HTTP-header authentication so a bench client logs in with one request
carrying ``Authorization: Basic base64(username:x)``.
"""

import os
import tempfile
from urllib.parse import unquote, urlparse

from django.conf import global_settings

DEFAULT_DATABASE_URL = "postgresql://postgres@127.0.0.1:5432/bench_nemo"
RUNTIME_DIR = os.environ.get("NEMO_RUNTIME_DIR") or os.path.join(tempfile.gettempdir(), "bench_nemo")


def database_from_url(url):
    parts = urlparse(url)
    return {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": parts.path.lstrip("/") or "bench_nemo",
        "USER": unquote(parts.username or "postgres"),
        "PASSWORD": unquote(parts.password or ""),
        "HOST": parts.hostname or "127.0.0.1",
        "PORT": str(parts.port or 5432),
        # Persistent connections, as a production deployment would run it.
        "CONN_MAX_AGE": 60,
    }


DEBUG = False
ALLOWED_HOSTS = ["*"]
SECRET_KEY = "bench-nemo-peer-not-secret"
AUTH_USER_MODEL = "NEMO.User"
DEFAULT_AUTO_FIELD = "django.db.models.AutoField"
WSGI_APPLICATION = "NEMO.wsgi.application"
ROOT_URLCONF = "NEMO.urls"
SERVER_DOMAIN = "http://127.0.0.1"

LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "login"
SESSION_COOKIE_SECURE = False
CSRF_COOKIE_SECURE = False

DATETIME_FORMAT = "l, F jS, Y @ g:i A"
SHORT_DATETIME_FORMAT = "m/d/Y @ g:i A"
DATE_FORMAT = "l, F jS, Y"
SHORT_DATE_FORMAT = "m/d/Y"
TIME_FORMAT = "g:i A"
MONTH_DAY_FORMAT = "l m/d"
EXPORT_DATE_FORMAT = "m_d_Y"
EXPORT_TIME_FORMAT = "h_i_s"
DATETIME_INPUT_FORMATS = ["%m/%d/%Y %I:%M %p", *global_settings.DATE_INPUT_FORMATS]
DATE_INPUT_FORMATS = ["%m/%d/%Y", *global_settings.DATE_INPUT_FORMATS]
TIME_INPUT_FORMATS = ["%I:%M %p", *global_settings.TIME_INPUT_FORMATS]

USE_I18N = False
USE_TZ = True
TIME_ZONE = "UTC"

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.admin",
    "django.contrib.humanize",
    "NEMO.apps.nemo_ce",
    "NEMO.apps.kiosk",
    "NEMO.apps.area_access",
    "NEMO",
    "rest_framework",
    "rest_framework.authtoken",
    "django_filters",
    "mptt",
    "auditlog",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "NEMO.middleware.DeviceDetectionMiddleware",
    # Reads the Authorization header; the session then carries the login.
    "NEMO.middleware.HTTPHeaderAuthenticationMiddleware",
    "NEMO.middleware.ImpersonateMiddleware",
    "NEMO.middleware.NEMOAuditlogMiddleware",
]
AUTHENTICATION_HEADER = "AUTHORIZATION"
AUTHENTICATION_BACKENDS = ["NEMO.views.authentication.NginxKerberosAuthorizationHeaderAuthenticationBackend"]

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "NEMO.context_processors.hide_logout_button",
                "NEMO.context_processors.base_context",
                "django.contrib.auth.context_processors.auth",
                "django.template.context_processors.debug",
                "django.template.context_processors.media",
                "django.template.context_processors.static",
                "django.template.context_processors.tz",
                "django.template.context_processors.request",
                "django.contrib.messages.context_processors.messages",
            ]
        },
    }
]

REST_FRAMEWORK = {
    "DEFAULT_PERMISSION_CLASSES": ("NEMO.permissions.DjangoModelPermissions",),
    "DEFAULT_FILTER_BACKENDS": ("NEMO.rest_filter_backend.NEMOFilterBackend",),
    "DEFAULT_PAGINATION_CLASS": "NEMO.rest_pagination.NEMOPageNumberPagination",
    "PAGE_SIZE": 1000,
}

DATABASES = {"default": database_from_url(os.environ.get("NEMO_DATABASE_URL", DEFAULT_DATABASE_URL))}

# Mail goes to files so reservation notifications never leave the machine.
EMAIL_BACKEND = "django.core.mail.backends.filebased.EmailBackend"
EMAIL_FILE_PATH = os.path.join(RUNTIME_DIR, "emails")
SERVER_EMAIL = "NEMO Bench <nemo-bench@example.org>"
DEFAULT_FROM_EMAIL = SERVER_EMAIL
ADMINS = []
MANAGERS = ADMINS
RESERVATION_ORGANIZER = "NEMO"
RESERVATION_ORGANIZER_EMAIL = "no_reply"
USER_RESERVATION_PREFERENCES_DEFAULT = False

STATIC_URL = "/static/"
STATIC_ROOT = os.path.join(RUNTIME_DIR, "static")
MEDIA_ROOT = os.path.join(RUNTIME_DIR, "media")
MEDIA_URL = "/media/"

ALLOW_CONDITIONAL_URLS = True
INTERLOCKS_ENABLED = False
IDENTITY_SERVICE = {"available": False, "url": "", "domains": []}

# Warnings only: per-request INFO logging would be part of what we time.
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"simple": {"format": "[%(asctime)s] %(name)s %(levelname)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "simple"}},
    "loggers": {"": {"handlers": ["console"], "level": "WARNING"}},
}
