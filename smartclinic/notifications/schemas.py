from __future__ import annotations

import datetime as dt
from uuid import UUID

from ninja import Schema
from pydantic import Field, model_validator


class MessageOut(Schema):
    id: UUID
    kind: str
    title: str
    body: str
    link: str
    language: str
    created_at: dt.datetime
    read_at: dt.datetime | None


class MessageListOut(Schema):
    count: int
    unread: int
    items: list[MessageOut]


class UnreadCountOut(Schema):
    unread: int


class MarkedOut(Schema):
    marked: int


class PreferenceOut(Schema):
    language: str
    channels: list[str]
    wechat: bool
    email: bool
    sms: bool
    quiet_start: dt.time | None
    quiet_end: dt.time | None
    wechat_bound: bool
    email_address: bool


class PreferenceIn(Schema):
    language: str = Field(pattern="^(zh-hans|en)$")
    wechat: bool = True
    email: bool = True
    sms: bool = False
    quiet_start: dt.time | None = None
    quiet_end: dt.time | None = None

    @model_validator(mode="after")
    def quiet_hours_both_or_neither(self) -> PreferenceIn:
        if (self.quiet_start is None) != (self.quiet_end is None):
            raise ValueError("give both quiet_start and quiet_end, or neither")
        return self
