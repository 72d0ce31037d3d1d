"""Writes of the scheduling context: sessions from weekly templates, slots, suspensions."""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable
from dataclasses import dataclass

from django.db import IntegrityError, transaction
from django.db.models import F

from smartclinic.audit.services import audit_record
from smartclinic.core import clock
from smartclinic.core.actor import Actor
from smartclinic.outbox.services import outbox_publish
from smartclinic.scheduling.choices import DEFAULT_FEE_BY_TITLE, SessionStatus
from smartclinic.scheduling.errors import InvalidSchedule, SessionNotOpen
from smartclinic.scheduling.events import SessionSuspended
from smartclinic.scheduling.models import (
    ClinicSession,
    Department,
    Doctor,
    ScheduleException,
    ScheduleTemplate,
    Slot,
)
from smartclinic.scheduling.rules import release_instant, session_local_bounds


@dataclass(frozen=True)
class SlotPlan:
    starts_at: dt.datetime
    ends_at: dt.datetime
    capacity: int


def plan_slots(
    *, starts_at: dt.datetime, ends_at: dt.datetime, slot_minutes: int, per_slot: int, walkin_percent: int
) -> tuple[list[SlotPlan], int]:
    """Split a session into slots and keep back the walk-in share (rounded up), taken evenly from
    the slots, latest first, so walk-ins are spread over the session rather than all at the end."""
    count = int((ends_at - starts_at).total_seconds() // (slot_minutes * 60))
    if count < 1 or per_slot < 1:
        raise InvalidSchedule(reason="shorter_than_one_slot")
    total = count * per_slot
    walkins = min(math.ceil(total * walkin_percent / 100), total)
    capacities = [per_slot] * count
    # Latest first, every other slot, then the ones in between, round after round: the walk-in
    # places spread over the session instead of bunching at its end.
    order = [*range(count - 1, -1, -2), *range(count - 2, -1, -2)]
    remaining = walkins
    while remaining:
        for index in order:
            if remaining and capacities[index] > 0:
                capacities[index] -= 1
                remaining -= 1
    step = dt.timedelta(minutes=slot_minutes)
    plans = [
        SlotPlan(starts_at=starts_at + i * step, ends_at=starts_at + (i + 1) * step, capacity=capacities[i])
        for i in range(count)
    ]
    return plans, walkins


def _create_session(
    *,
    doctor: Doctor,
    department: Department,
    date: dt.date,
    period: str,
    start: dt.time,
    end: dt.time,
    slot_minutes: int,
    per_slot: int,
    walkin_percent: int,
    template: ScheduleTemplate | None = None,
    fee: int | None = None,
) -> ClinicSession:
    starts_at, ends_at = session_local_bounds(date=date, start=start, end=end)
    plans, walkins = plan_slots(
        starts_at=starts_at,
        ends_at=ends_at,
        slot_minutes=slot_minutes,
        per_slot=per_slot,
        walkin_percent=walkin_percent,
    )
    session = ClinicSession.objects.create(
        doctor=doctor,
        department=department,
        template=template,
        date=date,
        period=period,
        starts_at=starts_at,
        ends_at=ends_at,
        room=doctor.room,
        fee=fee if fee is not None else DEFAULT_FEE_BY_TITLE.get(doctor.title, 1000),  # type: ignore[call-overload]
        walkin_capacity=walkins,
        opens_at=release_instant(department=department, date=date),
    )
    Slot.objects.bulk_create(
        [Slot(session=session, starts_at=p.starts_at, ends_at=p.ends_at, capacity=p.capacity) for p in plans]
    )
    return session


def _create_session_unless_taken(**fields: object) -> list[ClinicSession]:
    """Create one session, or nothing when a concurrent run created it first."""
    try:
        with transaction.atomic():
            return [_create_session(**fields)]  # type: ignore[arg-type]
    except IntegrityError:
        return []


def _days_off(start: dt.date, end: dt.date) -> tuple[set[dt.date], set[tuple[int, dt.date]]]:
    clinic: set[dt.date] = set()
    doctors: set[tuple[int, dt.date]] = set()
    for exception in ScheduleException.objects.filter(date__gte=start, date__lte=end):
        if exception.doctor_id is None:
            clinic.add(exception.date)
        else:
            doctors.add((exception.doctor_id, exception.date))
    return clinic, doctors


@transaction.atomic
def sessions_generate(*, actor: Actor, start: dt.date, days: int) -> list[ClinicSession]:
    """Create the sessions (and their slots) that the active weekly templates call for between
    ``start`` and ``start + days - 1``, skipping holidays, leave and sessions that already exist."""
    end = start + dt.timedelta(days=days - 1)
    clinic_off, doctor_off = _days_off(start, end)
    existing = set(
        ClinicSession.objects.filter(date__gte=start, date__lte=end).values_list("doctor_id", "date", "period")
    )
    templates = ScheduleTemplate.objects.filter(active=True, doctor__active=True).select_related("doctor", "department")
    created: list[ClinicSession] = []
    for offset in range(days):
        date = start + dt.timedelta(days=offset)
        if date in clinic_off:
            continue
        for template in templates:
            if template.weekday != date.weekday() or (template.doctor_id, date, template.period) in existing:
                continue
            if (template.doctor_id, date) in doctor_off or not _template_valid_on(template, date):
                continue
            created.extend(
                _create_session_unless_taken(
                    doctor=template.doctor,
                    department=template.department,
                    date=date,
                    period=template.period,
                    start=template.start_time,
                    end=template.end_time,
                    slot_minutes=template.slot_minutes,
                    per_slot=template.patients_per_slot,
                    walkin_percent=template.walkin_percent,
                    template=template,
                )
            )
    if created:
        audit_record(
            actor=actor,
            action="scheduling.sessions_generated",
            subject_type="scheduling.clinicsession",
            subject_id=f"{start.isoformat()}+{days}",
            new={"sessions": len(created)},
        )
    return created


def _template_valid_on(template: ScheduleTemplate, date: dt.date) -> bool:
    if template.valid_from and date < template.valid_from:
        return False
    return not (template.valid_until and date > template.valid_until)


@transaction.atomic
def session_create_one_off(
    *,
    actor: Actor,
    doctor: Doctor,
    department: Department,
    date: dt.date,
    period: str,
    start: dt.time,
    end: dt.time,
    slot_minutes: int = 15,
    per_slot: int = 2,
    walkin_percent: int = 20,
    fee: int | None = None,
) -> ClinicSession:
    if start >= end:
        raise InvalidSchedule(reason="starts_after_end")
    if ClinicSession.objects.filter(doctor=doctor, date=date, period=period).exists():
        raise InvalidSchedule(reason="session_exists")
    session = _create_session(
        doctor=doctor,
        department=department,
        date=date,
        period=period,
        start=start,
        end=end,
        slot_minutes=slot_minutes,
        per_slot=per_slot,
        walkin_percent=walkin_percent,
        fee=fee,
    )
    audit_record(
        actor=actor, action="scheduling.session_created", subject=session, new={"date": date, "period": period}
    )
    return session


@transaction.atomic
def session_mark_suspended(
    *, actor: Actor, session: ClinicSession, reason: str, before_closing_slots: Callable[[], None] | None = None
) -> ClinicSession:
    """Close a session to booking: its row, then the mark on its slots that a booking's
    conditional update checks. ``before_closing_slots`` runs between the two, for rows the
    caller must lock before the slots (bookings lock them in that order). Booking's
    ``clinic_session_suspend`` also cancels the appointments in the same transaction; call that
    one from the stations."""
    updated = ClinicSession.objects.filter(pk=session.pk, status=SessionStatus.OPEN).update(
        status=SessionStatus.SUSPENDED, suspend_reason=reason[:200], updated_at=clock.now()
    )
    if not updated:
        raise SessionNotOpen()
    # After the session's row: a walk-in takes that row first too. A booking that read the
    # session as open waits for this transaction on its slot's row, then finds it suspended.
    if before_closing_slots is not None:
        before_closing_slots()
    Slot.objects.filter(session_id=session.pk).update(suspended=True)
    audit_record(
        actor=actor,
        action="scheduling.session_suspended",
        subject=session,
        old={"status": SessionStatus.OPEN},
        new={"status": SessionStatus.SUSPENDED, "reason": reason},
    )
    outbox_publish(SessionSuspended(session_id=session.public_id))
    session.refresh_from_db()
    return session


def doctor_rating_add(*, doctor: Doctor, score: int) -> None:
    """Add one patient's overall rating to the doctor's totals (called in the rater's transaction)."""
    Doctor.objects.filter(pk=doctor.pk).update(
        rating_count=F("rating_count") + 1, rating_total=F("rating_total") + score
    )
