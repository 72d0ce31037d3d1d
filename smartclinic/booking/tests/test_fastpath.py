"""The booking request's ASGI fast path: the same answers as the API view, without Django's
request stack; everything it does not take passes to Django untouched."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import uuid
from typing import Any

import psycopg
import pytest
import time_machine
from django.core.asgi import get_asgi_application
from django.db import OperationalError, ProgrammingError

from smartclinic.audit.models import AuditEntry
from smartclinic.booking import slot_marks
from smartclinic.booking.fastpath import BookingFastPath, BookingJudge, language_of, parse_booking
from smartclinic.booking.models import Appointment, PersonQuota
from smartclinic.booking.slot_marks import SlotMarks
from smartclinic.core import clock
from smartclinic.core.actor import Actor
from smartclinic.core.models import IdempotencyRecord
from smartclinic.identity.services import token_issue
from smartclinic.outbox.models import OutboxMessage
from smartclinic.scheduling.models import Slot

pytestmark = pytest.mark.django_db(transaction=True)


class Answer:
    def __init__(self, messages: list[dict[str, Any]]) -> None:
        start = messages[0]
        self.status: int = start["status"]
        self.headers = {name.decode().lower(): value.decode() for name, value in start["headers"]}
        body = b"".join(m.get("body", b"") for m in messages[1:])
        self.data = json.loads(body) if body else None


async def _post(app: Any, body: bytes, headers: dict[str, str]) -> Answer:
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": "/api/v1/appointments",
        "raw_path": b"/api/v1/appointments",
        "query_string": b"",
        "root_path": "",
        "headers": [(b"host", b"testserver"), (b"content-type", b"application/json")]
        + [(k.lower().encode(), v.encode()) for k, v in headers.items()],
        "client": ("10.1.2.3", 50000),
        "server": ("testserver", 80),
    }
    chunks = [body[:5], body[5:]]  # the body comes in two parts, as it may over a socket
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        if chunks:
            chunk = chunks.pop(0)
            return {"type": "http.request", "body": chunk, "more_body": bool(chunks)}
        await asyncio.sleep(3600)
        return {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    await app(scope, receive, send)
    return Answer(sent)


@pytest.fixture
def asgi(settings):
    """The fast path in front of Django's ASGI handler; ``post(...)`` sends one request."""
    settings.ALLOWED_HOSTS = ["testserver"]
    fast = BookingFastPath(get_asgi_application())
    seen_by_django: list[str] = []
    inner = fast.app

    async def django_app(scope: Any, receive: Any, send: Any) -> None:
        seen_by_django.append(scope["path"])
        await inner(scope, receive, send)

    fast.app = django_app

    def post(body: Any, *, token: str | None = None, key: str | None = None, language: str = "en") -> Answer:
        headers = {"accept-language": language}
        if token is not None:
            headers["authorization"] = f"Bearer {token}"
        if key is not None:
            headers["idempotency-key"] = key
        raw = body if isinstance(body, bytes) else json.dumps(body).encode()
        return asyncio.run(_post(fast, raw, headers))

    post.seen_by_django = seen_by_django  # type: ignore[attr-defined]
    yield post
    fast.close()


@pytest.fixture
def student(patient):
    user, member = patient()
    return user, member, token_issue(actor=Actor.of(user), user=user).raw


def test_books_without_django_and_answers_as_the_api_view(asgi, api, clinic, student, patient):
    user, member, token = student
    slot = clinic["slots"][0]

    fast = asgi({"slot_id": str(slot.public_id)}, token=token, key="k-1")

    assert fast.status == 201, fast.data
    assert asgi.seen_by_django == []
    assert fast.headers["content-type"] == "application/json; charset=utf-8"
    assert fast.headers["x-request-id"] and fast.headers["content-language"] == "en"
    other_user, _ = patient()
    slow = api(other_user, language="en").post("/appointments", {"slot_id": str(slot.public_id)})
    assert slow.status_code == 201
    assert set(fast.data) == set(slow.data)
    for field in ("status", "department", "doctor_name", "doctor_title", "slot_id", "fee", "location", "starts_at"):
        assert fast.data[field] == slow.data[field], field
    appointment = Appointment.objects.get(public_id=fast.data["id"])
    assert appointment.member_id == member.pk and appointment.booked_by_id == user.pk
    assert Slot.objects.get(pk=slot.pk).booked == 2
    entry = AuditEntry.objects.get(action="booking.appointment_booked", subject_id=fast.data["id"])
    assert entry.actor_id == user.pk and entry.client_ip == "10.1.2.3"
    assert OutboxMessage.objects.filter(payload__appointment_id=fast.data["id"]).count() == 1
    assert IdempotencyRecord.objects.get(user=user, key="k-1").body["id"] == fast.data["id"]


