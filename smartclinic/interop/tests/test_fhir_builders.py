"""The FHIR R4 builders: each resource's shape, the bundles' transaction structure, validated
with fhir.resources (R4B models, R4-compatible for these resources) and the stand-in's checks."""

from __future__ import annotations

import datetime as dt
import json
import uuid
from decimal import Decimal

import pytest
from fhir.resources.R4B.bundle import Bundle

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
from smartclinic.interop.fhir import encounter_read_resource, patient_resource, payment_bundle, to_json, visit_bundle
from smartclinic.interop.fhir.resources import DiagnosisSystems
from smartclinic.interop.standin import validate_transaction

EXPORT_ID = uuid.UUID("8a1f3c52-2d6e-4c1b-9a0e-5f1e2b3c4d5e")
NOW = dt.datetime(2026, 3, 2, 2, 0, tzinfo=dt.UTC)
START = dt.datetime(2026, 3, 2, 1, 5, tzinfo=dt.UTC)
END = dt.datetime(2026, 3, 2, 1, 20, tzinfo=dt.UTC)

ORG = OrganizationFacts(identifier="campus-clinic", name="校医院")
PATIENT = PatientFacts(
    public_id=uuid.uuid4(), name="张小明", gender="male", birth_date=dt.date(2004, 5, 6), member_number="2024000123"
)
DOCTOR = PractitionerFacts(public_id=uuid.uuid4(), name="李医生", title="attending")
DEPARTMENT = DepartmentFacts(code="NK", name="内科")
APPOINTMENT = AppointmentFacts(
    public_id=uuid.uuid4(),
    status="completed",
    start=dt.datetime(2026, 3, 2, 1, 0, tzinfo=dt.UTC),
    end=dt.datetime(2026, 3, 2, 1, 15, tzinfo=dt.UTC),
    created=dt.datetime(2026, 2, 28, 8, 0, tzinfo=dt.UTC),
    department=DEPARTMENT,
    practitioner=DOCTOR,
)
VISIT = VisitFacts(
    encounter_id=uuid.uuid4(),
    patient=PATIENT,
    practitioner=DOCTOR,
    department=DEPARTMENT,
    started_at=START,
    finished_at=END,
    chief_complaint="发热、咽痛两天",
    diagnoses=(
        DiagnosisFacts(icd10_code="J06.9", name_zh="急性上呼吸道感染", rank=1, clinical_code="J06.900"),
        DiagnosisFacts(icd10_code="J02.9", name_zh="急性咽炎", rank=2),
    ),
    vitals=VitalsFacts(
        measured_at=START,
        temperature_c=Decimal("38.2"),
        systolic_mmhg=118,
        diastolic_mmhg=76,
        pulse_bpm=92,
        weight_kg=Decimal("61.5"),
    ),
    appointment=APPOINTMENT,
)
PAYMENT = PaymentFacts(
    order_id=uuid.uuid4(),
    kind="registration",
    method="wechat",
    amount_fen=1999,
    paid_at=dt.datetime(2026, 3, 1, 12, 30, tzinfo=dt.UTC),
    patient=PATIENT,
    appointment=APPOINTMENT,
)


def as_json(bundle: Bundle) -> dict:
    return json.loads(to_json(bundle), parse_float=Decimal)


def resources(bundle_json: dict, resource_type: str) -> list[dict]:
    return [e["resource"] for e in bundle_json["entry"] if e["resource"]["resourceType"] == resource_type]


def only(bundle_json: dict, resource_type: str) -> dict:
    found = resources(bundle_json, resource_type)
    assert len(found) == 1, f"{len(found)} {resource_type}"
    return found[0]


