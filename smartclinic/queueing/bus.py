"""Wake the live streams (screens, stations, phones) after a queue change commits.

The events themselves are rows (``QueueEvent``); the bus only says "look again" on a few
channels (``all``, ``dept:<id>``, ``doctor:<id>``, ``ticket:<id>``). A stream that misses a
wake-up loses nothing: it re-reads the table every ``QUEUE_STREAM_POLL_SECONDS`` anyway, and a
reconnecting client replays from its ``Last-Event-ID``.

Fan-out:

- in this process, at once, to every subscriber whose channels match (thread-safe: publishers
  are request threads, subscribers are asyncio streams under ASGI or threads under WSGI);
- to every other process through Redis pub/sub when ``REDIS_URL`` is set: one Redis channel,
  one ``redis.asyncio`` listener task per event loop (per uvicorn worker) that runs while the
  loop has subscribers and hands each message to the local subscribers. A message carries the
  publishing process's id, so the publisher does not wake its own streams twice.

If Redis is down, publishing logs a warning and carries on: the change is committed, and the
other processes' streams pick it up at their next poll.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import threading
import uuid
import weakref
from collections.abc import Iterable
from typing import Any

# redis is imported up front, not on the first publish: a cold import there added a few
# hundred milliseconds to the first call the screens heard from a fresh process.
import redis
import redis.asyncio as aioredis
from django.conf import settings
from django.db import transaction

logger = logging.getLogger(__name__)

ORIGIN = uuid.uuid4().hex  # this process
ALL = "all"


def channels_for(
    *, department_id: int | None = None, doctor_ids: Iterable[int | None] = (), ticket_id: int | None = None
) -> set[str]:
    channels = {ALL}
    if department_id is not None:
        channels.add(f"dept:{department_id}")
    channels.update(f"doctor:{doctor_id}" for doctor_id in doctor_ids if doctor_id is not None)
    if ticket_id is not None:
        channels.add(f"ticket:{ticket_id}")
    return channels


# --- subscribers --------------------------------------------------------------------------------


class Subscriber:
    """One open stream: the channels it listens to and a flag that is raised on a wake-up."""

    def __init__(self, channels: Iterable[str]) -> None:
        self.channels: frozenset[str] = frozenset(channels)

    def notify(self) -> None:  # pragma: no cover - overridden
        raise NotImplementedError


class AsyncSubscriber(Subscriber):
    def __init__(self, channels: Iterable[str], loop: asyncio.AbstractEventLoop) -> None:
        super().__init__(channels)
        self.loop = loop
        self.event = asyncio.Event()

    def notify(self) -> None:
        # Publishers run in other threads; asyncio.Event is not thread-safe.
        with contextlib.suppress(RuntimeError):  # the loop is closed: the stream is gone
            self.loop.call_soon_threadsafe(self.event.set)

    def clear(self) -> None:
        self.event.clear()

    async def wait(self, timeout: float) -> bool:
        try:
            await asyncio.wait_for(self.event.wait(), timeout)
        except TimeoutError:
            return False
        return True


class SyncSubscriber(Subscriber):
    def __init__(self, channels: Iterable[str]) -> None:
        super().__init__(channels)
        self.event = threading.Event()

    def notify(self) -> None:
        self.event.set()

    def clear(self) -> None:
        self.event.clear()

    def wait(self, timeout: float) -> bool:
        return self.event.wait(timeout)


class Hub:
    """This process's subscribers."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._subscribers: set[Subscriber] = set()

    def add(self, subscriber: Subscriber) -> None:
        with self._lock:
            self._subscribers.add(subscriber)

    def remove(self, subscriber: Subscriber) -> None:
        with self._lock:
            self._subscribers.discard(subscriber)

    def listen(self, subscriber: Subscriber, channels: Iterable[str]) -> None:
        with self._lock:
            subscriber.channels = frozenset(channels)

    def deliver(self, channels: Iterable[str]) -> int:
        wanted = set(channels)
        with self._lock:
            targets = [s for s in self._subscribers if not s.channels.isdisjoint(wanted)]
        for subscriber in targets:
            subscriber.notify()
        return len(targets)

    def count(self) -> int:
        with self._lock:
            return len(self._subscribers)


hub = Hub()


# --- publishing -----------------------------------------------------------------------------------

