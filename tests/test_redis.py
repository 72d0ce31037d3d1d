"""With REDIS_URL the cache (and later rate limits and pub/sub) lives in Redis."""

from __future__ import annotations

import os
import uuid

import pytest

REDIS_URL = os.environ.get("SMARTCLINIC_TEST_REDIS_URL", "")

pytestmark = pytest.mark.redis


@pytest.fixture
def redis_cache():
    if not REDIS_URL:
        pytest.skip("SMARTCLINIC_TEST_REDIS_URL is not set: Redis tests skipped")
    from django.core.cache.backends.redis import RedisCache

    return RedisCache(REDIS_URL, {"KEY_PREFIX": f"test-{uuid.uuid4().hex}"})


def test_cache_round_trip_and_atomic_increment(redis_cache):
    redis_cache.set("k", {"a": 1}, 30)
    assert redis_cache.get("k") == {"a": 1}
    redis_cache.set("n", 0, 30)
    assert [redis_cache.incr("n") for _ in range(3)] == [1, 2, 3]
    redis_cache.delete_many(["k", "n"])


def test_settings_choose_redis_when_redis_url_is_set():
    import subprocess
    import sys
    from pathlib import Path

    if not REDIS_URL:
        pytest.skip("SMARTCLINIC_TEST_REDIS_URL is not set: Redis tests skipped")
    code = (
        "import django; django.setup(); from django.core.cache import caches; c = caches['default']; "
        "c.set('probe', 7, 10); print(type(c).__name__, c.get('probe'))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=Path(__file__).resolve().parent.parent,
        env={**os.environ, "REDIS_URL": REDIS_URL, "DJANGO_SETTINGS_MODULE": "config.settings"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.stdout.split() == ["RedisCache", "7"], result.stderr
