"""Helpers for tests that need real concurrent database clients."""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

from django.db import connection

T = TypeVar("T")


def run_concurrently(calls: Sequence[Callable[[], T]], *, timeout: float = 60) -> list[T | BaseException]:
    """Run each call in its own thread (its own database connection), all released together.

    Returns each call's result or the exception it raised, in order."""
    barrier = threading.Barrier(len(calls))

    def run(call: Callable[[], T]) -> T | BaseException:
        try:
            barrier.wait(timeout=timeout)
            return call()
        except BaseException as exc:  # noqa: BLE001 - the caller inspects what each client got
            return exc
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=len(calls)) as pool:
        futures = [pool.submit(run, call) for call in calls]
        return [future.result(timeout=timeout) for future in futures]


def outcome_names(results: Sequence[Any]) -> list[str]:
    return [type(result).__name__ for result in results]
