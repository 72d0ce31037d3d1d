"""The FHIR read API: managers and administrators only, FHIR JSON out, every read audited."""

from __future__ import annotations

import json
import uuid

import pytest
from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.encounter import Encounter
from fhir.resources.R4B.patient import Patient

from smartclinic.audit.models import AuditEntry
from smartclinic.interop.choices import SourceKind
from smartclinic.interop.services import his_export_record
from smartclinic.interop.tests.conftest import visit_finished_event

pytestmark = pytest.mark.django_db

PERSONAS = ["anonymous", "outsider", "patient", "nurse", "doctor", "cashier", "manager", "admin"]
ALLOWED = {"manager", "admin"}


@pytest.fixture
def world(make_user, make_visit, system_actor):
    visit = make_visit()
    patient_user = make_user("patient")
    type(visit.member).objects.filter(pk=visit.member.pk).update(
        account=patient_user, bound_at=visit.encounter.started_at
    )
    export = his_export_record(actor=system_actor, kind=SourceKind.VISIT, payload=visit_finished_event(visit).payload())
    personas = {
        "anonymous": None,
        "outsider": make_user("patient"),
        "patient": patient_user,  # the very patient: the FHIR API is for staff, not for them
        "nurse": make_user("nurse"),
        "doctor": make_user("doctor"),
        "cashier": make_user("cashier"),
        "manager": make_user("manager"),
        "admin": make_user("admin"),
    }
    return personas, visit, export


def paths(visit, export) -> dict[str, tuple[str, str, str]]:
    """resource → (path, audited subject type, subject id)"""
    return {
        "Patient": (f"/fhir/Patient/{visit.member.public_id}", "identity.member", str(visit.member.public_id)),
        "Encounter": (
            f"/fhir/Encounter/{visit.encounter.public_id}",
            "visits.encounter",
            str(visit.encounter.public_id),
        ),
        "Bundle": (f"/fhir/Bundle/{export.public_id}", "interop.hisexport", str(export.public_id)),
    }


@pytest.mark.parametrize("resource", ["Patient", "Encounter", "Bundle"])
@pytest.mark.parametrize("persona", PERSONAS)
def test_fhir_read_permission_matrix(api, world, persona, resource):
    personas, visit, export = world
    path, subject_type, subject_id = paths(visit, export)[resource]

    response = api(personas[persona]).get(path)

    reads = AuditEntry.objects.filter(action="interop.record_read")
    if persona in ALLOWED:
        assert response.status_code == 200
        assert response["Content-Type"].startswith("application/fhir+json")
        assert response["Cache-Control"] == "no-store"
        body = json.loads(response.content)
        assert body["resourceType"] == resource
        [entry] = reads
        assert (entry.actor_id, entry.subject_type, entry.subject_id) == (
            personas[persona].pk,
            subject_type,
            subject_id,
        )
        assert entry.new_values == {"fhir_resource": resource}
    else:
        expected = (401, "auth.unauthenticated") if persona == "anonymous" else (403, "core.permission_denied")
        assert (response.status_code, response.json()["code"]) == expected
        assert visit.member.name not in response.content.decode()
        assert visit.member.number not in response.content.decode()
        assert not reads.exists()


def test_the_patient_resource_is_valid_fhir_with_our_id(api, world):
    personas, visit, _ = world
    body = json.loads(api(personas["manager"]).get(f"/fhir/Patient/{visit.member.public_id}").content)
    Patient.model_validate(body)
    assert body["id"] == str(visit.member.public_id)
    assert body["identifier"] == [{"system": "urn:smartclinic:member-number", "value": visit.member.number}]
    assert body["name"][0]["text"] == visit.member.name


def test_the_encounter_resource_is_valid_fhir_with_contained_diagnoses(api, world):
    personas, visit, _ = world
    body = json.loads(api(personas["admin"]).get(f"/fhir/Encounter/{visit.encounter.public_id}").content)
    Encounter.model_validate(body)
    assert body["id"] == str(visit.encounter.public_id)
    assert body["subject"] == {"reference": f"Patient/{visit.member.public_id}"}
    assert [c["code"]["coding"][0]["code"] for c in body["contained"]] == ["J06.9", "J02.9"]


def test_the_bundle_is_exactly_what_is_sent(api, world):
    personas, _, export = world
    response = api(personas["admin"]).get(f"/fhir/Bundle/{export.public_id}")
    assert response.content == export.bundle_json.encode()
    Bundle.model_validate_json(response.content)


@pytest.mark.parametrize("resource", ["Patient", "Encounter", "Bundle"])
def test_an_unknown_id_is_not_found_and_not_audited(api, world, resource):
    personas, _, _ = world
    response = api(personas["manager"]).get(f"/fhir/{resource}/{uuid.uuid4()}")
    assert (response.status_code, response.json()["code"]) == (404, "interop.not_found")
    assert not AuditEntry.objects.filter(action="interop.record_read").exists()


def test_a_dependant_is_readable_as_a_patient(api, world):
    from smartclinic.identity.models import Dependant

    personas, visit, _ = world
    child = Dependant.objects.create(owner=visit.member, name="张小宝", relation="child", gender="female")
    response = api(personas["manager"]).get(f"/fhir/Patient/{child.public_id}")
    assert response.status_code == 200
    assert json.loads(response.content)["identifier"][0]["system"] == "urn:smartclinic:dependant"
    assert AuditEntry.objects.get(action="interop.record_read").subject_type == "identity.dependant"


def test_the_openapi_document_lists_the_fhir_reads(api):
    spec = api().client.get("/api/openapi.json").json()
    for path in (
        "/api/v1/fhir/Patient/{patient_id}",
        "/api/v1/fhir/Encounter/{encounter_id}",
        "/api/v1/fhir/Bundle/{export_id}",
    ):
        assert "application/fhir+json" in spec["paths"][path]["get"]["responses"]["200"]["content"]