def assert_valid_transaction(bundle_json: dict) -> None:
    """What an R4 server checks: a transaction bundle of conditional creates whose references
    all point at entries of the same bundle (or are contained)."""
    Bundle.model_validate(bundle_json)  # every resource against the FHIR models
    validate_transaction(bundle_json)
    assert bundle_json["type"] == "transaction"
    assert bundle_json["identifier"] == {"system": "urn:smartclinic:his-export", "value": str(EXPORT_ID)}
    full_urls = [entry["fullUrl"] for entry in bundle_json["entry"]]
    assert len(set(full_urls)) == len(full_urls)
    for entry in bundle_json["entry"]:
        assert entry["fullUrl"].startswith("urn:uuid:")
        uuid.UUID(entry["fullUrl"].removeprefix("urn:uuid:"))
        resource = entry["resource"]
        ident = resource["identifier"][0]
        assert entry["request"] == {
            "method": "POST",
            "url": resource["resourceType"],
            "ifNoneExist": f"identifier={ident['system']}|{ident['value']}",
        }
        assert "id" not in resource  # the HIS assigns its own ids

    def references(value):
        if isinstance(value, dict):
            for key, item in value.items():
                if key == "reference":
                    yield item
                else:
                    yield from references(item)
        elif isinstance(value, list):
            for item in value:
                yield from references(item)

    for ref in references([e["resource"] for e in bundle_json["entry"]]):
        assert ref in full_urls, f"dangling reference {ref}"


# --- single resources ----------------------------------------------------------------------------


def test_patient_carries_only_what_the_his_needs():
    patient = json.loads(to_json(patient_resource(PATIENT, resource_id=str(PATIENT.public_id))))
    assert patient == {
        "resourceType": "Patient",
        "id": str(PATIENT.public_id),
        "identifier": [{"system": "urn:smartclinic:member-number", "value": "2024000123"}],
        "active": True,
        "name": [{"use": "official", "text": "张小明"}],
        "gender": "male",
        "birthDate": "2004-05-06",
    }


@pytest.mark.parametrize(
    ("ours", "fhir"), [("male", "male"), ("female", "female"), ("other", "other"), ("", "unknown")]
)
def test_patient_gender_maps_to_the_fhir_value_set(ours, fhir):
    facts = PatientFacts(public_id=uuid.uuid4(), name="王", gender=ours, birth_date=None, member_number="1")
    patient = json.loads(to_json(patient_resource(facts)))
    assert patient["gender"] == fhir
    assert "birthDate" not in patient


def test_a_dependant_is_identified_by_our_public_id_not_a_campus_number():
    facts = PatientFacts(public_id=uuid.uuid4(), name="张小宝", gender="female", birth_date=dt.date(2019, 1, 2))
    patient = json.loads(to_json(patient_resource(facts)))
    assert patient["identifier"] == [{"system": "urn:smartclinic:dependant", "value": str(facts.public_id)}]


def test_visit_bundle_encounter_is_ambulatory_with_period_reason_and_ranked_diagnoses():
    bundle = as_json(visit_bundle(export_id=EXPORT_ID, generated_at=NOW, visit=VISIT, organization=ORG))
    assert_valid_transaction(bundle)
    encounter = only(bundle, "Encounter")
    urls = {
        e["resource"]["resourceType"] + ":" + e["resource"]["identifier"][0]["value"]: e["fullUrl"]
        for e in bundle["entry"]
    }
    assert encounter["status"] == "finished"
    assert encounter["class"] == {
        "system": "http://terminology.hl7.org/CodeSystem/v3-ActCode",
        "code": "AMB",
        "display": "ambulatory",
    }
    assert encounter["identifier"] == [{"system": "urn:smartclinic:encounter", "value": str(VISIT.encounter_id)}]
    assert encounter["period"] == {"start": "2026-03-02T09:05:00+08:00", "end": "2026-03-02T09:20:00+08:00"}
    assert encounter["reasonCode"] == [{"text": "发热、咽痛两天"}]
    assert encounter["serviceType"]["coding"] == [
        {"system": "urn:smartclinic:department", "code": "NK", "display": "内科"}
    ]
    assert encounter["subject"] == {"reference": urls[f"Patient:{PATIENT.member_number}"]}
    assert encounter["participant"][0]["individual"]["reference"] == urls[f"Practitioner:{DOCTOR.public_id}"]
    assert encounter["appointment"] == [{"reference": urls[f"Appointment:{APPOINTMENT.public_id}"]}]
    assert encounter["serviceProvider"] == {"reference": urls["Organization:campus-clinic"]}
    assert encounter["diagnosis"] == [
        {"condition": {"reference": urls[f"Condition:{VISIT.encounter_id}:J06.9"]}, "rank": 1},
        {"condition": {"reference": urls[f"Condition:{VISIT.encounter_id}:J02.9"]}, "rank": 2},
    ]


