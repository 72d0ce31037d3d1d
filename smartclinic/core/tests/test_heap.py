"""The server's entry points freeze the heap start-up left (``core.heap``), so that the cyclic
collector's full passes do not walk Django and every app in the middle of a booking rush."""

from __future__ import annotations

import gc
import os
import subprocess
import sys
from pathlib import Path

import pytest

from smartclinic.core.heap import freeze_startup_heap

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
