"""FHIR R4 resources built from plain facts (pure functions; see the package docstring)."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.utils import timezone
from fhir.resources.R4B.appointment import Appointment
from fhir.resources.R4B.chargeitem import ChargeItem
from fhir.resources.R4B.condition import Condition
from fhir.resources.R4B.encounter import Encounter
from fhir.resources.R4B.invoice import Invoice
from fhir.resources.R4B.observation import Observation
from fhir.resources.R4B.organization import Organization
from fhir.resources.R4B.patient import Patient
from fhir.resources.R4B.practitioner import Practitioner
from fhir.resources.R4B.resource import Resource

from smartclinic.interop.facts import (
    AppointmentFacts,
    DepartmentFacts,
    DiagnosisFacts,
    OrganizationFacts,
    PatientFacts,
    PaymentFacts,
    PractitionerFacts,
    VisitFacts,
    VitalsFacts,
)

FHIR_VERSION = "4.0"
MEDIA_TYPE = "application/fhir+json"

# Our identifier and code systems. URNs: they name, they do not resolve.
SYSTEM_MEMBER_NUMBER = "urn:smartclinic:member-number"
SYSTEM_DEPENDANT = "urn:smartclinic:dependant"
SYSTEM_DOCTOR = "urn:smartclinic:doctor"
SYSTEM_DOCTOR_TITLE = "urn:smartclinic:doctor-title"
SYSTEM_ORGANIZATION = "urn:smartclinic:organization"
SYSTEM_DEPARTMENT = "urn:smartclinic:department"
SYSTEM_APPOINTMENT = "urn:smartclinic:appointment"
SYSTEM_ENCOUNTER = "urn:smartclinic:encounter"
SYSTEM_DIAGNOSIS = "urn:smartclinic:encounter-diagnosis"
SYSTEM_OBSERVATION = "urn:smartclinic:observation"
SYSTEM_CHARGE = "urn:smartclinic:charge"
SYSTEM_ORDER = "urn:smartclinic:order"
SYSTEM_CHARGE_KIND = "urn:smartclinic:charge-kind"
SYSTEM_PRICE_ITEM = "urn:smartclinic:price-item"
SYSTEM_PAYMENT_METHOD = "urn:smartclinic:payment-method"
SYSTEM_EXPORT = "urn:smartclinic:his-export"
EXTENSION_PAYMENT_METHOD = "urn:smartclinic:fhir:extension:payment-method"

# Standard systems.
ICD10 = "http://hl7.org/fhir/sid/icd-10"
# 疾病分类与代码（国家临床版 2.0）: no published FHIR URI; ours until the HIS names one.
ICD10_CN_CLINICAL = "urn:smartclinic:icd-10-cn-clinical-2.0"
LOINC = "http://loinc.org"
UCUM = "http://unitsofmeasure.org"
ACT_CODE = "http://terminology.hl7.org/CodeSystem/v3-ActCode"
PARTICIPATION_TYPE = "http://terminology.hl7.org/CodeSystem/v3-ParticipationType"
OBSERVATION_CATEGORY = "http://terminology.hl7.org/CodeSystem/observation-category"
CONDITION_CLINICAL = "http://terminology.hl7.org/CodeSystem/condition-clinical"
CONDITION_VERIFICATION = "http://terminology.hl7.org/CodeSystem/condition-ver-status"
CONDITION_CATEGORY = "http://terminology.hl7.org/CodeSystem/condition-category"
ORGANIZATION_TYPE = "http://terminology.hl7.org/CodeSystem/organization-type"


@dataclass(frozen=True)
class DiagnosisSystems:
    """The code systems a diagnosis is coded in: WHO ICD-10 and the national clinical edition
    (its extension codes such as J06.900 are not WHO codes). Configurable per HIS."""

    icd10: str = ICD10
    clinical: str = ICD10_CN_CLINICAL


DEFAULT_DIAGNOSIS_SYSTEMS = DiagnosisSystems()

CURRENCY = "CNY"
_FEN_PER_YUAN_EXPONENT = -2

_GENDERS = {"male": "male", "female": "female", "other": "other"}

# booking.AppointmentStatus → FHIR AppointmentStatus (R4 value set appointmentstatus).
_APPOINTMENT_STATUS = {
    "booked": "booked",
    "paid": "booked",
    "completed": "fulfilled",
    "cancelled": "cancelled",
    "cancelled_by_clinic": "cancelled",
    "expired": "cancelled",
    "no_show": "noshow",
}

CHARGE_KINDS = {"registration": "挂号费", "visit": "诊疗费"}


@dataclass(frozen=True)
class VitalSign:
    loinc: str
    display: str
    unit: str  # UCUM code, also shown as the unit


TEMPERATURE = VitalSign("8310-5", "Body temperature", "Cel")
BLOOD_PRESSURE = VitalSign("85354-9", "Blood pressure panel with all children optional", "mm[Hg]")
SYSTOLIC = VitalSign("8480-6", "Systolic blood pressure", "mm[Hg]")
DIASTOLIC = VitalSign("8462-4", "Diastolic blood pressure", "mm[Hg]")
HEART_RATE = VitalSign("8867-4", "Heart rate", "/min")
BODY_WEIGHT = VitalSign("29463-7", "Body weight", "kg")


# --- values ------------------------------------------------------------------------------------


def fen_to_cny(fen: int) -> Decimal:
    """Integer fen (分) to yuan, exactly: 1999 → Decimal("19.99"), never through a float."""
    if isinstance(fen, bool) or not isinstance(fen, int):
        raise TypeError(f"an amount in fen must be an int, not {type(fen).__name__}")
    return Decimal(fen).scaleb(_FEN_PER_YUAN_EXPONENT)


def money(fen: int) -> dict[str, Any]:
    return {"value": fen_to_cny(fen), "currency": CURRENCY}


def fhir_datetime(value: dt.datetime) -> str:
    """An aware datetime as a FHIR dateTime/instant in the clinic's zone, to the second."""
    if timezone.is_naive(value):
        raise ValueError("FHIR date-times need a time zone; got a naive datetime")
    return timezone.localtime(value).isoformat(timespec="seconds")


