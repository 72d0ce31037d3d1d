"""Issuing queue numbers: once per paid appointment, 1..N per session, never reused."""

from __future__ import annotations

import pytest
from django.db import connection

from smartclinic.audit.models import AuditEntry
from smartclinic.booking.choices import AppointmentStatus
from smartclinic.booking.models import Appointment
from smartclinic.core.actor import Actor
from smartclinic.core.testing import run_concurrently
from smartclinic.outbox.models import OutboxMessage
from smartclinic.queueing import services
from smartclinic.queueing.choices import TicketStatus
from smartclinic.queueing.errors import NotPaid
from smartclinic.queueing.models import QueueCounter, QueueEvent, Ticket
from smartclinic.scheduling.models import Slot

pytestmark = pytest.mark.django_db


def test_issue_gives_the_department_prefixed_number_and_records_everything(day, paid, system_actor):
    appointment = paid(day["slots"][0])

    ticket = services.ticket_issue(actor=system_actor, appointment=appointment)

    assert (ticket.number, ticket.code, ticket.status) == (1, "NK-001", TicketStatus.WAITING)
    assert ticket.doctor_id == day["doctor"].pk and ticket.member_id == appointment.member_id
    assert QueueCounter.objects.get(session=day["session"]).last_number == 1
    assert AuditEntry.objects.filter(action="queueing.ticket_issued", subject_id=str(ticket.public_id)).count() == 1
    message = OutboxMessage.objects.get(name="queueing.ticket_issued")
    assert message.payload == {
        "ticket_id": str(ticket.public_id),
        "appointment_id": str(appointment.public_id),
        "member_id": str(appointment.member.public_id),
        "code": "NK-001",
    }
    event = QueueEvent.objects.get(ticket=ticket)
    assert (event.kind, event.department_id, event.doctor_id) == ("issued", day["department"].pk, day["doctor"].pk)


def test_issue_is_idempotent(day, paid, system_actor):
    appointment = paid(day["slots"][0])
    first = services.ticket_issue(actor=system_actor, appointment=appointment)
    again = services.ticket_issue(actor=system_actor, appointment=appointment)
    assert again.pk == first.pk
    assert Ticket.objects.count() == 1
    assert QueueCounter.objects.get(session=day["session"]).last_number == 1
    assert OutboxMessage.objects.filter(name="queueing.ticket_issued").count() == 1


def test_numbers_count_per_session_and_are_never_reused(day, paid, system_actor):
    first = services.ticket_issue(actor=system_actor, appointment=paid(day["slots"][0]))
    second = services.ticket_issue(actor=system_actor, appointment=paid(day["slots"][1]))
    services.ticket_cancel(actor=system_actor, ticket=second, reason="cancelled")
    third = services.ticket_issue(actor=system_actor, appointment=paid(day["slots"][2]))
    elsewhere = services.ticket_issue(
        actor=system_actor, appointment=paid(Slot.objects.filter(session=day["other_session"]).first())
    )

    assert [first.number, second.number, third.number] == [1, 2, 3]
    assert elsewhere.number == 1  # another session counts on its own


def test_an_unpaid_appointment_gets_no_number(day, paid, system_actor):
    appointment = paid(day["slots"][0])
    Appointment.objects.filter(pk=appointment.pk).update(status=AppointmentStatus.BOOKED)
    appointment.refresh_from_db()

    with pytest.raises(NotPaid) as error:
        services.ticket_issue(actor=system_actor, appointment=appointment)

    assert error.value.code == "queueing.not_paid"
    assert not Ticket.objects.exists() and not QueueEvent.objects.exists()
    assert not QueueCounter.objects.filter(session=day["session"], last_number__gt=0).exists()


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_payments_get_numbers_one_to_n_without_gaps_or_duplicates(day, paid):
    assert connection.vendor == "postgresql"
    slots = day["slots"]
    appointments = [paid(slots[i % len(slots)]) for i in range(24)]
    actor = Actor.system(reason="test")

    results = run_concurrently([lambda a=a: services.ticket_issue(actor=actor, appointment=a) for a in appointments])

    errors = [r for r in results if isinstance(r, BaseException)]
    assert errors == []
    numbers = sorted(Ticket.objects.filter(session=day["session"]).values_list("number", flat=True))
    assert numbers == list(range(1, 25))
    assert QueueCounter.objects.get(session=day["session"]).last_number == 24
    codes = set(Ticket.objects.values_list("code", flat=True))
    assert len(codes) == 24 and "NK-024" in codes


@pytest.mark.django_db(transaction=True)
def test_concurrent_issues_for_one_appointment_give_one_ticket(day, paid):
    appointment = paid(day["slots"][0])
    actor = Actor.system(reason="test")

    results = run_concurrently([lambda: services.ticket_issue(actor=actor, appointment=appointment)] * 4)

    tickets = {r.pk for r in results if isinstance(r, Ticket)}
    assert Ticket.objects.filter(appointment=appointment).count() == 1
    assert len(tickets) >= 1
    # Only the winner counted: losers' increments rolled back with their transactions.
    assert QueueCounter.objects.get(session=day["session"]).last_number == 1
