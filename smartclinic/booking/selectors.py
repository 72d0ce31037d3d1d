from __future__ import annotations

import datetime as dt

from django.db.models import F, Q, QuerySet

from smartclinic.booking.choices import LIVE_STATUSES, OPEN_WAITLIST_STATUSES, AppointmentStatus
from smartclinic.booking.models import Appointment, WaitlistEntry
from smartclinic.identity.models import Member
from smartclinic.scheduling.choices import SessionStatus
from smartclinic.scheduling.models import Doctor, Slot
from smartclinic.scheduling.rules import booking_closes_at


def appointment_list_for_member(*, member: Member) -> QuerySet[Appointment]:
    """The member's own appointments and their dependants', newest first."""
    return (
        Appointment.objects.filter(member=member)
        .select_related("member", "slot", "session", "department", "doctor", "dependant", "rebook_offer")
        .order_by("-date", "-slot__starts_at")
    )


def waitlist_list_for_member(*, member: Member) -> QuerySet[WaitlistEntry]:
    return (
        WaitlistEntry.objects.filter(member=member)
        .select_related("department", "session", "session__doctor", "dependant", "appointment")
        .order_by("-created_at")
    )


def waitlist_position(*, entry: WaitlistEntry) -> int | None:
    if entry.status not in OPEN_WAITLIST_STATUSES:
        return None
    ahead = WaitlistEntry.objects.filter(
        department_id=entry.department_id, date=entry.date, status=entry.status, id__lt=entry.id
    )
    if entry.session_id is not None:
        ahead = ahead.filter(Q(session_id=entry.session_id) | Q(session__isnull=True))
    return ahead.count() + 1


def next_free_slot_by_doctor(*, doctors: list[Doctor], now: dt.datetime, horizon_days: int = 14) -> dict[int, Slot]:
    """The next bookable slot of each doctor, in one query."""
    slots = (
        Slot.objects.filter(
            session__doctor__in=doctors,
            session__status=SessionStatus.OPEN,
            session__opens_at__lte=now,
            starts_at__gt=now,
            starts_at__lt=now + dt.timedelta(days=horizon_days),
            booked__lt=F("capacity"),
        )
        .select_related("session__department")
        .order_by("starts_at")
    )
    first: dict[int, Slot] = {}
    for slot in slots:
        if now < booking_closes_at(department=slot.session.department, slot=slot):
            first.setdefault(slot.session.doctor_id, slot)
    return first


def doctors_seen_by(*, member: Member) -> set[int]:
    return set(
        Appointment.objects.filter(member=member, status=AppointmentStatus.COMPLETED).values_list(
            "doctor_id", flat=True
        )
    )


def live_appointment_count(*, member: Member) -> int:
    return Appointment.objects.filter(member=member, dependant__isnull=True, status__in=LIVE_STATUSES).count()