def identifier(system: str, value: str) -> dict[str, str]:
    return {"system": system, "value": value}


def reference(ref: str, display: str | None = None) -> dict[str, str]:
    return {"reference": ref, **({"display": display} if display else {})}


def coding(system: str, code: str, display: str | None = None) -> dict[str, str]:
    return {"system": system, "code": code, **({"display": display} if display else {})}


def _id(resource_id: str | None) -> dict[str, str]:
    return {"id": resource_id} if resource_id else {}


def _department_concept(department: DepartmentFacts) -> dict[str, Any]:
    return {"coding": [coding(SYSTEM_DEPARTMENT, department.code, department.name)], "text": department.name}


# --- resources ---------------------------------------------------------------------------------


def patient_identifier(patient: PatientFacts) -> dict[str, str]:
    if patient.member_number:
        return identifier(SYSTEM_MEMBER_NUMBER, patient.member_number)
    return identifier(SYSTEM_DEPENDANT, str(patient.public_id))


def patient_resource(patient: PatientFacts, *, resource_id: str | None = None) -> Patient:
    data: dict[str, Any] = {
        "resourceType": "Patient",
        **_id(resource_id),
        "identifier": [patient_identifier(patient)],
        "active": True,
        # One text name: Chinese names do not split reliably into family/given (复姓 etc.).
        "name": [{"use": "official", "text": patient.name}],
        "gender": _GENDERS.get(patient.gender, "unknown"),
    }
    if patient.birth_date is not None:
        data["birthDate"] = patient.birth_date.isoformat()
    return Patient.model_validate(data)


