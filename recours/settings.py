"""Recours settings, read from the environment.

Every value has a sensible default for the demo (SQLite under var/, a generated
SECRET_KEY kept in var/secret_key). Bad values are refused at start-up with a
message that names the variable.
"""

import ipaddress
import os
import re
import secrets
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured
from django.utils.csp import CSP  # type: ignore[import-untyped,unused-ignore]

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(os.environ.get("RECOURS_VAR_DIR", BASE_DIR / "var"))
try:
    VAR_DIR.mkdir(parents=True, exist_ok=True)
except OSError as error:
    raise ImproperlyConfigured(
        f"RECOURS_VAR_DIR must be a writable directory: cannot create {VAR_DIR}: "
        f"{error.strerror}"
    ) from None


def env_str(name: str, default: str = "") -> str:
    """Return the variable, or the content of the file named by NAME_FILE."""
    file_name = os.environ.get(name + "_FILE")
    if file_name:
        try:
            return Path(file_name).read_text().strip()
        except OSError as error:
            raise ImproperlyConfigured(
                f"{name}_FILE: cannot read {file_name}: {error}"
            ) from None
    return os.environ.get(name, default)


def env_bool(name: str, default: bool) -> bool:
    value = env_str(name, "").strip().lower()
    if value == "":
        return default
    if value in ("1", "true", "yes", "on"):
        return True
    if value in ("0", "false", "no", "off"):
        return False
    raise ImproperlyConfigured(f"{name} must be true or false, not {value!r}")


def env_int(name: str, default: int, minimum: int = 0) -> int:
    value = env_str(name, "").strip()
    if value == "":
        return default
    try:
        number = int(value)
    except ValueError:
        raise ImproperlyConfigured(
            f"{name} must be a whole number, not {value!r}"
        ) from None
    if number < minimum:
        raise ImproperlyConfigured(f"{name} must be at least {minimum}, not {number}")
    return number


def env_rate(name: str, default: str) -> str:
    """A rate limit such as "10/h": a count per second, minute, hour or day."""
    value = env_str(name, default).strip()
    if not re.fullmatch(r"[1-9][0-9]*/[smhd]", value):
        raise ImproperlyConfigured(
            f"{name} must be a count per s, m, h or d such as 10/h, not {value!r}"
        )
    return value


def env_list(name: str, default: list[str]) -> list[str]:
    value = env_str(name, "")
    if value.strip() == "":
        return default
    return [item.strip() for item in value.split(",") if item.strip()]


def demo_secret_key() -> str:
    """Generate a secret key once and keep it under var/ so sessions survive."""
    path = VAR_DIR / "secret_key"
    if not path.exists():
        VAR_DIR.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_urlsafe(50))
        path.chmod(0o600)
    return path.read_text().strip()


DEBUG = env_bool("DEBUG", False)
SECRET_KEY = env_str("SECRET_KEY") or demo_secret_key()
if len(SECRET_KEY) < 32:
    raise ImproperlyConfigured(
        "SECRET_KEY must be at least 32 characters long "
        "(or unset, to keep a generated one under RECOURS_VAR_DIR)"
    )
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["localhost", "127.0.0.1", "[::1]"])
SITE_URL = env_str("SITE_URL", "http://localhost:8000").rstrip("/")
if not SITE_URL.startswith(("http://", "https://")):
    raise ImproperlyConfigured(
        f"SITE_URL must start with http:// or https://, not {SITE_URL!r}"
    )

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django_htmx",
    "ninja",
    "recours.core",
    "recours.accounts",
    "recours.ledger",
    "recours.commerce",
    "recours.notifications",
    "recours.cases",
    "recours.integrity",
    "recours.portal",
    "recours.console",
    "recours.api",
    "recours.ops",
    "recours.demo",
]

MIDDLEWARE = [
    # First: counts every answer, and answers probes before host checks.
    "recours.ops.middleware.RequestMetricsMiddleware",
    "recours.ops.middleware.ProbeMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    # Before the CSRF check, the first to read a POST body.
    "recours.core.request_limits.RequestLimitsMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "recours.core.sessions.PrivatePagesMiddleware",
    "django.middleware.csp.ContentSecurityPolicyMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
]

