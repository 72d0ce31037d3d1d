"""Release rules (放号): when a session's slots open for booking and when booking stops."""

from __future__ import annotations

import datetime as dt

from django.utils import timezone

from smartclinic.scheduling.models import ClinicSession, Department, Slot


def release_instant(*, department: Department, date: dt.date) -> dt.datetime:
    """Slots of ``date`` open ``release_days_ahead`` days before, at ``release_time`` local time."""
    day = date - dt.timedelta(days=department.release_days_ahead)
    return timezone.make_aware(dt.datetime.combine(day, department.release_time), timezone.get_default_timezone())


def booking_closes_at(*, department: Department, slot: Slot) -> dt.datetime:
    return booking_closes_at_for(starts_at=slot.starts_at, booking_stop_minutes=department.booking_stop_minutes)


def booking_closes_at_for(*, starts_at: dt.datetime, booking_stop_minutes: int) -> dt.datetime:
    """Booking a slot stops its department's ``booking_stop_minutes`` before it starts."""
    return starts_at - dt.timedelta(minutes=booking_stop_minutes)


def cancel_deadline(*, department: Department, slot: Slot) -> dt.datetime:
    return slot.starts_at - dt.timedelta(minutes=department.cancel_cutoff_minutes)


def session_local_bounds(*, date: dt.date, start: dt.time, end: dt.time) -> tuple[dt.datetime, dt.datetime]:
    clinic_zone = timezone.get_default_timezone()  # the clinic's time, whatever zone a request activated
    return (
        timezone.make_aware(dt.datetime.combine(date, start), clinic_zone),
        timezone.make_aware(dt.datetime.combine(date, end), clinic_zone),
    )


def session_is_open_for_booking(*, session: ClinicSession, now: dt.datetime) -> bool:
    return session.status == "open" and session.opens_at <= now
