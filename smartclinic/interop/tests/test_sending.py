"""Sending exports to the HIS (contract tests against the stand-in HIS on a loopback port):
delivered once, retried with backoff while the HIS is down, deduplicated when re-sent, held
while no HIS is configured, and never sent twice at once by two workers."""

from __future__ import annotations

import datetime as dt
import json

import pytest
import time_machine
from django.db import connection

from smartclinic.audit.models import AuditEntry
from smartclinic.core import clock
from smartclinic.core.testing import run_concurrently
from smartclinic.interop.choices import ExportStatus, SourceKind
from smartclinic.interop.client import HisUnavailable, HttpHisClient
from smartclinic.interop.jobs import send_his_exports
from smartclinic.interop.models import HisExport
from smartclinic.interop.services import his_export_claim, his_export_record, his_export_resend, his_exports_send_due
from smartclinic.interop.standin import StandInHis
from smartclinic.interop.tests.conftest import HIS_TOKEN, order_paid_payload, publish, visit_finished_event
from smartclinic.outbox.dispatcher import dispatch_until_idle

pytestmark = pytest.mark.django_db


def soon() -> dt.datetime:
    """A moment just after the fixtures were made (they are made at the real time)."""
    return clock.now() + dt.timedelta(seconds=1)


@pytest.fixture
def paid_export(make_paid_order, system_actor):
    order = make_paid_order(amount=1000)
    return his_export_record(actor=system_actor, kind=SourceKind.PAID_ORDER, payload=order_paid_payload(order))


def fresh(export: HisExport) -> HisExport:
    return HisExport.objects.get(pk=export.pk)


def test_an_export_is_posted_as_a_fhir_transaction_with_its_idempotency_key(his, paid_export):
    report = his_exports_send_due()

    assert (report.sent, report.retrying, report.failed) == (1, 0, 0)
    [request] = his.requests
    assert request.headers["content-type"] == "application/fhir+json; fhirVersion=4.0"
    assert request.headers["accept"] == "application/fhir+json"
    assert request.headers["authorization"] == f"Bearer {HIS_TOKEN}"
    assert request.headers["idempotency-key"] == str(paid_export.public_id)
    assert request.headers["x-request-id"] == str(paid_export.public_id)
    assert request.body == paid_export.bundle_json.encode()
    export = fresh(paid_export)
    assert export.status == ExportStatus.SENT
    assert export.sent_at is not None
    assert export.attempts == 1
    assert export.response_status == 200
    assert json.loads(export.response_body)["type"] == "transaction-response"
    assert export.locked_until is None
    assert his.count("Invoice") == his.count("ChargeItem") == his.count("Patient") == 1
    # References were resolved by the HIS to its own ids.
    [invoice] = his.find("Invoice", "urn:smartclinic:order", str(paid_export.source_id))
    assert invoice["subject"]["reference"].startswith("Patient/")


def test_the_his_down_for_three_attempts_then_up_gets_it_exactly_once(his, paid_export, settings):
    settings.HIS_EXPORT_RETRY_BASE_SECONDS = 30
    his.fail_next(3)
    with time_machine.travel(soon(), tick=False) as traveller:
        for attempt in range(1, 4):
            report = his_exports_send_due()
            assert (report.sent, report.retrying) == (0, 1)
            export = fresh(paid_export)
            assert (export.status, export.attempts, export.response_status) == (ExportStatus.PENDING, attempt, 503)
            assert "503" in export.last_error
            # Backoff: 30 s × 2^(n-1) ± 20 %; nothing is tried before it is due.
            delay = (export.next_attempt_at - clock.now()).total_seconds()
            assert 0.8 * 30 * 2 ** (attempt - 1) <= delay <= 1.2 * 30 * 2 ** (attempt - 1)
            assert his_exports_send_due().handled == 0
            traveller.shift(dt.timedelta(seconds=delay + 1))
        report = his_exports_send_due()

    assert report.sent == 1
    export = fresh(paid_export)
    assert (export.status, export.attempts, export.last_error) == (ExportStatus.SENT, 4, "")
    assert len(his.requests) == 4
    assert len(his.accepted) == 1
    assert his.count("Invoice") == 1


