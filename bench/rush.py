#!/usr/bin/env python3
"""The rush load client: students pressing "book" the second slots open, on an open-loop schedule.

    python bench/rush.py --scenario scenario.json --url http://127.0.0.1:8000 --concurrency 256

``scenario.json`` comes from ``manage.py rush_scenario`` (tokens, slot ids with department and
day, the release instant). Works against any running SmartClinic server; loopback only.

The schedule is fixed in advance from ``--seed`` (open loop: a slow server does not slow the
arrivals down): every student arrives at a random instant within ``--ramp`` seconds after the
release and books one slot of their department and day (picked at random; ``--skew`` favours
the morning's first slots, Zipf). On ``booking.slot_full`` the student waits a jittered
back-off, re-lists the day's slots and tries a free one, up to ``--retries`` times. A share of
the booking requests (``--twin-share``) is sent twice with the same ``Idempotency-Key`` (a
double tap, or a retry after a lost answer). 429 and 503 answers are retried after their
``Retry-After``. Latencies run from the scheduled instant (so queueing in the client or the
server's listen queue counts), per attempt and by outcome.

``--rate R`` instead of ``--ramp``: the students arrive at R per second (for the sustainable-rate
and overload runs). Writes every request's record to ``--out`` (JSON) and prints a summary.
"""

from __future__ import annotations

import argparse
import asyncio
import bisect
import gc
import json
import math
import os
import random
import resource
import sys
import time
import uuid
from collections import Counter, defaultdict, deque
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode, urlsplit

import orjson
from http1 import Http1Pool

LOOPBACK = {"127.0.0.1", "localhost", "::1", "[::1]"}
LAG_TICK = 0.01  # seconds between the client's checks of its own event loop


@dataclass
class Student:
    index: int
    member: str
    department: str
    date: str
    arrives: float  # seconds after the release
    first_choice: int
    outcome: str = "pending"
    appointment: str | None = None
    confirmed: set[str] = field(default_factory=set)
    headers: str = ""  # the fixed header lines of every request it sends (its bearer token's too)


@dataclass
class Record:
    student: int
    kind: str  # book | twin | list
    scheduled: float  # seconds after the release (when this attempt was due)
    sent: float  # when it went on the wire (after waiting for one of the client's connections)
    done: float
    status: int
    code: str
    attempt: int
    shed_waits: int = 0


class Slots:
    """At most ``limit`` holders; the others wait in arrival order. ``asyncio.Semaphore`` (3.11)
    wakes the next waiter by scanning past the ones already woken but not yet resumed: in the
    flood, with thousands waiting, that scan cost the client more than sending the requests."""

    def __init__(self, limit: int) -> None:
        self.free = limit
        self.waiters: deque[asyncio.Future[None]] = deque()

    async def acquire(self) -> None:
        if self.free > 0 and not self.waiters:
            self.free -= 1
            return
        waiter = asyncio.get_running_loop().create_future()
        self.waiters.append(waiter)
        try:
            await waiter  # the releaser handed its place over
        except asyncio.CancelledError:
            if waiter.done() and not waiter.cancelled():
                self.release()  # handed over just as this one was cancelled: pass it on
            elif waiter in self.waiters:  # (a release may have dropped it already)
                self.waiters.remove(waiter)
            raise

    def release(self) -> None:
        while self.waiters:
            waiter = self.waiters.popleft()
            if not waiter.done():
                waiter.set_result(None)  # the place goes to it, without passing through ``free``
                return
        self.free += 1


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    k = (len(ordered) - 1) * q
    lo, hi = math.floor(k), math.ceil(k)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (k - lo)


def zipf_weights(n: int, s: float) -> list[float]:
    weights = [1.0 / (i + 1) ** s for i in range(n)]
    total = sum(weights)
    acc, out = 0.0, []
    for w in weights:
        acc += w / total
        out.append(acc)
    return out


