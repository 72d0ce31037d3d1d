from __future__ import annotations

import datetime as dt

import pytest
import time_machine

from smartclinic.booking.choices import AppointmentSource, AppointmentStatus, WaitlistStatus
from smartclinic.booking.errors import AlreadyWaitlisted, OfferExpired, SlotsStillAvailable
from smartclinic.booking.models import Appointment, PersonQuota, WaitlistEntry
from smartclinic.booking.services import appointment_book, appointment_cancel
from smartclinic.booking.tests.conftest import fresh, slots_of
from smartclinic.booking.waitlist import waitlist_join, waitlist_leave, waitlist_offer_confirm, waitlist_offers_expire
from smartclinic.core import clock
from smartclinic.core.actor import Actor
from smartclinic.outbox.models import OutboxMessage
from smartclinic.scheduling.models import Slot

pytestmark = pytest.mark.django_db


@pytest.fixture
def full_clinic(make_department, make_doctor, make_session, patient):
    """A session of one slot with one place, already taken."""
    department = make_department(code="NK")
    session = make_session(make_doctor(department), department, end=dt.time(8, 15), per_slot=1)
    slot = slots_of(session)[0]
    holder_user, holder = patient()
    taken = appointment_book(actor=Actor.of(holder_user), member=holder, slot=fresh(slot))
    return {"department": department, "session": session, "slot": slot, "holder": (holder_user, holder), "taken": taken}


def join(user, member, clinic_, **kwargs):
    return waitlist_join(
        actor=Actor.of(user), member=member, department=clinic_["department"], date=clinic_["session"].date, **kwargs
    )


def test_joining_is_refused_while_places_are_free(clinic, patient):
    user, member = patient()
    with pytest.raises(SlotsStillAvailable):
        waitlist_join(actor=Actor.of(user), member=member, department=clinic["department"], date=clinic["session"].date)
    assert not WaitlistEntry.objects.exists()


def test_one_open_entry_per_person_department_day(full_clinic, patient):
    user, member = patient()
    join(user, member, full_clinic, session=full_clinic["session"])
    with pytest.raises(AlreadyWaitlisted):
        join(user, member, full_clinic)
    assert WaitlistEntry.objects.count() == 1


def test_a_freed_place_goes_to_the_first_in_line_who_must_confirm(full_clinic, patient, settings):
    settings.WAITLIST_CONFIRM_MINUTES = 15
    first_user, first = patient()
    second_user, second = patient()
    first_entry = join(first_user, first, full_clinic)  # any doctor that day
    join(second_user, second, full_clinic, session=full_clinic["session"])

    holder_user, _ = full_clinic["holder"]
    appointment_cancel(actor=Actor.of(holder_user), appointment=full_clinic["taken"])

    offered = Appointment.objects.get(member=first, status=AppointmentStatus.BOOKED)
    assert offered.source == AppointmentSource.WAITLIST
    assert offered.hold_expires_at is not None
    assert abs((offered.hold_expires_at - clock.now()) - dt.timedelta(minutes=15)) < dt.timedelta(seconds=5)
    assert Slot.objects.get(pk=full_clinic["slot"].pk).booked == 1  # never visibly free
    first_entry.refresh_from_db()
    assert first_entry.status == WaitlistStatus.OFFERED and first_entry.appointment == offered
    assert OutboxMessage.objects.filter(name="booking.waitlist_offered").count() == 1

    confirmed = waitlist_offer_confirm(actor=Actor.of(first_user), appointment=offered)
    assert confirmed.hold_expires_at is None
    assert WaitlistEntry.objects.get(pk=first_entry.pk).status == WaitlistStatus.BOOKED


def test_an_unconfirmed_offer_passes_to_the_next(full_clinic, patient, settings):
    settings.WAITLIST_CONFIRM_MINUTES = 15
    first_user, first = patient()
    second_user, second = patient()
    join(first_user, first, full_clinic)
    join(second_user, second, full_clinic)
    holder_user, _ = full_clinic["holder"]
    appointment_cancel(actor=Actor.of(holder_user), appointment=full_clinic["taken"])
    offered = Appointment.objects.get(member=first, status=AppointmentStatus.BOOKED)

    with time_machine.travel(clock.now() + dt.timedelta(minutes=16)):
        assert waitlist_offers_expire(actor=Actor.system()) == 1
        with pytest.raises(OfferExpired):
            waitlist_offer_confirm(actor=Actor.of(first_user), appointment=offered)

    assert Appointment.objects.get(pk=offered.pk).status == AppointmentStatus.EXPIRED
    assert WaitlistEntry.objects.get(member=first).status == WaitlistStatus.EXPIRED
    passed = Appointment.objects.get(member=second, status=AppointmentStatus.BOOKED)
    assert passed.slot_id == full_clinic["slot"].pk
    assert Slot.objects.get(pk=full_clinic["slot"].pk).booked == 1
    assert PersonQuota.objects.get(person_key=f"m:{first.pk}").live_count == 0
    assert PersonQuota.objects.get(person_key=f"m:{second.pk}").live_count == 1


def test_someone_who_booked_meanwhile_is_skipped(full_clinic, patient, make_doctor, make_session):
    first_user, first = patient()
    second_user, second = patient()
    join(first_user, first, full_clinic, session=full_clinic["session"])
    join(second_user, second, full_clinic, session=full_clinic["session"])
    # first books with another doctor of the department that day (a new session appeared)
    other = make_session(
        make_doctor(full_clinic["department"]),
        full_clinic["department"],
        period="afternoon",
        start=dt.time(14),
        end=dt.time(15),
    )
    appointment_book(actor=Actor.of(first_user), member=first, slot=fresh(slots_of(other)[0]))

    holder_user, _ = full_clinic["holder"]
    appointment_cancel(actor=Actor.of(holder_user), appointment=full_clinic["taken"])

    assert Appointment.objects.get(slot=full_clinic["slot"], status=AppointmentStatus.BOOKED).member == second
    assert WaitlistEntry.objects.get(member=first).status == WaitlistStatus.CANCELLED


def test_leaving_the_waitlist(full_clinic, patient):
    user, member = patient()
    entry = join(user, member, full_clinic)
    waitlist_leave(actor=Actor.of(user), entry=entry)
    assert WaitlistEntry.objects.get(pk=entry.pk).status == WaitlistStatus.CANCELLED
    holder_user, _ = full_clinic["holder"]
    appointment_cancel(actor=Actor.of(holder_user), appointment=full_clinic["taken"])
    assert Slot.objects.get(pk=full_clinic["slot"].pk).booked == 0


def test_a_line_cannot_be_joined_before_release_or_after_booking_closed(full_clinic, patient):
    from smartclinic.booking.errors import BookingClosed, NotOpenYet
    from smartclinic.scheduling.models import ClinicSession

    user, member = patient()
    session = full_clinic["session"]
    ClinicSession.objects.filter(pk=session.pk).update(opens_at=clock.now() + dt.timedelta(days=1))
    with pytest.raises(NotOpenYet):
        join(user, member, full_clinic)
    ClinicSession.objects.filter(pk=session.pk).update(opens_at=clock.now() - dt.timedelta(days=1))
    with time_machine.travel(full_clinic["slot"].starts_at - dt.timedelta(minutes=5)), pytest.raises(BookingClosed):
        join(user, member, full_clinic)
    with pytest.raises(BookingClosed):
        waitlist_join(
            actor=Actor.of(user),
            member=member,
            department=full_clinic["department"],
            date=clock.today() - dt.timedelta(days=3),
        )
    assert not WaitlistEntry.objects.exists()