_redis_lock = threading.Lock()
_redis_client: Any = None


def _redis() -> Any:
    global _redis_client
    with _redis_lock:
        if _redis_client is None:
            _redis_client = redis.Redis.from_url(
                settings.REDIS_URL, socket_timeout=1.0, socket_connect_timeout=1.0, health_check_interval=30
            )
        return _redis_client


def publish(channels: Iterable[str]) -> None:
    """Wake the streams listening on ``channels``, here and (with Redis) in every other process."""
    channels = sorted(set(channels))
    hub.deliver(channels)
    if settings.REDIS_URL:
        message = json.dumps({"o": ORIGIN, "c": channels}, separators=(",", ":"))
        try:
            _redis().publish(settings.QUEUE_REDIS_CHANNEL, message)
        except Exception as exc:  # noqa: BLE001 - a lost wake-up only delays the screens (poll)
            logger.warning("queue bus: Redis publish failed (%s); other processes will poll", exc)


def announce_after_commit(*, channels: Iterable[str]) -> None:
    """Publish once the surrounding transaction commits (never for a change that rolls back)."""
    frozen = frozenset(channels)
    transaction.on_commit(lambda: publish(frozen))


# --- Redis listener (one per event loop) ---------------------------------------------------------


class _Listener:
    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.ready = asyncio.Event()
        self.users = 0
        self.task = loop.create_task(self._run(), name="smartclinic-queue-bus")

    async def _run(self) -> None:
        delay = 0.5
        while True:
            client = aioredis.Redis.from_url(settings.REDIS_URL, socket_connect_timeout=2.0)
            pubsub = client.pubsub()
            try:
                await pubsub.subscribe(settings.QUEUE_REDIS_CHANNEL)
                while True:
                    message = await pubsub.get_message(timeout=30.0)
                    if message is None:
                        continue
                    if message["type"] == "subscribe":
                        self.ready.set()
                        delay = 0.5
                    elif message["type"] == "message":
                        _deliver_remote(message["data"])
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001 - keep listening; streams poll meanwhile
                self.ready.clear()
                logger.warning("queue bus: Redis listener lost (%s); retrying in %.1fs", exc, delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 10.0)
            finally:
                with contextlib.suppress(Exception):
                    await pubsub.aclose()
                with contextlib.suppress(Exception):
                    await client.aclose()


def _deliver_remote(raw: bytes | str) -> None:
    try:
        message = json.loads(raw)
        if message.get("o") == ORIGIN:
            return
        hub.deliver(message.get("c") or [ALL])
    except (ValueError, AttributeError, TypeError):
        logger.warning("queue bus: ignored a malformed message %r", raw[:200])


_listeners: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _Listener] = weakref.WeakKeyDictionary()


async def subscribe_async(channels: Iterable[str], *, ready_timeout: float = 2.0) -> AsyncSubscriber:
    """Subscribe the current stream; with Redis, wait (briefly) until this loop's listener is
    subscribed, so the stream's first read of the table cannot race a remote publish."""
    loop = asyncio.get_running_loop()
    subscriber = AsyncSubscriber(channels, loop)
    hub.add(subscriber)
    if settings.REDIS_URL:
        listener = _listeners.get(loop)
        if listener is None or listener.task.done():
            listener = _listeners[loop] = _Listener(loop)
        listener.users += 1
        subscriber.listener = listener  # type: ignore[attr-defined]
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(listener.ready.wait(), ready_timeout)
    return subscriber


async def unsubscribe_async(subscriber: AsyncSubscriber) -> None:
    hub.remove(subscriber)
    listener: _Listener | None = getattr(subscriber, "listener", None)
    if listener is None:
        return
    listener.users -= 1
    if listener.users <= 0 and _listeners.get(subscriber.loop) is listener:
        del _listeners[subscriber.loop]
        listener.task.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await listener.task


def subscribe_sync(channels: Iterable[str]) -> SyncSubscriber:
    """A stream served by a thread (WSGI: runserver, the test server). It hears this process's
    publishes at once and everything else at its next poll."""
    subscriber = SyncSubscriber(channels)
    hub.add(subscriber)
    return subscriber


def unsubscribe_sync(subscriber: SyncSubscriber) -> None:
    hub.remove(subscriber)
