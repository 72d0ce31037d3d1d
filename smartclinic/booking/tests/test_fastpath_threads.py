"""The booking fast path's threads: nicer than the event loop that feeds them (Linux), and each
keeps its context from one booking to the next."""

from __future__ import annotations

import asyncio
import contextvars
import json
import os
import sys
import threading
import uuid

import pytest
from django.core.cache import caches

from smartclinic.booking import fastpath
from smartclinic.booking.booking_request import BOOK_PATH
from smartclinic.booking.fastpath import BookingFastPath

linux_only = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="a nice value per thread is Linux's")


def _nice_of_this_thread() -> int:
    return os.getpriority(os.PRIO_PROCESS, threading.get_native_id())


def _nice_of_a_booking_thread(settings, nice: int) -> int:
    settings.BOOKING_FAST_PATH_NICE = nice
    fast = BookingFastPath(app=None)  # type: ignore[arg-type]  # no request goes through it
    try:
        return fast._executor.submit(_nice_of_this_thread).result(timeout=10)
    finally:
        fast._executor.shutdown(wait=True)


@linux_only
def test_the_booking_threads_run_nicer_than_the_thread_that_started_them(settings):
    before = _nice_of_this_thread()
    assert _nice_of_a_booking_thread(settings, 5) == min(19, before + 5)
    assert _nice_of_this_thread() == before  # the thread that started them keeps its own


@linux_only
def test_nothing_changes_with_zero(settings):
    assert _nice_of_a_booking_thread(settings, 0) == _nice_of_this_thread()


def test_a_booking_thread_keeps_its_context_from_one_request_to_the_next(settings, monkeypatch):
    """Django keeps ``caches`` (and more) in context variables: a booking run in a fresh copy of
    its request's context, as asgiref's ``sync_to_async`` runs it, would build a new cache object
    for every booking."""
    settings.BOOKING_FAST_PATH_THREADS = 1
    seen = []

    def book_request(**_request):
        seen.append(caches["default"])  # kept, so that no two objects can share an id
        return 201, {"id": "a"}, []

    monkeypatch.setattr(fastpath, "book_request", book_request)
    fast = BookingFastPath(app=None)  # type: ignore[arg-type]  # every request is the fast path's
    body = json.dumps({"slot_id": str(uuid.uuid4())}).encode()
    scope = {"type": "http", "method": "POST", "path": BOOK_PATH, "headers": [(b"authorization", b"Bearer t")]}

    async def receive():
        return {"type": "http.request", "body": body, "more_body": False}

    async def one_request() -> list[dict]:
        sent: list[dict] = []

        async def send(message):
            sent.append(message)

        await fast(scope, receive, send)
        return sent

    async def requests() -> list[list[dict]]:  # each its own task, as uvicorn runs them
        return [await asyncio.create_task(one_request()) for _ in range(5)]

    try:  # from an empty context, as a worker's event loop starts with no cache object in it
        answers = contextvars.Context().run(asyncio.run, requests())
    finally:
        fast._executor.shutdown(wait=True)
    assert [answer[0]["status"] for answer in answers] == [201] * 5
    assert len(seen) == 5 and all(cache is seen[0] for cache in seen)