class Rush:
    def __init__(self, args: argparse.Namespace, scenario: dict[str, Any]) -> None:
        self.args = args
        self.base = urlsplit(args.url).path.rstrip("/") + scenario.get("api", "/api/v1")  # a path: one host
        self.release = scenario["opens_at_epoch"] + args.delay
        if args.rate or args.closed:  # steady runs start now if the slots are open already
            self.release = max(self.release, time.time() + 1.0)
        self.rng = random.Random(args.seed)
        self.slots_by_day: dict[tuple[str, str], list[str]] = defaultdict(list)
        for slot in sorted(scenario["slots"], key=lambda s: s["starts_at"]):
            self.slots_by_day[(slot["department"], slot["date"])].append(slot["id"])
        people = scenario["students"][: args.students] if args.students else scenario["students"]
        n = len(people)
        span = n / args.rate if args.rate else args.ramp
        arrivals = sorted(self.rng.uniform(0.0, span) for _ in range(n))
        order = list(range(n))
        self.rng.shuffle(order)  # who arrives first is random, not the roster order
        self.students: list[Student] = []
        cdf_cache: dict[int, list[float]] = {}
        for rank, index in enumerate(order):
            person = people[index]
            day = self.slots_by_day[(person["department"], person["date"])]
            cdf = cdf_cache.get(len(day)) or cdf_cache.setdefault(len(day), zipf_weights(len(day), args.skew))
            choice = min(bisect.bisect_left(cdf, self.rng.random()), len(day) - 1)
            self.students.append(
                Student(
                    index=index,
                    member=person["member"],
                    department=person["department"],
                    date=person["date"],
                    arrives=arrivals[rank],
                    first_choice=choice,
                    headers=f"Authorization: Bearer {person['token']}\r\nAccept-Language: en\r\n",
                )
            )
        # Fixed in advance too: which booking requests get a twin, the twin's delay, the jitter.
        self.plan_rng = random.Random(args.seed + 1)
        self.records: list[Record] = []
        self.own_lag: list[tuple[float, float]] = []  # (when, how late), ``_watch_own_loop``
        self.errors: Counter[str] = Counter()
        self.in_flight = 0
        self.max_in_flight = 0

    def now(self) -> float:
        return time.time() - self.release

    async def _request(
        self, pool: Http1Pool, method: str, target: str, student: Student, **kwargs: Any
    ) -> tuple[int, dict[str, Any] | list[Any] | None, dict[str, str], float]:
        headers = student.headers
        extra = kwargs.pop("headers", None)
        if extra:
            headers += "".join(f"{name}: {value}\r\n" for name, value in extra.items())
        body = None
        if "json" in kwargs:
            body = orjson.dumps(kwargs.pop("json"))
            headers += "Content-Type: application/json\r\n"
        if "params" in kwargs:
            target = f"{target}?{urlencode(kwargs.pop('params'))}"
        # At most --concurrency requests on the wire; the others wait here, in the client (their
        # latency, counted from the schedule, includes the wait).
        await self.connections.acquire()
        try:
            on_wire = self.now()
            if self.args.stamp:
                # What a proxy in front of the server stamps as the request reaches it
                # (nginx: proxy_set_header X-Request-Start "t=${msec}"): from here on, the wait
                # is the server's.
                headers += f"X-Request-Start: t={time.time():.6f}\r\n"
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)
            try:
                response = await pool.request(method, target, headers, body)
            finally:
                self.in_flight -= 1
        finally:
            self.connections.release()
        try:
            data = orjson.loads(response.body) if response.body else None
        except orjson.JSONDecodeError:
            data = None
        return response.status, data, response.headers, on_wire

    async def send(
        self,
        pool: Http1Pool,
        student: Student,
        kind: str,
        method: str,
        url: str,
        scheduled: float,
        attempt: int,
        **kwargs: Any,
    ) -> tuple[int, Any]:
        """One logical request: re-sent after ``Retry-After`` while shed (429/503), within bounds.
        Each answer is its own record; the caller sees the last one."""
        shed_waits = lost = 0
        while True:
            sent = self.now()  # replaced by the moment it went on the wire
            try:
                status, data, headers, sent = await self._request(pool, method, url, student, **kwargs)
                code = data.get("code", "") if isinstance(data, dict) else ""
            except (TimeoutError, OSError) as exc:
                status, data, headers, code = 0, None, {}, type(exc).__name__
                self.errors[code] += 1
            done = self.now()
            self.records.append(Record(student.index, kind, scheduled, sent, done, status, code, attempt, shed_waits))
            if status == 0 and method == "POST" and lost < 3:
                # No answer (timeout, dropped connection): a real app asks again with the same
                # Idempotency-Key to learn what happened, whatever the deadline.
                lost += 1
                await asyncio.sleep(self.plan_rng.uniform(0.5, 1.5))
                scheduled = self.now()
                continue
            if status in (429, 503) and shed_waits < self.args.max_shed_retries and done < self.args.deadline:
                try:
                    wait = float(headers.get("retry-after", "1"))
                except ValueError:
                    wait = 1.0
                wait = max(wait, 0.05) * self.plan_rng.uniform(1.0, 1.5)
                shed_waits += 1
                await asyncio.sleep(wait)
                scheduled = self.now()  # the retry is a new attempt from the user's point of view
                continue
            return status, data

    async def book(self, pool: Http1Pool, student: Student, slot_id: str, attempt: int) -> Any:
        key = str(uuid.UUID(int=self.plan_rng.getrandbits(128)))
        url = f"{self.base}/appointments"
        body = {"slot_id": slot_id}
        twin = self.plan_rng.random() < self.args.twin_share
        twin_delay = self.plan_rng.uniform(0.0, self.args.twin_delay)
        scheduled = self.now()
        first = self.send(
            pool, student, "book", "POST", url, scheduled, attempt, json=body, headers={"Idempotency-Key": key}
        )
        if twin:

            async def second() -> tuple[int, Any]:
                await asyncio.sleep(twin_delay)
                return await self.send(
                    pool,
                    student,
                    "twin",
                    "POST",
                    url,
                    self.now(),
                    attempt,
                    json=body,
                    headers={"Idempotency-Key": key},
                )

            results = await asyncio.gather(first, second())
        else:
            results = [await first]  # no task of its own: one request, one coroutine
        for status, data in results:
            if status == 201 and isinstance(data, dict):
                student.confirmed.add(data["id"])
        return results[0]

    async def student_flow(self, pool: Http1Pool, student: Student) -> None:
        delay = student.arrives - self.now()
        if delay > 0:
            await asyncio.sleep(delay)
        day = self.slots_by_day[(student.department, student.date)]
        slot_id = day[student.first_choice]
        tried = {slot_id}
        for attempt in range(self.args.retries + 1):
            status, data = await self.book(pool, student, slot_id, attempt)
            code = data.get("code", "") if isinstance(data, dict) else ""
            if status == 201:
                student.outcome = "booked"
                student.appointment = data["id"]
                return
            if status == 409 and code == "booking.slot_full":
                if attempt == self.args.retries:
                    student.outcome = "gave_up"
                    return
                backoff = self.plan_rng.uniform(self.args.backoff / 2, self.args.backoff * 1.5) * (2**attempt)
                await asyncio.sleep(backoff)
                status, listing = await self.send(
                    pool,
                    student,
                    "list",
                    "GET",
                    f"{self.base}/slots",
                    self.now(),
                    attempt,
                    params={"department": student.department, "date": student.date},
                )
                if status != 200 or not isinstance(listing, list):
                    student.outcome = f"list_{status}"
                    return
                free = [s["id"] for s in listing if s.get("bookable") and s.get("remaining", 0) > 0]
                fresh = [s for s in free if s not in tried] or free
                if not fresh:
                    student.outcome = "sold_out"
                    return
                slot_id = self.plan_rng.choice(fresh)
                tried.add(slot_id)
                continue
            student.outcome = f"{status}:{code}" if code else str(status)
            return

    async def closed_worker(self, pool: Http1Pool, queue: list[Student], until: float) -> None:
        """Closed loop (to measure capacity): book the next student as soon as the last answer came."""
        while queue and self.now() < until:
            student = queue.pop()
            student.arrives = self.now()
            day = self.slots_by_day[(student.department, student.date)]
            status, data = await self.book(pool, student, day[student.first_choice], 0)
            code = data.get("code", "") if isinstance(data, dict) else ""
            student.outcome = "booked" if status == 201 else (f"{status}:{code}" if code else str(status))
            if status == 201:
                student.appointment = data["id"]
            elif status in (429, 503):
                await asyncio.sleep(0.02)  # that worker is busy: do not spin on it

    async def run(self) -> None:
        self.connections = Slots(self.args.concurrency)
        where = urlsplit(self.args.url)
        pool = Http1Pool(where.hostname or "127.0.0.1", where.port or 80, timeout=self.args.timeout)
        watch = asyncio.create_task(self._watch_own_loop())
        try:
            await self._run(pool)
        finally:
            watch.cancel()
            pool.close()
            self.connections_opened = pool.opened

    async def _watch_own_loop(self) -> None:
        """How late this client's own event loop runs a timer (``LAG_TICK`` apart), with when: an
        answer that waits in this process to be read is counted in its latency as if the server
        were slow. On two cores shared with the server the client can fall behind in the flood;
        the report says so rather than leaving it to be read as the server's."""
        loop = asyncio.get_running_loop()
        while True:
            asked = loop.time()
            await asyncio.sleep(LAG_TICK)
            self.own_lag.append((self.now(), loop.time() - asked - LAG_TICK))

    async def _run(self, pool: Http1Pool) -> None:
        wait = -self.now() - 0.5
        if wait > 0:
            await asyncio.sleep(wait)
        if self.args.closed:
            await asyncio.sleep(max(0.0, -self.now()))
            queue = list(reversed(self.students))
            until = self.now() + self.args.duration
            workers = [self.closed_worker(pool, queue, until) for _ in range(self.args.closed)]
            await asyncio.gather(*workers)
            self.students = [s for s in self.students if s.outcome != "pending"]
            return
        tasks = [asyncio.create_task(self.student_flow(pool, s)) for s in self.students]
        # No request is abandoned: after the deadline nobody starts over, and what is already
        # on its way is waited for (each bounded by --timeout), so that every booking the
        # server made is either confirmed to its student or found by the audit.
        done, pending = await asyncio.wait(tasks, timeout=self.args.deadline + 4 * (self.args.timeout + 2) + 60)
        for task in pending:
            task.cancel()
        for task in done:
            if task.exception() is not None:
                self.errors[type(task.exception()).__name__] += 1

    def summary(self) -> dict[str, Any]:
        books = [r for r in self.records if r.kind in ("book", "twin")]
        ok = sorted(r.done for r in books if r.status == 201)
        first_sent = min((r.sent for r in self.records), default=0.0)
        last_done = max((r.done for r in self.records), default=0.0)
        span = max(last_done - min(first_sent, 0.0), 1e-9)
        by_outcome: dict[str, list[float]] = defaultdict(list)
        on_server: dict[str, list[float]] = defaultdict(list)
        for r in self.records:
            if r.kind == "list":
                label = "list" if r.status == 200 else f"list {r.status}"
            elif r.status == 201:
                label = "booked (201)"
            elif r.status == 409:
                label = {"booking.slot_full": "slot full (409)", "booking.duplicate": "duplicate (409)"}.get(
                    r.code, f"409 {r.code}"
                )
            elif r.status in (429, 503):
                label = f"shed ({r.status})"
            else:
                label = f"other ({r.status} {r.code})"
            by_outcome[label].append((r.done - r.scheduled) * 1000)
            on_server[label].append((r.done - r.sent) * 1000)
        latency = {
            label: {
                "count": len(values),
                "p50_ms": round(percentile(values, 0.50), 1),
                "p95_ms": round(percentile(values, 0.95), 1),
                "p99_ms": round(percentile(values, 0.99), 1),
                "max_ms": round(max(values), 1),
                "server_p50_ms": round(percentile(on_server[label], 0.50), 1),
                "server_p99_ms": round(percentile(on_server[label], 0.99), 1),
            }
            for label, values in sorted(by_outcome.items())
        }
        distinct_confirmed = sum(len(s.confirmed) for s in self.students)
        usage = resource.getrusage(resource.RUSAGE_SELF)
        return {
            "students": len(self.students),
            "requests": len(self.records),
            "booking_requests": len(books),
            "confirmed_bookings": distinct_confirmed,
            "first_booking_s": ok[0] if ok else None,
            "last_booking_s": ok[-1] if ok else None,
            "bookings_per_s": (distinct_confirmed / ok[-1]) if ok and ok[-1] > 0 else None,
            "requests_per_s": len(self.records) / span,
            "span_s": span,
            "status_counts": dict(sorted(Counter(str(r.status) for r in self.records).items())),
            "outcomes": dict(sorted(Counter(s.outcome for s in self.students).items())),
            "latency_by_outcome": latency,
            "client_errors": dict(self.errors),
            "max_in_flight": self.max_in_flight,
            "connections_opened": getattr(self, "connections_opened", 0),
            "client_cpu_s": usage.ru_utime + usage.ru_stime,
            "client_loop_lag": self._own_lag_summary(),
        }

    def _own_lag_summary(self) -> dict[str, float | None]:
        """The client's own lateness (``_watch_own_loop``), in ms: over the run, and its worst in
        the first seconds after the release (the ramp, or 2 s), when the flood is."""
        lags = sorted(lag for _at, lag in self.own_lag)
        early = [lag for at, lag in self.own_lag if 0.0 <= at <= max(self.args.ramp or 0.0, 2.0)]
        return {
            "p50_ms": round(percentile(lags, 0.50) * 1000, 1) if lags else None,
            "p99_ms": round(percentile(lags, 0.99) * 1000, 1) if lags else None,
            "max_ms": round(lags[-1] * 1000, 1) if lags else None,
            "max_in_ramp_ms": round(max(early) * 1000, 1) if early else None,
        }

    def dump(self, path: str, summary: dict[str, Any]) -> None:
        data = {
            "release_epoch": self.release,
            "summary": summary,
            "students": [
                {"index": s.index, "member": s.member, "outcome": s.outcome, "confirmed": sorted(s.confirmed)}
                for s in self.students
            ],
            "records": [
                [
                    r.student,
                    r.kind,
                    round(r.scheduled, 5),
                    round(r.sent, 5),
                    round(r.done, 5),
                    r.status,
                    r.code,
                    r.attempt,
                    r.shed_waits,
                ]
                for r in self.records
            ],
        }
        with open(path, "w") as handle:
            json.dump(data, handle)


