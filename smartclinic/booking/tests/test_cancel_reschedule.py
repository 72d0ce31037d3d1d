from __future__ import annotations

import datetime as dt

import pytest
import time_machine

from smartclinic.audit.models import AuditEntry
from smartclinic.booking.choices import AppointmentStatus
from smartclinic.booking.errors import CancelTooLate, NotCancellable, SlotFull
from smartclinic.booking.models import Appointment, PersonQuota
from smartclinic.booking.services import appointment_book, appointment_cancel, appointment_reschedule
from smartclinic.booking.tests.conftest import fresh, slots_of
from smartclinic.core.actor import Actor
from smartclinic.outbox.models import OutboxMessage
from smartclinic.scheduling.models import Slot

pytestmark = pytest.mark.django_db


def booked(slot):
    return Slot.objects.get(pk=slot.pk).booked


def test_cancel_frees_capacity_and_quota(clinic, patient):
    user, member = patient()
    slot = clinic["slots"][0]
    appointment = appointment_book(actor=Actor.of(user), member=member, slot=fresh(slot))

    cancelled = appointment_cancel(actor=Actor.of(user), appointment=appointment)

    assert cancelled.status == AppointmentStatus.CANCELLED
    assert cancelled.cancel_reason == "patient" and cancelled.cancelled_at is not None
    assert booked(slot) == 0
    assert PersonQuota.objects.get(person_key=f"m:{member.pk}").live_count == 0
    assert (
        AuditEntry.objects.filter(action="booking.appointment_cancelled", subject_id=str(appointment.public_id)).count()
        == 1
    )
    message = OutboxMessage.objects.get(name="booking.appointment_cancelled")
    assert message.payload["was_paid"] == "False" and message.payload["by_clinic"] == "False"
    with pytest.raises(NotCancellable):
        appointment_cancel(actor=Actor.of(user), appointment=appointment)
    assert booked(slot) == 0


def test_cancel_after_the_cutoff_is_refused(clinic, patient):
    user, member = patient()
    slot = clinic["slots"][0]
    appointment = appointment_book(actor=Actor.of(user), member=member, slot=fresh(slot))
    with (
        time_machine.travel(slot.starts_at - dt.timedelta(minutes=119), tick=False),
        pytest.raises(CancelTooLate) as error,
    ):
        appointment_cancel(actor=Actor.of(user), appointment=appointment)
    assert error.value.extra["deadline"] == (slot.starts_at - dt.timedelta(minutes=120)).isoformat()
    assert Appointment.objects.get(pk=appointment.pk).status == AppointmentStatus.BOOKED
    assert booked(slot) == 1


def test_cancel_cutoff_is_configurable_per_department(clinic, patient):
    department = clinic["department"]
    department.cancel_cutoff_minutes = 10
    department.save()
    user, member = patient()
    slot = clinic["slots"][0]
    appointment = appointment_book(actor=Actor.of(user), member=member, slot=fresh(slot))
    with time_machine.travel(slot.starts_at - dt.timedelta(minutes=11), tick=False):
        appointment_cancel(actor=Actor.of(user), appointment=appointment)
    assert booked(slot) == 0


def test_reschedule_moves_atomically(clinic, patient):
    user, member = patient()
    old_slot, new_slot = clinic["slots"][0], clinic["slots"][3]
    appointment = appointment_book(actor=Actor.of(user), member=member, slot=fresh(old_slot))

    new = appointment_reschedule(actor=Actor.of(user), appointment=appointment, new_slot=fresh(new_slot))

    assert new.slot_id == new_slot.pk and new.rescheduled_from_id == appointment.pk
    assert Appointment.objects.get(pk=appointment.pk).status == AppointmentStatus.CANCELLED
    assert Appointment.objects.get(pk=appointment.pk).cancel_reason == "rescheduled"
    assert (booked(old_slot), booked(new_slot)) == (0, 1)
    assert PersonQuota.objects.get(person_key=f"m:{member.pk}").live_count == 1


def test_reschedule_to_a_full_slot_changes_nothing(clinic, patient):
    user, member = patient()
    old_slot, full_slot = clinic["slots"][0], clinic["slots"][1]
    appointment = appointment_book(actor=Actor.of(user), member=member, slot=fresh(old_slot))
    Slot.objects.filter(pk=full_slot.pk).update(booked=2)
    audit_before = AuditEntry.objects.count()

    with pytest.raises(SlotFull):
        appointment_reschedule(actor=Actor.of(user), appointment=appointment, new_slot=fresh(full_slot))

    assert Appointment.objects.get(pk=appointment.pk).status == AppointmentStatus.BOOKED
    assert Appointment.objects.count() == 1
    assert (booked(old_slot), booked(full_slot)) == (1, 2)
    assert AuditEntry.objects.count() == audit_before


def test_reschedule_to_another_department_on_the_same_day_keeps_rules(
    clinic, patient, make_department, make_doctor, make_session
):
    user, member = patient()
    first = appointment_book(actor=Actor.of(user), member=member, slot=fresh(clinic["slots"][0]))
    dental = make_department(code="KQ")
    dental_session = make_session(make_doctor(dental), dental)
    appointment_book(actor=Actor.of(user), member=member, slot=fresh(slots_of(dental_session)[0]))
    # moving the internal-medicine visit into dentistry would make two there that day
    from smartclinic.booking.errors import DuplicateBooking

    with pytest.raises(DuplicateBooking):
        appointment_reschedule(actor=Actor.of(user), appointment=first, new_slot=fresh(slots_of(dental_session)[1]))
    assert Appointment.objects.get(pk=first.pk).status == AppointmentStatus.BOOKED
