"""The queue pages: the nurse's station, the waiting-room screen, the patient's ticket, the
clinic's check-in code and self check-in, and the managers' screens page."""

from __future__ import annotations

import re

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from smartclinic.core.actor import Actor
from smartclinic.identity.choices import Role
from smartclinic.queueing import screens, services
from smartclinic.queueing.choices import Priority, TicketStatus
from smartclinic.queueing.models import Screen, Ticket, Vitals
from smartclinic.queueing.presenters import mask_name
from smartclinic.queueing.tokens import clinic_code_issue, ticket_code_sign

pytestmark = pytest.mark.django_db


def signed_in(user) -> Client:
    client = Client(HTTP_ACCEPT_LANGUAGE="zh-hans")
    client.force_login(user)
    return client


@pytest.fixture
def nurse(make_user):
    return signed_in(make_user(Role.NURSE))


def test_the_station_shows_every_doctors_queue_within_a_query_budget(day, ticket_for, nurse, clock_at):
    actor = Actor.system(reason="test")
    tickets = [ticket_for(day["slots"][i % 4]) for i in range(8)]
    clock_at(7, 58)
    for ticket in tickets[:5]:
        services.ticket_check_in(actor=actor, ticket=ticket)
    services.ticket_call_next(actor=actor, doctor=day["doctor"])

    with CaptureQueriesContext(connection) as queries:
        response = nurse.get("/staff/queue/")
    assert response.status_code == 200
    html = response.content.decode()
    assert "王医生" in html and "李医生" in html
    assert tickets[0].member.name in html  # staff see full names
    assert len(queries) <= 16, [q["sql"] for q in queries]
    with CaptureQueriesContext(connection) as more:
        tickets += [ticket_for(day["slots"][i % 4]) for i in range(8)]
        for ticket in tickets[8:]:
            services.ticket_check_in(actor=actor, ticket=ticket)
    with CaptureQueriesContext(connection) as again:
        assert nurse.get("/staff/queue/board/").status_code == 200
    assert len(again) <= 12  # no query per ticket or per doctor
    assert more  # (the fixture's writes)


def test_the_station_is_for_nurses(day, make_user, patient):
    user, _ = patient()
    assert signed_in(user).get("/staff/queue/").status_code == 403
    assert signed_in(make_user(Role.CASHIER)).get("/staff/queue/").status_code == 403
    assert Client().get("/staff/queue/").status_code == 302


def test_the_nurse_finds_a_patient_by_name_or_scanned_code_and_checks_them_in(day, ticket_for, nurse, clock_at):
    ticket = ticket_for(day["slots"][0])
    clock_at(7, 58)

    by_name = nurse.get("/staff/queue/", {"q": ticket.member.name})
    scanned = nurse.get("/staff/queue/", {"q": ticket_code_sign(ticket_public_id=ticket.public_id)})
    assert 'data-testid="result-row" data-code="NK-001"' in by_name.content.decode()
    assert 'data-testid="result-row" data-code="NK-001"' in scanned.content.decode()
    url = f"/staff/queue/scan/{ticket_code_sign(ticket_public_id=ticket.public_id)}/"
    assert nurse.get(url).status_code == 302

    response = nurse.post(f"/staff/queue/tickets/{ticket.public_id}/check-in/")
    assert response.status_code == 302
    assert Ticket.objects.get(pk=ticket.pk).status == TicketStatus.ARRIVED
    again = nurse.post(f"/staff/queue/tickets/{ticket.public_id}/check-in/", follow=True)
    assert "alert-error" in again.content.decode()


def test_the_nurse_sets_priority_and_vitals_from_the_station(day, ticket_for, nurse, clock_at):
    ticket = ticket_for(day["slots"][0])
    clock_at(7, 58)
    services.ticket_check_in(actor=Actor.system(reason="test"), ticket=ticket)

    nurse.post(f"/staff/queue/tickets/{ticket.public_id}/priority/", {"priority": 1, "reason": "轮椅"})
    nurse.post(
        f"/staff/queue/tickets/{ticket.public_id}/vitals/",
        {"temperature_c": "37.2", "systolic_mmhg": "118", "diastolic_mmhg": "76", "pulse_bpm": "", "weight_kg": ""},
    )
    refused = nurse.post(f"/staff/queue/tickets/{ticket.public_id}/vitals/", {"temperature_c": "73.2"}, follow=True)

    assert Ticket.objects.get(pk=ticket.pk).priority == Priority.DISABILITY
    vitals = Vitals.objects.get(ticket=ticket)
    assert (str(vitals.temperature_c), vitals.systolic_mmhg, vitals.pulse_bpm) == ("37.2", 118, None)
    assert "alert-error" in refused.content.decode()


def test_a_walk_in_from_the_station(day, nurse, make_member, clock_at):
    clock_at(8, 5)
    member = make_member(name="猪八戒")
    page = nurse.get("/staff/queue/").content.decode()
    assert str(day["session"].public_id) in page  # offered: walk-in places left
    response = nurse.post(
        "/staff/queue/walk-in/", {"member": member.number, "session": str(day["session"].public_id)}, follow=True
    )
    assert "alert-success" in response.content.decode()
    day["session"].refresh_from_db()
    assert day["session"].walkin_used == 1