def practitioner_resource(practitioner: PractitionerFacts, *, resource_id: str | None = None) -> Practitioner:
    data: dict[str, Any] = {
        "resourceType": "Practitioner",
        **_id(resource_id),
        "identifier": [identifier(SYSTEM_DOCTOR, str(practitioner.public_id))],
        "active": True,
        "name": [{"use": "official", "text": practitioner.name}],
    }
    if practitioner.title:
        data["qualification"] = [{"code": {"coding": [coding(SYSTEM_DOCTOR_TITLE, practitioner.title)]}}]
    return Practitioner.model_validate(data)


def organization_resource(organization: OrganizationFacts, *, resource_id: str | None = None) -> Organization:
    return Organization.model_validate(
        {
            "resourceType": "Organization",
            **_id(resource_id),
            "identifier": [identifier(SYSTEM_ORGANIZATION, organization.identifier)],
            "active": True,
            "type": [{"coding": [coding(ORGANIZATION_TYPE, "prov", "Healthcare Provider")]}],
            "name": organization.name,
        }
    )


def appointment_resource(
    appointment: AppointmentFacts, *, patient_ref: str, practitioner_ref: str, resource_id: str | None = None
) -> Appointment:
    data: dict[str, Any] = {
        "resourceType": "Appointment",
        **_id(resource_id),
        "identifier": [identifier(SYSTEM_APPOINTMENT, str(appointment.public_id))],
        "status": _APPOINTMENT_STATUS.get(appointment.status, "booked"),
        "serviceType": [_department_concept(appointment.department)],
        "start": fhir_datetime(appointment.start),
        "end": fhir_datetime(appointment.end),
        "participant": [
            {"actor": reference(patient_ref), "required": "required", "status": "accepted"},
            {"actor": reference(practitioner_ref), "required": "required", "status": "accepted"},
        ],
    }
    if appointment.created is not None:
        data["created"] = fhir_datetime(appointment.created)
    return Appointment.model_validate(data)


def diagnosis_codings(diagnosis: DiagnosisFacts, *, systems: DiagnosisSystems) -> list[dict[str, str]]:
    codings = [coding(systems.icd10, diagnosis.icd10_code, diagnosis.name_zh)]
    if diagnosis.clinical_code:
        codings.append(coding(systems.clinical, diagnosis.clinical_code, diagnosis.name_zh))
    return codings


def condition_identifier(*, encounter_id: uuid.UUID, diagnosis: DiagnosisFacts) -> dict[str, str]:
    return identifier(SYSTEM_DIAGNOSIS, f"{encounter_id}:{diagnosis.icd10_code}")


def condition_resource(
    diagnosis: DiagnosisFacts,
    *,
    encounter_id: uuid.UUID,
    recorded_at: dt.datetime,
    patient_ref: str,
    encounter_ref: str | None,
    practitioner_ref: str,
    systems: DiagnosisSystems = DEFAULT_DIAGNOSIS_SYSTEMS,
    resource_id: str | None = None,
) -> Condition:
    """An encounter diagnosis, coded in ICD-10 with the Chinese name as the display."""
    data: dict[str, Any] = {
        "resourceType": "Condition",
        **_id(resource_id),
        "identifier": [condition_identifier(encounter_id=encounter_id, diagnosis=diagnosis)],
        "clinicalStatus": {"coding": [coding(CONDITION_CLINICAL, "active")]},
        "verificationStatus": {"coding": [coding(CONDITION_VERIFICATION, "confirmed")]},
        "category": [{"coding": [coding(CONDITION_CATEGORY, "encounter-diagnosis", "Encounter Diagnosis")]}],
        "code": {"coding": diagnosis_codings(diagnosis, systems=systems), "text": diagnosis.name_zh},
        "subject": reference(patient_ref),
        "recordedDate": fhir_datetime(recorded_at),
        "recorder": reference(practitioner_ref),
    }
    if encounter_ref:
        data["encounter"] = reference(encounter_ref)
    return Condition.model_validate(data)


