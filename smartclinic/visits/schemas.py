from __future__ import annotations

import datetime as dt
from uuid import UUID

from ninja import Schema
from pydantic import Field

from smartclinic.visits.choices import MAX_DIAGNOSES, MAX_ORDER_QUANTITY, TEXT_LIMITS


class Icd10Out(Schema):
    code: str = Field(description="ICD-10 code (WHO / GB/T 14396), e.g. J06.9")
    clinical_code: str = Field(description="国家临床版 2.0 main code, e.g. J06.900")
    name_zh: str
    name_en: str
    chapter: str
    common: bool


class PriceItemOut(Schema):
    code: str
    name: str
    name_en: str
    kind: str
    kind_display: str
    specification: str
    unit: str
    unit_price: int = Field(description="fen")


class PatientOut(Schema):
    name: str
    gender: str
    age: int | None
    member_number: str
    member_kind: str
    college: str
    is_dependant: bool


class DiagnosisIn(Schema):
    code: str = Field(max_length=20, description="ICD-10 code of the clinic's table (J06.9 or J06.900)")
    primary: bool = False


class DiagnosisOut(Schema):
    code: str
    clinical_code: str
    name_zh: str
    name_en: str
    primary: bool


class VitalsOut(Schema):
    temperature_c: str | None
    systolic_mmhg: int | None
    diastolic_mmhg: int | None
    pulse_bpm: int | None
    weight_kg: str | None
    measured_at: dt.datetime | None


class OrderLineOut(Schema):
    id: UUID
    code: str
    name: str
    kind: str
    unit: str
    unit_price: int = Field(description="fen")
    quantity: int
    amount: int = Field(description="fen")
    billing_order_id: UUID | None = Field(description="billing's order the patient pays (POST /orders/{id}/pay)")
    sent: bool


class OrderLineIn(Schema):
    item: str = Field(max_length=20, description="code of a price-list item, e.g. LAB-CBC")
    quantity: int = Field(1, ge=1, le=MAX_ORDER_QUANTITY)


class OrdersSentOut(Schema):
    billing_order_id: UUID | None
    orders: list[OrderLineOut]


class EncounterOut(Schema):
    id: UUID
    ticket_id: UUID
    ticket_code: str
    appointment_id: UUID
    status: str
    date: dt.date
    department: str
    department_name: str
    doctor_name: str
    started_at: dt.datetime
    finished_at: dt.datetime | None
    patient: PatientOut
    chief_complaint: str
    history: str
    notes: str
    advice: str
    vitals: VitalsOut | None
    diagnoses: list[DiagnosisOut]
    orders: list[OrderLineOut]
    orders_total: int = Field(description="fen")


class EncounterPatchIn(Schema):
    """Only the parts sent change; ``diagnoses`` replaces the whole list."""

    chief_complaint: str | None = Field(None, max_length=TEXT_LIMITS["chief_complaint"])
    history: str | None = Field(None, max_length=TEXT_LIMITS["history"])
    notes: str | None = Field(None, max_length=TEXT_LIMITS["notes"])
    advice: str | None = Field(None, max_length=TEXT_LIMITS["advice"])
    diagnoses: list[DiagnosisIn] | None = Field(None, max_length=MAX_DIAGNOSES)


class VisitSummaryOut(Schema):
    id: UUID
    date: dt.date
    status: str
    department: str
    department_name: str
    doctor_name: str
    doctor_title: str
    started_at: dt.datetime
    finished_at: dt.datetime | None
    patient: PatientOut
    chief_complaint: str
    advice: str
    vitals: VitalsOut | None
    diagnoses: list[DiagnosisOut]
    orders: list[OrderLineOut]
    orders_total: int = Field(description="fen")
    billing_order_ids: list[UUID]


class VisitLogRowOut(Schema):
    id: UUID
    date: dt.date
    ticket_code: str
    status: str
    department: str
    department_name: str
    doctor_name: str
    started_at: dt.datetime
    finished_at: dt.datetime | None
    patient: PatientOut
    diagnoses: list[DiagnosisOut]
    order_count: int
    orders_total: int = Field(description="fen")
