"""Check-in and the calling order: on time by slot, late after the on-time ones of the period,
priority first, a skipped patient back after the next two, walk-ins by arrival; one patient
called at a time per doctor; recall, skip, transfer, start, finish."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine

from smartclinic.audit.models import AuditEntry
from smartclinic.booking.choices import AppointmentSource, AppointmentStatus
from smartclinic.core import clock
from smartclinic.outbox.models import OutboxMessage
from smartclinic.queueing import services
from smartclinic.queueing.choices import Priority, TicketStatus
from smartclinic.queueing.errors import (
    NoSessionForDoctor,
    PatientAlreadyCalled,
    PriorityReasonRequired,
    QueueEmpty,
    TicketStateError,
    WrongDay,
)
from smartclinic.queueing.models import QueueEvent, Ticket
from smartclinic.queueing.presenters import mask_name
from smartclinic.queueing.selectors import estimated_wait_minutes, ticket_line, tickets_ahead

pytestmark = pytest.mark.django_db


def line_codes(day) -> list[str]:
    return [t.code for t in ticket_line(doctor=day["doctor"], date=clock.today())]


def call_all(day, actor) -> list[str]:
    called = []
    while True:
        try:
            ticket = services.ticket_call_next(actor=actor, doctor=day["doctor"])
        except QueueEmpty:
            return called
        called.append(ticket.code)
        services.ticket_start(actor=actor, ticket=ticket)
        services.ticket_finish(actor=actor, ticket=ticket)


def test_only_checked_in_patients_are_called(day, ticket_for, system_actor):
    ticket_for(day["slots"][0])  # paid, not here
    with pytest.raises(QueueEmpty) as error:
        services.ticket_call_next(actor=system_actor, doctor=day["doctor"])
    assert error.value.code == "queueing.queue_empty"


def test_check_in_on_time_records_arrival_and_the_appointment(day, ticket_for, clock_at, system_actor):
    ticket = ticket_for(day["slots"][1])
    clock_at(8, 5)

    ticket = services.ticket_check_in(actor=system_actor, ticket=ticket)

    assert ticket.status == TicketStatus.ARRIVED and not ticket.late
    assert ticket.appointment.checked_in_at is not None
    assert AuditEntry.objects.filter(action="queueing.ticket_checked_in").count() == 1
    assert QueueEvent.objects.filter(ticket=ticket, kind="checked_in").exists()
    with pytest.raises(TicketStateError):
        services.ticket_check_in(actor=system_actor, ticket=ticket)


def test_check_in_only_on_the_day(day, ticket_for, clock_at, system_actor):
    ticket = ticket_for(day["slots"][0])

    with time_machine.travel("2026-03-01 12:00 +08:00", tick=False), pytest.raises(WrongDay):
        services.ticket_check_in(actor=system_actor, ticket=ticket)
    assert Ticket.objects.get(pk=ticket.pk).status == TicketStatus.WAITING


def test_on_time_patients_are_called_by_slot_time_whatever_their_arrival(day, ticket_for, clock_at, system_actor):
    slots = day["slots"]
    late_slot = ticket_for(slots[2])  # 08:30 slot, arrives first
    early_slot = ticket_for(slots[0])  # 08:00 slot, arrives second
    middle = ticket_for(slots[1])
    clock_at(7, 55)
    for ticket in (late_slot, early_slot, middle):
        services.ticket_check_in(actor=system_actor, ticket=ticket)

    assert line_codes(day) == [early_slot.code, middle.code, late_slot.code]


def test_two_patients_of_one_slot_go_by_number(day, ticket_for, clock_at, system_actor):
    first = ticket_for(day["slots"][0])
    second = ticket_for(day["slots"][0])
    clock_at(7, 55)
    services.ticket_check_in(actor=system_actor, ticket=second)
    services.ticket_check_in(actor=system_actor, ticket=first)
    assert line_codes(day) == [first.code, second.code]


def test_late_arrivals_come_after_every_on_time_patient_in_arrival_order(day, ticket_for, clock_at, system_actor):
    slots = day["slots"]
    late_a = ticket_for(slots[0])  # 08:00 slot
    late_b = ticket_for(slots[0])
    on_time_last_slot = ticket_for(slots[3])  # 08:45 slot
    clock_at(8, 20)  # 20 minutes late for 08:00 (grace is 10)
    services.ticket_check_in(actor=system_actor, ticket=late_b)
    clock_at(8, 25)
    services.ticket_check_in(actor=system_actor, ticket=late_a)
    clock_at(8, 40)
    services.ticket_check_in(actor=system_actor, ticket=on_time_last_slot)

    assert line_codes(day) == [on_time_last_slot.code, late_b.code, late_a.code]
    assert Ticket.objects.get(pk=late_b.pk).late and not Ticket.objects.get(pk=on_time_last_slot.pk).late


def test_late_morning_patients_stay_before_the_afternoon(day, ticket_for, clock_at, make_session, system_actor):
    from smartclinic.scheduling.models import Slot

    afternoon = make_session(
        day["doctor"], day["department"], days_ahead=0, start=dt.time(14, 0), end=dt.time(15, 0), period="afternoon"
    )
    morning_late = ticket_for(day["slots"][0])
    afternoon_first = ticket_for(Slot.objects.filter(session=afternoon).order_by("starts_at").first())
    clock_at(11, 50)  # very late for 08:00: still a morning patient
    services.ticket_check_in(actor=system_actor, ticket=morning_late)
    services.ticket_check_in(actor=system_actor, ticket=afternoon_first)

    assert line_codes(day) == [morning_late.code, afternoon_first.code]


def test_priority_goes_first_and_needs_a_reason(day, ticket_for, clock_at, system_actor):
    a, b, c = (ticket_for(day["slots"][i]) for i in range(3))
    clock_at(7, 55)
    for ticket in (a, b, c):
        services.ticket_check_in(actor=system_actor, ticket=ticket)

    with pytest.raises(PriorityReasonRequired):
        services.ticket_set_priority(actor=system_actor, ticket=c, priority=Priority.URGENT, reason="  ")
    services.ticket_set_priority(actor=system_actor, ticket=c, priority=Priority.URGENT, reason="39.8 °C")
    services.ticket_set_priority(actor=system_actor, ticket=b, priority=Priority.DISABILITY, reason="轮椅")

    assert line_codes(day) == [c.code, b.code, a.code]
    entry = AuditEntry.objects.get(action="queueing.ticket_priority_set", subject_id=str(c.public_id))
    assert entry.new_values == {"priority": Priority.URGENT, "reason": "39.8 °C"}


def test_a_skipped_patient_rejoins_after_the_next_two(day, ticket_for, clock_at, system_actor):
    tickets = [ticket_for(day["slots"][i // 2]) for i in range(6)]
    clock_at(7, 55)
    for ticket in tickets:
        services.ticket_check_in(actor=system_actor, ticket=ticket)

    called = services.ticket_call_next(actor=system_actor, doctor=day["doctor"])
    assert called.code == tickets[0].code
    skipped = services.ticket_skip(actor=system_actor, ticket=called)
    assert skipped.status == TicketStatus.SKIPPED
    assert tickets[0].code not in line_codes(day)

    services.ticket_rejoin(actor=system_actor, ticket=skipped)

    assert line_codes(day) == [tickets[1].code, tickets[2].code, tickets[0].code, *(t.code for t in tickets[3:])]


def test_rejoin_into_a_short_line_goes_last(day, ticket_for, clock_at, system_actor):
    a, b = ticket_for(day["slots"][0]), ticket_for(day["slots"][1])
    clock_at(7, 55)
    services.ticket_check_in(actor=system_actor, ticket=a)
    services.ticket_check_in(actor=system_actor, ticket=b)
    services.ticket_skip(actor=system_actor, ticket=services.ticket_call_next(actor=system_actor, doctor=day["doctor"]))
    services.ticket_rejoin(actor=system_actor, ticket=a)
    assert line_codes(day) == [b.code, a.code]


def test_walk_ins_join_by_arrival_and_are_never_late(day, ticket_for, clock_at, system_actor):
    booked_0815 = ticket_for(day["slots"][1])
    booked_0830 = ticket_for(day["slots"][2])
    walk_in = ticket_for(day["slots"][1], source=AppointmentSource.WALK_IN)  # walk-ins hang on the current slot
    clock_at(8, 10)
    services.ticket_check_in(actor=system_actor, ticket=booked_0830)
    services.ticket_check_in(actor=system_actor, ticket=booked_0815)
    clock_at(8, 28)
    walk_in = services.ticket_check_in(actor=system_actor, ticket=walk_in)

    assert not walk_in.late
    assert line_codes(day) == [booked_0815.code, walk_in.code, booked_0830.code]


def test_one_patient_called_at_a_time(day, ticket_for, clock_at, system_actor):
    a, b = ticket_for(day["slots"][0]), ticket_for(day["slots"][1])
    clock_at(7, 58)
    services.ticket_check_in(actor=system_actor, ticket=a)
    services.ticket_check_in(actor=system_actor, ticket=b)

    first = services.ticket_call_next(actor=system_actor, doctor=day["doctor"])
    with pytest.raises(PatientAlreadyCalled) as error:
        services.ticket_call_next(actor=system_actor, doctor=day["doctor"])
    assert error.value.extra == {"ticket_id": str(first.public_id)}

    services.ticket_start(actor=system_actor, ticket=first)
    assert services.ticket_call_next(actor=system_actor, doctor=day["doctor"]).code == b.code


def test_call_publishes_the_call_for_screen_and_phone(day, ticket_for, clock_at, system_actor):
    ticket = ticket_for(day["slots"][0])
    clock_at(7, 58)
    services.ticket_check_in(actor=system_actor, ticket=ticket)

    called = services.ticket_call_next(actor=system_actor, doctor=day["doctor"])

    assert (called.status, called.call_count) == (TicketStatus.CALLED, 1)
    event = QueueEvent.objects.filter(ticket=ticket, kind="called").get()
    name = ticket.member.name
    assert event.data["room"] == "3"  # the session has no room of its own: the doctor's
    assert event.data["name"] == mask_name(name) and event.data["name"] != name
    assert event.data["doctor"] == "王医生"
    message = OutboxMessage.objects.get(name="queueing.ticket_called")
    assert message.payload["ticket_id"] == str(ticket.public_id)

    recalled = services.ticket_recall(actor=system_actor, ticket=called)
    assert recalled.call_count == 2
    assert QueueEvent.objects.filter(ticket=ticket, kind="recalled").count() == 1


def test_turn_near_goes_out_once_when_three_are_ahead(day, ticket_for, clock_at, system_actor):
    tickets = [ticket_for(day["slots"][i // 2]) for i in range(6)]
    clock_at(7, 55)
    for ticket in tickets:
        services.ticket_check_in(actor=system_actor, ticket=ticket)

    first = services.ticket_call_next(actor=system_actor, doctor=day["doctor"])
    near = OutboxMessage.objects.filter(name="queueing.turn_near")
    # After the first call, tickets[4] has tickets[1..3] ahead.
    assert [m.payload["ticket_id"] for m in near] == [str(tickets[4].public_id)]
    services.ticket_recall(actor=system_actor, ticket=first)
    assert near.count() == 1


def test_finish_completes_the_appointment_and_feeds_the_pace(day, ticket_for, clock_at, system_actor):
    a, b, c = (ticket_for(day["slots"][0]), ticket_for(day["slots"][0]), ticket_for(day["slots"][1]))
    clock_at(7, 55)
    for ticket in (a, b, c):
        services.ticket_check_in(actor=system_actor, ticket=ticket)
    clock_at(8, 0)
    called = services.ticket_call_next(actor=system_actor, doctor=day["doctor"])
    services.ticket_start(actor=system_actor, ticket=called)
    clock_at(8, 6)
    done = services.ticket_finish(actor=system_actor, ticket=called)

    assert done.status == TicketStatus.DONE
    assert done.appointment.status == AppointmentStatus.COMPLETED
    c = Ticket.objects.get(pk=c.pk)
    assert tickets_ahead(ticket=c) == 1
    assert estimated_wait_minutes(ticket=c) == pytest.approx(6.0)  # one ahead, six minutes a visit
    services.ticket_call_next(actor=system_actor, doctor=day["doctor"])
    assert estimated_wait_minutes(ticket=Ticket.objects.get(pk=c.pk)) == pytest.approx(6.0)  # b is in the room


def test_transfer_moves_the_patient_to_the_other_doctors_line(day, ticket_for, clock_at, system_actor):
    ticket = ticket_for(day["slots"][0])
    clock_at(7, 58)
    services.ticket_check_in(actor=system_actor, ticket=ticket)

    moved = services.ticket_transfer(actor=system_actor, ticket=ticket, to_doctor=day["other"])

    assert moved.doctor_id == day["other"].pk and moved.status == TicketStatus.ARRIVED
    assert services.ticket_call_next(actor=system_actor, doctor=day["other"]).code == ticket.code
    event = QueueEvent.objects.get(ticket=ticket, kind="called")
    assert event.doctor_id == day["other"].pk and event.data["room"] == "5"


def test_transfer_needs_a_doctor_consulting_that_day(day, ticket_for, clock_at, make_doctor, system_actor):
    ticket = ticket_for(day["slots"][0])
    clock_at(7, 58)
    services.ticket_check_in(actor=system_actor, ticket=ticket)
    absent = make_doctor(day["department"], name="休息医生")
    with pytest.raises(NoSessionForDoctor):
        services.ticket_transfer(actor=system_actor, ticket=ticket, to_doctor=absent)
    assert Ticket.objects.get(pk=ticket.pk).doctor_id == day["doctor"].pk


def test_order_of_a_whole_morning(day, ticket_for, clock_at, system_actor):
    """Everything at once: urgent first, on-time by slot, the skipped one back after two, late last."""
    s = day["slots"]
    on_0800, on_0815, on_0830, on_0845 = ticket_for(s[0]), ticket_for(s[1]), ticket_for(s[2]), ticket_for(s[3])
    late = ticket_for(s[0])
    urgent = ticket_for(s[3])
    clock_at(7, 59)
    for ticket in (on_0800, on_0815, on_0830, on_0845, urgent):
        services.ticket_check_in(actor=system_actor, ticket=ticket)
    services.ticket_set_priority(actor=system_actor, ticket=urgent, priority=Priority.URGENT, reason="胸痛")
    clock_at(8, 30)
    services.ticket_check_in(actor=system_actor, ticket=late)

    first = services.ticket_call_next(actor=system_actor, doctor=day["doctor"])
    assert first.code == urgent.code
    services.ticket_start(actor=system_actor, ticket=first)
    services.ticket_finish(actor=system_actor, ticket=first)
    no_answer = services.ticket_call_next(actor=system_actor, doctor=day["doctor"])
    assert no_answer.code == on_0800.code
    services.ticket_skip(actor=system_actor, ticket=no_answer)
    services.ticket_rejoin(actor=system_actor, ticket=no_answer)

    assert call_all(day, system_actor) == [on_0815.code, on_0830.code, on_0800.code, on_0845.code, late.code]


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_double_click_on_call_next_calls_one_patient(day, ticket_for, clock_at):
    from smartclinic.core.actor import Actor
    from smartclinic.core.testing import run_concurrently

    actor = Actor.system(reason="test")
    tickets = [ticket_for(day["slots"][i // 2]) for i in range(4)]
    clock_at(7, 58)
    for ticket in tickets:
        services.ticket_check_in(actor=actor, ticket=ticket)

    results = run_concurrently([lambda: services.ticket_call_next(actor=actor, doctor=day["doctor"])] * 3)

    called = [r for r in results if isinstance(r, Ticket)]
    refused = [r for r in results if isinstance(r, PatientAlreadyCalled)]
    assert len(called) == 1 and len(refused) == 2, results
    assert Ticket.objects.filter(doctor=day["doctor"], status=TicketStatus.CALLED).count() == 1
