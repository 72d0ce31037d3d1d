"""The staff delivery log: who may see it and send a failed delivery again, and its search."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from smartclinic.audit.models import AuditEntry
from smartclinic.core.actor import Actor
from smartclinic.notifications.choices import Channel, DeliveryStatus, MessageKind
from smartclinic.notifications.models import Delivery
from smartclinic.notifications.services import message_create

pytestmark = pytest.mark.django_db

PERSONAS = ["anonymous", "outsider", "patient", "nurse", "doctor", "cashier", "manager", "admin"]
VIEW_ALLOWED = {"nurse", "cashier", "manager", "admin"}
REQUEUE_ALLOWED = {"manager", "admin"}


def make_message(user, n: int, kind: str = MessageKind.REFUND_SUCCEEDED):
    message = message_create(
        actor=Actor.system(reason="test"),
        recipient=user,
        kind=kind,
        source_key=f"src:{n}",
        context=lambda language: {"patient_name": "张小明", "amount": "1.00", "until": "明天"},
    )
    assert message is not None
    return message


@pytest.fixture
def world(make_user, patient):
    user, member = patient(name="王五")
    message = make_message(user, 1)
    failed = Delivery.objects.create(
        message=message,
        channel=Channel.WECHAT,
        status=DeliveryStatus.FAILED,
        attempts=12,
        next_attempt_at=timezone.now(),
        last_error="WeChat errcode -1: system error",
    )
    personas = {
        "anonymous": None,
        "outsider": make_user("patient"),
        "patient": user,
        "nurse": make_user("nurse"),
        "doctor": make_user("doctor"),
        "cashier": make_user("cashier"),
        "manager": make_user("manager"),
        "admin": make_user("admin"),
    }
    return personas, member, failed


def signed_in(client, user):
    if user is not None:
        client.force_login(user)
    return client


@pytest.mark.parametrize("persona", PERSONAS)
def test_who_sees_the_delivery_log(client, world, persona):
    personas, member, _failed = world
    response = signed_in(client, personas[persona]).get(f"/staff/notifications/deliveries/?q={member.number}")
    body = response.content.decode()
    if persona == "anonymous":
        assert response.status_code == 302 and response["Location"].startswith("/staff/login/")
    elif persona in VIEW_ALLOWED:
        assert response.status_code == 200
        assert body.count('data-testid="delivery-row"') == 2  # the inbox and the failed WeChat one
        assert member.number in body and "system error" in body
        assert ('data-testid="delivery-requeue"' in body) == (persona in REQUEUE_ALLOWED)
    else:
        assert response.status_code == 403
        assert member.name not in body and "system error" not in body  # (the URL itself is echoed)


@pytest.mark.parametrize("persona", PERSONAS)
def test_who_sends_a_failed_delivery_again(client, world, persona):
    personas, _member, failed = world
    response = signed_in(client, personas[persona]).post(f"/staff/notifications/deliveries/{failed.public_id}/requeue/")
    failed.refresh_from_db()
    if persona in REQUEUE_ALLOWED:
        assert response.status_code == 302
        assert (failed.status, failed.attempts) == (DeliveryStatus.PENDING, 0)
        assert AuditEntry.objects.get(action="notifications.delivery_requeued").actor_id == personas[persona].pk
    else:
        assert response.status_code in (302, 403)
        if persona == "anonymous":
            assert response["Location"].startswith("/staff/login/")
        assert (failed.status, failed.attempts) == (DeliveryStatus.FAILED, 12)
        assert not AuditEntry.objects.filter(action="notifications.delivery_requeued").exists()


def test_search_by_kind_channel_status_and_date(client, world, make_user, patient):
    personas, _member, _failed = world
    other, other_member = patient(name="赵六")
    blocked = make_message(other, 2, kind=MessageKind.BOOKING_BLOCKED)
    Delivery.objects.filter(message=blocked).update(created_at=timezone.now() - dt.timedelta(days=3))
    client = signed_in(client, personas["nurse"])

    def rows(query: str) -> int:
        response = client.get(f"/staff/notifications/deliveries/?{query}")
        assert response.status_code == 200
        return response.content.decode().count('data-testid="delivery-row"')

    assert rows("") == 3
    assert rows(f"q={other_member.number}") == 1
    assert rows("q=王") == 2  # a name from its beginning
    assert rows(f"q={personas['patient'].username}") == 2
    assert rows("kind=booking_blocked") == 1
    assert rows("channel=wechat") == 1
    assert rows("status=failed") == 1
    assert rows("status=sent&channel=inbox") == 2
    today = timezone.localdate().isoformat()
    assert rows(f"date_from={today}") == 2
    assert rows(f"date_to={(timezone.localdate() - dt.timedelta(days=1)).isoformat()}") == 1
    assert rows("status=nonsense") == 3  # an invalid filter is ignored, not an error


def test_the_log_costs_the_same_queries_for_many_rows(client, world, patient, django_assert_max_num_queries):
    personas, _member, _failed = world
    for n in range(30):
        user, _ = patient()
        make_message(user, 100 + n)
    client = signed_in(client, personas["manager"])
    with django_assert_max_num_queries(10):
        response = client.get("/staff/notifications/deliveries/")
    assert response.content.decode().count('data-testid="delivery-row"') == 32
