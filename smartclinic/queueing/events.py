from __future__ import annotations

from dataclasses import dataclass
from uuid import UUID

from smartclinic.outbox.services import DomainEvent


@dataclass(frozen=True)
class TicketIssued(DomainEvent):
    name = "queueing.ticket_issued"
    ticket_id: UUID
    appointment_id: UUID
    member_id: UUID
    code: str


@dataclass(frozen=True)
class TurnNear(DomainEvent):
    """The patient has ``ahead`` people before them (3 by default): time to come to the door."""

    name = "queueing.turn_near"
    ticket_id: UUID
    member_id: UUID
    ahead: int


@dataclass(frozen=True)
class TicketCalled(DomainEvent):
    name = "queueing.ticket_called"
    ticket_id: UUID
    member_id: UUID
    room: str
