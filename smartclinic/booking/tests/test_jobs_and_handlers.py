"""Booking's background work: the periodic jobs as the worker runs them (``run_due`` with a fake
monotonic clock), and the ``identity.member_deactivated`` handler as the outbox delivers it after
a roster import. Tests marked ``xfail(strict=True)`` reproduce reported bugs: they start passing
(and so fail as XPASS) once the services are fixed; then drop the mark."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterator
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import time_machine

from smartclinic.audit.models import AuditEntry
from smartclinic.booking import jobs as booking_jobs
from smartclinic.booking.choices import AppointmentSource, AppointmentStatus, CancelReason, WaitlistStatus
from smartclinic.booking.lifecycle import appointment_mark_paid, walk_in_register
from smartclinic.booking.models import Appointment, PersonQuota, WaitlistEntry
from smartclinic.booking.services import appointment_book, appointment_cancel
from smartclinic.booking.tests.conftest import fresh, slots_of
from smartclinic.booking.waitlist import waitlist_join
from smartclinic.core import clock, periodic
from smartclinic.core.actor import Actor
from smartclinic.identity.choices import MemberStatus
from smartclinic.identity.models import Member
from smartclinic.identity.roster import roster_import
from smartclinic.outbox.choices import MessageStatus
from smartclinic.outbox.dispatcher import dispatch_until_idle
from smartclinic.outbox.models import HandlerDelivery, OutboxMessage
from smartclinic.scheduling.choices import Weekday
from smartclinic.scheduling.models import ClinicSession, ScheduleTemplate, Slot

pytestmark = pytest.mark.django_db

SHANGHAI = ZoneInfo("Asia/Shanghai")
MONDAY_MORNING = dt.datetime(2026, 3, 2, 7, 0, tzinfo=SHANGHAI)
BOOKING_JOBS = ("booking.no_shows", "booking.waitlist_offers", "scheduling.horizon")


@pytest.fixture
def traveller() -> Iterator[Any]:
    """The clock frozen on a Monday at 07:00 in Shanghai; ``shift`` moves it."""
    with time_machine.travel(MONDAY_MORNING, tick=False) as traveller:
        yield traveller


@pytest.fixture
def booking_jobs_only(monkeypatch: pytest.MonkeyPatch) -> dict[str, periodic.PeriodicJob]:
    """Only booking's jobs, each due at once (other apps' jobs stay out of these tests)."""
    registered = {job.name: job for job in periodic.jobs()}
    ours = {
        name: periodic.PeriodicJob(name=name, every_seconds=registered[name].every_seconds, func=registered[name].func)
        for name in BOOKING_JOBS
    }
    monkeypatch.setattr(periodic, "_jobs", ours)
    return ours


class FakeMonotonic:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def book(user, member, slot: Slot) -> Appointment:
    return appointment_book(actor=Actor.of(user), member=member, slot=fresh(slot))


# --- the periodic jobs ----------------------------------------------------------------------------


def test_booking_registers_its_three_jobs_with_their_intervals() -> None:
    registered = {job.name: job for job in periodic.jobs()}
    assert {name: registered[name].every_seconds for name in BOOKING_JOBS} == {
        "booking.no_shows": 60,
        "booking.waitlist_offers": 20,
        "scheduling.horizon": 3600,
    }
    assert registered["booking.no_shows"].func is booking_jobs.mark_no_shows


def test_each_job_runs_once_per_interval(booking_jobs_only, traveller) -> None:
    monotonic = FakeMonotonic()
    ran: dict[float, list[str]] = {}

    for moment in (0, 10, 19.9, 20, 30, 40, 59.9, 60, 61, 3599, 3600):
        monotonic.now = moment
        ran[moment] = periodic.run_due(monotonic=monotonic)

    assert ran == {
        0: list(BOOKING_JOBS),
        10: [],
        19.9: [],
        20: ["booking.waitlist_offers"],
        30: [],
        40: ["booking.waitlist_offers"],
        59.9: [],
        60: ["booking.no_shows", "booking.waitlist_offers"],
        61: [],
        3599: ["booking.no_shows", "booking.waitlist_offers"],  # after a long pause: once each, no catching up
        3600: ["scheduling.horizon"],
    }


def test_the_jobs_expire_offers_record_no_shows_and_extend_the_horizon(
    booking_jobs_only, traveller, make_department, make_doctor, make_session, patient, settings
) -> None:
    settings.WAITLIST_CONFIRM_MINUTES = 30
    department = make_department(code="NK")
    doctor = make_doctor(department)
    ScheduleTemplate.objects.create(
        doctor=doctor, department=department, weekday=Weekday.WEDNESDAY, period="afternoon",
        start_time=dt.time(14), end_time=dt.time(15),
    )  # fmt: skip
    session = make_session(doctor, department, days_ahead=1, end=dt.time(8, 15), per_slot=1)  # one place
    slot = slots_of(session)[0]
    holder_user, holder = patient()
    waiting_user, waiting = patient()
    taken = book(holder_user, holder, slot)
    waitlist_join(actor=Actor.of(waiting_user), member=waiting, department=department, date=session.date)
    appointment_cancel(actor=Actor.of(holder_user), appointment=taken)  # the place is offered
    offer = Appointment.objects.get(member=waiting)
    monotonic = FakeMonotonic()

    traveller.shift(dt.timedelta(minutes=31))
    assert periodic.run_due(monotonic=monotonic) == list(BOOKING_JOBS)

    assert Appointment.objects.get(pk=offer.pk).status == AppointmentStatus.EXPIRED
    assert WaitlistEntry.objects.get(member=waiting).status == WaitlistStatus.EXPIRED
    assert Slot.objects.get(pk=slot.pk).booked == 0
    tomorrow = clock.today() + dt.timedelta(days=1)
    generated = ClinicSession.objects.filter(template__isnull=False).order_by("date")
    assert [s.date for s in generated] == [dt.date(2026, 3, 4), dt.date(2026, 3, 11)]  # from tomorrow, 14 days
    assert all(tomorrow <= s.date < tomorrow + dt.timedelta(days=14) for s in generated)

    # the next morning someone books the freed place and does not come
    late_user, late = patient()
    traveller.shift(dt.timedelta(minutes=10))
    missed = book(late_user, late, slot)
    traveller.move_to(session.ends_at + dt.timedelta(minutes=1))
    monotonic.now = 60
    assert periodic.run_due(monotonic=monotonic) == ["booking.no_shows", "booking.waitlist_offers"]
    assert Appointment.objects.get(pk=missed.pk).status == AppointmentStatus.NO_SHOW
    assert PersonQuota.objects.get(person_key=f"m:{late.pk}").live_count == 0
    assert OutboxMessage.objects.filter(name="booking.no_show_recorded").count() == 1

    monotonic.now = 3600
    periodic.run_due(monotonic=monotonic)  # everything again: nothing new to do
    assert ClinicSession.objects.filter(template__isnull=False).count() == 2
    assert OutboxMessage.objects.filter(name="booking.no_show_recorded").count() == 1


def test_a_failing_job_is_logged_and_the_others_still_run(
    booking_jobs_only, traveller, caplog, make_department, make_doctor
) -> None:
    department = make_department()
    ScheduleTemplate.objects.create(
        doctor=make_doctor(department), department=department, weekday=Weekday.TUESDAY, period="morning",
        start_time=dt.time(8), end_time=dt.time(9),
    )  # fmt: skip
    calls = []

    def boom() -> int:
        calls.append(clock.now())
        raise RuntimeError("the database went away")

    booking_jobs_only["booking.no_shows"].func = boom
    monotonic = FakeMonotonic()

    with caplog.at_level(logging.ERROR, logger="smartclinic.core.periodic"):
        ran = periodic.run_due(monotonic=monotonic)

    assert ran == list(BOOKING_JOBS)  # the failure did not stop the jobs after it
    assert ClinicSession.objects.count() == 2  # the horizon job ran: two Tuesdays
    [record] = [r for r in caplog.records if r.name == "smartclinic.core.periodic"]
    assert record.getMessage() == "periodic job booking.no_shows failed"
    assert record.exc_info is not None and str(record.exc_info[1]) == "the database went away"
    # tried again at its next turn, not before
    monotonic.now = 59
    assert periodic.run_due(monotonic=monotonic) == ["booking.waitlist_offers"]
    monotonic.now = 60
    assert "booking.no_shows" in periodic.run_due(monotonic=monotonic)
    assert len(calls) == 2


# --- identity.member_deactivated --------------------------------------------------------------------


def roster_row(member: Member, **changes: str) -> tuple[int, dict[str, str]]:
    row = {"number": member.number, "kind": member.kind, "name": member.name, "card_number": member.card_number}
    row.update(changes)
    return 2, row


@pytest.fixture
def two_days(make_department, make_doctor, make_session) -> dict[str, Any]:
    """内科 tomorrow (one slot, one place) and 口腔科 the day after (two places)."""
    nk, kq = make_department(code="NK", name="内科"), make_department(code="KQ", name="口腔科")
    nk_session = make_session(make_doctor(nk), nk, days_ahead=1, end=dt.time(8, 15), per_slot=1)
    kq_session = make_session(make_doctor(kq), kq, days_ahead=2, end=dt.time(8, 15), per_slot=2)
    return {
        "nk": nk,
        "kq": kq,
        "nk_session": nk_session,
        "nk_slot": slots_of(nk_session)[0],
        "kq_slot": slots_of(kq_session)[0],
    }


def test_a_graduated_members_live_appointments_are_cancelled_when_the_event_is_delivered(
    traveller, two_days, patient
) -> None:
    user, member = patient()
    other_user, other = patient()
    booked = book(user, member, two_days["nk_slot"])
    paid = appointment_mark_paid(actor=Actor.system(), appointment=book(user, member, two_days["kq_slot"]))
    kept = book(other_user, other, two_days["kq_slot"])
    traveller.shift(dt.timedelta(hours=23, minutes=30))  # tomorrow 06:30: past the patient's cancel deadline

    report = roster_import(actor=Actor.system(reason="roster"), rows=[roster_row(member, status="graduated")])

    assert (report.changed, report.deactivated) == (1, 1)
    assert Member.objects.get(pk=member.pk).status == MemberStatus.GRADUATED
    assert Appointment.objects.get(pk=booked.pk).status == AppointmentStatus.BOOKED  # the worker has not run yet
    event = OutboxMessage.objects.get(name="identity.member_deactivated")
    assert event.payload == {"member_id": str(member.public_id), "status": "graduated"}

    dispatch_until_idle()

    for appointment in (booked, paid):
        appointment.refresh_from_db()
        assert (appointment.status, appointment.cancel_reason) == (
            AppointmentStatus.CANCELLED,
            CancelReason.MEMBER_DEACTIVATED,
        )
        assert appointment.cancelled_at == clock.now()
    assert Appointment.objects.get(pk=kept.pk).status == AppointmentStatus.BOOKED
    assert Slot.objects.get(pk=two_days["nk_slot"].pk).booked == 0
    assert Slot.objects.get(pk=two_days["kq_slot"].pk).booked == 1
    assert PersonQuota.objects.get(person_key=f"m:{member.pk}").live_count == 0
    assert PersonQuota.objects.get(person_key=f"m:{other.pk}").live_count == 1
    cancelled = AuditEntry.objects.filter(action="booking.appointment_cancelled").order_by("id")
    assert [(e.subject_id, e.actor_label, e.new_values["reason"]) for e in cancelled] == [
        (str(booked.public_id), "system", "member_deactivated"),
        (str(paid.public_id), "system", "member_deactivated"),
    ]
    assert cancelled[0].request_id.startswith("member_deactivated:")
    messages = OutboxMessage.objects.filter(name="booking.appointment_cancelled").order_by("id")
    assert [(m.payload["appointment_id"], m.payload["was_paid"]) for m in messages] == [
        (str(booked.public_id), "False"),
        (str(paid.public_id), "True"),  # billing refunds it
    ]
    event.refresh_from_db()
    assert event.status == MessageStatus.DONE
    assert HandlerDelivery.objects.filter(
        message=event, handler="smartclinic.booking.handlers.cancel_appointments_of_deactivated_member"
    ).exists()


def test_a_member_missing_from_a_full_roster_sync_is_treated_the_same(traveller, two_days, patient) -> None:
    user, member = patient()
    _, stays = patient()
    appointment = book(user, member, two_days["nk_slot"])

    report = roster_import(actor=Actor.system(reason="roster"), rows=[roster_row(stays)], full_sync=True)
    dispatch_until_idle()

    assert report.deactivated >= 1
    assert Member.objects.get(pk=member.pk).status == MemberStatus.LEFT
    appointment.refresh_from_db()
    assert (appointment.status, appointment.cancel_reason) == ("cancelled", "member_deactivated")


def test_the_freed_place_goes_to_the_waitlist(traveller, two_days, patient) -> None:
    user, member = patient()
    waiting_user, waiting = patient()
    book(user, member, two_days["nk_slot"])
    entry = waitlist_join(
        actor=Actor.of(waiting_user), member=waiting, department=two_days["nk"], date=two_days["nk_session"].date
    )

    roster_import(actor=Actor.system(), rows=[roster_row(member, status="left")])
    dispatch_until_idle()

    offer = Appointment.objects.get(member=waiting)
    assert (offer.status, offer.source, offer.slot_id) == ("booked", "waitlist", two_days["nk_slot"].pk)
    assert offer.hold_expires_at is not None
    assert WaitlistEntry.objects.get(pk=entry.pk).status == WaitlistStatus.OFFERED
    assert Slot.objects.get(pk=two_days["nk_slot"].pk).booked == 1


def test_delivering_the_event_again_changes_nothing(traveller, two_days, patient) -> None:
    from smartclinic.booking.handlers import cancel_appointments_of_deactivated_member

    user, member = patient()
    appointment = book(user, member, two_days["nk_slot"])
    roster_import(actor=Actor.system(), rows=[roster_row(member, status="suspended")])
    dispatch_until_idle()
    audit_before = AuditEntry.objects.count()
    messages_before = OutboxMessage.objects.count()

    cancel_appointments_of_deactivated_member({"member_id": str(member.public_id), "status": "suspended"})

    assert AuditEntry.objects.count() == audit_before
    assert OutboxMessage.objects.count() == messages_before
    assert Appointment.objects.get(pk=appointment.pk).status == AppointmentStatus.CANCELLED
    assert PersonQuota.objects.get(person_key=f"m:{member.pk}").live_count == 0


def test_a_roster_row_that_changes_nothing_publishes_nothing(traveller, two_days, patient) -> None:
    user, member = patient()
    appointment = book(user, member, two_days["nk_slot"])

    report = roster_import(actor=Actor.system(), rows=[roster_row(member)])
    dispatch_until_idle()

    assert (report.unchanged, report.deactivated) == (1, 0)
    assert not OutboxMessage.objects.filter(name="identity.member_deactivated").exists()
    assert Appointment.objects.get(pk=appointment.pk).status == AppointmentStatus.BOOKED


# --- reported bugs ------------------------------------------------------------------------------------


def test_a_deactivated_member_is_not_offered_a_freed_place(traveller, two_days, patient) -> None:
    holder_user, holder = patient()
    leaving_user, leaving = patient()
    taken = book(holder_user, holder, two_days["nk_slot"])
    entry = waitlist_join(
        actor=Actor.of(leaving_user), member=leaving, department=two_days["nk"], date=two_days["nk_session"].date
    )
    roster_import(actor=Actor.system(), rows=[roster_row(leaving, status="graduated")])
    dispatch_until_idle()

    appointment_cancel(actor=Actor.of(holder_user), appointment=taken)

    assert not Appointment.objects.filter(member=leaving).exists()  # today: a graduated member holds an offer
    assert WaitlistEntry.objects.get(pk=entry.pk).status == WaitlistStatus.CANCELLED


def test_cancelling_an_offered_appointment_closes_its_waitlist_entry(traveller, two_days, patient) -> None:
    holder_user, holder = patient()
    waiting_user, waiting = patient()
    taken = book(holder_user, holder, two_days["nk_slot"])
    entry = waitlist_join(
        actor=Actor.of(waiting_user), member=waiting, department=two_days["nk"], date=two_days["nk_session"].date
    )
    appointment_cancel(actor=Actor.of(holder_user), appointment=taken)
    offer = Appointment.objects.get(member=waiting)
    assert WaitlistEntry.objects.get(pk=entry.pk).status == WaitlistStatus.OFFERED

    appointment_cancel(actor=Actor.of(waiting_user), appointment=offer)  # "no thanks"

    assert Appointment.objects.get(pk=offer.pk).status == AppointmentStatus.CANCELLED
    # today the entry stays OFFERED with a cancelled appointment, and the person can never queue
    # for that department and day again (the open-entry unique constraint)
    assert WaitlistEntry.objects.get(pk=entry.pk).status != WaitlistStatus.OFFERED


def test_cancelling_a_walk_in_gives_back_its_walk_in_place_not_a_slot_place(
    traveller, make_department, make_doctor, make_session, patient
) -> None:
    department = make_department(code="NK")
    session = make_session(make_doctor(department), department, days_ahead=1, per_slot=1, walkin_percent=50)
    first = slots_of(session)[0]  # 08:00, one place
    online_user, online = patient()
    _, walk_in = patient()
    booked = book(online_user, online, first)
    traveller.move_to(first.starts_at + dt.timedelta(minutes=5))  # 08:05 at the station
    registered = walk_in_register(actor=Actor.system(reason="nurse"), member=walk_in, session=session)
    assert (registered.slot_id, registered.source) == (first.pk, AppointmentSource.WALK_IN)
    assert Slot.objects.get(pk=first.pk).booked == 1  # a walk-in takes no slot place...

    roster_import(actor=Actor.system(), rows=[roster_row(walk_in, status="left")])
    dispatch_until_idle()  # ...but its cancellation gives one back

    assert Appointment.objects.get(pk=registered.pk).status == AppointmentStatus.CANCELLED
    assert Appointment.objects.get(pk=booked.pk).status == AppointmentStatus.BOOKED
    assert Slot.objects.get(pk=first.pk).booked == 1  # today: 0, so a second live booking fits a 1-place slot
    assert ClinicSession.objects.get(pk=session.pk).walkin_used == 0
