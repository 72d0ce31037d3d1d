"""Transaction bundles for the HIS and the resources of the read API (pure functions)."""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.encounter import Encounter
from fhir.resources.R4B.resource import Resource

from smartclinic.interop.facts import (
    AppointmentFacts,
    OrganizationFacts,
    PatientFacts,
    PaymentFacts,
    PractitionerFacts,
    VisitFacts,
)
from smartclinic.interop.fhir.resources import (
    DEFAULT_DIAGNOSIS_SYSTEMS,
    SYSTEM_APPOINTMENT,
    SYSTEM_CHARGE,
    SYSTEM_DOCTOR,
    SYSTEM_ENCOUNTER,
    SYSTEM_EXPORT,
    SYSTEM_ORDER,
    SYSTEM_ORGANIZATION,
    DiagnosisSystems,
    appointment_resource,
    charge_item_resource,
    charges_of,
    condition_identifier,
    condition_resource,
    encounter_resource,
    fhir_datetime,
    identifier,
    invoice_resource,
    organization_resource,
    patient_identifier,
    patient_resource,
    practitioner_resource,
    vital_sign_entries,
)


@dataclass
class _Transaction:
    """Collects conditional-create entries; ``add`` returns the entry's fullUrl for references."""

    export_id: uuid.UUID
    entries: list[dict[str, Any]] = field(default_factory=list)

    def full_url(self, resource_type: str, ident: dict[str, str]) -> str:
        name = f"{resource_type}/{ident['system']}|{ident['value']}"
        return f"urn:uuid:{uuid.uuid5(self.export_id, name)}"

    def add(self, resource: Resource, ident: dict[str, str]) -> str:
        resource_type = resource.get_resource_type()
        url = self.full_url(resource_type, ident)
        if any(entry["fullUrl"] == url for entry in self.entries):
            return url  # the same doctor as practitioner of the visit and of its appointment
        self.entries.append(
            {
                "fullUrl": url,
                "resource": resource,
                "request": {
                    "method": "POST",
                    "url": resource_type,
                    "ifNoneExist": "identifier=" + quote(f"{ident['system']}|{ident['value']}", safe=":|-."),
                },
            }
        )
        return url

    def bundle(self, *, generated_at: dt.datetime) -> Bundle:
        return Bundle.model_validate(
            {
                "resourceType": "Bundle",
                "identifier": identifier(SYSTEM_EXPORT, str(self.export_id)),
                "type": "transaction",
                "timestamp": fhir_datetime(generated_at),
                "entry": self.entries,
            }
        )


def _add_common(tx: _Transaction, *, patient: PatientFacts, organization: OrganizationFacts) -> tuple[str, str]:
    patient_ref = tx.add(patient_resource(patient), patient_identifier(patient))
    organization_ref = tx.add(
        organization_resource(organization), identifier(SYSTEM_ORGANIZATION, organization.identifier)
    )
    return patient_ref, organization_ref


def _add_practitioner(tx: _Transaction, practitioner: PractitionerFacts) -> str:
    return tx.add(practitioner_resource(practitioner), identifier(SYSTEM_DOCTOR, str(practitioner.public_id)))


def _add_appointment(tx: _Transaction, appointment: AppointmentFacts, *, patient_ref: str) -> str:
    practitioner_ref = _add_practitioner(tx, appointment.practitioner)
    resource = appointment_resource(appointment, patient_ref=patient_ref, practitioner_ref=practitioner_ref)
    return tx.add(resource, identifier(SYSTEM_APPOINTMENT, str(appointment.public_id)))


def payment_bundle(
    *, export_id: uuid.UUID, generated_at: dt.datetime, payment: PaymentFacts, organization: OrganizationFacts
) -> Bundle:
    """ "This order was paid": Patient, Organization, (Appointment and its Practitioner,)
    a ChargeItem (billed) per charged item and the Invoice (balanced)."""
    tx = _Transaction(export_id)
    patient_ref, organization_ref = _add_common(tx, patient=payment.patient, organization=organization)
    appointment_ref = (
        _add_appointment(tx, payment.appointment, patient_ref=patient_ref) if payment.appointment else None
    )
    charges = []
    for charge in charges_of(payment):
        resource = charge_item_resource(
            charge,
            payment=payment,
            patient_ref=patient_ref,
            organization_ref=organization_ref,
            appointment_ref=appointment_ref,
        )
        charges.append((charge, tx.add(resource, identifier(SYSTEM_CHARGE, charge.identifier_value))))
    invoice = invoice_resource(payment, patient_ref=patient_ref, organization_ref=organization_ref, charges=charges)
    tx.add(invoice, identifier(SYSTEM_ORDER, str(payment.order_id)))
    return tx.bundle(generated_at=generated_at)


