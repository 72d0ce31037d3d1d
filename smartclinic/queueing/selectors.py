from __future__ import annotations

import datetime as dt
import statistics

from django.db.models import Q, QuerySet

from smartclinic.core import clock
from smartclinic.identity.models import Member
from smartclinic.queueing.choices import TicketStatus
from smartclinic.queueing.models import Ticket
from smartclinic.scheduling.models import ClinicSession, Doctor

CALL_ORDER = ("-priority", "rank", "number")
DEFAULT_VISIT_MINUTES = 10.0


def ticket_line(*, doctor: Doctor, date: dt.date) -> QuerySet[Ticket]:
    """Checked-in tickets waiting for ``doctor`` on ``date``, in calling order."""
    return (
        Ticket.objects.filter(doctor=doctor, session__date=date, status=TicketStatus.ARRIVED)
        .select_related("member", "dependant", "appointment__slot", "session__department")
        .order_by(*CALL_ORDER)
    )


def ticket_list_for_doctor(*, doctor: Doctor, date: dt.date) -> QuerySet[Ticket]:
    """Every ticket of the doctor's day, for the station's list."""
    return (
        Ticket.objects.filter(doctor=doctor, session__date=date)
        .select_related("member", "dependant", "appointment__slot", "session__department")
        .order_by(*CALL_ORDER)
    )


def tickets_ahead(*, ticket: Ticket) -> int:
    """How many checked-in patients will be called before this ticket. For a ticket not yet
    checked in: everyone checked in now (it would join behind them, at best). The patient in the
    consulting room is not counted here; ``estimated_wait_minutes`` adds their visit."""
    if ticket.status not in (TicketStatus.WAITING, TicketStatus.ARRIVED):
        return 0
    line = list(ticket_line(doctor=ticket.doctor, date=ticket.session.date).values_list("pk", flat=True))
    if ticket.status == TicketStatus.WAITING:
        return len(line)
    return line.index(ticket.pk) if ticket.pk in line else 0


def doctor_busy(*, doctor: Doctor, date: dt.date) -> bool:
    """Someone is called or in the consulting room."""
    return Ticket.objects.filter(
        doctor=doctor, session__date=date, status__in=(TicketStatus.CALLED, TicketStatus.IN_VISIT)
    ).exists()


def recent_visit_minutes(*, doctor: Doctor, date: dt.date, sample: int = 10) -> float:
    """The doctor's recent pace: median minutes from call to finish of today's last visits."""
    finished = (
        Ticket.objects.filter(doctor=doctor, session__date=date, status=TicketStatus.DONE, called_at__isnull=False)
        .order_by("-finished_at")
        .values_list("called_at", "finished_at")[:sample]
    )
    durations = [(end - start).total_seconds() / 60 for start, end in finished if end and start and end > start]
    return statistics.median(durations) if durations else DEFAULT_VISIT_MINUTES


def estimated_wait_minutes(*, ticket: Ticket) -> float:
    """Patients ahead (plus the one in the room) times the doctor's recent pace."""
    if ticket.status not in (TicketStatus.WAITING, TicketStatus.ARRIVED):
        return 0.0
    date = ticket.session.date
    busy = 1 if doctor_busy(doctor=ticket.doctor, date=date) else 0
    return (tickets_ahead(ticket=ticket) + busy) * recent_visit_minutes(doctor=ticket.doctor, date=date)


def doctor_session_of_day(*, ticket: Ticket) -> ClinicSession:
    """Where the ticket is seen today: its own session, or after a transfer the new doctor's
    session of that day (the one running now, else the first)."""
    session = ticket.session
    if ticket.doctor_id == session.doctor_id:
        return session
    sessions = list(ClinicSession.objects.filter(doctor_id=ticket.doctor_id, date=session.date).order_by("starts_at"))
    now = clock.now()
    current = [s for s in sessions if s.starts_at <= now <= s.ends_at]
    return (current or sessions or [session])[0]


def member_by_number_or_card(*, ref: str) -> Member | None:
    """A member by member number or campus card number (typed, or read by a card reader)."""
    ref = ref.strip()
    if not ref:
        return None
    return Member.objects.filter(Q(number=ref) | Q(card_number=ref)).first()
