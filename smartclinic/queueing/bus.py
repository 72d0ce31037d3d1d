"""Wake the live streams (screens, stations, phones) after a queue change commits. The events
themselves are rows (``QueueEvent``); this only says "look again". Replaced by the live-update
fan-out (in-process, or Redis pub/sub when REDIS_URL is set)."""

from __future__ import annotations

from django.db import transaction


def announce_after_commit(*, department_id: int, session_id: int) -> None:
    transaction.on_commit(lambda: None)
