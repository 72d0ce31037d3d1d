"""Fixed-window rate limits per person and per client address (429 with ``Retry-After``), so a
script cannot crowd out students. Counters live in the cache: Redis when ``REDIS_URL`` is set
(shared by every process), the process's own memory otherwise."""

from __future__ import annotations

import math
import time
from typing import Any

from django.conf import settings
from django.http import HttpRequest

from smartclinic.core.cache import count_in_window
from smartclinic.core.errors import RateLimited


def parse_rate(rate: str) -> tuple[int, int]:
    """``"10/60"`` → (10 requests, 60 seconds)."""
    count, _, seconds = rate.partition("/")
    return int(count), int(seconds or 1)


def hit(*, scope: str, ident: str, rate: str, now: float | None = None) -> None:
    """Count one request; raise ``RateLimited`` once the window's allowance is used up."""
    allowed, window = parse_rate(rate)
    if allowed <= 0:
        return
    now = time.time() if now is None else now
    window_start = int(now // window) * window
    count = count_in_window(f"rl:{scope}:{ident}:{window_start}", timeout=window + 1)
    if count > allowed:
        retry_after = max(1, math.ceil(window_start + window - now))
        raise RateLimited(retry_after=retry_after)


def client_address(request: HttpRequest) -> str:
    return request.META.get("REMOTE_ADDR", "") or "unknown"


def limit_booking_writes(request: HttpRequest, *, user: Any) -> None:
    limit_booking_writes_from(address=client_address(request), user_id=user.pk)


def limit_booking_writes_from(*, address: str, user_id: int) -> None:
    hit(scope="book-user", ident=str(user_id), rate=settings.RATE_LIMIT_BOOKING_PER_USER)
    if address not in settings.RATE_LIMIT_EXEMPT_ADDRESSES:
        hit(scope="book-ip", ident=address, rate=settings.RATE_LIMIT_BOOKING_PER_ADDRESS)
