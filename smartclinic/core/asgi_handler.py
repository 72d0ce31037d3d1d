"""Django's ASGI handler with its request threads kept, not started and joined per request.

Under ASGI, Django runs a request's synchronous middleware and view in a thread of the
request's own: ``ASGIHandler`` enters a ``ThreadSensitiveContext`` per request, whose first
thread-sensitive call starts a new single-thread executor, and whose exit starts another
thread to join it. Two thread starts per request, each holding the event loop until the new
thread has run: measured in the booking rush (py-spy, GIL holder only), ``Thread.start`` was
the largest single item of an event loop's time, 14%, while the loop also had thousands of
requests a second to shed.

``KeptThreadsASGIHandler`` gives each request's context an executor from a free list instead
(asgiref's ``ThreadSensitiveContext(executor=...)``, which leaves the executor to its owner).
Each request still has one thread to itself for all of its thread-sensitive work, as with
Django's handler; a thread serves the next request only once its request has finished, as a
WSGI server's threads do (so connections and thread-locals are handled by Django's
``request_finished`` as under WSGI). At most ``ASGI_KEPT_THREADS`` idle ones are kept; a burst
beyond that gets new threads, which stop when their request ends.

It also runs the middleware chain in synchronous mode: the whole request, middleware and
view, is one call in the request's thread. Django's handler builds the chain for async mode,
so a middleware that can run either way (Django's own, ``MiddlewareMixin``) runs as a
coroutine that hands each of its ``process_request`` and ``process_response`` to the request's
thread and waits for it back, and a sync-only one (ours, WhiteNoise) switches back again: some
fifteen hand-overs between the event loop and the thread per request. A ``GET
/api/v1/departments`` cost 10.5-11.7 ms of CPU through it and 5.5-7.1 ms as one call, in
process (ADR 0006, session 17). An async view (the live streams) is still awaited in the event
loop: Django's synchronous path hands it there (``async_to_sync``), and its streamed body is
sent from the loop as before.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any

from asgiref.sync import ThreadSensitiveContext, sync_to_async
from django.conf import settings
from django.core.handlers.asgi import ASGIHandler
from django.http import HttpRequest, HttpResponseBase


class KeptThreadsASGIHandler(ASGIHandler):
    def __init__(self) -> None:
        super().__init__()
        self._idle: list[ThreadPoolExecutor] = []

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return await super().__call__(scope, receive, send)  # Django refuses it, in its words
        executor = self._idle.pop() if self._idle else ThreadPoolExecutor(1, thread_name_prefix="django-request")
        try:
            async with ThreadSensitiveContext(executor=executor):
                await self.handle(scope, receive, send)
        finally:
            self._release(executor)

    def load_middleware(self, is_async: bool = False) -> None:
        super().load_middleware(is_async=False)  # see the module's docstring

    async def get_response_async(self, request: HttpRequest) -> HttpResponseBase:
        return await sync_to_async(self.get_response, thread_sensitive=True)(request)

    def start_threads(self, count: int) -> None:
        """Start up to ``count`` request threads now (at most ``ASGI_KEPT_THREADS`` are kept),
        before any request needs one. A thread's start holds the event loop that starts it until
        the new thread has run: at a rush's release, with the two cores taken, that was 80 ms of
        a worker's loop for the first slot lists' refreshes (ADR 0006, session 24)."""
        while len(self._idle) < min(count, max(0, int(settings.ASGI_KEPT_THREADS))):
            executor = ThreadPoolExecutor(1, thread_name_prefix="django-request")
            executor.submit(lambda: None).result()  # its thread runs from now on
            self._idle.append(executor)

    def _release(self, executor: ThreadPoolExecutor) -> None:
        if len(self._idle) < max(0, int(settings.ASGI_KEPT_THREADS)):
            self._idle.append(executor)
        else:
            executor.shutdown(wait=False)  # its thread stops once its queue is done

    def close(self) -> None:
        """Stop the kept threads (tests; a server's exit stops them anyway)."""
        while self._idle:
            self._idle.pop().shutdown(wait=True)