ROOT_URLCONF = "recours.urls"
WSGI_APPLICATION = "recours.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "recours" / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.template.context_processors.csp",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

SECURE_CSP = {
    "default-src": [CSP.SELF],
    "script-src": [CSP.SELF, CSP.NONCE],
    "style-src": [CSP.SELF],
    "img-src": [CSP.SELF, "data:"],
    "frame-ancestors": [CSP.NONE],
    "form-action": [CSP.SELF],
}

SQLITE_CONNECTION_AGE_SECONDS_MAX = 300
DATABASE_URL = env_str("DATABASE_URL").strip() or "sqlite:///" + str(
    VAR_DIR / "recours.sqlite3"
)
try:
    _database = dj_database_url.parse(DATABASE_URL, conn_max_age=0)
except ValueError:
    # dj_database_url's message lists a dozen schemes we do not support.
    _database = {"ENGINE": "unknown"}
if _database["ENGINE"] == "django.db.backends.postgresql":
    from psycopg_pool import ConnectionPool

    # Without the pool every request pays a slow reconnect (ARCHITECTURE.md 9).
    # "check" tests each connection before handing it out, so a connection the
    # server killed (restart, failover, pg_terminate_backend) is replaced
    # instead of failing the request with a 500.
    DB_POOL_MIN_SIZE = env_int("DB_POOL_MIN_SIZE", 1, minimum=0)
    DB_POOL_MAX_SIZE = env_int("DB_POOL_MAX_SIZE", 8, minimum=1)
    if DB_POOL_MIN_SIZE > DB_POOL_MAX_SIZE:
        raise ImproperlyConfigured(
            f"DB_POOL_MIN_SIZE ({DB_POOL_MIN_SIZE}) must not be above "
            f"DB_POOL_MAX_SIZE ({DB_POOL_MAX_SIZE})"
        )
    _database["OPTIONS"] = {
        "pool": {
            "min_size": DB_POOL_MIN_SIZE,
            "max_size": DB_POOL_MAX_SIZE,
            "timeout": env_int("DB_POOL_TIMEOUT_SECONDS", 10, minimum=1),
            "check": ConnectionPool.check_connection,
        }
    }
elif _database["ENGINE"] == "django.db.backends.sqlite3":
    if not Path(_database["NAME"]).parent.is_dir():
        raise ImproperlyConfigured(
            f"DATABASE_URL names a SQLite file in a directory that does not exist "
            f"({Path(_database['NAME']).parent}); an absolute path takes four "
            f"slashes: sqlite:////srv/recours/recours.sqlite3"
        )
    _database["OPTIONS"] = {
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
    # Reopening the file on every request (its PRAGMAs, Django's SQL functions)
    # cost ~0.7 ms of a ~5 ms API POST. A SQLite connection has no server that
    # could drop it; the age limit still lets a restored file be picked up.
    _database["CONN_MAX_AGE"] = SQLITE_CONNECTION_AGE_SECONDS_MAX
    _database["CONN_HEALTH_CHECKS"] = True
    # A file, not memory, so that a worker started by a test sees the same rows.
    _database["TEST"] = {"NAME": str(VAR_DIR / "test.sqlite3")}
else:
    raise ImproperlyConfigured(
        "DATABASE_URL must be a sqlite:// or postgres:// URL "
        "(sqlite:///path or postgres://user:password@host:5432/name)"
    )
DATABASES = {"default": _database}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]
LOGIN_URL = "console:login"
LOGIN_REDIRECT_URL = "console:queue"
LOGOUT_REDIRECT_URL = "console:login"

LANGUAGE_CODE = env_str("LANGUAGE_CODE", "fr")
LANGUAGES = [("fr", "Français"), ("en", "English")]
if LANGUAGE_CODE not in dict(LANGUAGES):
    raise ImproperlyConfigured(f"LANGUAGE_CODE must be fr or en, not {LANGUAGE_CODE!r}")
LOCALE_PATHS = [BASE_DIR / "recours" / "locale"]
TIME_ZONE = env_str("TIME_ZONE", "Europe/Paris")
try:
    import zoneinfo

    zoneinfo.ZoneInfo(TIME_ZONE)
