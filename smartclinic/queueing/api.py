"""Queue endpoints: the patient's ticket, check-in, walk-ins, and the stations' actions (call
next, call again, skip, transfer, rejoin, priority, vitals). The live streams are plain Django
views (``views_stream.py``): Server-Sent Events are not JSON request/response."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from django.http import HttpRequest
from ninja import Router
from ninja.responses import Status

from smartclinic.booking.access import access_own_dependant_or_none
from smartclinic.core.errors import NotFound
from smartclinic.identity.auth import request_actor, request_user, require_perm
from smartclinic.identity.selectors import member_of_user
from smartclinic.queueing import services
from smartclinic.queueing.access import (
    access_own_queue_session,
    access_own_queue_ticket,
    access_own_ticket,
    access_patient_ticket,
    access_ticket_for_staff,
    access_transferable_ticket,
)
from smartclinic.queueing.boards import ticket_progress
from smartclinic.queueing.choices import Priority
from smartclinic.queueing.errors import InvalidCheckInCode
from smartclinic.queueing.models import Ticket, Vitals
from smartclinic.queueing.schemas import (
    CheckInIn,
    CheckInOut,
    PriorityIn,
    QueueTicketOut,
    TicketOut,
    TransferIn,
    VitalsIn,
    VitalsOut,
    WalkInIn,
    WalkInOut,
)
from smartclinic.queueing.selectors import doctor_session_of_day, member_by_number_or_card, ticket_list_for_doctor
from smartclinic.queueing.tokens import clinic_code_valid, ticket_code_sign, ticket_code_unsign
from smartclinic.scheduling.models import ClinicSession, Doctor

router = Router(tags=["queueing"])


def ticket_out(ticket: Ticket) -> dict[str, Any]:
    progress = ticket_progress(ticket=ticket)
    return {
        "id": ticket.public_id,
        "appointment_id": ticket.appointment.public_id,
        "code": ticket.code,
        "number": ticket.number,
        "date": ticket.session.date,
        "status": progress.status,
        "status_display": progress.status_display,
        "ahead": progress.ahead,
        "eta_minutes": progress.eta_minutes,
        "doctor": progress.doctor,
        "department": progress.department,
        "room": progress.room,
        "called": progress.called,
        "check_in_code": ticket_code_sign(ticket_public_id=ticket.public_id),
    }


def queue_ticket_out(ticket: Ticket) -> dict[str, Any]:
    ticket = Ticket.objects.select_related("appointment", "member", "dependant", "doctor", "session__department").get(
        pk=ticket.pk
    )
    return {
        "id": ticket.public_id,
        "appointment_id": ticket.appointment.public_id,
        "code": ticket.code,
        "number": ticket.number,
        "status": ticket.status,
        "priority": Priority(ticket.priority).name.lower(),
        "priority_reason": ticket.priority_reason,
        "late": ticket.late,
        "walk_in": ticket.appointment.source == "walk_in",
        "patient_name": ticket.patient_name,
        "member_number": ticket.member.number,
        "doctor_id": ticket.doctor.public_id,
        "room": doctor_session_of_day(ticket=ticket).room or ticket.doctor.room,
        "checked_in_at": ticket.checked_in_at,
        "called_at": ticket.called_at,
        "call_count": ticket.call_count,
    }


# --- the patient ------------------------------------------------------------------------------


@router.get("/appointments/{appointment_id}/ticket", response=TicketOut)
def ticket_get_api(request: HttpRequest, appointment_id: UUID) -> dict[str, Any]:
    """The queue ticket of an appointment: number, status, how many are ahead, estimated wait."""
    return ticket_out(access_patient_ticket(actor=request_actor(request), appointment_id=appointment_id))


@router.post("/checkins", response=CheckInOut)
def checkin_create_api(request: HttpRequest, payload: CheckInIn) -> dict[str, Any]:
    """Check in: a nurse by ticket id or by scanning the patient's code, or the patient after
    scanning the clinic's code at the entrance."""
    actor = request_actor(request)
    user = request_user(request)
    if payload.clinic_code:
        if not clinic_code_valid(code=payload.clinic_code):
            raise InvalidCheckInCode()
        member = member_of_user(user=user)
        if member is None:
            raise NotFound()
        own = access_own_ticket(actor=actor, public_id=payload.ticket_id) if payload.ticket_id else None
        tickets = services.ticket_self_check_in(actor=actor, member=member, ticket=own)
        return {"tickets": [ticket_out(t) for t in tickets]}
    require_perm(user, "queueing.check_in_ticket")
    if payload.ticket_code:
        public_id = ticket_code_unsign(code=payload.ticket_code)
        if public_id is None:
            raise InvalidCheckInCode()
    elif payload.ticket_id:
        public_id = payload.ticket_id
    else:
        raise InvalidCheckInCode()
    ticket = access_ticket_for_staff(actor=actor, public_id=public_id, permission="queueing.check_in_ticket")
    return {"tickets": [ticket_out(services.ticket_check_in(actor=actor, ticket=ticket))]}


# --- the stations ---------------------------------------------------------------------------------


