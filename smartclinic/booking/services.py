"""Writes of the booking context: book, cancel, reschedule, suspend a session, rebook.

Capacity moves only through conditional updates (``booked < capacity``); per-person rules are
checked in the same transaction and backed by the database (a partial unique index on live
appointments per person, department and day; a check that ``booked <= capacity``). Within the
transaction the hot slot row is locked last, so its lock is held for as short a time as possible.
On PostgreSQL a booking's writes are one statement (``booking_book``, ADR 0006): there the slot
is updated before the inserts, and the lock lasts one statement and its commit.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from functools import cache
from typing import Any

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, IntegrityError, connection, connections, transaction
from django.db.models import F, Model
from django.utils import formats, timezone

from smartclinic.audit.models import AuditEntry
from smartclinic.audit.services import audit_record, audit_values_for
from smartclinic.booking.choices import (
    LIVE_STATUSES,
    AppointmentSource,
    AppointmentStatus,
    CancelReason,
    WaitlistStatus,
)
from smartclinic.booking.errors import (
    BookingClosed,
    CancelTooLate,
    CardNotBound,
    DuplicateBooking,
    MemberNotActive,
    NoEquivalentSlot,
    NotCancellable,
    NotOpenYet,
    SessionSuspended,
    SlotFull,
)
from smartclinic.booking.events import AppointmentBooked, AppointmentCancelled, AppointmentRescheduled
from smartclinic.booking.models import Appointment, WaitlistEntry, person_key_for
from smartclinic.booking.policies import (
    quota_ensure,
    quota_lock_of_live_appointments,
    quota_refusal,
    quota_release,
    quota_take,
    quota_take_or_create,
)
from smartclinic.core import clock
from smartclinic.core.actor import Actor
from smartclinic.core.compiled import (
    column_of,
    insert_instance,
    instance_row_json,
    mark_inserted,
    new_instance,
    prepared_cursor,
    values_row_json,
)
from smartclinic.core.errors import NotFound
from smartclinic.core.models import IdempotencyRecord
from smartclinic.identity.models import Dependant, Member, User
from smartclinic.outbox.models import OutboxMessage
from smartclinic.outbox.services import outbox_publish, outbox_values_for
from smartclinic.scheduling.choices import TITLE_RANK, DoctorTitle, SessionStatus
from smartclinic.scheduling.models import ClinicSession, Slot
from smartclinic.scheduling.rules import booking_closes_at, cancel_deadline
from smartclinic.scheduling.services import session_mark_suspended


def _show(moment: dt.datetime) -> str:
    return formats.date_format(timezone.localtime(moment), "Y-m-d H:i")


def check_patient(*, member: Member | None, dependant: Dependant | None) -> Member:
    if member is None:
        raise CardNotBound()
    if not member.is_active_member:
        raise MemberNotActive()
    if dependant is not None and (dependant.owner_id != member.pk or not dependant.active):
        raise NotFound()
    return member


def check_slot_bookable(*, slot: Slot, now: dt.datetime) -> None:
    """Release and stop times, and whether the session still runs. ``slot`` comes with its
    session and department (``select_related``)."""
    session = slot.session
    if session.status != SessionStatus.OPEN:
        raise SessionSuspended()
    if now < session.opens_at:
        raise NotOpenYet(
            NotOpenYet.message % {"opens_at": _show(session.opens_at)}, opens_at=session.opens_at.isoformat()
        )
    if now >= booking_closes_at(department=session.department, slot=slot):
        raise BookingClosed()


def check_refused_as_read(*, member: Member | None, slot: Slot) -> None:
    """The refusals of ``appointment_book`` that its rows alone decide (no card, member not
    active, session suspended, slot full), in its order, for a member booking for themselves.
    One the clock decides (not open yet, booking closed) is left to the booking itself: the
    caller's Idempotency-Key logic relies on the rows having been read together with the key's
    stored answer, and the clock has moved on since that read."""
    check_patient(member=member, dependant=None)
    try:
        check_slot_bookable(slot=slot, now=clock.now())
    except (NotOpenYet, BookingClosed):
        return
    if slot.booked >= slot.capacity:
        raise SlotFull()


@cache
def _take_slot_sql(vendor: str) -> str:
    qn = connection.ops.quote_name
    meta = Slot._meta
    table = qn(meta.db_table)
    pk, booked, capacity, suspended = (qn(column_of(Slot, name)) for name in ("id", "booked", "capacity", "suspended"))
    return (
        f"UPDATE {table} SET {booked} = {booked} + 1 "  # noqa: S608
        f"WHERE {pk} = %s AND {booked} < {capacity} AND NOT {suspended}"
    )


def _take_slot(slot: Slot) -> None:
    """The conditional update that decides: one place, only while ``booked < capacity`` and the
    session is not suspended (``Slot.objects.filter(pk=..., booked__lt=F("capacity"),
    suspended=False).update(booked=F("booked") + 1)``, written out once instead of compiled on
    every booking). The session's status was read before this transaction; the slot's mark is
    checked on the row this update locks, after any suspension that held it has committed."""
    with connection.cursor() as cursor:
        cursor.execute(_take_slot_sql(connection.vendor), [slot.pk])
        taken = cursor.rowcount
    if not taken:
        if Slot.objects.filter(pk=slot.pk, suspended=True).exists():
            raise SessionSuspended()
        raise SlotFull()


def _free_slot(slot_id: int) -> None:
    Slot.objects.filter(pk=slot_id, booked__gt=0).update(booked=F("booked") - 1)


def _new_appointment(
    *,
    actor: Actor,
    member: Member,
    dependant: Dependant | None,
    slot: Slot,
    source: str,
    hold_expires_at: dt.datetime | None = None,
    status: str = AppointmentStatus.BOOKED,
    rescheduled_from: Appointment | None = None,
    booked_by: User | None = None,
) -> Appointment:
    """The appointment a booking of ``slot`` makes, not saved yet."""
    booker = booked_by or actor.user or member.account
    if booker is None:
        raise CardNotBound()
    session = slot.session
    values: dict[str, Any] = {
        "member_id": member.pk,
        "dependant_id": dependant.pk if dependant is not None else None,
        "person_key": person_key_for(member=member, dependant=dependant),
        "booked_by_id": booker.pk,
        "slot_id": slot.pk,
        "session_id": session.pk,
        "department_id": session.department_id,
        "doctor_id": session.doctor_id,
        "date": session.date,
        "status": status,
        "source": source,
        "fee": session.fee,
        "hold_expires_at": hold_expires_at,
        "rescheduled_from_id": rescheduled_from.pk if rescheduled_from is not None else None,
    }
    # Made by keys, with the objects cached as they are: ``Appointment(member=member, ...)``
    # passes each object through its descriptor (type and database-routing checks), half the
    # CPU of making the appointment on every booking. The session came with its department and
    # doctor: the appointment shows them without loading them again.
    appointment = new_instance(Appointment, values)
    related: dict[str, Model | None] = {
        "member": member,
        "dependant": dependant,
        "booked_by": booker,
        "slot": slot,
        "session": session,
    }
    if rescheduled_from is not None:
        related["rescheduled_from"] = rescheduled_from
        Appointment.rescheduled_from.field.remote_field.set_cached_value(rescheduled_from, appointment)
    if ClinicSession.department.is_cached(session):
        related["department"] = session.department
    if ClinicSession.doctor.is_cached(session):
        related["doctor"] = session.doctor
    for name, obj in related.items():
        Appointment._meta.get_field(name).set_cached_value(appointment, obj)  # type: ignore[union-attr]
    return appointment


def _booked_audit(*, actor: Actor, appointment: Appointment) -> dict[str, Any]:
    """The audit entry's field values (``AuditEntry(**values)``)."""
    return audit_values_for(
        actor=actor,
        action="booking.appointment_booked",
        subject=appointment,
        new={
            "slot": appointment.slot.public_id,
            "status": appointment.status,
            "source": appointment.source,
            "dependant": appointment.dependant.public_id if appointment.dependant else None,
        },
    )


