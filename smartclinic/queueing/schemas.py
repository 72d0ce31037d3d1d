from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Literal
from uuid import UUID

from ninja import Schema
from pydantic import Field

PriorityName = Literal["normal", "disability", "urgent"]


class TicketOut(Schema):
    """The patient's view of their ticket."""

    id: UUID
    appointment_id: UUID
    code: str = Field(description="the queue number as people read it, e.g. NK-012")
    number: int
    date: dt.date
    status: str
    status_display: str
    ahead: int = Field(description="checked-in patients who will be called first")
    eta_minutes: int | None = Field(description="estimated wait from the doctor's recent pace; null once called")
    doctor: str
    department: str
    room: str
    called: bool
    check_in_code: str = Field(description="signed code for the nurse to scan (shown as a QR code)")


class QueueTicketOut(Schema):
    """A ticket as the stations see it."""

    id: UUID
    appointment_id: UUID
    code: str
    number: int
    status: str
    priority: PriorityName
    priority_reason: str
    late: bool
    walk_in: bool
    patient_name: str
    member_number: str
    doctor_id: UUID
    room: str
    checked_in_at: dt.datetime | None
    called_at: dt.datetime | None
    call_count: int


class CheckInIn(Schema):
    """One of: ``ticket_id`` (nurse), ``ticket_code`` (nurse scanning the patient's QR code),
    ``clinic_code`` (the patient scanned the clinic's code; ``ticket_id`` picks one of theirs)."""

    ticket_id: UUID | None = None
    ticket_code: str | None = Field(default=None, max_length=300)
    clinic_code: str | None = Field(default=None, max_length=300)


class CheckInOut(Schema):
    tickets: list[TicketOut]


class TransferIn(Schema):
    doctor_id: UUID


class PriorityIn(Schema):
    priority: PriorityName
    reason: str = Field(default="", max_length=200)


class VitalsIn(Schema):
    temperature_c: Decimal | None = Field(default=None, max_digits=4, decimal_places=1)
    systolic_mmhg: int | None = Field(default=None, ge=0, le=1000)
    diastolic_mmhg: int | None = Field(default=None, ge=0, le=1000)
    pulse_bpm: int | None = Field(default=None, ge=0, le=1000)
    weight_kg: Decimal | None = Field(default=None, max_digits=5, decimal_places=1)


class VitalsOut(Schema):
    id: UUID
    ticket_id: UUID
    temperature_c: Decimal | None
    systolic_mmhg: int | None
    diastolic_mmhg: int | None
    pulse_bpm: int | None
    weight_kg: Decimal | None
    measured_at: dt.datetime


class WalkInIn(Schema):
    session_id: UUID
    member_number: str = Field(min_length=1, max_length=32, description="member number or card number")
    dependant_id: UUID | None = None


class WalkInOut(Schema):
    appointment_id: UUID
    status: str
    fee: int = Field(description="registration fee in fen, to be paid at the cashier")
    session_id: UUID
    doctor: str
    department: str
