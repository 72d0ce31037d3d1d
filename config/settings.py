"""SmartClinic settings: one module, production differs only by environment variables.

See the README's "Configuration" section for every variable and its default.
"""

from __future__ import annotations

import base64
import hashlib
import os
from pathlib import Path

import dj_database_url
import django_stubs_ext
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

from config.env import env_bool, env_int, env_list, env_str

# Lets admin/queryset classes be subscripted at runtime (ModelAdmin[Model]) for mypy.
django_stubs_ext.monkeypatch()

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = BASE_DIR / "var"

DEBUG = env_bool("DEBUG", default=False)
TESTING = env_bool("SMARTCLINIC_TESTING", default=False)
# `make demo`: production-like (DEBUG off) but allowed to talk to the local provider stand-ins.
DEMO = env_bool("SMARTCLINIC_DEMO", default=False)

_INSECURE_KEY = "django-insecure-smartclinic-development-only"
SECRET_KEY = env_str("SECRET_KEY") or ""
if not SECRET_KEY:
    if not (DEBUG or TESTING):
        raise ImproperlyConfigured(
            "SECRET_KEY (or SECRET_KEY_FILE) must be set when DEBUG is off. "
            "Generate one with: python -c 'import secrets; print(secrets.token_urlsafe(50))'"
        )
    SECRET_KEY = _INSECURE_KEY
elif len(SECRET_KEY) < 32 and not (DEBUG or TESTING):
    raise ImproperlyConfigured("SECRET_KEY is too short: use at least 32 random characters.")


def _field_encryption_keys() -> list[bytes]:
    """Fernet keys for personal data at rest; the first encrypts, all decrypt (rotation)."""
    raw = env_str("FIELD_ENCRYPTION_KEYS")
    if raw:
        return [key.strip().encode() for key in raw.split(",") if key.strip()]
    if not (DEBUG or TESTING):
        raise ImproperlyConfigured(
            "FIELD_ENCRYPTION_KEYS (or FIELD_ENCRYPTION_KEYS_FILE) must be set when DEBUG is off. "
            "Generate one with: python -c 'from cryptography.fernet import Fernet; "
            "print(Fernet.generate_key().decode())'"
        )
    digest = hashlib.sha256(b"smartclinic-field-key:" + SECRET_KEY.encode()).digest()
    return [base64.urlsafe_b64encode(digest)]


FIELD_ENCRYPTION_KEYS = _field_encryption_keys()
# Keyed hash for searchable personal identifiers (national ID); separate from the encryption key.
LOOKUP_HASH_KEY = (env_str("LOOKUP_HASH_KEY") or ("lookup:" + SECRET_KEY)).encode()

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["127.0.0.1", "localhost", "[::1]"] if not DEBUG else ["*"])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "ninja",  # serves the API docs' assets locally instead of from a CDN
    "smartclinic.core",
    "smartclinic.audit",
    "smartclinic.outbox",
    "smartclinic.identity",
    "smartclinic.scheduling",
    "smartclinic.booking",
    "smartclinic.billing",
    "smartclinic.queueing",
    "smartclinic.visits",
    "smartclinic.feedback",
    "smartclinic.interop",
    "smartclinic.notifications",
    "smartclinic.demo",
]

MIDDLEWARE = [
    "smartclinic.core.admission.AdmissionMiddleware",  # first: sheds before any other work
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "smartclinic.core.middleware.RequestIdMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"
ASGI_APPLICATION = "config.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "smartclinic.notifications.context_processors.inbox",
            ],
        },
    },
]

