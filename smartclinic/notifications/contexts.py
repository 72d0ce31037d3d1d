"""The values message templates see, read from the other contexts' models and formatted in the
recipient's language (the builders run with that language active). Plain values only."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from django.conf import settings
from django.utils import formats, timezone
from django.utils.translation import gettext as _

from smartclinic.billing.choices import OrderKind, PaymentMethod
from smartclinic.billing.models import Order
from smartclinic.booking.choices import CancelReason
from smartclinic.booking.models import Appointment
from smartclinic.identity.models import Dependant, Member
from smartclinic.notifications.rendering import PlainValue
from smartclinic.queueing.models import Ticket
from smartclinic.scheduling.models import Department, Doctor

Values = dict[str, PlainValue]


def yuan(fen: int | str) -> str:
    """Integer fen → ``"12.50"`` (no floats on money)."""
    amount = int(fen)
    sign = "-" if amount < 0 else ""
    amount = abs(amount)
    return f"{sign}{amount // 100}.{amount % 100:02d}"


def local_date(value: dt.date | dt.datetime) -> str:
    if isinstance(value, dt.datetime):
        value = timezone.localtime(value)
    return formats.date_format(value, "DATE_FORMAT")


def local_time(value: dt.datetime) -> str:
    return timezone.localtime(value).strftime("%H:%M")


def local_when(value: dt.datetime) -> str:
    return f"{local_date(value)} {local_time(value)}"


def weekday(value: dt.datetime) -> str:
    return formats.date_format(timezone.localtime(value), "l")


def parse_moment(raw: str) -> dt.datetime | None:
    try:
        moment = dt.datetime.fromisoformat(raw)
    except (TypeError, ValueError):
        return None
    return moment if timezone.is_aware(moment) else timezone.make_aware(moment)


def department_name(department: Department, language: str) -> str:
    if language == "en" and department.name_en:
        return department.name_en
    return department.name


def patient_name(member: Member, dependant: Dependant | None) -> str:
    return dependant.name if dependant is not None else member.name


def load_appointment(public_id: Any) -> Appointment | None:
    if not _is_uuid(public_id):
        return None
    return (
        Appointment.objects.select_related("member", "dependant", "slot", "session", "department", "doctor")
        .filter(public_id=public_id)
        .first()
    )


def load_ticket(public_id: Any) -> Ticket | None:
    if not _is_uuid(public_id):
        return None
    return (
        Ticket.objects.select_related(
            "member",
            "dependant",
            "session",
            "doctor",
            "appointment",
            "appointment__slot",
            "appointment__department",
            "appointment__doctor",
            "appointment__session",
            "appointment__member",
            "appointment__dependant",
        )
        .filter(public_id=public_id)
        .first()
    )


def load_doctor(public_id: Any) -> Doctor | None:
    return Doctor.objects.filter(public_id=public_id).first() if _is_uuid(public_id) else None


def appointment_values(appointment: Appointment, language: str) -> Values:
    starts = appointment.slot.starts_at
    return {
        "patient_name": patient_name(appointment.member, appointment.dependant),
        "department": department_name(appointment.department, language),
        "doctor": appointment.doctor.name,
        "doctor_title": str(appointment.doctor.get_title_display()),
        "date": local_date(starts),
        "weekday": weekday(starts),
        "time": local_time(starts),
        "room": appointment.session.room or appointment.doctor.room,
        "location": appointment.department.location,
        "fee": yuan(appointment.fee),
    }


def cancel_reason_text(appointment: Appointment, reason: str) -> str:
    if reason == CancelReason.SESSION_SUSPENDED and appointment.session.suspend_reason:
        return appointment.session.suspend_reason
    try:
        return str(CancelReason(reason).label)
    except ValueError:
        return _("a change in the clinic's schedule")


def payment_method_label(code: str) -> str:
    """Billing's label of a payment method, in the active language ("" for an unknown code)."""
    try:
        return str(PaymentMethod(code).label)
    except ValueError:
        return ""


def payment_purpose_label(code: str) -> str:
    try:
        return str(OrderKind(code).label)
    except ValueError:
        return ""


def load_order(public_id: Any) -> Order | None:
    return Order.objects.filter(public_id=public_id).first() if _is_uuid(public_id) else None


def _is_uuid(value: Any) -> bool:
    try:
        uuid.UUID(str(value))
    except ValueError:
        return False
    return True


def no_show_policy() -> Values:
    return {
        "no_show_limit": int(getattr(settings, "BOOKING_NO_SHOW_LIMIT", 3)),
        "window_days": int(getattr(settings, "BOOKING_NO_SHOW_WINDOW_DAYS", 90)),
    }
