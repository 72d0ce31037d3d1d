from __future__ import annotations

import datetime as dt

import pytest
import time_machine

from smartclinic.booking.choices import AppointmentStatus
from smartclinic.booking.errors import BookingBlocked, SessionSuspended
from smartclinic.booking.lifecycle import walk_in_register
from smartclinic.booking.models import Appointment, PersonQuota
from smartclinic.booking.noshow import no_shows_mark
from smartclinic.booking.services import appointment_book, appointment_rebook, clinic_session_suspend
from smartclinic.booking.tests.conftest import fresh, slots_of
from smartclinic.core import clock
from smartclinic.core.actor import Actor
from smartclinic.outbox.models import OutboxMessage
from smartclinic.scheduling.models import ClinicSession, Slot

pytestmark = pytest.mark.django_db


def test_a_booking_not_checked_in_by_session_end_becomes_a_no_show(clinic, patient):
    user, member = patient()
    arrived_user, arrived = patient()
    missed = appointment_book(actor=Actor.of(user), member=member, slot=fresh(clinic["slots"][0]))
    came = appointment_book(actor=Actor.of(arrived_user), member=arrived, slot=fresh(clinic["slots"][1]))
    Appointment.objects.filter(pk=came.pk).update(checked_in_at=clock.now())

    assert no_shows_mark(actor=Actor.system()) == 0  # the session has not ended
    with time_machine.travel(clinic["session"].ends_at + dt.timedelta(minutes=1)):
        assert no_shows_mark(actor=Actor.system()) == 1
        assert no_shows_mark(actor=Actor.system()) == 0  # each session once

    assert Appointment.objects.get(pk=missed.pk).status == AppointmentStatus.NO_SHOW
    assert Appointment.objects.get(pk=came.pk).status == AppointmentStatus.BOOKED
    assert PersonQuota.objects.get(person_key=f"m:{member.pk}").live_count == 0
    assert OutboxMessage.objects.filter(name="booking.no_show_recorded").count() == 1


def test_k_no_shows_in_the_window_block_booking(make_department, make_doctor, make_session, patient, settings):
    settings.BOOKING_NO_SHOW_LIMIT = 2
    settings.BOOKING_NO_SHOW_BLOCK_DAYS = 30
    user, member = patient()
    department = make_department()
    doctor = make_doctor(department)
    sessions = [make_session(doctor, department, days_ahead=d) for d in (1, 2)]
    later = make_session(doctor, department, days_ahead=40)
    for session in sessions[:2]:
        appointment_book(actor=Actor.of(user), member=member, slot=fresh(slots_of(session)[0]))
    end = sessions[1].ends_at + dt.timedelta(minutes=1)
    with time_machine.travel(end, tick=False):
        assert no_shows_mark(actor=Actor.system()) == 2
        quota = PersonQuota.objects.get(person_key=f"m:{member.pk}")
        assert quota.blocked_until == end + dt.timedelta(days=30)
        assert OutboxMessage.objects.filter(name="booking.booking_blocked").count() == 1
        with pytest.raises(BookingBlocked) as error:
            appointment_book(actor=Actor.of(user), member=member, slot=fresh(slots_of(later)[0]))
        assert error.value.extra["blocked_until"] == quota.blocked_until.isoformat()
    with time_machine.travel(end + dt.timedelta(days=30, minutes=1), tick=False):
        appointment_book(actor=Actor.of(user), member=member, slot=fresh(slots_of(later)[1]))


def test_suspension_cancels_every_live_appointment_and_offers_the_nearest_equivalent(
    clinic, patient, make_doctor, make_session
):
    department = clinic["department"]
    senior = make_doctor(department, title="chief")
    junior = make_doctor(department, title="resident")
    senior_session = make_session(senior, department, period="afternoon", start=dt.time(14), end=dt.time(15))
    make_session(junior, department, period="evening", start=dt.time(10), end=dt.time(11))  # lower title: not offered
    users = [patient() for _ in range(2)]
    appointments = [
        appointment_book(actor=Actor.of(u), member=m, slot=fresh(clinic["slots"][i])) for i, (u, m) in enumerate(users)
    ]
    manager_actor = Actor.system(reason="manager")

    cancelled = clinic_session_suspend(actor=manager_actor, session=clinic["session"], reason="医生临时出差")

    assert len(cancelled) == 2
    assert ClinicSession.objects.get(pk=clinic["session"].pk).status == "suspended"
    for appointment in appointments:
        appointment.refresh_from_db()
        assert appointment.status == AppointmentStatus.CANCELLED_BY_CLINIC
        assert appointment.rebook_offer.session_id == senior_session.pk
    events = OutboxMessage.objects.filter(name="booking.appointment_cancelled")
    assert {e.payload["by_clinic"] for e in events} == {"True"}
    assert all(e.payload["rebook_slot_id"] for e in events)

    user, _ = users[0]
    rebooked = appointment_rebook(actor=Actor.of(user), appointment=appointments[0])
    assert rebooked.session_id == senior_session.pk
    assert rebooked.rescheduled_from_id == appointments[0].pk
    assert Slot.objects.get(pk=rebooked.slot_id).booked == 1


def test_a_booking_that_read_the_session_open_before_its_suspension_takes_nothing(clinic, patient):
    """The booking reads its slot and session before its transaction; a suspension committing
    in between must not let it through: the suspension has already cancelled the session's
    appointments and would never cancel this one."""
    user, member = patient()
    read_before = fresh(clinic["slots"][0])  # the session is open in this read

    clinic_session_suspend(actor=Actor.system(reason="manager"), session=clinic["session"], reason="停诊")

    with pytest.raises(SessionSuspended):
        appointment_book(actor=Actor.of(user), member=member, slot=read_before)
    assert not Appointment.objects.filter(session=clinic["session"]).exists()
    assert Slot.objects.get(pk=read_before.pk).booked == 0
    assert not PersonQuota.objects.filter(person_key=f"m:{member.pk}", live_count__gt=0).exists()


def test_suspension_marks_every_slot_of_the_session_and_no_other(clinic, make_session):
    other = make_session(clinic["doctor"], clinic["department"], period="afternoon", start=dt.time(14), end=dt.time(15))

    clinic_session_suspend(actor=Actor.system(reason="manager"), session=clinic["session"], reason="停诊")

    assert set(Slot.objects.filter(session=clinic["session"]).values_list("suspended", flat=True)) == {True}
    assert set(Slot.objects.filter(session=other).values_list("suspended", flat=True)) == {False}


def test_a_walk_in_registered_from_a_read_before_the_suspension_is_refused(
    make_department, make_doctor, make_session, patient
):
    department = make_department(code="WK")
    session = make_session(make_doctor(department), department, days_ahead=0, walkin_percent=50)
    user, member = patient()
    read_before = ClinicSession.objects.get(pk=session.pk)

    clinic_session_suspend(actor=Actor.system(reason="manager"), session=session, reason="停诊")

    with pytest.raises(SessionSuspended):
        walk_in_register(actor=Actor.of(user), member=member, session=read_before)
    assert not Appointment.objects.filter(session=session).exists()
    assert ClinicSession.objects.get(pk=session.pk).walkin_used == 0
