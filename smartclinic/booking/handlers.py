"""Booking's reactions to other contexts' events (delivered by the outbox worker)."""

from __future__ import annotations

from typing import Any

from smartclinic.booking.choices import LIVE_STATUSES, AppointmentStatus, CancelReason
from smartclinic.booking.models import Appointment
from smartclinic.booking.services import appointment_cancel
from smartclinic.booking.waitlist import waitlist_close_for_member
from smartclinic.core.actor import Actor
from smartclinic.outbox.registry import handles


@handles("identity.member_deactivated")
def cancel_appointments_of_deactivated_member(payload: dict[str, Any]) -> None:
    """A member who graduated, left or was suspended keeps no live appointment and no place in line."""
    actor = Actor.system(reason="member_deactivated")
    waitlist_close_for_member(actor=actor, member_public_id=payload["member_id"])
    live = Appointment.objects.filter(member__public_id=payload["member_id"], status__in=LIVE_STATUSES).select_related(
        "member"
    )
    for appointment in live:
        appointment_cancel(
            actor=actor,
            appointment=appointment,
            reason=CancelReason.MEMBER_DEACTIVATED,
            status=AppointmentStatus.CANCELLED,
            enforce_deadline=False,
        )
