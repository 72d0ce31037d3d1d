"""End to end through the API: book → the confirmation is in the inbox, and on WeChat for a
WeChat user, exactly once."""

from __future__ import annotations

import pytest

from smartclinic.notifications.tests.conftest import first_slot, run_outbox, send

pytestmark = pytest.mark.django_db


def test_booking_puts_a_message_in_the_inbox_and_on_wechat(api, patient, session, wechat):
    user, _member = patient(openid="o-journey")
    client = api(user)
    slot = first_slot(session)

    booked = client.post("/appointments", {"slot_id": str(slot.public_id)})
    assert booked.status_code == 201
    run_outbox()

    inbox = client.get("/me/messages").data
    assert inbox["unread"] == 1
    [item] = inbox["items"]
    assert item["kind"] == "booking_confirmed" and item["title"] == "预约成功"
    assert item["link"] == f"/appointments/{booked.data['id']}/"

    assert send().sent == 1
    assert send().handled == 0
    [pushed] = wechat.sent
    assert pushed.touser == "o-journey"
    assert pushed.data["first"]["value"] == "预约成功"
    assert pushed.url == f"https://clinic.example.edu/appointments/{booked.data['id']}/"

    read = client.post(f"/me/messages/{item['id']}/read")
    assert read.status_code == 200
    assert client.get("/me/messages/unread-count").data == {"unread": 0}