def _booked_event(appointment: Appointment) -> AppointmentBooked:
    return AppointmentBooked(
        appointment_id=appointment.public_id, member_id=appointment.member.public_id, source=appointment.source
    )


def _insert_appointment(*, actor: Actor, **facts: Any) -> Appointment:
    appointment = _new_appointment(actor=actor, **facts)
    insert_instance(appointment)
    insert_instance(AuditEntry(**_booked_audit(actor=actor, appointment=appointment)), bypass_save_override=True)
    outbox_publish(_booked_event(appointment))
    return appointment


def book_in_transaction(
    *,
    actor: Actor,
    member: Member,
    dependant: Dependant | None,
    slot: Slot,
    now: dt.datetime,
    source: str = AppointmentSource.ONLINE,
    hold_expires_at: dt.datetime | None = None,
    booked_by: User | None = None,
) -> Appointment:
    """The booking writes, for callers that already run a transaction (the waitlist).
    Order: the person's quota row, the appointment (unique per person/department/day), and the
    hot slot row last."""
    quota_take(person_key=person_key_for(member=member, dependant=dependant), now=now)
    try:
        with transaction.atomic():
            appointment = _insert_appointment(
                actor=actor,
                member=member,
                dependant=dependant,
                slot=slot,
                source=source,
                hold_expires_at=hold_expires_at,
            )
    except IntegrityError as exc:
        raise DuplicateBooking() from exc
    _take_slot(slot)
    return appointment


