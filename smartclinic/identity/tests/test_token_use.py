"""A token's last use is stamped at most once a minute, and that stamp never slows a booking's
commit: on PostgreSQL it is written without waiting for the disk, for itself alone."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from smartclinic.core import clock
from smartclinic.core.actor import Actor
from smartclinic.identity.models import ApiToken
from smartclinic.identity.services import token_authenticate, token_issue


def _issue(make_user):
    return token_issue(actor=Actor.system(reason="test"), user=make_user())


@pytest.mark.django_db
def test_last_use_is_stamped_once_a_minute(make_user):
    issued = _issue(make_user)
    with time_machine.travel(clock.now(), tick=False) as traveller:
        assert token_authenticate(raw=issued.raw) == issued.token.user
        first = ApiToken.objects.get(pk=issued.token.pk).last_used_at
        assert first == clock.now()
        traveller.shift(dt.timedelta(seconds=30))
        with CaptureQueriesContext(connection) as queries:
            token_authenticate(raw=issued.raw)
        assert len(queries) == 1  # the look-up only
        assert ApiToken.objects.get(pk=issued.token.pk).last_used_at == first
        traveller.shift(dt.timedelta(seconds=31))
        token_authenticate(raw=issued.raw)
        assert ApiToken.objects.get(pk=issued.token.pk).last_used_at == clock.now()


def _synchronous_commit() -> str:
    with connection.cursor() as cursor:
        cursor.execute("SHOW synchronous_commit")
        return cursor.fetchone()[0]


class Statements(list):
    """The SQL sent, as written (``connection.queries`` shows what the driver sent, which is
    nothing for a query of several statements)."""

    def __call__(self, execute, sql, params, many, context):
        self.append(sql)
        return execute(sql, params, many, context)


@pytest.mark.django_db(transaction=True)
def test_the_stamp_alone_skips_the_wait_for_the_disk(make_user):
    if connection.vendor != "postgresql":
        pytest.skip("synchronous_commit is PostgreSQL's")
    issued = _issue(make_user)
    sent = Statements()
    with connection.execute_wrapper(sent):
        token_authenticate(raw=issued.raw)
    [touch] = [sql for sql in sent if "UPDATE" in sql]
    assert touch.startswith("SET LOCAL synchronous_commit TO OFF;")
    assert ApiToken.objects.get(pk=issued.token.pk).last_used_at is not None
    assert _synchronous_commit() == "on"  # for that statement's own transaction only

    ApiToken.objects.filter(pk=issued.token.pk).update(last_used_at=None)
    sent = Statements()
    with transaction.atomic(), connection.execute_wrapper(sent):
        token_authenticate(raw=issued.raw)
        # inside a caller's transaction it would reach that transaction's commit: not used
        assert _synchronous_commit() == "on"
    [touch] = [sql for sql in sent if "UPDATE" in sql]
    assert "synchronous_commit" not in touch
