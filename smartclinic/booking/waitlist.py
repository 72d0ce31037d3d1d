"""The waitlist (候补): a freed place goes to the first person in line, who must confirm (or pay)
within ``WAITLIST_CONFIRM_MINUTES``, or it passes to the next."""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.utils import timezone

from smartclinic.audit.services import audit_record
from smartclinic.booking.choices import (
    LIVE_STATUSES,
    OPEN_WAITLIST_STATUSES,
    AppointmentSource,
    AppointmentStatus,
    CancelReason,
    WaitlistStatus,
)
from smartclinic.booking.errors import (
    AlreadyWaitlisted,
    BookingBlocked,
    BookingClosed,
    CardNotBound,
    DuplicateBooking,
    NotCancellable,
    NotOpenYet,
    OfferExpired,
    SlotsStillAvailable,
    TooManyAppointments,
)
from smartclinic.booking.events import WaitlistOffered
from smartclinic.booking.models import Appointment, WaitlistEntry, person_key_for
from smartclinic.booking.policies import quota_ensure
from smartclinic.booking.services import (
    book_in_transaction,
    check_patient,
    release_place,
)
from smartclinic.core import clock
from smartclinic.core.actor import Actor
from smartclinic.identity.choices import MemberStatus
from smartclinic.identity.models import Dependant, Member
from smartclinic.outbox.services import outbox_publish
from smartclinic.scheduling.choices import SessionStatus
from smartclinic.scheduling.models import ClinicSession, Department, Slot
from smartclinic.scheduling.rules import booking_closes_at


def _free_slots(*, department: Department, date: dt.date, session: ClinicSession | None, now: dt.datetime) -> bool:
    slots = Slot.objects.filter(
        session__department=department,
        session__date=date,
        session__status=SessionStatus.OPEN,
        session__opens_at__lte=now,
        booked__lt=F("capacity"),
        starts_at__gt=now + dt.timedelta(minutes=department.booking_stop_minutes),
    )
    if session is not None:
        slots = slots.filter(session=session)
    return slots.exists()


def _check_line_open(*, department: Department, date: dt.date, session: ClinicSession | None, now: dt.datetime) -> None:
    """A line can be joined only for released sessions whose booking has not closed yet."""
    sessions = ClinicSession.objects.filter(department=department, date=date, status=SessionStatus.OPEN)
    if session is not None:
        sessions = sessions.filter(pk=session.pk)
    released = sessions.filter(opens_at__lte=now)
    if not released.exists():
        first = sessions.order_by("opens_at").first()
        if first is None:
            raise BookingClosed()
        shown = timezone.localtime(first.opens_at).strftime("%Y-%m-%d %H:%M")
        raise NotOpenYet(NotOpenYet.message % {"opens_at": shown}, opens_at=first.opens_at.isoformat())
    still_bookable = Slot.objects.filter(
        session__in=released, starts_at__gt=now + dt.timedelta(minutes=department.booking_stop_minutes)
    )
    if not still_bookable.exists():
        raise BookingClosed()


def waitlist_join(
    *,
    actor: Actor,
    member: Member | None,
    department: Department,
    date: dt.date,
    session: ClinicSession | None = None,
    dependant: Dependant | None = None,
) -> WaitlistEntry:
    """Join the line for one session, or (``session=None``) for any doctor of the department on
    that day. Only when everything is taken: otherwise the patient should simply book."""
    member = check_patient(member=member, dependant=dependant)
    now = clock.now()
    if session is not None and session.status != SessionStatus.OPEN:
        raise NotCancellable()
    _check_line_open(department=department, date=date, session=session, now=now)
    if _free_slots(department=department, date=date, session=session, now=now):
        raise SlotsStillAvailable()
    person_key = person_key_for(member=member, dependant=dependant)
    if Appointment.objects.filter(
        person_key=person_key, department=department, date=date, status__in=LIVE_STATUSES
    ).exists():
        raise DuplicateBooking()
    requested_by = actor.user or member.account
    if requested_by is None:
        raise CardNotBound()
    quota_ensure(person_key=person_key)
    try:
        with transaction.atomic():
            entry = WaitlistEntry.objects.create(
                member=member,
                dependant=dependant,
                person_key=person_key,
                requested_by=requested_by,
                session=session,
                department=department,
                date=date,
            )
            audit_record(
                actor=actor,
                action="booking.waitlist_joined",
                subject=entry,
                new={"department": department.code, "date": date, "session": session.public_id if session else None},
            )
    except IntegrityError as exc:
        raise AlreadyWaitlisted() from exc
    return entry


@transaction.atomic
def waitlist_leave(*, actor: Actor, entry: WaitlistEntry) -> None:
    updated = WaitlistEntry.objects.filter(pk=entry.pk, status=WaitlistStatus.WAITING).update(
        status=WaitlistStatus.CANCELLED, updated_at=clock.now()
    )
    if not updated:
        raise NotCancellable()
    audit_record(
        actor=actor,
        action="booking.waitlist_left",
        subject=entry,
        old={"status": WaitlistStatus.WAITING},
        new={"status": WaitlistStatus.CANCELLED},
    )


@transaction.atomic
def waitlist_leave_all(*, actor: Actor, member: Member | None) -> int:
    """Leave every line the member (or their dependants) still waits in; how many were left."""
    if member is None:
        return 0
    entries = list(WaitlistEntry.objects.select_for_update().filter(member=member, status=WaitlistStatus.WAITING))
    for entry in entries:
        waitlist_leave(actor=actor, entry=entry)
    return len(entries)


