"""The stand-in HIS checks what a FHIR server checks, so the contract tests mean something."""

from __future__ import annotations

import json

import pytest
import requests

from smartclinic.interop.standin import BundleInvalid, StandInHis, validate_transaction

ENTRY = {
    "fullUrl": "urn:uuid:0f8fad5b-d9cb-469f-a165-70867728950e",
    "resource": {"resourceType": "Patient", "identifier": [{"system": "urn:s", "value": "1"}]},
    "request": {"method": "POST", "url": "Patient", "ifNoneExist": "identifier=urn:s|1"},
}


def bundle(*entries, kind="transaction"):
    return {"resourceType": "Bundle", "type": kind, "entry": list(entries)}


@pytest.mark.parametrize(
    ("broken", "message"),
    [
        ({"resourceType": "Patient"}, "not a Bundle"),
        (bundle(ENTRY, kind="batch"), "expected 'transaction'"),
        (bundle(), "needs entries"),
        (bundle({**ENTRY, "request": {"url": "Patient"}}), "request.method"),
        (bundle({**ENTRY, "request": {"method": "POST", "url": "Observation"}}), "POST Observation of a Patient"),
        (bundle({**ENTRY, "resource": {"identifier": []}}), "resourceType required"),
        (bundle({**ENTRY, "fullUrl": "Patient/1"}), "urn:uuid"),
        (bundle(ENTRY, ENTRY), "unique"),
        (bundle({**ENTRY, "resource": {"resourceType": "Patient", "colour": "blue"}}), "not a valid FHIR bundle"),
    ],
)
def test_malformed_transactions_are_refused(broken, message):
    with pytest.raises(BundleInvalid, match=message):
        validate_transaction(broken)


def post(his: StandInHis, body, **headers):
    return requests.post(
        his.url,
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/fhir+json", "Authorization": "Bearer t", **headers},
        timeout=5,
    )


def test_it_creates_once_and_then_matches_by_identifier():
    with StandInHis(token="t") as his:
        first = post(his, bundle(ENTRY))
        second = post(his, bundle(ENTRY))
    assert first.status_code == second.status_code == 200
    assert first.json()["entry"][0]["response"]["status"] == "201 Created"
    assert second.json()["entry"][0]["response"]["status"] == "200 OK"
    assert first.json()["entry"][0]["response"]["location"] == second.json()["entry"][0]["response"]["location"]
    assert his.count("Patient") == 1


def test_it_wants_the_token_and_the_fhir_media_type_and_a_valid_bundle():
    with StandInHis(token="t") as his:
        assert post(his, bundle(ENTRY), Authorization="Bearer nope").status_code == 401
        assert post(his, bundle(ENTRY), **{"Content-Type": "application/json"}).status_code == 415
        refused = post(his, bundle(ENTRY, kind="batch"))
        assert refused.status_code == 400
        assert refused.json()["resourceType"] == "OperationOutcome"
    assert his.count("Patient") == 0


def test_it_can_be_down_for_a_while():
    with StandInHis(token="t") as his:
        his.fail_next(2)
        statuses = [post(his, bundle(ENTRY)).status_code for _ in range(3)]
    assert statuses == [503, 503, 200]
