"""When each API token was last used: a coarse stamp (at most one a minute per token), written in
batches off the request path.

Students open the app a minute or more before slots are released, so in a booking rush nearly
every student's first request finds its token's stamp a minute old. Written by the request, that
was one more statement and one more commit per student in the busiest seconds the clinic has
(about 10,000 in the rush benchmark, ADR 0006 session 19). Instead each process keeps the stamps
it owes and writes them together ``API_TOKEN_LAST_USE_FLUSH_SECONDS`` later, from a thread of
its own, and at exit. That thread is started once per process: by the ASGI worker as it starts,
or else by the first stamp noted. A stamp lost in a crash is harmless: it only shows staff when
a token was last seen. ``0`` writes each stamp at once, in the request (the tests' setting).
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
    """The stamps this process owes, written ``delay`` seconds after the first of them by a
    thread of its own (``start``), which lives as long as the process."""

    def __init__(self, delay: float) -> None:
        self.delay = delay
        self._pending: dict[int, dt.datetime] = {}
        self._lock = threading.Lock()
        self._owed = threading.Event()  # set while stamps are pending
        self._closing = threading.Event()
        self._writer: threading.Thread | None = None

    def start(self) -> None:
        """Start the writer thread, if not yet. A server's worker starts it as it starts
        (``config/asgi.py``): otherwise the first request to note a stamp would, and starting a
        thread waits for the new thread to run, which on two busy cores is tens of
        milliseconds (measured: 30-80 ms of a booking thread in a rush's first second, in every
        worker, with its other booking thread waiting on the lock behind it)."""
        if self.delay <= 0 or self._writer is not None:
            return
        with self._lock:
            if self._writer is None:
                self._writer = threading.Thread(target=self._write_when_owed, name="token-use-stamps", daemon=True)
                self._writer.start()

    def note(self, token_pk: int, at: dt.datetime) -> None:
        if self.delay <= 0:
            write_stamps({token_pk: at})
            return
        self.start()
        with self._lock:
            known = self._pending.get(token_pk)
            if known is None or known < at:
                self._pending[token_pk] = at
            self._owed.set()

    def pending(self) -> int:
        return len(self._pending)

    def flush(self) -> int:
        """Write what is owed now; returns how many stamps. Stamps that fail to be written are
        dropped (logged), not retried: the next use of the token stamps it again."""
        with self._lock:
            stamps, self._pending = self._pending, {}
            self._owed.clear()
        if stamps:
            try:
                write_stamps(stamps)
            except DatabaseError:
                logger.warning("could not write %d tokens' last-use stamps", len(stamps), exc_info=True)
        return len(stamps)

    def close(self) -> None:
        """Write what is owed and stop the writer thread (exit, tests)."""
        self._closing.set()
        self._owed.set()
        if self._writer is not None and self._writer is not threading.current_thread():
            self._writer.join(timeout=10)
        self.flush()

    def _write_when_owed(self) -> None:
        while not self._closing.is_set():
            self._owed.wait()
            if self._closing.wait(self.delay):  # the stamps noted meanwhile go in the same batch
                return
            try:
                self.flush()
            except Exception:  # the writer must outlive any one batch
                logger.exception("writing tokens' last-use stamps failed")
            finally:
                connections.close_all()  # this thread's own: no connection held between batches


_stamps: TokenUseStamps | None = None
_creating = threading.Lock()


def process_stamps() -> TokenUseStamps:
    global _stamps
    if _stamps is None:
        with _creating:
            if _stamps is None:
                _stamps = TokenUseStamps(settings.API_TOKEN_LAST_USE_FLUSH_SECONDS)
                atexit.register(_stamps.close)
    return _stamps


def token_used(token_pk: int, at: dt.datetime) -> None:
    """The token was used at ``at`` and its stamp is a minute old or more: stamp it (soon)."""
    process_stamps().note(token_pk, at)
