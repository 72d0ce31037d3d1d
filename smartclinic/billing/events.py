from __future__ import annotations

from dataclasses import dataclass
from uuid import UUID

from smartclinic.outbox.services import DomainEvent


@dataclass(frozen=True)
class OrderPaid(DomainEvent):
    """Published once per order, in the transaction that applied its payment. Queueing issues the
    ticket from it (registration orders)."""

    name = "billing.order_paid"
    order_id: UUID
    appointment_id: UUID | None
    member_id: UUID
    kind: str
    method: str
    amount: int


@dataclass(frozen=True)
class RefundRequested(DomainEvent):
    name = "billing.refund_requested"
    refund_id: UUID
    order_id: UUID
    member_id: UUID
    method: str
    amount: int
    reason: str


@dataclass(frozen=True)
class RefundSucceeded(DomainEvent):
    name = "billing.refund_succeeded"
    refund_id: UUID
    order_id: UUID
    member_id: UUID
    method: str
    amount: int


@dataclass(frozen=True)
class CardToppedUp(DomainEvent):
    name = "billing.card_topped_up"
    member_id: UUID
    amount: int
    balance: int
