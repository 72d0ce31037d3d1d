"""Django's Redis cache backend, with one Redis client per process instead of one per call.

``django.core.cache.backends.redis.RedisCache`` builds a new ``redis.Redis`` object (and its
table of ~170 response callbacks) for every cache operation: about half a millisecond of CPU
each on a small box, three times per booking for the rate limits. A ``redis.Redis`` shares its
connection pool and is safe to share between threads, so one per pool is enough. Same
behaviour, same keys and values, same options.
"""

from __future__ import annotations

from typing import Any

from django.core.cache.backends.redis import RedisCache as DjangoRedisCache
from django.core.cache.backends.redis import RedisCacheClient


class _SharedClient(RedisCacheClient):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._clients: dict[int, Any] = {}

    def get_client(self, key: Any = None, *, write: bool = False) -> Any:
        index = self._get_connection_pool_index(write)  # type: ignore[attr-defined]
        client = self._clients.get(index)
        if client is None:
            pool = self._get_connection_pool(write)  # type: ignore[attr-defined]
            client = self._clients[index] = self._client(connection_pool=pool)  # type: ignore[attr-defined]
        return client


class RedisCache(DjangoRedisCache):
    def __init__(self, server: str, params: dict[str, Any]) -> None:
        super().__init__(server, params)
        self._class = _SharedClient
