"""Per-person limits: live appointments and the no-show block, kept in ``PersonQuota``."""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.db.models import F, Q
from django.utils import formats, timezone

from smartclinic.booking.choices import AppointmentStatus
from smartclinic.booking.errors import BookingBlocked, TooManyAppointments
from smartclinic.booking.models import Appointment, PersonQuota


def quota_ensure(*, person_key: str) -> None:
    """Create the person's quota row once (outside the booking transaction, race-safe)."""
    PersonQuota.objects.get_or_create(person_key=person_key)


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
    quota = PersonQuota.objects.get(person_key=person_key)
    if quota.blocked_until is not None and quota.blocked_until > now:
        raise BookingBlocked(
            BookingBlocked.message % {"until": _show(quota.blocked_until)},
            blocked_until=quota.blocked_until.isoformat(),
        )
    raise TooManyAppointments(TooManyAppointments.message % {"limit": limit}, limit=limit)


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