def test_an_unreachable_his_is_retried_not_lost(paid_export, settings):
    with StandInHis() as gone:
        url = gone.url
    settings.HIS_EXPORT_URL = url  # nothing listens there any more
    settings.HIS_EXPORT_TIMEOUT = 2

    report = his_exports_send_due()

    assert report.retrying == 1
    export = fresh(paid_export)
    assert export.status == ExportStatus.PENDING
    assert export.response_status is None
    assert "ConnectionError" in export.last_error


def test_a_down_his_ends_the_round_instead_of_timing_out_every_export(his, make_paid_order, system_actor):
    for _ in range(3):
        order = make_paid_order()
        his_export_record(actor=system_actor, kind=SourceKind.PAID_ORDER, payload=order_paid_payload(order))
    his.fail_next(10)

    report = his_exports_send_due()

    assert (report.sent, report.retrying) == (0, 1)
    assert len(his.requests) == 1
    assert sorted(HisExport.objects.values_list("attempts", flat=True)) == [0, 0, 1]


def test_the_his_dedupes_a_resent_export(his, paid_export, make_user):
    his_exports_send_due()
    admin = make_user("admin")

    from smartclinic.core.actor import Actor

    his_export_resend(actor=Actor.of(admin), export=paid_export)
    assert fresh(paid_export).status == ExportStatus.PENDING
    assert his_exports_send_due().sent == 1

    assert len(his.accepted) == 2
    assert [r.headers["idempotency-key"] for r in his.accepted] == [str(paid_export.public_id)] * 2
    for resource_type in ("Patient", "Organization", "Practitioner", "Appointment", "ChargeItem", "Invoice"):
        assert his.count(resource_type) == 1, resource_type
    answer = json.loads(fresh(paid_export).response_body)
    assert {e["response"]["status"] for e in answer["entry"]} == {"200 OK"}
    entry = AuditEntry.objects.get(action="interop.his_export_resent")
    assert entry.actor_id == admin.pk
    assert entry.old_values == {"status": "sent"}
    assert entry.new_values == {"status": "pending", "rebuilt": False}


def test_a_second_export_reuses_the_patient_and_clinic_already_at_the_his(his, make_visit, system_actor):
    visit = make_visit()
    payload = visit_finished_event(visit).payload()
    his_export_record(actor=system_actor, kind=SourceKind.VISIT, payload=payload)
    from smartclinic.billing.models import Order

    order = Order.objects.create(
        kind="visit",
        member=visit.member,
        description="诊疗费",
        list_amount=500,
        amount=500,
        out_trade_no="SC-second",
        status="paid",
        paid_at=clock.now(),
        paid_method="cash",
    )
    his_export_record(actor=system_actor, kind=SourceKind.PAID_ORDER, payload=order_paid_payload(order))

    assert his_exports_send_due().sent == 2
    assert his.count("Patient") == 1
    assert his.count("Organization") == 1
    assert his.count("Encounter") == 1
    assert his.count("Condition") == 2
    assert his.count("Observation") == 4


def test_exports_wait_while_no_his_is_configured_and_go_once_it_is(paid_export, settings):
    settings.HIS_EXPORT_URL = ""

    report = send_his_exports()

    assert report.configured is False
    export = fresh(paid_export)
    assert (export.status, export.attempts) == (ExportStatus.PENDING, 0)

    with StandInHis(token=HIS_TOKEN) as his:
        settings.HIS_EXPORT_URL = his.url
        settings.HIS_EXPORT_TOKEN = HIS_TOKEN
        assert send_his_exports().sent == 1
    assert fresh(paid_export).status == ExportStatus.SENT
    assert his.count("Invoice") == 1


