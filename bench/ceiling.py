#!/usr/bin/env python3
"""How far below the least an HTTP booking can cost is the server's booking? Run on demand.

    python bench/ceiling.py [--blocks 2] [--rounds 2] [--kinds async,threads,server]

On a fresh bench database (as ``make bench-rush``: ``BENCH_DATABASE_URL``, ``BENCH_REDIS_URL``) it
captures the server's booking transaction (``bench/baseline.py``), then, block after block,
starts each kind of server in turn on 4 workers with a socket each (``smartclinic.serve``) and
runs closed-loop rounds of bookings against it (``bench/rush.py``, 8 clients, 4 s), each right
after its own bare-SQL round, as ``make bench-rush``'s capacity step does:

- ``async``: ``bench/ceiling_app.py`` with the booking's SQL in the event loop (psycopg async);
- ``threads``: the same SQL in two threads per worker, behind the production layers (the door,
  the micro-cache, admission control): everything the server runs but the booking's Python;
- ``server``: the production set-up (``config.asgi``: the booking fast path).

The same SQL, the same load client, the same minute: the gap between ``threads`` and
``server`` is what the booking's Python (rate limit, token, rules, rows, answer) costs; the gap
between ``async`` and ``threads`` is what the hop to a thread costs. It prints each round's
bookings per second and ratio to bare SQL, and each kind's median ratio.
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import bench_rush  # the bench's own directory, put on the path above

KINDS = {
    "async": {"CEILING_MODE": "async", "CEILING_WRAPPED": "0", "http": "httptools"},
    "threads": {"CEILING_MODE": "threads", "CEILING_WRAPPED": "1", "http": "door"},
}


class Ceiling(bench_rush.Bench):
    def start_ceiling(self, kind: str) -> None:
        options = KINDS[kind]
        self.env.update({name: value for name, value in options.items() if name != "http"})
        self.env.update({"CEILING_PLAN": str(self.plan), "CEILING_CONNECTIONS": str(self.args.threads)})
        self.env["PYTHONPATH"] = str(bench_rush.ROOT / "bench")
        command = [
            bench_rush.PYTHON, "-m", "smartclinic.serve", "ceiling_app:app", "--workers", str(self.args.workers),
            "--host", "127.0.0.1", "--port", str(self.port), "--backlog", "4096", "--log-level", "warning",
            "--http", options["http"],
        ]  # fmt: skip
        self.server_log = open(self.work / f"ceiling-{kind}.log", "wb")  # noqa: SIM115 - closed in stop_server
        self.server = subprocess.Popen(
            command, cwd=bench_rush.ROOT, env=self.env, stdout=self.server_log, stderr=subprocess.STDOUT,
            start_new_session=True,
        )  # fmt: skip
        deadline = time.time() + 60
        while time.time() < deadline:
            if self.server.poll() is not None:
                raise SystemExit(f"the ceiling server exited: see {self.work}")
            try:
                urllib.request.urlopen(f"{self.url}/", timeout=2).read()
                return
            except OSError:
                time.sleep(0.3)
        raise SystemExit("the ceiling server did not come up within 60 s")

    def compare(self, kinds: list[str], *, blocks: int, rounds: int) -> dict[str, list[float]]:
        self.fresh_database()
        self.start_server()
        self.baseline()
        self.stop_server()
        ratios: dict[str, list[float]] = {kind: [] for kind in kinds}
        for block in range(blocks):
            for kind in kinds:
                if kind == "server":
                    self.start_server()
                else:
                    self.start_ceiling(kind)
                try:
                    warm = self.scenario(f"warm-{kind}-{block}", students=1000, slots=600, capacity=10**6, opens_in=0)
                    self.closed_loop(warm, f"warm-{kind}-{block}", clients=self.args.closed_clients, seconds=2.0)
                    for index in range(rounds):
                        ratios[kind].append(self.round(kind, f"{kind}-{block}-{index}"))
                finally:
                    self.stop_server()
        return ratios

    def round(self, kind: str, name: str) -> float:
        scenario = self.scenario(name, students=self.args.probe_students, slots=600, capacity=10**6, opens_in=0)
        bare = self.replay()["tx_per_s"]
        summary = self.closed_loop(scenario, name, clients=self.args.closed_clients, seconds=self.args.probe_seconds)
        http = summary["confirmed_bookings"] / self.args.probe_seconds
        booked = summary["latency_by_outcome"].get("booked (201)", {})
        bench_rush.log(
            f"  {kind:8} bare SQL {bare:5.0f} tx/s, HTTP {http:5.0f} bookings/s -> {http / bare:.3f}x "
            f"(p50 {booked.get('p50_ms')} ms, CPU busy {summary['cpu_busy']:.2f}, statuses {summary['status_counts']})"
        )
        return http / bare


def main() -> None:
    parser = bench_rush.argument_parser(__doc__)
    parser.add_argument("--blocks", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=2, help="closed-loop rounds per kind and block")
    parser.add_argument("--kinds", default="async,threads,server")
    args = parser.parse_args()
    kinds = args.kinds.split(",")
    unknown = set(kinds) - {*KINDS, "server"}
    if unknown:
        parser.error(f"unknown kinds: {', '.join(sorted(unknown))}")
    ratios = Ceiling(args).compare(kinds, blocks=args.blocks, rounds=args.rounds)
    for kind, each in ratios.items():
        rounds = ", ".join(f"{x:.3f}" for x in each)
        print(f"{kind:8} median ratio {statistics.median(each):.3f}x (rounds {rounds})")


if __name__ == "__main__":
    main()
