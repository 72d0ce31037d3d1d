"""``Idempotency-Key`` for POSTs that create something: the same key from the same user returns
the first successful result and changes nothing."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass
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


def key_is_valid(key: str) -> bool:
    return bool(key) and len(key) <= MAX_KEY_LENGTH and key.isprintable()


def _stored(user_id: int, key: str, fingerprint: str) -> tuple[int, Any] | None:
    record = _RECORD.first(user=user_id, key=key)  # unique per (user, key)
    return None if record is None else _answer_of(record, fingerprint)


def _answer_of(record: IdempotencyRecord, fingerprint: str) -> tuple[int, Any]:
    if record.fingerprint != fingerprint:
        raise IdempotencyKeyReused()
    return record.status_code, record.body


@dataclass(frozen=True)
class StoredAsRead:
    """A key's stored record (``None``: not stored) read in the same statement as the rows an
    action's first checks decide on, so both are as of one moment (one snapshot)."""

    record: IdempotencyRecord | None


@dataclass(frozen=True)
class Receipt:
    """Where an action that stores its own answer (in the statement that makes its writes)
    gets the record to store."""

    user_id: int
    key: str
    fingerprint: str

    def record(self, status: int, body: Any) -> IdempotencyRecord:
        return IdempotencyRecord(**self.values(status, body))

    def values(self, status: int, body: Any) -> dict[str, Any]:
        """The record's field values (for ``values_row_json``)."""
        return {
            "user_id": self.user_id,
            "key": self.key,
            "fingerprint": self.fingerprint,
            "status_code": status,
            "body": body,
        }


def run_idempotent(
    *, user_id: int, key: str | None, fingerprint: str, action: Callable[[], tuple[int, Any]]
) -> tuple[int, Any]:
    """Run ``action`` once per (user, key). Its result is stored in the same transaction as its
    writes, so a retry after a lost response gets the first answer. Failures are not stored: a
    retry of a failed request runs again. Without a key, ``action`` just runs."""

    def action_then_store(receipt: Receipt | None) -> tuple[int, Any]:
        if receipt is None:
            return action()
        with transaction.atomic():
            status, body = action()
            insert_instance(receipt.record(status, body))
        return status, body

    return run_idempotent_storing(user_id=user_id, key=key, fingerprint=fingerprint, action=action_then_store)


def run_idempotent_storing(
    *,
    user_id: int,
    key: str | None,
    fingerprint: str,
    action: Callable[[Receipt | None], tuple[int, Any]],
    look_first: bool = True,
    read_along: StoredAsRead | None = None,
    precheck: Callable[[], object] | None = None,
) -> tuple[int, Any]:
    """``run_idempotent`` for an action that stores ``receipt.record(status, body)`` itself, in the
    transaction of its writes (``None`` without a key), and raises when it did not.

    ``look_first=False`` skips the look-up before the action, for an action that cannot succeed
    twice for one key (the record's unique key refuses the second, which then raises): a repeat
    then costs a refused attempt, a first request one round trip less.

    ``read_along``: the key's record, already read with the action's rows; then nothing is looked
    up first. When it was not stored, ``precheck`` (the action's checks on those rows) runs, and
    a refusal it raises is final: as of that snapshot no twin had succeeded, so there is no first
    answer to give instead, and no second look-up is needed (in a rush, "slot full" is most
    answers)."""
    if key is None:
        return action(None)
    if not key_is_valid(key):
        raise InvalidIdempotencyKey()
    if read_along is not None:
        if read_along.record is not None:
            return _answer_of(read_along.record, fingerprint)
        if precheck is not None:
            precheck()
    elif look_first:
        previous = _stored(user_id, key, fingerprint)
        if previous is not None:
            return previous
    try:
        return action(Receipt(user_id=user_id, key=key, fingerprint=fingerprint))
    except (ApplicationError, IntegrityError):
        # A concurrent twin with the same key may have won while this one ran into its effects
        # (for a booking: the one-per-department-per-day rule). Its answer is ours.
        previous = _stored(user_id, key, fingerprint)
        if previous is not None:
            return previous
        raise
