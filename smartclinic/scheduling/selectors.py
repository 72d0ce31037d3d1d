from __future__ import annotations

import datetime as dt
from typing import Any

from django.db.models import Prefetch, QuerySet

from smartclinic.core.compiled import CompiledValues
from smartclinic.scheduling.choices import SessionStatus
from smartclinic.scheduling.models import ClinicSession, Department, Doctor, Slot


def department_list_active() -> QuerySet[Department]:
    return Department.objects.filter(active=True).order_by("sort_order", "code")


def doctor_list(*, department: Department | None = None) -> QuerySet[Doctor]:
    doctors = Doctor.objects.filter(active=True).prefetch_related("departments")
    if department is not None:
        doctors = doctors.filter(departments=department)
    return doctors.order_by("name")


def slot_list(
    *,
    department: Department | None = None,
    doctor: Doctor | None = None,
    date: dt.date | None = None,
    date_from: dt.date | None = None,
    date_to: dt.date | None = None,
) -> QuerySet[Slot]:
    """Slots of open sessions, with their session, doctor and department in the same query."""
    slots = Slot.objects.filter(session__status=SessionStatus.OPEN).select_related(
        "session", "session__doctor", "session__department"
    )
    if department is not None:
        slots = slots.filter(session__department=department)
    if doctor is not None:
        slots = slots.filter(session__doctor=doctor)
    if date is not None:
        slots = slots.filter(session__date=date)
    if date_from is not None:
        slots = slots.filter(session__date__gte=date_from)
    if date_to is not None:
        slots = slots.filter(session__date__lte=date_to)
    return slots.order_by("starts_at", "session__doctor__name")


# What a slot list shows of each slot (``booking.presenters.slot_row_out``), as plain values.
SLOT_ROW_FIELDS = (
    "public_id",
    "starts_at",
    "ends_at",
    "capacity",
    "booked",
    "session__public_id",
    "session__fee",
    "session__opens_at",
    "session__department__code",
    "session__department__name",
    "session__department__booking_stop_minutes",
    "session__doctor__public_id",
    "session__doctor__name",
    "session__doctor__title",
)
SLOT_ROWS_AT_MOST = 500

# Prepared: every student re-lists a day's slots in a rush, and PostgreSQL planned the four-table
# join each time (the micro-cache's refreshes: each list once a second in each worker).
_SLOTS_OF_DEPARTMENT_DAY = CompiledValues(
    slot_list().values(*SLOT_ROW_FIELDS), "session__department", "session__date", prepared=True
)
_SLOTS_OF_DOCTOR_DAY = CompiledValues(
    slot_list().values(*SLOT_ROW_FIELDS), "session__doctor", "session__date", prepared=True
)


def slot_rows(
    *,
    department: Department | None = None,
    doctor: Doctor | None = None,
    date: dt.date | None = None,
    date_from: dt.date | None = None,
    date_to: dt.date | None = None,
) -> list[dict[str, Any]]:
    """``slot_list`` as rows of ``SLOT_ROW_FIELDS`` (at most ``SLOT_ROWS_AT_MOST``), without model
    instances. One department's or one doctor's day, what every student re-lists in a booking
    rush, runs a query compiled once per process."""
    if date is not None and date_from is None and date_to is None:
        if department is not None and doctor is None:
            rows = _SLOTS_OF_DEPARTMENT_DAY.all(session__department=department.pk, session__date=date)
            return rows[:SLOT_ROWS_AT_MOST]
        if doctor is not None and department is None:
            rows = _SLOTS_OF_DOCTOR_DAY.all(session__doctor=doctor.pk, session__date=date)
            return rows[:SLOT_ROWS_AT_MOST]
    slots = slot_list(department=department, doctor=doctor, date=date, date_from=date_from, date_to=date_to)
    return list(slots.values(*SLOT_ROW_FIELDS)[:SLOT_ROWS_AT_MOST])


def session_list_for_day(*, date: dt.date, department: Department | None = None) -> QuerySet[ClinicSession]:
    sessions = ClinicSession.objects.filter(date=date).select_related("doctor", "department")
    if department is not None:
        sessions = sessions.filter(department=department)
    return sessions.prefetch_related(Prefetch("slots", queryset=Slot.objects.order_by("starts_at")))
