"""The notification settings (the ``# --- notifications`` block of ``config/settings.py``), read
at the moment they are needed so tests and operators can change them without a restart of the
module."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.conf import settings


@dataclass(frozen=True)
class RetryPolicy:
    base_seconds: int
    max_seconds: int
    max_attempts: int


_DEFAULT_RETRY = {
    "wechat": RetryPolicy(base_seconds=30, max_seconds=3600, max_attempts=12),
    "email": RetryPolicy(base_seconds=60, max_seconds=3600, max_attempts=10),
    "sms": RetryPolicy(base_seconds=60, max_seconds=3600, max_attempts=8),
}


def retry_policy(channel: str) -> RetryPolicy:
    configured = getattr(settings, "NOTIFICATIONS_RETRY", {}).get(channel)
    if configured:
        return RetryPolicy(**configured)
    return _DEFAULT_RETRY.get(channel, _DEFAULT_RETRY["email"])


def public_base_url() -> str:
    return str(getattr(settings, "NOTIFICATIONS_PUBLIC_BASE_URL", "http://127.0.0.1:8000")).rstrip("/")


def absolute_url(link: str) -> str:
    if not link or link.startswith(("http://", "https://")):
        return link
    return public_base_url() + link


def lease_seconds() -> int:
    return int(getattr(settings, "NOTIFICATIONS_LEASE_SECONDS", 120))


def send_batch() -> int:
    return int(getattr(settings, "NOTIFICATIONS_SEND_BATCH", 50))


def parse_clock(value: str) -> dt.time:
    hours, _, minutes = value.strip().partition(":")
    return dt.time(int(hours), int(minutes or 0))


def reminder_evening_at() -> dt.time:
    return parse_clock(getattr(settings, "NOTIFICATIONS_REMINDER_EVENING_AT", "19:00"))


def reminder_before() -> dt.timedelta:
    return dt.timedelta(minutes=int(getattr(settings, "NOTIFICATIONS_REMINDER_BEFORE_MINUTES", 60)))


def default_quiet_hours() -> tuple[dt.time, dt.time] | None:
    """``"22:00-07:00"`` → (22:00, 07:00); empty → no quiet hours."""
    raw = str(getattr(settings, "NOTIFICATIONS_DEFAULT_QUIET_HOURS", "22:00-07:00") or "").strip()
    if not raw:
        return None
    start, _, end = raw.partition("-")
    return parse_clock(start), parse_clock(end)


def wechat_configured() -> bool:
    return bool(wechat_app_id() and getattr(settings, "WECHAT_APP_SECRET", ""))


def wechat_app_id() -> str:
    return str(getattr(settings, "WECHAT_APP_ID", "") or "")


def wechat_template_id(kind: str) -> str:
    """The official account's template for a kind of message, or the catch-all ``"*"``."""
    ids: dict[str, str] = getattr(settings, "WECHAT_TEMPLATE_IDS", {}) or {}
    return ids.get(kind) or ids.get("*", "")


def email_enabled() -> bool:
    return bool(getattr(settings, "NOTIFICATIONS_EMAIL", False))


def sms_provider_name() -> str:
    return str(getattr(settings, "SMS_PROVIDER", "") or "")
