from __future__ import annotations

import os
import uuid

import pytest
from redis.exceptions import ResponseError

from smartclinic.core.errors import RateLimited
from smartclinic.core.ratelimit import hit, hit_each, limit_booking_writes_from, parse_rate

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


def test_each_limit_counts_and_the_longest_wait_is_told():
    person, address = uuid.uuid4().hex, uuid.uuid4().hex
    limits = [("p", person, "2/60"), ("a", address, "3/100")]  # windows end at 1,000,020 and 1,000,100
    hit_each(limits, now=1_000_010.0)
    hit_each(limits, now=1_000_010.0)
    with pytest.raises(RateLimited) as person_only:
        hit_each(limits, now=1_000_011.0)  # the person's third; the address's third is allowed
    assert person_only.value.extra == {"retry_after": 9}
    with pytest.raises(RateLimited) as both:
        hit_each(limits, now=1_000_012.0)  # now the address is over its allowance too
    assert both.value.extra == {"retry_after": 88}  # the address's window ends last
    hit_each([("a", address, "3/100")], now=1_000_100.0)  # the address's next window


def test_a_booking_counts_the_person_and_the_address_unless_exempt(settings):
    settings.RATE_LIMIT_BOOKING_PER_USER = "1/60"
    settings.RATE_LIMIT_BOOKING_PER_ADDRESS = "2/60"
    settings.RATE_LIMIT_EXEMPT_ADDRESSES = ["10.9.9.9"]
    address, first, second, third = uuid.uuid4().hex, 10**9 + 1, 10**9 + 2, 10**9 + 3
    now = 1_000_010.0
    limit_booking_writes_from(address=address, user_id=first, now=now)
    limit_booking_writes_from(address=address, user_id=second, now=now)
    with pytest.raises(RateLimited):  # a third person from the same address
        limit_booking_writes_from(address=address, user_id=third, now=now)
    with pytest.raises(RateLimited):  # the first person again, from an exempt address
        limit_booking_writes_from(address="10.9.9.9", user_id=first, now=now)
    for other in range(3):
        limit_booking_writes_from(address="10.9.9.9", user_id=10**9 + 4 + other, now=now)


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


@pytest.mark.redis
def test_a_bookings_limits_are_one_round_trip_to_redis(settings, monkeypatch):
    if not REDIS_URL:
        pytest.skip("SMARTCLINIC_TEST_REDIS_URL is not set: Redis tests skipped")
    from redis.connection import AbstractConnection

    prefix = f"test-{uuid.uuid4().hex}"
    settings.CACHES = {
        "default": {"BACKEND": "smartclinic.core.cache.RedisCache", "LOCATION": REDIS_URL, "KEY_PREFIX": prefix}
    }
    settings.RATE_LIMIT_BOOKING_PER_USER = "1/60"
    settings.RATE_LIMIT_EXEMPT_ADDRESSES = []
    executed = []
    original = AbstractConnection.send_packed_command

    def counting(self, command, *args, **kwargs):
        sent = b"".join(command) if isinstance(command, list | tuple) else command
        if b"INCR" in sent:  # not the connection's own hand-shake
            executed.append(sent.count(b"\r\nINCR\r\n") + sent.count(b"\r\nEXPIRE\r\n"))
        return original(self, command, *args, **kwargs)

    monkeypatch.setattr(AbstractConnection, "send_packed_command", counting)
    limit_booking_writes_from(address="10.1.1.1", user_id=7, now=3_000_010.0)
    with pytest.raises(RateLimited):
        limit_booking_writes_from(address="10.1.1.1", user_id=7, now=3_000_011.0)

    assert executed == [4, 4]  # INCR and EXPIRE NX for the person and for the address, in one write each time
    from django.core.cache import caches

    assert caches["default"].get("rl:book-ip:10.1.1.1:3000000") == 2
    caches["default"].delete_many(["rl:book-ip:10.1.1.1:3000000", "rl:book-user:7:3000000"])


@pytest.mark.redis
def test_an_error_reply_is_raised_and_the_connection_stays_in_step(settings):
    if not REDIS_URL:
        pytest.skip("SMARTCLINIC_TEST_REDIS_URL is not set: Redis tests skipped")
    from django.core.cache import caches

    settings.CACHES = {
        "default": {
            "BACKEND": "smartclinic.core.cache.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": f"test-{uuid.uuid4().hex}",
            "OPTIONS": {"max_connections": 1},  # every call on the same connection
        }
    }
    caches["default"].set("rl:t:word:999960", "not a count")
    with pytest.raises(ResponseError):  # INCR of a string; the other counter's replies are read too
        hit_each([("t", "word", "3/60"), ("t", "fine", "3/60")], now=1_000_010.0)
    hit_each([("t", "fine", "3/60")], now=1_000_010.0)  # the same connection answers its own replies
    assert caches["default"].get("rl:t:fine:999960") == 2
