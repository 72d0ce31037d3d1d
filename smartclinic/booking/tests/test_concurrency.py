"""The rush, with real concurrent connections: never oversold, nobody twice."""

from __future__ import annotations

import datetime as dt

import pytest

from smartclinic.booking.choices import LIVE_STATUSES
from smartclinic.booking.errors import DuplicateBooking, SlotFull, TooManyAppointments
from smartclinic.booking.models import Appointment, PersonQuota
from smartclinic.booking.services import appointment_book, appointment_cancel
from smartclinic.booking.tests.conftest import fresh, slots_of
from smartclinic.core.actor import Actor
from smartclinic.core.testing import run_concurrently
from smartclinic.scheduling.models import Slot

pytestmark = pytest.mark.django_db(transaction=True)


def test_fifty_clients_on_one_slot_of_five(make_department, make_doctor, make_session, patient, django_db_blocker):
    department = make_department(code="NK")
    session = make_session(make_doctor(department), department, end=dt.time(8, 15), per_slot=5)
    slot = slots_of(session)[0]
    people = [patient() for _ in range(50)]

    def attempt(user, member):
        return lambda: appointment_book(actor=Actor.of(user), member=member, slot=fresh(slot))

    results = run_concurrently([attempt(u, m) for u, m in people])

    won = [r for r in results if isinstance(r, Appointment)]
    lost = [r for r in results if not isinstance(r, Appointment)]
    assert len(won) == 5
    assert all(isinstance(r, SlotFull) for r in lost), {type(r).__name__ for r in lost}
    assert Slot.objects.get(pk=slot.pk).booked == 5
    assert Appointment.objects.filter(slot=slot, status__in=LIVE_STATUSES).count() == 5
    assert len({a.member_id for a in won}) == 5
    assert sum(PersonQuota.objects.values_list("live_count", flat=True)) == 5


def test_one_person_hammering_many_slots_gets_one_per_department_day(clinic, patient):
    user, member = patient()
    slots = clinic["slots"]

    results = run_concurrently(
        [lambda s=s: appointment_book(actor=Actor.of(user), member=member, slot=fresh(s)) for s in slots * 3]
    )

    assert sum(isinstance(r, Appointment) for r in results) == 1
    assert all(isinstance(r, Appointment | DuplicateBooking) for r in results), results
    assert sum(Slot.objects.filter(session=clinic["session"]).values_list("booked", flat=True)) == 1
    assert PersonQuota.objects.get(person_key=f"m:{member.pk}").live_count == 1


def test_one_person_racing_across_departments_respects_the_live_limit(
    make_department, make_doctor, make_session, patient, settings
):
    settings.BOOKING_MAX_LIVE_APPOINTMENTS = 3
    user, member = patient()
    slots = []
    for _ in range(8):
        department = make_department()
        slots.append(slots_of(make_session(make_doctor(department), department))[0])

    results = run_concurrently(
        [lambda s=s: appointment_book(actor=Actor.of(user), member=member, slot=fresh(s)) for s in slots]
    )

    assert sum(isinstance(r, Appointment) for r in results) == 3
    assert all(isinstance(r, Appointment | TooManyAppointments) for r in results), results
    assert Appointment.objects.filter(member=member, status__in=LIVE_STATUSES).count() == 3
    assert PersonQuota.objects.get(person_key=f"m:{member.pk}").live_count == 3


def test_cancellations_and_bookings_interleaved_never_oversell(make_department, make_doctor, make_session, patient):
    department = make_department(code="NK")
    session = make_session(make_doctor(department), department, end=dt.time(8, 15), per_slot=3)
    slot = slots_of(session)[0]
    holders = [patient() for _ in range(3)]
    held = [appointment_book(actor=Actor.of(u), member=m, slot=fresh(slot)) for u, m in holders]
    newcomers = [patient() for _ in range(20)]

    calls = [
        lambda a=a, u=u: appointment_cancel(actor=Actor.of(u), appointment=a)
        for a, (u, _) in zip(held, holders, strict=True)
    ]
    calls += [lambda u=u, m=m: appointment_book(actor=Actor.of(u), member=m, slot=fresh(slot)) for u, m in newcomers]
    results = run_concurrently(calls)

    assert not [r for r in results if isinstance(r, BaseException) and not isinstance(r, SlotFull)], results
    live = Appointment.objects.filter(slot=slot, status__in=LIVE_STATUSES).count()
    assert Slot.objects.get(pk=slot.pk).booked == live <= 3
