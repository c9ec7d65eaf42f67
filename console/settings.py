"""Munja settings. Every knob comes from the environment; README.md lists them all."""

from __future__ import annotations

from pathlib import Path

import dj_database_url
import django_include_bootstrap
from django.utils.csp import CSP
from django.utils.translation import gettext_lazy as _

from console.lib.env import (
    env_bool,
    env_float,
    env_int,
    env_list,
    env_networks,
    env_secret,
    env_str,
)

BASE_DIR = Path(__file__).resolve().parent.parent
DATA_DIR = Path(env_str("MUNJA_DATA_DIR", str(BASE_DIR / ".data"))).resolve()

DEBUG = env_bool("MUNJA_DEBUG", False)
SECRET_KEY = env_secret("MUNJA_SECRET_KEY", DATA_DIR / "secret_key")
ALLOWED_HOSTS = env_list("MUNJA_ALLOWED_HOSTS", ["127.0.0.1", "localhost", "[::1]"])
CSRF_TRUSTED_ORIGINS = env_list("MUNJA_CSRF_TRUSTED_ORIGINS", [])
# The console's own address as the sandbox carrier and real providers reach it
# (delivery-report and 080 callbacks).
PUBLIC_URL = env_str("MUNJA_PUBLIC_URL", "http://127.0.0.1:8000").rstrip("/")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_htmx",
    "django_q",
    "console",
    "projects",
    "channels",
    "audiences",
    "optout",
    "webhooks",
    "consent",
    "dispatch",
    "campaigns",
    "journeys",
    "conversions",
    "stats",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django.middleware.csp.ContentSecurityPolicyMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
]

ROOT_URLCONF = "console.urls"
WSGI_APPLICATION = "console.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.template.context_processors.csp",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "projects.context_processors.current_project",
                "console.navigation.sidebar",
            ],
        },
    },
]

# --- Database -----------------------------------------------------------------
DATABASE_URL = env_str("DATABASE_URL", "")
if DATABASE_URL:
    DATABASES = {"default": dj_database_url.parse(DATABASE_URL, conn_max_age=60)}
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
else:
    DATA_DIR.mkdir(parents=True, exist_ok=True)
    DATABASES = {
        "default": {
            # Django's backend with a lock-free JSON-support probe (see the module).
            "ENGINE": "console.sqlite3",
            "NAME": env_str("MUNJA_SQLITE_PATH", str(DATA_DIR / "munja.sqlite3")),
            "OPTIONS": {
                # Writers queue up instead of failing with "database is locked":
                # IMMEDIATE takes the write lock at BEGIN, the timeout waits for it.
                "transaction_mode": "IMMEDIATE",
                "timeout": 20,
                "init_command": (
                    "PRAGMA journal_mode=WAL;"
                    "PRAGMA synchronous=NORMAL;"
                    "PRAGMA foreign_keys=ON;"
                    "PRAGMA busy_timeout=20000;"
                    # Reads of pages already in the OS cache without a copy
                    # each (a segment's members query for 100 users 2.2 →
                    # 1.2 ms CPU on 1,000,000 users, docs/benchmarks.md).
                    # Up to 2 GiB of the file; SQLite lowers it to its
                    # build's maximum (2 GiB less 64 KiB in Debian's).
                    "PRAGMA mmap_size=2147483648;"
                ),
            },
            # Tests share this file with the sandbox carrier and qcluster
            # subprocesses, so it must not be an in-memory database.
            "TEST": {"NAME": str(DATA_DIR / "test_munja.sqlite3")},
        }
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Cache (login and API throttling) ------------------------------------------
REDIS_URL = env_str("REDIS_URL", "")
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": env_str("MUNJA_CACHE_PREFIX", "munja"),
        }
    }
else:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.db.DatabaseCache",
            "LOCATION": "munja_cache",
        }
    }

# --- Queue (django-q2) ----------------------------------------------------------
# The database is the ledger; tasks are only triggers (SPEC §10). `retry` must
# exceed `timeout` plus queueing time, and save_limit=-1 keeps successful task
# results out of the database (the default path locked SQLite under load).
Q_CLUSTER = {
    "name": env_str("MUNJA_Q_NAME", "munja"),
    "workers": env_int("MUNJA_Q_WORKERS", 2, minimum=1),
    "timeout": env_int("MUNJA_Q_TIMEOUT", 120, minimum=5),
    "retry": env_int("MUNJA_Q_RETRY", 300, minimum=10),
    "max_attempts": 3,
    "save_limit": -1,
    "ack_failures": True,
    "catch_up": False,
    "poll": env_float("MUNJA_Q_POLL", 0.2, minimum=0.01),
    "sync": env_bool("MUNJA_Q_SYNC", False),
    "label": "Task queue",
}
if REDIS_URL:
    Q_CLUSTER["redis"] = REDIS_URL