def appointment_book(
    *,
    actor: Actor,
    member: Member | None,
    slot: Slot,
    dependant: Dependant | None = None,
    source: str = AppointmentSource.ONLINE,
    answer: Callable[[Appointment], dict[str, Any]] | None = None,
) -> Appointment:
    """Book ``slot`` for the member (or their dependant). ``slot`` must come with its session and
    department. Raises a ``booking.*`` error and changes nothing when a rule says no.
    ``answer`` gives the idempotent answer to store with the booking (an Idempotency-Key's
    record, as its field values)."""
    now = clock.now()
    member = check_patient(member=member, dependant=dependant)
    check_slot_bookable(slot=slot, now=now)
    if slot.booked >= slot.capacity:
        raise SlotFull()  # cheap early answer during a rush; the conditional update decides
    person_key = person_key_for(member=member, dependant=dependant)
    # The thread's connection, looked up once: it is passed down rather than found again by
    # each part of the statement (``django.db.connection`` is a look-up per attribute).
    database = connections[DEFAULT_DB_ALIAS]
    if database.vendor == "postgresql" and settings.BOOKING_MAX_LIVE_APPOINTMENTS >= 1:
        return _book_in_one_statement(
            actor=actor,
            member=member,
            dependant=dependant,
            slot=slot,
            source=source,
            now=now,
            answer=answer,
            database=database,
        )
    # One short transaction, the hot slot row locked last: the person's quota (created on the
    # first booking, in the same statement), the appointment with its audit entry and event,
    # then the slot's conditional update. Each statement is compiled once per process.
    try:
        with transaction.atomic():
            quota_take_or_create(person_key=person_key, now=now)
            appointment = _insert_appointment(actor=actor, member=member, dependant=dependant, slot=slot, source=source)
            _take_slot(slot)
            if answer is not None:
                insert_instance(IdempotencyRecord(**answer(appointment)))
    except IntegrityError as exc:
        # The only unique index the insert can hit is one live appointment per person,
        # department and day (a concurrent twin of this request won).
        quota_ensure(person_key=person_key)  # the person's quota row exists whatever the outcome
        raise DuplicateBooking() from exc
    except SlotFull:
        quota_ensure(person_key=person_key)
        raise
    return appointment


_BOOK_STATEMENT = (
    "SELECT outcome, detail, appointment_id, audit_id, event_id "
    "FROM booking_book(%s, %s, %s, %s, %s::jsonb, %s::jsonb, %s::jsonb, %s::jsonb)"
)


