from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, fields
from typing import Any, ClassVar

from django.db import transaction

from smartclinic.audit.services import audit_record
from smartclinic.core import clock
from smartclinic.core.actor import Actor
from smartclinic.core.compiled import insert_instance
from smartclinic.outbox.choices import MessageStatus
from smartclinic.outbox.models import OutboxMessage


@dataclass(frozen=True)
class DomainEvent:
    """Base of every event. Payloads carry ids and codes, never names or clinical free text."""

    name: ClassVar[str]

    def payload(self) -> dict[str, Any]:
        # Each field is a scalar (ids, codes, counts): read directly, not deep-copied by asdict().
        values = ((name, getattr(self, name)) for name in _field_names(type(self)))
        return {name: (str(value) if value is not None else None) for name, value in values}


_field_names_by_class: dict[type[DomainEvent], tuple[str, ...]] = {}


def _field_names(event_class: type[DomainEvent]) -> tuple[str, ...]:
    names = _field_names_by_class.get(event_class)
    if names is None:
        names = _field_names_by_class[event_class] = tuple(field.name for field in fields(event_class))
    return names


def outbox_publish(event: DomainEvent, *, delay: dt.timedelta | None = None) -> OutboxMessage:
    """Store the event in the caller's transaction; the worker delivers it after commit."""
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("publish events inside the transaction of the change they describe")
    return insert_instance(outbox_message_for(event, delay=delay))


def outbox_message_for(event: DomainEvent, *, delay: dt.timedelta | None = None) -> OutboxMessage:
    """The message ``outbox_publish`` stores, not saved."""
    return OutboxMessage(**outbox_values_for(event, delay=delay))


def outbox_values_for(event: DomainEvent, *, delay: dt.timedelta | None = None) -> dict[str, Any]:
    """The field values of the message ``outbox_publish`` stores: for a statement that stores it
    together with the change it describes (the booking on PostgreSQL, ``values_row_json``)."""
    return {"name": event.name, "payload": event.payload(), "available_at": clock.now() + (delay or dt.timedelta())}


@transaction.atomic
def outbox_message_requeue(*, actor: Actor, message: OutboxMessage) -> OutboxMessage:
    """Give a dead letter another round of attempts (after the cause was fixed)."""
    updated = OutboxMessage.objects.filter(pk=message.pk, status=MessageStatus.DEAD).update(
        status=MessageStatus.PENDING, attempts=0, available_at=clock.now(), locked_until=None
    )
    if updated:
        audit_record(
            actor=actor,
            action="outbox.message_requeued",
            subject_type="outbox.outboxmessage",
            subject_id=str(message.event_id),
            old={"status": MessageStatus.DEAD},
            new={"status": MessageStatus.PENDING},
        )
    message.refresh_from_db()
    return message
