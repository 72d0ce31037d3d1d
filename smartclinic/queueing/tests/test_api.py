"""The queue API end to end: the patient's ticket, check-in three ways, walk-ins, the doctor's
calls and the nurse's actions; and who may do what (denied means the status, no data, nothing
changed)."""

from __future__ import annotations

import pytest
import time_machine

from smartclinic.core.actor import Actor
from smartclinic.identity.choices import Role
from smartclinic.queueing import services
from smartclinic.queueing.choices import Priority, TicketStatus
from smartclinic.queueing.models import QueueEvent, Ticket, Vitals
from smartclinic.queueing.tokens import clinic_code_issue, ticket_code_sign

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff(make_user, day):
    nurse = make_user(Role.NURSE)
    cashier = make_user(Role.CASHIER)
    manager = make_user(Role.MANAGER)
    return {"nurse": nurse, "cashier": cashier, "manager": manager, "doctor": day["doctor"].user}


def checked_in(ticket_for, slot, clock_at):
    ticket = ticket_for(slot)
    clock_at(7, 58)
    return services.ticket_check_in(actor=Actor.system(reason="test"), ticket=ticket)


def test_the_patient_reads_their_ticket(day, ticket_for, api, clock_at):
    mine = ticket_for(day["slots"][1])
    clock_at(7, 58)
    services.ticket_check_in(actor=Actor.system(reason="t"), ticket=ticket_for(day["slots"][0]))
    response = api(mine.member.account).get(f"/appointments/{mine.appointment.public_id}/ticket")

    assert response.status_code == 200, response.data
    data = response.data
    assert (data["code"], data["number"], data["status"], data["ahead"]) == ("NK-001", 1, "waiting", 1)
    assert data["eta_minutes"] == 10  # one checked in ahead, ten minutes a visit before any pace
    assert (data["doctor"], data["room"], data["department"]) == ("王医生", "3", "内科")
    assert data["check_in_code"].startswith(str(mine.public_id))


def test_someone_else_cannot_read_the_ticket(day, ticket_for, api, patient):
    ticket = ticket_for(day["slots"][0])
    outsider, _ = patient()
    response = api(outsider).get(f"/appointments/{ticket.appointment.public_id}/ticket")
    assert response.status_code == 404 and response.data["code"] == "core.not_found"
    assert "code" not in response.data.get("extra", {})
    assert api().get(f"/appointments/{ticket.appointment.public_id}/ticket").status_code == 401


def test_the_nurse_checks_in_by_id_and_by_scanning(day, ticket_for, api, staff, clock_at):
    a, b = ticket_for(day["slots"][0]), ticket_for(day["slots"][1])
    clock_at(7, 58)
    nurse = api(staff["nurse"])

    by_id = nurse.post("/checkins", {"ticket_id": str(a.public_id)})
    by_code = nurse.post(
        "/checkins",
        {"ticket_code": f"https://clinic/staff/queue/scan/{ticket_code_sign(ticket_public_id=b.public_id)}/"},
    )

    assert by_id.status_code == 200 and by_id.data["tickets"][0]["status"] == "arrived"
    assert by_code.status_code == 200 and by_code.data["tickets"][0]["code"] == "NK-002"
    forged = nurse.post("/checkins", {"ticket_code": f"{b.public_id}:1abc:forgedsignature"})
    assert forged.status_code == 400 and forged.data["code"] == "queueing.invalid_check_in_code"


def test_the_patient_checks_in_after_scanning_the_clinic_code(day, ticket_for, api, clock_at):
    ticket = ticket_for(day["slots"][0])
    clock_at(7, 58)
    client = api(ticket.member.account)

    response = client.post("/checkins", {"clinic_code": clinic_code_issue()})

    assert response.status_code == 200, response.data
    assert [t["code"] for t in response.data["tickets"]] == ["NK-001"]
    assert Ticket.objects.get(pk=ticket.pk).status == TicketStatus.ARRIVED
    again = client.post("/checkins", {"clinic_code": clinic_code_issue()})
    assert again.status_code == 404 and again.data["code"] == "queueing.nothing_to_check_in"


def test_an_old_clinic_code_is_refused(day, ticket_for, api, clock_at):
    ticket = ticket_for(day["slots"][0])
    clock_at(7, 50)
    code = clinic_code_issue()
    clock_at(7, 55)  # five minutes later: a photo taken yesterday would be older still
    response = api(ticket.member.account).post("/checkins", {"clinic_code": code})
    assert response.status_code == 400 and response.data["code"] == "queueing.invalid_check_in_code"
    assert Ticket.objects.get(pk=ticket.pk).status == TicketStatus.WAITING


def test_a_patient_cannot_check_in_others_by_id(day, ticket_for, api, patient, clock_at):
    ticket = ticket_for(day["slots"][0])
    user, _ = patient()
    clock_at(7, 58)
    response = api(user).post("/checkins", {"ticket_id": str(ticket.public_id)})
    assert response.status_code == 403
    assert Ticket.objects.get(pk=ticket.pk).status == TicketStatus.WAITING


