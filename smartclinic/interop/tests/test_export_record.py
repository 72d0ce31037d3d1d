"""The outbox handlers record one HIS export per paid order and per finished visit, built from
the other contexts' rows, exactly once however often the event arrives."""

from __future__ import annotations

import json
import uuid
from decimal import Decimal

import pytest

from smartclinic.audit.models import AuditEntry
from smartclinic.interop.choices import ExportStatus, SourceKind
from smartclinic.interop.models import HisExport
from smartclinic.interop.services import his_export_record
from smartclinic.interop.tests.conftest import order_paid_payload, publish, visit_finished_event
from smartclinic.outbox.choices import MessageStatus
from smartclinic.outbox.dispatcher import DispatchReport, deliver, dispatch_until_idle
from smartclinic.outbox.models import HandlerDelivery, OutboxMessage
from smartclinic.outbox.services import DomainEvent

pytestmark = pytest.mark.django_db


def resources(export: HisExport, resource_type: str) -> list[dict]:
    bundle = json.loads(export.bundle_json, parse_float=Decimal)
    return [e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == resource_type]


class Replayed(DomainEvent):
    """The same payload under the same event name, published a second time."""

    def __init__(self, name: str, payload: dict) -> None:
        self._name = name
        self._payload = payload

    @property  # type: ignore[misc]
    def name(self) -> str:  # type: ignore[override]
        return self._name

    def payload(self) -> dict:
        return dict(self._payload)


def test_a_paid_order_event_records_one_pending_export(make_paid_order):
    order = make_paid_order(amount=1500, method="wechat")
    message = publish(Replayed("billing.order_paid", order_paid_payload(order)))

    assert dispatch_until_idle().delivered == 1

    export = HisExport.objects.get()
    assert export.source_kind == SourceKind.PAID_ORDER
    assert export.source_id == order.public_id
    assert export.status == ExportStatus.PENDING
    assert export.attempts == 0
    assert export.source_payload == message.payload
    bundle = json.loads(export.bundle_json)
    assert bundle["identifier"]["value"] == str(export.public_id)
    [invoice] = resources(export, "Invoice")
    assert invoice["totalNet"] == {"value": Decimal("15.00"), "currency": "CNY"}
    assert invoice["date"] == "2026-03-01T20:30:00+08:00"  # the order's paid_at
    [patient] = resources(export, "Patient")
    assert patient["identifier"][0]["value"] == order.member.number
    [appointment] = resources(export, "Appointment")
    assert appointment["identifier"][0]["value"] == str(order.appointment.public_id)
    entry = AuditEntry.objects.get(action="interop.his_export_recorded")
    assert entry.subject_id == str(export.public_id)
    assert entry.actor_label == "system"


def test_a_visit_order_without_appointment_is_itemised_from_billings_lines(make_paid_order):
    order = make_paid_order(kind="visit", amount=3960, discount=440)
    payload = order_paid_payload(order)
    assert payload["appointment_id"] is None

    publish(Replayed("billing.order_paid", payload))
    dispatch_until_idle()

    export = HisExport.objects.get()
    assert resources(export, "Appointment") == []
    assert [c["code"]["coding"][0]["code"] for c in resources(export, "ChargeItem")] == ["LAB001", "MED010"]
    [invoice] = resources(export, "Invoice")
    assert invoice["totalNet"]["value"] == Decimal("39.60")
    assert invoice["totalPriceComponent"][1]["amount"]["value"] == Decimal("-4.40")


@pytest.mark.parametrize("missing", [None, "None", ""])
def test_a_missing_appointment_id_may_arrive_in_any_spelling(make_paid_order, system_actor, missing):
    order = make_paid_order(kind="visit", amount=3000)
    payload = {**order_paid_payload(order), "appointment_id": missing}
    export = his_export_record(actor=system_actor, kind=SourceKind.PAID_ORDER, payload=payload)
    assert resources(export, "Appointment") == []


def test_the_same_message_delivered_twice_records_one_export(make_paid_order):
    order = make_paid_order()
    message = publish(Replayed("billing.order_paid", order_paid_payload(order)))
    dispatch_until_idle()

    # The worker's lease ran out before it marked the message done: it comes round again.
    OutboxMessage.objects.filter(pk=message.pk).update(status=MessageStatus.PENDING, delivered_at=None)
    message.refresh_from_db()
    deliver(message, DispatchReport())

    assert HisExport.objects.count() == 1
    assert AuditEntry.objects.filter(action="interop.his_export_recorded").count() == 1
    assert HandlerDelivery.objects.filter(message=message, handler__contains="export_paid_order").count() == 1


