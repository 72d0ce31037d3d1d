from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from uuid import UUID, uuid4

import pytest
import time_machine
from django.db import transaction

from smartclinic.audit.models import AuditEntry
from smartclinic.core import clock
from smartclinic.core.actor import Actor
from smartclinic.outbox import registry
from smartclinic.outbox.choices import MessageStatus
from smartclinic.outbox.dispatcher import DispatchReport, claim_batch, deliver, dispatch_once, dispatch_until_idle
from smartclinic.outbox.models import HandlerDelivery, OutboxMessage
from smartclinic.outbox.services import DomainEvent, outbox_message_requeue, outbox_publish

pytestmark = pytest.mark.django_db

START = dt.datetime(2026, 11, 26, 8, 0, tzinfo=dt.UTC)


@dataclass(frozen=True)
class Pinged(DomainEvent):
    name = "test.pinged"
    thing_id: UUID


class Recorder:
    """A handler whose effect is a database row, like real handlers' effects."""

    def __init__(self) -> None:
        self.failures_left = 0
        self.calls = 0

    def __call__(self, payload: dict) -> None:
        self.calls += 1
        AuditEntry.objects.create(
            actor_label="handler", action="test.handled", subject_type="t", subject_id=payload["thing_id"]
        )
        if self.failures_left:
            self.failures_left -= 1
            raise ConnectionError("provider down")


@pytest.fixture
def recorder():
    handler = Recorder()
    registry.handles(Pinged.name, key="test.recorder")(handler)
    yield handler
    registry.unregister(Pinged.name, "test.recorder")


def publish() -> OutboxMessage:
    with transaction.atomic():
        return outbox_publish(Pinged(thing_id=uuid4()))


def handled_count() -> int:
    return AuditEntry.objects.filter(action="test.handled").count()


@pytest.mark.django_db(transaction=True)
def test_publish_outside_a_transaction_is_refused():
    with pytest.raises(RuntimeError):
        outbox_publish(Pinged(thing_id=uuid4()))


def test_an_event_rolled_back_with_its_change_is_never_delivered(recorder):
    with pytest.raises(ZeroDivisionError), transaction.atomic():
        outbox_publish(Pinged(thing_id=uuid4()))
        1 / 0  # noqa: B018
    assert dispatch_until_idle().delivered == 0
    assert recorder.calls == 0


def test_delivery_runs_the_handler_once_and_marks_done(recorder):
    message = publish()
    report = dispatch_until_idle()
    assert (report.delivered, report.retried, report.dead) == (1, 0, 0)
    message.refresh_from_db()
    assert message.status == MessageStatus.DONE
    assert message.attempts == 1
    assert handled_count() == 1
    assert list(HandlerDelivery.objects.values_list("handler", flat=True)) == ["test.recorder"]


def test_redelivery_never_applies_the_effect_twice(recorder):
    message = publish()
    dispatch_until_idle()
    # The worker crashed after the handler committed but before the message was marked done.
    OutboxMessage.objects.filter(pk=message.pk).update(status=MessageStatus.PENDING, locked_until=None)
    dispatch_until_idle()
    assert recorder.calls == 1
    assert handled_count() == 1


def test_a_handler_failure_rolls_back_its_effect_and_retries_with_backoff(recorder, settings):
    settings.OUTBOX_BACKOFF_BASE_SECONDS = 10
    recorder.failures_left = 2
    with time_machine.travel(START, tick=False) as traveller:
        message = publish()
        assert dispatch_once().retried == 1
        message.refresh_from_db()
        assert message.status == MessageStatus.PENDING
        assert "provider down" in message.last_error
        assert handled_count() == 0  # the failed attempt's effect was rolled back
        assert 8 <= (message.available_at - START).total_seconds() <= 12
        assert dispatch_once().handled == 0  # not due yet

        traveller.move_to(START + dt.timedelta(seconds=13))
        assert dispatch_once().retried == 1
        message.refresh_from_db()
        assert 16 <= (message.available_at - (START + dt.timedelta(seconds=13))).total_seconds() <= 24

        traveller.move_to(START + dt.timedelta(minutes=5))
        assert dispatch_once().delivered == 1
    message.refresh_from_db()
    assert message.status == MessageStatus.DONE
    assert message.attempts == 3
    assert handled_count() == 1


def test_a_handler_that_keeps_failing_ends_as_a_dead_letter_and_can_be_requeued(recorder, settings):
    settings.OUTBOX_MAX_ATTEMPTS = 3
    recorder.failures_left = 100
    with time_machine.travel(START, tick=False) as traveller:
        message = publish()
        for minute in range(3):
            traveller.move_to(START + dt.timedelta(hours=minute))
            dispatch_once()
        message.refresh_from_db()
        assert message.status == MessageStatus.DEAD
        assert message.attempts == 3
        traveller.move_to(START + dt.timedelta(hours=5))
        assert dispatch_once().handled == 0  # dead letters stay put

        recorder.failures_left = 0
        admin_actor = Actor.system(reason="admin")
        outbox_message_requeue(actor=admin_actor, message=message)
        assert dispatch_once().delivered == 1
    message.refresh_from_db()
    assert message.status == MessageStatus.DONE
    assert handled_count() == 1
    assert AuditEntry.objects.filter(action="outbox.message_requeued", subject_id=str(message.event_id)).count() == 1


def test_handlers_already_applied_are_skipped_when_a_sibling_fails(recorder):
    calls: list[str] = []

    def second(payload: dict) -> None:
        calls.append(payload["thing_id"])
        if len(calls) == 1:
            raise RuntimeError("flaky")

    registry.handles(Pinged.name, key="test.second")(second)
    try:
        with time_machine.travel(START, tick=False) as traveller:
            message = publish()
            dispatch_once()
            traveller.move_to(START + dt.timedelta(hours=1))
            dispatch_once()
    finally:
        registry.unregister(Pinged.name, "test.second")
    message.refresh_from_db()
    assert message.status == MessageStatus.DONE
    assert recorder.calls == 1  # not run again on the retry
    assert len(calls) == 2
    assert handled_count() == 1


def test_a_claimed_message_is_invisible_until_its_lease_runs_out(recorder, settings):
    settings.OUTBOX_LEASE_SECONDS = 60
    with time_machine.travel(START, tick=False) as traveller:
        message = publish()
        claimed = claim_batch()
        assert [m.pk for m in claimed] == [message.pk]
        assert claim_batch() == []  # another worker sees nothing
        traveller.move_to(START + dt.timedelta(seconds=61))  # the first worker died
        reclaimed = claim_batch()
        assert [m.pk for m in reclaimed] == [message.pk]
        deliver(reclaimed[0], DispatchReport())
    assert handled_count() == 1


def test_events_without_handlers_are_marked_done():
    with transaction.atomic():
        message = OutboxMessage.objects.create(name="nobody.listens", payload={}, available_at=clock.now())
    dispatch_until_idle()
    message.refresh_from_db()
    assert message.status == MessageStatus.DONE
