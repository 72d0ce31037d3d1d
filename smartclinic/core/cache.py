"""Django's Redis cache backend, with one Redis client per process instead of one per call.

``django.core.cache.backends.redis.RedisCache`` builds a new ``redis.Redis`` object (and its
table of ~170 response callbacks) for every cache operation: about half a millisecond of CPU
each on a small box, three times per booking for the rate limits. A ``redis.Redis`` shares its
connection pool and is safe to share between threads, so one per pool is enough. Same
behaviour, same keys and values, same options.
"""

from __future__ import annotations

import threading
from typing import Any

from django.core.cache.backends.redis import RedisCache as DjangoRedisCache
from django.core.cache.backends.redis import RedisCacheClient
from redis.exceptions import ResponseError

# Django gives every thread and every asyncio task its own cache object (``caches`` is
# context-local), so a pool kept on the object would open a new connection to Redis for each
# request served from a new context (the booking fast path's threads): the clients, and their
# connection pools, are kept per process instead, keyed by server and options.
_shared_clients: dict[tuple[str, str], Any] = {}
_shared_lock = threading.Lock()


class _SharedClient(RedisCacheClient):
    def get_client(self, key: Any = None, *, write: bool = False) -> Any:
        index = self._get_connection_pool_index(write)  # type: ignore[attr-defined]
        ident = (self._servers[index], repr(sorted(self._pool_options.items(), key=lambda kv: kv[0])))  # type: ignore[attr-defined]
        client = _shared_clients.get(ident)
        if client is None:
            with _shared_lock:
                client = _shared_clients.get(ident)
                if client is None:
                    pool = self._get_connection_pool(write)  # type: ignore[attr-defined]
                    client = _shared_clients[ident] = self._client(connection_pool=pool)  # type: ignore[attr-defined]
        return client


class RedisCache(DjangoRedisCache):
    def __init__(self, server: str, params: dict[str, Any]) -> None:
        super().__init__(server, params)
        self._class = _SharedClient


def count_in_windows(counters: list[tuple[str, int]]) -> list[int]:
    """Add one to each counter ``(key, timeout)`` (created at 1, kept ``timeout`` seconds from its
    first count) and return the new counts: one round trip to Redis for them all (INCR and
    EXPIRE NX each, in one write), ``add`` then ``incr`` on any other cache."""
    from django.core.cache import caches

    backend = caches["default"]
    if isinstance(backend, RedisCache):
        # ``make_key`` without ``validate_key``: that one warns of keys memcached would refuse
        # (a loop over every character), and these keys go to Redis.
        keys = [backend.make_key(key) for key, _timeout in counters]
        commands = []
        for full_key, (_key, timeout) in zip(keys, counters, strict=True):
            commands += [("INCR", full_key), ("EXPIRE", full_key, timeout, "NX")]
        replies = _round_trip(backend._cache.get_client(keys[0], write=True), commands)  # type: ignore[attr-defined]
        return [int(count) for count in replies[::2]]
    return [_count_in_window(backend, key, timeout) for key, timeout in counters]


def _round_trip(client: Any, commands: list[tuple[Any, ...]]) -> list[Any]:
    """The commands' replies, sent in one write on one pooled connection: what a
    non-transactional pipeline sends, without building one (redis-py's ``Pipeline`` queues,
    wraps and parses each command in Python: a third of the rate limit's CPU, on every booking).
    A connection that fails is dropped and the whole write retried by the client's retry
    policy, as the pipeline does; an error reply is raised after every reply has been read, so
    the connection goes back to the pool in step."""
    pool = client.connection_pool
    connection = pool.get_connection()

    def send_and_read() -> list[Any]:
        connection.send_packed_command(connection.pack_commands(commands))
        replies, errors = [], []
        for _command in commands:
            try:
                replies.append(connection.read_response())
            except ResponseError as error:  # read whole: the next reply follows it
                errors.append(error)
        if errors:
            raise errors[0]
        return replies

    try:
        return connection.retry.call_with_retry(send_and_read, lambda _error: connection.disconnect())
    except ResponseError:
        raise
    except BaseException:
        connection.disconnect()  # replies may be left unread: not for the next caller
        raise
    finally:
        pool.release(connection)


def _count_in_window(backend: Any, key: str, timeout: int) -> int:
    backend.add(key, 0, timeout=timeout)
    try:
        return int(backend.incr(key))
    except ValueError:  # evicted between add and incr
        backend.set(key, 1, timeout=timeout)
        return 1
