"""Booking endpoints: find a slot (by department, doctor or recommendation), book, cancel,
reschedule, the waitlist; and the clinic's session suspension."""

from __future__ import annotations

import datetime as dt
from typing import Any
from uuid import UUID

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from ninja import Query, Router
from ninja.responses import Status

from smartclinic.booking import selectors, services, waitlist
from smartclinic.booking.access import (
    access_appointment,
    access_bookable_slot,
    access_own_dependant_or_none,
    access_own_waitlist_entry,
    department_by_ref,
    doctor_by_id,
    session_by_id,
)
from smartclinic.booking.booking_request import book_for_caller
from smartclinic.booking.models import person_key_for
from smartclinic.booking.policies import quota_blocked_until
from smartclinic.booking.presenters import (
    appointment_out,
    department_out,
    doctor_out,
    slot_list_changes_at,
    slot_row_out,
    waitlist_out,
)
from smartclinic.booking.recommendation import recommend
from smartclinic.booking.schemas import (
    AppointmentIn,
    AppointmentOut,
    BookingStatusOut,
    DepartmentOut,
    DoctorOut,
    RecommendationOut,
    RescheduleIn,
    SlotOut,
    SuspendIn,
    SymptomOut,
    WaitlistIn,
    WaitlistOut,
)
from smartclinic.core import clock, fastjson
from smartclinic.core.idempotency import fingerprint_of, run_idempotent
from smartclinic.core.microcache import UNTIL_HEADER
from smartclinic.core.ratelimit import client_address, limit_booking_writes
from smartclinic.core.renderers import FastJSONRenderer
from smartclinic.identity.auth import request_actor, request_user, require_perm
from smartclinic.identity.selectors import member_of_user
from smartclinic.scheduling import selectors as scheduling_selectors

router = Router(tags=["booking"])
SLOT_LIST_RENDERER = FastJSONRenderer()  # NinjaAPI's own (config/api.py)


@router.get("/departments", auth=None, response=list[DepartmentOut])
def department_list_api(request: HttpRequest) -> list[dict[str, Any]]:
    return [department_out(d) for d in scheduling_selectors.department_list_active()]


@router.get("/doctors", auth=None, response=list[DoctorOut])
def doctor_list_api(request: HttpRequest, department: str | None = None) -> list[dict[str, Any]]:
    dept = department_by_ref(ref=department) if department else None
    doctors = list(scheduling_selectors.doctor_list(department=dept))
    next_free = selectors.next_free_slot_by_doctor(doctors=doctors, now=clock.now())
    return [doctor_out(d, next_free=next_free.get(d.pk)) for d in doctors]


@router.get("/doctors/{doctor_id}", auth=None, response=DoctorOut)
def doctor_get_api(request: HttpRequest, doctor_id: UUID) -> dict[str, Any]:
    doctor = doctor_by_id(public_id=doctor_id)
    next_free = selectors.next_free_slot_by_doctor(doctors=[doctor], now=clock.now())
    return doctor_out(doctor, next_free=next_free.get(doctor.pk))


@router.get("/slots", auth=None, response=list[SlotOut])
def slot_list_api(
    request: HttpRequest,
    response: HttpResponse,
    department: str | None = None,
    doctor: UUID | None = None,
    date: dt.date | None = None,
) -> HttpResponse:
    dept = department_by_ref(ref=department) if department else None
    doc = doctor_by_id(public_id=doctor) if doctor else None
    today = clock.today()
    rows = scheduling_selectors.slot_rows(
        department=dept,
        doctor=doc,
        date=date,
        date_from=None if date else today,
        date_to=None if date else today + dt.timedelta(days=14),
    )
    now = clock.now()
    listed = [slot_row_out(row, now=now) for row in rows]
    changes_at = slot_list_changes_at(listed, now=now)
    if changes_at is not None:  # for the micro-cache: not "not open yet" after the release
        response[UNTIL_HEADER.decode()] = f"{changes_at.timestamp():.3f}"
    # Rendered as it stands, by the API's renderer: every student re-lists this in a rush, and
    # validating each row against ``SlotOut`` again cost more than the query (a test holds the
    # answer to the schema).
    response.content = SLOT_LIST_RENDERER.render(request, listed, response_status=200)
    return response


