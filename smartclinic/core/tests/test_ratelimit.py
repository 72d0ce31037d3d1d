from __future__ import annotations

import os
import uuid

import pytest

from smartclinic.core.errors import RateLimited
from smartclinic.core.ratelimit import hit, parse_rate

REDIS_URL = os.environ.get("SMARTCLINIC_TEST_REDIS_URL", "")


def test_parse_rate():
    assert parse_rate("10/60") == (10, 60)
    assert parse_rate("5") == (5, 1)


def test_the_window_allows_then_refuses_with_retry_after():
    ident = uuid.uuid4().hex
    for _ in range(3):
        hit(scope="t", ident=ident, rate="3/60", now=1_000_010.0)
    with pytest.raises(RateLimited) as error:
        hit(scope="t", ident=ident, rate="3/60", now=1_000_010.0)
    assert error.value.extra == {"retry_after": 10}  # the window runs from 999,960 to 1,000,020
    hit(scope="t", ident=ident, rate="3/60", now=1_000_061.0)  # next window


def test_a_zero_rate_disables_the_limit():
    for _ in range(100):
        hit(scope="t", ident="x", rate="0/60")


@pytest.mark.redis
def test_counters_live_in_redis_so_every_process_shares_them(settings):
    if not REDIS_URL:
        pytest.skip("SMARTCLINIC_TEST_REDIS_URL is not set: Redis tests skipped")
    from django.core.cache.backends.redis import RedisCache

    prefix = f"test-{uuid.uuid4().hex}"
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": prefix,
        }
    }
    another_process = RedisCache(REDIS_URL, {"KEY_PREFIX": prefix})

    hit(scope="shared", ident="u1", rate="2/60", now=2_000_010.0)
    hit(scope="shared", ident="u1", rate="2/60", now=2_000_010.0)

    assert another_process.get("rl:shared:u1:1999980") == 2
    with pytest.raises(RateLimited):
        hit(scope="shared", ident="u1", rate="2/60", now=2_000_010.0)
    another_process.delete("rl:shared:u1:1999980")
