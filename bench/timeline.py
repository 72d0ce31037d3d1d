#!/usr/bin/env python3
"""What a rush was made of, step by step, from the load client's records (``bench/rush.py --out``).

    python bench/timeline.py var/bench/run-.../rush-records.json [--step 0.5] [--until 10]

Per step after the release (by when each answer came): the students' first confirmed bookings
so far and the places left (``--capacity``, default 600), then the booking answers by kind:

- ``first``: a booking sent for the first time (a student's first choice, or one picked from a
  fresh list after "slot full");
- ``return``: the same booking sent again after a 503, at its ``Retry-After``: a student back
  from admission control's virtual queue;

each as booked (201), refused "slot full" (409) or shed (503), and for the sheds the median wait
the client was told (the gap to its next try). ADR 0006 reads the rush's tail from this.

``--by-sent`` instead: per step by when each request went on the wire, how many were sent and
how long their answers took (p50, p90, max; every kind of request): a stall at the release
shows as a step whose answers all came late, whatever they were.

``summary()`` gives the figures ``bench/bench_rush.py`` prints with every rush.
"""

from __future__ import annotations

import argparse
import json
from collections import Counter, defaultdict
from statistics import median
from typing import Any

# A record as rush.py writes it.
STUDENT, KIND, SCHEDULED, SENT, DONE, STATUS, CODE, ATTEMPT, SHED_WAITS = range(9)
OUTCOMES = {201: "booked", 409: "full", 503: "shed", 429: "shed"}


def _booking_answers(records: list[list[Any]]) -> list[tuple[list[Any], float | None]]:
    """Each booking answer with, when it was shed, the wait until the same request was sent
    again (a student's booking and its twin are separate requests)."""
    by_request: dict[tuple[int, str, int], list[list[Any]]] = defaultdict(list)
    for record in records:
        if record[KIND] != "list":
            by_request[(record[STUDENT], record[KIND], record[ATTEMPT])].append(record)
    answers = []
    for sends in by_request.values():
        sends.sort(key=lambda r: r[SENT])
        for index, record in enumerate(sends):
            shed = record[STATUS] in (429, 503)
            later = sends[index + 1][SENT] - record[DONE] if shed and index + 1 < len(sends) else None
            answers.append((record, later))
    return answers


def _first_bookings(records: list[list[Any]]) -> list[float]:
    first: dict[int, float] = {}
    for record in records:
        if record[STATUS] == 201:
            first[record[STUDENT]] = min(first.get(record[STUDENT], record[DONE]), record[DONE])
    return sorted(first.values())


def _quantile(ordered: list[float], q: float) -> float:
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def waits_by_sent(records: list[list[Any]], *, start: float, end: float) -> dict[str, float] | None:
    """How long the answers to the requests sent between ``start`` and ``end`` (seconds after
    the release) took from the wire: their count, and p50, p90 and max in ms; ``None`` when
    none was sent then."""
    waits = sorted(r[DONE] - r[SENT] for r in records if start <= r[SENT] < end)
    if not waits:
        return None
    return {
        "count": len(waits),
        "p50_ms": round(_quantile(waits, 0.5) * 1000, 1),
        "p90_ms": round(_quantile(waits, 0.9) * 1000, 1),
        "max_ms": round(waits[-1] * 1000, 1),
    }


def sent_table(records: list[list[Any]], *, step: float, until: float) -> list[str]:
    lines = [f"{'sent (s)':>8} {'requests':>9} {'p50 ms':>8} {'p90 ms':>8} {'max ms':>8}"]
    for bucket in range(int(until / step) + 1):
        waits = waits_by_sent(records, start=bucket * step, end=(bucket + 1) * step)
        if waits is not None:
            lines.append(
                f"{bucket * step:>8.2f} {waits['count']:>9} {waits['p50_ms']:>8.0f} {waits['p90_ms']:>8.0f}"
                f" {waits['max_ms']:>8.0f}"
            )
    return lines


