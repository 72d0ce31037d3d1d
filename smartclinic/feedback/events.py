from __future__ import annotations

from dataclasses import dataclass
from uuid import UUID

from smartclinic.outbox.services import DomainEvent


@dataclass(frozen=True)
class EvaluationSubmitted(DomainEvent):
    name = "feedback.evaluation_submitted"
    evaluation_id: UUID
    encounter_id: UUID
    doctor_id: UUID
    overall: int


@dataclass(frozen=True)
class ComplaintOpened(DomainEvent):
    name = "feedback.complaint_opened"
    case_id: UUID
    evaluation_id: UUID
    reason: str
