"""Queueing's reactions to other contexts' events (delivered by the outbox worker, retried until
they succeed; each is idempotent)."""

from __future__ import annotations

import logging
from typing import Any

from smartclinic.booking.choices import AppointmentSource, AppointmentStatus
from smartclinic.booking.models import Appointment
from smartclinic.core import clock
from smartclinic.core.actor import Actor
from smartclinic.outbox.registry import handles
from smartclinic.queueing import services
from smartclinic.queueing.choices import TicketStatus
from smartclinic.queueing.errors import NotPaid
from smartclinic.queueing.models import Ticket

logger = logging.getLogger(__name__)

REGISTRATION = "registration"


@handles("billing.order_paid")
def issue_ticket_when_registration_paid(payload: dict[str, Any]) -> None:
    """The registration fee is paid (remotely or at the cashier): hand out the queue number. A
    walk-in paid at the station is standing there, so they are checked in at once."""
    if payload.get("kind") != REGISTRATION:
        return
    appointment = Appointment.objects.filter(public_id=payload["appointment_id"]).first()
    if appointment is None:
        logger.warning("billing.order_paid for unknown appointment %s", payload.get("appointment_id"))
        return
    if appointment.status not in (AppointmentStatus.PAID, AppointmentStatus.BOOKED):
        # Cancelled (and refunded) or over before the worker got here: no number to hand out.
        logger.info("no ticket for appointment %s: it is %s", appointment.public_id, appointment.status)
        return
    if appointment.status == AppointmentStatus.BOOKED:
        raise NotPaid()  # billing marks it paid in the same transaction; retry if it has not yet
    actor = Actor.system(reason="billing.order_paid")
    ticket = services.ticket_issue(actor=actor, appointment=appointment)
    if (
        appointment.source == AppointmentSource.WALK_IN
        and ticket.status == TicketStatus.WAITING
        and ticket.session.date == clock.today()
    ):
        services.ticket_check_in(actor=actor, ticket=ticket)


@handles("booking.appointment_cancelled")
def cancel_ticket_of_cancelled_appointment(payload: dict[str, Any]) -> None:
    _cancel_ticket(appointment_public_id=payload["appointment_id"], reason=payload.get("reason") or "cancelled")


@handles("booking.appointment_rescheduled")
def move_ticket_of_rescheduled_appointment(payload: dict[str, Any]) -> None:
    """A paid appointment keeps its payment when moved: the old number leaves the queue and the
    new appointment gets a number of its own session."""
    _cancel_ticket(appointment_public_id=payload["old_appointment_id"], reason="rescheduled")
    new = Appointment.objects.filter(public_id=payload["new_appointment_id"]).first()
    if new is not None and new.status == AppointmentStatus.PAID:
        services.ticket_issue(actor=Actor.system(reason="booking.appointment_rescheduled"), appointment=new)


def _cancel_ticket(*, appointment_public_id: str, reason: str) -> None:
    ticket = (
        Ticket.objects.select_related("session", "doctor")
        .filter(
            appointment__public_id=appointment_public_id,
            status__in=(TicketStatus.WAITING, TicketStatus.ARRIVED, TicketStatus.SKIPPED),
        )
        .first()
    )
    if ticket is not None:
        services.ticket_cancel(actor=Actor.system(reason="booking"), ticket=ticket, reason=reason)