@router.get("/symptoms", auth=None, response=list[SymptomOut])
def symptom_list_api(request: HttpRequest) -> list[dict[str, Any]]:
    from smartclinic.booking.recommendation import symptom_choices

    return symptom_choices(language=request.LANGUAGE_CODE)


@router.get("/recommendations", response=RecommendationOut)
def recommendation_list_api(
    request: HttpRequest,
    complaint: str = "",
    symptoms: list[str] = Query([]),  # noqa: B008
) -> dict[str, Any]:
    member = member_of_user(user=request_user(request))
    return recommend(
        complaint=complaint[:500], symptom_codes=symptoms[:20], member=member, language=request.LANGUAGE_CODE
    )


@router.post("/appointments", response={201: AppointmentOut})
def appointment_book_api(request: HttpRequest, payload: AppointmentIn) -> HttpResponse:
    # The same as the ASGI fast path (booking/fastpath.py), for requests it leaves to Django.
    status, body = book_for_caller(
        actor=request_actor(request),
        user=request_user(request),
        address=client_address(request),
        slot_id=payload.slot_id,
        dependant_id=payload.dependant_id,
        idempotency_key=request.headers.get("Idempotency-Key"),
        path=request.path,
    )
    # The body was validated against AppointmentOut when it was made (or stored): sent as it is.
    return HttpResponse(fastjson.encoded(body), status=status, content_type="application/json; charset=utf-8")


@router.get("/appointments", response=list[AppointmentOut])
def appointment_list_api(request: HttpRequest) -> list[dict[str, Any]]:
    member = member_of_user(user=request_user(request))
    if member is None:
        return []
    return [appointment_out(a) for a in selectors.appointment_list_for_member(member=member)[:200]]


@router.get("/appointments/{appointment_id}", response=AppointmentOut)
def appointment_get_api(request: HttpRequest, appointment_id: UUID) -> dict[str, Any]:
    return appointment_out(access_appointment(actor=request_actor(request), public_id=appointment_id))


def _own_appointment(request: HttpRequest, appointment_id: UUID) -> Any:
    actor = request_actor(request)
    appointment = access_appointment(actor=actor, public_id=appointment_id)
    if actor.user is None or appointment.member.account_id != actor.user.pk:
        from smartclinic.core.errors import NotFound

        raise NotFound()
    return actor, appointment


@router.post("/appointments/{appointment_id}/cancel", response=AppointmentOut)
def appointment_cancel_api(request: HttpRequest, appointment_id: UUID) -> dict[str, Any]:
    actor, appointment = _own_appointment(request, appointment_id)
    limit_booking_writes(request, user=actor.user)
    services.appointment_cancel(actor=actor, appointment=appointment)
    return appointment_out(access_appointment(actor=actor, public_id=appointment_id))


@router.post("/appointments/{appointment_id}/reschedule", response=AppointmentOut)
def appointment_reschedule_api(request: HttpRequest, appointment_id: UUID, payload: RescheduleIn) -> dict[str, Any]:
    actor, appointment = _own_appointment(request, appointment_id)
    limit_booking_writes(request, user=actor.user)
    new = services.appointment_reschedule(
        actor=actor, appointment=appointment, new_slot=access_bookable_slot(public_id=payload.slot_id)
    )
    return appointment_out(access_appointment(actor=actor, public_id=new.public_id))


@router.post("/appointments/{appointment_id}/confirm", response=AppointmentOut)
def appointment_confirm_api(request: HttpRequest, appointment_id: UUID) -> dict[str, Any]:
    actor, appointment = _own_appointment(request, appointment_id)
    waitlist.waitlist_offer_confirm(actor=actor, appointment=appointment)
    return appointment_out(access_appointment(actor=actor, public_id=appointment_id))