# --- database -------------------------------------------------------------------------------
_DEFAULT_SQLITE = f"sqlite:///{VAR_DIR / 'smartclinic.sqlite3'}"
DATABASE_URL = env_str("DATABASE_URL") or _DEFAULT_SQLITE
_db = dj_database_url.parse(DATABASE_URL)
# PostgreSQL: the booking path's token and slot look-ups as prepared statements
# (smartclinic/core/compiled.py); 0 behind a pooler that cannot keep them (transaction mode).
DATABASE_PREPARED_HOT_QUERIES = env_bool("DATABASE_PREPARED_HOT_QUERIES", default=True)
if _db["ENGINE"] == "django.db.backends.sqlite3":
    # IMMEDIATE takes the write lock at BEGIN, so concurrent writers queue instead of failing
    # with "database is locked" half-way through a transaction.
    _db["OPTIONS"] = {
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON;",
    }
    _db["CONN_MAX_AGE"] = 0
    # A file, not shared-cache memory: concurrency tests need real locking between connections.
    # One file per test process, so parallel runs never share (or delete) each other's database.
    _db["TEST"] = {"NAME": str(VAR_DIR / f"test-{os.getpid()}.sqlite3")}
elif _db["ENGINE"] == "django.db.backends.postgresql":
    # 0 (default): a connection per request, taken from the psycopg pool (recommended under
    # ASGI). > 0: persistent connections, one per worker thread, kept for that many seconds (the
    # better choice for gunicorn's sync workers: no pool round trip per request); pool off.
    _db["CONN_MAX_AGE"] = env_int("DATABASE_CONN_MAX_AGE", 0)
    _db["OPTIONS"] = {}
    if _db["CONN_MAX_AGE"] == 0 and env_bool("DATABASE_POOL", default=not TESTING):
        _db["OPTIONS"]["pool"] = {"min_size": 1, "max_size": env_int("DATABASE_POOL_MAX", 12), "timeout": 10}
    if DATABASE_PREPARED_HOT_QUERIES:
        # psycopg prepares nothing unless a threshold is set; Django's cursors bind client-side
        # and never prepare, so this only lets the explicit prepared cursor do so.
        _db["OPTIONS"]["prepare_threshold"] = 2**31 - 1
else:
    raise ImproperlyConfigured(f"DATABASE_URL {DATABASE_URL!r}: only sqlite and postgres are supported.")
DATABASES = {"default": _db}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- cache (and later: rate limits, pub/sub) -----------------------------------------------
REDIS_URL = env_str("REDIS_URL") or ""
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "smartclinic.core.cache.RedisCache",  # Django's, one client per process
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": "smartclinic",
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

# --- auth -----------------------------------------------------------------------------------
AUTH_USER_MODEL = "identity.User"
LOGIN_URL = "identity:login"
LOGIN_REDIRECT_URL = "identity:home"
LOGOUT_REDIRECT_URL = "identity:login"
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
API_TOKEN_TTL_HOURS = env_int("API_TOKEN_TTL_HOURS", 24 * 7)
# A token's last-use stamp (once a minute at most) is written this many seconds later, in a batch
# with the process's others, not by the request (identity/token_use.py); 0: at once, in the request.
API_TOKEN_LAST_USE_FLUSH_SECONDS = env_int("API_TOKEN_LAST_USE_FLUSH_SECONDS", 0 if TESTING else 10)
CARD_BINDING_MAX_FAILURES = env_int("CARD_BINDING_MAX_FAILURES", 5)
CARD_BINDING_LOCK_MINUTES = env_int("CARD_BINDING_LOCK_MINUTES", 60)

