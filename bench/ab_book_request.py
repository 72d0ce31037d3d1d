#!/usr/bin/env python3
"""Two versions of the booking path, in process, alternated in lockstep: which one spends less CPU.

    git worktree add /tmp/old HEAD~1
    python bench/ab_book_request.py --old /tmp/old [--new .] [--rounds 30] [--per-round 100]

A change of a few per cent to the booking's CPU does not show over HTTP on this box (its speed
drifts by a third within a minute), nor in two runs one after the other. Here each version runs
``booking.fastpath.book_request`` (the rush's booking: token, rate limits, read, the one
statement, the answer) in a process of its own, on a fresh PostgreSQL database
(``--database-url``, dropped and created again: its name must end in ``bench``) with Redis for
the rate limits. The two processes take turns at rounds of ``--per-round`` bookings, each a
different student's, so the box's drift weighs on both alike; each round's thread CPU per
booking is read, and the median of the per-round ratios (new / old) is the answer. Run it with
``--old`` and ``--new`` the same tree to see the spread (ADR 0006, session 22: 1.006×,
quartiles 0.94–1.07× for rounds of 100). The database is migrated with the new tree's
migrations: both versions must work on that schema.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import statistics
import subprocess
import sys
import time
import uuid
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
WARM_UP = 50  # bookings per process before the rounds: connections, compiled queries, prepared statements


def settings_env(args: argparse.Namespace) -> dict[str, str]:
    from cryptography.fernet import Fernet

    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "DATABASE_URL": args.database_url,
        "REDIS_URL": args.redis_url,
        "SECRET_KEY": secrets.token_urlsafe(50),
        "FIELD_ENCRYPTION_KEYS": Fernet.generate_key().decode(),
        "DEBUG": "0",
        "LOG_LEVEL": "ERROR",
        "RATE_LIMIT_EXEMPT_ADDRESSES": "127.0.0.1",
        "DATABASE_CONN_MAX_AGE": "0",
        "DATABASE_POOL": "1",
        "PYTHONHASHSEED": "0",
    }


def prepare(args: argparse.Namespace, env: dict[str, str], students: int) -> Path:
    """A fresh database with ``students`` bound students and 600 slots of ample capacity."""
    import psycopg

    parts = urlsplit(args.database_url)
    name = parts.path.lstrip("/")
    if not name.endswith("bench"):
        raise SystemExit(f"refusing to drop {name!r}: the database's name must end in 'bench'")
    with psycopg.connect(urlunsplit(parts._replace(path="/postgres")), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    scenario = Path(args.new).resolve() / "var" / "ab-scenario.json"
    scenario.parent.mkdir(exist_ok=True)
    for command in (
        ["migrate", "--no-input", "-v", "0"],
        ["rush_scenario", "--students", str(students), "--slots", "600", "--capacity", "1000000",
         "--opens-in", "0", "--out", str(scenario)],
    ):  # fmt: skip
        subprocess.run([sys.executable, "manage.py", *command], cwd=args.new, env=env, check=True)
    return scenario


def worker(tree: str, scenario: str, start: int, end: int) -> None:
    """Book for students ``start``..``end`` of the scenario: ``WARM_UP``, then as many as each
    line read from stdin asks, answering each with the thread CPU per booking (µs)."""
    sys.path.insert(0, tree)
    os.chdir(tree)
    import django

    django.setup()
    import gc

    from smartclinic.booking.fastpath import book_request

    facts = json.loads(Path(scenario).read_text())
    slots: dict[tuple[str, str], list[str]] = {}
    for slot in facts["slots"]:
        slots.setdefault((slot["department"], slot["date"]), []).append(slot["id"])
    bookings = iter(
        (student["token"], uuid.UUID(slots[(student["department"], student["date"])][i % 7]))
        for i, student in enumerate(facts["students"][start:end])
    )

    def book() -> None:
        token, slot_id = next(bookings)
        answer = book_request(
            token=token, slot_id=slot_id, idempotency_key=None, language="en", address="127.0.0.1", request_id="ab"
        )
        if answer is None or answer[0] != 201:
            raise SystemExit(f"{tree}: a booking was not made: {answer}")

    for _ in range(WARM_UP):
        book()
    gc.collect()
    gc.freeze()  # as the server does after start-up
    print("ready", flush=True)
    for line in sys.stdin:
        count = int(line)
        started = time.thread_time()
        for _ in range(count):
            book()
        print((time.thread_time() - started) / count * 1e6, flush=True)


def compare(args: argparse.Namespace) -> None:
    env = settings_env(args)
    each = args.rounds * args.per_round + WARM_UP
    scenario = prepare(args, env, students=2 * each)
    processes = {}
    for index, (label, tree) in enumerate((("old", args.old), ("new", args.new))):
        start = index * each
        command = [sys.executable, __file__, "--worker", str(Path(tree).resolve()), str(scenario)]
        processes[label] = subprocess.Popen(
            [*command, str(start), str(start + each)],
            env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
        )  # fmt: skip
    try:
        for label, process in processes.items():
            assert process.stdout is not None
            if process.stdout.readline().strip() != "ready":
                raise SystemExit(f"the {label} version did not start")
        spent: dict[str, list[float]] = {"old": [], "new": []}
        for round_index in range(args.rounds):
            for label in ("old", "new") if round_index % 2 == 0 else ("new", "old"):
                process = processes[label]
                assert process.stdin is not None and process.stdout is not None
                process.stdin.write(f"{args.per_round}\n")
                process.stdin.flush()
                spent[label].append(float(process.stdout.readline()))
    finally:
        for process in processes.values():
            if process.stdin is not None:
                process.stdin.close()
            process.wait()
    ratios = [new / old for old, new in zip(spent["old"], spent["new"], strict=True)]
    quartiles = statistics.quantiles(ratios, n=4)
    print(
        f"book_request, µs of CPU per booking (median of {args.rounds} rounds of {args.per_round}): "
        f"old {statistics.median(spent['old']):.0f}, new {statistics.median(spent['new']):.0f}\n"
        f"new / old, round by round: median {statistics.median(ratios):.3f} "
        f"(quartiles {quartiles[0]:.3f}–{quartiles[2]:.3f})"
    )


def main() -> None:
    if sys.argv[1:2] == ["--worker"]:
        tree, scenario, start, end = sys.argv[2:6]
        worker(tree, scenario, int(start), int(end))
        return
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--old", required=True, help="the other version's source tree (a git worktree)")
    parser.add_argument("--new", default=str(ROOT), help="this version's source tree (default: this one)")
    parser.add_argument("--rounds", type=int, default=30)
    parser.add_argument("--per-round", type=int, default=100)
    parser.add_argument(
        "--database-url",
        default=os.environ.get("AB_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/smartclinic_ab_bench"),
    )
    parser.add_argument("--redis-url", default=os.environ.get("AB_REDIS_URL", "redis://127.0.0.1:6379/7"))
    compare(parser.parse_args())


if __name__ == "__main__":
    main()
