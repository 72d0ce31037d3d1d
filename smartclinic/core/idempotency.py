"""``Idempotency-Key`` for POSTs that create something: the same key from the same user returns
the first successful result and changes nothing."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from typing import Any

from django.db import IntegrityError, transaction
from django.utils.translation import gettext_lazy as _

from smartclinic.core.compiled import CompiledQuery, insert_instance
from smartclinic.core.errors import ApplicationError
from smartclinic.core.models import IdempotencyRecord

MAX_KEY_LENGTH = 100


class IdempotencyKeyReused(ApplicationError):
    code = "core.idempotency_key_reused"
    status = 422
    message = _("This Idempotency-Key was already used for a different request.")


class InvalidIdempotencyKey(ApplicationError):
    code = "core.invalid_idempotency_key"
    status = 400
    message = _("The Idempotency-Key header must be 1 to 100 visible characters.")


def fingerprint_of(*, method: str, path: str, body: Any) -> str:
    canonical = json.dumps(body, sort_keys=True, default=str, ensure_ascii=False)
    return hashlib.sha256(f"{method} {path} {canonical}".encode()).hexdigest()


_RECORD: CompiledQuery[IdempotencyRecord] = CompiledQuery(IdempotencyRecord.objects.all(), "user", "key")


def _stored(user_id: int, key: str, fingerprint: str) -> tuple[int, Any] | None:
    record = _RECORD.first(user=user_id, key=key)  # unique per (user, key)
    if record is None:
        return None
    if record.fingerprint != fingerprint:
        raise IdempotencyKeyReused()
    return record.status_code, record.body


def run_idempotent(
    *, user_id: int, key: str | None, fingerprint: str, action: Callable[[], tuple[int, Any]]
) -> tuple[int, Any]:
    """Run ``action`` once per (user, key). Its result is stored in the same transaction as its
    writes, so a retry after a lost response gets the first answer. Failures are not stored: a
    retry of a failed request runs again. Without a key, ``action`` just runs."""
    if key is None:
        return action()
    if not key or len(key) > MAX_KEY_LENGTH or not key.isprintable():
        raise InvalidIdempotencyKey()
    previous = _stored(user_id, key, fingerprint)
    if previous is not None:
        return previous
    try:
        with transaction.atomic():
            status, body = action()
            insert_instance(
                IdempotencyRecord(user_id=user_id, key=key, fingerprint=fingerprint, status_code=status, body=body)
            )
        return status, body
    except (ApplicationError, IntegrityError):
        # A concurrent twin with the same key may have won while this one ran into its effects
        # (for a booking: the one-per-department-per-day rule). Its answer is ours.
        previous = _stored(user_id, key, fingerprint)
        if previous is not None:
            return previous
        raise
