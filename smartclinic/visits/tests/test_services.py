"""The visit at the service layer: start, write the record, order, send to billing, finish.
Each test checks the rows read back, the audit entries and the outbox messages; a refused
write changes nothing."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest
from django.db import connection

from smartclinic.audit.models import AuditEntry
from smartclinic.booking.choices import AppointmentStatus
from smartclinic.core.actor import Actor
from smartclinic.core.errors import ApplicationError
from smartclinic.outbox.models import OutboxMessage
from smartclinic.queueing.choices import TicketStatus
from smartclinic.queueing.errors import TicketStateError
from smartclinic.queueing.models import Ticket, Vitals
from smartclinic.queueing.services import ticket_call_next
from smartclinic.visits.choices import EncounterStatus
from smartclinic.visits.errors import (
    DiagnosisRequired,
    EncounterClosed,
    InvalidQuantity,
    InvalidTransfer,
    OrderAlreadySent,
    PriceItemUnavailable,
    RecordTooLong,
    TooManyDiagnoses,
    UnknownDiagnosis,
)
from smartclinic.visits.models import ClinicalOrder, Encounter, EncounterDiagnosis, PriceItem
from smartclinic.visits.services import (
    DiagnosisIn,
    encounter_finish,
    encounter_order_add,
    encounter_order_remove,
    encounter_orders_send,
    encounter_record_update,
    encounter_start,
    ticket_transfer_to_colleague,
)

pytestmark = pytest.mark.django_db


def doctor_actor(clinic) -> Actor:
    return Actor.of(clinic.doctor.user)


def messages(name: str) -> list[dict]:
    return list(OutboxMessage.objects.filter(name=name).values_list("payload", flat=True))


def actions(subject: Encounter) -> list[str]:
    return list(
        AuditEntry.objects.filter(subject_id=str(subject.public_id)).order_by("id").values_list("action", flat=True)
    )


def item(code: str) -> PriceItem:
    return PriceItem.objects.get(code=code)


# --- start ----------------------------------------------------------------------------------------


def test_start_puts_the_called_patient_in_the_room_and_opens_the_record(clinic, queue_patient):
    ticket = queue_patient(clinic.session, name="李华")
    called = ticket_call_next(actor=doctor_actor(clinic), doctor=clinic.doctor)

    encounter = encounter_start(actor=doctor_actor(clinic), ticket=called)

    ticket.refresh_from_db()
    assert ticket.status == TicketStatus.IN_VISIT
    assert encounter.status == EncounterStatus.OPEN
    assert (encounter.ticket_id, encounter.appointment_id, encounter.member_id) == (
        ticket.pk,
        ticket.appointment_id,
        ticket.member_id,
    )
    assert (encounter.doctor, encounter.department, encounter.date) == (
        clinic.doctor,
        clinic.department,
        clinic.session.date,
    )
    assert encounter.started_at == ticket.started_at
    assert actions(encounter) == ["visits.encounter_started"]
    assert AuditEntry.objects.filter(action="queueing.ticket_started", subject_id=str(ticket.public_id)).count() == 1
    assert messages("visits.visit_finished") == []


def test_a_ticket_not_called_cannot_start_and_nothing_opens(clinic, queue_patient):
    ticket = queue_patient(clinic.session)

    with pytest.raises(TicketStateError):
        encounter_start(actor=doctor_actor(clinic), ticket=ticket)

    assert Ticket.objects.get(pk=ticket.pk).status == TicketStatus.ARRIVED
    assert not Encounter.objects.exists()


def test_starting_twice_keeps_one_record(in_visit, clinic):
    encounter = in_visit()

    with pytest.raises(TicketStateError):
        encounter_start(actor=doctor_actor(clinic), ticket=encounter.ticket)

    assert Encounter.objects.count() == 1


# --- the record -----------------------------------------------------------------------------------


def test_the_record_is_written_and_the_audit_names_fields_and_codes_only(in_visit, clinic):
    encounter = in_visit()

    updated = encounter_record_update(
        actor=doctor_actor(clinic),
        encounter=encounter,
        chief_complaint="咽痛、发热2天",
        history="2天前受凉后出现咽痛，最高体温38.5℃。",
        notes="咽部充血，扁桃体I度肿大。",
        advice="多饮水，注意休息，3天不退热复诊。",
        diagnoses=[DiagnosisIn("R50.9"), DiagnosisIn("j06.900", primary=True)],
    )

    assert updated.chief_complaint == "咽痛、发热2天"
    assert updated.notes == "咽部充血，扁桃体I度肿大。"
    assert [(d.code.code, d.primary) for d in updated.diagnoses.all()] == [("J06.9", True), ("R50.9", False)]
    entry = AuditEntry.objects.get(action="visits.record_updated")
    assert entry.new_values == {
        "fields": ["chief_complaint", "history", "notes", "advice"],
        "diagnoses": ["J06.9", "R50.9"],
    }
    assert entry.old_values == {"diagnoses": []}
    assert "咽" not in json.dumps(entry.new_values, ensure_ascii=False)


def test_history_and_notes_are_encrypted_at_rest(in_visit, clinic):
    encounter = in_visit()
    encounter_record_update(actor=doctor_actor(clinic), encounter=encounter, history="既往体健", notes="心肺无异常")

    with connection.cursor() as cursor:
        cursor.execute("SELECT history, notes, chief_complaint FROM visits_encounter WHERE id = %s", [encounter.pk])
        history, notes, _complaint = cursor.fetchone()

    assert "既往体健" not in history and "心肺无异常" not in notes
    assert Encounter.objects.get(pk=encounter.pk).history == "既往体健"


def test_saving_the_same_record_again_writes_no_audit_entry(in_visit, clinic):
    encounter = in_visit()
    encounter_record_update(actor=doctor_actor(clinic), encounter=encounter, chief_complaint="咳嗽", diagnoses=[])
    encounter_record_update(actor=doctor_actor(clinic), encounter=encounter, chief_complaint="咳嗽 ", diagnoses=[])

    assert AuditEntry.objects.filter(action="visits.record_updated").count() == 1


@pytest.mark.parametrize(
    ("change", "error"),
    [
        ({"diagnoses": [DiagnosisIn("X99.9")]}, UnknownDiagnosis),
        ({"diagnoses": [DiagnosisIn(c) for c in ["J00", "J02.9", "J03.9", "J04.0", "J06.0", "J06.8", "J06.9",
                                                  "J11.1", "J12.9", "J15.7", "J18.0"]]}, TooManyDiagnoses),
        ({"chief_complaint": "咳" * 501}, RecordTooLong),
    ],
)  # fmt: skip
def test_a_bad_record_is_refused_and_nothing_changes(in_visit, clinic, change, error):
    encounter = in_visit()
    encounter_record_update(actor=doctor_actor(clinic), encounter=encounter, diagnoses=[DiagnosisIn("J00")])

    with pytest.raises(error) as caught:
        encounter_record_update(actor=doctor_actor(clinic), encounter=encounter, notes="changed", **change)

    assert caught.value.code.startswith("visits.")
    fresh = Encounter.objects.get(pk=encounter.pk)
    assert fresh.notes == ""
    assert list(EncounterDiagnosis.objects.filter(encounter=encounter).values_list("code__code", flat=True)) == ["J00"]


# --- orders ---------------------------------------------------------------------------------------


def test_an_order_copies_the_price_and_stays_a_draft(in_visit, clinic):
    encounter = in_visit()

    line = encounter_order_add(
        actor=doctor_actor(clinic), encounter=encounter, price_item=item("MED-IBU-SR"), quantity=2
    )

    assert (line.code, line.name, line.kind, line.unit_price, line.quantity, line.amount) == (
        "MED-IBU-SR",
        "布洛芬缓释胶囊",
        "medicine",
        1580,
        2,
        3160,
    )
    assert line.billing_order_id is None
    assert AuditEntry.objects.get(action="visits.order_added").new_values["amount"] == 3160


@pytest.mark.parametrize("quantity", [0, 100])
def test_an_order_quantity_out_of_range_is_refused(in_visit, clinic, quantity):
    encounter = in_visit()

    with pytest.raises(InvalidQuantity):
        encounter_order_add(
            actor=doctor_actor(clinic), encounter=encounter, price_item=item("LAB-CBC"), quantity=quantity
        )

    assert not ClinicalOrder.objects.exists()


def test_an_item_off_the_price_list_cannot_be_ordered(in_visit, clinic):
    encounter = in_visit()
    PriceItem.objects.filter(code="LAB-CBC").update(active=False)

    with pytest.raises(PriceItemUnavailable):
        encounter_order_add(actor=doctor_actor(clinic), encounter=encounter, price_item=item("LAB-CBC"), quantity=1)


def test_draft_lines_can_be_removed_sent_ones_cannot(in_visit, clinic, fake_billing):
    encounter = in_visit()
    actor = doctor_actor(clinic)
    sent = encounter_order_add(actor=actor, encounter=encounter, price_item=item("LAB-CBC"), quantity=1)
    encounter_orders_send(actor=actor, encounter=encounter)
    draft = encounter_order_add(actor=actor, encounter=encounter, price_item=item("LAB-CRP"), quantity=1)

    encounter_order_remove(actor=actor, order=draft)
    with pytest.raises(OrderAlreadySent):
        encounter_order_remove(actor=actor, order=sent)

    assert list(ClinicalOrder.objects.values_list("code", flat=True)) == ["LAB-CBC"]


def test_sending_orders_makes_one_billing_order_for_the_drafts(in_visit, clinic, fake_billing):
    encounter = in_visit()
    actor = doctor_actor(clinic)
    encounter_order_add(actor=actor, encounter=encounter, price_item=item("LAB-CBC"), quantity=1)
    encounter_order_add(actor=actor, encounter=encounter, price_item=item("MED-AMOX"), quantity=2)

    order_id = encounter_orders_send(actor=actor, encounter=encounter)

    (call,) = fake_billing.calls
    assert order_id == call["order_id"]
    assert call["member"] == encounter.member and call["dependant"] is None
    assert call["encounter_id"] == encounter.public_id
    assert [(ln.code, ln.name, ln.kind, ln.unit_price, ln.quantity) for ln in call["lines"]] == [
        ("LAB-CBC", "血常规(五分类)", "test", 2000, 1),
        ("MED-AMOX", "阿莫西林胶囊", "medicine", 860, 2),
    ]
    assert set(ClinicalOrder.objects.values_list("billing_order_id", flat=True)) == {order_id}
    assert messages("visits.orders_sent") == [
        {
            "encounter_id": str(encounter.public_id),
            "member_id": str(encounter.member.public_id),
            "order_id": str(order_id),
        }
    ]
    assert encounter_orders_send(actor=actor, encounter=encounter) is None  # nothing left to send
    assert len(fake_billing.calls) == 1


def test_a_dependants_orders_are_billed_to_the_dependant(clinic, queue_patient, patient, fake_billing):
    owner = patient(kind="staff", name="张老师")
    ticket = queue_patient(clinic.session, dependant_of=owner)
    actor = doctor_actor(clinic)
    encounter = encounter_start(actor=actor, ticket=ticket_call_next(actor=actor, doctor=clinic.doctor))
    encounter_order_add(actor=actor, encounter=encounter, price_item=item("LAB-URINE"), quantity=1)

    encounter_orders_send(actor=actor, encounter=encounter)

    assert fake_billing.calls[0]["dependant"] == ticket.dependant
    assert fake_billing.calls[0]["member"] == owner[1]


# --- finish ---------------------------------------------------------------------------------------


def test_finish_closes_everything_in_one_go_and_publishes_the_visit(in_visit, clinic, fake_billing, make_user):
    encounter = in_visit()
    actor = doctor_actor(clinic)
    nurse = make_user("nurse")
    Vitals.objects.create(ticket=encounter.ticket, temperature_c=Decimal("37.0"), measured_by=nurse)
    Vitals.objects.create(
        ticket=encounter.ticket,
        temperature_c=Decimal("38.6"),
        systolic_mmhg=118,
        diastolic_mmhg=76,
        pulse_bpm=96,
        measured_by=nurse,
    )
    encounter_record_update(
        actor=actor, encounter=encounter, chief_complaint="发热", diagnoses=[DiagnosisIn("J06.9", primary=True)]
    )
    encounter_order_add(actor=actor, encounter=encounter, price_item=item("LAB-CBC"), quantity=1)

    finished = encounter_finish(actor=actor, encounter=encounter)

    assert finished.status == EncounterStatus.CLOSED and finished.finished_at is not None
    assert finished.vitals["temperature_c"] == "38.6" and finished.vitals["pulse_bpm"] == 96
    ticket = Ticket.objects.get(pk=encounter.ticket_id)
    assert ticket.status == TicketStatus.DONE
    assert ticket.appointment.status == AppointmentStatus.COMPLETED
    assert ClinicalOrder.objects.get().billing_order_id == fake_billing.calls[0]["order_id"]
    assert messages("visits.visit_finished") == [
        {
            "encounter_id": str(encounter.public_id),
            "ticket_id": str(ticket.public_id),
            "appointment_id": str(ticket.appointment.public_id),
            "member_id": str(encounter.member.public_id),
            "doctor_id": str(clinic.doctor.public_id),
        }
    ]
    assert actions(finished)[-2:] == ["visits.orders_sent", "visits.encounter_finished"]
    assert AuditEntry.objects.get(action="visits.encounter_finished").new_values == {
        "status": "closed",
        "diagnoses": ["J06.9"],
    }


def test_finish_without_a_diagnosis_is_refused_and_nothing_changes(in_visit, clinic, fake_billing):
    encounter = in_visit()
    encounter_order_add(actor=doctor_actor(clinic), encounter=encounter, price_item=item("LAB-CBC"), quantity=1)

    with pytest.raises(DiagnosisRequired):
        encounter_finish(actor=doctor_actor(clinic), encounter=encounter)

    assert Encounter.objects.get(pk=encounter.pk).status == EncounterStatus.OPEN
    assert Ticket.objects.get(pk=encounter.ticket_id).status == TicketStatus.IN_VISIT
    assert fake_billing.calls == [] and not OutboxMessage.objects.filter(name__startswith="visits.").exists()


def test_when_billing_refuses_the_orders_the_visit_stays_open(in_visit, clinic, fake_billing):
    class BillingSaysNo(ApplicationError):
        code = "billing.invalid_order_lines"

    encounter = in_visit()
    actor = doctor_actor(clinic)
    encounter_record_update(actor=actor, encounter=encounter, diagnoses=[DiagnosisIn("J00")])
    encounter_order_add(actor=actor, encounter=encounter, price_item=item("LAB-CBC"), quantity=1)
    fake_billing.fail_with = BillingSaysNo()
    before = AuditEntry.objects.count()

    with pytest.raises(BillingSaysNo):
        encounter_finish(actor=actor, encounter=encounter)

    assert Encounter.objects.get(pk=encounter.pk).status == EncounterStatus.OPEN
    assert Ticket.objects.get(pk=encounter.ticket_id).status == TicketStatus.IN_VISIT
    assert ClinicalOrder.objects.get().billing_order_id is None
    assert not OutboxMessage.objects.filter(name__startswith="visits.").exists()
    assert AuditEntry.objects.count() == before


def test_a_finished_visit_cannot_be_finished_or_changed_again(in_visit, clinic, fake_billing):
    encounter = in_visit()
    actor = doctor_actor(clinic)
    encounter_record_update(actor=actor, encounter=encounter, diagnoses=[DiagnosisIn("J00")])
    encounter_finish(actor=actor, encounter=encounter)

    with pytest.raises(EncounterClosed):
        encounter_finish(actor=actor, encounter=encounter)
    with pytest.raises(EncounterClosed):
        encounter_record_update(actor=actor, encounter=encounter, notes="later")
    with pytest.raises(EncounterClosed):
        encounter_order_add(actor=actor, encounter=encounter, price_item=item("LAB-CBC"), quantity=1)

    assert len(messages("visits.visit_finished")) == 1


def test_without_vitals_the_snapshot_is_empty(in_visit, clinic, fake_billing):
    encounter = in_visit()
    encounter_record_update(actor=doctor_actor(clinic), encounter=encounter, diagnoses=[DiagnosisIn("K29.7")])

    assert encounter_finish(actor=doctor_actor(clinic), encounter=encounter).vitals == {}


# --- transfer from the station --------------------------------------------------------------------


def test_a_patient_goes_to_a_colleague_of_the_department_only(clinic, queue_patient):
    ticket = queue_patient(clinic.session)
    actor = doctor_actor(clinic)

    with pytest.raises(InvalidTransfer):
        ticket_transfer_to_colleague(actor=actor, ticket=ticket, to_doctor=clinic.surgeon, date=clinic.session.date)
    moved = ticket_transfer_to_colleague(
        actor=actor, ticket=ticket, to_doctor=clinic.colleague, date=clinic.session.date
    )

    assert moved.doctor_id == clinic.colleague.pk and moved.status == TicketStatus.ARRIVED
