#!/usr/bin/env python3
"""``make bench-rush``: the booking rush, end to end, on this machine. Not part of ``make test``.

1. A fresh PostgreSQL database (``BENCH_DATABASE_URL``, default ``.../smartclinic_bench``; its
   name must end in ``bench``: it is dropped and created again), migrated.
2. The production server set-up (``python -m smartclinic.serve``: 4 uvicorn workers, a socket
   each; the psycopg pool, Redis for the rate-limit counters, admission control on), with
   ``RATE_LIMIT_EXEMPT_ADDRESSES=127.0.0.1``: every simulated student comes from this one
   address, and the per-address limit is meant for a campus NAT, not for a load generator. The
   per-person limit stays on.
3. The bare-SQL baseline: the server's own booking transaction, captured from the real view and
   replayed with psycopg threads (``bench/baseline.py``), as many threads as the server has
   workers: booking transactions per second with no HTTP and no Django.
4. End-to-end capacity: students booking in a closed loop, five rounds of 4 s (two clients per
   worker; every request a successful booking, slots spread as in the baseline): bookings per
   second over HTTP. Each round runs between two bare-SQL rounds of 3 s, one just before and one
   just after, and the ratio is taken round by round against their mean, its median counts:
   this box's speed drifts by a third within a minute, and two medians taken a minute apart
   can be off by as much. Then one round in which
   nearly every booking finds its slot full: what a refusal costs (most of a rush's answers).
5. Overload: open-loop arrivals at 0.9x and at 1.8x that capacity (so "twice the sustainable
   rate"), shed requests not retried: goodput, and how fast the excess is answered 503.
6. The rush: ``manage.py rush_scenario`` (10,000 students, 600 slots of one place over 3
   departments x 5 days) and ``bench/rush.py`` from a separate process (all students within a
   2 s ramp after the release; re-list and retry on slot_full; 10% of bookings sent twice with
   one Idempotency-Key; Retry-After honoured), then the audit read from the database.
7. The same with 60 slots of 10 places (hot rows).

Prints every number and writes them to ``var/bench/rush-<time>.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any, cast
from urllib.parse import urlsplit, urlunsplit

import timeline  # bench/, beside this script

ROOT = Path(__file__).resolve().parent.parent
PYTHON = str(ROOT / ".venv" / "bin" / "python") if (ROOT / ".venv" / "bin" / "python").exists() else sys.executable
BIN = Path(PYTHON).parent
OUT = ROOT / "var" / "bench"


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


def foreign_load() -> float:
    """The 1-minute load average: how busy the machine was apart from us (roughly)."""
    return os.getloadavg()[0]


def python_reference_ms(rounds: int = 5) -> float:
    """CPU milliseconds for a fixed piece of plain Python (dicts, strings, JSON), the best of
    ``rounds``: how fast this box runs Python today. The box changes from one session to the
    next, and with it every number here; this one tells the sessions apart."""
    best = float("inf")
    for _ in range(rounds):
        started = time.process_time()
        for i in range(20_000):
            row = {"id": f"slot-{i}", "remaining": i % 7, "fee": i * 100, "tags": ["a", "b", str(i)]}
            json.loads(json.dumps(row))
        best = min(best, time.process_time() - started)
    return round(best * 1000, 1)


def cpu_busy() -> tuple[int, int]:
    with open("/proc/stat") as handle:
        fields = [int(x) for x in handle.readline().split()[1:]]
    idle = fields[3] + fields[4]
    return sum(fields) - idle, sum(fields)


CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


PARTS = ("server", "postgres", "redis")


def cpu_by_process(server_group: int | None) -> dict[int, tuple[str, float]]:
    """CPU seconds used so far by each of the server's processes (its process group),
    PostgreSQL's and Redis's, with the part each belongs to: read from ``/proc`` before and
    after a round, they say where the round's CPU went (``cpu_used_between``)."""
    used: dict[int, tuple[str, float]] = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/stat") as handle:
                stat = handle.read()
        except OSError:
            continue  # gone meanwhile
        name, _, rest = stat.rpartition(")")
        fields = rest.split()
        command = name.partition("(")[2]
        if server_group is not None and int(fields[2]) == server_group:
            part = "server"
        elif command.startswith("postgres"):
            part = "postgres"
        elif command.startswith("redis"):
            part = "redis"
        else:
            continue
        used[int(entry.name)] = (part, (int(fields[11]) + int(fields[12])) / CLOCK_TICKS)  # utime + stime
    return used


def cpu_used_between(before: dict[int, tuple[str, float]], after: dict[int, tuple[str, float]]) -> dict[str, float]:
    """CPU seconds by part between two ``cpu_by_process`` readings, process by process: one that
    started in between counts whole; one that ended in between is missing (a PostgreSQL backend
    closing would otherwise take all it ever used off the sum, and make it negative)."""
    used = dict.fromkeys(PARTS, 0.0)
    for pid, (part, seconds) in after.items():
        earlier = before.get(pid)
        used[part] += seconds - (earlier[1] if earlier is not None and earlier[0] == part else 0.0)
    return used