def encounter_resource(
    visit: VisitFacts,
    *,
    patient_ref: str,
    practitioner_ref: str,
    organization_ref: str | None,
    appointment_ref: str | None,
    condition_refs: Iterable[tuple[str, int]] = (),
    resource_id: str | None = None,
    contained: Iterable[Resource] = (),
) -> Encounter:
    """An ambulatory encounter: class AMB, its period, the complaint as reason, the diagnoses."""
    period = {"start": fhir_datetime(visit.started_at)}
    if visit.finished_at is not None:
        period["end"] = fhir_datetime(visit.finished_at)
    data: dict[str, Any] = {
        "resourceType": "Encounter",
        **_id(resource_id),
        "identifier": [identifier(SYSTEM_ENCOUNTER, str(visit.encounter_id))],
        "status": "finished" if visit.finished_at is not None else "in-progress",
        "class": coding(ACT_CODE, "AMB", "ambulatory"),
        "serviceType": _department_concept(visit.department),
        "subject": reference(patient_ref),
        "participant": [
            {
                "type": [{"coding": [coding(PARTICIPATION_TYPE, "PPRF", "primary performer")]}],
                "individual": reference(practitioner_ref, visit.practitioner.name),
            }
        ],
        "period": period,
    }
    contained_list = list(contained)
    if contained_list:
        data["contained"] = contained_list
    if appointment_ref:
        data["appointment"] = [reference(appointment_ref)]
    if visit.chief_complaint:
        data["reasonCode"] = [{"text": visit.chief_complaint}]
    diagnoses = [{"condition": reference(ref), "rank": rank} for ref, rank in condition_refs]
    if diagnoses:
        data["diagnosis"] = diagnoses
    if organization_ref:
        data["serviceProvider"] = reference(organization_ref)
    return Encounter.model_validate(data)


def _quantity(value: Decimal | int, sign: VitalSign) -> dict[str, Any]:
    return {"value": Decimal(value), "unit": sign.unit, "system": UCUM, "code": sign.unit}


def _vital_concept(sign: VitalSign) -> dict[str, Any]:
    return {"coding": [coding(LOINC, sign.loinc, sign.display)], "text": sign.display}


def vital_sign_observations(
    vitals: VitalsFacts, *, encounter_id: uuid.UUID, patient_ref: str, encounter_ref: str
) -> list[Observation]:
    """One Observation per measured vital sign (LOINC codes, UCUM units, category vital-signs);
    blood pressure is the 85354-9 panel with systolic and diastolic components."""
    return [
        observation
        for observation, _ in vital_sign_entries(
            vitals, encounter_id=encounter_id, patient_ref=patient_ref, encounter_ref=encounter_ref
        )
    ]


def vital_sign_entries(
    vitals: VitalsFacts, *, encounter_id: uuid.UUID, patient_ref: str, encounter_ref: str
) -> list[tuple[Observation, dict[str, str]]]:
    def observation(sign: VitalSign, **value: Any) -> tuple[Observation, dict[str, str]]:
        ident = identifier(SYSTEM_OBSERVATION, f"{encounter_id}:{sign.loinc}")
        resource = Observation.model_validate(
            {
                "resourceType": "Observation",
                "identifier": [ident],
                "status": "final",
                "category": [{"coding": [coding(OBSERVATION_CATEGORY, "vital-signs", "Vital Signs")]}],
                "code": _vital_concept(sign),
                "subject": reference(patient_ref),
                "encounter": reference(encounter_ref),
                "effectiveDateTime": fhir_datetime(vitals.measured_at),
                **value,
            }
        )
        return resource, ident

    observations = []
    if vitals.temperature_c is not None:
        observations.append(observation(TEMPERATURE, valueQuantity=_quantity(vitals.temperature_c, TEMPERATURE)))
    components = [
        {"code": _vital_concept(sign), "valueQuantity": _quantity(value, sign)}
        for sign, value in ((SYSTOLIC, vitals.systolic_mmhg), (DIASTOLIC, vitals.diastolic_mmhg))
        if value is not None
    ]
    if components:
        observations.append(observation(BLOOD_PRESSURE, component=components))
    if vitals.pulse_bpm is not None:
        observations.append(observation(HEART_RATE, valueQuantity=_quantity(vitals.pulse_bpm, HEART_RATE)))
    if vitals.weight_kg is not None:
        observations.append(observation(BODY_WEIGHT, valueQuantity=_quantity(vitals.weight_kg, BODY_WEIGHT)))
    return observations