def print_summary(summary: dict[str, Any], out: Any = sys.stdout) -> None:
    s = summary
    print(
        f"students {s['students']}  requests {s['requests']} ({s['requests_per_s']:.0f}/s over {s['span_s']:.2f} s)",
        file=out,
    )
    if s["last_booking_s"] is not None:
        print(
            f"confirmed bookings {s['confirmed_bookings']}  first {s['first_booking_s']:.3f} s  last "
            f"{s['last_booking_s']:.3f} s after release  ({s['bookings_per_s']:.0f} bookings/s)",
            file=out,
        )
    print(f"status counts {s['status_counts']}", file=out)
    print(f"student outcomes {s['outcomes']}", file=out)
    print(f"{'outcome':<22}{'count':>7}{'p50 ms':>9}{'p95 ms':>9}{'p99 ms':>9}{'max ms':>9}", file=out)
    for label, row in s["latency_by_outcome"].items():
        print(
            f"{label:<22}{row['count']:>7}{row['p50_ms']:>9}{row['p95_ms']:>9}{row['p99_ms']:>9}{row['max_ms']:>9}",
            file=out,
        )
    if s["client_errors"]:
        print(f"client errors {s['client_errors']}", file=out)
    print(
        f"client: max in flight {s['max_in_flight']}, {s['connections_opened']} connections opened, "
        f"CPU {s['client_cpu_s']:.1f} s",
        file=out,
    )
    lag = s["client_loop_lag"]
    if lag["max_ms"] is not None:
        print(
            f"client's own event loop late by p50 {lag['p50_ms']} / p99 {lag['p99_ms']} / max {lag['max_ms']} ms "
            f"(max {lag['max_in_ramp_ms']} ms in the first seconds): answers wait that long in the client",
            file=out,
        )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scenario", required=True)
    parser.add_argument("--url", required=True, help="the server, e.g. http://127.0.0.1:8000 (loopback only)")
    parser.add_argument("--concurrency", type=int, default=256, help="open connections at most")
    parser.add_argument("--students", type=int, default=0, help="only the first N students (default all)")
    parser.add_argument("--ramp", type=float, default=2.0, help="arrivals spread over this many seconds")
    parser.add_argument("--rate", type=float, default=0.0, help="or: arrivals per second (overrides --ramp)")
    parser.add_argument("--delay", type=float, default=0.0, help="start this many seconds after the release")
    parser.add_argument("--closed", type=int, default=0, help="or: N clients in a closed loop (capacity probe)")
    parser.add_argument("--duration", type=float, default=5.0, help="seconds of the closed loop")
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--skew", type=float, default=0.0, help="Zipf exponent of the first choice (0: uniform)")
    parser.add_argument("--retries", type=int, default=3, help="other slots to try after slot_full")
    parser.add_argument("--backoff", type=float, default=0.1, help="mean back-off (s) before re-listing, doubling")
    parser.add_argument("--twin-share", type=float, default=0.10, help="booking requests sent twice")
    parser.add_argument("--twin-delay", type=float, default=0.3, help="the twin follows within this many seconds")
    parser.add_argument("--max-shed-retries", type=int, default=30)
    parser.add_argument("--no-stamp", dest="stamp", action="store_false", help="send no X-Request-Start")
    parser.add_argument("--timeout", type=float, default=30.0, help="per request (s)")
    parser.add_argument("--deadline", type=float, default=60.0, help="no retries this long after the release")
    parser.add_argument("--out", default="", help="write every record here (JSON)")
    parser.add_argument("--quiet", action="store_true")
    args = parser.parse_args(argv)

    host = urlsplit(args.url).hostname or ""
    if host not in LOOPBACK and not host.startswith("127."):
        parser.error("the load client only targets this machine (loopback)")
    with open(args.scenario) as handle:
        scenario = json.load(handle)
    rush = Rush(args, scenario)
    # The students, their tasks and their records make a heap the cyclic collector walks over
    # and over: its full passes stalled the event loop for 0.1-0.3 s at a time in the flood, so
    # arrivals went out in lumps. A load generator that lives a minute does without it.
    gc.collect()
    gc.freeze()
    gc.disable()
    if rush.release - time.time() < -1 and not args.rate:
        print(f"warning: the release was {time.time() - rush.release:.1f} s ago", file=sys.stderr)
    try:
        import uvloop

        uvloop.run(rush.run())
    except ImportError:
        asyncio.run(rush.run())
    summary = rush.summary()
    if args.out:
        rush.dump(args.out, summary)
    if not args.quiet:
        print_summary(summary)
    else:
        print(json.dumps(summary))
    return 0


if __name__ == "__main__":
    os.environ.setdefault("PYTHONHASHSEED", "0")
    sys.exit(main())