class Bench:
    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.dsn = args.database_url
        parts = urlsplit(self.dsn)
        self.dbname = parts.path.lstrip("/")
        if not self.dbname.endswith("bench"):
            raise SystemExit(f"refusing to drop {self.dbname!r}: the bench database's name must end in 'bench'")
        self.admin_dsn = urlunsplit(parts._replace(path="/postgres"))
        self.port = args.port or self._free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.stamp = time.strftime("%Y%m%d-%H%M%S")
        OUT.mkdir(parents=True, exist_ok=True)
        self.work = OUT / f"run-{self.stamp}"
        self.work.mkdir()
        os.chmod(self.work, 0o700)  # scenarios hold raw tokens
        from cryptography.fernet import Fernet

        self.env = {
            **os.environ,
            "DATABASE_URL": self.dsn,
            "SECRET_KEY": secrets.token_urlsafe(50),
            "FIELD_ENCRYPTION_KEYS": Fernet.generate_key().decode(),
            "DEBUG": "0",
            "ALLOWED_HOSTS": "127.0.0.1,localhost",
            "RATE_LIMIT_EXEMPT_ADDRESSES": "127.0.0.1",
            "REDIS_URL": args.redis_url,
            "LOG_LEVEL": "ERROR",
            "ADMISSION_MAX_QUEUE_MS": str(args.admission_ms),
            "ADMISSION_MAX_IN_FLIGHT": str(args.in_flight),
            "ADMISSION_WORKER_MAX_IN_FLIGHT": str(args.worker_in_flight),
            "PYTHONHASHSEED": "0",
        }
        if args.server == "gunicorn":
            self.env.update({"DATABASE_CONN_MAX_AGE": "600", "DATABASE_POOL": "0"})
        else:
            self.env.update(
                {
                    "DATABASE_CONN_MAX_AGE": "0",
                    "DATABASE_POOL": "1",
                    # the fast path's threads keep theirs; Django's threads: the admitted
                    # requests (up to a worker's most) and the micro-cache's refreshes
                    "DATABASE_POOL_MAX": str(args.threads + max(args.in_flight, args.worker_in_flight) + 2),
                    "BOOKING_FAST_PATH_THREADS": str(args.threads),
                }
            )
        for name in ("SECRET_KEY_FILE", "FIELD_ENCRYPTION_KEYS_FILE", "DATABASE_URL_FILE", "REDIS_URL_FILE"):
            self.env.pop(name, None)
        self.server: subprocess.Popen[bytes] | None = None
        self.plan: Path | None = None  # the captured booking transaction (``baseline``)
        self.results: dict[str, Any] = {
            "started": self.stamp,
            "config": {k: v for k, v in vars(args).items() if k not in ("database_url",)},
            "machine": {
                "cpus": os.cpu_count(),
                "load_at_start": foreign_load(),
                "python_reference_ms": python_reference_ms(),
            },
        }

    @staticmethod
    def _free_port() -> int:
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            return int(sock.getsockname()[1])

    # --- processes -----------------------------------------------------------------------------

    def manage(self, *argv: str, quiet: bool = False) -> str:
        done = subprocess.run(
            [PYTHON, "manage.py", *argv], cwd=ROOT, env=self.env, capture_output=True, text=True, check=False
        )
        if done.returncode != 0:
            raise SystemExit(f"manage.py {' '.join(argv)} failed:\n{done.stdout}\n{done.stderr}")
        if not quiet and done.stdout.strip():
            log(done.stdout.strip().splitlines()[-1])
        return done.stdout

    def fresh_database(self) -> None:
        import psycopg

        log(f"fresh database {self.dbname}")
        with psycopg.connect(self.admin_dsn, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{self.dbname}" WITH (FORCE)')
            conn.execute(f'CREATE DATABASE "{self.dbname}"')
        self.manage("migrate", "--no-input", "-v", "0", quiet=True)

    def start_server(self) -> None:
        workers = str(self.args.workers)
        if self.args.server == "gunicorn":
            command = [
                str(BIN / "gunicorn"), "config.wsgi:application", "--workers", workers,
                "--bind", f"127.0.0.1:{self.port}", "--backlog", "4096", "--log-level", "warning",
            ]  # fmt: skip
        elif self.args.server == "serve":  # production's: a socket per worker (SO_REUSEPORT)
            command = [
                str(PYTHON), "-m", "smartclinic.serve", "config.asgi:application", "--workers", workers,
                "--host", "127.0.0.1", "--port", str(self.port), "--backlog", "4096", "--log-level", "warning",
            ]  # fmt: skip
        else:
            command = [
                str(BIN / "uvicorn"), "config.asgi:application", "--workers", workers, "--host", "127.0.0.1",
                "--port", str(self.port), "--backlog", "4096", "--no-access-log", "--log-level", "warning",
            ]  # fmt: skip
        log(f"server: {' '.join(Path(c).name if i == 0 else c for i, c in enumerate(command))}")
        self.server_log = open(self.work / "server.log", "wb")  # noqa: SIM115 - closed in stop_server
        self.server = subprocess.Popen(
            command, cwd=ROOT, env=self.env, stdout=self.server_log, stderr=subprocess.STDOUT, start_new_session=True
        )
        deadline = time.time() + 60
        while time.time() < deadline:
            if self.server.poll() is not None:
                raise SystemExit(f"the server exited: see {self.work / 'server.log'}")
            try:
                with urllib.request.urlopen(f"{self.url}/api/v1/departments", timeout=2) as response:
                    if response.status == 200:
                        break
            except OSError:
                time.sleep(0.3)
        else:
            raise SystemExit("the server did not come up within 60 s")
        for _ in range(self.args.workers * 4):  # every worker loads the app and connects
            urllib.request.urlopen(f"{self.url}/api/v1/departments", timeout=5).read()

    def stop_server(self) -> None:
        if self.server is not None and self.server.poll() is None:
            os.killpg(self.server.pid, signal.SIGTERM)
            try:
                self.server.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self.server.pid, signal.SIGKILL)
                self.server.wait()
        self.server = None

    def scenario(self, name: str, *, students: int, slots: int, capacity: int, opens_in: float) -> Path:
        path = self.work / f"{name}.json"
        self.manage(
            "rush_scenario", "--students", str(students), "--slots", str(slots), "--capacity", str(capacity),
            "--opens-in", str(opens_in), "--out", str(path),
        )  # fmt: skip
        self.settle()
        return path

    def settle(self) -> None:
        """What pgbench does before each run: fresh statistics for the rows just written, and
        their pages on disk, so that neither autovacuum nor a checkpoint can land in the middle
        of the measurement (a rush is created a minute before its release, autovacuum's nap)."""
        import psycopg

        with psycopg.connect(self.dsn, autocommit=True) as conn:
            conn.execute("VACUUM ANALYZE")
            conn.execute("CHECKPOINT")

    def client(self, scenario: Path, name: str, *extra: str) -> dict[str, Any]:
        out = self.work / f"{name}-records.json"
        busy0 = cpu_busy()
        group = self.server.pid if self.server is not None else None  # its own session: start_new_session
        parts0 = cpu_by_process(group)
        done = subprocess.run(
            [PYTHON, str(ROOT / "bench" / "rush.py"), "--scenario", str(scenario), "--url", self.url,
             "--out", str(out), "--quiet", *extra],
            cwd=ROOT, env={**os.environ, "PYTHONHASHSEED": "0"}, capture_output=True, text=True, check=False,
        )  # fmt: skip
        busy1 = cpu_busy()
        parts1 = cpu_by_process(group)
        if done.returncode != 0:
            raise SystemExit(f"rush.py failed:\n{done.stdout}\n{done.stderr}")
        summary = json.loads(done.stdout.strip().splitlines()[-1])
        summary["cpu_busy"] = (busy1[0] - busy0[0]) / max(1, busy1[1] - busy0[1])
        summary["cpu_s"] = cpu_used_between(parts0, parts1)
        summary["cpu_s"]["client"] = summary["client_cpu_s"]
        summary["records_file"] = str(out)
        return summary

    # --- phases ------------------------------------------------------------------------------

    def baseline(self) -> None:
        """Capture the server's booking transaction; its replays run round by round with the
        closed loop's (``capacity``)."""
        log("bare-SQL baseline: capture the server's booking transaction, replay it with psycopg threads")
        scenario = self.scenario("baseline", students=50, slots=600, capacity=1_000_000, opens_in=0)
        self.plan = plan = self.work / "plan.pickle"
        done = subprocess.run(
            [PYTHON, str(ROOT / "bench" / "baseline.py"), "capture", "--scenario", str(scenario), "--out", str(plan),
             "--via", "view" if self.args.server == "gunicorn" else "fastpath"],
            cwd=ROOT, env=self.env, capture_output=True, text=True, check=False,
        )  # fmt: skip
        if done.returncode != 0:
            raise SystemExit(f"baseline capture failed:\n{done.stdout}\n{done.stderr}")
        print(done.stdout.rstrip(), flush=True)

    def replay(self, *extra: str) -> dict[str, Any]:
        """One round of the bare-SQL baseline."""
        replay = subprocess.run(
            [PYTHON, str(ROOT / "bench" / "baseline.py"), "replay", "--plan", str(self.plan), "--dsn", self.dsn,
             "--threads", str(self.args.workers), "--seconds", str(self.args.baseline_seconds), "--json", *extra],
            cwd=ROOT, env=self.env, capture_output=True, text=True, check=False,
        )  # fmt: skip
        if replay.returncode != 0:
            raise SystemExit(f"baseline replay failed:\n{replay.stdout}\n{replay.stderr}")
        return cast("dict[str, Any]", json.loads(replay.stdout.strip().splitlines()[-1]))

    def capacity(self) -> None:
        """Closed-loop rounds over HTTP. With the baseline, each round is bracketed by bare-SQL
        rounds, one just before and one just after: this box's speed drifts by a third within a
        minute, so the ratio is taken round by round, against the mean of the two bare-SQL rounds
        around it (a drift during the round weighs on both sides alike), and its median counts."""
        with_baseline = self.plan is not None
        log(
            f"end-to-end capacity: closed loop, every request a booking, {self.args.probe_rounds} rounds"
            + (", each between two bare-SQL rounds" if with_baseline else "")
        )
        rounds, bare, bare_reads = [], [], []
        for index in range(self.args.probe_rounds):
            name = f"capacity-{index + 1}"
            scenario = self.scenario(name, students=self.args.probe_students, slots=600, capacity=1_000_000, opens_in=0)
            if with_baseline:
                bare_reads.append(self.replay("--with-reads"))
                before = self.replay()
            clients, seconds = self.args.closed_clients, self.args.probe_seconds
            summary = self.closed_loop(scenario, name, clients=clients, seconds=seconds)
            summary["bookings_per_s_closed"] = summary["confirmed_bookings"] / self.args.probe_seconds
            summary["cpu_ms_per_booking"] = _cpu_ms_per(summary, summary["confirmed_bookings"])
            booked = summary["latency_by_outcome"].get("booked (201)", {"count": 0})
            paired = ""
            if with_baseline:
                after = self.replay()
                bare += [before, after]
                around = (before["tx_per_s"] + after["tx_per_s"]) / 2
                summary["bare_tx_per_s"] = around
                summary["bare_tx_per_s_before_after"] = [before["tx_per_s"], after["tx_per_s"]]
                summary["ratio"] = summary["bookings_per_s_closed"] / around
                paired = (
                    f"bare SQL {before['tx_per_s']:.0f} before, {after['tx_per_s']:.0f} after "
                    f"(with the reads {bare_reads[-1]['tx_per_s']:.0f}), "
                )
            log(
                f"  round {index + 1}: {paired}HTTP {summary['bookings_per_s_closed']:.0f} bookings/s with "
                f"{self.args.closed_clients} clients (p50 {booked.get('p50_ms')} ms, p99 {booked.get('p99_ms')} ms; "
                f"statuses {summary['status_counts']}; CPU per booking {_cpu_text(summary['cpu_ms_per_booking'])})"
                + (f" -> ratio {summary['ratio']:.2f}x" if with_baseline else "")
            )
            rounds.append(summary)
        self.results["refusals"] = self.refusals()
        # The median round: this machine is noisy, and one round can catch a busy moment.
        self.results["capacity"] = median = _median_of(rounds, "bookings_per_s_closed", "rounds_bookings_per_s")
        each = ", ".join(f"{x:.0f}" for x in median["rounds_bookings_per_s"])
        log(f"HTTP: {median['bookings_per_s_closed']:.0f} bookings/s, the median of {each}")
        if with_baseline:
            self.results["baseline"] = {
                "transaction": _median_of(bare, "tx_per_s", "rounds_tx_per_s"),
                "with_reads": _median_of(bare_reads, "tx_per_s", "rounds_tx_per_s"),
            }
            ratios = [r["ratio"] for r in rounds]
            self.results["ratio_by_round"] = {"median": sorted(ratios)[len(ratios) // 2], "rounds": ratios}
            for label, run in self.results["baseline"].items():
                log(
                    f"bare SQL ({label.replace('_', ' ')}): {run['tx_per_s']:.0f} tx/s (median of "
                    f"{', '.join(f'{x:.0f}' for x in run['rounds_tx_per_s'])}), "
                    f"{run['statements_per_tx']} statements, p50 {run['p50_ms']:.1f} ms"
                )

    def refusals(self) -> dict[str, Any]:
        """One closed-loop round in which nearly every booking finds its slot full (15 slots of
        one place): what a refusal costs. Most of a rush's booking requests are refusals."""
        scenario = self.scenario("refusals", students=self.args.probe_students, slots=15, capacity=1, opens_in=0)
        clients, seconds = self.args.closed_clients, self.args.probe_seconds
        summary = self.closed_loop(scenario, "refusals", clients=clients, seconds=seconds)
        refused = summary["status_counts"].get("409", 0)
        # Over the round's own span: on a fast box the students may run out before its end.
        summary["refusals_per_s"] = refused / max(summary["span_s"], 1e-9)
        summary["cpu_ms_per_request"] = _cpu_ms_per(summary, summary["requests"])
        log(
            f'  refusals: {summary["refusals_per_s"]:.0f} "slot full" answers/s with {clients} '
            f"clients (statuses {summary['status_counts']}; CPU per request {_cpu_text(summary['cpu_ms_per_request'])})"
        )
        return summary

    def warm_up(self) -> None:
        """Bookings through every worker before a rush measured on its own: a server that has
        booked nothing yet opens its threads' database connections, compiles its queries and
        prepares its statements in the rush's first seconds (a clinic's server has been up since
        morning). A full run's closed loop does this already."""
        log("warm-up: 16 clients booking in a closed loop for 2 s")
        scenario = self.scenario("warm-up", students=1000, slots=60, capacity=1_000_000, opens_in=0)
        self.closed_loop(scenario, "warm-up", clients=16, seconds=2.0)

    def closed_loop(self, scenario: Path, name: str, *, clients: int, seconds: float) -> dict[str, Any]:
        """``clients`` students booking back to back for ``seconds``, one connection each."""
        return self.client(
            scenario, name, "--closed", str(clients), "--duration", str(seconds), "--twin-share", "0",
            "--concurrency", str(clients), "--no-stamp", "--max-shed-retries", "0",
        )  # fmt: skip

    def overload(self) -> None:
        capacity = self.results["capacity"]["bookings_per_s_closed"]
        runs = {}
        for label, factor in (("1x", 0.9), ("2x", 1.8)):
            rate = max(5.0, capacity * factor)
            seconds = self.args.overload_seconds
            n = int(rate * seconds)
            log(f"overload {label}: open loop at {rate:.0f} arrivals/s for {seconds:.0f} s ({n} students)")
            scenario = self.scenario(f"overload-{label}", students=n, slots=600, capacity=1_000_000, opens_in=0)
            summary = self.client(
                scenario, f"overload-{label}", "--rate", f"{rate:.2f}", "--twin-share", "0",
                "--max-shed-retries", "0", "--concurrency", str(self.args.concurrency or n),
            )  # fmt: skip
            summary["arrival_rate"] = rate
            summary["goodput_per_s"] = summary["confirmed_bookings"] / (n / rate)
            runs[label] = summary
            shed = {k: v for k, v in summary["latency_by_outcome"].items() if k.startswith("shed")}
            log(
                f"  goodput {summary['goodput_per_s']:.0f} bookings/s; statuses {summary['status_counts']}; shed {shed}"
            )
        runs["goodput_ratio"] = runs["2x"]["goodput_per_s"] / max(runs["1x"]["goodput_per_s"], 1e-9)
        self.results["overload"] = runs

    def rush(self, label: str, *, slots: int, capacity: int) -> None:
        students = self.args.students
        log(f"rush {label}: {students} students, {slots} slots x {capacity}")
        scenario = self.scenario(label, students=students, slots=slots, capacity=capacity, opens_in=self.args.opens_in)
        facts = json.loads(scenario.read_text())
        if facts["opens_at_epoch"] - time.time() < 3:
            raise SystemExit("the scenario took too long to create: raise --opens-in")
        concurrency = self.args.concurrency
        summary = self.client(
            scenario, label, "--ramp", str(self.args.ramp), "--concurrency", str(concurrency),
            "--deadline", str(self.args.deadline),
        )  # fmt: skip
        records = json.loads(Path(summary["records_file"]).read_text())
        summary["audit"] = self.audit(facts, records)
        summary["tail"] = timeline.summary(records["records"], capacity=facts["capacity_total"], ramp=self.args.ramp)
        self.results[label] = summary

    # --- the audit ---------------------------------------------------------------------------

    def audit(self, facts: dict[str, Any], records: dict[str, Any]) -> dict[str, Any]:
        import psycopg

        tag = facts["tag"]
        release = facts["opens_at_epoch"]
        with psycopg.connect(self.dsn) as conn:
            slot_rows = conn.execute(
                """
                SELECT sl.id, sl.capacity, sl.booked,
                       (SELECT count(*) FROM booking_appointment ap
                         WHERE ap.slot_id = sl.id AND ap.status IN ('booked', 'paid')) AS live
                  FROM scheduling_slot sl
                  JOIN scheduling_clinicsession cs ON cs.id = sl.session_id
                  JOIN scheduling_department d ON d.id = cs.department_id
                 WHERE d.code LIKE %s
                """,
                (f"R{tag.upper()}%",),
            ).fetchall()
            rows = conn.execute(
                """
                SELECT m.number, ap.public_id::text, ap.person_key, extract(epoch FROM ap.created_at)
                  FROM booking_appointment ap JOIN identity_member m ON m.id = ap.member_id
                 WHERE m.number LIKE %s AND ap.status IN ('booked', 'paid')
                """,
                (f"R{tag}%",),
            ).fetchall()
            ids = [r[1] for r in rows]
            events = conn.execute(
                "SELECT count(*) FROM outbox_outboxmessage WHERE name = 'booking.appointment_booked' "
                "AND payload->>'appointment_id' = ANY(%s)",
                (ids,),
            ).fetchone()[0]
            audited = conn.execute(
                "SELECT count(*) FROM audit_auditentry WHERE action = 'booking.appointment_booked' "
                "AND subject_id = ANY(%s)",
                (ids,),
            ).fetchone()[0]
            quota_drift = conn.execute(
                """
                SELECT count(*) FROM booking_personquota q
                 WHERE q.person_key = ANY(%s) AND q.live_count <> (
                       SELECT count(*) FROM booking_appointment ap
                        WHERE ap.person_key = q.person_key AND ap.status IN ('booked', 'paid'))
                """,
                (sorted({r[2] for r in rows}),),
            ).fetchone()[0]
        per_member: dict[str, set[str]] = {}
        for number, public_id, _key, _at in rows:
            per_member.setdefault(number, set()).add(public_id)
        confirmed: dict[str, set[str]] = {s["member"]: set(s["confirmed"]) for s in records["students"]}
        all_confirmed = {i for ids_ in confirmed.values() for i in ids_}
        db_ids = {r[1]: r[0] for r in rows}
        capacity_total = sum(r[1] for r in slot_rows)
        sold = sum(r[3] for r in slot_rows)
        created = sorted(r[3] for r in rows)
        return {
            "capacity": capacity_total,
            "sold": sold,
            "sold_out": sold == capacity_total,
            "sold_out_after_release_s": (float(created[-1]) - release) if created and sold == capacity_total else None,
            "oversold_slots": sum(1 for r in slot_rows if r[2] > r[1] or r[3] > r[1]),
            "students_with_more_than_one": sum(1 for v in per_member.values() if len(v) > 1),
            "confirmed_without_row": sum(
                1 for member, ids_ in confirmed.items() for i in ids_ if db_ids.get(i) != member
            ),
            "rows_without_confirmation": sum(1 for i in db_ids if i not in all_confirmed),
            "counter_drift_slots": sum(1 for r in slot_rows if r[2] != r[3]),
            "quota_drift": quota_drift,
            "events_missing": len(rows) - events,
            "audit_entries_missing": len(rows) - audited,
        }

    # --- report ------------------------------------------------------------------------------

    def run(self) -> None:
        started = time.time()
        try:
            phases = set(self.args.phases.split(","))
            self.fresh_database()
            self.start_server()
            if "baseline" in phases:
                self.baseline()
            if phases & {"baseline", "capacity", "overload"}:
                self.capacity()  # also warms every worker up
            elif phases & {"rush", "hot"}:
                self.warm_up()
            if "overload" in phases and not self.args.skip_overload:
                self.overload()
            if "rush" in phases:
                self.rush("rush", slots=self.args.slots, capacity=1)
            if "hot" in phases and not self.args.skip_hot:
                self.rush("hot", slots=self.args.hot_slots, capacity=self.args.hot_capacity)
        finally:
            self.stop_server()
        self.results["machine"]["load_at_end"] = foreign_load()
        self.results["elapsed_s"] = time.time() - started
        path = OUT / f"rush-{self.stamp}.json"
        path.write_text(json.dumps(self.results, indent=2, default=str))
        report(self.results, self.args)
        print(f"\nall numbers: {path}")


def _median_of(rounds: list[dict[str, Any]], key: str, all_key: str) -> dict[str, Any]:
    """The median round by ``key``, with every round's ``key`` under ``all_key`` (in run order)."""
    ordered = sorted(rounds, key=lambda r: r[key])
    return {**ordered[len(ordered) // 2], all_key: [r[key] for r in rounds]}


def _cpu_ms_per(summary: dict[str, Any], count: int) -> dict[str, float]:
    """A round's CPU milliseconds per one of ``count`` (bookings, answers), by part (server,
    PostgreSQL, Redis, load client)."""
    return {part: round(seconds * 1000 / max(1, count), 2) for part, seconds in summary["cpu_s"].items()}


def _cpu_text(per_one: dict[str, float]) -> str:
    return ", ".join(f"{part} {ms:.2f} ms" for part, ms in per_one.items())


def _row(label: str, row: dict[str, Any] | None) -> str:
    if not row:
        return f"  {label:<20}{'-':>7}"
    return (
        f"  {label:<20}{row['count']:>7}{row['p50_ms']:>9}{row['p95_ms']:>9}{row['p99_ms']:>9}{row['max_ms']:>9}"
        f"{row.get('server_p50_ms', '-'):>11}{row.get('server_p99_ms', '-'):>11}"
    )


def report(r: dict[str, Any], args: argparse.Namespace) -> None:
    verdicts: list[tuple[str, bool, str]] = []
    print("\n" + "=" * 78)
    print(f"SmartClinic booking rush — {r['started']}, {args.server} x {args.workers} workers, "
          f"load average at start {r['machine']['load_at_start']:.1f}")  # fmt: skip
    print(f"this box's Python: the reference piece in {r['machine']['python_reference_ms']} ms of CPU "
          "(best of 5; lower is faster)")  # fmt: skip
    if "baseline" in r and "capacity" in r:
        base = r["baseline"]["transaction"]
        http = r["capacity"]["bookings_per_s_closed"]
        ratio = r["ratio_by_round"]["median"]
        r["ratio"] = ratio
        print(f"\nbare SQL (same transaction, {base['threads']} psycopg threads): {base['tx_per_s']:.0f} tx/s "
              f"(median of {', '.join(f'{x:.0f}' for x in base['rounds_tx_per_s'])}) "
              f"({base['statements_per_tx']} statements; with the request's reads too: "
              f"{r['baseline']['with_reads']['tx_per_s']:.0f} tx/s)")  # fmt: skip
        rounds = ", ".join(f"{x:.0f}" for x in r["capacity"]["rounds_bookings_per_s"])
        each = ", ".join(f"{x:.2f}" for x in r["ratio_by_round"]["rounds"])
        print(f"HTTP, closed loop ({args.closed_clients} clients): {http:.0f} bookings/s (median of {rounds})")
        print(f"  CPU per booking in the median round: {_cpu_text(r['capacity']['cpu_ms_per_booking'])}")
        print(f"  ADMISSION_QUEUE_RATE for this box (bookings/s per worker): {http / args.workers:.0f}")
        if "refusals" in r:
            refusals = r["refusals"]
            print(f"  \"slot full\" in a closed loop: {refusals['refusals_per_s']:.0f}/s, CPU per answer "
                  f"{_cpu_text(refusals['cpu_ms_per_request'])}")  # fmt: skip
        print(f"ratio, round by round: {ratio:.2f}x (median of {each}; ratio of the medians "
              f"{http / base['tx_per_s']:.2f}x; vs bare SQL with the reads "
              f"{http / r['baseline']['with_reads']['tx_per_s']:.2f}x)")  # fmt: skip
        verdicts.append(("end-to-end booking throughput >= 0.30x bare SQL", ratio >= 0.30, f"{ratio:.3f}x"))
    if "overload" in r:
        o = r["overload"]
        for label in ("1x", "2x"):
            s = o[label]
            shed = [v for k, v in s["latency_by_outcome"].items() if k.startswith("shed")]
            shed_txt = ", ".join(f"{v['count']} shed p50 {v['p50_ms']} / p99 {v['p99_ms']} / max {v['max_ms']} ms"
                                 for v in shed) or "nothing shed"  # fmt: skip
            print(f"overload {label} ({s['arrival_rate']:.0f}/s): goodput {s['goodput_per_s']:.0f} bookings/s; "
                  f"{shed_txt}; statuses {s['status_counts']}")  # fmt: skip
        shed2 = [v for k, v in o["2x"]["latency_by_outcome"].items() if k.startswith("shed")]
        shed_p99 = max((v["p99_ms"] for v in shed2), default=0.0)
        verdicts.append(("at 2x: goodput >= 90% of 1x", o["goodput_ratio"] >= 0.9, f"{o['goodput_ratio']:.0%}"))
        verdicts.append(("at 2x: excess shed (429/503) within 50 ms (p99)", bool(shed2) and shed_p99 <= 50,
                         f"p99 {shed_p99} ms" if shed2 else "nothing shed"))  # fmt: skip
    for label in ("rush", "hot"):
        if label not in r:
            continue
        s, a = r[label], r[label]["audit"]
        print(f"\n{label}: {s['students']} students, {a['capacity']} places "
              f"({'600 x 1' if label == 'rush' else f'{args.hot_slots} x {args.hot_capacity}'})")  # fmt: skip
        print(f"  requests {s['requests']} ({s['requests_per_s']:.0f}/s over {s['span_s']:.1f} s); "
              f"confirmed bookings {s['confirmed_bookings']} "
              f"({(s['bookings_per_s'] or 0):.0f} bookings/s from the release to the last one)")  # fmt: skip
        sell = a["sold_out_after_release_s"]
        print(
            f"  sold out: {a['sold']}/{a['capacity']}"
            + (f", {sell:.2f} s after the release ({sell - args.ramp:+.2f} s after the ramp's end)" if sell else "")
        )
        if "tail" in s:
            t = s["tail"]
            returns = ", ".join(f"{n} {outcome}" for outcome, n in sorted(t["tail_returns"].items())) or "none"
            wait = t["tail_returns_shed_again_wait_p50_s"]
            print(f"  places left at the ramp's end {t['left_at_ramp_end']}, a second later "
                  f"{t['left_a_second_later']}; students back from the virtual queue after the ramp: {returns}"
                  + (f" (shed again: told to wait {wait} s at the median)" if wait is not None else ""))  # fmt: skip
            first, slowest = t.get("first_quarter_second"), t.get("slowest_quarter_second_of_the_ramp")
            if first and slowest:
                print(
                    "  answers to the requests sent in the release's first quarter second: "
                    f"p50 {first['p50_ms']:.0f} / p90 {first['p90_ms']:.0f} ms; the ramp's slowest quarter "
                    f"(sent from {slowest['sent_from_s']:.2f} s): "
                    f"p50 {slowest['p50_ms']:.0f} / p90 {slowest['p90_ms']:.0f} ms"
                )
        print(f"  statuses {s['status_counts']}  outcomes {s['outcomes']}")
        print(
            f"  {'latency by outcome':<20}{'count':>7}{'p50 ms':>9}{'p95 ms':>9}{'p99 ms':>9}{'max ms':>9}"
            f"{'wire p50':>11}{'wire p99':>11}"
        )
        for name, row in s["latency_by_outcome"].items():
            print(_row(name, row))
        audit_keys = ("oversold_slots", "students_with_more_than_one", "confirmed_without_row",
                      "rows_without_confirmation", "counter_drift_slots", "quota_drift", "events_missing",
                      "audit_entries_missing")  # fmt: skip
        print("  audit: " + ", ".join(f"{k} {a[k]}" for k in audit_keys))
        if s.get("client_errors"):
            print(f"  client errors: {s['client_errors']}")
        lag = s.get("client_loop_lag") or {}
        if lag.get("max_ms") is not None:
            print(f"  the load client's own event loop ran late by p99 {lag['p99_ms']} / max {lag['max_ms']} ms "
                  f"(max {lag['max_in_ramp_ms']} ms in the ramp): answers waited that long in the client")  # fmt: skip
        five = {k: v for k, v in s["status_counts"].items() if k.startswith("5") and k != "503"}
        verdicts.append((f"{label}: audit all zero", all(a[k] == 0 for k in audit_keys), "see above"))
        verdicts.append((f"{label}: no 5xx but 503, no failed requests", not five and "0" not in s["status_counts"],
                         str(five or s["status_counts"].get("0", 0))))  # fmt: skip
        verdicts.append((f"{label}: sold out <= 1.5 s after the ramp", bool(sell) and sell - args.ramp <= 1.5,
                         f"{sell - args.ramp:+.2f} s" if sell else "not sold out"))  # fmt: skip
        booked = s["latency_by_outcome"].get("booked (201)")
        verdicts.append((f"{label}: booking p99 <= 500 ms", bool(booked) and booked["p99_ms"] <= 500,
                         f"{booked['p99_ms']} ms" if booked else "-"))  # fmt: skip
    print("\ntargets")
    for name, ok, value in verdicts:
        print(f"  [{'met' if ok else 'NOT met':>7}] {name}: {value}")
    print(f"\nload average at the end {r['machine']['load_at_end']:.1f} "
          f"(this box has {r['machine']['cpus']} CPUs; anything else running skews every number)")  # fmt: skip
    r["verdicts"] = verdicts


def argument_parser(description: str | None = __doc__) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=description, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument(
        "--database-url",
        default=os.environ.get("BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/smartclinic_bench"),
    )
    parser.add_argument("--redis-url", default=os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/7"))
    parser.add_argument(
        "--server",
        choices=["serve", "uvicorn", "gunicorn"],
        default="serve",
        help="serve: python -m smartclinic.serve (production's); uvicorn: uvicorn --workers (one shared socket)",
    )
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--students", type=int, default=10_000)
    parser.add_argument("--slots", type=int, default=600)
    parser.add_argument("--hot-slots", type=int, default=60)
    parser.add_argument("--hot-capacity", type=int, default=10)
    parser.add_argument("--ramp", type=float, default=2.0)
    parser.add_argument("--opens-in", type=float, default=60.0, help="seconds from creating a rush to its release")
    parser.add_argument("--concurrency", type=int, default=1024, help="the load client's connections at most")
    parser.add_argument("--deadline", type=float, default=40.0, help="students stop retrying this long after release")
    parser.add_argument("--admission-ms", type=int, default=30, help="ADMISSION_MAX_QUEUE_MS for the server")
    parser.add_argument("--in-flight", type=int, default=4, help="ADMISSION_MAX_IN_FLIGHT (per process, ASGI)")
    parser.add_argument(
        "--worker-in-flight", type=int, default=8, help="ADMISSION_WORKER_MAX_IN_FLIGHT (one worker's most)"
    )
    parser.add_argument("--threads", type=int, default=2, help="BOOKING_FAST_PATH_THREADS (per process)")
    parser.add_argument("--baseline-seconds", type=float, default=3.0, help="per round")
    parser.add_argument("--closed-clients", type=int, default=8, help="two per worker: the capacity, not the shedding")
    parser.add_argument("--probe-students", type=int, default=6000)
    parser.add_argument("--probe-seconds", type=float, default=4.0)
    parser.add_argument("--probe-rounds", type=int, default=5, help="closed-loop rounds; the median counts")
    parser.add_argument("--overload-seconds", type=float, default=6.0)
    parser.add_argument("--phases", default="baseline,capacity,overload,rush,hot", help="which parts to run")
    parser.add_argument("--skip-overload", action="store_true")
    parser.add_argument("--skip-hot", action="store_true")
    return parser


def main() -> None:
    Bench(argument_parser().parse_args()).run()


if __name__ == "__main__":
    main()
