"""The doctor's station, the day list and the patient's summary through Django's test client:
the line in calling order, call next, start, the record form (with and without the script),
orders, finish; who may open which page; query budgets of the station and the day list."""

from __future__ import annotations

import re

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils.html import escape

from smartclinic.audit.models import AuditEntry
from smartclinic.core.actor import Actor
from smartclinic.identity.choices import Role
from smartclinic.queueing.choices import Priority, TicketStatus
from smartclinic.queueing.models import Ticket
from smartclinic.queueing.services import ticket_call_next, ticket_set_priority
from smartclinic.visits.choices import EncounterStatus
from smartclinic.visits.models import ClinicalOrder, Encounter

pytestmark = pytest.mark.django_db

STATION = "/staff/doctor/"


def signed_in(user, language: str = "zh-hans") -> Client:
    client = Client(HTTP_ACCEPT_LANGUAGE=language)
    client.force_login(user)
    return client


def html(response) -> str:
    return response.content.decode()


def codes_in_line(page: str) -> list[str]:
    line = page.split('data-testid="line"', 1)[1].split("</ol>", 1)[0]
    return re.findall(r'data-testid="ticket-code">([^<]+)<', line)


def record_post(client: Client, ticket: Ticket, *, follow: bool = False, **data):
    fields = {"chief_complaint": "", "history": "", "notes": "", "advice": "", "quantity": "1", **data}
    return client.post(f"{STATION}tickets/{ticket.public_id}/record/", fields, follow=follow)


def test_the_station_shows_the_line_in_calling_order(clinic, queue_patient):
    first = queue_patient(clinic.session, name="甲同学")
    second = queue_patient(clinic.session, name="乙同学")
    urgent = queue_patient(clinic.session, name="丙同学")
    ticket_set_priority(actor=Actor.system(), ticket=urgent, priority=Priority.URGENT, reason="高热")
    queue_patient(clinic.colleague_session, name="别人的病人")

    page = html(signed_in(clinic.doctor.user).get(STATION))

    assert codes_in_line(page) == [urgent.code, first.code, second.code]
    assert "别人的病人" not in page
    assert 'data-testid="call-next"' in page and "disabled" not in page.split('data-testid="call-next"')[1][:40]


def test_call_next_then_start_opens_the_record_form(clinic, queue_patient):
    ticket = queue_patient(clinic.session, name="李华")
    client = signed_in(clinic.doctor.user)

    called = client.post(f"{STATION}call-next/", follow=True)
    assert Ticket.objects.get(pk=ticket.pk).status == TicketStatus.CALLED
    assert 'data-testid="called"' in html(called) and 'data-testid="start"' in html(called)

    started = client.post(f"{STATION}tickets/{ticket.public_id}/start/", follow=True)
    page = html(started)
    assert Ticket.objects.get(pk=ticket.pk).status == TicketStatus.IN_VISIT
    assert 'data-testid="record-form"' in page and "李华" in page
    assert 'id="id_diagnosis_query"' in page and "data-icd-url" in page
    assert AuditEntry.objects.filter(action="visits.record_read").count() == 1


def test_recall_skip_and_transfer_from_the_station(clinic, queue_patient):
    skipped = queue_patient(clinic.session)
    moved = queue_patient(clinic.session)
    client = signed_in(clinic.doctor.user)
    client.post(f"{STATION}call-next/")

    client.post(f"{STATION}tickets/{skipped.public_id}/recall/")
    assert Ticket.objects.get(pk=skipped.pk).call_count == 2
    client.post(f"{STATION}tickets/{skipped.public_id}/skip/")
    assert Ticket.objects.get(pk=skipped.pk).status == TicketStatus.SKIPPED

    refused = client.post(
        f"{STATION}tickets/{moved.public_id}/transfer/", {"to_doctor": str(clinic.surgeon.public_id)}, follow=True
    )
    assert Ticket.objects.get(pk=moved.pk).doctor_id == clinic.doctor.pk
    assert 'data-testid="messages"' in html(refused)
    client.post(f"{STATION}tickets/{moved.public_id}/transfer/", {"to_doctor": str(clinic.colleague.public_id)})
    assert Ticket.objects.get(pk=moved.pk).doctor_id == clinic.colleague.pk


