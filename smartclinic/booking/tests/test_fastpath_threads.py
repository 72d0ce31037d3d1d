"""The booking fast path's threads run nicer than the event loop that feeds them (Linux)."""

from __future__ import annotations

import os
import sys
import threading

import pytest

from smartclinic.booking.fastpath import BookingFastPath

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="a nice value per thread is Linux's")


def _nice_of_this_thread() -> int:
    return os.getpriority(os.PRIO_PROCESS, threading.get_native_id())


def _nice_of_a_booking_thread(settings, nice: int) -> int:
    settings.BOOKING_FAST_PATH_NICE = nice
    fast = BookingFastPath(app=None)  # type: ignore[arg-type]  # no request goes through it
    try:
        return fast._executor.submit(_nice_of_this_thread).result(timeout=10)
    finally:
        fast._executor.shutdown(wait=True)


def test_the_booking_threads_run_nicer_than_the_thread_that_started_them(settings):
    before = _nice_of_this_thread()
    assert _nice_of_a_booking_thread(settings, 5) == min(19, before + 5)
    assert _nice_of_this_thread() == before  # the thread that started them keeps its own


def test_nothing_changes_with_zero(settings):
    assert _nice_of_a_booking_thread(settings, 0) == _nice_of_this_thread()
