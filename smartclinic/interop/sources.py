"""Read the other contexts' rows into the plain facts the FHIR builders need.

interop reads everything and owns none of it. The billing and visits models were written at the
same time as this module, so their rows are read defensively: the models are imported inside the
functions, and optional fields are looked up by name with fallbacks to what identity, booking and
queueing already hold (see ADR 0004, "What interop reads"). A row that should exist and does not
raises ``SourceMissing``: the outbox retries the handler and, in the end, keeps the event as a
dead letter an admin can requeue, so nothing is dropped.
"""

from __future__ import annotations

import datetime as dt
import logging
from decimal import Decimal
from typing import Any
from uuid import UUID

from django.conf import settings
from django.utils import timezone

from smartclinic.booking.models import Appointment
from smartclinic.core import clock
from smartclinic.identity.models import Dependant, Member
from smartclinic.interop.facts import (
    AppointmentFacts,
    ChargeLineFacts,
    DepartmentFacts,
    DiagnosisFacts,
    OrganizationFacts,
    PatientFacts,
    PaymentFacts,
    PractitionerFacts,
    VisitFacts,
    VitalsFacts,
)
from smartclinic.interop.fhir import DiagnosisSystems
from smartclinic.queueing.models import Ticket, Vitals
from smartclinic.scheduling.models import Department, Doctor

logger = logging.getLogger(__name__)

_VITAL_FIELDS = ("temperature_c", "systolic_mmhg", "diastolic_mmhg", "pulse_bpm", "weight_kg")


class SourceMissing(LookupError):
    """A record the event names is not (or not yet) readable."""


def optional_uuid(value: Any) -> UUID | None:
    """Event payloads carry ids as strings; a missing one may arrive as None, "" or "None"."""
    if value is None or value in ("", "None", "null"):
        return None
    return value if isinstance(value, UUID) else UUID(str(value))


# --- identity, scheduling, booking -------------------------------------------------------------


def diagnosis_systems() -> DiagnosisSystems:
    return DiagnosisSystems(icd10=settings.HIS_ICD10_SYSTEM, clinical=settings.HIS_ICD10_CLINICAL_SYSTEM)


def organization_facts() -> OrganizationFacts:
    return OrganizationFacts(identifier=settings.HIS_ORGANIZATION_ID, name=settings.HIS_ORGANIZATION_NAME)


def member_patient_facts(member: Member) -> PatientFacts:
    return PatientFacts(
        public_id=member.public_id,
        name=member.name,
        gender=member.gender,
        birth_date=member.birth_date,
        member_number=member.number,
    )


def dependant_patient_facts(dependant: Dependant) -> PatientFacts:
    return PatientFacts(
        public_id=dependant.public_id, name=dependant.name, gender=dependant.gender, birth_date=dependant.birth_date
    )


def patient_facts_by_id(public_id: UUID) -> PatientFacts | None:
    """A campus member, or a staff member's dependant, by public id (the FHIR Patient id)."""
    member = Member.objects.filter(public_id=public_id).first()
    if member is not None:
        return member_patient_facts(member)
    dependant = Dependant.objects.filter(public_id=public_id).first()
    return dependant_patient_facts(dependant) if dependant is not None else None


def practitioner_facts(doctor: Doctor) -> PractitionerFacts:
    return PractitionerFacts(public_id=doctor.public_id, name=doctor.name, title=doctor.title)


def department_facts(department: Department) -> DepartmentFacts:
    return DepartmentFacts(code=department.code, name=department.name)


def appointment_facts(appointment: Appointment) -> AppointmentFacts:
    return AppointmentFacts(
        public_id=appointment.public_id,
        status=appointment.status,
        start=appointment.slot.starts_at,
        end=appointment.slot.ends_at,
        created=appointment.created_at,
        department=department_facts(appointment.department),
        practitioner=practitioner_facts(appointment.doctor),
    )


def _appointment(public_id: UUID) -> Appointment:
    appointment = (
        Appointment.objects.select_related("slot", "department", "doctor", "member", "dependant")
        .filter(public_id=public_id)
        .first()
    )
    if appointment is None:
        raise SourceMissing(f"appointment {public_id}")
    return appointment


# --- billing -----------------------------------------------------------------------------------


