from __future__ import annotations

from dataclasses import dataclass
from uuid import UUID

from smartclinic.outbox.services import DomainEvent


@dataclass(frozen=True)
class AppointmentBooked(DomainEvent):
    name = "booking.appointment_booked"
    appointment_id: UUID
    member_id: UUID
    source: str


@dataclass(frozen=True)
class AppointmentCancelled(DomainEvent):
    name = "booking.appointment_cancelled"
    appointment_id: UUID
    member_id: UUID
    reason: str
    was_paid: bool
    by_clinic: bool
    rebook_slot_id: UUID | None = None


@dataclass(frozen=True)
class AppointmentRescheduled(DomainEvent):
    name = "booking.appointment_rescheduled"
    old_appointment_id: UUID
    new_appointment_id: UUID
    member_id: UUID


@dataclass(frozen=True)
class WaitlistOffered(DomainEvent):
    name = "booking.waitlist_offered"
    entry_id: UUID
    appointment_id: UUID
    member_id: UUID
    confirm_by: str


@dataclass(frozen=True)
class NoShowRecorded(DomainEvent):
    name = "booking.no_show_recorded"
    appointment_id: UUID
    member_id: UUID


@dataclass(frozen=True)
class BookingBlockedEvent(DomainEvent):
    name = "booking.booking_blocked"
    member_id: UUID
    person_key: str
    until: str
