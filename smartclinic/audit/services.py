from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal
from typing import Any

from django.db import models, transaction

from smartclinic.audit.models import AuditEntry
from smartclinic.core.actor import Actor
from smartclinic.core.compiled import insert_instance


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set):
        return [_jsonable(v) for v in value]
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, uuid.UUID | Decimal):
        return str(value)
    if isinstance(value, models.Model):
        return str(getattr(value, "public_id", value.pk))
    return value


def subject_key(subject: models.Model) -> tuple[str, str]:
    label = f"{subject._meta.app_label}.{subject._meta.model_name}"
    return label, str(getattr(subject, "public_id", subject.pk))


def audit_record(
    *,
    actor: Actor,
    action: str,
    subject: models.Model | None = None,
    subject_type: str = "",
    subject_id: str = "",
    old: dict[str, Any] | None = None,
    new: dict[str, Any] | None = None,
) -> AuditEntry:
    """Write one audit entry. Call it inside the service's transaction so both land or neither."""
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("audit_record must run inside the transaction of the change it records")
    entry = AuditEntry(
        **audit_values_for(
            actor=actor,
            action=action,
            subject=subject,
            subject_type=subject_type,
            subject_id=subject_id,
            old=old,
            new=new,
        )
    )
    # A plain INSERT compiled once (AuditEntry.save() only guards against updates).
    return insert_instance(entry, bypass_save_override=True)


def audit_values_for(
    *,
    actor: Actor,
    action: str,
    subject: models.Model | None = None,
    subject_type: str = "",
    subject_id: str = "",
    old: dict[str, Any] | None = None,
    new: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The field values of the entry ``audit_record`` writes: for a statement that writes it
    together with the change it records (the booking on PostgreSQL, ``values_row_json``)."""
    if subject is not None:
        subject_type, subject_id = subject_key(subject)
    return {
        "actor_id": actor.user.pk if actor.user is not None else None,
        "actor_label": actor.label,
        "action": action,
        "subject_type": subject_type,
        "subject_id": subject_id,
        "old_values": _jsonable(old or {}),
        "new_values": _jsonable(new or {}),
        "request_id": actor.request_id[:100],
        "client_ip": actor.client_ip,
    }


def changes_between(before: dict[str, Any], after: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """The old and new values of the keys that differ."""
    changed = [key for key in after if before.get(key) != after.get(key)]
    return {k: before.get(k) for k in changed}, {k: after[k] for k in changed}
