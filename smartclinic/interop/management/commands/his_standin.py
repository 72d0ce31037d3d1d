from __future__ import annotations

import signal
import threading
from types import FrameType
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from smartclinic.interop.standin import StandInHis


class Command(BaseCommand):
    help = (
        "Run the stand-in HIS (a tiny FHIR endpoint that takes transaction bundles) for demos: "
        "point HIS_EXPORT_URL at the URL it prints. Holds what it receives in memory only."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--port", type=int, default=8767)
        parser.add_argument("--token", default="", help="bearer token it demands (none by default)")

    def handle(self, *args: Any, **options: Any) -> None:
        stop = threading.Event()

        def on_signal(signum: int, frame: FrameType | None) -> None:
            stop.set()

        signal.signal(signal.SIGTERM, on_signal)
        signal.signal(signal.SIGINT, on_signal)
        with StandInHis(token=options["token"]).start(port=options["port"]) as his:
            self.stdout.write(f"stand-in HIS listening: HIS_EXPORT_URL={his.url}")
            while not stop.wait(5):
                counts = his.summary()
                if counts:
                    self.stdout.write(f"accepted={len(his.accepted)} stored={counts}")
        self.stdout.write("stand-in HIS stopped")
