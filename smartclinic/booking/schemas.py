from __future__ import annotations

import datetime as dt
from uuid import UUID

from ninja import Schema
from pydantic import Field


class DepartmentOut(Schema):
    id: UUID
    code: str
    name: str
    name_en: str
    description: str
    location: str
    opening_hours: str
    release_days_ahead: int
    release_time: dt.time


class SlotBrief(Schema):
    id: UUID
    starts_at: dt.datetime
    ends_at: dt.datetime


class DoctorOut(Schema):
    id: UUID
    name: str
    title: str
    title_display: str
    departments: list[str]
    specialties: list[str]
    biography: str
    photo_url: str
    room: str
    rating: float | None
    rating_count: int
    next_free_slot: SlotBrief | None


class SlotOut(Schema):
    id: UUID
    session_id: UUID
    starts_at: dt.datetime
    ends_at: dt.datetime
    department: str
    department_name: str
    doctor_id: UUID
    doctor_name: str
    doctor_title: str
    capacity: int
    remaining: int
    fee: int = Field(description="registration fee in fen")
    bookable: bool
    opens_at: dt.datetime
    closes_at: dt.datetime


class AppointmentIn(Schema):
    slot_id: UUID
    dependant_id: UUID | None = None


class RescheduleIn(Schema):
    slot_id: UUID


class AppointmentOut(Schema):
    id: UUID
    status: str
    source: str
    patient_name: str
    dependant_id: UUID | None
    department: str
    department_name: str
    doctor_name: str
    doctor_title: str
    slot_id: UUID
    date: dt.date
    starts_at: dt.datetime
    ends_at: dt.datetime
    fee: int
    location: str
    confirm_by: dt.datetime | None
    cancellable_until: dt.datetime
    cancel_reason: str
    rebook_offer: SlotBrief | None
    created_at: dt.datetime


class WaitlistIn(Schema):
    department: str = Field(min_length=1, max_length=40, description="department code or id")
    date: dt.date
    session_id: UUID | None = None
    dependant_id: UUID | None = None


class WaitlistOut(Schema):
    id: UUID
    status: str
    department: str
    date: dt.date
    session_id: UUID | None
    doctor_name: str | None
    position: int | None
    appointment_id: UUID | None
    created_at: dt.datetime


class BookingStatusOut(Schema):
    live_appointments: int
    max_live_appointments: int
    blocked_until: dt.datetime | None


class SuspendIn(Schema):
    reason: str = Field(min_length=1, max_length=200)


class SymptomOut(Schema):
    code: str
    label: str


class DepartmentRecommendation(Schema):
    code: str
    name: str
    score: float
    reasons: list[str]


class DoctorRecommendation(Schema):
    id: UUID
    name: str
    title: str
    department: str
    score: float
    reasons: list[str]
    next_free_slot: SlotBrief | None


class RecommendationOut(Schema):
    departments: list[DepartmentRecommendation]
    doctors: list[DoctorRecommendation]
    fallback: bool