def _charge_kind(kind: str) -> dict[str, Any]:
    display = CHARGE_KINDS.get(kind)
    return {"coding": [coding(SYSTEM_CHARGE_KIND, kind, display)], "text": display or kind}


@dataclass(frozen=True)
class Charge:
    """One charged item of an order: a line of a visit order, or the whole order of its kind."""

    identifier_value: str
    sequence: int
    code: dict[str, Any]
    quantity: int
    amount_fen: int


def charges_of(payment: PaymentFacts) -> list[Charge]:
    if not payment.lines:
        return [
            Charge(
                identifier_value=str(payment.order_id),
                sequence=1,
                code=_charge_kind(payment.kind),
                quantity=1,
                amount_fen=payment.list_amount_fen or payment.amount_fen,
            )
        ]
    return [
        Charge(
            identifier_value=f"{payment.order_id}:{line.position}",
            sequence=line.position,
            code={"coding": [coding(SYSTEM_PRICE_ITEM, line.code, line.name)], "text": line.name},
            quantity=line.quantity,
            amount_fen=line.amount_fen,
        )
        for line in payment.lines
    ]


def charge_item_resource(
    charge: Charge, *, payment: PaymentFacts, patient_ref: str, organization_ref: str, appointment_ref: str | None
) -> ChargeItem:
    """What was charged (status ``billed``): the registration fee, or one line of the visit's
    orders, for this patient."""
    data: dict[str, Any] = {
        "resourceType": "ChargeItem",
        "identifier": [identifier(SYSTEM_CHARGE, charge.identifier_value)],
        "status": "billed",
        "code": charge.code,
        "subject": reference(patient_ref),
        "occurrenceDateTime": fhir_datetime(payment.paid_at),
        "performingOrganization": reference(organization_ref),
        "quantity": {"value": charge.quantity},
        "enteredDate": fhir_datetime(payment.paid_at),
    }
    if appointment_ref:
        data["supportingInformation"] = [reference(appointment_ref)]
    return ChargeItem.model_validate(data)


def invoice_resource(
    payment: PaymentFacts, *, patient_ref: str, organization_ref: str, charges: list[tuple[Charge, str]]
) -> Invoice:
    """The paid order as an Invoice in status ``balanced`` (R4: "completely paid"): a line per
    ChargeItem at its list price, a fee-category discount as a negative ``discount`` total
    component, and ``totalNet`` = ``totalGross`` = what was paid (no tax). CNY, exact from fen."""
    data: dict[str, Any] = {
        "resourceType": "Invoice",
        "identifier": [identifier(SYSTEM_ORDER, str(payment.order_id))],
        "status": "balanced",
        "type": _charge_kind(payment.kind),
        "subject": reference(patient_ref),
        "date": fhir_datetime(payment.paid_at),
        "issuer": reference(organization_ref),
        "lineItem": [
            {
                "sequence": charge.sequence,
                "chargeItemReference": reference(ref),
                "priceComponent": [{"type": "base", "amount": money(charge.amount_fen)}],
            }
            for charge, ref in charges
        ],
        "totalNet": money(payment.amount_fen),
        "totalGross": money(payment.amount_fen),
        "paymentTerms": f"Paid in full ({payment.method}).",
        "extension": [{"url": EXTENSION_PAYMENT_METHOD, "valueCoding": coding(SYSTEM_PAYMENT_METHOD, payment.method)}],
    }
    if payment.discount_fen:
        data["totalPriceComponent"] = [
            {"type": "base", "amount": money(payment.amount_fen + payment.discount_fen)},
            {"type": "discount", "amount": money(-payment.discount_fen)},
        ]
    return Invoice.model_validate(data)