except (zoneinfo.ZoneInfoNotFoundError, ValueError):
    raise ImproperlyConfigured(
        f"TIME_ZONE {TIME_ZONE!r} is not a known time zone "
        "(an IANA name such as Europe/Paris or UTC)"
    ) from None
USE_I18N = True
# Day-first dates on a 24-hour clock in both languages ("23 Nov 2026, 19:11").
FORMAT_MODULE_PATH = ["recours.formats"]
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = VAR_DIR / "static"
STORAGES = {
    "default": {
        "BACKEND": "django.core.files.storage.FileSystemStorage",
        "OPTIONS": {"location": str(VAR_DIR / "media")},
    },
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if not DEBUG
        else "django.contrib.staticfiles.storage.StaticFilesStorage",
    },
}
WHITENOISE_USE_FINDERS = True

# Security. HTTPS=true turns on everything `check --deploy` asks for.
HTTPS = env_bool("HTTPS", False)
SECURE_SSL_REDIRECT = HTTPS
SESSION_COOKIE_SECURE = HTTPS
CSRF_COOKIE_SECURE = HTTPS
SECURE_HSTS_SECONDS = 31_536_000 if HTTPS else 0
SECURE_HSTS_INCLUDE_SUBDOMAINS = HTTPS
SECURE_HSTS_PRELOAD = HTTPS
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https") if HTTPS else None
SESSION_COOKIE_HTTPONLY = True
X_FRAME_OPTIONS = "DENY"
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])
# Reverse proxies (addresses or networks) whose X-Forwarded-For is believed for
# the client address that rate limits count; the header is ignored otherwise.
TRUSTED_PROXIES = env_list("TRUSTED_PROXIES", [])
try:
    for _proxy in TRUSTED_PROXIES:
        ipaddress.ip_network(_proxy, strict=False)
except ValueError:
    raise ImproperlyConfigured(
        f"TRUSTED_PROXIES must list IP addresses or networks such as "
        f"10.0.0.1,10.1.0.0/16, not {_proxy!r}"
    ) from None
DATA_UPLOAD_MAX_MEMORY_SIZE = 2_621_440
FILE_UPLOAD_MAX_MEMORY_SIZE = 2_621_440
# Above 5 the form says "5 at most"; far above, Django refuses the request (400).
DATA_UPLOAD_MAX_NUMBER_FILES = 20
# A larger body is refused (413) before it is read: 5 files of 10 MB, the form's
# fields and room to spare. The API's limit is DATA_UPLOAD_MAX_MEMORY_SIZE.
REQUEST_BODY_MAX_BYTES = env_int("REQUEST_BODY_MAX_BYTES", 55_574_528, minimum=1024)

# Mail (Django 6.1 MAILERS). SMTP by default; the demo points it at the console.
EMAIL_FROM = env_str("EMAIL_FROM", "Recours <recours@localhost>")
DEFAULT_FROM_EMAIL = EMAIL_FROM
SERVER_EMAIL = EMAIL_FROM
MAILERS = {
    "default": {
        "BACKEND": env_str(
            "EMAIL_BACKEND", "django.core.mail.backends.smtp.EmailBackend"
        ),
        "OPTIONS": {
            "host": env_str("SMTP_HOST", "localhost"),
            "port": env_int("SMTP_PORT", 25, minimum=1),
            "username": env_str("SMTP_USER"),
            "password": env_str("SMTP_PASSWORD"),
            "use_tls": env_bool("SMTP_STARTTLS", False),
            "use_ssl": env_bool("SMTP_SSL", False),
            "timeout": env_int("SMTP_TIMEOUT_SECONDS", 10, minimum=1),
        },
    }
}
if MAILERS["default"]["BACKEND"] != "django.core.mail.backends.smtp.EmailBackend":
    MAILERS["default"]["OPTIONS"] = {}

# SMS: "record" keeps messages in the database (readable in the console);
# "http" posts JSON to SMS_HTTP_URL with SMS_HTTP_TOKEN as a bearer token.
SMS_BACKEND = env_str("SMS_BACKEND", "record")
if SMS_BACKEND not in ("record", "http"):
    raise ImproperlyConfigured(
        f"SMS_BACKEND must be record or http, not {SMS_BACKEND!r}"
    )
