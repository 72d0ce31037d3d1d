"""A read-only FHIR R4 façade for staff (managers, administrators): a patient, an encounter, and
the exact bundle an HIS export sends. Bodies are FHIR JSON (``application/fhir+json``); errors
keep the API's one shape (``{"code", "message", "extra"}``). Every read is audited."""

from __future__ import annotations

from uuid import UUID

from django.http import HttpRequest, HttpResponse
from ninja import Router

from smartclinic.identity.auth import request_actor
from smartclinic.interop import access
from smartclinic.interop.fhir import FHIR_VERSION, MEDIA_TYPE, encounter_read_resource, patient_resource, to_json
from smartclinic.interop.services import fhir_record_read_audit
from smartclinic.interop.sources import diagnosis_systems

router = Router(tags=["interop"])

_FHIR_JSON = {MEDIA_TYPE: {"schema": {"type": "object", "description": "A FHIR R4 resource (JSON)."}}}


def fhir_response(body: str) -> HttpResponse:
    response = HttpResponse(body.encode(), content_type=f"{MEDIA_TYPE}; fhirVersion={FHIR_VERSION}; charset=utf-8")
    response["Cache-Control"] = "no-store"  # patient data: never kept by a proxy or the browser
    return response


@router.get(
    "/fhir/Patient/{patient_id}",
    summary="A patient (campus member or dependant) as a FHIR R4 Patient",
    openapi_extra={"responses": {200: {"description": "Patient", "content": _FHIR_JSON}}},
)
def fhir_patient_read_api(request: HttpRequest, patient_id: UUID) -> HttpResponse:
    actor = request_actor(request)
    patient = access.access_patient(actor=actor, public_id=patient_id)
    subject_type = "identity.member" if patient.member_number else "identity.dependant"
    fhir_record_read_audit(actor=actor, resource_type="Patient", subject_type=subject_type, subject_id=str(patient_id))
    return fhir_response(to_json(patient_resource(patient, resource_id=str(patient.public_id))))


@router.get(
    "/fhir/Encounter/{encounter_id}",
    summary="A visit as a FHIR R4 Encounter (diagnoses as contained Conditions)",
    openapi_extra={"responses": {200: {"description": "Encounter", "content": _FHIR_JSON}}},
)
def fhir_encounter_read_api(request: HttpRequest, encounter_id: UUID) -> HttpResponse:
    actor = request_actor(request)
    visit = access.access_encounter(actor=actor, public_id=encounter_id)
    fhir_record_read_audit(
        actor=actor, resource_type="Encounter", subject_type="visits.encounter", subject_id=str(encounter_id)
    )
    return fhir_response(to_json(encounter_read_resource(visit, systems=diagnosis_systems())))


@router.get(
    "/fhir/Bundle/{export_id}",
    summary="The transaction bundle of an HIS export, exactly as it is sent",
    openapi_extra={"responses": {200: {"description": "Bundle", "content": _FHIR_JSON}}},
)
def fhir_bundle_read_api(request: HttpRequest, export_id: UUID) -> HttpResponse:
    actor = request_actor(request)
    export = access.access_export(actor=actor, public_id=export_id)
    fhir_record_read_audit(
        actor=actor, resource_type="Bundle", subject_type="interop.hisexport", subject_id=str(export.public_id)
    )
    return fhir_response(export.bundle_json)
