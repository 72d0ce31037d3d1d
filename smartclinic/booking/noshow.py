"""No-shows: a live booking not checked in by the end of its session becomes a no-show; K of
them within the window block booking for a while."""

from __future__ import annotations

import datetime as dt

from django.db import transaction

from smartclinic.audit.services import audit_record
from smartclinic.booking.choices import LIVE_STATUSES, AppointmentStatus
from smartclinic.booking.events import BookingBlockedEvent, NoShowRecorded
from smartclinic.booking.models import Appointment
from smartclinic.booking.policies import block_if_too_many_no_shows, quota_release
from smartclinic.booking.services import close_waitlist_offer
from smartclinic.core import clock
from smartclinic.core.actor import Actor
from smartclinic.outbox.services import outbox_publish
from smartclinic.scheduling.models import ClinicSession


def no_shows_mark(*, actor: Actor) -> int:
    """Periodic: process every ended session once. Returns the number of no-shows recorded."""
    now = clock.now()
    recorded = 0
    ended = ClinicSession.objects.filter(ends_at__lte=now, no_shows_processed=False).values_list("pk", flat=True)
    for session_id in list(ended[:100]):
        with transaction.atomic():
            claimed = ClinicSession.objects.filter(pk=session_id, no_shows_processed=False).update(
                no_shows_processed=True
            )
            if not claimed:
                continue  # another worker took it
            missing = Appointment.objects.filter(
                session_id=session_id, status__in=LIVE_STATUSES, checked_in_at__isnull=True
            ).select_related("member")
            for appointment in missing:
                recorded += _record_no_show(actor=actor, appointment=appointment, now=now)
    return recorded


def _record_no_show(*, actor: Actor, appointment: Appointment, now: dt.datetime) -> int:
    updated = Appointment.objects.filter(pk=appointment.pk, status__in=LIVE_STATUSES).update(
        status=AppointmentStatus.NO_SHOW, hold_expires_at=None, updated_at=now
    )
    if not updated:
        return 0
    close_waitlist_offer(appointment_id=appointment.pk, now=now)
    quota_release(person_key=appointment.person_key)
    audit_record(
        actor=actor,
        action="booking.no_show_recorded",
        subject=appointment,
        old={"status": appointment.status},
        new={"status": AppointmentStatus.NO_SHOW},
    )
    outbox_publish(NoShowRecorded(appointment_id=appointment.public_id, member_id=appointment.member.public_id))
    until = block_if_too_many_no_shows(person_key=appointment.person_key, now=now)
    if until is not None:
        audit_record(
            actor=actor,
            action="booking.booking_blocked",
            subject_type="booking.personquota",
            subject_id=appointment.person_key,
            new={"blocked_until": until},
        )
        outbox_publish(
            BookingBlockedEvent(
                member_id=appointment.member.public_id, person_key=appointment.person_key, until=until.isoformat()
            )
        )
    return 1
