"""Several workers at once: a delivery is claimed by one of them and sent exactly once; twin
deliveries of one event make one message. Real threads, each with its own database connection
(the PostgreSQL pass is the proof; SQLite serializes writers)."""

from __future__ import annotations

import threading
import time
from collections import Counter

import pytest
from django.db import transaction

from smartclinic.core import clock
from smartclinic.core.actor import Actor
from smartclinic.core.testing import run_concurrently
from smartclinic.notifications.channels import SendReceipt
from smartclinic.notifications.choices import Channel, DeliveryStatus, MessageKind
from smartclinic.notifications.dispatcher import deliveries_send_until_idle, delivery_claim
from smartclinic.notifications.handlers import on_refund_succeeded
from smartclinic.notifications.models import Delivery, Message
from smartclinic.notifications.services import message_create

pytestmark = pytest.mark.django_db(transaction=True)


class CountingSender:
    """A provider that takes a little time and counts what it is asked to send."""

    channel = Channel.WECHAT

    def __init__(self) -> None:
        self.calls: Counter[int] = Counter()
        self._lock = threading.Lock()

    def send(self, *, delivery: Delivery, message: Message) -> SendReceipt:
        with self._lock:
            self.calls[delivery.pk] += 1
        time.sleep(0.005)
        return SendReceipt(provider_message_id=f"p-{delivery.pk}")

    def close(self) -> None:
        return None


def pending_wechat_deliveries(user, count: int) -> list[Delivery]:
    deliveries = []
    for n in range(count):
        message = message_create(
            actor=Actor.system(reason="test"),
            recipient=user,
            kind=MessageKind.REFUND_SUCCEEDED,
            source_key=f"refund:{n}",
            context=lambda language: {"patient_name": "张小明", "amount": "1.00"},
        )
        assert message is not None
        deliveries.append(Delivery.objects.create(message=message, channel=Channel.WECHAT, next_attempt_at=clock.now()))
    return deliveries


def test_a_delivery_is_claimed_by_exactly_one_of_many_workers(patient):
    user, _member = patient()
    [delivery] = pending_wechat_deliveries(user, 1)
    now = clock.now()

    results = run_concurrently([lambda: delivery_claim(pk=delivery.pk, now=now) for _ in range(8)])

    assert not [r for r in results if isinstance(r, BaseException)], results
    winners = [r for r in results if r is not None]
    assert len(winners) == 1
    delivery.refresh_from_db()
    assert delivery.attempts == 1 and delivery.claim_token == winners[0][1]


def test_concurrent_workers_send_every_delivery_exactly_once(patient):
    user, _member = patient()
    deliveries = pending_wechat_deliveries(user, 40)
    sender = CountingSender()

    results = run_concurrently([lambda: deliveries_send_until_idle(senders={Channel.WECHAT: sender}) for _ in range(4)])

    assert not [r for r in results if isinstance(r, BaseException)], results
    assert sum(r.sent for r in results) == 40
    assert set(sender.calls) == {d.pk for d in deliveries}
    assert set(sender.calls.values()) == {1}  # none twice
    assert Delivery.objects.filter(channel=Channel.WECHAT, status=DeliveryStatus.SENT).count() == 40
    assert set(Delivery.objects.filter(channel=Channel.WECHAT).values_list("attempts", flat=True)) == {1}


def test_twin_deliveries_of_one_event_make_one_message(patient):
    user, member = patient()
    payload = {"refund_id": "r-9", "order_id": "o-9", "member_id": str(member.public_id), "amount": "100"}

    def handle() -> None:
        with transaction.atomic():
            on_refund_succeeded(payload)

    results = run_concurrently([handle for _ in range(4)])

    assert not [r for r in results if isinstance(r, BaseException)], results
    assert Message.objects.filter(recipient=user).count() == 1
    assert Delivery.objects.filter(message__recipient=user).count() == 1
