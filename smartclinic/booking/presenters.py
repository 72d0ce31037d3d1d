"""Plain dicts of what the API and the pages show; shared so both say the same thing."""

from __future__ import annotations

import datetime as dt
from typing import Any

from smartclinic.booking.models import Appointment, WaitlistEntry
from smartclinic.scheduling.models import Department, Doctor, Slot
from smartclinic.scheduling.rules import booking_closes_at, cancel_deadline


def department_out(department: Department) -> dict[str, Any]:
    return {
        "id": department.public_id,
        "code": department.code,
        "name": department.name,
        "name_en": department.name_en,
        "description": department.description,
        "location": department.location,
        "opening_hours": department.opening_hours,
        "release_days_ahead": department.release_days_ahead,
        "release_time": department.release_time,
    }


def slot_brief(slot: Slot | None) -> dict[str, Any] | None:
    if slot is None:
        return None
    return {"id": slot.public_id, "starts_at": slot.starts_at, "ends_at": slot.ends_at}


def doctor_out(doctor: Doctor, *, next_free: Slot | None) -> dict[str, Any]:
    return {
        "id": doctor.public_id,
        "name": doctor.name,
        "title": doctor.title,
        "title_display": doctor.get_title_display(),
        "departments": [d.code for d in doctor.departments.all()],
        "specialties": list(doctor.specialties),
        "biography": doctor.biography,
        "photo_url": doctor.photo_url,
        "room": doctor.room,
        "rating": doctor.rating,
        "rating_count": doctor.rating_count,
        "next_free_slot": slot_brief(next_free),
    }


def slot_out(slot: Slot, *, now: dt.datetime) -> dict[str, Any]:
    session = slot.session
    closes_at = booking_closes_at(department=session.department, slot=slot)
    return {
        "id": slot.public_id,
        "session_id": session.public_id,
        "starts_at": slot.starts_at,
        "ends_at": slot.ends_at,
        "department": session.department.code,
        "department_name": session.department.name,
        "doctor_id": session.doctor.public_id,
        "doctor_name": session.doctor.name,
        "doctor_title": session.doctor.title_label,
        "capacity": slot.capacity,
        "remaining": slot.remaining,
        "fee": session.fee,
        "bookable": session.opens_at <= now < closes_at and slot.remaining > 0,
        "opens_at": session.opens_at,
        "closes_at": closes_at,
    }


def slot_list_changes_at(listed: list[dict[str, Any]], *, now: dt.datetime) -> dt.datetime | None:
    """The next instant at which a listed slot's ``bookable`` turns by the clock alone (its
    booking opens or stops), or ``None``."""
    instants = [row[name] for row in listed for name in ("opens_at", "closes_at") if row[name] > now]
    return min(instants, default=None)


def appointment_out(appointment: Appointment) -> dict[str, Any]:
    slot = appointment.slot
    return {
        "id": appointment.public_id,
        "status": appointment.status,
        "source": appointment.source,
        "patient_name": appointment.dependant.name if appointment.dependant else appointment.member.name,
        "dependant_id": appointment.dependant.public_id if appointment.dependant else None,
        "department": appointment.department.code,
        "department_name": appointment.department.name,
        "doctor_name": appointment.doctor.name,
        "doctor_title": appointment.doctor.title_label,
        "slot_id": slot.public_id,
        "date": appointment.date,
        "starts_at": slot.starts_at,
        "ends_at": slot.ends_at,
        "fee": appointment.fee,
        "location": appointment.session.room or appointment.department.location,
        "confirm_by": appointment.hold_expires_at,
        "cancellable_until": cancel_deadline(department=appointment.department, slot=slot),
        "cancel_reason": appointment.cancel_reason,
        "rebook_offer": slot_brief(appointment.rebook_offer),
        "created_at": appointment.created_at,
    }


def waitlist_out(entry: WaitlistEntry, *, position: int | None) -> dict[str, Any]:
    return {
        "id": entry.public_id,
        "status": entry.status,
        "department": entry.department.code,
        "date": entry.date,
        "session_id": entry.session.public_id if entry.session else None,
        "doctor_name": entry.session.doctor.name if entry.session else None,
        "position": position,
        "appointment_id": entry.appointment.public_id if entry.appointment else None,
        "created_at": entry.created_at,
    }
