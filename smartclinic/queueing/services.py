"""Writes of the queue: issue a number, check in, call, recall, skip, rejoin, start, finish,
transfer, priority. Every transition is one conditional update on the ticket's status (never
read-then-write), an audit entry and a queue event for the screens, in one transaction."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from smartclinic.audit.services import audit_record
from smartclinic.booking.choices import AppointmentStatus
from smartclinic.booking.lifecycle import appointment_mark_arrived
from smartclinic.booking.models import Appointment
from smartclinic.core import clock
from smartclinic.core.actor import Actor
from smartclinic.outbox.services import outbox_publish
from smartclinic.queueing.choices import Priority, TicketStatus
from smartclinic.queueing.errors import NotPaid, PatientAlreadyCalled, QueueEmpty, TicketStateError, WrongDay
from smartclinic.queueing.events import TicketCalled, TicketIssued, TurnNear
from smartclinic.queueing.models import QueueCounter, QueueEvent, Ticket
from smartclinic.queueing.ordering import arrival_rank, is_late, rejoin_rank
from smartclinic.queueing.selectors import CALL_ORDER
from smartclinic.scheduling.models import ClinicSession, Doctor

TURN_NEAR_AHEAD = 3


def ticket_code(*, department_code: str, number: int) -> str:
    return f"{department_code}-{number:03d}"


def _next_number(session: ClinicSession) -> int:
    QueueCounter.objects.get_or_create(session=session)
    QueueCounter.objects.filter(session=session).update(last_number=F("last_number") + 1)
    # Our UPDATE holds the counter row's lock until commit, so this read sees our own number.
    return QueueCounter.objects.values_list("last_number", flat=True).get(session=session)


def _event(ticket: Ticket, kind: str, **data: Any) -> None:
    QueueEvent.objects.create(
        session_id=ticket.session_id,
        department_id=ticket.session.department_id,
        ticket=ticket,
        kind=kind,
        data={"code": ticket.code, "status": ticket.status, **data},
    )
    from smartclinic.queueing.bus import announce_after_commit

    announce_after_commit(department_id=ticket.session.department_id, session_id=ticket.session_id)


@transaction.atomic
def ticket_issue(*, actor: Actor, appointment: Appointment) -> Ticket:
    """Issue the queue number of a paid appointment (once: a second call returns the same)."""
    existing = Ticket.objects.filter(appointment=appointment).first()
    if existing is not None:
        return existing
    if appointment.status != AppointmentStatus.PAID:
        raise NotPaid()
    session = ClinicSession.objects.select_related("department").get(pk=appointment.session_id)
    number = _next_number(session)
    ticket = Ticket.objects.create(
        session=session,
        doctor_id=session.doctor_id,
        appointment=appointment,
        member_id=appointment.member_id,
        dependant_id=appointment.dependant_id,
        number=number,
        code=ticket_code(department_code=session.department.code, number=number),
    )
    audit_record(actor=actor, action="queueing.ticket_issued", subject=ticket, new={"code": ticket.code})
    outbox_publish(
        TicketIssued(
            ticket_id=ticket.public_id,
            appointment_id=appointment.public_id,
            member_id=ticket.member.public_id,
            code=ticket.code,
        )
    )
    _event(ticket, "issued")
    return ticket


def _transition(*, ticket: Ticket, source: tuple[str, ...], target: str, **changes: Any) -> Ticket:
    updated = Ticket.objects.filter(pk=ticket.pk, status__in=source).update(
        status=target, updated_at=clock.now(), **changes
    )
    if not updated:
        ticket.refresh_from_db()
        raise TicketStateError(TicketStateError.message % {"status": ticket.get_status_display()}, status=ticket.status)
    old_status = ticket.status
    ticket.refresh_from_db()
    ticket._old_status = old_status  # type: ignore[attr-defined]
    return ticket


def _audit(actor: Actor, ticket: Ticket, action: str, **new: Any) -> None:
    audit_record(
        actor=actor,
        action=f"queueing.{action}",
        subject=ticket,
        old={"status": getattr(ticket, "_old_status", "")},
        new={"status": ticket.status, **new},
    )


@transaction.atomic
def ticket_check_in(*, actor: Actor, ticket: Ticket) -> Ticket:
    """The patient is here (the nurse checked them in, or they scanned the clinic's code)."""
    now = clock.now()
    ticket = Ticket.objects.select_related("session", "appointment__slot").get(pk=ticket.pk)
    if timezone.localtime(now).date() != ticket.session.date:
        raise WrongDay()
    slot_start = ticket.appointment.slot.starts_at
    ticket = _transition(
        ticket=ticket,
        source=(TicketStatus.WAITING,),
        target=TicketStatus.ARRIVED,
        checked_in_at=now,
        late=is_late(slot_starts_at=slot_start, checked_in_at=now),
        rank=arrival_rank(
            slot_starts_at=slot_start,
            session_ends_at=ticket.session.ends_at,
            session_starts_at=ticket.session.starts_at,
            checked_in_at=now,
        ),
    )
    appointment_mark_arrived(actor=actor, appointment=ticket.appointment)
    _audit(actor, ticket, "ticket_checked_in", late=ticket.late)
    _event(ticket, "checked_in")
    return ticket


def _notify_turn_near(*, doctor: Doctor, date: dt.date) -> None:
    line = list(
        Ticket.objects.filter(doctor=doctor, session__date=date, status=TicketStatus.ARRIVED)
        .select_related("member")
        .order_by(*CALL_ORDER)[: TURN_NEAR_AHEAD + 1]
    )
    if len(line) <= TURN_NEAR_AHEAD:
        return
    near = line[TURN_NEAR_AHEAD]
    if Ticket.objects.filter(pk=near.pk, near_notified=False).update(near_notified=True):
        outbox_publish(TurnNear(ticket_id=near.public_id, member_id=near.member.public_id, ahead=TURN_NEAR_AHEAD))


@transaction.atomic
def ticket_call_next(*, actor: Actor, doctor: Doctor, date: dt.date | None = None) -> Ticket:
    """Call the first checked-in patient in line for ``doctor``. One at a time: a patient already
    called must be started or skipped first."""
    date = date or clock.today()
    called = Ticket.objects.filter(doctor=doctor, session__date=date, status=TicketStatus.CALLED).first()
    if called is not None:
        raise PatientAlreadyCalled(
            PatientAlreadyCalled.message % {"code": called.code}, ticket_id=str(called.public_id)
        )
    candidate = (
        Ticket.objects.select_for_update(skip_locked=True, of=("self",))
        .filter(doctor=doctor, session__date=date, status=TicketStatus.ARRIVED)
        .order_by(*CALL_ORDER)
        .first()
    )
    if candidate is None:
        raise QueueEmpty()
    return _call(actor=actor, ticket=candidate, doctor=doctor, date=date, kind="called")


def _call(*, actor: Actor, ticket: Ticket, doctor: Doctor, date: dt.date, kind: str) -> Ticket:
    source = (TicketStatus.ARRIVED,) if kind == "called" else (TicketStatus.CALLED,)
    ticket = _transition(
        ticket=ticket, source=source, target=TicketStatus.CALLED, called_at=clock.now(), call_count=F("call_count") + 1
    )
    ticket = Ticket.objects.select_related("session__department", "doctor", "member", "dependant").get(pk=ticket.pk)
    _audit(actor, ticket, f"ticket_{kind}")
    room = doctor.room or ticket.session.room
    _event(ticket, kind, room=room, name=mask_name(ticket.patient_name), doctor=doctor.name)
    outbox_publish(TicketCalled(ticket_id=ticket.public_id, member_id=ticket.member.public_id, room=room))
    _notify_turn_near(doctor=doctor, date=date)
    return ticket


@transaction.atomic
def ticket_recall(*, actor: Actor, ticket: Ticket) -> Ticket:
    """Call the same patient again (叫号重呼)."""
    return _call(actor=actor, ticket=ticket, doctor=ticket.doctor, date=ticket.session.date, kind="recalled")


@transaction.atomic
def ticket_skip(*, actor: Actor, ticket: Ticket) -> Ticket:
    """No answer (过号): out of line until they come back to the nurse."""
    ticket = _transition(
        ticket=ticket, source=(TicketStatus.CALLED,), target=TicketStatus.SKIPPED, skipped_at=clock.now()
    )
    _audit(actor, ticket, "ticket_skipped")
    _event(ticket, "skipped")
    _notify_turn_near(doctor=ticket.doctor, date=ticket.session.date)
    return ticket


@transaction.atomic
def ticket_rejoin(*, actor: Actor, ticket: Ticket) -> Ticket:
    """A skipped patient is back: put them after the next two in line."""
    normal_ranks = list(
        Ticket.objects.filter(
            doctor_id=ticket.doctor_id,
            session__date=ticket.session.date,
            status=TicketStatus.ARRIVED,
            priority=Priority.NORMAL,
        )
        .order_by("rank")
        .values_list("rank", flat=True)
    )
    rank = rejoin_rank(waiting_ranks=[r for r in normal_ranks if r is not None])
    ticket = _transition(ticket=ticket, source=(TicketStatus.SKIPPED,), target=TicketStatus.ARRIVED, rank=rank)
    _audit(actor, ticket, "ticket_rejoined")
    _event(ticket, "rejoined")
    return ticket


@transaction.atomic
def ticket_start(*, actor: Actor, ticket: Ticket) -> Ticket:
    ticket = _transition(
        ticket=ticket, source=(TicketStatus.CALLED,), target=TicketStatus.IN_VISIT, started_at=clock.now()
    )
    _audit(actor, ticket, "ticket_started")
    _event(ticket, "started")
    return ticket


@transaction.atomic
def ticket_finish(*, actor: Actor, ticket: Ticket) -> Ticket:
    ticket = _transition(
        ticket=ticket, source=(TicketStatus.IN_VISIT,), target=TicketStatus.DONE, finished_at=clock.now()
    )
    _audit(actor, ticket, "ticket_finished")
    _event(ticket, "finished")
    return ticket


@transaction.atomic
def ticket_transfer(*, actor: Actor, ticket: Ticket, to_doctor: Doctor) -> Ticket:
    """Send a waiting (or called) patient to another doctor's queue; they keep their number and
    their place by arrival."""
    old_doctor = ticket.doctor
    ticket = _transition(
        ticket=ticket,
        source=(TicketStatus.ARRIVED, TicketStatus.CALLED),
        target=TicketStatus.ARRIVED,
        doctor_id=to_doctor.pk,
    )
    _audit(actor, ticket, "ticket_transferred", from_doctor=old_doctor.public_id, to_doctor=to_doctor.public_id)
    _event(ticket, "transferred", doctor=to_doctor.name)
    return ticket


@transaction.atomic
def ticket_set_priority(*, actor: Actor, ticket: Ticket, priority: int, reason: str) -> Ticket:
    updated = Ticket.objects.filter(pk=ticket.pk, status__in=(TicketStatus.WAITING, TicketStatus.ARRIVED)).update(
        priority=priority, priority_reason=reason[:200], updated_at=clock.now()
    )
    if not updated:
        ticket.refresh_from_db()
        raise TicketStateError(TicketStateError.message % {"status": ticket.get_status_display()}, status=ticket.status)
    old = ticket.priority
    ticket.refresh_from_db()
    audit_record(
        actor=actor,
        action="queueing.ticket_priority_set",
        subject=ticket,
        old={"priority": old},
        new={"priority": priority, "reason": reason},
    )
    _event(ticket, "priority")
    return ticket


def mask_name(name: str) -> str:
    """张*明 on public screens: the first and last characters stay, the middle is masked."""
    name = name.strip()
    if len(name) <= 1:
        return name
    if len(name) == 2:
        return name[0] + "*"
    return name[0] + "*" * (len(name) - 2) + name[-1]
