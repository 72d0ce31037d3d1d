"""A bare ASGI application answering with its process id, or at ``/shared`` with the shared
directory its server gave it (for the server launcher's test)."""

from __future__ import annotations

import os
from typing import Any

from smartclinic.core.shared_log import ENV_DIR, ENV_RINGS


async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] != "http":
        return
    if scope["path"] == "/shared":
        body = f"{os.environ.get(ENV_DIR)} {os.environ.get(ENV_RINGS)}".encode()
    else:
        body = str(os.getpid()).encode()
    await send(
        {"type": "http.response.start", "status": 200, "headers": [(b"content-length", str(len(body)).encode())]}
    )
    await send({"type": "http.response.body", "body": body})
