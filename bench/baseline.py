#!/usr/bin/env python3
"""The bare-SQL baseline: the server's own booking transaction, driven straight at PostgreSQL.

    python bench/baseline.py capture --scenario baseline.json --out plan.pickle   # needs Django settings
    python bench/baseline.py replay --plan plan.pickle --dsn postgres://... --threads 4 --seconds 8

``capture`` books one slot in-process through the code the server runs for it (``--via
fastpath``: ``booking.fastpath.book_request``, as under uvicorn; ``--via view``: the API view
through Django, as under a WSGI server; token, rate limit, idempotency, service) twice, with a
Django ``execute_wrapper`` recording every statement and its parameters, and keeps the
booking's writes: the statements inside its transaction (those executed while
``connection.in_atomic_block``: SAVEPOINTs included), or its one ``booking_book`` statement. The two
captures are compared to find the parameters that change from booking to booking (the person,
the slot and what follows from it, the new ids, the idempotency key); the rest stay as captured.

``replay`` needs no Django and no HTTP: a pool of threads, one psycopg connection each, set up as
the server's settings set up Django's (client-side binding for Django's own cursors, a prepare
threshold that lets only an explicit ``prepare=True`` prepare, autocommit off so that psycopg
sends BEGIN), runs BEGIN, the captured statements (a distinct person each time, the
slots spread like the rush's), COMMIT, for ``--seconds``, and prints transactions per second. A
statement the server sends bound server-side and prepared (``core.compiled.prepared_cursor``: the
booking function's call, the hot reads) is replayed the same way, so that both sides pay the
same for it.
``--with-reads`` also replays the request's reads before the transaction, for the whole request's
SQL: through the fast path one statement (the token with its account and member, the slot, the
key's stored answer); through the view two (the token with its account and member, the slot).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import pickle
import random
import re
import sys
import threading
import time
import uuid
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent


# --- capture (Django) -------------------------------------------------------------------------


def _book_through_view(scenario: dict[str, Any], student: dict[str, Any], slot_id: str, key: str) -> str:
    """The booking request through Django and the API view (what a WSGI server runs); the new
    appointment's id."""
    from django.test import Client

    response = Client().post(
        scenario.get("api", "/api/v1") + "/appointments",
        data=json.dumps({"slot_id": slot_id}),
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {student['token']}",
        HTTP_IDEMPOTENCY_KEY=key,
        HTTP_HOST="127.0.0.1",
        REMOTE_ADDR="127.0.0.1",
    )
    if response.status_code != 201:
        raise SystemExit(f"capture: the booking answered {response.status_code}: {response.content[:300]!r}")
    return str(response.json()["id"])


def _book_through_fast_path(student: dict[str, Any], slot_id: str, key: str) -> str:
    """The booking request as the ASGI server runs it (``booking.fastpath.book_request``: one
    read for the token, the slot and the key's stored answer, then the booking)."""
    from smartclinic.booking.fastpath import book_request
    from smartclinic.core.middleware import request_id_from

    answer = book_request(
        token=student["token"],
        slot_id=uuid.UUID(slot_id),
        idempotency_key=key,
        language="en",
        address="127.0.0.1",
        request_id=request_id_from(""),
    )
    if answer is None or answer[0] != 201:
        raise SystemExit(f"capture: the fast path answered {answer and answer[:2]!r}")
    return str(answer[1]["id"])


