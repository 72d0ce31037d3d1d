"""When each API token was last used: a coarse stamp (at most one a minute per token), written in
batches off the request path.

Students open the app a minute or more before slots are released, so in a booking rush nearly
every student's first request finds its token's stamp a minute old. Written by the request, that
was one more statement and one more commit per student in the busiest seconds the clinic has
(about 10,000 in the rush benchmark, ADR 0006 session 19). Instead each process keeps the stamps
it owes and writes them together ``API_TOKEN_LAST_USE_FLUSH_SECONDS`` later, from a thread of
its own, and at exit. A stamp lost in a crash is harmless: it only shows staff when a token was
last seen. ``0`` writes each stamp at once, in the request (the tests' setting).
"""

from __future__ import annotations

import atexit
import datetime as dt
import logging
import threading
from functools import cache

from django.conf import settings
from django.db import DatabaseError, connection, connections

from smartclinic.identity.models import ApiToken

logger = logging.getLogger(__name__)

# Tokens per statement.
BATCH = 1000


@cache
def _update_sql(vendor: str) -> str:
    """The batch's statement: on PostgreSQL one ``UPDATE … FROM unnest(ids, stamps)`` per batch;
    elsewhere one row's ``UPDATE``, sent with ``executemany``. Written out once: the ORM's
    ``Case(When(…))`` for 2,500 tokens cost 350 ms of CPU (measured), holding a worker's GIL."""
    qn = connection.ops.quote_name
    meta = ApiToken._meta
    table, column, pk = qn(meta.db_table), qn(meta.get_field("last_used_at").column), qn(meta.pk.column)
    if vendor == "postgresql":
        return (
            f"UPDATE {table} SET {column} = stamp.at "  # noqa: S608 - quoted names, bound values
            f"FROM unnest(%s::bigint[], %s::timestamptz[]) AS stamp(id, at) WHERE {table}.{pk} = stamp.id"
        )
    return f"UPDATE {table} SET {column} = %s WHERE {pk} = %s"  # noqa: S608


def write_stamps(stamps: dict[int, dt.datetime]) -> None:
    """Set each token's ``last_used_at`` (by primary key)."""
    # In key order, as an index scan locks them: two workers' batches over the same tokens then
    # wait for each other rather than deadlock (and a failed batch is only dropped).
    items = sorted(stamps.items())
    sql = _update_sql(connection.vendor)
    with connection.cursor() as cursor:
        for start in range(0, len(items), BATCH):
            chunk = items[start : start + BATCH]
            if connection.vendor == "postgresql":
                cursor.execute(sql, [[pk for pk, _at in chunk], [at for _pk, at in chunk]])
            else:
                adapt = connection.ops.adapt_datetimefield_value
                cursor.executemany(sql, [(adapt(at), pk) for pk, at in chunk])


class TokenUseStamps:
    """The stamps this process owes, written ``delay`` seconds after the first of them."""

    def __init__(self, delay: float) -> None:
        self.delay = delay
        self._pending: dict[int, dt.datetime] = {}
        self._timer: threading.Timer | None = None
        self._lock = threading.Lock()

    def note(self, token_pk: int, at: dt.datetime) -> None:
        if self.delay <= 0:
            write_stamps({token_pk: at})
            return
        with self._lock:
            known = self._pending.get(token_pk)
            if known is None or known < at:
                self._pending[token_pk] = at
            if self._timer is None:
                self._timer = threading.Timer(self.delay, self._flush_in_background)
                self._timer.daemon = True
                self._timer.name = "token-use-stamps"
                self._timer.start()

    def pending(self) -> int:
        return len(self._pending)

    def flush(self) -> int:
        """Write what is owed now; returns how many stamps. Stamps that fail to be written are
        dropped (logged), not retried: the next use of the token stamps it again."""
        with self._lock:
            stamps, self._pending = self._pending, {}
            if self._timer is not None:
                self._timer.cancel()
                self._timer = None
        if stamps:
            try:
                write_stamps(stamps)
            except DatabaseError:
                logger.warning("could not write %d tokens' last-use stamps", len(stamps), exc_info=True)
        return len(stamps)

    def _flush_in_background(self) -> None:
        try:
            self.flush()
        finally:
            connections.close_all()  # this thread's own; it ends here


_stamps: TokenUseStamps | None = None
_creating = threading.Lock()


def process_stamps() -> TokenUseStamps:
    global _stamps
    if _stamps is None:
        with _creating:
            if _stamps is None:
                _stamps = TokenUseStamps(settings.API_TOKEN_LAST_USE_FLUSH_SECONDS)
                atexit.register(_stamps.flush)
    return _stamps


def token_used(token_pk: int, at: dt.datetime) -> None:
    """The token was used at ``at`` and its stamp is a minute old or more: stamp it (soon)."""
    process_stamps().note(token_pk, at)