@router.get("/queues/{session_id}", response=list[QueueTicketOut])
def queue_list_api(request: HttpRequest, session_id: UUID) -> list[dict[str, Any]]:
    """Every ticket of the session's doctor that day, in calling order (the doctor's own queue,
    or any for the nurse's station)."""
    actor = request_actor(request)
    user = request_user(request)
    session = ClinicSession.objects.select_related("doctor").filter(public_id=session_id).first()
    if session is None:
        raise NotFound()
    if not user.has_perm("queueing.view_ticket"):
        session = access_own_queue_session(actor=actor, public_id=session_id)
    tickets = ticket_list_for_doctor(doctor=session.doctor, date=session.date).exclude(status="cancelled")
    return [queue_ticket_out(t) for t in tickets[:500]]


@router.post("/queues/{session_id}/call-next", response=QueueTicketOut)
def queue_call_next_api(request: HttpRequest, session_id: UUID) -> dict[str, Any]:
    """Call the first checked-in patient of the doctor's line (the screen shows and says it)."""
    actor = request_actor(request)
    session = access_own_queue_session(actor=actor, public_id=session_id)
    return queue_ticket_out(services.ticket_call_next(actor=actor, doctor=session.doctor, date=session.date))


@router.post("/tickets/{ticket_id}/recall", response=QueueTicketOut)
def ticket_recall_api(request: HttpRequest, ticket_id: UUID) -> dict[str, Any]:
    actor = request_actor(request)
    ticket = access_own_queue_ticket(actor=actor, public_id=ticket_id)
    return queue_ticket_out(services.ticket_recall(actor=actor, ticket=ticket))


@router.post("/tickets/{ticket_id}/skip", response=QueueTicketOut)
def ticket_skip_api(request: HttpRequest, ticket_id: UUID) -> dict[str, Any]:
    actor = request_actor(request)
    ticket = access_own_queue_ticket(actor=actor, public_id=ticket_id)
    return queue_ticket_out(services.ticket_skip(actor=actor, ticket=ticket))


@router.post("/tickets/{ticket_id}/transfer", response=QueueTicketOut)
def ticket_transfer_api(request: HttpRequest, ticket_id: UUID, payload: TransferIn) -> dict[str, Any]:
    actor = request_actor(request)
    ticket = access_transferable_ticket(actor=actor, public_id=ticket_id)
    to_doctor = Doctor.objects.filter(public_id=payload.doctor_id, active=True).first()
    if to_doctor is None:
        raise NotFound()
    return queue_ticket_out(services.ticket_transfer(actor=actor, ticket=ticket, to_doctor=to_doctor))


@router.post("/tickets/{ticket_id}/rejoin", response=QueueTicketOut)
def ticket_rejoin_api(request: HttpRequest, ticket_id: UUID) -> dict[str, Any]:
    """A skipped patient is back at the nurse's desk: in line again, after the next two."""
    actor = request_actor(request)
    ticket = access_ticket_for_staff(actor=actor, public_id=ticket_id, permission="queueing.check_in_ticket")
    return queue_ticket_out(services.ticket_rejoin(actor=actor, ticket=ticket))


@router.post("/tickets/{ticket_id}/priority", response=QueueTicketOut)
def ticket_priority_api(request: HttpRequest, ticket_id: UUID, payload: PriorityIn) -> dict[str, Any]:
    actor = request_actor(request)
    ticket = access_ticket_for_staff(actor=actor, public_id=ticket_id, permission="queueing.prioritize_ticket")
    priority = Priority[payload.priority.upper()]
    return queue_ticket_out(
        services.ticket_set_priority(actor=actor, ticket=ticket, priority=priority, reason=payload.reason)
    )


@router.post("/tickets/{ticket_id}/vitals", response={201: VitalsOut})
def ticket_vitals_api(request: HttpRequest, ticket_id: UUID, payload: VitalsIn) -> Status[Any]:
    actor = request_actor(request)
    ticket = access_ticket_for_staff(actor=actor, public_id=ticket_id, permission="queueing.add_vitals")
    vitals: Vitals = services.vitals_record(actor=actor, ticket=ticket, **payload.model_dump())
    return Status(
        201,
        {
            "id": vitals.public_id,
            "ticket_id": ticket.public_id,
            "temperature_c": vitals.temperature_c,
            "systolic_mmhg": vitals.systolic_mmhg,
            "diastolic_mmhg": vitals.diastolic_mmhg,
            "pulse_bpm": vitals.pulse_bpm,
            "weight_kg": vitals.weight_kg,
            "measured_at": vitals.created_at,
        },
    )


@router.post("/walk-ins", response={201: WalkInOut})
def walk_in_create_api(request: HttpRequest, payload: WalkInIn) -> Status[Any]:
    """现场挂号 at the nurse's or the cashier's station, from the session's walk-in share. The
    patient pays at the cashier; the queue number follows the payment, already checked in."""
    actor = request_actor(request)
    require_perm(request_user(request), "queueing.register_walk_in")
    session = ClinicSession.objects.select_related("doctor", "department").filter(public_id=payload.session_id).first()
    member = member_by_number_or_card(ref=payload.member_number)
    if session is None or member is None:
        raise NotFound()
    dependant = access_own_dependant_or_none(member=member, public_id=payload.dependant_id)
    appointment = services.walk_in_admit(actor=actor, session=session, member=member, dependant=dependant)
    return Status(
        201,
        {
            "appointment_id": appointment.public_id,
            "status": appointment.status,
            "fee": appointment.fee,
            "session_id": appointment.session.public_id,
            "doctor": appointment.session.doctor.name,
            "department": appointment.session.department.name,
        },
    )
