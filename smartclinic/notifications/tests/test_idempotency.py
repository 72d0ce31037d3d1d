"""One event makes one message, however often the outbox delivers it."""

from __future__ import annotations

import pytest
from django.db import transaction

from smartclinic.notifications.choices import MessageKind
from smartclinic.notifications.handlers import on_refund_succeeded
from smartclinic.notifications.models import Delivery, Message
from smartclinic.notifications.tests.conftest import book, emit, first_slot, run_outbox
from smartclinic.outbox.choices import MessageStatus
from smartclinic.outbox.dispatcher import dispatch_until_idle
from smartclinic.outbox.models import HandlerDelivery, OutboxMessage

pytestmark = pytest.mark.django_db


def test_an_event_redelivered_after_a_worker_crash_makes_one_message(patient, session):
    user, member = patient()
    book(user, member, first_slot(session))
    run_outbox()
    # The worker died after the handlers committed but before marking the event done: the lease
    # runs out and another worker delivers the same event again.
    OutboxMessage.objects.update(status=MessageStatus.PENDING, locked_until=None)
    report = dispatch_until_idle()

    assert report.delivered >= 1 and report.dead == 0
    assert Message.objects.filter(recipient=user).count() == 1
    assert Delivery.objects.filter(message__recipient=user).count() == 1


def test_the_same_event_published_twice_makes_one_message(patient):
    user, member = patient()
    payload = {"refund_id": "r-1", "order_id": "o-1", "member_id": member.public_id, "amount": 100}
    emit("billing.refund_succeeded", payload)
    emit("billing.refund_succeeded", payload)

    assert Message.objects.filter(recipient=user, kind=MessageKind.REFUND_SUCCEEDED).count() == 1
    assert Delivery.objects.count() == 1


def test_a_handler_run_again_without_its_record_still_makes_no_second_message(patient):
    """Even if the outbox's record were lost, the message's unique key holds."""
    user, member = patient()
    payload = {"refund_id": "r-2", "order_id": "o-2", "member_id": str(member.public_id), "amount": "100"}
    emit("billing.refund_succeeded", payload)
    HandlerDelivery.objects.all().delete()
    with transaction.atomic():
        on_refund_succeeded(payload)

    assert Message.objects.filter(recipient=user).count() == 1
