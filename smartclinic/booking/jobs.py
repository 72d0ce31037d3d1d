from __future__ import annotations

import datetime as dt

from smartclinic.booking.noshow import no_shows_mark
from smartclinic.booking.waitlist import waitlist_offers_expire
from smartclinic.core import clock
from smartclinic.core.actor import Actor
from smartclinic.core.periodic import every
from smartclinic.scheduling.services import sessions_generate

SCHEDULE_HORIZON_DAYS = 14


@every(60, name="booking.no_shows")
def mark_no_shows() -> int:
    return no_shows_mark(actor=Actor.system(reason="no_show_job"))


@every(20, name="booking.waitlist_offers")
def expire_waitlist_offers() -> int:
    return waitlist_offers_expire(actor=Actor.system(reason="waitlist_job"))


@every(3600, name="scheduling.horizon")
def extend_schedule_horizon() -> int:
    created = sessions_generate(
        actor=Actor.system(reason="schedule_job"),
        start=clock.today() + dt.timedelta(days=1),
        days=SCHEDULE_HORIZON_DAYS,
    )
    return len(created)