def test_a_repeated_key_gets_the_first_answer_and_changes_nothing(asgi, clinic, student):
    _, member, token = student
    slot = clinic["slots"][0]

    first = asgi({"slot_id": str(slot.public_id)}, token=token, key="same")
    again = asgi({"slot_id": str(slot.public_id)}, token=token, key="same")
    other_body = asgi({"slot_id": str(clinic["slots"][1].public_id)}, token=token, key="same")

    assert first.status == again.status == 201
    assert again.data == first.data
    assert other_body.status == 422 and other_body.data["code"] == "core.idempotency_key_reused"
    assert Appointment.objects.filter(member=member).count() == 1
    assert Slot.objects.get(pk=slot.pk).booked == 1
    assert Slot.objects.get(pk=clinic["slots"][1].pk).booked == 0
    assert PersonQuota.objects.get(person_key=f"m:{member.pk}").live_count == 1


def test_business_errors_are_localized_with_their_codes(asgi, clinic, student, patient):
    _, _, token = student
    slot = clinic["slots"][0]
    assert asgi({"slot_id": str(slot.public_id)}, token=token).status == 201

    twice = asgi({"slot_id": str(clinic["slots"][1].public_id)}, token=token, language="zh-CN,zh;q=0.9")
    assert twice.status == 409 and twice.data["code"] == "booking.duplicate"
    assert twice.data["message"] == "您当天在该科室已有预约。"
    assert twice.headers["content-language"] == "zh-hans"

    for _ in range(1):  # the slot has two places: fill it
        other_user, _ = patient()
        other = token_issue(actor=Actor.of(other_user), user=other_user).raw
        assert asgi({"slot_id": str(slot.public_id)}, token=other).status == 201
    late_user, _ = patient()
    late = token_issue(actor=Actor.of(late_user), user=late_user).raw
    full = asgi({"slot_id": str(slot.public_id)}, token=late)
    assert full.status == 409 and full.data["code"] == "booking.slot_full"
    assert full.data["message"].startswith("This slot is fully booked")
    unknown = asgi({"slot_id": str(uuid.uuid4())}, token=late)
    assert unknown.status == 404 and unknown.data["code"] == "core.not_found"


def test_rate_limit_answers_429_with_retry_after(asgi, clinic, student, settings):
    _, _, token = student
    settings.RATE_LIMIT_BOOKING_PER_USER = "2/60"
    slot_id = str(clinic["slots"][0].public_id)
    answers = [asgi({"slot_id": slot_id}, token=token) for _ in range(3)]
    assert [a.status for a in answers[:2]] == [201, 409]
    assert answers[2].status == 429 and answers[2].data["code"] == "core.rate_limited"
    assert int(answers[2].headers["retry-after"]) >= 1


def test_what_it_does_not_take_goes_to_django_with_its_body(asgi, clinic, student):
    _, member, token = student
    slot_id = str(clinic["slots"][0].public_id)

    no_token = asgi({"slot_id": slot_id})
    bad_token = asgi({"slot_id": slot_id}, token="sc_not-a-token")
    malformed = asgi(b'{"slot_id": ', token=token)
    not_a_uuid = asgi({"slot_id": "tomorrow"}, token=token)
    extra_field = asgi({"slot_id": slot_id, "note": "x"}, token=token)

    assert no_token.status in (401, 403) and bad_token.status in (401, 403)
    assert malformed.status in (400, 422) and not_a_uuid.status == 422
    assert not_a_uuid.data["code"] == "core.invalid_input"
    assert extra_field.status == 201  # Django's schema ignores unknown fields, as before
    assert len(asgi.seen_by_django) == 5
    assert Appointment.objects.filter(member=member).count() == 1


