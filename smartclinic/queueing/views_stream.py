"""The live streams (Server-Sent Events), as async views: under uvicorn an open stream costs no
thread. See ``streams.py`` for the loop and ``bus.py`` for the fan-out across processes.

- ``/screen/<token>/stream/``: a waiting-room screen (codes, masked names, rooms);
- ``/staff/queue/stream/``: the nurse's station (every queue; ``?department=NK`` narrows it);
- ``/staff/queue/doctor/stream/``: the signed-in doctor's own queue (the doctor's station);
- ``/appointments/<id>/ticket/stream/``: one patient's ticket (status, ahead, estimated wait).

EventSource cannot send an ``Authorization`` header; a session cookie signs the streams in (a
bearer token is accepted too, for apps that read the stream with fetch).
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

from asgiref.sync import sync_to_async
from django.http import HttpRequest, HttpResponse, HttpResponseBase

from smartclinic.core.actor import Actor
from smartclinic.core.errors import NotFound, PermissionDenied, Unauthenticated
from smartclinic.identity.models import User
from smartclinic.identity.services import token_authenticate
from smartclinic.queueing import screens
from smartclinic.queueing.access import access_patient_ticket, doctor_of
from smartclinic.queueing.streams import EventScope, TicketScope, sse_response
from smartclinic.scheduling.models import Department


def _refuse(status: int) -> HttpResponse:
    # EventSource stops retrying on an error status; the page's script backs off and tries again.
    return HttpResponse(status=status, content_type="text/plain; charset=utf-8")


async def _user(request: HttpRequest) -> User | None:
    header = request.headers.get("Authorization", "")
    if header.lower().startswith("bearer "):
        return await sync_to_async(token_authenticate)(raw=header[7:].strip())
    user = await request.auser()
    return user if isinstance(user, User) and user.is_authenticated else None


async def _has_perm(user: User, permission: str) -> bool:
    return bool(await sync_to_async(user.has_perm)(permission))


async def screen_stream(request: HttpRequest, token: str) -> HttpResponseBase:
    try:
        screen = await sync_to_async(screens.screen_by_token)(token=token)
    except NotFound:
        return _refuse(404)
    department_ids: list[int] = await sync_to_async(lambda: [d.pk for d in screen.departments.all()])()
    return sse_response(request, EventScope(department_ids=department_ids, public=True, screen_id=screen.pk))


async def station_stream(request: HttpRequest) -> HttpResponseBase:
    user = await _user(request)
    if user is None:
        return _refuse(401)
    if not await _has_perm(user, "queueing.view_ticket"):
        return _refuse(403)
    department_ids = None
    code = request.GET.get("department", "").strip().upper()
    if code:
        department_ids = [pk async for pk in Department.objects.filter(code=code).values_list("pk", flat=True)]
    return sse_response(request, EventScope(department_ids=department_ids))


async def doctor_stream(request: HttpRequest) -> HttpResponseBase:
    user = await _user(request)
    if user is None:
        return _refuse(401)
    doctor = await sync_to_async(doctor_of)(user)
    if doctor is None or not await _has_perm(user, "queueing.call_ticket"):
        return _refuse(403)
    return sse_response(request, EventScope(doctor_id=doctor.pk))


async def ticket_stream(request: HttpRequest, appointment_id: UUID) -> HttpResponseBase:
    user = await _user(request)
    if user is None:
        return _refuse(401)

    def find() -> Any:
        return access_patient_ticket(actor=Actor(user=user), appointment_id=appointment_id)

    try:
        ticket = await sync_to_async(find)()
    except (NotFound, PermissionDenied, Unauthenticated):
        return _refuse(404)
    return sse_response(request, TicketScope(ticket_id=ticket.pk, doctor_id=ticket.doctor_id))
