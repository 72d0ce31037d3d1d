"""A token's last use is stamped at most once a minute, and not by the request that uses it: the
stamps are written in batches a few seconds later (in a booking rush nearly every student's
first request would otherwise write one, ADR 0006 session 19)."""

from __future__ import annotations

import datetime as dt
import time

import pytest
import time_machine
from django.db import connection
from django.test import override_settings
from django.test.utils import CaptureQueriesContext

from smartclinic.core import clock
from smartclinic.core.actor import Actor
from smartclinic.identity import token_use
from smartclinic.identity.models import ApiToken
from smartclinic.identity.services import token_authenticate, token_issue
from smartclinic.identity.token_use import TokenUseStamps


def _issue(make_user):
    return token_issue(actor=Actor.system(reason="test"), user=make_user())


def _stamp(issued):
    return ApiToken.objects.get(pk=issued.token.pk).last_used_at


@pytest.fixture
def deferred(monkeypatch):
    """This process's stamps written only when the test says so (a delay far beyond the test)."""
    stamps = TokenUseStamps(delay=3600)
    monkeypatch.setattr(token_use, "_stamps", stamps)
    yield stamps
    with stamps._lock:
        stamps._pending.clear()
    stamps.close()  # stops its writer thread


@pytest.mark.django_db
def test_last_use_is_stamped_once_a_minute(make_user):
    issued = _issue(make_user)
    with time_machine.travel(clock.now(), tick=False) as traveller:
        assert token_authenticate(raw=issued.raw) == issued.token.user
        first = _stamp(issued)
        assert first == clock.now()
        traveller.shift(dt.timedelta(seconds=30))
        with CaptureQueriesContext(connection) as queries:
            token_authenticate(raw=issued.raw)
        assert len(queries) == 1  # the look-up only
        assert _stamp(issued) == first
        traveller.shift(dt.timedelta(seconds=31))
        token_authenticate(raw=issued.raw)
        assert _stamp(issued) == clock.now()


@pytest.mark.django_db
def test_the_request_only_notes_the_stamp_and_a_flush_writes_them_all(make_user, deferred):
    issued = [_issue(make_user) for _ in range(3)]
    ApiToken.objects.update(last_used_at=None)
    with time_machine.travel(clock.now(), tick=False) as traveller:
        used_at = {}
        for one in issued:
            with CaptureQueriesContext(connection) as queries:
                assert token_authenticate(raw=one.raw) == one.token.user
            assert len(queries) == 1  # the look-up; no write
            used_at[one.token.pk] = clock.now()
            traveller.shift(dt.timedelta(seconds=2))
        assert all(_stamp(one) is None for one in issued)
        assert deferred.pending() == 3

        with CaptureQueriesContext(connection) as queries:
            assert deferred.flush() == 3
        assert len(queries) == 1  # one statement for the batch
        assert {one.token.pk: _stamp(one) for one in issued} == used_at  # each its own moment
        assert deferred.pending() == 0 and deferred.flush() == 0


@pytest.mark.django_db
def test_a_later_use_before_the_flush_keeps_the_later_stamp(make_user, deferred):
    issued = _issue(make_user)
    later = clock.now() + dt.timedelta(minutes=5)
    deferred.note(issued.token.pk, later)
    deferred.note(issued.token.pk, later - dt.timedelta(seconds=20))
    deferred.flush()
    assert _stamp(issued) == later


@pytest.mark.django_db
def test_a_batch_larger_than_one_statement(make_user, deferred, monkeypatch):
    monkeypatch.setattr(token_use, "BATCH", 2)
    issued = [_issue(make_user) for _ in range(5)]
    at = clock.now() + dt.timedelta(minutes=2)
    for one in issued:
        deferred.note(one.token.pk, at)
    with CaptureQueriesContext(connection) as queries:
        assert deferred.flush() == 5
    assert len(queries) == 3
    assert {_stamp(one) for one in issued} == {at}


@pytest.mark.django_db(transaction=True)
def test_the_stamps_are_written_on_their_own_after_the_delay(make_user):
    issued = _issue(make_user)
    at = clock.now() + dt.timedelta(minutes=3)
    stamps = TokenUseStamps(delay=0.05)
    stamps.note(issued.token.pk, at)
    deadline = time.monotonic() + 10
    while _stamp(issued) != at and time.monotonic() < deadline:
        time.sleep(0.02)
    assert _stamp(issued) == at
    assert stamps.pending() == 0
    later = at + dt.timedelta(minutes=1)
    stamps.note(issued.token.pk, later)  # the same thread writes the next batch too
    deadline = time.monotonic() + 10
    while _stamp(issued) != later and time.monotonic() < deadline:
        time.sleep(0.02)
    assert _stamp(issued) == later
    stamps.close()
    assert stamps._writer is not None and not stamps._writer.is_alive()


def test_the_writer_thread_is_started_once_and_not_by_a_noted_stamp_when_started_already(monkeypatch):
    stamps = TokenUseStamps(delay=3600)
    stamps.start()
    writer = stamps._writer
    assert writer is not None and writer.is_alive() and writer.daemon

    started = []
    monkeypatch.setattr(token_use.threading.Thread, "start", lambda thread: started.append(thread))
    stamps.note(1, clock.now())
    stamps.start()
    assert started == [] and stamps._writer is writer
    monkeypatch.undo()
    with stamps._lock:
        stamps._pending.clear()
    stamps.close()
    assert not writer.is_alive()


def test_with_no_delay_there_is_no_writer_thread():
    stamps = TokenUseStamps(delay=0)
    stamps.start()
    assert stamps._writer is None


@pytest.mark.django_db
def test_a_failed_write_is_dropped_not_raised(make_user, deferred, monkeypatch, caplog):
    from django.db import DatabaseError

    def fail(stamps):
        raise DatabaseError("gone")

    monkeypatch.setattr(token_use, "write_stamps", fail)
    deferred.note(_issue(make_user).token.pk, clock.now())
    assert deferred.flush() == 1
    assert deferred.pending() == 0
    assert "last-use stamps" in caplog.text


@override_settings(API_TOKEN_LAST_USE_FLUSH_SECONDS=7)
def test_the_process_keeps_one_set_of_stamps_with_the_configured_delay(monkeypatch):
    monkeypatch.setattr(token_use, "_stamps", None)
    registered = []
    monkeypatch.setattr(token_use.atexit, "register", registered.append)
    stamps = token_use.process_stamps()
    assert stamps.delay == 7
    assert token_use.process_stamps() is stamps
    assert registered == [stamps.close]  # what is owed is written at exit
