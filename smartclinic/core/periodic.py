"""Periodic jobs run by the worker (no-shows at session end, expiring waitlist offers, the
schedule horizon). Each job must be safe to run twice at once (conditional updates), so several
workers need no leader election."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field

logger = logging.getLogger(__name__)


@dataclass
class PeriodicJob:
    name: str
    every_seconds: float
    func: Callable[[], object]
    next_run: float = field(default=0.0)


_jobs: dict[str, PeriodicJob] = {}


def every(seconds: float, *, name: str | None = None) -> Callable[[Callable[[], object]], Callable[[], object]]:
    def register(func: Callable[[], object]) -> Callable[[], object]:
        job_name = name or f"{func.__module__}.{func.__qualname__}"
        _jobs[job_name] = PeriodicJob(name=job_name, every_seconds=seconds, func=func)
        return func

    return register


def jobs() -> list[PeriodicJob]:
    return list(_jobs.values())


def run_due(*, monotonic: Callable[[], float] = time.monotonic) -> list[str]:
    """Run the jobs whose time has come; a failing job is logged and tried again next round."""
    ran = []
    for job in _jobs.values():
        now = monotonic()
        if now < job.next_run:
            continue
        job.next_run = now + job.every_seconds
        try:
            job.func()
        except Exception:
            logger.exception("periodic job %s failed", job.name)
        ran.append(job.name)
    return ran