# --- i18n / time ----------------------------------------------------------------------------
LANGUAGE_CODE = "zh-hans"
LANGUAGES = [("zh-hans", _("Simplified Chinese")), ("en", _("English"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
USE_I18N = True
TIME_ZONE = env_str("TIME_ZONE") or "Asia/Shanghai"
USE_TZ = True

# --- static ---------------------------------------------------------------------------------
STATIC_URL = "/static/"
STATIC_ROOT = VAR_DIR / "static"
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
        if (DEBUG or TESTING)
        else "whitenoise.storage.CompressedManifestStaticFilesStorage"
    },
}
WHITENOISE_USE_FINDERS = DEBUG or TESTING

# --- security (production defaults; `manage.py check --deploy` passes with HTTPS env) --------
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"
SECURE_REFERRER_POLICY = "same-origin"
_HTTPS = env_bool("HTTPS", default=False)
SESSION_COOKIE_SECURE = _HTTPS
CSRF_COOKIE_SECURE = _HTTPS
SECURE_SSL_REDIRECT = _HTTPS
SECURE_HSTS_SECONDS = 31536000 if _HTTPS else 0
SECURE_HSTS_INCLUDE_SUBDOMAINS = _HTTPS
SECURE_HSTS_PRELOAD = _HTTPS
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https") if env_bool("BEHIND_PROXY") else None

# --- booking rules ---------------------------------------------------------------------------
BOOKING_MAX_LIVE_APPOINTMENTS = env_int("BOOKING_MAX_LIVE_APPOINTMENTS", 3)
BOOKING_NO_SHOW_LIMIT = env_int("BOOKING_NO_SHOW_LIMIT", 3)
BOOKING_NO_SHOW_WINDOW_DAYS = env_int("BOOKING_NO_SHOW_WINDOW_DAYS", 90)
BOOKING_NO_SHOW_BLOCK_DAYS = env_int("BOOKING_NO_SHOW_BLOCK_DAYS", 30)
WAITLIST_CONFIRM_MINUTES = env_int("WAITLIST_CONFIRM_MINUTES", 30)

# Booking writes per person and per client address ("count/seconds"; a campus NAT puts many
# students behind one address, so that limit is generous).
RATE_LIMIT_BOOKING_PER_USER = env_str("RATE_LIMIT_BOOKING_PER_USER") or "12/60"
RATE_LIMIT_BOOKING_PER_ADDRESS = env_str("RATE_LIMIT_BOOKING_PER_ADDRESS") or "1200/60"
RATE_LIMIT_EXEMPT_ADDRESSES = env_list("RATE_LIMIT_EXEMPT_ADDRESSES", [])

# Admission control (smartclinic/core/admission.py): a request to these paths that waited in the
# queue in front of the workers longer than ADMISSION_MAX_QUEUE_MS (measured from the proxy's
# X-Request-Start stamp; 0 turns shedding off) is answered 503 with Retry-After at once.
ADMISSION_MAX_QUEUE_MS = env_int("ADMISSION_MAX_QUEUE_MS", 30)
ADMISSION_PATHS = env_list("ADMISSION_PATHS", ["/api/v1/appointments", "/api/v1/slots"])
ADMISSION_RETRY_AFTER = env_int("ADMISSION_RETRY_AFTER", 1)
# Under ASGI (uvicorn), at most this many requests to ADMISSION_PATHS per worker process at a
# time, the rest 503 at once (0: no limit): the booking fast path's threads busy, and a couple
# waiting behind them so that they never idle. Under `python -m smartclinic.serve` with several
# workers the limit is the server's: workers x this many in all, wherever the connections land,
# one worker taking up to ADMISSION_WORKER_MAX_IN_FLIGHT of them (ADR 0006, session 25).
ADMISSION_MAX_IN_FLIGHT = env_int("ADMISSION_MAX_IN_FLIGHT", 4)
ADMISSION_WORKER_MAX_IN_FLIGHT = env_int("ADMISSION_WORKER_MAX_IN_FLIGHT", 8)
# Beyond those, up to ADMISSION_MAX_WAITING more per process may wait in the event loop for a
# place for at most ADMISSION_MAX_WAIT_MS (no CPU spent; keeps the workers fed between bursts);
# the rest are shed at once. Off by default: measured here, the in-flight requests already keep
# the threads busy, and a shed then answers in 14 ms at p99 instead of 61-70 ms.
ADMISSION_MAX_WAITING = env_int("ADMISSION_MAX_WAITING", 64)
ADMISSION_MAX_WAIT_MS = env_int("ADMISSION_MAX_WAIT_MS", 0)
# While slots are selling out, a booking for a slot the process does not know to be full may
# wait for a place instead, among at most ADMISSION_HOPEFUL_WAITING others, for at most
# ADMISSION_HOPEFUL_WAIT_MS: the places go to bookings that can succeed first; one bound for a
# full slot is shed as before (ADR 0006, session 16). 0 turns it off.
ADMISSION_HOPEFUL_WAITING = env_int("ADMISSION_HOPEFUL_WAITING", 4)
ADMISSION_HOPEFUL_WAIT_MS = env_int("ADMISSION_HOPEFUL_WAIT_MS", 20)
# Under ASGI the Retry-After of a shed is its place in a virtual queue served at the process's
# best recent rate; past this many seconds the returns are spread at random up to it instead.
# A bound, not a tuning knob: a short one sends a flood larger than it back all at once (5 s on
# a slow 2-core box: 100,000 sheds and the last slot sold 24 s after the release; 60 s: 11,000
# and 12 s; ADR 0006).
ADMISSION_RETRY_AFTER_MAX = env_int("ADMISSION_RETRY_AFTER_MAX", 60)
# The virtual queue's pace, per process: at least this many shed clients a second are told to
# come back (more when the process has lately completed more). In a release-second flood the
# process completes far fewer than it can (the flood takes the CPU), and paced by that the
# returns left the workers a third idle after it (ADR 0006, session 5). Set it to what one
# worker books a second when busy (make bench-rush: closed-loop bookings/s / workers).
# 0: learned only.
ADMISSION_QUEUE_RATE = env_int("ADMISSION_QUEUE_RATE", 100)
# Under ASGI, answers to these public GETs are kept this long in each process, and concurrent
# misses collapsed into one (smartclinic/core/microcache.py): the slot list in a rush. 0: off.
MICROCACHE_PATHS = env_list("MICROCACHE_PATHS", ["/api/v1/slots"])
MICROCACHE_TTL_MS = env_int("MICROCACHE_TTL_MS", 1000)
# While a refresh runs (or after it failed), an answer up to this old is served meanwhile.
MICROCACHE_STALE_MS = env_int("MICROCACHE_STALE_MS", 5000)
# Refreshes running at once per process (each holds a database connection; they skip admission).
MICROCACHE_MAX_REFRESHING = env_int("MICROCACHE_MAX_REFRESHING", 2)
# What the booking path learns about a slot's places ("slot full", a booking) is applied to the
# cached slot lists until their next read, in every worker process (booking/slot_marks.py).
SLOT_MARKS = env_bool("SLOT_MARKS", True)
# Under ASGI, POST /api/v1/appointments with a bearer token skips Django's request stack
# (smartclinic/booking/fastpath.py, ADR 0006); the same code books. 0 sends it through Django.
BOOKING_FAST_PATH = env_bool("BOOKING_FAST_PATH", True)
# Threads per worker process for it, each with a database connection (keep DATABASE_POOL_MAX above).
BOOKING_FAST_PATH_THREADS = env_int("BOOKING_FAST_PATH_THREADS", 2)
# Those threads run this much nicer than the event loop that hands them their bookings (Linux;
# 0: as nice): in a flood the loop, which reads every request and answers the excess at once,
# then keeps pace instead of falling seconds behind the bookings it admitted (ADR 0006, session 18).
BOOKING_FAST_PATH_NICE = env_int("BOOKING_FAST_PATH_NICE", 5)
# Idle request threads each worker keeps for Django's synchronous code under ASGI, instead of a
# thread started (and another to join it) per request (smartclinic/core/asgi_handler.py).
ASGI_KEPT_THREADS = env_int("ASGI_KEPT_THREADS", 16)

# --- feedback --------------------------------------------------------------------------------
FEEDBACK_WINDOW_DAYS = env_int("FEEDBACK_WINDOW_DAYS", 7)

# --- outbox worker --------------------------------------------------------------------------
OUTBOX_MAX_ATTEMPTS = env_int("OUTBOX_MAX_ATTEMPTS", 8)
OUTBOX_LEASE_SECONDS = env_int("OUTBOX_LEASE_SECONDS", 300)
OUTBOX_BACKOFF_BASE_SECONDS = env_int("OUTBOX_BACKOFF_BASE_SECONDS", 5)

# --- queueing ---------------------------------------------------------------------------------
# Live streams (SSE): a wake-up travels through Redis pub/sub when REDIS_URL is set, in-process
# otherwise; each stream also re-reads the queue events every POLL seconds (a publisher in another
# process without Redis, a lost message) and sends a comment every HEARTBEAT seconds.
QUEUE_STREAM_POLL_SECONDS = float(env_int("QUEUE_STREAM_POLL_MS", 3000)) / 1000
QUEUE_STREAM_HEARTBEAT_SECONDS = float(env_int("QUEUE_STREAM_HEARTBEAT_MS", 15000)) / 1000
QUEUE_STREAM_MAX_SECONDS = env_int("QUEUE_STREAM_MAX_SECONDS", 1800)  # then the client reconnects
QUEUE_STREAM_RETRY_MS = env_int("QUEUE_STREAM_RETRY_MS", 2000)
QUEUE_REDIS_CHANNEL = env_str("QUEUE_REDIS_CHANNEL") or "smartclinic:queue"
# The patient's ticket QR is valid for the day; the clinic's check-in QR for a couple of minutes
# (the entrance page shows a new one every QUEUE_CLINIC_CODE_REFRESH_SECONDS).
QUEUE_TICKET_CODE_MAX_AGE = env_int("QUEUE_TICKET_CODE_MAX_AGE", 24 * 3600)
QUEUE_CLINIC_CODE_MAX_AGE = env_int("QUEUE_CLINIC_CODE_MAX_AGE", 120)
QUEUE_CLINIC_CODE_REFRESH_SECONDS = env_int("QUEUE_CLINIC_CODE_REFRESH_SECONDS", 45)
QUEUE_SELF_CHECK_IN_MINUTES = env_int("QUEUE_SELF_CHECK_IN_MINUTES", 10)
# --- end queueing -----------------------------------------------------------------------------

# --- billing ----------------------------------------------------------------------------------
# WeChat Pay API v3 (direct merchant, JSAPI inside WeChat), in platform-PUBLIC-KEY mode: the client
# downloads nothing at start-up (certificate mode would). Secrets may come from *_FILE variables.
#   WECHATPAY_MCHID              merchant number (商户号); unset = WeChat Pay off (see STANDIN below)
#   WECHATPAY_APPID              the official account's AppID the payer's openid belongs to
#   WECHATPAY_MERCHANT_SERIAL_NO serial number of the merchant API certificate (商户API证书序列号)
#   WECHATPAY_PRIVATE_KEY        merchant API private key, PEM (apiclient_key.pem); signs our requests
#   WECHATPAY_APIV3_KEY          the 32-character APIv3 key; decrypts notification resources
#   WECHATPAY_PUBLIC_KEY         WeChat Pay platform public key, PEM (微信支付公钥); verifies answers
#   WECHATPAY_PUBLIC_KEY_ID      its id, "PUB_KEY_ID_…"; a notification signed under another is refused
#   WECHATPAY_NOTIFY_URL         public HTTPS URL of POST /api/v1/payments/wechat/notify
#   WECHATPAY_BASE_URL           gateway (default https://api.mch.weixin.qq.com; the stand-in's URL in tests)
#   WECHATPAY_TIMEOUT_SECONDS    read timeout of one call to the gateway
# Without WECHATPAY_MCHID and with WECHATPAY_STANDIN=1 (demo only), WeChat Pay runs against the local
# stand-in (`manage.py wechatpay_standin --port 8766`) with generated test keys in var/wechatpay-standin/.
WECHATPAY_MCHID = env_str("WECHATPAY_MCHID") or ""
WECHATPAY_APPID = env_str("WECHATPAY_APPID") or ""
WECHATPAY_MERCHANT_SERIAL_NO = env_str("WECHATPAY_MERCHANT_SERIAL_NO") or ""
WECHATPAY_PRIVATE_KEY = env_str("WECHATPAY_PRIVATE_KEY") or ""
WECHATPAY_APIV3_KEY = env_str("WECHATPAY_APIV3_KEY") or ""
WECHATPAY_PUBLIC_KEY = env_str("WECHATPAY_PUBLIC_KEY") or ""
WECHATPAY_PUBLIC_KEY_ID = env_str("WECHATPAY_PUBLIC_KEY_ID") or ""
WECHATPAY_NOTIFY_URL = env_str("WECHATPAY_NOTIFY_URL") or ""
WECHATPAY_BASE_URL = env_str("WECHATPAY_BASE_URL") or "https://api.mch.weixin.qq.com"
WECHATPAY_TIMEOUT_SECONDS = env_int("WECHATPAY_TIMEOUT_SECONDS", 10)
WECHATPAY_STANDIN = env_bool("WECHATPAY_STANDIN", default=False)
WECHATPAY_STANDIN_URL = env_str("WECHATPAY_STANDIN_URL") or "http://127.0.0.1:8766"
WECHATPAY_STANDIN_KEY_DIR = VAR_DIR / "wechatpay-standin"
# A notification whose Wechatpay-Timestamp is further off than this is refused (replay window).
WECHATPAY_NOTIFY_MAX_AGE_SECONDS = env_int("WECHATPAY_NOTIFY_MAX_AGE_SECONDS", 300)
if WECHATPAY_MCHID:
    _missing = [
        name
        for name in (
            "WECHATPAY_APPID",
            "WECHATPAY_MERCHANT_SERIAL_NO",
            "WECHATPAY_PRIVATE_KEY",
            "WECHATPAY_APIV3_KEY",
            "WECHATPAY_PUBLIC_KEY",
            "WECHATPAY_PUBLIC_KEY_ID",
            "WECHATPAY_NOTIFY_URL",
        )
        if not globals()[name]
    ]
    if _missing:
        raise ImproperlyConfigured(f"WECHATPAY_MCHID is set, so these must be set too: {', '.join(_missing)}")
    if len(WECHATPAY_APIV3_KEY) != 32:
        raise ImproperlyConfigured("WECHATPAY_APIV3_KEY must be the 32-character APIv3 key.")
if WECHATPAY_STANDIN and not (DEBUG or TESTING or DEMO):
    raise ImproperlyConfigured("WECHATPAY_STANDIN=1 is for the demo only (it needs DEBUG=1 or SMARTCLINIC_DEMO=1).")
if WECHATPAY_STANDIN and WECHATPAY_MCHID:
    raise ImproperlyConfigured("WECHATPAY_STANDIN=1 and a real WECHATPAY_MCHID exclude each other.")
# Refunds that fail at the provider are retried by the `billing.refunds` job with backoff
# (BASE × 2^attempts, capped at one hour), for as long as it takes.
BILLING_REFUND_RETRY_BASE_SECONDS = env_int("BILLING_REFUND_RETRY_BASE_SECONDS", 30)
# Largest single top-up of a campus card account at the cashier (fen).
BILLING_TOP_UP_MAX_FEN = env_int("BILLING_TOP_UP_MAX_FEN", 100000)
# --- end billing ------------------------------------------------------------------------------

# --- interop --------------------------------------------------------------------------------
# HIS hand-off (ADR 0004): each paid order and each finished visit becomes a FHIR R4 transaction
# bundle (an HisExport row, created through the outbox) that the `interop.his_export` job POSTs
# to HIS_EXPORT_URL (the HIS's FHIR base URL), retrying with backoff while the HIS is down.
#   HIS_EXPORT_URL        FHIR base URL; unset = exports are recorded as pending and not sent
#                         (they go out once it is set). https unless DEBUG/testing or
#                         HIS_EXPORT_ALLOW_HTTP=1 (a loopback or private link).
#   HIS_EXPORT_TOKEN      bearer token (or HIS_EXPORT_TOKEN_FILE); unset = no Authorization header
#   HIS_EXPORT_TIMEOUT    seconds for connecting and for reading the answer of one POST
#   HIS_EXPORT_BATCH      exports sent per run of the job (every 30 s)
#   HIS_EXPORT_RETRY_BASE_SECONDS  backoff base: BASE × 2^(attempts-1), capped at one hour, forever
#   HIS_ORGANIZATION_ID / _NAME    how the clinic is identified to the HIS (Organization)
#   HIS_ICD10_SYSTEM      code system URI of the diagnoses' ICD-10 codes (WHO ICD-10 by default)
#   HIS_ICD10_CLINICAL_SYSTEM  URI of the national clinical edition (国家临床版 2.0) codes, sent as
#                         a second coding (the default is our own URN until the HIS names one)
HIS_EXPORT_URL = (env_str("HIS_EXPORT_URL") or "").strip()
HIS_EXPORT_TOKEN = env_str("HIS_EXPORT_TOKEN") or ""
HIS_EXPORT_TIMEOUT = env_int("HIS_EXPORT_TIMEOUT", 10)
HIS_EXPORT_BATCH = env_int("HIS_EXPORT_BATCH", 20)
HIS_EXPORT_RETRY_BASE_SECONDS = env_int("HIS_EXPORT_RETRY_BASE_SECONDS", 30)
HIS_ORGANIZATION_ID = env_str("HIS_ORGANIZATION_ID") or "smartclinic"
HIS_ORGANIZATION_NAME = env_str("HIS_ORGANIZATION_NAME") or "校医院"
HIS_ICD10_SYSTEM = env_str("HIS_ICD10_SYSTEM") or "http://hl7.org/fhir/sid/icd-10"
HIS_ICD10_CLINICAL_SYSTEM = env_str("HIS_ICD10_CLINICAL_SYSTEM") or "urn:smartclinic:icd-10-cn-clinical-2.0"
if HIS_EXPORT_URL:
    if not HIS_EXPORT_URL.startswith(("https://", "http://")):
        raise ImproperlyConfigured(f"HIS_EXPORT_URL={HIS_EXPORT_URL!r} must be an http(s) URL.")
    if HIS_EXPORT_URL.startswith("http://") and not (DEBUG or TESTING or env_bool("HIS_EXPORT_ALLOW_HTTP")):
        raise ImproperlyConfigured(
            "HIS_EXPORT_URL sends patient records: use https, or set HIS_EXPORT_ALLOW_HTTP=1 for a private link."
        )
if HIS_EXPORT_TIMEOUT <= 0:
    raise ImproperlyConfigured("HIS_EXPORT_TIMEOUT must be a positive number of seconds.")
# --- end interop ----------------------------------------------------------------------------

# --- notifications --------------------------------------------------------------------------
# Messages to patients (ADR 0005): always the in-app inbox; WeChat template messages, e-mail and SMS
# when configured. Pending deliveries are sent by the `notifications.deliveries` job with retries.
#   PUBLIC_BASE_URL                 absolute base of links in WeChat messages and e-mails
#   NOTIFICATIONS_SEND_EVERY_SECONDS how often the worker sends due deliveries
#   NOTIFICATIONS_LEASE_SECONDS     how long a claimed delivery is reserved for its worker
#   NOTIFICATIONS_REMINDER_EVENING_AT  "19:00": reminders for tomorrow's visits go out after this
#   NOTIFICATIONS_REMINDER_BEFORE_MINUTES  the "1 hour before" reminder's lead time
#   NOTIFICATIONS_DEFAULT_QUIET_HOURS  "22:00-07:00" ("" for none) until a person chooses their own
#   NOTIFICATIONS_<CHANNEL>_BACKOFF_SECONDS / _MAX_ATTEMPTS  retries per channel (×2 each time, ≤ 1 h)
#   WECHAT_API_BASE / WECHAT_APP_ID / WECHAT_APP_SECRET  the official account (unset = WeChat off);
#                                   the base URL points at the local stand-in in tests and the demo
#   WECHAT_TEMPLATE_IDS             "kind=template_id,...", "*=id" for every kind without its own
#   NOTIFICATIONS_EMAIL             send e-mail (default: on when EMAIL_HOST is set); EMAIL_* is Django's SMTP
#   SMS_PROVIDER                    "" (off), "console" (DEVELOPMENT ONLY: logs, sends nothing) or the
#                                   dotted path of a class implementing notifications.channels.SmsProvider
NOTIFICATIONS_PUBLIC_BASE_URL = (env_str("PUBLIC_BASE_URL") or "http://127.0.0.1:8000").rstrip("/")
NOTIFICATIONS_SEND_EVERY_SECONDS = env_int("NOTIFICATIONS_SEND_EVERY_SECONDS", 3)
NOTIFICATIONS_SEND_BATCH = env_int("NOTIFICATIONS_SEND_BATCH", 50)
NOTIFICATIONS_LEASE_SECONDS = env_int("NOTIFICATIONS_LEASE_SECONDS", 120)
NOTIFICATIONS_REMINDER_EVENING_AT = env_str("NOTIFICATIONS_REMINDER_EVENING_AT") or "19:00"
NOTIFICATIONS_REMINDER_BEFORE_MINUTES = env_int("NOTIFICATIONS_REMINDER_BEFORE_MINUTES", 60)
NOTIFICATIONS_DEFAULT_QUIET_HOURS = env_str("NOTIFICATIONS_DEFAULT_QUIET_HOURS", "22:00-07:00") or ""
NOTIFICATIONS_RETRY = {
    channel: {
        "base_seconds": env_int(f"NOTIFICATIONS_{channel.upper()}_BACKOFF_SECONDS", base),
        "max_seconds": 3600,
        "max_attempts": env_int(f"NOTIFICATIONS_{channel.upper()}_MAX_ATTEMPTS", attempts),
    }
    for channel, base, attempts in (("wechat", 30, 12), ("email", 60, 10), ("sms", 60, 8))
}
WECHAT_API_BASE = (env_str("WECHAT_API_BASE") or "https://api.weixin.qq.com").rstrip("/")
WECHAT_APP_ID = env_str("WECHAT_APP_ID") or ""
WECHAT_APP_SECRET = env_str("WECHAT_APP_SECRET") or ""
WECHAT_TIMEOUT_SECONDS = env_int("WECHAT_TIMEOUT_SECONDS", 10)
WECHAT_TEMPLATE_IDS = dict(item.split("=", 1) for item in env_list("WECHAT_TEMPLATE_IDS", []))
EMAIL_HOST = env_str("EMAIL_HOST") or "localhost"
EMAIL_PORT = env_int("EMAIL_PORT", 25)
EMAIL_HOST_USER = env_str("EMAIL_HOST_USER") or ""
EMAIL_HOST_PASSWORD = env_str("EMAIL_HOST_PASSWORD") or ""
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", default=False)
EMAIL_USE_SSL = env_bool("EMAIL_USE_SSL", default=False)
EMAIL_TIMEOUT = env_int("EMAIL_TIMEOUT", 10)
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL") or "SmartClinic <no-reply@localhost>"
NOTIFICATIONS_EMAIL = env_bool("NOTIFICATIONS_EMAIL", default=bool(env_str("EMAIL_HOST")))
SMS_PROVIDER = env_str("SMS_PROVIDER") or ""
if WECHAT_APP_ID and not WECHAT_APP_SECRET:
    raise ImproperlyConfigured("WECHAT_APP_ID is set, so WECHAT_APP_SECRET (or WECHAT_APP_SECRET_FILE) must be too.")
if (WECHAT_APP_ID or NOTIFICATIONS_EMAIL) and not (env_str("PUBLIC_BASE_URL") or DEBUG or TESTING):
    raise ImproperlyConfigured("PUBLIC_BASE_URL must be set: links in WeChat messages and e-mails must reach the site.")
# --- end notifications ----------------------------------------------------------------------

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL") or "INFO"},
    "loggers": {"django.db.backends": {"level": "WARNING"}},
}