def test_diagnoses_are_conditions_coded_in_icd10_with_the_chinese_name():
    bundle = as_json(visit_bundle(export_id=EXPORT_ID, generated_at=NOW, visit=VISIT, organization=ORG))
    conditions = {c["identifier"][0]["value"]: c for c in resources(bundle, "Condition")}
    uri = conditions[f"{VISIT.encounter_id}:J06.9"]
    assert uri["code"] == {
        "coding": [
            {"system": "http://hl7.org/fhir/sid/icd-10", "code": "J06.9", "display": "急性上呼吸道感染"},
            {"system": "urn:smartclinic:icd-10-cn-clinical-2.0", "code": "J06.900", "display": "急性上呼吸道感染"},
        ],
        "text": "急性上呼吸道感染",
    }
    assert uri["clinicalStatus"]["coding"][0]["code"] == "active"
    assert uri["verificationStatus"]["coding"][0]["code"] == "confirmed"
    assert uri["category"][0]["coding"][0]["code"] == "encounter-diagnosis"
    assert uri["recordedDate"] == "2026-03-02T09:20:00+08:00"
    assert conditions[f"{VISIT.encounter_id}:J02.9"]["code"]["coding"] == [
        {"system": "http://hl7.org/fhir/sid/icd-10", "code": "J02.9", "display": "急性咽炎"}
    ]


def test_diagnosis_code_systems_are_configurable():
    systems = DiagnosisSystems(icd10="http://his.example/icd10", clinical="http://his.example/icd10-cn")
    bundle = as_json(
        visit_bundle(export_id=EXPORT_ID, generated_at=NOW, visit=VISIT, organization=ORG, systems=systems)
    )
    systems_used = {c["system"] for cond in resources(bundle, "Condition") for c in cond["code"]["coding"]}
    assert systems_used == {"http://his.example/icd10", "http://his.example/icd10-cn"}


def test_vital_signs_are_loinc_coded_observations_in_ucum_units():
    bundle = as_json(visit_bundle(export_id=EXPORT_ID, generated_at=NOW, visit=VISIT, organization=ORG))
    observations = {o["code"]["coding"][0]["code"]: o for o in resources(bundle, "Observation")}
    assert set(observations) == {"8310-5", "85354-9", "8867-4", "29463-7"}
    for observation in observations.values():
        assert observation["status"] == "final"
        assert observation["category"][0]["coding"][0] == {
            "system": "http://terminology.hl7.org/CodeSystem/observation-category",
            "code": "vital-signs",
            "display": "Vital Signs",
        }
        assert observation["code"]["coding"][0]["system"] == "http://loinc.org"
        assert observation["effectiveDateTime"] == "2026-03-02T09:05:00+08:00"
    ucum = "http://unitsofmeasure.org"
    assert observations["8310-5"]["valueQuantity"] == {
        "value": Decimal("38.2"),
        "unit": "Cel",
        "system": ucum,
        "code": "Cel",
    }
    assert observations["8867-4"]["valueQuantity"] == {"value": 92, "unit": "/min", "system": ucum, "code": "/min"}
    assert observations["29463-7"]["valueQuantity"] == {
        "value": Decimal("61.5"),
        "unit": "kg",
        "system": ucum,
        "code": "kg",
    }
    panel = observations["85354-9"]
    assert "valueQuantity" not in panel
    assert [
        (c["code"]["coding"][0]["code"], c["valueQuantity"]["value"], c["valueQuantity"]["code"])
        for c in panel["component"]
    ] == [
        ("8480-6", 118, "mm[Hg]"),
        ("8462-4", 76, "mm[Hg]"),
    ]


