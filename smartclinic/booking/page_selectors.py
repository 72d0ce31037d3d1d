"""Reads of the patient booking pages that the shared selectors do not cover: the 14-day picker,
a day's slots grouped by session with one state each, the doctor list, and "my appointments" split
into what needs the patient's action, what is coming up and what is over.

Everything here returns plain dicts built from rows fetched up front, so the templates run no
queries and a page's query count does not grow with the number of slots or appointments.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any

from django.db.models import Exists, OuterRef
from django.utils.translation import get_language

from smartclinic.booking.choices import (
    LIVE_STATUSES,
    OPEN_WAITLIST_STATUSES,
    AppointmentSource,
    AppointmentStatus,
    CancelReason,
    WaitlistStatus,
)
from smartclinic.booking.models import Appointment
from smartclinic.booking.presenters import appointment_out, department_out, slot_out, waitlist_out
from smartclinic.booking.selectors import appointment_list_for_member, waitlist_list_for_member, waitlist_position
from smartclinic.identity.models import Member
from smartclinic.scheduling.choices import Period, SessionStatus
from smartclinic.scheduling.models import ClinicSession, Department, Doctor, Slot

BOOKING_HORIZON_DAYS = 14

# Slot states, as the slot list shows them.
BOOKABLE = "bookable"
FULL = "full"
NOT_OPEN = "not_open"
CLOSED = "closed"
SUSPENDED = "suspended"


def yuan(fen: int) -> str:
    """Integer fen as the price a patient reads: 1000 → "¥10.00"."""
    return f"¥{fen // 100}.{fen % 100:02d}"


def department_label(department: Department) -> str:
    """The department's name in the reader's language: its English name, when it has one, for
    English readers."""
    english = (get_language() or "").startswith("en")
    return department.name_en if english and department.name_en else department.name


def booking_days(*, today: dt.date) -> list[dt.date]:
    return [today + dt.timedelta(days=offset) for offset in range(BOOKING_HORIZON_DAYS)]


def session_dates(
    *, date_from: dt.date, date_to: dt.date, department: Department | None = None, doctor: Doctor | None = None
) -> set[dt.date]:
    """The days in the range on which the department (or doctor) holds an open session."""
    sessions = ClinicSession.objects.filter(status=SessionStatus.OPEN, date__gte=date_from, date__lte=date_to)
    if department is not None:
        sessions = sessions.filter(department=department)
    if doctor is not None:
        sessions = sessions.filter(doctor=doctor)
    return set(sessions.values_list("date", flat=True).distinct())


def day_tabs(*, days: list[dt.date], selected: dt.date, with_sessions: set[dt.date]) -> list[dict[str, Any]]:
    return [
        {"date": day, "offset": index, "is_selected": day == selected, "has_sessions": day in with_sessions}
        for index, day in enumerate(days)
    ]


def slot_state(out: dict[str, Any], *, now: dt.datetime, session_open: bool = True) -> str:
    if not session_open:
        return SUSPENDED
    if out["bookable"]:
        return BOOKABLE
    if now < out["opens_at"]:
        return NOT_OPEN
    if now >= out["closes_at"]:
        return CLOSED
    return FULL


def slot_groups(*, slots: Iterable[Slot], now: dt.datetime) -> list[dict[str, Any]]:
    """The day's slots grouped by session (one doctor, one period), in time order. Slots kept
    entirely for walk-ins (capacity 0) are not offered online. A session is open to the waitlist
    when none of its slots can be booked but some are full while booking is still open."""
    groups: dict[int, dict[str, Any]] = {}
    for slot in slots:
        if slot.capacity == 0:
            continue
        session = slot.session
        group = groups.get(session.pk)
        if group is None:
            group = groups[session.pk] = {
                "session_id": session.public_id,
                "date": session.date,
                "period": Period(session.period).label,
                "starts_at": session.starts_at,
                "ends_at": session.ends_at,
                "room": session.room or session.department.location,
                "department_code": session.department.code,
                "department_name": department_label(session.department),
                "doctor_id": session.doctor.public_id,
                "doctor_name": session.doctor.name,
                "doctor_title": session.doctor.get_title_display(),
                "fee": session.fee,
                "fee_display": yuan(session.fee),
                "opens_at": session.opens_at,
                "slots": [],
            }
        out = slot_out(slot, now=now)
        out["state"] = slot_state(out, now=now, session_open=session.status == SessionStatus.OPEN)
        out["fee_display"] = yuan(out["fee"])
        group["slots"].append(out)
    result = list(groups.values())
    for group in result:
        states = {slot["state"] for slot in group["slots"]}
        group["bookable"] = BOOKABLE in states
        group["waitlist_open"] = BOOKABLE not in states and FULL in states
        group["not_open"] = states == {NOT_OPEN}
    return result


def day_waitlist_open(groups: list[dict[str, Any]]) -> bool:
    """Any doctor of the department that day: every slot taken, and booking still open for some."""
    return bool(groups) and not any(g["bookable"] for g in groups) and any(g["waitlist_open"] for g in groups)


def first_day_with_sessions(*, days: list[dt.date], with_sessions: set[dt.date]) -> dt.date:
    return next((day for day in days if day in with_sessions), days[0])


def department_items(departments: Iterable[Department]) -> list[dict[str, Any]]:
    return [{**department_out(department), "name": department_label(department)} for department in departments]


def doctor_items(doctors: Iterable[Doctor], *, next_free: dict[int, Slot]) -> list[dict[str, Any]]:
    """Doctors with their departments (prefetched) and the next free slot of each."""
    items = []
    for doctor in doctors:
        slot = next_free.get(doctor.pk)
        departments = list(doctor.departments.all())
        items.append(
            {
                "id": doctor.public_id,
                "name": doctor.name,
                "title": doctor.get_title_display(),
                "departments": [{"code": d.code, "name": department_label(d)} for d in departments],
                "specialties": list(doctor.specialties),
                "room": doctor.room,
                "next_free_at": slot.starts_at if slot else None,
                "next_free_date": slot.session.date if slot else None,
            }
        )
    return items


# --- my appointments ------------------------------------------------------------------------------

_STATUS_TONE = {
    AppointmentStatus.BOOKED: "info",
    AppointmentStatus.PAID: "success",
    AppointmentStatus.COMPLETED: "neutral",
    AppointmentStatus.CANCELLED: "neutral",
    AppointmentStatus.CANCELLED_BY_CLINIC: "danger",
    AppointmentStatus.NO_SHOW: "warning",
    AppointmentStatus.EXPIRED: "neutral",
}


def appointment_item(appointment: Appointment, *, now: dt.datetime, rebooked: bool) -> dict[str, Any]:
    """``appointment_out`` plus what the pages decide on: labels, which buttons, which notes."""
    item = appointment_out(appointment)
    status = AppointmentStatus(appointment.status)
    live = status in LIVE_STATUSES
    offer = appointment.rebook_offer
    awaiting = live and appointment.hold_expires_at is not None and appointment.hold_expires_at > now
    item.update(
        {
            "department_name": department_label(appointment.department),
            "status_display": status.label,
            "status_tone": "warning" if awaiting else _STATUS_TONE.get(status, "neutral"),
            "source_display": AppointmentSource(appointment.source).label,
            "cancel_reason_display": CancelReason(appointment.cancel_reason).label if appointment.cancel_reason else "",
            "for_dependant": appointment.dependant_id is not None,
            "fee_display": yuan(appointment.fee),
            "is_live": live,
            "is_past": appointment.slot.ends_at <= now,
            "awaiting_confirmation": awaiting,
            "can_cancel": live and now < item["cancellable_until"],
            "cancel_closed": live and now >= item["cancellable_until"],
            "can_rebook": status == AppointmentStatus.CANCELLED_BY_CLINIC
            and not rebooked
            and appointment.slot.starts_at > now,
            "rebooked": rebooked,
            "rebook_offer_at": offer.starts_at if offer is not None else None,
            "rebook_offer_doctor": offer.session.doctor.name if offer is not None else "",
            "suspend_reason": appointment.session.suspend_reason,
        }
    )
    return item


def _with_rebooked_flag(appointments: Any) -> Any:
    return appointments.annotate(
        rebooked=Exists(Appointment.objects.filter(rescheduled_from=OuterRef("pk")))
    ).select_related("rebook_offer__session__doctor")


def my_appointments(*, member: Member, now: dt.datetime, limit: int = 100) -> dict[str, list[dict[str, Any]]]:
    """The member's appointments (and their family members') in three lists: needing action
    (a waitlist offer to confirm, a clinic cancellation to rebook), upcoming, and past or cancelled."""
    rows = _with_rebooked_flag(appointment_list_for_member(member=member))[:limit]
    sections: dict[str, list[dict[str, Any]]] = {"action": [], "upcoming": [], "past": []}
    for appointment in rows:
        item = appointment_item(appointment, now=now, rebooked=appointment.rebooked)
        if item["awaiting_confirmation"] or item["can_rebook"]:
            sections["action"].append(item)
        elif item["is_live"] and not item["is_past"]:
            sections["upcoming"].append(item)
        else:
            sections["past"].append(item)
    for key in ("action", "upcoming"):
        sections[key].sort(key=lambda item: item["starts_at"])
    return sections


def appointment_detail(*, appointment: Appointment, now: dt.datetime) -> dict[str, Any]:
    """One appointment (already access-checked) with the appointment that replaced it, if any."""
    replacement = Appointment.objects.filter(rescheduled_from=appointment).values_list("public_id", flat=True).first()
    if appointment.rebook_offer_id is not None:
        appointment.rebook_offer = Slot.objects.select_related("session__doctor").get(pk=appointment.rebook_offer_id)
    item = appointment_item(appointment, now=now, rebooked=replacement is not None)
    item["replacement_id"] = replacement
    item["room"] = appointment.session.room
    item["department_location"] = appointment.department.location
    return item


# --- waitlist -------------------------------------------------------------------------------------


def my_waitlist(*, member: Member, limit: int = 50) -> list[dict[str, Any]]:
    """The member's waitlist entries, open ones first, each with its place in line (one count per
    open entry: a person holds at most one open entry per department and day)."""
    items = []
    for entry in waitlist_list_for_member(member=member)[:limit]:
        item = waitlist_out(entry, position=waitlist_position(entry=entry))
        status = WaitlistStatus(entry.status)
        item.update(
            {
                "status_display": status.label,
                "is_open": status in OPEN_WAITLIST_STATUSES,
                "can_leave": status == WaitlistStatus.WAITING,
                "department_name": department_label(entry.department),
                "patient_name": entry.dependant.name if entry.dependant else "",
                "period": Period(entry.session.period).label if entry.session else "",
            }
        )
        items.append(item)
    items.sort(key=lambda item: not item["is_open"])
    return items


# --- "help me choose" -----------------------------------------------------------------------------


def recommendation_view(result: dict[str, Any]) -> dict[str, Any]:
    """``recommend()``'s answer with each doctor's department name beside its code."""
    names = {department["code"]: department["name"] for department in result["departments"]}
    doctors = [{**doctor, "department_name": names.get(doctor["department"], "")} for doctor in result["doctors"]]
    return {**result, "doctors": doctors}
