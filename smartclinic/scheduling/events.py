from __future__ import annotations

from dataclasses import dataclass
from uuid import UUID

from smartclinic.outbox.services import DomainEvent


@dataclass(frozen=True)
class SessionSuspended(DomainEvent):
    name = "scheduling.session_suspended"
    session_id: UUID
