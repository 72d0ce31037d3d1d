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
    "smartclinic.interop",
    "smartclinic.demo",
]

MIDDLEWARE = [
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
            ],
        },
    },
]

# --- database -------------------------------------------------------------------------------
_DEFAULT_SQLITE = f"sqlite:///{VAR_DIR / 'smartclinic.sqlite3'}"
DATABASE_URL = env_str("DATABASE_URL") or _DEFAULT_SQLITE
_db = dj_database_url.parse(DATABASE_URL)
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
    _db["CONN_MAX_AGE"] = 0  # required with the psycopg pool, and recommended under ASGI
    if env_bool("DATABASE_POOL", default=not TESTING):
        _db["OPTIONS"] = {"pool": {"min_size": 1, "max_size": env_int("DATABASE_POOL_MAX", 10), "timeout": 10}}
else:
    raise ImproperlyConfigured(f"DATABASE_URL {DATABASE_URL!r}: only sqlite and postgres are supported.")
DATABASES = {"default": _db}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- cache (and later: rate limits, pub/sub) -----------------------------------------------
REDIS_URL = env_str("REDIS_URL") or ""
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
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

# --- outbox worker --------------------------------------------------------------------------
OUTBOX_MAX_ATTEMPTS = env_int("OUTBOX_MAX_ATTEMPTS", 8)
OUTBOX_LEASE_SECONDS = env_int("OUTBOX_LEASE_SECONDS", 300)
OUTBOX_BACKOFF_BASE_SECONDS = env_int("OUTBOX_BACKOFF_BASE_SECONDS", 5)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL") or "INFO"},
    "loggers": {"django.db.backends": {"level": "WARNING"}},
}
