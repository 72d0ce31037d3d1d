from __future__ import annotations

from uuid import uuid4

import pytest
from django.db import transaction

from smartclinic.audit.models import AuditEntry
from smartclinic.core.testing import run_concurrently
from smartclinic.outbox import registry
from smartclinic.outbox.choices import MessageStatus
from smartclinic.outbox.dispatcher import dispatch_until_idle
from smartclinic.outbox.models import OutboxMessage
from smartclinic.outbox.services import outbox_publish
from smartclinic.outbox.tests.test_outbox import Pinged

pytestmark = pytest.mark.django_db(transaction=True)


def record(payload: dict) -> None:
    AuditEntry.objects.create(
        actor_label="handler", action="test.handled", subject_type="t", subject_id=payload["thing_id"]
    )


def test_concurrent_workers_deliver_every_message_exactly_once():
    registry.handles(Pinged.name, key="test.concurrent")(record)
    try:
        for _ in range(40):
            with transaction.atomic():
                outbox_publish(Pinged(thing_id=uuid4()))
        results = run_concurrently([lambda: dispatch_until_idle(limit=5) for _ in range(4)])
    finally:
        registry.unregister(Pinged.name, "test.concurrent")

    assert not [r for r in results if isinstance(r, BaseException)], results
    assert sum(r.delivered for r in results) == 40
    assert OutboxMessage.objects.filter(status=MessageStatus.DONE).count() == 40
    handled = list(AuditEntry.objects.filter(action="test.handled").values_list("subject_id", flat=True))
    assert len(handled) == len(set(handled)) == 40