def test_without_the_script_a_typed_code_or_an_unambiguous_name_is_taken(in_visit, clinic):
    encounter = in_visit()
    client = signed_in(clinic.doctor.user)

    record_post(client, encounter.ticket, chief_complaint="咳嗽", diagnosis_query="j20.9", action="save")
    record_post(
        client, encounter.ticket, chief_complaint="咳嗽", diagnosis="J20.9", diagnosis_query="痛经", primary="J20.9"
    )

    codes = list(encounter.diagnoses.order_by("position").values_list("code__code", "primary"))
    assert codes == [("J20.9", True), ("N94.6", False)]
    assert Encounter.objects.get(pk=encounter.pk).chief_complaint == "咳嗽"


def test_an_ambiguous_name_keeps_what_was_typed_and_lists_the_matches(in_visit, clinic):
    encounter = in_visit()

    response = record_post(
        signed_in(clinic.doctor.user), encounter.ticket, chief_complaint="发热咽痛", diagnosis_query="咽炎"
    )

    page = html(response)
    assert response.status_code == 422
    assert "J02.9" in page and "发热咽痛" in page
    assert Encounter.objects.get(pk=encounter.pk).chief_complaint == ""


def test_orders_and_finish_through_the_record_form(in_visit, clinic, fake_billing):
    encounter = in_visit()
    client = signed_in(clinic.doctor.user)

    record_post(client, encounter.ticket, diagnosis="J06.9", item="MED-IBU-SR", quantity="2", action="add_order")
    line = ClinicalOrder.objects.get()
    page = html(client.get(STATION))
    assert 'data-testid="order-line"' in page and "¥31.60" in page
    record_post(client, encounter.ticket, diagnosis="J06.9", action=f"remove_order:{line.public_id}")
    assert not ClinicalOrder.objects.exists()
    record_post(client, encounter.ticket, diagnosis="J06.9", item="LAB-CBC", action="add_order")

    finished = record_post(client, encounter.ticket, diagnosis="J06.9", advice="多喝水", action="finish")

    assert finished.status_code == 302
    fresh = Encounter.objects.get(pk=encounter.pk)
    assert (fresh.status, fresh.advice) == (EncounterStatus.CLOSED, "多喝水")
    assert ClinicalOrder.objects.get().billing_order_id is not None
    after = html(client.get(STATION))
    assert 'data-testid="no-record"' in after and 'data-testid="done-record"' in after


def test_finish_without_a_diagnosis_shows_the_reason(in_visit, clinic):
    encounter = in_visit()

    page = html(record_post(signed_in(clinic.doctor.user), encounter.ticket, action="finish", follow=True))

    assert "diagnosis" in page.lower() or "诊断" in page
    assert Encounter.objects.get(pk=encounter.pk).status == EncounterStatus.OPEN


def test_the_doctor_reads_a_finished_visit_of_their_queue_only(in_visit, clinic, fake_billing):
    encounter = in_visit()
    client = signed_in(clinic.doctor.user)
    record_post(client, encounter.ticket, diagnosis="J00", notes="心肺听诊无异常", action="finish")

    own = client.get(f"{STATION}visits/{encounter.public_id}/")
    other = signed_in(clinic.colleague.user).get(f"{STATION}visits/{encounter.public_id}/")

    assert own.status_code == 200 and "心肺听诊无异常" in html(own)
    assert other.status_code == 404
    assert AuditEntry.objects.filter(action="visits.record_read", actor_id=clinic.colleague.user.pk).count() == 0


