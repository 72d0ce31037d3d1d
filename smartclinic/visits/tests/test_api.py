"""The visits API end to end, and who may see what: a doctor reads and writes only the records
of their own queue (every read audited), a patient their own visit summaries, the day list
(doctors, nurses, managers) shows codes and statuses but no clinical free text."""

from __future__ import annotations

import datetime as dt

import pytest

from smartclinic.audit.models import AuditEntry
from smartclinic.core.actor import Actor
from smartclinic.identity.choices import Role
from smartclinic.outbox.models import OutboxMessage
from smartclinic.queueing.choices import TicketStatus
from smartclinic.queueing.models import Ticket
from smartclinic.queueing.services import ticket_call_next
from smartclinic.visits.choices import EncounterStatus
from smartclinic.visits.models import ClinicalOrder, Encounter

pytestmark = pytest.mark.django_db

SECRET_HISTORY = "患者自述近期学业压力大"
SECRET_NOTES = "考虑焦虑相关躯体症状"


def test_a_visit_through_the_api_from_start_to_the_patients_summary(api, clinic, queue_patient, fake_billing):
    ticket = queue_patient(clinic.session, name="李华")
    doctor = api(clinic.doctor.user)
    ticket_call_next(actor=Actor.of(clinic.doctor.user), doctor=clinic.doctor)

    started = doctor.post(f"/tickets/{ticket.public_id}/start")
    assert started.status_code == 201, started.data
    assert started.data["status"] == "open" and started.data["ticket_code"] == ticket.code
    assert started.data["patient"]["name"] == "李华"

    patched = doctor._call(
        "patch",
        f"/tickets/{ticket.public_id}/encounter",
        {
            "chief_complaint": "咽痛2天",
            "history": SECRET_HISTORY,
            "notes": SECRET_NOTES,
            "advice": "多饮水",
            "diagnoses": [{"code": "J06.9", "primary": True}, {"code": "R07.0"}],
        },
    )
    assert patched.status_code == 200, patched.data
    assert [(d["code"], d["primary"]) for d in patched.data["diagnoses"]] == [("J06.9", True), ("R07.0", False)]

    ordered = doctor.post(f"/tickets/{ticket.public_id}/encounter/orders", {"item": "lab-cbc", "quantity": 1})
    assert ordered.status_code == 201, ordered.data
    assert (ordered.data["amount"], ordered.data["sent"]) == (2000, False)

    finished = doctor.post(f"/tickets/{ticket.public_id}/finish")
    assert finished.status_code == 200, finished.data
    assert finished.data["status"] == "closed"
    assert finished.data["orders"][0]["billing_order_id"] == str(fake_billing.calls[0]["order_id"])
    assert Ticket.objects.get(pk=ticket.pk).status == TicketStatus.DONE
    assert OutboxMessage.objects.filter(name="visits.visit_finished").count() == 1

    patient = api(ticket.member.account)
    mine = patient.get("/me/visits")
    assert mine.status_code == 200
    (summary,) = mine.data
    assert summary["id"] == finished.data["id"]
    assert [d["code"] for d in summary["diagnoses"]] == ["J06.9", "R07.0"]
    assert summary["advice"] == "多饮水" and summary["orders_total"] == 2000
    assert "history" not in summary and "notes" not in summary
    assert SECRET_HISTORY not in mine.content.decode() and SECRET_NOTES not in mine.content.decode()
    assert patient.get(f"/me/visits/{summary['id']}").data["id"] == summary["id"]


def test_finishing_without_a_diagnosis_is_a_clear_409(api, in_visit, clinic):
    encounter = in_visit()

    response = api(clinic.doctor.user).post(f"/tickets/{encounter.ticket.public_id}/finish")

    assert response.status_code == 409
    assert response.data["code"] == "visits.diagnosis_required"
    assert Encounter.objects.get(pk=encounter.pk).status == EncounterStatus.OPEN


