"""Queueing reacts to billing and booking through the outbox: a paid registration gets its
number (a walk-in is checked in at once); a cancelled or moved appointment leaves the queue."""

from __future__ import annotations

import uuid
from collections import defaultdict
from dataclasses import dataclass

import pytest
from django.db import transaction

from smartclinic.booking.choices import AppointmentSource, AppointmentStatus
from smartclinic.booking.models import Appointment
from smartclinic.outbox.dispatcher import dispatch_until_idle
from smartclinic.outbox.models import OutboxMessage
from smartclinic.outbox.services import DomainEvent, outbox_publish
from smartclinic.queueing.choices import TicketStatus
from smartclinic.queueing.models import Ticket

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def only_queueing_handlers(monkeypatch) -> None:
    """Deliver the events to queueing's handlers only: the other contexts' reactions (HIS export,
    notifications) are theirs to test and need more of the world than these fixtures build."""
    from smartclinic.outbox import registry

    isolated: defaultdict[str, list[registry.Handler]] = defaultdict(list)
    for name in ("billing.order_paid", "booking.appointment_cancelled", "booking.appointment_rescheduled"):
        isolated[name] = [h for h in registry.handlers_for(name) if h.key.startswith("smartclinic.queueing.")]
        assert isolated[name], f"queueing handles {name}"
    monkeypatch.setattr(registry, "_handlers", isolated)


@dataclass(frozen=True)
class OrderPaid(DomainEvent):
    """What billing publishes (its app is written at the same time; this is the contract)."""

    name = "billing.order_paid"
    order_id: str
    appointment_id: str
    member_id: str
    kind: str
    method: str
    amount: str


def pay(appointment: Appointment, *, kind: str = "registration") -> None:
    with transaction.atomic():
        outbox_publish(
            OrderPaid(
                order_id=str(uuid.uuid4()),
                appointment_id=str(appointment.public_id),
                member_id=str(appointment.member.public_id),
                kind=kind,
                method="campus_card",
                amount=str(appointment.fee),
            )
        )
    dispatch_until_idle()


def test_a_paid_registration_gets_its_number(day, paid):
    appointment = paid(day["slots"][0])
    pay(appointment)

    ticket = Ticket.objects.get(appointment=appointment)
    assert (ticket.code, ticket.status) == ("NK-001", TicketStatus.WAITING)
    assert OutboxMessage.objects.get(name="billing.order_paid").status == "done"


def test_delivering_the_payment_twice_issues_one_number(day, paid):
    appointment = paid(day["slots"][0])
    pay(appointment)
    pay(appointment)
    assert Ticket.objects.filter(appointment=appointment).count() == 1
    assert Ticket.objects.get(appointment=appointment).number == 1


def test_other_kinds_of_orders_are_ignored(day, paid):
    appointment = paid(day["slots"][0])
    pay(appointment, kind="prescription")
    assert not Ticket.objects.exists()


def test_a_walk_in_paid_at_the_cashier_is_checked_in_at_once(day, paid, clock_at):
    clock_at(8, 20)
    appointment = paid(day["slots"][1], source=AppointmentSource.WALK_IN)
    pay(appointment)

    ticket = Ticket.objects.get(appointment=appointment)
    assert ticket.status == TicketStatus.ARRIVED and not ticket.late


def test_a_cancelled_appointment_gets_no_number_and_a_payment_is_not_lost_while_unmarked(day, paid):
    cancelled = paid(day["slots"][0])
    Appointment.objects.filter(pk=cancelled.pk).update(status=AppointmentStatus.CANCELLED)
    pay(cancelled)
    assert not Ticket.objects.exists()

    not_yet = paid(day["slots"][1])
    Appointment.objects.filter(pk=not_yet.pk).update(status=AppointmentStatus.BOOKED)
    pay(not_yet)
    message = OutboxMessage.objects.get(payload__appointment_id=str(not_yet.public_id))
    assert message.status == "pending" and "not_paid" in message.last_error  # retried later, not dropped


def test_cancelling_the_appointment_takes_the_ticket_out_of_the_queue(day, ticket_for, system_actor):
    from smartclinic.booking.events import AppointmentCancelled

    ticket = ticket_for(day["slots"][0])
    with transaction.atomic():
        outbox_publish(
            AppointmentCancelled(
                appointment_id=ticket.appointment.public_id,
                member_id=ticket.member.public_id,
                reason="patient",
                was_paid=True,
                by_clinic=False,
            )
        )
    dispatch_until_idle()
    assert Ticket.objects.get(pk=ticket.pk).status == TicketStatus.CANCELLED