def summary(records: list[list[Any]], *, capacity: int, ramp: float) -> dict[str, Any]:
    """Places left at the ramp's end and a second after it; in between the ramp's end and the
    last booking, how the students back from the virtual queue fared; and how long the answers
    to the release's first quarter second and to the ramp's slowest quarter second took (where
    the booked p99 has come from when it was high: ADR 0006, sessions 18, 23, 24 and 26)."""
    booked = _first_bookings(records)
    last = booked[-1] if booked else ramp
    returns: Counter[str] = Counter()
    waits = []
    for record, wait in _booking_answers(records):
        if record[SHED_WAITS] and ramp <= record[DONE] <= last:
            outcome = OUTCOMES.get(record[STATUS], "other")
            returns[outcome] += 1
            if wait is not None:
                waits.append(wait)
    return {
        "left_at_ramp_end": capacity - sum(1 for t in booked if t <= ramp),
        "left_a_second_later": capacity - sum(1 for t in booked if t <= ramp + 1),
        "tail_returns": dict(returns),
        "tail_returns_shed_again_wait_p50_s": round(median(waits), 2) if waits else None,
        "first_quarter_second": waits_by_sent(records, start=0.0, end=0.25),
        "slowest_quarter_second_of_the_ramp": _slowest_quarter(records, ramp=ramp),
    }


def _slowest_quarter(records: list[list[Any]], *, ramp: float) -> dict[str, float] | None:
    """The quarter second of the ramp whose answers took longest at p90, with its start."""
    quarters = []
    for index in range(int(ramp / 0.25)):
        waits = waits_by_sent(records, start=index * 0.25, end=(index + 1) * 0.25)
        if waits is not None:
            quarters.append({"sent_from_s": index * 0.25, **waits})
    return max(quarters, key=lambda q: q["p90_ms"]) if quarters else None


def table(records: list[list[Any]], *, capacity: int, step: float, until: float) -> list[str]:
    rows: dict[int, Counter[str]] = defaultdict(Counter)
    waits: dict[tuple[int, str], list[float]] = defaultdict(list)
    for record, wait in _booking_answers(records):
        bucket = int(record[DONE] // step)
        kind = "return" if record[SHED_WAITS] else "first"
        rows[bucket][f"{kind} {OUTCOMES.get(record[STATUS], 'other')}"] += 1
        if wait is not None:
            waits[(bucket, kind)].append(wait)
    booked = _first_bookings(records)
    columns = [f"{kind} {outcome}" for kind in ("first", "return") for outcome in ("booked", "full", "shed")]
    head = f"{'t (s)':>6} {'booked':>7} {'left':>5} " + " ".join(f"{c:>14}" for c in columns)
    lines = [head + "  shed wait p50 first/return (s)"]
    for bucket in range(int(until / step) + 1):
        end = (bucket + 1) * step
        done = sum(1 for t in booked if t < end)
        row = rows.get(bucket, Counter())
        told = [
            f"{median(waits[(bucket, kind)]):.1f}" if waits.get((bucket, kind)) else "-" for kind in ("first", "return")
        ]
        lines.append(
            f"{bucket * step:>6.2f} {done:>7} {capacity - done:>5} "
            + " ".join(f"{row[c]:>14}" for c in columns)
            + f"  {told[0]:>5} / {told[1]}"
        )
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("records", help="a rush's records (bench/rush.py --out)")
    parser.add_argument("--capacity", type=int, default=600, help="places in the rush")
    parser.add_argument("--ramp", type=float, default=2.0)
    parser.add_argument("--step", type=float, default=0.5)
    parser.add_argument("--until", type=float, default=10.0, help="seconds after the release")
    parser.add_argument("--by-sent", action="store_true", help="answers' waits by when they were sent")
    args = parser.parse_args()
    with open(args.records) as handle:
        records = json.load(handle)["records"]
    if args.by_sent:
        print("\n".join(sent_table(records, step=args.step, until=args.until)))
    else:
        print("\n".join(table(records, capacity=args.capacity, step=args.step, until=args.until)))
    print(json.dumps(summary(records, capacity=args.capacity, ramp=args.ramp)))


if __name__ == "__main__":
    main()
