"""Plain dicts of what the API and the pages show; shared so both say the same thing."""

from __future__ import annotations

import datetime as dt
from typing import Any

from smartclinic.booking.models import Appointment, WaitlistEntry
from smartclinic.scheduling.models import Department, Doctor, Slot, title_label_of
from smartclinic.scheduling.rules import booking_closes_at_for, cancel_deadline


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
    return slot_row_out(slot_row_of(slot), now=now)


def slot_row_of(slot: Slot) -> dict[str, Any]:
    """A slot (with its session, department and doctor loaded) as a row of
    ``scheduling.selectors.SLOT_ROW_FIELDS``."""
    session, department, doctor = slot.session, slot.session.department, slot.session.doctor
    return {
        "public_id": slot.public_id,
        "starts_at": slot.starts_at,
        "ends_at": slot.ends_at,
        "capacity": slot.capacity,
        "booked": slot.booked,
        "session__public_id": session.public_id,
        "session__fee": session.fee,
        "session__opens_at": session.opens_at,
        "session__department__code": department.code,
        "session__department__name": department.name,
        "session__department__booking_stop_minutes": department.booking_stop_minutes,
        "session__doctor__public_id": doctor.public_id,
        "session__doctor__name": doctor.name,
        "session__doctor__title": doctor.title,
    }


def slot_row_out(row: dict[str, Any], *, now: dt.datetime) -> dict[str, Any]:
    """A slot as the slot list shows it, from its row (``scheduling.selectors.slot_rows``)."""
    closes_at = booking_closes_at_for(
        starts_at=row["starts_at"], booking_stop_minutes=row["session__department__booking_stop_minutes"]
    )
    remaining = max(row["capacity"] - row["booked"], 0)
    opens_at = row["session__opens_at"]
    return {
        "id": row["public_id"],
        "session_id": row["session__public_id"],
        "starts_at": row["starts_at"],
        "ends_at": row["ends_at"],
        "department": row["session__department__code"],
        "department_name": row["session__department__name"],
        "doctor_id": row["session__doctor__public_id"],
        "doctor_name": row["session__doctor__name"],
        "doctor_title": title_label_of(row["session__doctor__title"]),
        "capacity": row["capacity"],
        "remaining": remaining,
        "fee": row["session__fee"],
        "bookable": opens_at <= now < closes_at and remaining > 0,
        "opens_at": opens_at,
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
