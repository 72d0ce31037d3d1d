"""Admission control over an application that holds each request until told to let go (for the
server launcher's test of places shared by its workers): ``/pid`` answers the worker's process
id at once; ``/api/v1/appointments`` (a rush path) waits until the file named by its query string
exists, then answers its process id."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path
from typing import Any

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
django.setup(set_prefix=False)

from smartclinic.core.admission import AdmissionASGIMiddleware  # noqa: E402 - after Django is set up


async def _held(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] != "http":
        return
    if scope["path"] != "/pid":
        release = Path(scope["query_string"].decode())
        while not release.exists():
            await asyncio.sleep(0.02)
    body = str(os.getpid()).encode()
    await send(
        {"type": "http.response.start", "status": 200, "headers": [(b"content-length", str(len(body)).encode())]}
    )
    await send({"type": "http.response.body", "body": body})


app = AdmissionASGIMiddleware(_held)