def _book_in_one_statement(
    *,
    actor: Actor,
    member: Member,
    dependant: Dependant | None,
    slot: Slot,
    source: str,
    now: dt.datetime,
    answer: Callable[[Appointment], dict[str, Any]] | None,
    database: Any,
) -> Appointment:
    """The booking's writes as one statement on PostgreSQL (``booking_book``, migration 0002 and
    ADR 0006): the same rows as the ORM path, built here, sent as JSON. It answers with an
    outcome rather than an error, so it needs no savepoint inside a caller's transaction. The
    audit entry, the event and the stored answer are rows nobody reads back: built from their
    values, without model instances (``values_row_json``)."""
    appointment = _new_appointment(actor=actor, member=member, dependant=dependant, slot=slot, source=source)
    appointment_row = instance_row_json(appointment, connection=database)  # stamps created_at, as the insert would
    entry_row = values_row_json(AuditEntry, _booked_audit(actor=actor, appointment=appointment), connection=database)
    message_row = values_row_json(OutboxMessage, outbox_values_for(_booked_event(appointment)), connection=database)
    record_row = (
        values_row_json(IdempotencyRecord, answer(appointment), connection=database) if answer is not None else None
    )
    # Bound server-side and prepared once per connection: the rows' JSON goes as parameters,
    # not quoted into the statement's text for PostgreSQL to parse again each time.
    with prepared_cursor(database) as cursor:
        cursor.execute(
            _BOOK_STATEMENT,
            [
                slot.pk,
                appointment.person_key,
                settings.BOOKING_MAX_LIVE_APPOINTMENTS,
                now,
                appointment_row,
                entry_row,
                message_row,
                record_row,
            ],
        )
        outcome, _constraint, appointment_id, _entry_id, _message_id = cursor.fetchone()
    if outcome == "quota":
        quota_refusal(person_key=appointment.person_key, now=now)
    if outcome == "slot_full":
        raise SlotFull()
    if outcome == "suspended":
        raise SessionSuspended()  # suspended since the slot was read (migration booking/0004)
    if outcome == "duplicate":
        # One live appointment per person, department and day; or a twin with the same
        # Idempotency-Key won (its caller finds the stored answer).
        raise DuplicateBooking()
    mark_inserted(appointment, appointment_id)
    return appointment


def _mark_cancelled(*, appointment: Appointment, status: str, reason: str, now: dt.datetime) -> bool:
    cancelled = bool(
        Appointment.objects.filter(pk=appointment.pk, status__in=LIVE_STATUSES).update(
            status=status, cancel_reason=reason, cancelled_at=now, hold_expires_at=None, updated_at=now
        )
    )
    if cancelled:
        close_waitlist_offer(appointment_id=appointment.pk, now=now)
    return cancelled


def close_waitlist_offer(*, appointment_id: int, now: dt.datetime) -> None:
    """An offered place that ends (cancelled, no-show) closes its waitlist entry, so the person
    may queue for that department and day again."""
    WaitlistEntry.objects.filter(appointment_id=appointment_id, status=WaitlistStatus.OFFERED).update(
        status=WaitlistStatus.CANCELLED, updated_at=now
    )


def release_place(*, actor: Actor, appointment: Appointment, now: dt.datetime) -> None:
    """Give the appointment's place back: the person's quota, then the slot and the waitlist —
    or, for a walk-in, the session's walk-in share it was taken from."""
    from smartclinic.booking.waitlist import waitlist_promote_for_slot

    quota_release(person_key=appointment.person_key)
    if appointment.source == AppointmentSource.WALK_IN:
        ClinicSession.objects.filter(pk=appointment.session_id, walkin_used__gt=0).update(
            walkin_used=F("walkin_used") - 1
        )
        return
    _free_slot(appointment.slot_id)
    waitlist_promote_for_slot(actor=actor, slot_id=appointment.slot_id, now=now)