def test_the_doctor_calls_recalls_and_skips_their_own_queue(day, ticket_for, api, staff, clock_at):
    ticket = checked_in(ticket_for, day["slots"][0], clock_at)
    doctor = api(staff["doctor"])

    called = doctor.post(f"/queues/{day['session'].public_id}/call-next")
    assert called.status_code == 200, called.data
    assert (called.data["code"], called.data["status"], called.data["room"]) == ("NK-001", "called", "3")
    assert called.data["patient_name"] == ticket.member.name

    busy = doctor.post(f"/queues/{day['session'].public_id}/call-next")
    assert busy.status_code == 409 and busy.data["code"] == "queueing.patient_already_called"
    assert doctor.post(f"/tickets/{ticket.public_id}/recall").data["call_count"] == 2
    assert doctor.post(f"/tickets/{ticket.public_id}/skip").data["status"] == "skipped"

    queue = doctor.get(f"/queues/{day['session'].public_id}")
    assert [t["code"] for t in queue.data] == ["NK-001"]


def test_nobody_calls_another_doctors_queue(day, ticket_for, api, staff, clock_at):
    ticket = checked_in(ticket_for, day["slots"][0], clock_at)
    other_doctor = api(day["other"].user)
    events = QueueEvent.objects.count()

    assert other_doctor.post(f"/queues/{day['session'].public_id}/call-next").status_code == 404
    assert other_doctor.post(f"/tickets/{ticket.public_id}/skip").status_code == 404
    for persona in ("nurse", "cashier", "manager"):
        assert api(staff[persona]).post(f"/queues/{day['session'].public_id}/call-next").status_code == 403
    assert api().post(f"/queues/{day['session'].public_id}/call-next").status_code == 401
    assert QueueEvent.objects.count() == events
    assert Ticket.objects.get(pk=ticket.pk).status == TicketStatus.ARRIVED


def test_the_nurse_sets_priority_records_vitals_transfers_and_rejoins(day, ticket_for, api, staff, clock_at):
    ticket = checked_in(ticket_for, day["slots"][0], clock_at)
    nurse = api(staff["nurse"])

    no_reason = nurse.post(f"/tickets/{ticket.public_id}/priority", {"priority": "urgent"})
    assert no_reason.status_code == 422 and no_reason.data["code"] == "queueing.priority_reason_required"
    prio = nurse.post(f"/tickets/{ticket.public_id}/priority", {"priority": "urgent", "reason": "高热 39.6"})
    assert prio.status_code == 200 and prio.data["priority"] == "urgent"
    assert Ticket.objects.get(pk=ticket.pk).priority == Priority.URGENT

    vitals = nurse.post(
        f"/tickets/{ticket.public_id}/vitals",
        {"temperature_c": "39.6", "systolic_mmhg": 128, "diastolic_mmhg": 82, "pulse_bpm": 104, "weight_kg": "61.5"},
    )
    assert vitals.status_code == 201, vitals.data
    assert Vitals.objects.get(ticket=ticket).pulse_bpm == 104
    typo = nurse.post(f"/tickets/{ticket.public_id}/vitals", {"temperature_c": "365.0"})
    assert typo.status_code == 422
    bad = nurse.post(f"/tickets/{ticket.public_id}/vitals", {"systolic_mmhg": 80, "diastolic_mmhg": 120})
    assert bad.status_code == 422 and bad.data["code"] == "queueing.invalid_vitals"
    assert Vitals.objects.filter(ticket=ticket).count() == 1

    moved = nurse.post(f"/tickets/{ticket.public_id}/transfer", {"doctor_id": str(day["other"].public_id)})
    assert moved.status_code == 200 and moved.data["room"] == "5"

    called = api(day["other"].user).post(f"/queues/{day['other_session'].public_id}/call-next")
    assert called.data["code"] == ticket.code
    api(day["other"].user).post(f"/tickets/{ticket.public_id}/skip")
    back = nurse.post(f"/tickets/{ticket.public_id}/rejoin")
    assert back.status_code == 200 and back.data["status"] == "arrived"


def test_doctors_and_cashiers_cannot_do_the_nurses_work(day, ticket_for, api, staff, clock_at):
    ticket = checked_in(ticket_for, day["slots"][0], clock_at)
    for persona in ("doctor", "cashier", "manager"):
        client = api(staff[persona])
        assert (
            client.post(f"/tickets/{ticket.public_id}/priority", {"priority": "urgent", "reason": "x"}).status_code
            == 403
        )
        assert client.post(f"/tickets/{ticket.public_id}/vitals", {"pulse_bpm": 80}).status_code == 403
    assert Ticket.objects.get(pk=ticket.pk).priority == Priority.NORMAL
    assert not Vitals.objects.exists()


def test_walk_in_from_the_station(day, api, staff, make_member, clock_at):
    clock_at(8, 10)
    member = make_member(name="孙悟空")
    response = api(staff["cashier"]).post(
        "/walk-ins", {"session_id": str(day["session"].public_id), "member_number": member.card_number}
    )
    assert response.status_code == 201, response.data
    assert response.data["status"] == "booked" and response.data["fee"] == day["session"].fee
    day["session"].refresh_from_db()
    assert day["session"].walkin_used == 1

    # A walk-in is for a session running today.
    with time_machine.travel("2026-03-01 10:00 +08:00", tick=False):
        early = api(staff["nurse"]).post(
            "/walk-ins", {"session_id": str(day["other_session"].public_id), "member_number": member.number}
        )
    assert early.status_code == 409 and early.data["code"] == "queueing.wrong_day"
    assert (
        api(staff["doctor"])
        .post("/walk-ins", {"session_id": str(day["session"].public_id), "member_number": member.number})
        .status_code
        == 403
    )
