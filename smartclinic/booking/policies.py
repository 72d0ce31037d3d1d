"""Per-person limits: live appointments and the no-show block, kept in ``PersonQuota``."""

from __future__ import annotations

import datetime as dt
from functools import cache

from django.conf import settings
from django.db import connection
from django.db.models import F, Q
from django.utils import formats, timezone

from smartclinic.booking.choices import LIVE_STATUSES, AppointmentStatus
from smartclinic.booking.errors import BookingBlocked, TooManyAppointments
from smartclinic.booking.models import Appointment, PersonQuota
from smartclinic.core.compiled import column_of


@cache
def _sql(vendor: str) -> dict[str, str]:
    """The quota statements of the booking path, written once per database vendor (the same
    text serves PostgreSQL and SQLite); names come from the model."""
    qn = connection.ops.quote_name
    meta = PersonQuota._meta
    table = qn(meta.db_table)
    key, live, blocked, pk = (
        qn(column_of(PersonQuota, name)) for name in ("person_key", "live_count", "blocked_until", "id")
    )
    # Only quoted names from the model go into the text; every value is a bound parameter.
    return {
        "ensure": f"INSERT INTO {table} ({key}, {live}) VALUES (%s, 0) ON CONFLICT ({key}) DO NOTHING",  # noqa: S608
        # One statement: the first booking creates the row with one place taken; later ones take
        # a place only under the limit and when not blocked (no row back otherwise).
        "take_or_create": (
            f"INSERT INTO {table} ({key}, {live}, {blocked}) VALUES (%s, 1, NULL) "  # noqa: S608
            f"ON CONFLICT ({key}) DO UPDATE SET {live} = {table}.{live} + 1 "
            f"WHERE {table}.{live} < %s AND ({table}.{blocked} IS NULL OR {table}.{blocked} <= %s) "
            f"RETURNING {table}.{pk}"
        ),
    }


def quota_ensure(*, person_key: str) -> None:
    """Create the person's quota row once (race-safe: a concurrent twin's row is left as it is)."""
    with connection.cursor() as cursor:
        cursor.execute(_sql(connection.vendor)["ensure"], [person_key])


def _show(moment: dt.datetime) -> str:
    return formats.date_format(timezone.localtime(moment), "Y-m-d H:i")


def quota_take(*, person_key: str, now: dt.datetime) -> None:
    """Take one live place with a conditional update; it also locks the person's row, so one
    person's concurrent bookings run one after the other."""
    limit = settings.BOOKING_MAX_LIVE_APPOINTMENTS
    taken = (
        PersonQuota.objects.filter(person_key=person_key, live_count__lt=limit)
        .filter(Q(blocked_until__isnull=True) | Q(blocked_until__lte=now))
        .update(live_count=F("live_count") + 1)
    )
    if taken:
        return
    quota_refusal(person_key=person_key, now=now)


def quota_take_or_create(*, person_key: str, now: dt.datetime) -> None:
    """``quota_ensure`` and ``quota_take`` in one statement, for the booking transaction: an
    upsert that creates the row with one place taken, or takes one under the limit and outside
    a no-show block. It locks the person's row the same way; a refusal raises the same errors."""
    limit = settings.BOOKING_MAX_LIVE_APPOINTMENTS
    if limit < 1:  # nobody may hold one: the row still comes first, as with quota_ensure
        quota_ensure(person_key=person_key)
        quota_take(person_key=person_key, now=now)
        return
    with connection.cursor() as cursor:
        cursor.execute(
            _sql(connection.vendor)["take_or_create"],
            [person_key, limit, connection.ops.adapt_datetimefield_value(now)],
        )
        taken = cursor.fetchone()
    if taken is None:
        quota_refusal(person_key=person_key, now=now)


def quota_refusal(*, person_key: str, now: dt.datetime) -> None:
    """Raise why the person may not take another place now (blocked, or at the limit)."""
    limit = settings.BOOKING_MAX_LIVE_APPOINTMENTS
    quota = PersonQuota.objects.get(person_key=person_key)
    if quota.blocked_until is not None and quota.blocked_until > now:
        raise BookingBlocked(
            BookingBlocked.message % {"until": _show(quota.blocked_until)},
            blocked_until=quota.blocked_until.isoformat(),
        )
    raise TooManyAppointments(TooManyAppointments.message % {"limit": limit}, limit=limit)


def quota_lock_of_live_appointments(*, session_id: int) -> None:
    """Lock the quota rows of everyone with a live appointment on the session, in one order:
    a suspension releases them after closing the session's slots, and a booking takes a
    person's quota row before its slot, so the suspension takes them before the slots too."""
    live = Appointment.objects.filter(session_id=session_id, status__in=LIVE_STATUSES).values("person_key")
    list(PersonQuota.objects.select_for_update().filter(person_key__in=live).order_by("person_key").values_list("pk"))


def quota_release(*, person_key: str) -> None:
    PersonQuota.objects.filter(person_key=person_key, live_count__gt=0).update(live_count=F("live_count") - 1)


def block_if_too_many_no_shows(*, person_key: str, now: dt.datetime) -> dt.datetime | None:
    """K no-shows within the window block booking for the block period; returns the end."""
    window_start = now - dt.timedelta(days=settings.BOOKING_NO_SHOW_WINDOW_DAYS)
    count = Appointment.objects.filter(
        person_key=person_key, status=AppointmentStatus.NO_SHOW, date__gte=timezone.localtime(window_start).date()
    ).count()
    if count < settings.BOOKING_NO_SHOW_LIMIT:
        return None
    until = now + dt.timedelta(days=settings.BOOKING_NO_SHOW_BLOCK_DAYS)
    PersonQuota.objects.filter(person_key=person_key).update(blocked_until=until)
    return until


def quota_blocked_until(*, person_key: str, now: dt.datetime) -> dt.datetime | None:
    quota = PersonQuota.objects.filter(person_key=person_key).first()
    if quota is None or quota.blocked_until is None or quota.blocked_until <= now:
        return None
    return quota.blocked_until
