from __future__ import annotations

import datetime as dt
from uuid import UUID

from ninja import Schema
from pydantic import Field

Score = Field(ge=1, le=5)


class EvaluationIn(Schema):
    overall: int = Score
    attitude: int = Score
    explanation: int = Score
    skill: int = Score
    waiting: int = Score
    environment: int = Score
    process: int = Score
    comment: str = Field(default="", max_length=1000)
    tags: list[str] = Field(default_factory=list, max_length=8)
    anonymous: bool = False
    complaint: bool = False


class EvaluationOut(Schema):
    id: UUID
    visit_id: UUID
    overall: int
    attitude: int
    explanation: int
    skill: int
    waiting: int
    environment: int
    process: int
    comment: str
    tags: list[str]
    anonymous: bool
    complaint: bool
    doctor_reply: str
    replied_at: dt.datetime | None
    created_at: dt.datetime


class ReplyIn(Schema):
    text: str = Field(min_length=1, max_length=1000)
