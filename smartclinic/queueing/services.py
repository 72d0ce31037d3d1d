"""Writes of the queue: issue a number, check in, call, recall, skip, rejoin, start, finish,
transfer, priority. Every transition is one conditional update on the ticket's status (never
read-then-write), an audit entry and a queue event for the screens, in one transaction."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from smartclinic.audit.services import audit_record
from smartclinic.booking.choices import AppointmentSource, AppointmentStatus
from smartclinic.booking.lifecycle import appointment_complete, appointment_mark_arrived, walk_in_register
from smartclinic.booking.models import Appointment
from smartclinic.core import clock
from smartclinic.core.actor import Actor
from smartclinic.identity.models import Dependant, Member
from smartclinic.outbox.services import outbox_publish
from smartclinic.queueing.bus import announce_after_commit, channels_for
from smartclinic.queueing.choices import Priority, TicketStatus
from smartclinic.queueing.errors import (
    InvalidVitals,
    NoSessionForDoctor,
    NothingToCheckIn,
    NotPaid,
    PatientAlreadyCalled,
    PriorityReasonRequired,
    QueueEmpty,
    TicketStateError,
    WrongDay,
)
from smartclinic.queueing.events import TicketCalled, TicketIssued, TurnNear
from smartclinic.queueing.models import QueueCounter, QueueEvent, Ticket, Vitals
from smartclinic.queueing.ordering import arrival_rank, is_late, rejoin_rank
from smartclinic.queueing.presenters import mask_name
from smartclinic.queueing.selectors import CALL_ORDER, doctor_session_of_day
from smartclinic.scheduling.models import ClinicSession, Doctor

TURN_NEAR_AHEAD = 3


def ticket_code(*, department_code: str, number: int) -> str:
    return f"{department_code}-{number:03d}"


def _next_number(session: ClinicSession) -> int:
    QueueCounter.objects.get_or_create(session=session)
    QueueCounter.objects.filter(session=session).update(last_number=F("last_number") + 1)
    # Our UPDATE holds the counter row's lock until commit, so this read sees our own number.
    return QueueCounter.objects.values_list("last_number", flat=True).get(session=session)


def _event(ticket: Ticket, kind: str, *, also_doctor_ids: tuple[int, ...] = (), **data: Any) -> QueueEvent:
    where = doctor_session_of_day(ticket=ticket)
    event = QueueEvent.objects.create(
        session_id=ticket.session_id,
        department_id=where.department_id,
        doctor_id=ticket.doctor_id,
        ticket=ticket,
        kind=kind,
        data={"code": ticket.code, "status": ticket.status, **data},
    )
    announce_after_commit(
        channels=channels_for(
            department_id=where.department_id,
            doctor_ids=(ticket.doctor_id, *also_doctor_ids),
            ticket_id=ticket.pk,
        )
        | (channels_for(department_id=ticket.session.department_id) if also_doctor_ids else set())
    )
    return event


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
    walk_in = ticket.appointment.source == AppointmentSource.WALK_IN
    ticket = _transition(
        ticket=ticket,
        source=(TicketStatus.WAITING,),
        target=TicketStatus.ARRIVED,
        checked_in_at=now,
        late=not walk_in and is_late(slot_starts_at=slot_start, checked_in_at=now),
        rank=arrival_rank(
            slot_starts_at=slot_start,
            session_ends_at=ticket.session.ends_at,
            session_starts_at=ticket.session.starts_at,
            checked_in_at=now,
            number=ticket.number,
            walk_in=walk_in,
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
    # One caller per doctor at a time (a double click, two tabs): the doctor's row is the lock.
    # Without it both callers would pass the check below and call two different patients.
    Doctor.objects.select_for_update().filter(pk=doctor.pk).first()
    called = Ticket.objects.filter(doctor=doctor, session__date=date, status=TicketStatus.CALLED).first()
    if called is not None:
        raise PatientAlreadyCalled(
            PatientAlreadyCalled.message % {"code": called.code}, ticket_id=str(called.public_id)
        )
    candidate = (
        Ticket.objects.filter(doctor=doctor, session__date=date, status=TicketStatus.ARRIVED)
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
    room = doctor_session_of_day(ticket=ticket).room or doctor.room
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
    appointment_complete(actor=actor, appointment=ticket.appointment)
    _audit(actor, ticket, "ticket_finished")
    _event(ticket, "finished")
    return ticket


@transaction.atomic
def ticket_cancel(*, actor: Actor, ticket: Ticket, reason: str) -> Ticket:
    """The appointment behind the ticket was cancelled (refund, rescheduling, a suspended
    session): the number leaves the queue for good (it is never handed out again)."""
    ticket = _transition(
        ticket=ticket,
        source=(TicketStatus.WAITING, TicketStatus.ARRIVED, TicketStatus.SKIPPED),
        target=TicketStatus.CANCELLED,
    )
    _audit(actor, ticket, "ticket_cancelled", reason=reason)
    _event(ticket, "cancelled")
    return ticket


@transaction.atomic
def ticket_transfer(*, actor: Actor, ticket: Ticket, to_doctor: Doctor) -> Ticket:
    """Send a waiting (or called) patient to another doctor's queue; they keep their number and
    their place by arrival. The other doctor must consult that day."""
    old_doctor = ticket.doctor
    if to_doctor.pk == old_doctor.pk:
        raise TicketStateError(TicketStateError.message % {"status": ticket.get_status_display()}, status=ticket.status)
    if not ClinicSession.objects.filter(doctor=to_doctor, date=ticket.session.date).exists():
        raise NoSessionForDoctor()
    ticket = _transition(
        ticket=ticket,
        source=(TicketStatus.ARRIVED, TicketStatus.CALLED),
        target=TicketStatus.ARRIVED,
        doctor_id=to_doctor.pk,
    )
    _audit(actor, ticket, "ticket_transferred", from_doctor=old_doctor.public_id, to_doctor=to_doctor.public_id)
    _event(ticket, "transferred", also_doctor_ids=(old_doctor.pk,), doctor=to_doctor.name)
    _notify_turn_near(doctor=to_doctor, date=ticket.session.date)
    return ticket


@transaction.atomic
def ticket_set_priority(*, actor: Actor, ticket: Ticket, priority: int, reason: str) -> Ticket:
    """Urgent or disability priority (with the reason, kept in the audit log); NORMAL removes it."""
    reason = reason.strip()
    if priority != Priority.NORMAL and not reason:
        raise PriorityReasonRequired()
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


def ticket_self_check_in(*, actor: Actor, member: Member, ticket: Ticket | None = None) -> list[Ticket]:
    """The patient scanned the clinic's code (the caller verified it): check in the given ticket,
    or every ticket of theirs (and their dependants') still waiting today."""
    if ticket is not None:
        if ticket.member_id != member.pk:
            raise NothingToCheckIn()
        waiting = [ticket] if ticket.status == TicketStatus.WAITING else []
    else:
        waiting = list(
            Ticket.objects.filter(member=member, session__date=clock.today(), status=TicketStatus.WAITING).order_by(
                "session__starts_at", "number"
            )
        )
    if not waiting:
        raise NothingToCheckIn()
    return [ticket_check_in(actor=actor, ticket=t) for t in waiting]


def walk_in_admit(
    *, actor: Actor, session: ClinicSession, member: Member, dependant: Dependant | None = None
) -> Appointment:
    """现场挂号 for a session running today, from its walk-in share. The patient pays at the
    cashier; the number follows the payment (``billing.order_paid``), already checked in."""
    if session.date != clock.today() or session.ends_at <= clock.now():
        raise WrongDay()
    return walk_in_register(actor=actor, member=member, session=session, dependant=dependant)


VITALS_RANGES: dict[str, tuple[Decimal, Decimal]] = {
    "temperature_c": (Decimal("30"), Decimal("45")),
    "systolic_mmhg": (Decimal("50"), Decimal("300")),
    "diastolic_mmhg": (Decimal("20"), Decimal("200")),
    "pulse_bpm": (Decimal("20"), Decimal("250")),
    "weight_kg": (Decimal("1"), Decimal("400")),
}


def _plausible(name: str, value: Any) -> bool:
    low, high = VITALS_RANGES[name]
    return low <= Decimal(str(value)) <= high


@transaction.atomic
def vitals_record(
    *,
    actor: Actor,
    ticket: Ticket,
    temperature_c: Decimal | None = None,
    systolic_mmhg: int | None = None,
    diastolic_mmhg: int | None = None,
    pulse_bpm: int | None = None,
    weight_kg: Decimal | None = None,
) -> Vitals:
    """The nurse's triage measurements for a patient in today's queue. Every value is optional,
    but at least one is given, each is plausible (a typo like 365 °C is refused), and blood
    pressure comes as a pair with the diastolic below the systolic."""
    values: dict[str, Any] = {
        "temperature_c": temperature_c,
        "systolic_mmhg": systolic_mmhg,
        "diastolic_mmhg": diastolic_mmhg,
        "pulse_bpm": pulse_bpm,
        "weight_kg": weight_kg,
    }
    given = {name: value for name, value in values.items() if value is not None}
    bad = [name for name, value in given.items() if not _plausible(name, value)]
    if (systolic_mmhg is None) != (diastolic_mmhg is None) or (
        systolic_mmhg is not None and diastolic_mmhg is not None and diastolic_mmhg >= systolic_mmhg
    ):
        bad += [name for name in ("systolic_mmhg", "diastolic_mmhg") if name not in bad]
    if not given:
        bad = list(values)
    if bad:
        raise InvalidVitals(InvalidVitals.message % {"fields": ", ".join(bad)}, fields=bad)
    if ticket.status in (TicketStatus.DONE, TicketStatus.CANCELLED):
        raise TicketStateError(TicketStateError.message % {"status": ticket.get_status_display()}, status=ticket.status)
    if actor.user is None:
        raise TicketStateError(TicketStateError.message % {"status": ticket.get_status_display()}, status=ticket.status)
    vitals = Vitals.objects.create(ticket=ticket, measured_by=actor.user, **values)
    # The values are clinical data: the audit entry names the fields, not the readings.
    audit_record(actor=actor, action="queueing.vitals_recorded", subject=ticket, new={"fields": sorted(given)})
    _event(ticket, "vitals")
    return vitals
