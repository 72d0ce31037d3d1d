from __future__ import annotations

import datetime as dt

import pytest
import time_machine

from smartclinic.audit.models import AuditEntry
from smartclinic.booking.choices import AppointmentStatus
from smartclinic.booking.errors import (
    BookingClosed,
    CardNotBound,
    DuplicateBooking,
    MemberNotActive,
    NotOpenYet,
    SessionSuspended,
    SlotFull,
    TooManyAppointments,
)
from smartclinic.booking.models import Appointment, PersonQuota
from smartclinic.booking.services import appointment_book
from smartclinic.booking.tests.conftest import fresh, slots_of
from smartclinic.core import clock
from smartclinic.core.actor import Actor
from smartclinic.core.errors import NotFound
from smartclinic.identity.choices import MemberStatus
from smartclinic.identity.models import Dependant
from smartclinic.outbox.models import OutboxMessage
from smartclinic.scheduling.models import ClinicSession, Slot

pytestmark = pytest.mark.django_db


def book(user, member, slot, **kwargs):
    return appointment_book(actor=Actor.of(user), member=member, slot=fresh(slot), **kwargs)


def assert_nothing_booked(slot):
    assert Slot.objects.get(pk=slot.pk).booked == 0
    assert not Appointment.objects.exists()
    assert not AuditEntry.objects.filter(action="booking.appointment_booked").exists()
    assert not OutboxMessage.objects.filter(name="booking.appointment_booked").exists()


def test_booking_takes_one_place_and_records_everything(clinic, patient):
    user, member = patient()
    slot = clinic["slots"][0]

    appointment = book(user, member, slot)

    assert appointment.status == AppointmentStatus.BOOKED
    assert (appointment.member, appointment.slot_id, appointment.date) == (member, slot.pk, clinic["session"].date)
    assert appointment.fee == clinic["session"].fee == 1000
    assert Slot.objects.get(pk=slot.pk).booked == 1
    assert PersonQuota.objects.get(person_key=f"m:{member.pk}").live_count == 1
    entry = AuditEntry.objects.get(action="booking.appointment_booked")
    assert entry.subject_id == str(appointment.public_id) and entry.actor_id == user.pk
    message = OutboxMessage.objects.get(name="booking.appointment_booked")
    assert message.payload == {
        "appointment_id": str(appointment.public_id),
        "member_id": str(member.public_id),
        "source": "online",
    }


def test_a_full_slot_is_refused_and_nothing_changes(clinic, patient):
    slot = clinic["slots"][0]
    for _ in range(2):
        user, member = patient()
        book(user, member, slot)
    user, member = patient()
    with pytest.raises(SlotFull):
        book(user, member, slot)
    assert Slot.objects.get(pk=slot.pk).booked == 2
    assert Appointment.objects.count() == 2
    assert not PersonQuota.objects.filter(person_key=f"m:{member.pk}", live_count__gt=0).exists()


def test_the_conditional_update_refuses_even_when_the_read_was_stale(clinic, patient):
    slot = clinic["slots"][0]
    stale = fresh(slot)
    Slot.objects.filter(pk=slot.pk).update(booked=2)
    user, member = patient()
    with pytest.raises(SlotFull):
        appointment_book(actor=Actor.of(user), member=member, slot=stale)
    assert not Appointment.objects.exists()
    assert PersonQuota.objects.get(person_key=f"m:{member.pk}").live_count == 0


def test_one_live_appointment_per_department_per_day(clinic, patient, make_doctor, make_session):
    user, member = patient()
    book(user, member, clinic["slots"][0])
    other_doctor = make_doctor(clinic["department"])
    other_session = make_session(
        other_doctor, clinic["department"], period="afternoon", start=dt.time(14), end=dt.time(15)
    )
    with pytest.raises(DuplicateBooking):
        book(user, member, slots_of(other_session)[0])
    assert Appointment.objects.count() == 1
    assert Slot.objects.get(pk=slots_of(other_session)[0].pk).booked == 0
    assert PersonQuota.objects.get(person_key=f"m:{member.pk}").live_count == 1


def test_at_most_n_live_appointments(clinic, patient, make_department, make_doctor, make_session, settings):
    settings.BOOKING_MAX_LIVE_APPOINTMENTS = 2
    user, member = patient()
    sessions = []
    for _ in range(3):
        department = make_department()
        sessions.append(make_session(make_doctor(department), department))
    book(user, member, slots_of(sessions[0])[0])
    book(user, member, slots_of(sessions[1])[0])
    with pytest.raises(TooManyAppointments) as error:
        book(user, member, slots_of(sessions[2])[0])
    assert error.value.extra == {"limit": 2}
    assert Slot.objects.get(pk=slots_of(sessions[2])[0].pk).booked == 0


def test_booking_before_release_says_when_it_opens(clinic, patient):
    session = clinic["session"]
    opens_at = clock.now() + dt.timedelta(hours=3)
    ClinicSession.objects.filter(pk=session.pk).update(opens_at=opens_at)
    user, member = patient()
    with pytest.raises(NotOpenYet) as error:
        book(user, member, clinic["slots"][0])
    assert error.value.extra == {"opens_at": opens_at.isoformat()}
    assert_nothing_booked(clinic["slots"][0])