else:
    Q_CLUSTER["orm"] = "default"
    # django-q2 runs the ORM broker with its own poll of the database.
    Q_CLUSTER["bulk"] = 10

# --- The send core (dispatch/) -----------------------------------------------------
# Messages per gateway call, recipients rendered per materialisation chunk,
# parallel send chains per campaign, and how long a claim may stay in flight
# before it is presumed dead and sent again (same reference: no duplicate).
# A batch's ids are bound as parameters (SQLite takes at most 32,766).
DISPATCH_BATCH_SIZE = env_int("MUNJA_DISPATCH_BATCH_SIZE", 500, minimum=1, maximum=10_000)
DISPATCH_CHUNK_SIZE = env_int("MUNJA_DISPATCH_CHUNK_SIZE", 5000, minimum=1)
DISPATCH_SENDERS = env_int("MUNJA_DISPATCH_SENDERS", Q_CLUSTER["workers"], minimum=1)
DISPATCH_CLAIM_SECONDS = env_int("MUNJA_DISPATCH_CLAIM_SECONDS", 60, minimum=5)
# A message the gateway accepted whose delivery report has not come after
# this long counts as failed (`no_report`), as Korean providers do after 72 h.
DISPATCH_REPORT_WINDOW_HOURS = env_int("MUNJA_DISPATCH_REPORT_WINDOW_HOURS", 72, minimum=1)
# Journey runners working at once on PostgreSQL (their claims skip each
# other's runs); SQLite takes one writer at a time, so one runner there.
JOURNEY_RUNNERS = env_int("MUNJA_JOURNEY_RUNNERS", 1, minimum=1, maximum=8)
# Consent notices handed to the send core per transaction (consent/sending.py).
CONSENT_NOTICE_BATCH_SIZE = env_int(
    "MUNJA_CONSENT_NOTICE_BATCH_SIZE", 2000, minimum=1, maximum=10_000
)

# --- Auth and security ---------------------------------------------------------
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
# Failed logins in the window before refusing more: per account, and per
# client address separately. The address limit is much higher because many
# people may share one address (an office behind NAT); it only stops one
# machine from guessing across many accounts.
LOGIN_MAX_ATTEMPTS = env_int("MUNJA_LOGIN_MAX_ATTEMPTS", 5, minimum=1)
LOGIN_MAX_ATTEMPTS_PER_ADDRESS = env_int("MUNJA_LOGIN_MAX_ATTEMPTS_PER_ADDRESS", 50, minimum=1)
LOGIN_LOCKOUT_SECONDS = env_int("MUNJA_LOGIN_LOCKOUT_SECONDS", 900, minimum=1)

