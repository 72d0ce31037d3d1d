"""Read models of the queue pages: the waiting-room board, the nurse's station, the patient's
ticket. Each is built with a fixed number of queries (no N+1) and holds plain values, so the
templates run no queries. Public boards carry masked names only."""

from __future__ import annotations

import datetime as dt
import math
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from django.db.models import Exists, Max, OuterRef, QuerySet
from django.utils.translation import gettext as _

from smartclinic.booking.choices import AppointmentSource
from smartclinic.queueing.choices import Priority, TicketStatus
from smartclinic.queueing.models import QueueEvent, Screen, Ticket, Vitals
from smartclinic.queueing.presenters import call_announcement, call_display, mask_name
from smartclinic.queueing.selectors import CALL_ORDER, doctor_session_of_day, estimated_wait_minutes, tickets_ahead
from smartclinic.scheduling.choices import SessionStatus
from smartclinic.scheduling.models import ClinicSession

CALL_KINDS = ("called", "recalled")
IN_ROOM = (TicketStatus.CALLED, TicketStatus.IN_VISIT)
SCREEN_NEXT = 3


def last_event_id() -> int:
    """Where a page's stream starts: the newest event when the page was rendered."""
    return QueueEvent.objects.aggregate(last=Max("id"))["last"] or 0


def _sessions_of_day(*, date: dt.date, department_ids: list[int] | None = None) -> list[ClinicSession]:
    sessions = ClinicSession.objects.filter(date=date, status=SessionStatus.OPEN).select_related("doctor", "department")
    if department_ids is not None:
        sessions = sessions.filter(department_id__in=department_ids)
    return list(sessions.order_by("department__sort_order", "department__code", "doctor__name", "starts_at"))


def _one_session_per_doctor(sessions: list[ClinicSession], now: dt.datetime) -> list[ClinicSession]:
    """A doctor with a morning and an afternoon session shows once: the session running now (or
    the next, or the last)."""
    chosen: dict[int, ClinicSession] = {}
    for session in sessions:
        current = chosen.get(session.doctor_id)
        if current is None or _session_preference(session, now) < _session_preference(current, now):
            chosen[session.doctor_id] = session
    return [s for s in sessions if chosen.get(s.doctor_id) is s]


def _session_preference(session: ClinicSession, now: dt.datetime) -> tuple[int, float]:
    if session.starts_at <= now <= session.ends_at:
        return (0, 0.0)
    if session.starts_at > now:
        return (1, (session.starts_at - now).total_seconds())
    return (2, (now - session.ends_at).total_seconds())


# --- the waiting-room screen ------------------------------------------------------------------


@dataclass
class PublicTicket:
    code: str
    name: str  # masked
    status: str


@dataclass
class ScreenRow:
    doctor: str
    department: str
    room: str
    in_room: list[PublicTicket] = field(default_factory=list)
    next: list[PublicTicket] = field(default_factory=list)
    waiting: int = 0


@dataclass
class ScreenCall:
    id: int
    code: str
    name: str
    room: str
    doctor: str
    text: str
    say: str
    at: dt.datetime

    @property
    def room_text(self) -> str:
        return _room_text(self.room)


@dataclass
class ScreenBoard:
    rows: list[ScreenRow]
    calls: list[ScreenCall]
    departments: list[str]


def _room_text(room: str) -> str:
    room = room.strip()
    if not room:
        return ""
    return room if not room.isdigit() else _("Room %(room)s") % {"room": room}


def screen_call(event: QueueEvent) -> ScreenCall:
    data = event.data or {}
    code, name, room = str(data.get("code", "")), str(data.get("name", "")), str(data.get("room", ""))
    text = call_announcement(code=code, masked_name=name, room=room)
    return ScreenCall(
        id=event.pk,
        code=code,
        name=name,
        room=room,
        doctor=str(data.get("doctor", "")),
        text=call_display(code=code, masked_name=name, room=room),
        say=text,
        at=event.created_at,
    )