SMS_HTTP_URL = env_str("SMS_HTTP_URL")
SMS_HTTP_TOKEN = env_str("SMS_HTTP_TOKEN")
SMS_SENDER = env_str("SMS_SENDER", "Recours")
# Every outbound call has a limit: a hung gateway fails the attempt, which backs off.
SMS_HTTP_TIMEOUT_SECONDS = env_int("SMS_HTTP_TIMEOUT_SECONDS", 10, minimum=1)
if SMS_BACKEND == "http" and not SMS_HTTP_URL.startswith(("http://", "https://")):
    raise ImproperlyConfigured(
        "SMS_HTTP_URL must be an http:// or https:// URL when SMS_BACKEND=http"
    )

DEFAULT_PHONE_REGION = env_str("DEFAULT_PHONE_REGION", "FR")

# Recours behaviour.
REPORT_RATE_LIMIT = env_rate("REPORT_RATE_LIMIT", "10/h")
STATUS_RATE_LIMIT = env_rate("STATUS_RATE_LIMIT", "20/h")
LOGIN_RATE_LIMIT = env_rate("LOGIN_RATE_LIMIT", "10/m")
# A staff login (console or admin) lasts a working day; customers keep the default.
STAFF_SESSION_HOURS = env_int("STAFF_SESSION_HOURS", 9, minimum=1)
# Status-page access codes: requests per case, and texts per phone number
# (SMS pumping), whoever asks and from wherever.
ACCESS_CODE_CASE_RATE_LIMIT = env_rate("ACCESS_CODE_CASE_RATE_LIMIT", "3/h")
ACCESS_CODE_CASE_DAILY_LIMIT = env_rate("ACCESS_CODE_CASE_DAILY_LIMIT", "10/d")
SMS_PER_NUMBER_RATE_LIMIT = env_rate("SMS_PER_NUMBER_RATE_LIMIT", "10/d")
API_RATE_LIMIT = env_rate("API_RATE_LIMIT", "600/m")
OUTBOX_LEASE_SECONDS = env_int("OUTBOX_LEASE_SECONDS", 60, minimum=1)
OUTBOX_MAX_ATTEMPTS = env_int("OUTBOX_MAX_ATTEMPTS", 12, minimum=1)
# Outbound webhooks: retried with exponential backoff this long after the
# event, then given up; an endpoint is disabled after this many messages in a
# row failed for good. Endpoints on private or loopback addresses are refused
# unless WEBHOOK_ALLOW_PRIVATE (an endpoint inside your own network).
WEBHOOK_RETRY_HOURS = env_int("WEBHOOK_RETRY_HOURS", 72, minimum=1)
WEBHOOK_DISABLE_AFTER_FAILURES = env_int("WEBHOOK_DISABLE_AFTER_FAILURES", 5, minimum=1)
WEBHOOK_TIMEOUT_SECONDS = env_int("WEBHOOK_TIMEOUT_SECONDS", 10, minimum=1)
WEBHOOK_ALLOW_PRIVATE = env_bool("WEBHOOK_ALLOW_PRIVATE", False)
WORKER_IDLE_SECONDS = env_int("WORKER_IDLE_SECONDS", 2, minimum=0)
# /readyz fails when no worker has stamped its heartbeat for this long.
READY_WORKER_MAX_AGE_SECONDS = env_int("READY_WORKER_MAX_AGE_SECONDS", 120, minimum=30)
# When set, /metrics requires "Authorization: Bearer <METRICS_TOKEN>".
METRICS_TOKEN = env_str("METRICS_TOKEN")
VERIFICATION_CODE_TTL_SECONDS = env_int(
    "VERIFICATION_CODE_TTL_SECONDS", 900, minimum=60
)
# First-response targets by priority, in hours (ARCHITECTURE.md 5).
SLA_FIRST_RESPONSE_HOURS = {
    "urgent": env_int("SLA_URGENT_HOURS", 4, minimum=1),
    "high": env_int("SLA_HIGH_HOURS", 8, minimum=1),
    "normal": env_int("SLA_NORMAL_HOURS", 24, minimum=1),
    "low": env_int("SLA_LOW_HOURS", 72, minimum=1),
}
# Resolution targets by priority, in hours; both count from the report, with
# the time spent waiting on the customer left out.
SLA_RESOLUTION_HOURS = {
    priority: env_int(f"SLA_{priority.upper()}_RESOLUTION_HOURS", 5 * hours, minimum=1)
    for priority, hours in SLA_FIRST_RESPONSE_HOURS.items()
}
# An incident waiting on the customer is resolved after this many silent days;
# a resolved one closes after RESOLVED_CLOSE_DAYS.
WAITING_CUSTOMER_DAYS = env_int("WAITING_CUSTOMER_DAYS", 14, minimum=1)
RESOLVED_CLOSE_DAYS = env_int("RESOLVED_CLOSE_DAYS", 7, minimum=1)
# A breached service level is told to these addresses (else the platform admins).
TEAM_LEAD_EMAILS = env_list("TEAM_LEAD_EMAILS", [])
# Buyer protection (seed 004), in calendar days.
PROTECTION_MERCHANT_ANSWER_DAYS = env_int(
    "PROTECTION_MERCHANT_ANSWER_DAYS", 5, minimum=1
)
PROTECTION_CUSTOMER_ANSWER_DAYS = env_int(
    "PROTECTION_CUSTOMER_ANSWER_DAYS", 20, minimum=1
)
PROTECTION_REMINDER_BEFORE_DAYS = env_int(
    "PROTECTION_REMINDER_BEFORE_DAYS", 1, minimum=1
)
PROTECTION_REVIEW_DAYS = env_int("PROTECTION_REVIEW_DAYS", 10, minimum=1)
PROTECTION_DOCUMENTS_DAYS = env_int("PROTECTION_DOCUMENTS_DAYS", 10, minimum=1)
PROTECTION_DECISION_PAYMENT_DAYS = env_int(
    "PROTECTION_DECISION_PAYMENT_DAYS", 10, minimum=1
)
# Commerce: how long a cart holds its items and seats, and how long a bank
# transfer is awaited before its order lapses and lets its items go.
RESERVATION_MINUTES = env_int("RESERVATION_MINUTES", 15, minimum=1)
DEFERRED_PAYMENT_HOURS = env_int("DEFERRED_PAYMENT_HOURS", 72, minimum=1)
# Buyer protection: how many days an order the buyer protected is covered from
# its placement, and on which day after it the buyer is asked how it went.
PROTECTION_DAYS = env_int("PROTECTION_DAYS", 30, minimum=1)
PROTECTION_REMINDER_DAY = env_int("PROTECTION_REMINDER_DAY", 23, minimum=1)
if PROTECTION_REMINDER_DAY >= PROTECTION_DAYS:
    raise ImproperlyConfigured(
        f"PROTECTION_REMINDER_DAY must be before PROTECTION_DAYS "
        f"({PROTECTION_DAYS}), not {PROTECTION_REMINDER_DAY}"
    )