def _billing_order(public_id: UUID) -> Any | None:
    """billing's Order row, or None when billing has no such model (then the payload suffices)."""
    try:
        from smartclinic.billing.models import Order
    except ImportError:  # pragma: no cover - billing ships with its models
        return None
    order = Order.objects.filter(public_id=public_id).first()
    if order is None:
        raise SourceMissing(f"order {public_id}")
    return order


def _order_lines(order: Any) -> tuple[ChargeLineFacts, ...]:
    lines = getattr(order, "lines", None)
    if lines is None or not hasattr(lines, "all"):
        return ()
    return tuple(
        ChargeLineFacts(
            position=int(getattr(line, "position", index)),
            code=str(line.code),
            name=str(getattr(line, "name", "") or line.code),
            quantity=int(getattr(line, "quantity", 1)),
            amount_fen=int(line.amount),
        )
        for index, line in enumerate(lines.all(), start=1)
    )


def payment_facts(payload: dict[str, Any]) -> PaymentFacts:
    """From ``billing.order_paid``: ``order_id, appointment_id (or None), member_id, kind,
    method, amount`` (fen), enriched with the order's payment time, its dependant and its lines."""
    order_id = UUID(str(payload["order_id"]))
    order = _billing_order(order_id)
    member = Member.objects.filter(public_id=payload["member_id"]).first()
    if member is None:
        raise SourceMissing(f"member {payload['member_id']}")
    appointment_id = optional_uuid(payload.get("appointment_id"))
    appointment = _appointment(appointment_id) if appointment_id else None
    dependant = getattr(order, "dependant", None) or (appointment.dependant if appointment else None)
    paid_at = getattr(order, "paid_at", None) or clock.now()
    amount = int(payload["amount"])
    list_amount = int(getattr(order, "list_amount", amount) or amount)
    return PaymentFacts(
        order_id=order_id,
        kind=str(payload["kind"]),
        method=str(payload["method"]),
        amount_fen=amount,
        list_amount_fen=list_amount,
        paid_at=paid_at,
        patient=dependant_patient_facts(dependant) if dependant else member_patient_facts(member),
        appointment=appointment_facts(appointment) if appointment else None,
        lines=_order_lines(order) if order is not None else (),
    )


# --- visits ------------------------------------------------------------------------------------


def _visits_encounter(public_id: UUID) -> tuple[bool, Any | None]:
    """(whether visits has an Encounter model, the row or None)."""
    try:
        from smartclinic.visits.models import Encounter  # type: ignore[attr-defined,unused-ignore]
    except ImportError:
        return False, None
    manager: Any = Encounter.objects
    for related in ("doctor", "department", "ticket"):
        if _has_field(Encounter, related):
            manager = manager.select_related(related)
    return True, manager.filter(public_id=public_id).first()


def _has_field(model: Any, name: str) -> bool:
    meta = getattr(model, "_meta", None)
    if meta is None:
        return True  # not a Django model (a test double): select_related is a no-op there
    return any(f.name == name for f in meta.get_fields())


def _diagnoses(encounter: Any) -> tuple[DiagnosisFacts, ...]:
    """``Encounter.diagnoses`` (EncounterDiagnosis rows pointing at Icd10Code(code, name_zh), or
    the codes themselves through a many-to-many), in their rank order."""
    related = getattr(encounter, "diagnoses", None)
    if related is None or not hasattr(related, "all"):
        return ()
    found = []
    for index, item in enumerate(related.all(), start=1):
        code = item if _is_icd_code(item) else _icd_code_of(item)
        if code is None:
            logger.warning("encounter diagnosis %r has no ICD-10 code; not exported", item)
            continue
        rank = getattr(item, "rank", None) or getattr(item, "position", None) or index
        if getattr(item, "primary", False) or getattr(item, "is_primary", False):
            rank = -1
        facts = DiagnosisFacts(
            icd10_code=str(code.code),
            name_zh=str(code.name_zh),
            clinical_code=str(getattr(code, "clinical_code", "") or ""),
        )
        found.append((int(rank), index, facts))
    found.sort(key=lambda entry: (entry[0], entry[1]))
    return tuple(
        DiagnosisFacts(icd10_code=facts.icd10_code, name_zh=facts.name_zh, rank=rank, clinical_code=facts.clinical_code)
        for rank, (_, _, facts) in enumerate(found, start=1)
    )


def _is_icd_code(value: Any) -> bool:
    return hasattr(value, "code") and hasattr(value, "name_zh") and isinstance(getattr(value, "code", None), str)