def test_another_doctors_ticket_cannot_be_worked_from_my_station(clinic, queue_patient):
    ticket = queue_patient(clinic.colleague_session)
    ticket_call_next(actor=Actor.of(clinic.colleague.user), doctor=clinic.colleague)
    client = signed_in(clinic.doctor.user)

    for action in ("start", "recall", "skip", "record"):
        assert client.post(f"{STATION}tickets/{ticket.public_id}/{action}/").status_code == 404
    assert Ticket.objects.get(pk=ticket.pk).status == TicketStatus.CALLED


def test_who_may_open_the_station(clinic, make_user, patient):
    assert Client().get(STATION).status_code == 302
    assert signed_in(patient()[0]).get(STATION).status_code == 403
    assert signed_in(make_user(Role.NURSE)).get(STATION).status_code == 403
    no_profile = signed_in(make_user(Role.DOCTOR)).get(STATION)
    assert no_profile.status_code == 403 and 'data-testid="no-doctor"' in html(no_profile)


def test_the_station_stays_within_its_query_budget(clinic, queue_patient, in_visit):
    in_visit()
    for _ in range(6):
        queue_patient(clinic.session)
    client = signed_in(clinic.doctor.user)
    client.get(STATION)

    with CaptureQueriesContext(connection) as few:
        client.get(STATION)
    for _ in range(6):
        queue_patient(clinic.session)
    with CaptureQueriesContext(connection) as many:
        client.get(STATION)

    assert len(many) == len(few)  # no query per patient
    assert len(few) <= 30


def test_the_patient_reads_their_summary_on_the_phone(in_visit, clinic, fake_billing, patient):
    encounter = in_visit(name="李华")
    client = signed_in(clinic.doctor.user)
    record = {
        "chief_complaint": "咽痛",
        "history": "受凉",
        "notes": "咽部充血",
        "advice": "多饮水",
        "diagnosis": "J02.9",
    }
    record_post(client, encounter.ticket, **record, item="MED-AMOX", action="add_order")
    record_post(client, encounter.ticket, **record, action="finish")
    me = signed_in(encounter.member.account)

    listing = html(me.get("/me/visits/"))
    summary = me.get(f"/visits/{encounter.public_id}/")

    assert f"/visits/{encounter.public_id}/" in listing
    page = html(summary)
    assert summary.status_code == 200
    assert "急性咽炎" in page and "多饮水" in page and "阿莫西林胶囊" in page and "¥8.60" in page
    assert "受凉" not in page and "咽部充血" not in page
    assert signed_in(patient()[0]).get(f"/visits/{encounter.public_id}/").status_code == 404
    assert signed_in(clinic.doctor.user).get(f"/visits/{encounter.public_id}/").status_code == 404


def test_the_day_list_page_filters_and_exports(in_visit, clinic, make_user, fake_billing):
    encounter = in_visit(name="王小明")
    record_post(signed_in(clinic.doctor.user), encounter.ticket, diagnosis="L70.0", notes="秘密", action="finish")
    in_visit(name="赵小红")
    manager = signed_in(make_user(Role.MANAGER))

    page = html(manager.get("/staff/visits/"))
    filtered = html(manager.get("/staff/visits/?status=closed&code=L70"))
    export = manager.get("/staff/visits/export.csv?status=closed")

    assert "王小明" in page and "赵小红" in page and "L70.0" in page and "秘密" not in page
    assert "王小明" in filtered and "赵小红" not in filtered
    assert escape("/staff/visits/export.csv?status=closed&code=L70") in filtered
    assert export.status_code == 200 and "王小明" in export.content.decode("utf-8-sig")
    assert "赵小红" not in export.content.decode("utf-8-sig")
    assert signed_in(make_user(Role.CASHIER)).get("/staff/visits/").status_code == 403


def test_the_day_list_stays_within_its_query_budget(in_visit, make_user):
    for _ in range(2):
        in_visit()
    manager = signed_in(make_user(Role.MANAGER))
    manager.get("/staff/visits/")

    with CaptureQueriesContext(connection) as few:
        manager.get("/staff/visits/")
    for _ in range(4):
        in_visit()
    with CaptureQueriesContext(connection) as many:
        manager.get("/staff/visits/")

    assert len(many) == len(few)
