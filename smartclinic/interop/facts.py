"""Plain, typed facts the FHIR builders work from.

``sources.py`` reads them from the other contexts' rows; ``fhir.py`` turns them into resources.
Keeping the two apart makes the builders pure (no database, no clock, no settings) and lets the
tests build any shape of record without the other apps' models.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from uuid import UUID


@dataclass(frozen=True)
class OrganizationFacts:
    """The clinic itself, as the HIS knows it (``HIS_ORGANIZATION_ID`` / ``_NAME``)."""

    identifier: str
    name: str


@dataclass(frozen=True)
class PatientFacts:
    """Only what the HIS needs to file a record: an identifier, the name, gender and birth date.

    ``member_number`` is set for a campus member (student or staff); a staff member's dependant
    has no campus number and is identified by our public id instead. National ID, phone,
    college, class and dormitory are deliberately left out (data minimisation; see ADR 0004)."""

    public_id: UUID
    name: str
    gender: str  # our Gender code or "" (unknown)
    birth_date: dt.date | None
    member_number: str | None = None


@dataclass(frozen=True)
class PractitionerFacts:
    public_id: UUID
    name: str
    title: str = ""  # our DoctorTitle code


@dataclass(frozen=True)
class DepartmentFacts:
    code: str
    name: str


@dataclass(frozen=True)
class AppointmentFacts:
    public_id: UUID
    status: str  # our AppointmentStatus code
    start: dt.datetime
    end: dt.datetime
    created: dt.datetime | None
    department: DepartmentFacts
    practitioner: PractitionerFacts


@dataclass(frozen=True)
class DiagnosisFacts:
    icd10_code: str
    name_zh: str
    rank: int = 1
    clinical_code: str = ""  # the national clinical edition's code (国家临床版 2.0), when known


@dataclass(frozen=True)
class VitalsFacts:
    """One set of vital signs; any of them may be missing."""

    measured_at: dt.datetime
    temperature_c: Decimal | None = None
    systolic_mmhg: int | None = None
    diastolic_mmhg: int | None = None
    pulse_bpm: int | None = None
    weight_kg: Decimal | None = None

    @property
    def is_empty(self) -> bool:
        values = (self.temperature_c, self.systolic_mmhg, self.diastolic_mmhg, self.pulse_bpm, self.weight_kg)
        return all(value is None for value in values)


@dataclass(frozen=True)
class VisitFacts:
    """A finished visit (encounter) at the doctor's station."""

    encounter_id: UUID
    patient: PatientFacts
    practitioner: PractitionerFacts
    department: DepartmentFacts
    started_at: dt.datetime
    finished_at: dt.datetime | None
    chief_complaint: str = ""
    diagnoses: tuple[DiagnosisFacts, ...] = ()
    vitals: VitalsFacts | None = None
    appointment: AppointmentFacts | None = None


@dataclass(frozen=True)
class ChargeLineFacts:
    """One line of a visit order (a test, a medicine, a procedure), amount in fen."""

    position: int
    code: str
    name: str
    quantity: int
    amount_fen: int


@dataclass(frozen=True)
class PaymentFacts:
    """A paid order: a registration fee (挂号费) or a visit's orders (诊疗费用). Amounts in fen."""

    order_id: UUID
    kind: str  # "registration" | "visit"
    method: str  # billing's payment method code, e.g. "campus_card", "wechat", "cashier"
    amount_fen: int
    paid_at: dt.datetime
    patient: PatientFacts
    appointment: AppointmentFacts | None = None
    # The price before any fee-category discount, and the order's lines; without lines the
    # whole order is one charge of its kind.
    list_amount_fen: int | None = None
    lines: tuple[ChargeLineFacts, ...] = ()

    @property
    def discount_fen(self) -> int:
        return (self.list_amount_fen or self.amount_fen) - self.amount_fen
