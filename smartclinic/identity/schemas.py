from __future__ import annotations

import datetime as dt
from uuid import UUID

from ninja import Schema
from pydantic import Field, model_validator


class LoginIn(Schema):
    username: str = Field(min_length=1, max_length=150)
    password: str = Field(min_length=1, max_length=256)


class MemberOut(Schema):
    id: UUID
    number: str
    kind: str
    name: str
    college: str
    class_name: str
    status: str
    card_number_tail: str
    bound_at: dt.datetime | None


class UserOut(Schema):
    id: UUID
    username: str
    display_name: str
    roles: list[str]
    member: MemberOut | None


class LoginOut(Schema):
    token: str
    expires_at: dt.datetime
    user: UserOut


class CardBindIn(Schema):
    member_number: str = Field(min_length=1, max_length=32)
    name: str = Field(min_length=1, max_length=100)
    card_number: str = Field(default="", max_length=32)
    national_id_last6: str = Field(default="", max_length=6)

    @model_validator(mode="after")
    def one_secret(self) -> CardBindIn:
        if not self.card_number.strip() and len(self.national_id_last6.strip()) != 6:
            raise ValueError("give card_number or the last 6 characters of the national ID")
        return self


class DependantIn(Schema):
    name: str = Field(min_length=1, max_length=100)
    relation: str = Field(pattern="^(spouse|child|parent|other)$")
    gender: str = Field(default="", pattern="^(male|female|other|)$")
    birth_date: dt.date | None = None
    phone: str = Field(default="", max_length=20)
    national_id: str = Field(default="", max_length=18)


class DependantOut(Schema):
    id: UUID
    name: str
    relation: str
    gender: str
    birth_date: dt.date | None


class StaffMemberOut(MemberOut):
    account_username: str | None
