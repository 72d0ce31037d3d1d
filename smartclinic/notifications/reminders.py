"""Reminders before a visit: the evening before (after ``NOTIFICATIONS_REMINDER_EVENING_AT``) and
within the hour before (``NOTIFICATIONS_REMINDER_BEFORE_MINUTES``). Each is made once per
appointment (the message's unique key), so the job is safe to run often and in several workers;
quiet hours delay a reminder's pushes (``services.message_create``), never drop them."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterable

from django.db.models import QuerySet
from django.utils import timezone

from smartclinic.booking.choices import LIVE_STATUSES, AppointmentSource
from smartclinic.booking.models import Appointment
from smartclinic.core import clock
from smartclinic.core.actor import Actor
from smartclinic.notifications import conf
from smartclinic.notifications.choices import MessageKind
from smartclinic.notifications.contexts import appointment_values
from smartclinic.notifications.handlers import appointment_link
from smartclinic.notifications.models import Message
from smartclinic.notifications.services import ContextBuilder, message_create

logger = logging.getLogger(__name__)

BATCH = 500


def _live() -> QuerySet[Appointment]:
    return (
        Appointment.objects.filter(
            status__in=LIVE_STATUSES,
            member__account__isnull=False,
            hold_expires_at__isnull=True,  # an unconfirmed waitlist offer has its own message
            checked_in_at__isnull=True,
        )
        .exclude(source=AppointmentSource.WALK_IN)
        .select_related("member", "member__account", "dependant", "slot", "session", "department", "doctor")
    )


def source_key(appointment: Appointment) -> str:
    return f"appointment:{appointment.public_id}"


def _values_of(appointment: Appointment) -> ContextBuilder:
    return lambda language: appointment_values(appointment, language)


def _remind(*, actor: Actor, kind: str, appointments: Iterable[Appointment]) -> int:
    candidates = list(appointments)
    if not candidates:
        return 0
    done = set(
        Message.objects.filter(kind=kind, source_key__in=[source_key(a) for a in candidates]).values_list(
            "source_key", flat=True
        )
    )
    made = 0
    for appointment in candidates:
        if source_key(appointment) in done or appointment.member.account is None:
            continue
        message = message_create(
            actor=actor,
            recipient=appointment.member.account,
            kind=kind,
            source_key=source_key(appointment),
            context=_values_of(appointment),
            link=appointment_link(appointment),
        )
        made += message is not None
    return made


def reminders_send_due(*, actor: Actor) -> int:
    """Make the reminders that are due now. Returns how many messages were made."""
    now = clock.now()
    local = timezone.localtime(now)
    made = 0
    evening_at = conf.reminder_evening_at()
    if local.time() >= evening_at:
        evening_start = timezone.make_aware(dt.datetime.combine(local.date(), evening_at))
        tomorrow = _live().filter(date=local.date() + dt.timedelta(days=1), created_at__lt=evening_start)
        made += _remind(actor=actor, kind=MessageKind.REMINDER_EVENING, appointments=tomorrow[:BATCH])
    before = conf.reminder_before()
    soon = _live().filter(slot__starts_at__gt=now, slot__starts_at__lte=now + before).order_by("slot__starts_at")
    # Booked inside the window: the confirmation just told them.
    due = [a for a in soon[:BATCH] if a.created_at <= a.slot.starts_at - before]
    made += _remind(actor=actor, kind=MessageKind.REMINDER_HOUR, appointments=due)
    if made:
        logger.info("%d reminder(s) made", made)
    return made