def test_an_expired_or_revoked_token_is_answered_by_django(asgi, clinic, student, patient):
    from smartclinic.identity.models import ApiToken

    user, _, token = student
    slot_id = str(clinic["slots"][0].public_id)
    ApiToken.objects.filter(user=user).update(expires_at=clock.now() - dt.timedelta(seconds=1))
    expired = asgi({"slot_id": slot_id}, token=token)
    assert expired.status == 401 and expired.data["code"] == "auth.token_expired"

    other_user, _ = patient()
    revoked = token_issue(actor=Actor.of(other_user), user=other_user).raw
    ApiToken.objects.filter(user=other_user).update(revoked_at=clock.now())
    assert asgi({"slot_id": slot_id}, token=revoked).status in (401, 403)  # as an unknown token
    assert asgi.seen_by_django == ["/api/v1/appointments"] * 2
    assert not Appointment.objects.exists()


def test_turned_off_everything_goes_to_django(asgi, clinic, student, settings):
    _, _, token = student
    settings.BOOKING_FAST_PATH = False
    answer = asgi({"slot_id": str(clinic["slots"][0].public_id)}, token=token)
    assert answer.status == 201
    assert asgi.seen_by_django == ["/api/v1/appointments"]


def test_parsing_takes_only_the_plain_booking():
    slot = uuid.uuid4()
    assert parse_booking(json.dumps({"slot_id": str(slot)}).encode()) == slot
    assert parse_booking(json.dumps({"slot_id": str(slot), "dependant_id": None}).encode()) == slot
    assert parse_booking(json.dumps({"slot_id": str(slot), "dependant_id": str(uuid.uuid4())}).encode()) is None
    assert parse_booking(b"[]") is None
    assert parse_booking(b'{"slot_id": 12}') is None
    assert parse_booking(b"\xff") is None


@pytest.mark.parametrize(
    ("header", "language"),
    [("en-US,en;q=0.9", "en"), ("zh-CN", "zh-hans"), ("fr, en;q=0.5", "en"), ("", "zh-hans"), ("*", "zh-hans")],
)
def test_language_is_picked_as_django_picks_it(header, language):
    assert language_of(header) == language


def test_a_key_repeated_after_cancelling_gets_the_first_answer_and_books_nothing(asgi, api, clinic, student):
    user, member, token = student
    slot = clinic["slots"][0]
    first = asgi({"slot_id": str(slot.public_id)}, token=token, key="before-cancel")
    assert api(user).post(f"/appointments/{first.data['id']}/cancel").status_code == 200

    again = asgi({"slot_id": str(slot.public_id)}, token=token, key="before-cancel")

    assert again.status == 201 and again.data == first.data
    assert Appointment.objects.filter(member=member).count() == 1
    assert Slot.objects.get(pk=slot.pk).booked == 0


_READ_ONCE = (
    "identity_apitoken",
    "identity_user",
    "identity_member",
    "scheduling_slot",
    "scheduling_clinicsession",
    "scheduling_department",
    "scheduling_doctor",
)


def _reads_of(sent: list[str]) -> list[str]:
    """The statements that read the account, its member, or the slot, its session, department or doctor."""
    return [
        sql
        for sql in sent
        if sql.lstrip().upper().startswith("SELECT") and any(f'"{table}"' in sql for table in _READ_ONCE)
    ]