def test_the_screen_opens_with_its_token_and_shows_masked_names(day, ticket_for, clock_at):
    actor = Actor.system(reason="test")
    ticket = ticket_for(day["slots"][0])
    clock_at(7, 58)
    services.ticket_check_in(actor=actor, ticket=ticket)
    services.ticket_call_next(actor=actor, doctor=day["doctor"])
    key = screens.screen_create(actor=actor, name="内科候诊区", departments=[day["department"]])

    page = Client().get(f"/screen/{key.token}/")
    board = Client().get(f"/screen/{key.token}/board/")

    html = page.content.decode()
    assert page.status_code == 200 and board.status_code == 200
    assert "NK-001" in html and mask_name(ticket.member.name) in html
    assert ticket.member.name not in html and ticket.member.name not in board.content.decode()
    assert f'data-stream-url="/screen/{key.token}/stream/"' in html
    assert Client().get("/screen/not-the-token/").status_code == 404
    assert Screen.objects.get(pk=key.screen.pk).last_seen_at is not None


def test_the_patients_ticket_page(day, ticket_for, patient):
    ticket = ticket_for(day["slots"][0])
    mine = signed_in(ticket.member.account).get(f"/appointments/{ticket.appointment.public_id}/ticket/")
    outsider, _ = patient()
    theirs = signed_in(outsider).get(f"/appointments/{ticket.appointment.public_id}/ticket/")

    html = mine.content.decode()
    assert mine.status_code == 200
    assert "NK-001" in html and "<svg" in html
    assert f'data-ticket-stream="/appointments/{ticket.appointment.public_id}/ticket/stream/"' in html
    assert theirs.status_code == 404


def test_self_check_in_after_scanning_the_entrance_code(day, ticket_for, make_user, clock_at):
    ticket = ticket_for(day["slots"][0])
    clock_at(7, 58)
    client = signed_in(ticket.member.account)

    blocked = client.post("/queue/check-in/", {"ticket": str(ticket.public_id)}, follow=True)
    assert Ticket.objects.get(pk=ticket.pk).status == TicketStatus.WAITING
    assert "alert-error" in blocked.content.decode()

    scanned = client.get("/queue/check-in/", {"code": clinic_code_issue()})
    assert scanned.status_code == 302 and scanned["Location"] == "/queue/check-in/"
    assert 'data-testid="self-check-in"' in client.get("/queue/check-in/").content.decode()
    done = client.post("/queue/check-in/", {"ticket": str(ticket.public_id)})
    assert done.status_code == 302 and done["Location"].endswith(
        f"/appointments/{ticket.appointment.public_id}/ticket/"
    )
    assert Ticket.objects.get(pk=ticket.pk).status == TicketStatus.ARRIVED


def test_the_entrance_code_page_is_for_the_nurses(day, nurse, patient):
    response = nurse.get("/staff/queue/check-in-code/")
    html = response.content.decode()
    assert response.status_code == 200 and "<svg" in html and 'http-equiv="refresh"' in html
    user, _ = patient()
    assert signed_in(user).get("/staff/queue/check-in-code/").status_code == 403


def test_a_manager_adds_a_screen_and_gives_it_a_new_address(day, make_user):
    manager = signed_in(make_user(Role.MANAGER))
    created = manager.post("/staff/screens/", {"name": "一楼大厅", "departments": [day["department"].pk]})
    assert created.status_code == 201
    token = re.search(r"/screen/([\w-]+)/", created.content.decode()).group(1)
    screen = Screen.objects.get(name="一楼大厅")
    assert screen.token_hash != token and token not in str(Screen.objects.values().get(pk=screen.pk))
    assert Client().get(f"/screen/{token}/").status_code == 200

    rotated = manager.post(f"/staff/screens/{screen.public_id}/rotate/")
    new_token = re.search(r"/screen/([\w-]+)/", rotated.content.decode()).group(1)
    assert Client().get(f"/screen/{token}/").status_code == 404
    assert Client().get(f"/screen/{new_token}/").status_code == 200

    manager.post(f"/staff/screens/{screen.public_id}/toggle/")
    assert Client().get(f"/screen/{new_token}/").status_code == 404
    assert signed_in(make_user(Role.NURSE)).post("/staff/screens/", {"name": "x"}).status_code == 403


def test_the_streams_refuse_strangers(day, ticket_for, make_user, patient):
    ticket = ticket_for(day["slots"][0])
    outsider, _ = patient()
    nurse = signed_in(make_user(Role.NURSE))

    assert Client().get("/staff/queue/stream/").status_code == 401
    assert signed_in(make_user(Role.CASHIER)).get("/staff/queue/stream/").status_code == 403
    assert nurse.get("/staff/queue/doctor/stream/").status_code == 403  # not a doctor
    assert Client().get("/screen/wrong-token/stream/").status_code == 404
    assert signed_in(outsider).get(f"/appointments/{ticket.appointment.public_id}/ticket/stream/").status_code == 404
    assert Client().get(f"/appointments/{ticket.appointment.public_id}/ticket/stream/").status_code == 401


def test_the_admin_adds_a_screen_and_shows_its_address_once(day, admin_client):
    response = admin_client.post(
        "/admin/queueing/screen/add/", {"name": "二楼候诊区", "departments": [day["department"].pk]}, follow=True
    )
    screen = Screen.objects.get(name="二楼候诊区")
    text = response.content.decode()
    token = re.search(r"http://testserver/screen/([\w-]{20,})/", text).group(1)
    assert list(screen.departments.all()) == [day["department"]]
    assert Client().get(f"/screen/{token}/").status_code == 200
