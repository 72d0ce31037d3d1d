from __future__ import annotations

from dataclasses import dataclass
from uuid import UUID

from smartclinic.outbox.services import DomainEvent


@dataclass(frozen=True)
class CardBound(DomainEvent):
    name = "identity.card_bound"
    member_id: UUID
    account_id: UUID


@dataclass(frozen=True)
class CardUnbound(DomainEvent):
    name = "identity.card_unbound"
    member_id: UUID
    account_id: UUID
    by_staff: bool


@dataclass(frozen=True)
class MemberDeactivated(DomainEvent):
    name = "identity.member_deactivated"
    member_id: UUID
    status: str