@transaction.atomic
def appointment_cancel(
    *,
    actor: Actor,
    appointment: Appointment,
    reason: str = CancelReason.PATIENT,
    status: str = AppointmentStatus.CANCELLED,
    enforce_deadline: bool = True,
) -> Appointment:
    now = clock.now()
    slot = Slot.objects.select_related("session__department").get(pk=appointment.slot_id)
    if enforce_deadline:
        deadline = cancel_deadline(department=slot.session.department, slot=slot)
        if now >= deadline and appointment.is_live:
            raise CancelTooLate(CancelTooLate.message % {"deadline": _show(deadline)}, deadline=deadline.isoformat())
    was_paid = appointment.status == AppointmentStatus.PAID
    if not _mark_cancelled(appointment=appointment, status=status, reason=reason, now=now):
        raise NotCancellable()
    audit_record(
        actor=actor,
        action="booking.appointment_cancelled",
        subject=appointment,
        old={"status": appointment.status},
        new={"status": status, "reason": reason},
    )
    outbox_publish(
        AppointmentCancelled(
            appointment_id=appointment.public_id,
            member_id=appointment.member.public_id,
            reason=reason,
            was_paid=was_paid,
            by_clinic=False,
        )
    )
    release_place(actor=actor, appointment=appointment, now=now)
    appointment.refresh_from_db()
    return appointment


def appointment_reschedule(*, actor: Actor, appointment: Appointment, new_slot: Slot) -> Appointment:
    """Move to ``new_slot`` atomically: the new place is taken and the old one freed, or nothing
    changes. A paid appointment keeps its payment when the fee is the same."""
    now = clock.now()
    check_slot_bookable(slot=new_slot, now=now)
    try:
        with transaction.atomic():
            return _reschedule(actor=actor, appointment=appointment, new_slot=new_slot, now=now)
    except IntegrityError as exc:
        raise DuplicateBooking() from exc


def _reschedule(*, actor: Actor, appointment: Appointment, new_slot: Slot, now: dt.datetime) -> Appointment:
    old_slot = Slot.objects.select_related("session__department").get(pk=appointment.slot_id)
    deadline = cancel_deadline(department=old_slot.session.department, slot=old_slot)
    if now >= deadline:
        raise CancelTooLate(CancelTooLate.message % {"deadline": _show(deadline)}, deadline=deadline.isoformat())
    if new_slot.pk == old_slot.pk:
        return appointment
    if appointment.source == AppointmentSource.WALK_IN or appointment.hold_expires_at is not None:
        # A walk-in has no booked slot to move; an offer must be confirmed before it is moved.
        raise NotCancellable()
    keeps_payment = appointment.status == AppointmentStatus.PAID and new_slot.session.fee == appointment.fee
    if appointment.status == AppointmentStatus.PAID and not keeps_payment:
        raise NotCancellable(extra_reason="fee_differs")
    if not _mark_cancelled(
        appointment=appointment, status=AppointmentStatus.CANCELLED, reason=CancelReason.RESCHEDULED, now=now
    ):
        raise NotCancellable()
    new = _insert_appointment(
        actor=actor,
        member=appointment.member,
        dependant=appointment.dependant,
        slot=new_slot,
        source=appointment.source,
        status=appointment.status,
        rescheduled_from=appointment,
    )
    _take_slot(new_slot)
    _free_slot(old_slot.pk)
    audit_record(
        actor=actor,
        action="booking.appointment_rescheduled",
        subject=appointment,
        old={"slot": old_slot.public_id},
        new={"slot": new_slot.public_id, "appointment": new.public_id},
    )
    outbox_publish(
        AppointmentRescheduled(
            old_appointment_id=appointment.public_id,
            new_appointment_id=new.public_id,
            member_id=appointment.member.public_id,
        )
    )
    from smartclinic.booking.waitlist import waitlist_promote_for_slot

    waitlist_promote_for_slot(actor=actor, slot_id=old_slot.pk, now=now)
    return new


