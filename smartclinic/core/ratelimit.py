"""Fixed-window rate limits per person and per client address (429 with ``Retry-After``), so a
script cannot crowd out students. Counters live in the cache: Redis when ``REDIS_URL`` is set
(shared by every process), the process's own memory otherwise."""

from __future__ import annotations

import math
import time
from typing import Any

from django.conf import settings
from django.http import HttpRequest

from smartclinic.core.cache import count_in_windows
from smartclinic.core.errors import RateLimited


def parse_rate(rate: str) -> tuple[int, int]:
    """``"10/60"`` → (10 requests, 60 seconds)."""
    count, _, seconds = rate.partition("/")
    return int(count), int(seconds or 1)


def hit(*, scope: str, ident: str, rate: str, now: float | None = None) -> None:
    """Count one request; raise ``RateLimited`` once the window's allowance is used up."""
    hit_each([(scope, ident, rate)], now=now)


def hit_each(limits: list[tuple[str, str, str]], *, now: float | None = None) -> None:
    """Count one request against each ``(scope, ident, rate)`` in one round trip to the cache;
    raise ``RateLimited`` when any allowance is used up, with the longest of their waits."""
    now = time.time() if now is None else now
    windows = []  # (key, timeout, allowed, window end)
    for scope, ident, rate in limits:
        allowed, window = parse_rate(rate)
        if allowed > 0:
            window_start = int(now // window) * window
            windows.append((f"rl:{scope}:{ident}:{window_start}", window + 1, allowed, window_start + window))
    if not windows:
        return
    counts = count_in_windows([(key, timeout) for key, timeout, _allowed, _end in windows])
    waits = [
        end - now for (_key, _timeout, allowed, end), count in zip(windows, counts, strict=True) if count > allowed
    ]
    if waits:
        raise RateLimited(retry_after=max(1, math.ceil(max(waits))))


def client_address(request: HttpRequest) -> str:
    return request.META.get("REMOTE_ADDR", "") or "unknown"


def limit_booking_writes(request: HttpRequest, *, user: Any) -> None:
    limit_booking_writes_from(address=client_address(request), user_id=user.pk)


def limit_booking_writes_from(*, address: str, user_id: int, now: float | None = None) -> None:
    """The person's limit and the client address's (unless exempt), counted together."""
    limits = [("book-user", str(user_id), settings.RATE_LIMIT_BOOKING_PER_USER)]
    if address not in settings.RATE_LIMIT_EXEMPT_ADDRESSES:
        limits.append(("book-ip", address, settings.RATE_LIMIT_BOOKING_PER_ADDRESS))
    hit_each(limits, now=now)
