from __future__ import annotations

import datetime as dt

from django.db.models import Prefetch, QuerySet

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


def session_list_for_day(*, date: dt.date, department: Department | None = None) -> QuerySet[ClinicSession]:
    sessions = ClinicSession.objects.filter(date=date).select_related("doctor", "department")
    if department is not None:
        sessions = sessions.filter(department=department)
    return sessions.prefetch_related(Prefetch("slots", queryset=Slot.objects.order_by("starts_at")))
