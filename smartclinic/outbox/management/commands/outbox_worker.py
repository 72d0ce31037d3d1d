from __future__ import annotations

import signal
import time
from types import FrameType
from typing import Any

from django.core.management.base import BaseCommand, CommandParser
from django.db import close_old_connections

from smartclinic.core.periodic import run_due
from smartclinic.outbox.dispatcher import dispatch_once


class Command(BaseCommand):
    help = "Deliver outbox events to their handlers (with retries and backoff) and run periodic jobs, until stopped."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--once", action="store_true", help="deliver what is due now and exit")
        parser.add_argument("--interval", type=float, default=1.0, help="seconds to sleep when idle")
        parser.add_argument("--batch", type=int, default=50)

    def handle(self, *args: Any, **options: Any) -> None:
        self._stopping = False
        signal.signal(signal.SIGTERM, self._stop)
        signal.signal(signal.SIGINT, self._stop)
        self.stdout.write("outbox worker started")
        while not self._stopping:
            close_old_connections()
            run_due()
            report = dispatch_once(limit=options["batch"])
            if report.handled:
                self.stdout.write(f"delivered={report.delivered} retried={report.retried} dead={report.dead}")
            if options["once"]:
                break
            if report.handled == 0:
                time.sleep(options["interval"])
        self.stdout.write("outbox worker stopped")

    def _stop(self, signum: int, frame: FrameType | None) -> None:
        self._stopping = True
