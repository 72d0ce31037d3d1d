"""Plain dicts of what the API and the pages show, so both say the same thing. Three views of
a visit: the doctor's full record, the patient's summary (no history, no doctor's notes), and
the day list's row (codes and statuses, no clinical free text)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from smartclinic.identity.models import Dependant, Member
from smartclinic.queueing.models import Vitals
from smartclinic.visits.choices import EncounterStatus, PriceItemKind
from smartclinic.visits.models import ClinicalOrder, Encounter, EncounterDiagnosis, Icd10Code, PriceItem

VITAL_FIELDS = ("temperature_c", "systolic_mmhg", "diastolic_mmhg", "pulse_bpm", "weight_kg")


def yuan(fen: int) -> str:
    """Integer fen as a price: 1580 → "¥15.80"."""
    return f"¥{fen // 100}.{fen % 100:02d}"


def age_on(birth_date: dt.date | None, day: dt.date) -> int | None:
    if birth_date is None:
        return None
    return day.year - birth_date.year - ((day.month, day.day) < (birth_date.month, birth_date.day))


def patient_out(*, member: Member, dependant: Dependant | None, day: dt.date) -> dict[str, Any]:
    person: Member | Dependant = dependant if dependant is not None else member
    return {
        "name": person.name,
        "gender": person.gender,
        "gender_display": str(person.get_gender_display()) if person.gender else "",
        "age": age_on(person.birth_date, day),
        "member_number": member.number,
        "member_kind": member.kind,
        "member_kind_display": str(member.get_kind_display()),
        "college": member.college,
        "is_dependant": dependant is not None,
        "relation_display": str(dependant.get_relation_display()) if dependant is not None else "",
    }


def icd10_out(code: Icd10Code) -> dict[str, Any]:
    return {
        "code": code.code,
        "clinical_code": code.clinical_code,
        "name_zh": code.name_zh,
        "name_en": code.name_en,
        "chapter": code.chapter,
        "common": code.common,
    }


def price_item_out(item: PriceItem) -> dict[str, Any]:
    return {
        "code": item.code,
        "name": item.name,
        "name_en": item.name_en,
        "kind": item.kind,
        "kind_display": str(PriceItemKind(item.kind).label),
        "specification": item.specification,
        "unit": item.unit,
        "unit_price": item.unit_price,
        "unit_price_display": yuan(item.unit_price),
    }


def diagnosis_out(diagnosis: EncounterDiagnosis) -> dict[str, Any]:
    return {**icd10_out(diagnosis.code), "primary": diagnosis.primary}


def order_line_out(line: ClinicalOrder) -> dict[str, Any]:
    return {
        "id": line.public_id,
        "code": line.code,
        "name": line.name,
        "kind": line.kind,
        "kind_display": str(PriceItemKind(line.kind).label),
        "unit": line.unit,
        "unit_price": line.unit_price,
        "quantity": line.quantity,
        "amount": line.amount,
        "amount_display": yuan(line.amount),
        "billing_order_id": line.billing_order_id,
        "sent": line.billing_order_id is not None,
        "sent_at": line.sent_at,
    }


def vitals_out(source: Vitals | dict[str, Any] | None) -> dict[str, Any] | None:
    """The latest measurement (a ``Vitals`` row while the visit is open, the snapshot after)."""
    if not source:
        return None
    if isinstance(source, dict):
        values = {name: source.get(name) for name in VITAL_FIELDS}
        measured = source.get("measured_at")
        measured_at = dt.datetime.fromisoformat(measured) if isinstance(measured, str) else None
    else:
        values = {name: getattr(source, name) for name in VITAL_FIELDS}
        measured_at = source.created_at
    values = {
        name: (str(value) if name in ("temperature_c", "weight_kg") and value is not None else value)
        for name, value in values.items()
    }
    return {**values, "measured_at": measured_at}


def _orders(encounter: Encounter) -> tuple[list[dict[str, Any]], int]:
    lines = [order_line_out(line) for line in encounter.orders.all()]
    return lines, sum(line["amount"] for line in lines)


def _common(encounter: Encounter) -> dict[str, Any]:
    lines, total = _orders(encounter)
    return {
        "id": encounter.public_id,
        "date": encounter.date,
        "status": encounter.status,
        "status_display": str(EncounterStatus(encounter.status).label),
        "department": encounter.department.code,
        "department_name": encounter.department.name,
        "doctor_name": encounter.doctor.name,
        "doctor_title": str(encounter.doctor.get_title_display()),
        "started_at": encounter.started_at,
        "finished_at": encounter.finished_at,
        "patient": patient_out(member=encounter.member, dependant=encounter.dependant, day=encounter.date),
        "diagnoses": [diagnosis_out(d) for d in encounter.diagnoses.all()],
        "orders": lines,
        "orders_total": total,
        "orders_total_display": yuan(total),
    }


def encounter_out(encounter: Encounter, *, latest_vitals: Vitals | None = None) -> dict[str, Any]:
    """The doctor's full record."""
    vitals = encounter.vitals if encounter.status == EncounterStatus.CLOSED else latest_vitals
    return {
        **_common(encounter),
        "ticket_id": encounter.ticket.public_id,
        "ticket_code": encounter.ticket.code,
        "appointment_id": encounter.appointment.public_id,
        "chief_complaint": encounter.chief_complaint,
        "history": encounter.history,
        "notes": encounter.notes,
        "advice": encounter.advice,
        "vitals": vitals_out(vitals),
        "has_unsent_orders": any(not line.is_sent for line in encounter.orders.all()),
    }


def visit_summary_out(encounter: Encounter) -> dict[str, Any]:
    """What the patient reads: the complaint, the diagnoses, the doctor's advice, the vitals and
    the orders to pay. The history and the doctor's working notes stay at the clinic."""
    return {
        **_common(encounter),
        "chief_complaint": encounter.chief_complaint,
        "advice": encounter.advice,
        "vitals": vitals_out(encounter.vitals),
        "billing_order_ids": sorted({str(line.billing_order_id) for line in encounter.orders.all() if line.is_sent}),
    }


def visit_log_row(encounter: Encounter) -> dict[str, Any]:
    """One line of the clinic's day list (门诊日志): who, when, which codes; no free text."""
    common = _common(encounter)
    return {
        **{
            key: common[key]
            for key in (
                "id",
                "date",
                "status",
                "status_display",
                "department",
                "department_name",
                "doctor_name",
                "started_at",
                "finished_at",
                "patient",
                "diagnoses",
                "orders_total",
                "orders_total_display",
            )
        },
        "ticket_code": encounter.ticket.code,
        "order_count": len(common["orders"]),
    }
