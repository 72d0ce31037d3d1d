"""The calling order, as a number per checked-in ticket (``Ticket.rank``, smaller is sooner):

- on time: the slot's start time, so patients are seen in the order of their booked times (and
  by number within a slot: a sub-second offset keeps every rank distinct, so a rejoining patient
  can always be put strictly between two others);
- late (checked in after their slot started plus grace): after every on-time patient of the
  session, in the order they arrived, and still before the next session of the day;
- walk-ins (现场挂号): by the time they checked in, among the booked patients, never "late";
- priority (urgent, disability) goes before rank; see ``Ticket`` ordering in the selectors;
- a skipped patient who comes back is put after the next ``REJOIN_AFTER`` patients in line.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Sequence

LATE_GRACE = dt.timedelta(minutes=10)
REJOIN_AFTER = 2
_DAY_SECONDS = 86_400.0


def is_late(*, slot_starts_at: dt.datetime, checked_in_at: dt.datetime) -> bool:
    return checked_in_at > slot_starts_at + LATE_GRACE


def arrival_rank(
    *,
    slot_starts_at: dt.datetime,
    session_ends_at: dt.datetime,
    session_starts_at: dt.datetime,
    checked_in_at: dt.datetime,
    number: int = 0,
    walk_in: bool = False,
) -> float:
    if walk_in:
        return max(slot_starts_at, checked_in_at).timestamp()
    if not is_late(slot_starts_at=slot_starts_at, checked_in_at=checked_in_at):
        return slot_starts_at.timestamp() + min(number, 999) / 1000
    # Just after the session's end, ordered by arrival: the offset stays below one second, so a
    # late morning patient never lands among the afternoon's on-time ones.
    elapsed = min(max((checked_in_at - session_starts_at).total_seconds(), 0.0), _DAY_SECONDS - 1)
    return session_ends_at.timestamp() + elapsed / _DAY_SECONDS


def rejoin_rank(*, waiting_ranks: Sequence[float]) -> float:
    """A rank just after the REJOIN_AFTER-th ticket in line (ranks sorted ascending)."""
    if not waiting_ranks:
        return 0.0
    if len(waiting_ranks) <= REJOIN_AFTER:
        return waiting_ranks[-1] + 1.0
    before, after = waiting_ranks[REJOIN_AFTER - 1], waiting_ranks[REJOIN_AFTER]
    middle = (before + after) / 2
    return middle if before < middle < after else math.nextafter(before, math.inf)