def test_the_same_event_published_twice_records_one_export(make_paid_order, system_actor):
    order = make_paid_order()
    payload = order_paid_payload(order)
    publish(Replayed("billing.order_paid", payload))
    publish(Replayed("billing.order_paid", payload))

    assert dispatch_until_idle().delivered == 2

    export = HisExport.objects.get()
    again = his_export_record(actor=system_actor, kind=SourceKind.PAID_ORDER, payload=payload)
    assert again.pk == export.pk
    assert again.bundle_json == export.bundle_json
    assert AuditEntry.objects.filter(action="interop.his_export_recorded").count() == 1


def test_an_order_that_cannot_be_read_yet_is_retried_not_lost(make_paid_order):
    order = make_paid_order()
    payload = {**order_paid_payload(order), "order_id": str(uuid.uuid4())}
    message = publish(Replayed("billing.order_paid", payload))

    report = dispatch_until_idle()

    assert report.retried == 1
    assert HisExport.objects.count() == 0
    message.refresh_from_db()
    assert message.status == MessageStatus.PENDING
    assert "SourceMissing" in message.last_error


def test_a_finished_visit_records_its_encounter_diagnoses_and_vitals(make_visit):
    visit = make_visit()
    publish(visit_finished_event(visit))

    assert dispatch_until_idle().delivered == 1

    export = HisExport.objects.get()
    assert (export.source_kind, export.source_id) == (SourceKind.VISIT, visit.encounter.public_id)
    [encounter] = resources(export, "Encounter")
    assert encounter["status"] == "finished"
    assert encounter["reasonCode"] == [{"text": "发热、咽痛两天"}]
    assert encounter["period"] == {"start": "2026-03-02T09:05:00+08:00", "end": "2026-03-02T09:20:00+08:00"}
    assert encounter["serviceType"]["coding"][0]["code"] == visit.department.code
    conditions = resources(export, "Condition")
    # The primary diagnosis ranks first, whatever its position.
    assert [(c["code"]["coding"][0]["code"], c["code"]["coding"][0]["display"]) for c in conditions] == [
        ("J06.9", "急性上呼吸道感染"),
        ("J02.9", "急性咽炎"),
    ]
    assert [d["rank"] for d in encounter["diagnosis"]] == [1, 2]
    assert conditions[0]["code"]["coding"][1]["code"] == "J06.900"
    # No snapshot on the encounter: the nurse's measurement on the ticket.
    observations = {o["code"]["coding"][0]["code"]: o for o in resources(export, "Observation")}
    assert observations["8310-5"]["valueQuantity"]["value"] == Decimal("38.2")
    assert [c["valueQuantity"]["value"] for c in observations["85354-9"]["component"]] == [118, 76]
    [practitioner] = resources(export, "Practitioner")
    assert practitioner["identifier"][0]["value"] == str(visit.doctor.public_id)


def test_the_encounters_vitals_snapshot_wins_over_the_ticket(make_visit):
    visit = make_visit(
        vitals_snapshot={"temperature_c": "36.6", "pulse_bpm": 70, "measured_at": "2026-03-02T09:03:00+08:00"}
    )
    publish(visit_finished_event(visit))
    dispatch_until_idle()

    observations = {o["code"]["coding"][0]["code"]: o for o in resources(HisExport.objects.get(), "Observation")}
    assert set(observations) == {"8310-5", "8867-4"}
    assert observations["8310-5"]["valueQuantity"]["value"] == Decimal("36.6")
    assert observations["8310-5"]["effectiveDateTime"] == "2026-03-02T09:03:00+08:00"


def test_a_dependants_visit_exports_the_dependant_as_the_patient(make_visit):
    from smartclinic.identity.models import Dependant

    visit = make_visit(with_diagnoses=False)
    child = Dependant.objects.create(owner=visit.member, name="张小宝", relation="child", gender="female")
    type(visit.ticket).objects.filter(pk=visit.ticket.pk).update(dependant=child)
    publish(visit_finished_event(visit))
    dispatch_until_idle()

    [patient] = resources(HisExport.objects.get(), "Patient")
    assert patient["identifier"] == [{"system": "urn:smartclinic:dependant", "value": str(child.public_id)}]
    assert patient["name"][0]["text"] == "张小宝"
