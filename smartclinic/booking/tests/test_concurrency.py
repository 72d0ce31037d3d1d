"""The rush, with real concurrent connections: never oversold, nobody twice."""

from __future__ import annotations

import datetime as dt
import threading
import time
from collections.abc import Callable
from typing import Any

import pytest
from django.db import connection, transaction

from smartclinic.booking import services
from smartclinic.booking.choices import LIVE_STATUSES
from smartclinic.booking.errors import DuplicateBooking, SessionSuspended, SlotFull, TooManyAppointments
from smartclinic.booking.models import Appointment, PersonQuota
from smartclinic.booking.services import appointment_book, appointment_cancel, clinic_session_suspend
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


def _some_backend_waits_on_a_lock(*, within: float) -> bool:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'"
            )
            if cursor.fetchone()[0]:
                return True
        time.sleep(0.02)
    return False


def _booking_once(paused: threading.Event, *, user, member, slot: Slot) -> Callable[[], Appointment]:
    """A booking from ``slot`` as read now, sent once the suspension has paused."""

    def book() -> Appointment:
        paused.wait(timeout=20)
        return appointment_book(actor=Actor.of(user), member=member, slot=slot)

    return book


def _releasing_once_a_backend_waits(paused: threading.Event, release: threading.Event) -> Callable[[], bool]:
    """Once the suspension has paused: whether a backend came to wait on a lock; then let the
    suspension go on whatever the answer."""

    def watch() -> bool:
        paused.wait(timeout=20)
        try:
            return _some_backend_waits_on_a_lock(within=10)
        finally:
            release.set()

    return watch


@pytest.mark.postgres
def test_a_booking_that_read_the_session_open_waits_for_the_suspension_then_takes_nothing(clinic, patient):
    """The suspension has marked the slots and not committed yet; a booking that read the
    session as open reaches its slot's row, waits for the suspension, and once it commits
    re-checks the row and takes nothing (the suspension's cancellations could not see it)."""
    user, member = patient()
    read_before = fresh(clinic["slots"][0])
    slots_marked, may_commit = threading.Event(), threading.Event()
    manager = Actor.system(reason="manager")

    def suspend() -> int:
        with transaction.atomic():
            cancelled = clinic_session_suspend(actor=manager, session=clinic["session"], reason="停诊")
            slots_marked.set()
            may_commit.wait(timeout=20)
        return len(cancelled)

    book = _booking_once(slots_marked, user=user, member=member, slot=read_before)
    watch = _releasing_once_a_backend_waits(slots_marked, may_commit)
    cancelled, booked, the_booking_waited = run_concurrently([suspend, book, watch])

    assert the_booking_waited is True
    assert cancelled == 0
    assert isinstance(booked, SessionSuspended), booked
    assert not Appointment.objects.filter(session=clinic["session"], status__in=LIVE_STATUSES).exists()
    assert Slot.objects.get(pk=read_before.pk).booked == 0
    assert PersonQuota.objects.get(person_key=f"m:{member.pk}").live_count == 0


@pytest.mark.postgres
def test_bookings_racing_a_suspension_leave_no_live_appointment_on_it(clinic, patient):
    people = [patient() for _ in range(24)]
    slots = clinic["slots"]

    def attempt(index: int, user, member):  # every booking reads the session open first
        read_before = fresh(slots[index % len(slots)])
        return lambda: appointment_book(actor=Actor.of(user), member=member, slot=read_before)

    calls = [attempt(i, u, m) for i, (u, m) in enumerate(people)]
    manager = Actor.system(reason="manager")
    calls.insert(12, lambda: clinic_session_suspend(actor=manager, session=clinic["session"], reason="停诊"))
    results = run_concurrently(calls)

    assert not isinstance(results[12], BaseException), results[12]
    bookings = results[:12] + results[13:]
    assert all(isinstance(r, Appointment | SessionSuspended | SlotFull) for r in bookings), bookings
    assert not Appointment.objects.filter(session=clinic["session"], status__in=LIVE_STATUSES).exists()
    booked = sum(isinstance(r, Appointment) for r in bookings)
    assert Appointment.objects.filter(session=clinic["session"]).count() == booked == len(results[12])
    # A suspension cancels the appointments and leaves the places taken (the session is closed).
    assert sum(Slot.objects.filter(session=clinic["session"]).values_list("booked", flat=True)) == booked
    assert sum(PersonQuota.objects.values_list("live_count", flat=True)) == 0


@pytest.mark.postgres
def test_a_suspension_locks_the_quota_rows_it_releases_before_closing_the_slots(clinic, patient, monkeypatch):
    """A person with a live appointment on the session books a second slot of it as the session
    is suspended. A booking holds the person's quota row while it waits for its slot; were the
    slots closed first, the suspension would wait for that row to release the first appointment
    while the booking waits for the suspension: a deadlock. The suspension takes the quota rows
    first, so the booking waits for it at the quota row, then finds the session suspended."""
    user, member = patient()
    first = appointment_book(actor=Actor.of(user), member=member, slot=fresh(clinic["slots"][0]))
    read_before = fresh(clinic["slots"][1])
    quotas_locked, may_go_on = threading.Event(), threading.Event()
    lock_quotas = services.quota_lock_of_live_appointments

    def lock_then_pause(**kwargs: Any) -> None:
        lock_quotas(**kwargs)
        quotas_locked.set()
        may_go_on.wait(timeout=20)

    monkeypatch.setattr(services, "quota_lock_of_live_appointments", lock_then_pause)
    manager = Actor.system(reason="manager")

    def suspend() -> list[Appointment]:
        return clinic_session_suspend(actor=manager, session=clinic["session"], reason="停诊")

    book = _booking_once(quotas_locked, user=user, member=member, slot=read_before)
    watch = _releasing_once_a_backend_waits(quotas_locked, may_go_on)
    cancelled, second, the_booking_waited = run_concurrently([suspend, book, watch])

    assert the_booking_waited is True
    assert [a.pk for a in cancelled] == [first.pk]
    assert isinstance(second, SessionSuspended), second
    assert not Appointment.objects.filter(session=clinic["session"], status__in=LIVE_STATUSES).exists()
    assert PersonQuota.objects.get(person_key=f"m:{member.pk}").live_count == 0