SECURE = env_bool("MUNJA_SECURE", not DEBUG)
SESSION_COOKIE_SECURE = SECURE
CSRF_COOKIE_SECURE = SECURE
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"
SECURE_SSL_REDIRECT = SECURE and env_bool("MUNJA_SSL_REDIRECT", True)
SECURE_HSTS_SECONDS = env_int("MUNJA_HSTS_SECONDS", 31536000 if SECURE else 0, minimum=0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = SECURE
SECURE_HSTS_PRELOAD = SECURE
SECURE_PROXY_SSL_HEADER = (
    ("HTTP_X_FORWARDED_PROTO", "https") if env_bool("MUNJA_BEHIND_PROXY", False) else None
)
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
SECURE_CSP = {
    "default-src": [CSP.SELF],
    "script-src": [CSP.SELF, CSP.NONCE],
    "style-src": [CSP.SELF, CSP.NONCE],
    "img-src": [CSP.SELF, "data:"],
    "font-src": [CSP.SELF, "data:"],
    "connect-src": [CSP.SELF],
    "worker-src": [CSP.SELF, "blob:"],
    "frame-ancestors": [CSP.NONE],
    "form-action": [CSP.SELF],
    "base-uri": [CSP.SELF],
    "object-src": [CSP.NONE],
}

# --- Uploads --------------------------------------------------------------------
# Documents and audience files live outside the web root and are served only
# through views that check the viewer's rights.
PRIVATE_MEDIA_ROOT = DATA_DIR / "private"
MEDIA_ROOT = PRIVATE_MEDIA_ROOT
MEDIA_URL = "/private-media-is-not-served/"
DOCUMENT_MAX_BYTES = env_int("MUNJA_DOCUMENT_MAX_MB", 10, minimum=1) * 1024 * 1024
# Opt-out list migration files (csv/xlsx); an xlsx is also checked unzipped.
OPTOUT_IMPORT_MAX_BYTES = env_int("MUNJA_OPTOUT_IMPORT_MAX_MB", 20, minimum=1) * 1024 * 1024
# Data rows an opt-out import may hold (a 20 MB csv holds about 1.4 million
# E.164 numbers); a file with more is refused whole with its count.
OPTOUT_IMPORT_MAX_ROWS = env_int("MUNJA_OPTOUT_IMPORT_MAX_ROWS", 1_000_000, minimum=1)
# Numbers applied per transaction by the background import: each commit holds
# SQLite's write lock for a fraction of a second, so other projects' writes
# get in between (see optout/import_tasks.py).
OPTOUT_IMPORT_CHUNK_ROWS = env_int("MUNJA_OPTOUT_IMPORT_CHUNK_ROWS", 2000, minimum=100)
# Files up to this size are applied during the upload request (still chunk by
# chunk); larger ones in the background with a progress bar.
OPTOUT_IMPORT_INLINE_MAX_BYTES = env_int("MUNJA_OPTOUT_IMPORT_INLINE_KB", 64, minimum=0) * 1024
# How often a token's "last used" time is written: at most once per this many
# seconds, so API reads stay reads.
API_TOKEN_USE_RECORD_SECONDS = env_int("MUNJA_API_TOKEN_USE_RECORD_SECONDS", 300, minimum=1)
DATA_UPLOAD_MAX_MEMORY_SIZE = 10 * 1024 * 1024
# Audience files (csv, xlsx): Django has no per-file cap, so these are ours.
AUDIENCE_FILE_MAX_BYTES = env_int("MUNJA_AUDIENCE_FILE_MAX_MB", 50, minimum=1) * 1024 * 1024
AUDIENCE_FILE_MAX_ROWS = env_int("MUNJA_AUDIENCE_FILE_MAX_ROWS", 1_000_000, minimum=1)
# An xlsx is a zip: its declared uncompressed size is checked before reading
# (zip bombs). A million-row sheet with a few columns is about 200 MB of XML.
AUDIENCE_FILE_MAX_UNCOMPRESSED_BYTES = (
    env_int("MUNJA_AUDIENCE_FILE_MAX_UNCOMPRESSED_MB", 1024, minimum=1) * 1024 * 1024
)
# A workbook whose first sheet's XML is larger than this is read by our
# streaming reader (console/lib/xlsx.py) instead of python-calamine, which
# holds the whole sheet in memory (docs/decisions.md).
XLSX_STREAM_BYTES = env_int("MUNJA_XLSX_STREAM_BYTES", 32 * 1024 * 1024, minimum=0)
# Files up to this size are validated within the upload request; larger ones
# in the background with a progress bar.
AUDIENCE_FILE_INLINE_MAX_BYTES = env_int("MUNJA_AUDIENCE_FILE_INLINE_KB", 512, minimum=0) * 1024
FILE_UPLOAD_MAX_MEMORY_SIZE = 2 * 1024 * 1024

# --- I18n ------------------------------------------------------------------------
LANGUAGE_CODE = env_str("MUNJA_LANGUAGE", "ko")
LANGUAGES = [("ko", _("Korean")), ("en", _("English"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
USE_I18N = True
# One way to write dates and numbers in each language (console/formats/);
# amounts of money go through console/templatetags/munja_format.py.
FORMAT_MODULE_PATH = ["console.formats"]
# The currency of conversion revenue (prices carry their own).
CURRENCY = env_str("MUNJA_CURRENCY", "KRW")
TIME_ZONE = env_str("MUNJA_TIME_ZONE", "Asia/Seoul")
USE_TZ = True

# --- Static files --------------------------------------------------------------
STATIC_URL = "/static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
# Bootstrap comes as a wheel (django-include-bootstrap) so that `make run`
# needs nothing but Python; its files are served under static/bootstrap/.
STATICFILES_DIRS = [
    BASE_DIR / "static",
    ("bootstrap", Path(django_include_bootstrap.__file__).parent / "static"),
]
# Production serves hashed, compressed files made by `collectstatic`; development
# and tests serve them straight from the apps.
STATIC_MANIFEST = env_bool("MUNJA_STATIC_MANIFEST", not DEBUG)
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "whitenoise.storage.CompressedManifestStaticFilesStorage"
            if STATIC_MANIFEST
            else "django.contrib.staticfiles.storage.StaticFilesStorage"
        )
    },
}
WHITENOISE_USE_FINDERS = not STATIC_MANIFEST
WHITENOISE_AUTOREFRESH = DEBUG

# --- API -------------------------------------------------------------------------
API_RATE_PER_MINUTE = env_int("MUNJA_API_RATE_PER_MINUTE", 600, minimum=1)
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": ["console.api.authentication.ProjectTokenAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["console.api.permissions.HasProjectToken"],
    "DEFAULT_THROTTLE_CLASSES": ["console.api.throttling.ProjectRateThrottle"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "console.api.errors.exception_handler",
    "DEFAULT_PAGINATION_CLASS": "console.api.pagination.CursorPagination",
    "PAGE_SIZE": 100,
    "UNAUTHENTICATED_USER": None,
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Munja API",
    "DESCRIPTION": "Send SMS, manage audiences and the 080 opt-out list.",
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "ENUM_NAME_OVERRIDES": {
        "CampaignStatusEnum": "campaigns.models.Campaign.Status",
        "CampaignSourceEnum": "campaigns.models.Campaign.Source",
        "MessageStatusEnum": "dispatch.models.Message.Status",
        "SendTargetStatusEnum": ["queued", "skipped", "refused"],
    },
}

# --- Gateways and the sandbox carrier ------------------------------------------
SANDBOX_CARRIER_URL = env_str("MUNJA_SANDBOX_URL", "http://127.0.0.1:8025").rstrip("/")
# Shared between the console and the sandbox carrier: it signs delivery reports
# and 080 calls with it, the console's inbound endpoints verify them.
SANDBOX_CARRIER_SECRET = env_str("MUNJA_SANDBOX_SECRET", "") or SECRET_KEY

# --- Outgoing webhooks (webhooks app) ------------------------------------------------
# A receiver slower than this is a failed attempt and is retried.
WEBHOOK_TIMEOUT_SECONDS = env_float("MUNJA_WEBHOOK_TIMEOUT_SECONDS", 10.0, minimum=0.1)
# First retry delay; each further retry doubles it (with jitter, capped at 6 h).
WEBHOOK_BACKOFF_SECONDS = env_float("MUNJA_WEBHOOK_BACKOFF_SECONDS", 30.0, minimum=0.0)
# How long an event is retried before it is marked failed.
WEBHOOK_MAX_AGE_HOURS = env_float("MUNJA_WEBHOOK_MAX_AGE_HOURS", 72.0, minimum=0.0)
# Receiver addresses (docs/webhooks.md, webhooks/addresses.py): loopback,
# link-local, metadata, multicast and reserved addresses are refused unless
# listed here (e.g. "127.0.0.0/8,::1" for a receiver on the same machine).
WEBHOOK_ALLOWED_NETWORKS = env_networks("MUNJA_WEBHOOK_ALLOWED_NETWORKS", [])
# Private ranges (10/8, 172.16/12, 192.168/16, 100.64/10, fc00::/7): allowed
# by default, since a self-hosted Munja usually posts to an internal system.
WEBHOOK_ALLOW_PRIVATE = env_bool("MUNJA_WEBHOOK_ALLOW_PRIVATE", True)
# Keep the first 500 characters of each receiver's answer in the delivery log.
# Off by default: the log is read by project admins, the answer is not theirs.
WEBHOOK_LOG_RESPONSE_BODY = env_bool("MUNJA_WEBHOOK_LOG_RESPONSE_BODY", False)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env_str("MUNJA_LOG_LEVEL", "INFO")},
    "loggers": {"django.db.backends": {"level": "WARNING"}},
}