def screen_board(*, screen: Screen, date: dt.date, now: dt.datetime, calls: int = 6) -> ScreenBoard:
    """Who is called to which room, who is next, per doctor of the screen's departments."""
    department_ids = [d.pk for d in screen.departments.all()]
    sessions = _one_session_per_doctor(_sessions_of_day(date=date, department_ids=department_ids), now)
    doctor_ids = [s.doctor_id for s in sessions]
    tickets = (
        Ticket.objects.filter(session__date=date, doctor_id__in=doctor_ids, status__in=(TicketStatus.ARRIVED, *IN_ROOM))
        .select_related("member", "dependant")
        .order_by(*CALL_ORDER)
    )
    by_doctor: dict[int, list[Ticket]] = defaultdict(list)
    for ticket in tickets:
        by_doctor[ticket.doctor_id].append(ticket)
    rows = []
    for session in sessions:
        mine = by_doctor.get(session.doctor_id, [])
        line = [t for t in mine if t.status == TicketStatus.ARRIVED]
        rows.append(
            ScreenRow(
                doctor=session.doctor.name,
                department=session.department.name,
                room=_room_text(session.room or session.doctor.room),
                in_room=[_public(t) for t in sorted(mine, key=_called_order) if t.status in IN_ROOM],
                next=[_public(t) for t in line[:SCREEN_NEXT]],
                waiting=len(line),
            )
        )
    recent = QueueEvent.objects.filter(
        department_id__in=department_ids, kind__in=CALL_KINDS, session__date=date
    ).order_by("-id")[:calls]
    return ScreenBoard(
        rows=rows,
        calls=[screen_call(e) for e in recent],
        departments=[d.name for d in screen.departments.all()],
    )


def _called_order(ticket: Ticket) -> float:
    return -(ticket.called_at.timestamp() if ticket.called_at else 0.0)


def _public(ticket: Ticket) -> PublicTicket:
    return PublicTicket(code=ticket.code, name=mask_name(ticket.patient_name), status=ticket.status)


def screen_event_payload(event: QueueEvent, *, now: dt.datetime) -> dict[str, Any]:
    """What a public screen receives for one event: codes and masked names only. ``age`` lets
    the screen show, but not say, a call it hears late (a replay after an outage)."""
    payload: dict[str, Any] = {"kind": event.kind, "code": (event.data or {}).get("code", "")}
    if event.kind in CALL_KINDS:
        call = screen_call(event)
        payload.update(
            name=call.name,
            room=call.room,
            room_text=_room_text(call.room),
            doctor=call.doctor,
            text=call.text,
            say=call.say,
            age=max(int((now - event.created_at).total_seconds()), 0),
        )
    return payload


# --- the nurse's station --------------------------------------------------------------------------


@dataclass
class StationTicket:
    id: str
    code: str
    name: str
    member_number: str
    status: str
    status_display: str
    priority: int
    priority_display: str
    priority_reason: str
    late: bool
    walk_in: bool
    slot_time: dt.datetime | None
    checked_in_at: dt.datetime | None
    called_at: dt.datetime | None
    call_count: int
    has_vitals: bool
    doctor: str = ""


@dataclass
class StationDoctor:
    doctor_id: str
    doctor: str
    title: str
    department: str
    department_code: str
    room: str
    session_id: str
    session_period: str
    walkin_left: int
    in_room: list[StationTicket] = field(default_factory=list)
    line: list[StationTicket] = field(default_factory=list)
    not_arrived: list[StationTicket] = field(default_factory=list)
    skipped: list[StationTicket] = field(default_factory=list)
    done: int = 0


@dataclass
class StationBoard:
    doctors: list[StationDoctor]
    totals: dict[str, int]


def _station_ticket(ticket: Any, *, with_doctor: bool = False) -> StationTicket:
    return StationTicket(
        id=str(ticket.public_id),
        code=ticket.code,
        name=ticket.patient_name,
        member_number=ticket.member.number,
        status=ticket.status,
        status_display=str(ticket.get_status_display()),
        priority=ticket.priority,
        priority_display=str(ticket.get_priority_display()),
        priority_reason=ticket.priority_reason,
        late=ticket.late,
        walk_in=ticket.appointment.source == AppointmentSource.WALK_IN,
        slot_time=ticket.appointment.slot.starts_at,
        checked_in_at=ticket.checked_in_at,
        called_at=ticket.called_at,
        call_count=ticket.call_count,
        has_vitals=bool(getattr(ticket, "has_vitals", False)),
        doctor=ticket.doctor.name if with_doctor else "",
    )


