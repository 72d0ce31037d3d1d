"""What happens to an appointment after booking, driven by billing, queueing and visits:
paid, arrived, completed, and walk-ins registered at the station."""

from __future__ import annotations

from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from smartclinic.audit.services import audit_record
from smartclinic.booking.choices import LIVE_STATUSES, AppointmentSource, AppointmentStatus, WaitlistStatus
from smartclinic.booking.errors import CardNotBound, DuplicateBooking, NotCancellable, SessionSuspended
from smartclinic.booking.events import AppointmentBooked
from smartclinic.booking.models import Appointment, WaitlistEntry, person_key_for
from smartclinic.booking.policies import quota_ensure, quota_release, quota_take
from smartclinic.booking.services import check_patient
from smartclinic.core import clock
from smartclinic.core.actor import Actor
from smartclinic.core.errors import ApplicationError
from smartclinic.identity.models import Dependant, Member, User
from smartclinic.outbox.services import outbox_publish
from smartclinic.scheduling.choices import SessionStatus
from smartclinic.scheduling.models import ClinicSession, Slot


class WalkInNotToday(ApplicationError):
    code = "booking.walk_in_not_today"
    status = 409
    message = _("Walk-ins are registered for today's sessions only.")


class NoWalkInPlace(ApplicationError):
    code = "booking.no_walk_in_place"
    status = 409
    message = _("No walk-in places are left in this session.")


@transaction.atomic
def appointment_mark_paid(*, actor: Actor, appointment: Appointment) -> Appointment:
    """Billing applied the registration payment. Paying also confirms a waitlist offer."""
    now = clock.now()
    updated = Appointment.objects.filter(pk=appointment.pk, status=AppointmentStatus.BOOKED).update(
        status=AppointmentStatus.PAID, hold_expires_at=None, updated_at=now
    )
    if not updated:
        appointment.refresh_from_db()
        if appointment.status == AppointmentStatus.PAID:
            return appointment
        raise NotCancellable()
    WaitlistEntry.objects.filter(appointment=appointment, status=WaitlistStatus.OFFERED).update(
        status=WaitlistStatus.BOOKED, updated_at=now
    )
    audit_record(
        actor=actor,
        action="booking.appointment_paid",
        subject=appointment,
        old={"status": AppointmentStatus.BOOKED},
        new={"status": AppointmentStatus.PAID},
    )
    appointment.refresh_from_db()
    return appointment


@transaction.atomic
def appointment_mark_arrived(*, actor: Actor, appointment: Appointment) -> Appointment:
    """Queueing checked the patient in: the appointment will not become a no-show."""
    now = clock.now()
    updated = Appointment.objects.filter(
        pk=appointment.pk, checked_in_at__isnull=True, status__in=LIVE_STATUSES
    ).update(checked_in_at=now, updated_at=now)
    if updated:
        audit_record(actor=actor, action="booking.appointment_arrived", subject=appointment, new={"checked_in_at": now})
    appointment.refresh_from_db()
    return appointment


@transaction.atomic
def appointment_complete(*, actor: Actor, appointment: Appointment) -> Appointment:
    """The visit is finished: the appointment stops counting as live."""
    now = clock.now()
    updated = Appointment.objects.filter(pk=appointment.pk, status__in=LIVE_STATUSES).update(
        status=AppointmentStatus.COMPLETED, hold_expires_at=None, updated_at=now
    )
    if updated:
        quota_release(person_key=appointment.person_key)
        audit_record(
            actor=actor,
            action="booking.appointment_completed",
            subject=appointment,
            old={"status": appointment.status},
            new={"status": AppointmentStatus.COMPLETED},
        )
    appointment.refresh_from_db()
    return appointment


def walk_in_register(
    *, actor: Actor, member: Member | None, session: ClinicSession, dependant: Dependant | None = None
) -> Appointment:
    """现场挂号 at the nurse or cashier station, from the session's walk-in share. The walk-in is
    attached to the session's current (or last) slot for its time; it takes no slot capacity."""
    member = check_patient(member=member, dependant=dependant)
    if session.status != SessionStatus.OPEN:
        raise SessionSuspended()
    now = clock.now()
    if session.date != timezone.localtime(now).date():
        raise WalkInNotToday()
    person_key = person_key_for(member=member, dependant=dependant)
    quota_ensure(person_key=person_key)
    slot = (
        Slot.objects.filter(session=session, starts_at__lte=now).order_by("-starts_at").first()
        or Slot.objects.filter(session=session).order_by("starts_at").first()
    )
    if slot is None:
        raise NoWalkInPlace()
    booked_by: User | None = actor.user or member.account
    if booked_by is None:
        raise CardNotBound()
    try:
        with transaction.atomic():
            # The status is checked again on the row this update locks: the session may have
            # been suspended since it was read.
            taken = ClinicSession.objects.filter(
                pk=session.pk, status=SessionStatus.OPEN, walkin_used__lt=F("walkin_capacity")
            ).update(walkin_used=F("walkin_used") + 1)
            if not taken:
                if not ClinicSession.objects.filter(pk=session.pk, status=SessionStatus.OPEN).exists():
                    raise SessionSuspended()
                raise NoWalkInPlace()
            quota_take(person_key=person_key, now=now)
            appointment = Appointment.objects.create(
                member=member,
                dependant=dependant,
                person_key=person_key,
                booked_by=booked_by,
                slot=slot,
                session=session,
                department_id=session.department_id,
                doctor_id=session.doctor_id,
                date=session.date,
                source=AppointmentSource.WALK_IN,
                fee=session.fee,
            )
            audit_record(
                actor=actor,
                action="booking.walk_in_registered",
                subject=appointment,
                new={"session": session.public_id},
            )
            outbox_publish(
                AppointmentBooked(
                    appointment_id=appointment.public_id, member_id=member.public_id, source=AppointmentSource.WALK_IN
                )
            )
    except IntegrityError as exc:
        raise DuplicateBooking() from exc
    return appointment
