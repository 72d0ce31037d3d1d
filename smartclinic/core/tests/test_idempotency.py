"""Idempotency-Key: the same key from the same user gets the first answer; the key's answer read
along with an action's rows spares the look-ups, and only the refusals those rows decide."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from smartclinic.core.errors import ApplicationError
from smartclinic.core.idempotency import (
    IdempotencyKeyReused,
    InvalidIdempotencyKey,
    Receipt,
    StoredAsRead,
    fingerprint_of,
    run_idempotent_storing,
)
from smartclinic.core.models import IdempotencyRecord

pytestmark = pytest.mark.django_db

FINGERPRINT = fingerprint_of(method="POST", path="/things", body={"n": 1})


class Refused(ApplicationError):
    code = "test.refused"
    status = 409
    message = "refused"


def _stored_by_a_twin(user: Any, key: str = "k") -> IdempotencyRecord:
    return IdempotencyRecord.objects.create(
        user=user, key=key, fingerprint=FINGERPRINT, status_code=201, body={"id": "first"}
    )


def _never(_receipt: Receipt | None) -> tuple[int, Any]:
    raise AssertionError("the action ran")


def _run(user: Any, **options: Any) -> tuple[int, Any]:
    options = {"key": "k", "fingerprint": FINGERPRINT, "action": _never, "look_first": False, **options}
    return run_idempotent_storing(user_id=user.pk, **options)


def test_an_answer_read_along_is_given_without_running_the_action_or_reading_again(make_user):
    user = make_user()
    record = _stored_by_a_twin(user)

    with CaptureQueriesContext(connection) as queries:
        answer = _run(user, read_along=StoredAsRead(record))

    assert answer == (201, {"id": "first"})
    assert len(queries) == 0


def test_an_answer_read_along_for_another_request_is_refused(make_user):
    user = make_user()
    record = _stored_by_a_twin(user)
    other = fingerprint_of(method="POST", path="/things", body={"n": 2})

    with pytest.raises(IdempotencyKeyReused):
        _run(user, fingerprint=other, read_along=StoredAsRead(record))


def test_a_refusal_decided_on_the_rows_read_along_is_final_without_a_look_up(make_user):
    user = make_user()

    def refuse() -> None:
        raise Refused()

    with CaptureQueriesContext(connection) as queries, pytest.raises(Refused):
        _run(user, read_along=StoredAsRead(None), precheck=refuse)

    assert len(queries) == 0


def test_a_refusal_by_the_action_itself_still_finds_a_twins_answer(make_user):
    """A twin may commit between the read and the action's own statement: the action's refusal
    (the twin's effects) then gives way to the twin's answer, as without a read along."""
    user = make_user()

    def twin_wins_then_refused(_receipt: Receipt | None) -> tuple[int, Any]:
        _stored_by_a_twin(user)
        raise Refused()

    answer = _run(user, action=twin_wins_then_refused, read_along=StoredAsRead(None), precheck=lambda: None)

    assert answer == (201, {"id": "first"})


def test_a_precheck_runs_only_with_an_answer_read_along(make_user):
    """Without the key's answer read with the rows, the rows' refusal could be a twin's doing:
    the action decides, and its refusal is looked up."""
    user = make_user()
    _stored_by_a_twin(user)

    def refuse() -> None:
        raise AssertionError("the precheck ran")

    def refused(_receipt: Receipt | None) -> tuple[int, Any]:
        raise Refused()

    answer = _run(user, action=refused, precheck=refuse)

    assert answer == (201, {"id": "first"})


@pytest.mark.parametrize("key", ["", "x" * 101, "bad\nkey"])
def test_an_invalid_key_is_refused_before_anything(make_user, key):
    user = make_user()

    with pytest.raises(InvalidIdempotencyKey):
        _run(user, key=key, read_along=StoredAsRead(None))
