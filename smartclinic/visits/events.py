from __future__ import annotations

from dataclasses import dataclass
from uuid import UUID

from smartclinic.outbox.services import DomainEvent


@dataclass(frozen=True)
class VisitFinished(DomainEvent):
    """The doctor finished the visit: the record is closed and the patient's visit summary is
    ready (notifications tell them and invite the evaluation; interop exports the visit to the
    HIS as a FHIR R4 bundle). Ids only: consumers read the record through visits' selectors."""

    name = "visits.visit_finished"
    encounter_id: UUID
    ticket_id: UUID
    appointment_id: UUID
    member_id: UUID
    doctor_id: UUID


@dataclass(frozen=True)
class OrdersSent(DomainEvent):
    """The doctor's orders became billing's order ``order_id``: the patient can pay from the
    phone (notifications tell them)."""

    name = "visits.orders_sent"
    encounter_id: UUID
    member_id: UUID
    order_id: UUID