@router.post("/appointments/{appointment_id}/rebook", response={201: AppointmentOut})
def appointment_rebook_api(request: HttpRequest, appointment_id: UUID) -> Status[dict[str, Any]]:
    actor, appointment = _own_appointment(request, appointment_id)
    limit_booking_writes(request, user=actor.user)
    new = services.appointment_rebook(actor=actor, appointment=appointment)
    return Status(201, appointment_out(access_appointment(actor=actor, public_id=new.public_id)))


@router.get("/booking/status", response=BookingStatusOut)
def booking_status_api(request: HttpRequest) -> dict[str, Any]:
    member = member_of_user(user=request_user(request))
    if member is None:
        return {
            "live_appointments": 0,
            "max_live_appointments": settings.BOOKING_MAX_LIVE_APPOINTMENTS,
            "blocked_until": None,
        }
    return {
        "live_appointments": selectors.live_appointment_count(member=member),
        "max_live_appointments": settings.BOOKING_MAX_LIVE_APPOINTMENTS,
        "blocked_until": quota_blocked_until(person_key=person_key_for(member=member, dependant=None), now=clock.now()),
    }


@router.post("/waitlist", response={201: WaitlistOut})
def waitlist_join_api(request: HttpRequest, payload: WaitlistIn) -> Status[Any]:
    user = request_user(request)
    limit_booking_writes(request, user=user)

    def join() -> tuple[int, Any]:
        member = member_of_user(user=user)
        entry = waitlist.waitlist_join(
            actor=request_actor(request),
            member=member,
            department=department_by_ref(ref=payload.department),
            date=payload.date,
            session=session_by_id(public_id=payload.session_id) if payload.session_id else None,
            dependant=access_own_dependant_or_none(member=member, public_id=payload.dependant_id),
        )
        entry = selectors.waitlist_list_for_member(member=entry.member).get(pk=entry.pk)
        out = waitlist_out(entry, position=selectors.waitlist_position(entry=entry))
        return 201, WaitlistOut.model_validate(out).model_dump(mode="json")

    status, body = run_idempotent(
        user_id=user.pk,
        key=request.headers.get("Idempotency-Key"),
        fingerprint=fingerprint_of(method="POST", path=request.path, body=payload.model_dump(mode="json")),
        action=join,
    )
    return Status(status, body)


@router.get("/waitlist", response=list[WaitlistOut])
def waitlist_list_api(request: HttpRequest) -> list[dict[str, Any]]:
    member = member_of_user(user=request_user(request))
    if member is None:
        return []
    entries = selectors.waitlist_list_for_member(member=member)[:100]
    return [waitlist_out(e, position=selectors.waitlist_position(entry=e)) for e in entries]


@router.delete("/waitlist", response={204: None})
def waitlist_leave_query_api(request: HttpRequest, entry_id: UUID | None = None) -> Status[None]:
    """Leave one line (``?entry_id=``), or every line one still waits in."""
    actor = request_actor(request)
    if entry_id is not None:
        waitlist.waitlist_leave(actor=actor, entry=access_own_waitlist_entry(actor=actor, public_id=entry_id))
    else:
        waitlist.waitlist_leave_all(actor=actor, member=member_of_user(user=request_user(request)))
    return Status(204, None)


@router.delete("/waitlist/{entry_id}", response={204: None})
def waitlist_leave_api(request: HttpRequest, entry_id: UUID) -> Status[None]:
    actor = request_actor(request)
    waitlist.waitlist_leave(actor=actor, entry=access_own_waitlist_entry(actor=actor, public_id=entry_id))
    return Status(204, None)


@router.post("/sessions/{session_id}/suspend", response={200: dict})
def session_suspend_api(request: HttpRequest, session_id: UUID, payload: SuspendIn) -> dict[str, Any]:
    actor = request_actor(request)
    require_perm(request_user(request), "scheduling.suspend_session")
    cancelled = services.clinic_session_suspend(
        actor=actor, session=session_by_id(public_id=session_id), reason=payload.reason
    )
    return {"session_id": str(session_id), "cancelled_appointments": len(cancelled)}