@pytest.mark.parametrize("status", [400, 422])
def test_a_bundle_the_his_rejects_is_failed_and_not_retried(his, paid_export, status):
    his.fail_next(1, status=status)

    report = his_exports_send_due()

    assert report.failed == 1
    export = fresh(paid_export)
    assert (export.status, export.response_status) == (ExportStatus.FAILED, status)
    assert "OperationOutcome" in export.response_body
    assert his_exports_send_due().handled == 0


@pytest.mark.parametrize("status", [401, 403, 404, 429, 500, 502])
def test_configuration_and_server_errors_are_retried(his, paid_export, status):
    his.fail_next(1, status=status)

    assert his_exports_send_due().retrying == 1
    export = fresh(paid_export)
    assert (export.status, export.response_status) == (ExportStatus.PENDING, status)


def test_a_wrong_token_is_retried_until_it_is_fixed(his, paid_export, settings):
    settings.HIS_EXPORT_TOKEN = "wrong"
    with time_machine.travel(soon(), tick=False) as traveller:
        assert his_exports_send_due().retrying == 1
        assert fresh(paid_export).response_status == 401
        settings.HIS_EXPORT_TOKEN = HIS_TOKEN
        traveller.shift(dt.timedelta(hours=1))
        assert his_exports_send_due().sent == 1


def test_a_worker_that_died_mid_send_is_taken_over_after_its_lease(his, paid_export):
    with time_machine.travel(soon(), tick=False) as traveller:
        claimed = his_export_claim(now=clock.now(), skip=set())
        assert claimed is not None and claimed.pk == paid_export.pk
        # ...and the worker dies. Nobody else may take it while the lease runs.
        assert his_exports_send_due().handled == 0
        traveller.shift(dt.timedelta(minutes=5))
        assert his_exports_send_due().sent == 1
    assert fresh(paid_export).attempts == 2


def test_the_bundle_the_stand_in_receives_is_a_valid_transaction(his, make_visit, system_actor):
    visit = make_visit()
    export = his_export_record(actor=system_actor, kind=SourceKind.VISIT, payload=visit_finished_event(visit).payload())
    assert his_exports_send_due().sent == 1
    [encounter] = his.find("Encounter", "urn:smartclinic:encounter", str(visit.encounter.public_id))
    assert encounter["subject"]["reference"].startswith("Patient/")
    assert all(d["condition"]["reference"].startswith("Condition/") for d in encounter["diagnosis"])
    assert fresh(export).status == ExportStatus.SENT


def test_the_client_reports_a_timeout_as_unavailable(settings):
    import socket

    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(1)
        host, port = silent.getsockname()
        client = HttpHisClient(base_url=f"http://{host}:{port}/fhir", timeout=0.5)
        with pytest.raises(HisUnavailable, match="Timeout"):
            client.post_bundle(body=b"{}", export_id="x")


def test_end_to_end_from_the_event_to_the_his(his, make_visit):
    visit = make_visit()
    publish(visit_finished_event(visit))
    dispatch_until_idle()

    assert send_his_exports().sent == 1
    assert his.count("Encounter") == 1
    assert HisExport.objects.get().status == ExportStatus.SENT


@pytest.mark.django_db(transaction=True)
def test_two_workers_at_once_send_each_export_once(his, make_paid_order, system_actor):
    exports = []
    for _ in range(6):
        order = make_paid_order()
        exports.append(
            his_export_record(actor=system_actor, kind=SourceKind.PAID_ORDER, payload=order_paid_payload(order))
        )

    results = run_concurrently([his_exports_send_due, his_exports_send_due])

    assert all(not isinstance(result, BaseException) for result in results), results
    assert sum(result.sent for result in results) == 6  # type: ignore[union-attr]
    assert len(his.requests) == 6
    assert sorted(r.headers["idempotency-key"] for r in his.requests) == sorted(str(e.public_id) for e in exports)
    assert set(HisExport.objects.values_list("status", "attempts")) == {(ExportStatus.SENT, 1)}
    connection.close()


def test_the_worker_runs_the_send_job():
    from smartclinic.core.periodic import jobs

    [job] = [job for job in jobs() if job.name == "interop.his_export"]
    assert job.every_seconds == 30