def equivalent_slot(*, session: ClinicSession, near: dt.datetime, now: dt.datetime) -> Slot | None:
    """The free slot nearest in time to ``near``: same department, a doctor of the same or a
    higher title, in another open session whose booking is open."""
    ranks = TITLE_RANK.get(DoctorTitle(session.doctor.title), 0)
    titles = [title for title, rank in TITLE_RANK.items() if rank >= ranks]
    candidates = (
        Slot.objects.filter(
            session__department_id=session.department_id,
            session__status=SessionStatus.OPEN,
            session__opens_at__lte=now,
            session__doctor__title__in=titles,
            booked__lt=F("capacity"),
            starts_at__gt=now + dt.timedelta(minutes=session.department.booking_stop_minutes),
        )
        .exclude(session=session)
        .select_related("session", "session__department", "session__doctor")
    )
    after = candidates.filter(starts_at__gte=near).order_by("starts_at").first()
    before = candidates.filter(starts_at__lt=near).order_by("-starts_at").first()
    options = [slot for slot in (after, before) if slot is not None]
    return min(options, key=lambda slot: abs(slot.starts_at - near)) if options else None


@transaction.atomic
def clinic_session_suspend(*, actor: Actor, session: ClinicSession, reason: str) -> list[Appointment]:
    """停诊: close the session, cancel every live appointment on it (refunds and messages follow
    from the events) and offer each patient the nearest equivalent slot to rebook in one action."""
    from smartclinic.booking.waitlist import waitlist_close_for_session

    now = clock.now()
    # The quota rows released below, locked before the slots are closed: a booking holding one
    # of them and waiting for its slot would otherwise wait for this transaction while this
    # one waits for it (a deadlock that PostgreSQL breaks by failing one of the two).
    session_mark_suspended(
        actor=actor,
        session=session,
        reason=reason,
        before_closing_slots=lambda: quota_lock_of_live_appointments(session_id=session.pk),
    )
    session = ClinicSession.objects.select_related("department", "doctor").get(pk=session.pk)
    cancelled = []
    live = Appointment.objects.filter(session=session, status__in=LIVE_STATUSES).select_related("member", "slot")
    for appointment in live:
        was_paid = appointment.status == AppointmentStatus.PAID
        offer = equivalent_slot(session=session, near=appointment.slot.starts_at, now=now)
        _mark_cancelled(
            appointment=appointment,
            status=AppointmentStatus.CANCELLED_BY_CLINIC,
            reason=CancelReason.SESSION_SUSPENDED,
            now=now,
        )
        Appointment.objects.filter(pk=appointment.pk).update(rebook_offer=offer)
        quota_release(person_key=appointment.person_key)
        audit_record(
            actor=actor,
            action="booking.appointment_cancelled",
            subject=appointment,
            old={"status": appointment.status},
            new={
                "status": AppointmentStatus.CANCELLED_BY_CLINIC,
                "reason": reason,
                "rebook_offer": offer.public_id if offer else None,
            },
        )
        outbox_publish(
            AppointmentCancelled(
                appointment_id=appointment.public_id,
                member_id=appointment.member.public_id,
                reason=CancelReason.SESSION_SUSPENDED,
                was_paid=was_paid,
                by_clinic=True,
                rebook_slot_id=offer.public_id if offer else None,
            )
        )
        cancelled.append(appointment)
    waitlist_close_for_session(actor=actor, session=session)
    return cancelled


def appointment_rebook(*, actor: Actor, appointment: Appointment) -> Appointment:
    """One action after a suspension: book the offered slot, or the nearest equivalent still free."""
    if appointment.status != AppointmentStatus.CANCELLED_BY_CLINIC:
        raise NotCancellable()
    if Appointment.objects.filter(rescheduled_from=appointment).exists():
        raise NotCancellable()
    now = clock.now()
    original = Slot.objects.select_related("session__department", "session__doctor").get(pk=appointment.slot_id)
    offer = appointment.rebook_offer
    candidates = []
    if offer is not None:
        candidates.append(Slot.objects.select_related("session__department", "session__doctor").get(pk=offer.pk))
    nearest = equivalent_slot(session=original.session, near=original.starts_at, now=now)
    if nearest is not None:
        candidates.append(nearest)
    for slot in candidates:
        try:
            booked = appointment_book(
                actor=actor,
                member=appointment.member,
                slot=slot,
                dependant=appointment.dependant,
                source=AppointmentSource.REBOOK,
            )
        except SlotFull:
            continue
        Appointment.objects.filter(pk=booked.pk).update(rescheduled_from=appointment)
        booked.refresh_from_db()
        return booked
    raise NoEquivalentSlot()