def station_tickets(*, date: dt.date) -> QuerySet[Ticket]:
    return (
        Ticket.objects.filter(session__date=date)
        .exclude(status=TicketStatus.CANCELLED)
        .select_related("member", "dependant", "appointment__slot")
        .annotate(has_vitals=Exists(Vitals.objects.filter(ticket=OuterRef("pk"))))
        .order_by(*CALL_ORDER)
    )


def station_board(*, date: dt.date, now: dt.datetime, department_ids: list[int] | None = None) -> StationBoard:
    """Every doctor's queue of the day: in the room, in line (calling order), not yet arrived,
    skipped, and how many are done."""
    sessions = _one_session_per_doctor(_sessions_of_day(date=date, department_ids=department_ids), now)
    all_sessions = _sessions_of_day(date=date, department_ids=department_ids)
    walkin_left: dict[int, int] = defaultdict(int)
    for session in all_sessions:
        if session.ends_at > now:
            walkin_left[session.doctor_id] += max(session.walkin_capacity - session.walkin_used, 0)
    doctors = {
        s.doctor_id: StationDoctor(
            doctor_id=str(s.doctor.public_id),
            doctor=s.doctor.name,
            title=str(s.doctor.get_title_display()),
            department=s.department.name,
            department_code=s.department.code,
            room=s.room or s.doctor.room,
            session_id=str(s.public_id),
            session_period=str(s.get_period_display()),
            walkin_left=walkin_left[s.doctor_id],
        )
        for s in sessions
    }
    totals = {"waiting": 0, "arrived": 0, "in_room": 0, "done": 0, "skipped": 0}
    for ticket in station_tickets(date=date).filter(doctor_id__in=list(doctors)):
        row = doctors[ticket.doctor_id]
        view = _station_ticket(ticket)
        if ticket.status in IN_ROOM:
            row.in_room.append(view)
            totals["in_room"] += 1
        elif ticket.status == TicketStatus.ARRIVED:
            row.line.append(view)
            totals["arrived"] += 1
        elif ticket.status == TicketStatus.WAITING:
            row.not_arrived.append(view)
            totals["waiting"] += 1
        elif ticket.status == TicketStatus.SKIPPED:
            row.skipped.append(view)
            totals["skipped"] += 1
        elif ticket.status == TicketStatus.DONE:
            row.done += 1
            totals["done"] += 1
    for row in doctors.values():
        row.not_arrived.sort(key=lambda t: (t.slot_time or now, t.code))
    return StationBoard(doctors=list(doctors.values()), totals=totals)


def station_search(*, date: dt.date, member_ids: list[int]) -> list[StationTicket]:
    """Today's tickets of the members a nurse looked up."""
    tickets = station_tickets(date=date).filter(member_id__in=member_ids).select_related("doctor")
    return [_station_ticket(t) for t in tickets]


def station_ticket_doctor_names(*, date: dt.date, ticket_ids: list[str]) -> dict[str, str]:
    rows = Ticket.objects.filter(session__date=date, public_id__in=ticket_ids).values_list("public_id", "doctor__name")
    return {str(public_id): name for public_id, name in rows}


# --- the patient's ticket ---------------------------------------------------------------------------


@dataclass
class TicketProgress:
    code: str
    status: str
    status_display: str
    ahead: int
    eta_minutes: int | None
    room: str
    doctor: str
    department: str
    priority: int
    called: bool


def ticket_progress(*, ticket: Ticket) -> TicketProgress:
    """Where the patient stands: number, status, how many ahead, an estimated wait (rounded up
    to whole minutes, none once called) and the room."""
    ticket = Ticket.objects.select_related("session__department", "doctor", "member", "dependant").get(pk=ticket.pk)
    where = doctor_session_of_day(ticket=ticket)
    open_line = ticket.status in (TicketStatus.WAITING, TicketStatus.ARRIVED)
    eta = math.ceil(estimated_wait_minutes(ticket=ticket)) if open_line else None
    return TicketProgress(
        code=ticket.code,
        status=ticket.status,
        status_display=str(ticket.get_status_display()),
        ahead=tickets_ahead(ticket=ticket) if open_line else 0,
        eta_minutes=eta,
        room=where.room or ticket.doctor.room,
        doctor=ticket.doctor.name,
        department=where.department.name,
        priority=ticket.priority,
        called=ticket.status == TicketStatus.CALLED,
    )


PRIORITY_CHOICES = [(p.value, p.label) for p in Priority]