def test_bad_record_input_is_a_422_with_a_code(api, in_visit, clinic):
    encounter = in_visit()
    doctor = api(clinic.doctor.user)
    path = f"/tickets/{encounter.ticket.public_id}/encounter"

    unknown = doctor._call("patch", path, {"diagnoses": [{"code": "Q99.9"}]})
    too_long = doctor._call("patch", path, {"chief_complaint": "咳" * 501})
    bad_item = doctor.post(f"{path}/orders", {"item": "NOPE", "quantity": 1})
    bad_quantity = doctor.post(f"{path}/orders", {"item": "LAB-CBC", "quantity": 0})

    assert (unknown.status_code, unknown.data["code"]) == (422, "visits.unknown_diagnosis")
    assert (too_long.status_code, too_long.data["code"]) == (422, "core.invalid_input")
    assert (bad_item.status_code, bad_item.data["code"]) == (422, "visits.price_item_unavailable")
    assert (bad_quantity.status_code, bad_quantity.data["code"]) == (422, "core.invalid_input")
    assert not ClinicalOrder.objects.exists()


def test_reading_a_record_is_audited(api, in_visit, clinic):
    encounter = in_visit()

    response = api(clinic.doctor.user).get(f"/tickets/{encounter.ticket.public_id}/encounter")

    assert response.status_code == 200
    entry = AuditEntry.objects.get(action="visits.record_read")
    assert (entry.actor_id, entry.subject_id) == (clinic.doctor.user.pk, str(encounter.public_id))


def test_orders_can_be_sent_before_the_visit_ends_and_drafts_removed(api, in_visit, clinic, fake_billing):
    encounter = in_visit()
    doctor = api(clinic.doctor.user)
    base = f"/tickets/{encounter.ticket.public_id}/encounter/orders"
    first = doctor.post(base, {"item": "LAB-CBC"}).data
    second = doctor.post(base, {"item": "LAB-CRP"}).data

    removed = doctor.delete(f"{base}/{second['id']}")
    sent = doctor.post(f"{base}/send")
    refused = doctor.delete(f"{base}/{first['id']}")

    assert removed.status_code == 204
    assert sent.status_code == 200 and sent.data["billing_order_id"] == str(fake_billing.calls[0]["order_id"])
    assert [line["code"] for line in sent.data["orders"]] == ["LAB-CBC"]
    assert (refused.status_code, refused.data["code"]) == (409, "visits.order_already_sent")


# --- who may see what ----------------------------------------------------------------------------


@pytest.fixture
def personas(clinic, make_user, patient):
    return {
        "anonymous": None,
        "outsider": patient()[0],
        "nurse": make_user(Role.NURSE),
        "other_doctor": clinic.colleague.user,
        "cashier": make_user(Role.CASHIER),
        "manager": make_user(Role.MANAGER),
        "admin": make_user(Role.ADMIN),
    }


@pytest.mark.parametrize("persona", ["anonymous", "outsider", "patient", "nurse", "other_doctor", "cashier", "manager"])
def test_only_the_doctor_of_the_queue_reads_or_changes_a_record(api, in_visit, clinic, personas, persona):
    encounter = in_visit()
    user = encounter.member.account if persona == "patient" else personas[persona]
    client = api(user)
    ticket = encounter.ticket.public_id
    expected = 401 if persona == "anonymous" else 404

    responses = [
        client.get(f"/tickets/{ticket}/encounter"),
        client._call("patch", f"/tickets/{ticket}/encounter", {"notes": "x", "diagnoses": [{"code": "J00"}]}),
        client.post(f"/tickets/{ticket}/encounter/orders", {"item": "LAB-CBC"}),
        client.post(f"/tickets/{ticket}/finish"),
    ]

    assert [r.status_code for r in responses] == [expected] * 4
    assert all("咽" not in r.content.decode() for r in responses)
    fresh = Encounter.objects.get(pk=encounter.pk)
    assert (fresh.status, fresh.notes, fresh.diagnoses.count()) == (EncounterStatus.OPEN, "", 0)
    assert not ClinicalOrder.objects.exists()
    assert not AuditEntry.objects.filter(action="visits.record_read").exists()


@pytest.mark.parametrize("persona", ["outsider", "nurse", "other_doctor", "manager"])
def test_only_the_doctor_of_the_queue_starts_the_visit(api, clinic, queue_patient, personas, persona):
    ticket = queue_patient(clinic.session)
    ticket_call_next(actor=Actor.of(clinic.doctor.user), doctor=clinic.doctor)

    response = api(personas[persona]).post(f"/tickets/{ticket.public_id}/start")

    assert response.status_code == 404
    assert Ticket.objects.get(pk=ticket.pk).status == TicketStatus.CALLED
    assert not Encounter.objects.exists()