def _icd_code_of(item: Any) -> Any | None:
    for name in ("icd10", "icd10_code", "icd", "code", "diagnosis"):
        value = getattr(item, name, None)
        if value is not None and _is_icd_code(value):
            return value
    return None


def _vitals_of(source: Any, *, default_time: dt.datetime) -> VitalsFacts | None:
    """Vitals from a dict snapshot (``Encounter.vitals``) or a ``queueing.Vitals`` row."""
    if source is None:
        return None
    if isinstance(source, dict):
        values = {name: source.get(name) for name in _VITAL_FIELDS}
        measured = source.get("measured_at")
        measured_at = dt.datetime.fromisoformat(measured) if isinstance(measured, str) else default_time
        if timezone.is_naive(measured_at):
            measured_at = timezone.make_aware(measured_at)
    elif hasattr(source, "temperature_c"):
        values = {name: getattr(source, name, None) for name in _VITAL_FIELDS}
        measured_at = getattr(source, "measured_at", None) or getattr(source, "created_at", None) or default_time
    else:
        return None
    vitals = VitalsFacts(
        measured_at=measured_at,
        temperature_c=_decimal(values["temperature_c"]),
        systolic_mmhg=_int(values["systolic_mmhg"]),
        diastolic_mmhg=_int(values["diastolic_mmhg"]),
        pulse_bpm=_int(values["pulse_bpm"]),
        weight_kg=_decimal(values["weight_kg"]),
    )
    return None if vitals.is_empty else vitals


def _decimal(value: Any) -> Decimal | None:
    return None if value in (None, "") else Decimal(str(value))


def _int(value: Any) -> int | None:
    return None if value in (None, "") else int(value)


def _ticket(public_id: UUID) -> Ticket:
    ticket = (
        Ticket.objects.select_related(
            "appointment__slot",
            "appointment__department",
            "appointment__doctor",
            "member",
            "dependant",
            "doctor",
            "session__department",
        )
        .filter(public_id=public_id)
        .first()
    )
    if ticket is None:
        raise SourceMissing(f"ticket {public_id}")
    return ticket


def visit_facts(
    *, encounter_id: UUID, ticket_id: UUID | None = None, doctor_id: UUID | None = None, require_encounter: bool = True
) -> VisitFacts | None:
    """A finished visit from ``visits.Encounter`` and its queue ticket (and so the appointment,
    the patient and the nurse's vitals). Returns None only when ``require_encounter`` is off and
    the encounter does not exist (the read API: 404)."""
    has_model, encounter = _visits_encounter(encounter_id)
    if encounter is None:
        if not require_encounter:
            return None
        if has_model:
            raise SourceMissing(f"encounter {encounter_id}")
        # No visits.Encounter model in this build: export what the queue ticket holds.
    if ticket_id is None:
        ticket_ref = getattr(encounter, "ticket", None)
        if ticket_ref is None:
            raise SourceMissing(f"the queue ticket of encounter {encounter_id}")
        ticket_id = ticket_ref.public_id
    ticket = _ticket(ticket_id)
    appointment = ticket.appointment
    doctor = getattr(encounter, "doctor", None) or (
        Doctor.objects.filter(public_id=doctor_id).first() if doctor_id else None
    )
    doctor = doctor or ticket.doctor
    department = getattr(encounter, "department", None) or appointment.department
    started_at = (
        getattr(encounter, "started_at", None) or ticket.started_at or ticket.called_at or appointment.slot.starts_at
    )
    finished_at = getattr(encounter, "finished_at", None) or ticket.finished_at
    vitals = _vitals_of(getattr(encounter, "vitals", None), default_time=started_at)
    if vitals is None:
        vitals = _vitals_of(
            Vitals.objects.filter(ticket=ticket).order_by("-created_at").first(), default_time=started_at
        )
    return VisitFacts(
        encounter_id=encounter_id,
        patient=dependant_patient_facts(ticket.dependant) if ticket.dependant else member_patient_facts(ticket.member),
        practitioner=practitioner_facts(doctor),
        department=department_facts(department),
        started_at=started_at,
        finished_at=finished_at,
        chief_complaint=str(getattr(encounter, "chief_complaint", "") or ""),
        diagnoses=_diagnoses(encounter) if encounter is not None else (),
        vitals=vitals,
        appointment=appointment_facts(appointment),
    )