# Integrity: how often the worker runs the detectors, and the amount (minor
# units) above which a correction needs a second, different approver.
RECONCILE_INTERVAL_MINUTES = env_int("RECONCILE_INTERVAL_MINUTES", 60, minimum=1)
CORRECTION_SECOND_APPROVAL_MINOR = env_int(
    "CORRECTION_SECOND_APPROVAL_MINOR", 50000, minimum=0
)

# LOG_FORMAT=json: one JSON object per line, with fields such as case and channel.
LOG_FORMAT = env_str("LOG_FORMAT", "plain").strip().lower() or "plain"
if LOG_FORMAT not in ("plain", "json"):
    raise ImproperlyConfigured(f"LOG_FORMAT must be plain or json, not {LOG_FORMAT!r}")
LOG_LEVEL = env_str("LOG_LEVEL", "INFO").strip().upper() or "INFO"
if LOG_LEVEL not in ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"):
    raise ImproperlyConfigured(
        f"LOG_LEVEL must be DEBUG, INFO, WARNING, ERROR or CRITICAL, not {LOG_LEVEL!r}"
    )
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"},
        "json": {"()": "recours.core.logs.JsonFormatter"},
    },
    "handlers": {
        "console": {"class": "logging.StreamHandler", "formatter": LOG_FORMAT}
    },
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {"django.db.backends": {"level": "WARNING"}},
}