def visit_bundle(
    *,
    export_id: uuid.UUID,
    generated_at: dt.datetime,
    visit: VisitFacts,
    organization: OrganizationFacts,
    systems: DiagnosisSystems = DEFAULT_DIAGNOSIS_SYSTEMS,
) -> Bundle:
    """ "This visit is closed": Patient, Organization, Practitioner, (Appointment,) Encounter,
    one Condition per diagnosis and one Observation per vital sign."""
    tx = _Transaction(export_id)
    patient_ref, organization_ref = _add_common(tx, patient=visit.patient, organization=organization)
    practitioner_ref = _add_practitioner(tx, visit.practitioner)
    appointment_ref = _add_appointment(tx, visit.appointment, patient_ref=patient_ref) if visit.appointment else None
    encounter_ident = identifier(SYSTEM_ENCOUNTER, str(visit.encounter_id))
    encounter_ref = tx.full_url("Encounter", encounter_ident)
    recorded_at = visit.finished_at or visit.started_at
    condition_refs = []
    conditions = []
    for diagnosis in visit.diagnoses:
        ident = condition_identifier(encounter_id=visit.encounter_id, diagnosis=diagnosis)
        condition_refs.append((tx.full_url("Condition", ident), diagnosis.rank))
        conditions.append(
            (
                condition_resource(
                    diagnosis,
                    encounter_id=visit.encounter_id,
                    recorded_at=recorded_at,
                    patient_ref=patient_ref,
                    encounter_ref=encounter_ref,
                    practitioner_ref=practitioner_ref,
                    systems=systems,
                ),
                ident,
            )
        )
    encounter = encounter_resource(
        visit,
        patient_ref=patient_ref,
        practitioner_ref=practitioner_ref,
        organization_ref=organization_ref,
        appointment_ref=appointment_ref,
        condition_refs=condition_refs,
    )
    tx.add(encounter, encounter_ident)
    for condition, ident in conditions:
        tx.add(condition, ident)
    if visit.vitals is not None and not visit.vitals.is_empty:
        for observation, ident in vital_sign_entries(
            visit.vitals, encounter_id=visit.encounter_id, patient_ref=patient_ref, encounter_ref=encounter_ref
        ):
            tx.add(observation, ident)
    return tx.bundle(generated_at=generated_at)


def encounter_read_resource(visit: VisitFacts, *, systems: DiagnosisSystems = DEFAULT_DIAGNOSIS_SYSTEMS) -> Encounter:
    """The Encounter for ``GET /fhir/Encounter/{id}``: literal references to our Patient and
    Practitioner ids, the diagnoses as contained Conditions (we serve no Condition endpoint)."""
    patient_ref = f"Patient/{visit.patient.public_id}"
    practitioner_ref = f"Practitioner/{visit.practitioner.public_id}"
    conditions = [
        condition_resource(
            diagnosis,
            encounter_id=visit.encounter_id,
            recorded_at=visit.finished_at or visit.started_at,
            patient_ref=patient_ref,
            encounter_ref=None,
            practitioner_ref=practitioner_ref,
            systems=systems,
            resource_id=f"dx{index}",
        )
        for index, diagnosis in enumerate(visit.diagnoses, start=1)
    ]
    return encounter_resource(
        visit,
        patient_ref=patient_ref,
        practitioner_ref=practitioner_ref,
        organization_ref=None,
        appointment_ref=f"Appointment/{visit.appointment.public_id}" if visit.appointment else None,
        condition_refs=[(f"#dx{index}", d.rank) for index, d in enumerate(visit.diagnoses, start=1)],
        resource_id=str(visit.encounter_id),
        contained=conditions,
    )


def to_json(resource: Resource) -> str:
    """The wire form: compact JSON, UTF-8 (Chinese as is), no empty elements."""
    return resource.model_dump_json(exclude_none=True)
