"""The server's entry points freeze the heap start-up left (``core.heap``), so that the cyclic
collector's full passes do not walk Django and every app in the middle of a booking rush."""

from __future__ import annotations

import gc
import os
import subprocess
import sys
from pathlib import Path

import pytest

from smartclinic.core.heap import NEVER, QuietTimeCollector, freeze_startup_heap

ROOT = Path(__file__).resolve().parents[3]

PROBE = """
import gc, importlib, sys
importlib.import_module(sys.argv[1])
frozen = gc.get_freeze_count()
gc.collect()  # a full collection now walks only what is not frozen
print(frozen, len(gc.get_objects()))
"""


@pytest.mark.parametrize("entry_point", ["config.asgi", "config.wsgi"])
def test_an_entry_point_freezes_what_start_up_loaded(entry_point: str) -> None:
    env = {**os.environ, "SMARTCLINIC_TESTING": "1", "DATABASE_POOL": "0"}
    env.pop("DJANGO_SETTINGS_MODULE", None)
    probe = subprocess.run(
        [sys.executable, "-c", PROBE, entry_point], cwd=ROOT, env=env, capture_output=True, text=True, check=False
    )
    assert probe.returncode == 0, probe.stderr
    frozen, tracked = map(int, probe.stdout.split())
    # Django and the apps are tens of thousands of objects; what the collector still tracks
    # after start-up is a small remainder.
    assert frozen > 50_000
    assert tracked < frozen / 10


def test_freezing_counts_what_it_froze_and_leaves_new_objects_collectable() -> None:
    try:
        frozen = freeze_startup_heap()
        # Frozen objects can still be freed (by this test run's other threads, too), never added.
        assert 0 < gc.get_freeze_count() <= frozen
        made_after = [[]]
        assert gc.is_tracked(made_after)
        assert any(obj is made_after for obj in gc.get_objects())  # walked, not frozen
    finally:
        gc.unfreeze()


def test_the_asgi_worker_leaves_its_full_collections_to_a_quiet_time() -> None:
    probe = """
import gc, threading, config.asgi
print(gc.get_threshold()[2], any(t.name == "quiet-time-gc" and t.is_alive() for t in threading.enumerate()))
"""
    env = {**os.environ, "SMARTCLINIC_TESTING": "1", "DATABASE_POOL": "0"}
    env.pop("DJANGO_SETTINGS_MODULE", None)
    done = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, env=env, capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == [str(NEVER), "True"]


class _Clocks:
    def __init__(self) -> None:
        self.now = 1000.0
        self.cpu = 50.0
        self.collected: list[float] = []

    def collector(self) -> QuietTimeCollector:
        return QuietTimeCollector(clock=lambda: self.now, cpu_clock=lambda: self.cpu, collect=self._collect)

    def _collect(self) -> None:
        self.collected.append(self.now)

    def second(self, busy: float) -> None:
        """A second passes, ``busy`` of it on the CPU."""
        self.now += 1.0
        self.cpu += busy


def test_a_full_collection_waits_for_a_quiet_second_and_comes_at_most_every_ten_seconds() -> None:
    clocks = _Clocks()
    collector = clocks.collector()
    for _ in range(30):  # a rush: busy throughout
        clocks.second(busy=0.8)
        assert not collector.check()
    clocks.second(busy=0.01)  # quiet
    assert collector.check()
    for _ in range(9):  # quiet, but a collection was just run
        clocks.second(busy=0.0)
        assert not collector.check()
    clocks.second(busy=0.0)
    assert collector.check()
    assert clocks.collected == [1031.0, 1041.0]


def _tick(clocks: _Clocks, collector: QuietTimeCollector, *, busy: float) -> bool:
    """A tenth of a second passes, ``busy`` of it on the CPU; then the thread's check."""
    clocks.now += 0.1
    clocks.cpu += busy * 0.1
    return collector.check()


def test_a_flood_after_a_calm_gets_no_collection_even_while_its_second_still_looks_quiet() -> None:
    clocks = _Clocks()
    collector = clocks.collector()
    # The thread looks every tenth of a second: a look a second after the last one would judge
    # a flood's first tenth together with the calm before it.
    assert collector.CHECK_EVERY <= 0.1
    for _ in range(199):  # 19.9 s of calm before a release: one collection, 10 s in
        _tick(clocks, collector, busy=0.0)
    assert len(clocks.collected) == 1
    clocks.collected.clear()
    # The flood from 19.9 s on, when the next collection is due: a third of a core. Its first
    # tenth is 3% of the last second, under the 5% a quiet second may use, but the last tenth
    # is plainly busy.
    assert [_tick(clocks, collector, busy=0.3) for _ in range(20)] == [False] * 20
    assert clocks.collected == []


def test_a_busy_moment_keeps_the_collection_off_until_a_whole_second_has_been_quiet() -> None:
    clocks = _Clocks()
    collector = clocks.collector()
    for _ in range(105):
        _tick(clocks, collector, busy=0.0)
    clocks.collected.clear()  # collected at 10 s; the next one is due from 20 s on
    for _ in range(94):
        _tick(clocks, collector, busy=0.0)
    assert not _tick(clocks, collector, busy=0.8)  # 80 ms of work in the tenth up to 20 s
    # The next tenths are quiet, but the last second holds those 80 ms (8%) until 21 s.
    quiet_after = [_tick(clocks, collector, busy=0.0) for _ in range(12)]
    assert quiet_after == [False] * 9 + [True, False, False]


def test_a_process_never_quiet_still_collects_every_five_minutes() -> None:
    clocks = _Clocks()
    collector = clocks.collector()
    checks = []
    for _ in range(600):  # ten minutes, 90% busy throughout
        clocks.second(busy=0.9)
        checks.append(collector.check())
    assert checks.count(True) == 2 and clocks.collected == [1300.0, 1600.0]


def test_started_it_turns_the_automatic_full_collections_off_and_stopped_back_on() -> None:
    before = gc.get_threshold()
    collector = QuietTimeCollector()
    try:
        collector.start()
        assert gc.get_threshold() == (before[0], before[1], NEVER)
    finally:
        collector.stop()
    assert gc.get_threshold() == before
    assert collector._thread is not None and not collector._thread.is_alive()