def waitlist_promote_for_slot(*, actor: Actor, slot_id: int, now: dt.datetime) -> Appointment | None:
    """Offer a just-freed place in ``slot_id`` to the first person in line who may take it.
    Runs inside the transaction that freed the place, so no one else can take it in between."""
    slot = Slot.objects.select_related("session__department").get(pk=slot_id)
    session = slot.session
    if session.status != SessionStatus.OPEN or now >= booking_closes_at(department=session.department, slot=slot):
        return None
    line = (
        WaitlistEntry.objects.select_for_update(of=("self",))
        .filter(status=WaitlistStatus.WAITING, department_id=session.department_id, date=session.date)
        .filter(member__status=MemberStatus.ACTIVE)
        .filter(Q(session=session) | Q(session__isnull=True))
        .select_related("member", "dependant", "requested_by")
        .order_by("id")
    )
    for entry in line[:50]:
        offered = _offer(actor=actor, entry=entry, slot=slot, now=now)
        if offered is not None:
            return offered
    return None


def _offer(*, actor: Actor, entry: WaitlistEntry, slot: Slot, now: dt.datetime) -> Appointment | None:
    confirm_by = now + dt.timedelta(minutes=settings.WAITLIST_CONFIRM_MINUTES)
    try:
        with transaction.atomic():
            appointment = book_in_transaction(
                actor=actor,
                member=entry.member,
                dependant=entry.dependant,
                slot=slot,
                now=now,
                source=AppointmentSource.WAITLIST,
                hold_expires_at=confirm_by,
                booked_by=entry.requested_by,
            )
    except DuplicateBooking:
        _close_entry(actor=actor, entry=entry, status=WaitlistStatus.CANCELLED)  # they booked meanwhile
        return None
    except (TooManyAppointments, BookingBlocked):
        return None  # stays in line; may take a later place
    WaitlistEntry.objects.filter(pk=entry.pk).update(
        status=WaitlistStatus.OFFERED, appointment=appointment, offered_at=now, updated_at=now
    )
    outbox_publish(
        WaitlistOffered(
            entry_id=entry.public_id,
            appointment_id=appointment.public_id,
            member_id=entry.member.public_id,
            confirm_by=confirm_by.isoformat(),
        )
    )
    return appointment


def _close_entry(*, actor: Actor, entry: WaitlistEntry, status: str) -> None:
    WaitlistEntry.objects.filter(pk=entry.pk).update(status=status, updated_at=clock.now())
    audit_record(actor=actor, action="booking.waitlist_closed", subject=entry, new={"status": status})


@transaction.atomic
def waitlist_offer_confirm(*, actor: Actor, appointment: Appointment) -> Appointment:
    """The patient takes the offered place (paying also confirms it)."""
    now = clock.now()
    confirmed = Appointment.objects.filter(pk=appointment.pk, status__in=LIVE_STATUSES, hold_expires_at__gt=now).update(
        hold_expires_at=None, updated_at=now
    )
    if not confirmed:
        appointment.refresh_from_db()
        if appointment.is_live and appointment.hold_expires_at is None:
            return appointment  # already confirmed
        raise OfferExpired()
    WaitlistEntry.objects.filter(appointment=appointment).update(status=WaitlistStatus.BOOKED, updated_at=now)
    audit_record(
        actor=actor, action="booking.waitlist_offer_confirmed", subject=appointment, new={"hold_expires_at": None}
    )
    appointment.refresh_from_db()
    return appointment


def waitlist_offers_expire(*, actor: Actor) -> int:
    """Periodic: offers not confirmed in time pass to the next person in line."""
    now = clock.now()
    expired = 0
    due = Appointment.objects.filter(status=AppointmentStatus.BOOKED, hold_expires_at__lte=now).values_list(
        "pk", flat=True
    )
    for pk in list(due[:200]):
        with transaction.atomic():
            appointment = Appointment.objects.select_related("member").get(pk=pk)
            updated = Appointment.objects.filter(
                pk=pk, status=AppointmentStatus.BOOKED, hold_expires_at__lte=now
            ).update(
                status=AppointmentStatus.EXPIRED,
                cancel_reason=CancelReason.OFFER_EXPIRED,
                cancelled_at=now,
                updated_at=now,
            )
            if not updated:
                continue
            WaitlistEntry.objects.filter(appointment_id=pk).update(status=WaitlistStatus.EXPIRED, updated_at=now)
            audit_record(
                actor=actor,
                action="booking.waitlist_offer_expired",
                subject=appointment,
                old={"status": AppointmentStatus.BOOKED},
                new={"status": AppointmentStatus.EXPIRED},
            )
            release_place(actor=actor, appointment=appointment, now=now)
            expired += 1
    return expired


def waitlist_close_for_member(*, actor: Actor, member_public_id: str) -> int:
    """Close the places in line of a member who is no longer active (their offers' appointments
    are cancelled by the caller)."""
    entries = list(WaitlistEntry.objects.filter(member__public_id=member_public_id, status=WaitlistStatus.WAITING))
    for entry in entries:
        _close_entry(actor=actor, entry=entry, status=WaitlistStatus.CANCELLED)
    return len(entries)


def waitlist_close_for_session(*, actor: Actor, session: ClinicSession) -> int:
    entries = list(WaitlistEntry.objects.filter(session=session, status__in=OPEN_WAITLIST_STATUSES))
    for entry in entries:
        _close_entry(actor=actor, entry=entry, status=WaitlistStatus.CANCELLED)
    return len(entries)