@pytest.mark.parametrize("path", ["fast path", "API view"])
def test_a_booking_request_reads_the_token_and_the_slot_once(path, api, clinic, student):
    """The booking request reads only some columns of the account, the member, the slot and its
    session, department and doctor: a column the booking uses and the read left out would be
    loaded by a statement of its own, here."""
    from django.db import connection

    from smartclinic.booking.fastpath import book_request

    user, member, token = student
    slot = clinic["slots"][0]
    sent: list[str] = []

    def record(execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        sent.append(sql)  # as sent: Django's query log keeps no text for a prepared statement
        return execute(sql, params, many, context)

    with connection.execute_wrapper(record):
        if path == "fast path":
            status, body, _headers = book_request(  # type: ignore[misc]
                token=token, slot_id=slot.public_id, idempotency_key="k", language="en", address="", request_id="r"
            )
        else:
            answer = api(user, language="en").post("/appointments", {"slot_id": str(slot.public_id)})
            status, body = answer.status_code, answer.data

    assert status == 201, body
    # The fast path reads the token and the slot together; the API view's authentication reads
    # the token first, as for every endpoint.
    assert len(_reads_of(sent)) == (1 if path == "fast path" else 2), _reads_of(sent)
    appointment = Appointment.objects.select_related("department", "doctor").get(public_id=body["id"])
    assert appointment.member_id == member.pk and appointment.booked_by_id == user.pk
    assert body["patient_name"] == member.name
    assert body["location"] == (slot.session.room or clinic["department"].location)
    assert body["doctor_name"] == appointment.doctor.name and body["department_name"] == appointment.department.name


def _statements_of_booking_request(token: str, slot: Slot, key: str | None) -> tuple[int, Any, list[str]]:
    from django.db import connection

    from smartclinic.booking.fastpath import book_request

    sent: list[str] = []

    def record(execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        sent.append(sql)
        return execute(sql, params, many, context)

    with connection.execute_wrapper(record):
        status, body, _headers = book_request(  # type: ignore[misc]
            token=token, slot_id=slot.public_id, idempotency_key=key, language="en", address="", request_id="r"
        )
    return status, body, [sql for sql in sent if not sql.lstrip().upper().startswith(("SET LOCAL", "UPDATE"))]


def _filled(slot: Slot) -> Slot:
    Slot.objects.filter(pk=slot.pk).update(booked=slot.capacity)
    return slot


@pytest.mark.parametrize("key", ["x" * 101, "tab\tinside"])
def test_an_invalid_key_is_refused_and_books_nothing(asgi, clinic, student, key):
    _, member, token = student
    slot = clinic["slots"][0]

    answer = asgi({"slot_id": str(slot.public_id)}, token=token, key=key)

    assert answer.status == 400 and answer.data["code"] == "core.invalid_idempotency_key"
    assert not Appointment.objects.filter(member=member).exists()
    assert Slot.objects.get(pk=slot.pk).booked == 0


@pytest.mark.parametrize("key", ["full-1", None])
def test_a_full_slot_is_answered_after_one_read_with_or_without_a_key(clinic, student, key):
    """The key's stored answer is read with the token and the slot: "slot full" (most answers in
    a rush) needs no second look-up of the key."""
    _, _, token = student
    slot = _filled(clinic["slots"][0])

    status, body, statements = _statements_of_booking_request(token, slot, key)

    assert status == 409 and body["code"] == "booking.slot_full"
    assert len(statements) == 1, statements  # the token's last-use stamp aside


def test_a_twin_of_a_booked_key_gets_its_answer_from_the_first_read(clinic, student):
    """The slot its twin took is full now: the stored answer, read along, comes first."""
    _, member, token = student
    slot = clinic["slots"][0]
    first_status, first, _ = _statements_of_booking_request(token, slot, "twin")
    _filled(slot)

    status, body, statements = _statements_of_booking_request(token, slot, "twin")

    assert first_status == status == 201 and body == first
    assert len(statements) == 1, statements
    assert Appointment.objects.filter(member=member).count() == 1


@pytest.mark.parametrize("key", ["closed-1", None])
def test_the_clocks_refusal_comes_before_slot_full_as_on_the_api_view(clinic, student, key):
    """A full slot whose booking has closed answers ``booking.closed``: the check on the rows read
    along leaves the clock's refusals to the booking, in the booking's order."""
    _, _, token = student
    slot = _filled(clinic["slots"][0])

    with time_machine.travel(slot.starts_at - dt.timedelta(minutes=5), tick=False):
        status, body, _statements = _statements_of_booking_request(token, slot, key)

    assert status == 409 and body["code"] == "booking.closed"


def _deadlocked(*_args: Any, **_kwargs: Any) -> None:
    """What Django raises when PostgreSQL breaks a deadlock by failing this transaction."""
    try:
        raise psycopg.errors.DeadlockDetected("deadlock detected")
    except psycopg.Error as cause:
        raise OperationalError("deadlock detected") from cause


@pytest.mark.parametrize("path", ["fast path", "API view"])
def test_a_booking_failed_by_a_deadlock_is_a_503_to_retry_not_a_500(path, asgi, api, clinic, student, monkeypatch):
    user, _, token = student
    slot_id = str(clinic["slots"][0].public_id)
    monkeypatch.setattr("smartclinic.booking.booking_request.services.appointment_book", _deadlocked)

    if path == "fast path":
        answer = asgi({"slot_id": slot_id}, token=token, language="zh-CN")
        status, data, retry_after = answer.status, answer.data, answer.headers.get("retry-after")
    else:
        response = api(user, language="zh-hans").post("/appointments", {"slot_id": slot_id})
        status, data, retry_after = response.status_code, response.json(), response.headers.get("Retry-After")

    assert status == 503 and data["code"] == "core.retry_later"
    assert data["message"] == "同一时刻有另一项更改涉及相同的记录，本次未作任何更改，请重试。"
    assert retry_after == "1"
    assert not Appointment.objects.exists()


def test_a_database_error_that_a_retry_would_not_mend_is_still_a_500(api, clinic, student, monkeypatch):
    user, _, _ = student

    def broken(*_args: Any, **_kwargs: Any) -> None:
        try:
            raise psycopg.errors.UndefinedTable("relation does not exist")
        except psycopg.Error as cause:
            raise ProgrammingError("relation does not exist") from cause

    monkeypatch.setattr("smartclinic.booking.booking_request.services.appointment_book", broken)
    response = api(user, language="en").post("/appointments", {"slot_id": str(clinic["slots"][0].public_id)})
    assert response.status_code == 500 and response.json()["code"] == "core.internal_error"


@pytest.fixture
def marks(monkeypatch):
    fresh = SlotMarks()
    monkeypatch.setattr(slot_marks, "_process_marks", fresh)
    return fresh


def test_what_a_booking_learns_of_its_slot_is_marked_for_the_slot_lists(asgi, clinic, student, patient, marks):
    _, _, token = student
    slot = clinic["slots"][0]

    booked = asgi({"slot_id": str(slot.public_id)}, token=token, key="mark-1")

    assert booked.status == 201
    assert marks.bounds[str(slot.public_id)][0] == slot.capacity - 1  # as read, less its own place
    learned = marks.version
    assert asgi({"slot_id": str(slot.public_id)}, token=token, key="mark-1").status == 201
    assert marks.version == learned  # a repeated key's answer learns nothing of the slot now

    other_user, _ = patient()
    other_token = token_issue(actor=Actor.of(other_user), user=other_user).raw
    full = _filled(clinic["slots"][1])
    refused = asgi({"slot_id": str(full.public_id)}, token=other_token, key="mark-2")

    assert refused.status == 409 and refused.data["code"] == "booking.slot_full"
    assert marks.bounds[str(full.public_id)][0] == 0


def test_turned_off_the_booking_marks_nothing(asgi, clinic, student, marks, settings):
    settings.SLOT_MARKS = False
    _, _, token = student

    assert asgi({"slot_id": str(clinic["slots"][0].public_id)}, token=token).status == 201
    assert marks.bounds == {}


def test_a_booking_is_worth_a_wait_unless_its_slot_is_known_to_be_full(marks, monkeypatch):
    judge = BookingJudge()
    free, full = uuid.uuid4(), uuid.uuid4()
    marks.mark(free, 2)
    assert not judge.judging()  # no slot known to be full: nothing to tell apart
    marks.mark(full, 0)
    assert judge.judging()

    assert judge.worth_a_wait(json.dumps({"slot_id": str(free)}).encode())
    assert judge.worth_a_wait(json.dumps({"slot_id": str(uuid.uuid4())}).encode())  # nothing known
    assert not judge.worth_a_wait(json.dumps({"slot_id": str(full)}).encode())
    assert not judge.worth_a_wait(b'{"slot_id": "not a slot"}')  # not the plain booking: no wait

    # "Full" is known only for a while: a cancellation may have freed a place since.
    monkeypatch.setattr(slot_marks, "FULL_KNOWN_FOR", 0.0)
    assert judge.worth_a_wait(json.dumps({"slot_id": str(full)}).encode())
    assert not judge.judging()


def test_what_another_worker_learned_is_judged_by(tmp_path, monkeypatch):
    from smartclinic.core.shared_log import SharedLog

    other = SlotMarks(SharedLog(tmp_path, rings=2, name="slot-marks", record_size=slot_marks.RECORD.size))
    mine = SlotMarks(SharedLog(tmp_path, rings=2, name="slot-marks", record_size=slot_marks.RECORD.size))
    monkeypatch.setattr(slot_marks, "_process_marks", mine)
    full = uuid.uuid4()
    other.mark(full, 0)

    assert not BookingJudge().worth_a_wait(json.dumps({"slot_id": str(full)}).encode())
    assert BookingJudge().judging()


def test_turned_off_the_marks_leave_nothing_to_judge(marks, settings):
    full = uuid.uuid4()
    marks.mark(full, 0)
    settings.SLOT_MARKS = False

    assert not BookingJudge().judging()
    assert BookingJudge().worth_a_wait(json.dumps({"slot_id": str(full)}).encode())
