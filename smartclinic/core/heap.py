"""The server process's start-up heap, kept out of the cyclic garbage collector's way.

A worker imports Django, every app and their libraries before it serves: some 140,000 objects
that live as long as the process. Python's collector walks all of them in every full
collection, and the first full collection comes when a burst of requests leaves many objects
alive at once: in a booking rush each uvicorn worker ran one in the first half second of the
flood, holding the GIL (event loop and booking threads alike) for 250-450 ms (ADR 0006,
session 10). ``gc.freeze()`` moves what exists at start-up to a generation the collector
never walks; what requests allocate is collected as before, and the full collections of what
the process builds while it serves wait for a quiet moment (``QuietTimeCollector``).
"""

from __future__ import annotations

import gc
import threading
import time
from collections import deque
from collections.abc import Callable

# A full-collection threshold Python never reaches: automatic full collections off.
NEVER = 2**31 - 1


def freeze_startup_heap() -> int:
    """Collect what start-up left as garbage, then freeze the rest; returns how many objects
    are now frozen. Call once, after the application is built."""
    gc.collect()
    gc.freeze()
    return gc.get_freeze_count()


class QuietTimeCollector:
    """Full collections when the worker is quiet, not in the middle of a rush.

    Freezing the start-up heap leaves the full collections what the process built since: the
    compiled queries, connections, caches and the like of hours of serving. Python starts a full
    collection when enough objects have outlived two young collections, which a burst of
    requests does: measured in a booking rush after a day's load (the capacity and overload
    rounds of ``make bench-rush``), the workers ran full collections 1.2 and 3 s after the
    release, one of 115 ms, with every thread of the worker stopped (ADR 0006, session 24).

    ``start`` turns the automatic full collections off (the young ones stay as they are) and
    runs them from a thread of its own instead: once the process has used less than
    ``QUIET_CPU_SHARE`` of a core over the last ``QUIET_FOR`` seconds and over the last
    ``CHECK_EVERY`` too, at most once every ``AT_MOST_EVERY`` seconds; and at least every
    ``AT_LEAST_EVERY`` seconds, quiet or not, so that cyclic garbage that outlived the young
    collections is freed in any case.

    Both stretches must be quiet. Checked once a second, a second judged as a whole still looked
    quiet up to a tenth of a second into a flood after a minute's calm before a release (that
    tenth is less than 5% of the second), and the collection could then start in the flood;
    judged on its last tenth alone, a busy day's short gaps between requests would look quiet
    (ADR 0006, session 26)."""

    CHECK_EVERY = 0.1
    QUIET_FOR = 1.0
    QUIET_CPU_SHARE = 0.05
    AT_MOST_EVERY = 10.0
    AT_LEAST_EVERY = 300.0

    def __init__(
        self,
        *,
        clock: Callable[[], float] = time.monotonic,
        cpu_clock: Callable[[], float] = time.process_time,
        collect: Callable[[], object] = gc.collect,
    ) -> None:
        self._clock, self._cpu_clock, self._collect = clock, cpu_clock, collect
        self.last_collection = clock()
        # (clock, CPU) at each check, back to the first one at least QUIET_FOR old
        self._checks: deque[tuple[float, float]] = deque([(clock(), cpu_clock())])
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self._full_threshold_before: int | None = None

    def start(self) -> None:
        young, middle, self._full_threshold_before = gc.get_threshold()
        gc.set_threshold(young, middle, NEVER)
        self._thread = threading.Thread(target=self._run, name="quiet-time-gc", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop the thread and give the full collections back to Python (tests)."""
        self._stopping.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
        if self._full_threshold_before is not None:
            young, middle, _full = gc.get_threshold()
            gc.set_threshold(young, middle, self._full_threshold_before)

    def _run(self) -> None:
        while not self._stopping.wait(self.CHECK_EVERY):
            self.check()

    def check(self) -> bool:
        """Collect if it is time to; whether it did."""
        now, cpu = self._clock(), self._cpu_clock()
        quiet = self._quiet_since(*self._checks[-1], now, cpu)
        self._checks.append((now, cpu))
        while len(self._checks) > 2 and now - self._checks[1][0] >= self.QUIET_FOR:
            self._checks.popleft()  # the one after it is old enough to judge the stretch by
        oldest_at, cpu_then = self._checks[0]
        quiet = quiet and now - oldest_at >= self.QUIET_FOR and self._quiet_since(oldest_at, cpu_then, now, cpu)
        since = now - self.last_collection
        if since >= self.AT_LEAST_EVERY or (quiet and since >= self.AT_MOST_EVERY):
            self._collect()
            self.last_collection = self._clock()
            self._checks = deque([(self.last_collection, self._cpu_clock())])  # its own CPU is not load
            return True
        return False

    def _quiet_since(self, then: float, cpu_then: float, now: float, cpu: float) -> bool:
        return (cpu - cpu_then) <= self.QUIET_CPU_SHARE * max(now - then, 1e-9)