def test_missing_vitals_make_no_observation_and_no_diagnosis_makes_no_condition():
    visit = VisitFacts(
        encounter_id=uuid.uuid4(),
        patient=PATIENT,
        practitioner=DOCTOR,
        department=DEPARTMENT,
        started_at=START,
        finished_at=END,
        vitals=VitalsFacts(measured_at=START, pulse_bpm=70),
    )
    bundle = as_json(visit_bundle(export_id=EXPORT_ID, generated_at=NOW, visit=visit, organization=ORG))
    assert_valid_transaction(bundle)
    assert [o["code"]["coding"][0]["code"] for o in resources(bundle, "Observation")] == ["8867-4"]
    assert resources(bundle, "Condition") == []
    assert "diagnosis" not in only(bundle, "Encounter")
    assert "reasonCode" not in only(bundle, "Encounter")
    assert resources(bundle, "Appointment") == []


def test_the_same_doctor_of_visit_and_appointment_is_one_practitioner_entry():
    bundle = as_json(visit_bundle(export_id=EXPORT_ID, generated_at=NOW, visit=VISIT, organization=ORG))
    practitioner = only(bundle, "Practitioner")
    assert practitioner["identifier"] == [{"system": "urn:smartclinic:doctor", "value": str(DOCTOR.public_id)}]
    assert practitioner["name"] == [{"use": "official", "text": "李医生"}]


@pytest.mark.parametrize(
    ("ours", "fhir"),
    [
        ("booked", "booked"),
        ("paid", "booked"),
        ("completed", "fulfilled"),
        ("cancelled", "cancelled"),
        ("no_show", "noshow"),
    ],
)
def test_appointment_status_maps_to_the_fhir_value_set(ours, fhir):
    payment = PaymentFacts(
        order_id=uuid.uuid4(),
        kind="registration",
        method="cash",
        amount_fen=500,
        paid_at=NOW,
        patient=PATIENT,
        appointment=AppointmentFacts(**{**APPOINTMENT.__dict__, "status": ours}),
    )
    appointment = only(
        as_json(payment_bundle(export_id=EXPORT_ID, generated_at=NOW, payment=payment, organization=ORG)), "Appointment"
    )
    assert appointment["status"] == fhir
    assert appointment["start"] == "2026-03-02T09:00:00+08:00"
    assert appointment["end"] == "2026-03-02T09:15:00+08:00"
    assert [p["status"] for p in appointment["participant"]] == ["accepted", "accepted"]


def test_registration_payment_is_a_billed_charge_item_and_a_balanced_invoice():
    bundle = as_json(payment_bundle(export_id=EXPORT_ID, generated_at=NOW, payment=PAYMENT, organization=ORG))
    assert_valid_transaction(bundle)
    assert [e["resource"]["resourceType"] for e in bundle["entry"]] == [
        "Patient",
        "Organization",
        "Practitioner",
        "Appointment",
        "ChargeItem",
        "Invoice",
    ]
    urls = {e["resource"]["resourceType"]: e["fullUrl"] for e in bundle["entry"]}
    charge = only(bundle, "ChargeItem")
    assert charge["status"] == "billed"
    assert charge["identifier"] == [{"system": "urn:smartclinic:charge", "value": str(PAYMENT.order_id)}]
    assert charge["code"]["coding"] == [
        {"system": "urn:smartclinic:charge-kind", "code": "registration", "display": "挂号费"}
    ]
    assert charge["subject"] == {"reference": urls["Patient"]}
    assert charge["supportingInformation"] == [{"reference": urls["Appointment"]}]
    assert charge["occurrenceDateTime"] == "2026-03-01T20:30:00+08:00"
    invoice = only(bundle, "Invoice")
    assert invoice["status"] == "balanced"
    assert invoice["identifier"] == [{"system": "urn:smartclinic:order", "value": str(PAYMENT.order_id)}]
    assert invoice["lineItem"] == [
        {
            "sequence": 1,
            "chargeItemReference": {"reference": urls["ChargeItem"]},
            "priceComponent": [{"type": "base", "amount": {"value": Decimal("19.99"), "currency": "CNY"}}],
        }
    ]
    assert invoice["totalNet"] == invoice["totalGross"] == {"value": Decimal("19.99"), "currency": "CNY"}
    assert invoice["extension"] == [
        {
            "url": "urn:smartclinic:fhir:extension:payment-method",
            "valueCoding": {"system": "urn:smartclinic:payment-method", "code": "wechat"},
        }
    ]
    assert "totalPriceComponent" not in invoice


