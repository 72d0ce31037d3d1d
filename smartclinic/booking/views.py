"""Patient booking pages: choose a department, a doctor or let the clinic suggest one; pick a
slot; confirm; then manage one's appointments and waitlist entries. And the clinic's suspension of
a session, posted from the staff session list.

Thin, like the identity pages: parse with a form, call one service, render. Every rule and every
error message comes from the services; a page shows ``exc.detail`` in the request's language.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar
from urllib.parse import urlencode
from uuid import UUID

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_POST

from smartclinic.booking import page_selectors, selectors, services, waitlist
from smartclinic.booking.access import (
    access_appointment,
    access_bookable_slot,
    access_own_waitlist_entry,
    department_by_ref,
    doctor_by_id,
    session_by_id,
)
from smartclinic.booking.errors import CardNotBound
from smartclinic.booking.forms import BookForm, DayForm, RecommendForm, WaitlistJoinForm
from smartclinic.booking.models import Appointment, person_key_for
from smartclinic.booking.policies import quota_blocked_until
from smartclinic.booking.recommendation import recommend
from smartclinic.core import clock
from smartclinic.core.actor import actor_from_request
from smartclinic.core.errors import ApplicationError, NotFound
from smartclinic.core.idempotency import IdempotencyKeyReused, fingerprint_of, run_idempotent
from smartclinic.core.ratelimit import limit_booking_writes
from smartclinic.identity.choices import MemberKind
from smartclinic.identity.models import Member, User
from smartclinic.identity.selectors import dependant_list_for_owner, member_of_user
from smartclinic.scheduling import selectors as scheduling_selectors
from smartclinic.scheduling.forms import SuspendForm
from smartclinic.scheduling.models import Department, Doctor
from smartclinic.scheduling.rules import cancel_deadline

T = TypeVar("T")
MemberView = Callable[..., HttpResponse]


def bound_member_required(view: MemberView) -> MemberView:
    """Signed in, with a bound campus card; the view gets the member as its second argument."""

    @wraps(view)
    @login_required
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        assert isinstance(request.user, User)
        member = member_of_user(user=request.user)
        if member is None:
            messages.info(request, str(CardNotBound.message))
            return redirect("identity:card_bind")
        return view(request, member, *args, **kwargs)

    return wrapper


def _found(call: Callable[[], T]) -> T:
    try:
        return call()
    except NotFound as exc:
        raise Http404 from exc


def _back(request: HttpRequest, default: str) -> str:
    """Where a POST form asked to go next (``next``), if it is on this site."""
    target = request.POST.get("next", "")
    if target and url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
        return target
    return default


# --- choose ---------------------------------------------------------------------------------------


@bound_member_required
def book_start(request: HttpRequest, member: Member) -> HttpResponse:
    departments = page_selectors.department_items(scheduling_selectors.department_list_active())
    return render(request, "booking/start.html", {"way": "department", "departments": departments})


@bound_member_required
def book_doctors(request: HttpRequest, member: Member) -> HttpResponse:
    doctors = list(scheduling_selectors.doctor_list())
    next_free = selectors.next_free_slot_by_doctor(doctors=doctors, now=clock.now())
    items = page_selectors.doctor_items(doctors, next_free=next_free)
    return render(request, "booking/doctors.html", {"way": "doctor", "doctors": items})


@bound_member_required
def book_help(request: HttpRequest, member: Member) -> HttpResponse:
    asked = "complaint" in request.GET or "symptoms" in request.GET
    form = RecommendForm(request.GET if asked else None, language=request.LANGUAGE_CODE)
    result = None
    if asked and form.is_valid():
        result = page_selectors.recommendation_view(
            recommend(
                complaint=form.cleaned_data["complaint"],
                symptom_codes=form.cleaned_data["symptoms"],
                member=member,
                language=request.LANGUAGE_CODE,
            )
        )
    return render(request, "booking/help.html", {"way": "help", "form": form, "result": result})


# --- pick a slot ----------------------------------------------------------------------------------


def _day_slots(
    request: HttpRequest, *, department: Department | None = None, doctor: Doctor | None = None
) -> dict[str, Any]:
    """The 14-day picker and the chosen day's slots, grouped by session: five queries whatever
    the number of doctors and slots."""
    now = clock.now()
    days = page_selectors.booking_days(today=clock.today())
    with_sessions = page_selectors.session_dates(
        date_from=days[0], date_to=days[-1], department=department, doctor=doctor
    )
    form = DayForm(request.GET, days=days)
    chosen = form.cleaned_data["date"] if form.is_valid() else None
    selected = chosen or page_selectors.first_day_with_sessions(days=days, with_sessions=with_sessions)
    slots = scheduling_selectors.slot_list(department=department, doctor=doctor, date=selected)
    groups = page_selectors.slot_groups(slots=slots, now=now)
    return {
        "days": page_selectors.day_tabs(days=days, selected=selected, with_sessions=with_sessions),
        "selected": selected,
        "groups": groups,
        "day_waitlist_open": department is not None and page_selectors.day_waitlist_open(groups),
        "here": request.get_full_path(),
    }


@bound_member_required
def department_slots(request: HttpRequest, member: Member, code: str) -> HttpResponse:
    department = _found(lambda: department_by_ref(ref=code))
    context = {
        "department": page_selectors.department_items([department])[0],
        **_day_slots(request, department=department),
    }
    return render(request, "booking/department_slots.html", context)


@bound_member_required
def doctor_slots(request: HttpRequest, member: Member, doctor_id: UUID) -> HttpResponse:
    doctor = _found(lambda: doctor_by_id(public_id=doctor_id))
    item = page_selectors.doctor_items([doctor], next_free={})[0]
    item["biography"] = doctor.biography
    context = {"doctor": item, **_day_slots(request, doctor=doctor)}
    return render(request, "booking/doctor_slots.html", context)


# --- confirm --------------------------------------------------------------------------------------


def _book(request: HttpRequest, member: Member, slot: Any, form: BookForm) -> tuple[str, bool]:
    """Book once per form token: a second submit of the same form finds the first appointment.
    Returns its id and whether this request made it."""
    assert isinstance(request.user, User)
    dependant = form.dependant()
    made: list[bool] = []

    def book() -> tuple[int, Any]:
        appointment = services.appointment_book(
            actor=actor_from_request(request), member=member, slot=slot, dependant=dependant
        )
        made.append(True)
        return 201, {"appointment_id": str(appointment.public_id)}

    _status, body = run_idempotent(
        user_id=request.user.pk,
        key=form.cleaned_data["token"],
        fingerprint=fingerprint_of(
            method="POST", path=request.path, body={"dependant": str(dependant.public_id) if dependant else None}
        ),
        action=book,
    )
    return body["appointment_id"], bool(made)


@bound_member_required
def slot_confirm(request: HttpRequest, member: Member, slot_id: UUID) -> HttpResponse:
    slot = _found(lambda: access_bookable_slot(public_id=slot_id))
    dependants = list(dependant_list_for_owner(owner=member)) if member.kind == MemberKind.STAFF else []
    form = BookForm(
        request.POST if request.method == "POST" else None,
        initial={"token": secrets.token_urlsafe(18)},
        member_name=member.name,
        dependants=dependants,
    )
    if request.method == "POST" and form.is_valid():
        try:
            limit_booking_writes(request, user=request.user)
            appointment_id, made = _book(request, member, slot, form)
        except IdempotencyKeyReused:
            form.add_error(None, _("This form was already used for another booking. Check “My appointments” first."))
        except ApplicationError as exc:
            form.add_error(None, str(exc.detail))
        else:
            if made:
                messages.success(request, _("Booked. Please arrive a little before your time."))
            else:
                messages.info(request, _("This booking was already made; here it is."))
            return redirect("booking:appointment_detail", appointment_id)
    now = clock.now()
    groups = page_selectors.slot_groups(slots=[slot], now=now)
    session = slot.session
    context = {
        "form": form,
        "group": groups[0] if groups else None,
        "slot": groups[0]["slots"][0] if groups else None,
        "cancel_deadline": cancel_deadline(department=session.department, slot=slot),
        "location": session.department.location,
        "room": session.room,
        "opening_hours": session.department.opening_hours,
        "has_dependants": bool(dependants),
        "member_name": member.name,
    }
    return render(request, "booking/slot_confirm.html", context, status=422 if form.errors else 200)


# --- my appointments ------------------------------------------------------------------------------


def _own_appointment(request: HttpRequest, member: Member, appointment_id: UUID) -> Appointment:
    appointment = _found(lambda: access_appointment(actor=actor_from_request(request), public_id=appointment_id))
    if appointment.member_id != member.pk:
        raise Http404
    return appointment


@bound_member_required
def appointment_list(request: HttpRequest, member: Member) -> HttpResponse:
    now = clock.now()
    context = {
        "sections": page_selectors.my_appointments(member=member, now=now),
        "live_count": selectors.live_appointment_count(member=member),
        "live_max": settings.BOOKING_MAX_LIVE_APPOINTMENTS,
        "blocked_until": quota_blocked_until(person_key=person_key_for(member=member, dependant=None), now=now),
    }
    return render(request, "booking/appointments.html", context)


@bound_member_required
def appointment_detail(request: HttpRequest, member: Member, appointment_id: UUID) -> HttpResponse:
    appointment = _own_appointment(request, member, appointment_id)
    item = page_selectors.appointment_detail(appointment=appointment, now=clock.now())
    return render(request, "booking/appointment_detail.html", {"appointment": item})


@bound_member_required
@require_POST
def appointment_cancel_page(request: HttpRequest, member: Member, appointment_id: UUID) -> HttpResponse:
    appointment = _own_appointment(request, member, appointment_id)
    try:
        limit_booking_writes(request, user=request.user)
        services.appointment_cancel(actor=actor_from_request(request), appointment=appointment)
    except ApplicationError as exc:
        messages.error(request, str(exc.detail))
    else:
        messages.success(request, _("Your appointment is cancelled."))
    return redirect(_back(request, reverse("booking:appointment_detail", args=[appointment_id])))


@bound_member_required
@require_POST
def appointment_confirm_page(request: HttpRequest, member: Member, appointment_id: UUID) -> HttpResponse:
    appointment = _own_appointment(request, member, appointment_id)
    try:
        waitlist.waitlist_offer_confirm(actor=actor_from_request(request), appointment=appointment)
    except ApplicationError as exc:
        messages.error(request, str(exc.detail))
    else:
        messages.success(request, _("The place is yours: your appointment is confirmed."))
    return redirect(_back(request, reverse("booking:appointment_detail", args=[appointment_id])))


@bound_member_required
@require_POST
def appointment_rebook_page(request: HttpRequest, member: Member, appointment_id: UUID) -> HttpResponse:
    appointment = _own_appointment(request, member, appointment_id)
    try:
        limit_booking_writes(request, user=request.user)
        new = services.appointment_rebook(actor=actor_from_request(request), appointment=appointment)
    except ApplicationError as exc:
        messages.error(request, str(exc.detail))
        return redirect(_back(request, reverse("booking:appointment_detail", args=[appointment_id])))
    messages.success(request, _("Rebooked. Here is your new appointment."))
    return redirect("booking:appointment_detail", new.public_id)


# --- waitlist -------------------------------------------------------------------------------------


@bound_member_required
def waitlist_page(request: HttpRequest, member: Member) -> HttpResponse:
    if request.method == "POST":
        return _waitlist_join(request, member)
    return render(request, "booking/waitlist.html", {"entries": page_selectors.my_waitlist(member=member)})


def _waitlist_join(request: HttpRequest, member: Member) -> HttpResponse:
    form = WaitlistJoinForm(request.POST)
    back = _back(request, reverse("booking:start"))
    if not form.is_valid():
        messages.error(request, _("The waitlist request was incomplete. Please try again."))
        return redirect(back)
    data = form.cleaned_data
    try:
        limit_booking_writes(request, user=request.user)
        entry = waitlist.waitlist_join(
            actor=actor_from_request(request),
            member=member,
            department=department_by_ref(ref=data["department"]),
            date=data["date"],
            session=session_by_id(public_id=data["session"]) if data["session"] else None,
        )
    except ApplicationError as exc:
        messages.error(request, str(exc.detail))
        return redirect(back)
    position = selectors.waitlist_position(entry=entry) or 1
    messages.success(
        request,
        _("You are on the waitlist, number %(position)d in line. We will tell you as soon as a place is free.")
        % {"position": position},
    )
    return redirect("booking:waitlist")


@bound_member_required
@require_POST
def waitlist_leave_page(request: HttpRequest, member: Member, entry_id: UUID) -> HttpResponse:
    actor = actor_from_request(request)
    entry = _found(lambda: access_own_waitlist_entry(actor=actor, public_id=entry_id))
    try:
        waitlist.waitlist_leave(actor=actor, entry=entry)
    except ApplicationError as exc:
        messages.error(request, str(exc.detail))
    else:
        messages.success(request, _("You have left the waitlist."))
    return redirect("booking:waitlist")


# --- the clinic suspends a session (posted from scheduling's staff session list) --------------


@login_required(login_url="identity:staff_login")
@permission_required("scheduling.suspend_session", raise_exception=True)
@require_POST
def session_suspend_page(request: HttpRequest, session_id: UUID) -> HttpResponse:
    session = _found(lambda: session_by_id(public_id=session_id))
    form = SuspendForm(request.POST)
    query = {"date": session.date.isoformat()}
    if form.is_valid() and form.cleaned_data["return_department"]:
        query["department"] = form.cleaned_data["return_department"]
    back = f"{reverse('scheduling:session_day')}?{urlencode(query)}"
    if not form.is_valid():
        messages.error(request, _("Give the reason for suspending the session: patients will see it."))
        return redirect(back)
    try:
        cancelled = services.clinic_session_suspend(
            actor=actor_from_request(request), session=session, reason=form.cleaned_data["reason"]
        )
    except ApplicationError as exc:
        messages.error(request, str(exc.detail))
    else:
        messages.success(
            request,
            ngettext(
                "Session of %(doctor)s suspended: %(count)d appointment was cancelled; the patient will be told.",
                "Session of %(doctor)s suspended: %(count)d appointments were cancelled; the patients will be told.",
                len(cancelled),
            )
            % {"doctor": session.doctor.name, "count": len(cancelled)},
        )
    return redirect(back)