def test_a_patient_sees_only_their_own_finished_visits(api, in_visit, clinic, personas, fake_billing):
    encounter = in_visit()
    own = api(encounter.member.account)

    assert own.get("/me/visits").data == []  # not finished yet
    assert own.get(f"/me/visits/{encounter.public_id}").status_code == 404
    api(clinic.doctor.user)._call(
        "patch", f"/tickets/{encounter.ticket.public_id}/encounter", {"diagnoses": [{"code": "J00"}]}
    )
    api(clinic.doctor.user).post(f"/tickets/{encounter.ticket.public_id}/finish")

    assert [v["id"] for v in own.get("/me/visits").data] == [str(encounter.public_id)]
    other = api(personas["outsider"])
    assert other.get("/me/visits").data == []
    assert other.get(f"/me/visits/{encounter.public_id}").status_code == 404
    assert api(None).get("/me/visits").status_code == 401


@pytest.mark.parametrize(
    ("persona", "status"),
    [("anonymous", 401), ("outsider", 403), ("cashier", 403), ("admin", 403), ("nurse", 200), ("manager", 200)],
)
def test_the_day_list_is_for_doctors_nurses_and_managers(api, in_visit, clinic, personas, persona, status):
    in_visit()

    listed = api(personas[persona]).get("/visits")
    exported = api(personas[persona]).get("/visits/export")

    assert (listed.status_code, exported.status_code) == (status, status)
    assert AuditEntry.objects.filter(action__startswith="visits.visit_log_").count() == (2 if status == 200 else 0)


def test_the_day_list_shows_codes_and_statuses_and_no_free_text(api, in_visit, clinic, fake_billing, make_user):
    first = in_visit(name="王小明")
    doctor = api(clinic.doctor.user)
    doctor._call(
        "patch",
        f"/tickets/{first.ticket.public_id}/encounter",
        {
            "chief_complaint": "心慌失眠",
            "history": SECRET_HISTORY,
            "notes": SECRET_NOTES,
            "advice": "心理咨询",
            "diagnoses": [{"code": "F41.1", "primary": True}],
        },
    )
    doctor.post(f"/tickets/{first.ticket.public_id}/finish")
    in_visit(name="赵小红")  # still in the room
    manager = api(make_user(Role.MANAGER))

    rows = manager.get("/visits").data
    closed = manager.get("/visits?status=closed").data
    by_code = manager.get("/visits?code=F41").data
    other_day = manager.get(f"/visits?date={clinic.session.date - dt.timedelta(days=1)}").data
    other_department = manager.get("/visits?department=WK").data
    csv = manager.get("/visits/export")

    assert [(r["patient"]["name"], r["status"]) for r in rows] == [("王小明", "closed"), ("赵小红", "open")]
    assert [d["code"] for d in rows[0]["diagnoses"]] == ["F41.1"]
    for text in ("心慌失眠", SECRET_HISTORY, SECRET_NOTES, "心理咨询"):
        assert text not in str(rows) and text not in csv.content.decode("utf-8-sig")
    assert len(closed) == 1 and len(by_code) == 1 and other_day == [] and other_department == []
    assert csv["Content-Type"] == "text/csv; charset=utf-8"
    assert csv.content.startswith("\ufeff".encode())
    lines = csv.content.decode("utf-8-sig").splitlines()
    assert len(lines) == 3 and "F41.1" in lines[1] and "王小明" in lines[1]


def test_a_name_that_looks_like_a_formula_is_defused_in_the_csv(api, in_visit, make_user):
    in_visit(name="=HYPERLINK(1)")

    csv = api(make_user(Role.MANAGER)).get("/visits/export").content.decode("utf-8-sig")

    assert ",'=HYPERLINK(1)," in csv


def test_icd10_search_needs_a_signed_in_user_and_the_price_list_is_public(api, make_user):
    assert api(None).get("/icd10?q=J06").status_code == 401
    found = api(make_user(Role.DOCTOR)).get("/icd10?q=%E4%B8%8A%E5%91%BC%E5%90%B8%E9%81%93")  # 上呼吸道
    prices = api(None).get("/price-items?kind=medicine")

    assert found.status_code == 200
    assert found.data[0] == {
        "code": "J06.9",
        "clinical_code": "J06.900",
        "name_zh": "急性上呼吸道感染",
        "name_en": "Acute upper respiratory infection, unspecified",
        "chapter": "X",
        "common": True,
    }
    assert prices.status_code == 200 and prices.data and {p["kind"] for p in prices.data} == {"medicine"}