def _capture_one(
    scenario: dict[str, Any], student: dict[str, Any], slot_fact: dict[str, Any], *, via: str
) -> dict[str, Any]:
    from django.db import connection

    from smartclinic.booking.models import Appointment
    from smartclinic.identity.models import Member
    from smartclinic.outbox.models import OutboxMessage
    from smartclinic.scheduling.models import Slot

    records: list[tuple[str, Any, bool]] = []
    prepared: set[str] = set()

    def recorder(execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        records.append((sql, list(params) if params is not None else None, connection.in_atomic_block))
        if _is_prepared(context["cursor"].cursor):
            prepared.add(sql)
        return execute(sql, params, many, context)

    key = str(uuid.uuid4())
    with connection.execute_wrapper(recorder):
        if via == "fastpath":
            public_id = _book_through_fast_path(student, slot_fact["id"], key)
        else:
            public_id = _book_through_view(scenario, student, slot_fact["id"], key)
    appointment = Appointment.objects.select_related("slot__session").get(public_id=public_id)
    member = Member.objects.get(number=student["member"])
    slot = Slot.objects.select_related("session").get(public_id=slot_fact["id"])
    event = OutboxMessage.objects.filter(payload__appointment_id=str(appointment.public_id)).get()
    roles = {
        "person_key": f"m:{member.pk}",
        "slot": slot.pk,
        "session": slot.session_id,
        "department": slot.session.department_id,
        "doctor": slot.session.doctor_id,
        "date": slot.session.date,
        "appointment_uuid": appointment.public_id,
        "event_uuid": event.event_id,
        "key": key,
    }
    return {"records": records, "roles": roles, "prepared": prepared}


def _is_prepared(cursor: Any) -> bool:
    """The server's cursor binds server-side and prepares (``core.compiled.prepared_cursor``):
    the replay sends that statement the same way."""
    import psycopg

    return not isinstance(cursor, psycopg.ClientCursor)


# The booking's rows take these from the person, the slot and the new ids.
_COLUMN_ROLES = {
    "person_key": "person_key",
    "slot_id": "slot",
    "session_id": "session",
    "department_id": "department",
    "doctor_id": "doctor",
    "date": "date",
    "public_id": "appointment_uuid",
    "event_id": "event_uuid",
    "key": "key",
}


def _insert_columns(sql: str) -> list[str] | None:
    """The column of each parameter of a single-row INSERT whose values are all placeholders."""
    match = re.match(r'\s*INSERT INTO "?\w+"? \(([^)]*)\) VALUES \(([^)]*)\)', sql)
    if not match:
        return None
    columns = [c.strip().strip('"') for c in match.group(1).split(",")]
    values = [v.strip() for v in match.group(2).split(",")]
    if len(columns) != len(values):
        return None
    return [c for c, v in zip(columns, values, strict=True) if v == "%s"]


def _role_of(value: Any, roles: dict[str, Any]) -> str | None:
    found = [name for name, known in roles.items() if type(value) is type(known) and value == known]
    if len(found) > 1:
        raise SystemExit(f"capture: {value!r} could be any of {found}")
    return found[0] if found else None


def _writes(sql: str) -> bool:
    """A write outside ``atomic``: the booking's writes as one statement (``booking_book``)."""
    return "booking_book(" in sql


def _role_of_text(value: Any, roles: dict[str, Any]) -> str | None:
    """A JSON row's value that is one of the booking's own facts in text form (a UUID, say)."""
    if not isinstance(value, str):
        return None
    found = [name for name, known in roles.items() if not isinstance(known, int) and value == _text(known)]
    return found[0] if len(found) == 1 else None


def _text(value: Any) -> Any:
    return value.isoformat() if isinstance(value, dt.date) else str(value)


def capture(args: argparse.Namespace) -> None:
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()
    from django.conf import settings
    from django.db import connection

    from smartclinic.scheduling.models import Slot

    settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "127.0.0.1"]
    scenario = json.loads(Path(args.scenario).read_text())
    students, slots = scenario["students"], scenario["slots"]
    one = _capture_one(scenario, students[0], slots[len(slots) // 3], via=args.via)
    two = _capture_one(scenario, students[1], slots[2 * len(slots) // 3], via=args.via)
    tx_one = [(sql, params) for sql, params, atomic in one["records"] if atomic or _writes(sql)]
    tx_two = [(sql, params) for sql, params, atomic in two["records"] if atomic or _writes(sql)]
    reads = [
        (sql, params)
        for sql, params, atomic in one["records"]
        if not atomic and not _writes(sql) and sql.lstrip().upper().startswith("SELECT")
    ]

    def shape(sql: str) -> str:
        return re.sub(r'"s\d+_x\d+"', '"sp"', sql)  # Django's savepoint names differ run to run

    if [shape(s) for s, _ in tx_one] != [shape(s) for s, _ in tx_two]:
        raise SystemExit("capture: the two bookings ran different statements")
    statements = []
    for (sql, p1), (_, p2) in zip(tx_one, tx_two, strict=True):
        columns = _insert_columns(sql)
        variable = []
        rows = []
        for i, value in enumerate(p1 or []):
            if isinstance(value, str) and value.startswith("{"):
                # A row passed as JSON to the booking function: its columns are named.
                row = json.loads(value)
                named = [(c, _COLUMN_ROLES[c]) for c in row if c in _COLUMN_ROLES]
                named += [
                    (c, role)
                    for c, v in row.items()
                    if c not in _COLUMN_ROLES
                    for role in [_role_of_text(v, one["roles"])]
                    if role is not None
                ]
                if named:
                    rows.append((i, named))
                continue
            # An INSERT's parameters are named by its column list; elsewhere by their value.
            named = columns and i < len(columns)
            role = _COLUMN_ROLES.get(columns[i]) if named else _role_of(value, one["roles"])
            if role is None:
                continue
            if value != one["roles"][role] or (p2 or [])[i] != two["roles"][role]:
                raise SystemExit(f"capture: parameter {i} of {sql[:60]!r} is not the {role} in both captures")
            variable.append((i, role))
        statements.append(
            {"sql": sql, "params": p1, "variable": variable, "rows": rows, "prepared": sql in one["prepared"]}
        )
    # Every slot of the baseline scenario, with what the appointment row takes from it.
    by_id = {s["id"] for s in slots}
    targets = [
        {
            "slot": s.pk,
            "session": s.session_id,
            "department": s.session.department_id,
            "doctor": s.session.doctor_id,
            "date": s.session.date,
        }
        for s in Slot.objects.select_related("session").filter(public_id__in=list(by_id))
    ]
    plan = {
        # The booking's writes as one statement outside any transaction block run in autocommit
        # (as the server runs them), not between BEGIN and COMMIT.
        "autocommit": not any(atomic for _sql, _params, atomic in one["records"]),
        "statements": statements,
        "reads": [(sql, params, sql in one["prepared"]) for sql, params in reads],
        "targets": targets,
        "vendor": connection.vendor,
        # The server's connections prepare only with a threshold set (config/settings.py); with
        # None psycopg ignores prepare=True. The replay opens its connections the same way.
        "prepare_threshold": connection.settings_dict["OPTIONS"].get("prepare_threshold"),
        "captured_at": dt.datetime.now(dt.UTC).isoformat(),
    }
    Path(args.out).write_bytes(pickle.dumps(plan))
    print(
        f"captured {len(statements)} statements in the booking transaction (+ BEGIN, COMMIT); "
        f"{len(reads)} reads before it; {len(targets)} target slots"
    )
    for statement in statements:
        roles = ", ".join(role for _, role in statement["variable"])
        print(f"  {statement['sql'][:110]}{' ...' if len(statement['sql']) > 110 else ''}  [{roles}]")


# --- replay (psycopg only) --------------------------------------------------------------------


def bound_params(statement: dict[str, Any], values: dict[str, Any]) -> list[Any]:
    """A captured statement's parameters for another booking: the person, the slot and what
    follows from it, the new ids and the key (``values``, by role) put in their places, in the
    parameters themselves and in the rows passed as JSON."""
    params = list(statement["params"] or [])
    for position, role in statement["variable"]:
        params[position] = values[role]
    for position, named in statement.get("rows", []):
        row = json.loads(params[position])
        for column, role in named:
            known = values[role]
            row[column] = known if isinstance(known, int) else _text(known)
        params[position] = json.dumps(row)
    return params


def replay(args: argparse.Namespace) -> dict[str, Any]:
    import psycopg

    plan = pickle.loads(Path(args.plan).read_bytes())
    statements, targets = plan["statements"], plan["targets"]
    autocommit = plan.get("autocommit", False)
    reads = plan["reads"] if args.with_reads else []
    run = uuid.uuid4().hex[:8]
    counter = iter(range(10**9))
    lock = threading.Lock()
    stop = threading.Event()
    results: list[tuple[int, int, list[float]]] = []
    barrier = threading.Barrier(args.threads + 1)

    def connect() -> Any:
        # As the server's settings open them: client-side binding for Django's own cursors, and
        # the server's prepare threshold (the captured one), so that the statements sent with
        # ``prepare=True`` are prepared exactly when the server's are.
        return psycopg.connect(
            args.dsn,
            cursor_factory=psycopg.ClientCursor,
            prepare_threshold=plan["prepare_threshold"],
            autocommit=autocommit,
        )

    def worker(seed: int) -> None:
        rng = random.Random(seed)
        conn = connect()
        done = full = 0
        latencies: list[float] = []
        barrier.wait()
        try:
            while not stop.is_set():
                with lock:
                    n = next(counter)
                target = targets[rng.randrange(len(targets))]
                values = {
                    **target,
                    "person_key": f"b:{run}:{n}",
                    "appointment_uuid": uuid.uuid4(),
                    "event_uuid": uuid.uuid4(),
                    "key": f"baseline-{run}-{n}",
                }
                started = time.perf_counter()
                with conn.cursor() as cursor, psycopg.Cursor(conn) as prepared_cursor:
                    if reads:  # outside the transaction, in autocommit, as Django runs them
                        conn.autocommit = True
                        for sql, params, prepared in reads:
                            read_cursor = prepared_cursor if prepared else cursor
                            read_cursor.execute(sql, params, prepare=prepared or None)
                            read_cursor.fetchall()
                        conn.autocommit = autocommit
                    ok = True
                    for statement in statements:
                        params = bound_params(statement, values)
                        if statement.get("prepared"):
                            prepared_cursor.execute(statement["sql"], params, prepare=True)
                            result = prepared_cursor
                        else:
                            cursor.execute(statement["sql"], params)
                            result = cursor
                        if statement["sql"].lstrip().upper().startswith("UPDATE") and result.rowcount == 0:
                            ok = False  # the slot is full: the server would roll back
                            break
                        if _writes(statement["sql"]):
                            outcome = result.fetchone()[0]
                            if outcome != "booked":
                                raise SystemExit(f"replay: the booking function answered {outcome!r}")
                    if ok:
                        conn.commit()
                        done += 1
                    else:
                        conn.rollback()
                        full += 1
                latencies.append(time.perf_counter() - started)
        finally:
            conn.close()
            with lock:
                results.append((done, full, latencies))

    threads = [threading.Thread(target=worker, args=(i,), daemon=True) for i in range(args.threads)]
    for thread in threads:
        thread.start()
    barrier.wait()
    cpu0, t0 = time.process_time(), time.perf_counter()
    time.sleep(args.seconds)
    stop.set()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - t0
    done = sum(r[0] for r in results)
    latencies = sorted(x for r in results for x in r[2])
    summary = {
        "threads": args.threads,
        "seconds": round(elapsed, 2),
        "transactions": done,
        "full": sum(r[1] for r in results),
        "tx_per_s": done / elapsed,
        "statements_per_tx": len(statements) + (0 if autocommit else 2) + len(reads),
        "p50_ms": latencies[len(latencies) // 2] * 1000 if latencies else None,
        "p99_ms": latencies[int(len(latencies) * 0.99)] * 1000 if latencies else None,
        "client_cpu_per_tx_us": (time.process_time() - cpu0) / max(done, 1) * 1e6,
        "with_reads": bool(reads),
    }
    return summary


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    cap = sub.add_parser("capture")
    cap.add_argument("--scenario", required=True)
    cap.add_argument("--out", required=True)
    cap.add_argument(
        "--via",
        choices=["fastpath", "view"],
        default="fastpath",
        help="book as the ASGI server does (the fast path) or as a WSGI server does (the API view)",
    )
    rep = sub.add_parser("replay")
    rep.add_argument("--plan", required=True)
    rep.add_argument("--dsn", required=True)
    rep.add_argument("--threads", type=int, default=4)
    rep.add_argument("--seconds", type=float, default=8.0)
    rep.add_argument("--with-reads", action="store_true")
    rep.add_argument("--json", action="store_true")
    args = parser.parse_args()
    if args.command == "capture":
        capture(args)
        return
    summary = replay(args)
    if args.json:
        print(json.dumps(summary))
    else:
        print(
            f"bare SQL: {summary['tx_per_s']:.0f} booking transactions/s with {summary['threads']} threads "
            f"({summary['transactions']} in {summary['seconds']} s; {summary['statements_per_tx']} statements each; "
            f"p50 {summary['p50_ms']:.1f} ms, p99 {summary['p99_ms']:.1f} ms; "
            f"client CPU {summary['client_cpu_per_tx_us']:.0f} us/tx)"
        )


if __name__ == "__main__":
    main()