def test_visit_order_is_itemised_and_its_discount_is_a_total_component():
    payment = PaymentFacts(
        order_id=uuid.uuid4(),
        kind="visit",
        method="campus_card",
        amount_fen=3960,
        list_amount_fen=4400,
        paid_at=NOW,
        patient=PATIENT,
        lines=(
            ChargeLineFacts(position=1, code="LAB001", name="血常规", quantity=1, amount_fen=2500),
            ChargeLineFacts(position=2, code="MED010", name="布洛芬缓释胶囊", quantity=2, amount_fen=1900),
        ),
    )
    bundle = as_json(payment_bundle(export_id=EXPORT_ID, generated_at=NOW, payment=payment, organization=ORG))
    assert_valid_transaction(bundle)
    charges = resources(bundle, "ChargeItem")
    assert [(c["identifier"][0]["value"], c["code"]["coding"][0]["code"], c["quantity"]["value"]) for c in charges] == [
        (f"{payment.order_id}:1", "LAB001", 1),
        (f"{payment.order_id}:2", "MED010", 2),
    ]
    assert all("supportingInformation" not in c for c in charges)
    invoice = only(bundle, "Invoice")
    assert [(line["sequence"], line["priceComponent"][0]["amount"]["value"]) for line in invoice["lineItem"]] == [
        (1, Decimal("25.00")),
        (2, Decimal("19.00")),
    ]
    assert invoice["totalPriceComponent"] == [
        {"type": "base", "amount": {"value": Decimal("44.00"), "currency": "CNY"}},
        {"type": "discount", "amount": {"value": Decimal("-4.40"), "currency": "CNY"}},
    ]
    assert invoice["totalNet"]["value"] == Decimal("39.60")


def test_bundles_are_deterministic_for_one_export_and_distinct_across_exports():
    first = to_json(visit_bundle(export_id=EXPORT_ID, generated_at=NOW, visit=VISIT, organization=ORG))
    again = to_json(visit_bundle(export_id=EXPORT_ID, generated_at=NOW, visit=VISIT, organization=ORG))
    other = json.loads(to_json(visit_bundle(export_id=uuid.uuid4(), generated_at=NOW, visit=VISIT, organization=ORG)))
    assert first == again
    assert {e["fullUrl"] for e in json.loads(first)["entry"]}.isdisjoint({e["fullUrl"] for e in other["entry"]})
    assert json.loads(first)["timestamp"] == "2026-03-02T10:00:00+08:00"


def test_no_national_id_phone_or_dormitory_leaves_in_any_bundle():
    text = to_json(visit_bundle(export_id=EXPORT_ID, generated_at=NOW, visit=VISIT, organization=ORG))
    for field in ("national", "telecom", "address", "phone"):
        assert field not in text


def test_encounter_for_the_read_api_has_literal_references_and_contained_conditions():
    encounter = json.loads(to_json(encounter_read_resource(VISIT)))
    assert encounter["id"] == str(VISIT.encounter_id)
    assert encounter["subject"] == {"reference": f"Patient/{PATIENT.public_id}"}
    assert encounter["appointment"] == [{"reference": f"Appointment/{APPOINTMENT.public_id}"}]
    assert [c["id"] for c in encounter["contained"]] == ["dx1", "dx2"]
    assert encounter["diagnosis"] == [
        {"condition": {"reference": "#dx1"}, "rank": 1},
        {"condition": {"reference": "#dx2"}, "rank": 2},
    ]
    assert "encounter" not in encounter["contained"][0]


def test_naive_datetimes_are_refused():
    visit = VisitFacts(**{**VISIT.__dict__, "started_at": dt.datetime(2026, 3, 2, 9, 0)})
    with pytest.raises(ValueError, match="time zone"):
        visit_bundle(export_id=EXPORT_ID, generated_at=NOW, visit=visit, organization=ORG)