def test_booking_stops_before_the_slot(clinic, patient):
    slot = clinic["slots"][0]
    user, member = patient()
    with time_machine.travel(slot.starts_at - dt.timedelta(minutes=29), tick=False), pytest.raises(BookingClosed):
        book(user, member, slot)
    with time_machine.travel(slot.starts_at - dt.timedelta(minutes=31), tick=False):
        book(user, member, slot)


def test_a_suspended_session_cannot_be_booked(clinic, patient):
    ClinicSession.objects.filter(pk=clinic["session"].pk).update(status="suspended")
    user, member = patient()
    with pytest.raises(SessionSuspended):
        book(user, member, clinic["slots"][0])
    assert_nothing_booked(clinic["slots"][0])


def test_no_card_no_booking(clinic, make_user):
    with pytest.raises(CardNotBound):
        appointment_book(actor=Actor.of(make_user()), member=None, slot=fresh(clinic["slots"][0]))
    assert_nothing_booked(clinic["slots"][0])


def test_inactive_member_cannot_book(clinic, patient):
    user, member = patient(status=MemberStatus.GRADUATED)
    with pytest.raises(MemberNotActive):
        book(user, member, clinic["slots"][0])
    assert_nothing_booked(clinic["slots"][0])


def test_staff_member_books_for_a_dependant_who_counts_as_a_separate_person(clinic, patient):
    user, member = patient(kind="staff")
    child = Dependant.objects.create(owner=member, name="张小小", relation="child")
    own = book(user, member, clinic["slots"][0])
    for_child = book(user, member, clinic["slots"][1], dependant=child)
    assert own.person_key == f"m:{member.pk}"
    assert for_child.person_key == f"d:{child.pk}" and for_child.dependant == child
    with pytest.raises(DuplicateBooking):
        book(user, member, clinic["slots"][2], dependant=child)


def test_someone_elses_dependant_is_not_found(clinic, patient):
    _, owner = patient(kind="staff")
    child = Dependant.objects.create(owner=owner, name="张小小", relation="child")
    user, member = patient(kind="staff")
    with pytest.raises(NotFound):
        book(user, member, clinic["slots"][0], dependant=child)
    assert_nothing_booked(clinic["slots"][0])


def test_walk_ins_are_for_todays_sessions_only(clinic, patient):
    from smartclinic.booking.lifecycle import WalkInNotToday, walk_in_register

    _, member = patient()
    with pytest.raises(WalkInNotToday):
        walk_in_register(actor=Actor.system(reason="nurse"), member=member, session=clinic["session"])  # tomorrow
    assert not Appointment.objects.exists()


def test_on_postgresql_the_writes_are_one_statement(clinic, patient, django_assert_num_queries):
    from django.db import connection

    if connection.vendor != "postgresql":
        pytest.skip("SQLite runs the ORM statements in a transaction")
    user, member = patient()
    slot = fresh(clinic["slots"][0])
    sent: list[str] = []

    def record(execute, sql, params, many, context):
        sent.append(sql)  # the statement as sent (a prepared one is logged without its text)
        return execute(sql, params, many, context)

    with django_assert_num_queries(1), connection.execute_wrapper(record):
        appointment = appointment_book(actor=Actor.of(user), member=member, slot=slot)
    assert len(sent) == 1 and "booking_book(" in sent[0]
    assert appointment.pk == Appointment.objects.get().pk and not appointment._state.adding
    assert Appointment.objects.get().created_at == appointment.created_at


def test_the_booking_answer_is_the_schemas_rendering(clinic, patient):
    """The booking's answer skips validation (``appointment_body``): it must render exactly as
    ``AppointmentOut`` validating the presenter's dict does, in every shape an appointment has."""
    from smartclinic.booking.booking_request import appointment_body
    from smartclinic.booking.presenters import appointment_out
    from smartclinic.booking.schemas import AppointmentOut

    user, member = patient()
    child = Dependant.objects.create(owner=member, name="张小小", relation="child")
    own = book(user, member, clinic["slots"][0])
    for_child = book(user, member, clinic["slots"][1], dependant=child)
    held = Appointment.objects.select_related("slot", "session", "department", "doctor", "member").get(pk=own.pk)
    held.hold_expires_at = clock.now() + dt.timedelta(minutes=15)
    held.rebook_offer = fresh(clinic["slots"][2])
    held.cancel_reason = "session_suspended"
    held.session.room = "B203"

    for appointment in (own, for_child, held):
        validated = AppointmentOut.model_validate(appointment_out(appointment)).model_dump(mode="json")
        assert appointment_body(appointment) == validated
    assert appointment_body(held)["rebook_offer"]["id"] == str(clinic["slots"][2].public_id)
    assert appointment_body(for_child)["dependant_id"] == str(child.public_id)
