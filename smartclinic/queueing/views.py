"""Queue pages: the nurse's station, the patient's ticket, the waiting-room screen, the clinic's
check-in code at the entrance and the patient's self check-in, and the managers' screens page.

Thin like the other apps' pages: parse with a form, call one service, redirect (or render);
every rule and error message comes from the services. The live parts are fragments that the
pages' scripts re-fetch when their stream says something changed.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any, TypeVar
from urllib.parse import urlencode
from uuid import UUID

import segno
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.clickjacking import xframe_options_sameorigin
from django.views.decorators.http import require_POST

from smartclinic.core import clock
from smartclinic.core.actor import actor_from_request
from smartclinic.core.errors import ApplicationError, NotFound
from smartclinic.identity.models import User
from smartclinic.identity.selectors import member_of_user, member_search
from smartclinic.queueing import boards, screens, services
from smartclinic.queueing.access import access_patient_ticket, access_ticket_for_staff, access_transferable_ticket
from smartclinic.queueing.choices import Priority
from smartclinic.queueing.forms import PriorityForm, ScreenForm, SearchForm, TransferForm, VitalsForm, WalkInForm
from smartclinic.queueing.models import Screen, Ticket
from smartclinic.queueing.selectors import member_by_number_or_card
from smartclinic.queueing.tokens import (
    clinic_code_issue,
    clinic_code_valid,
    looks_like_ticket_code,
    ticket_code_sign,
    ticket_code_unsign,
)
from smartclinic.scheduling.models import ClinicSession, Doctor

T = TypeVar("T")
View = Callable[..., HttpResponse]
SELF_CHECK_IN_KEY = "queueing.self_check_in_until"


def staff_required(permission: str) -> Callable[[View], View]:
    """Signed in (else to the staff sign-in page), with the permission (else 403)."""

    def decorate(view: View) -> View:
        return login_required(login_url="identity:staff_login")(
            permission_required(permission, raise_exception=True)(view)
        )

    return decorate


def _found(call: Callable[[], T]) -> T:
    try:
        return call()
    except NotFound as exc:
        raise Http404 from exc


def _user(request: HttpRequest) -> User:
    assert isinstance(request.user, User)
    return request.user


def _back(request: HttpRequest) -> str:
    target = request.POST.get("next", "")
    if target and url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
        return target
    return reverse("queueing:station")


def _qr_svg(data: str, *, scale: int = 6, dark: str = "#10282c") -> str:
    """A QR code as inline SVG (no image request; it works offline and prints sharply)."""
    return segno.make(data, error="m").svg_inline(scale=scale, dark=dark, light="#ffffff", border=2)


def _run(request: HttpRequest, action: Callable[[], Any], success: str) -> None:
    try:
        action()
    except ApplicationError as exc:
        messages.error(request, str(exc.detail))
    else:
        messages.success(request, success)


# --- the nurse's station ---------------------------------------------------------------------------


def _station_context(request: HttpRequest) -> dict[str, Any]:
    now = clock.now()
    today = clock.today()
    board = boards.station_board(date=today, now=now)
    sessions = [
        (str(s.public_id), f"{s.department.name} · {s.doctor.name} · {s.get_period_display()} ({_left(s)})")
        for s in ClinicSession.objects.filter(date=today, status="open", ends_at__gt=now)
        .select_related("doctor", "department")
        .order_by("department__sort_order", "department__code", "doctor__name", "starts_at")
        if s.walkin_capacity > s.walkin_used
    ]
    return {
        "board": board,
        "today": today,
        "now": now,
        "priority_choices": [(p.value, p.label) for p in Priority],
        "doctors_today": [(row.doctor_id, f"{row.doctor} · {row.department}") for row in board.doctors],
        "walk_in_form": WalkInForm(sessions=sessions),
        "walk_in_sessions": sessions,
        "last_event_id": boards.last_event_id(),
    }


def _left(session: ClinicSession) -> str:
    return _("%(count)d walk-in places left") % {"count": session.walkin_capacity - session.walkin_used}


@never_cache
@staff_required("queueing.view_ticket")
def station(request: HttpRequest) -> HttpResponse:
    """Every doctor's queue of today on one screen, with check-in, walk-ins, priority, vitals."""
    context = _station_context(request)
    form = SearchForm(request.GET or None)
    results: list[boards.StationTicket] = []
    scanned = None
    query = ""
    if form.is_valid() and form.cleaned_data["q"]:
        query = form.cleaned_data["q"].strip()
        if looks_like_ticket_code(query):
            public_id = ticket_code_unsign(code=query)
            if public_id is None:
                messages.error(
                    request, _("This code is not valid or has expired: ask the patient to reload the ticket.")
                )
            else:
                scanned = Ticket.objects.filter(public_id=public_id).values_list("member_id", flat=True).first()
                results = boards.station_search(date=context["today"], member_ids=[scanned] if scanned else [])
        else:
            member_ids = list(member_search(query=query).values_list("pk", flat=True))
            results = boards.station_search(date=context["today"], member_ids=member_ids)
    context.update(
        form=form,
        query=query,
        results=results,
        searched=bool(query),
    )
    return render(request, "queueing/station.html", context)


@never_cache
@staff_required("queueing.view_ticket")
def station_board(request: HttpRequest) -> HttpResponse:
    """The live part of the station (re-fetched by static/js/live.js)."""
    return render(request, "queueing/_station_board.html", _station_context(request))


@require_POST
@staff_required("queueing.check_in_ticket")
def station_check_in(request: HttpRequest, ticket_id: UUID) -> HttpResponse:
    actor = actor_from_request(request)
    ticket = _found(
        lambda: access_ticket_for_staff(actor=actor, public_id=ticket_id, permission="queueing.check_in_ticket")
    )
    _run(
        request,
        lambda: services.ticket_check_in(actor=actor, ticket=ticket),
        _("%(code)s %(name)s is checked in.") % {"code": ticket.code, "name": ticket.patient_name},
    )
    return redirect(_back(request))


@require_POST
@staff_required("queueing.check_in_ticket")
def station_rejoin(request: HttpRequest, ticket_id: UUID) -> HttpResponse:
    actor = actor_from_request(request)
    ticket = _found(
        lambda: access_ticket_for_staff(actor=actor, public_id=ticket_id, permission="queueing.check_in_ticket")
    )
    _run(
        request,
        lambda: services.ticket_rejoin(actor=actor, ticket=ticket),
        _("%(code)s is back in line, after the next two patients.") % {"code": ticket.code},
    )
    return redirect(_back(request))


@require_POST
@staff_required("queueing.prioritize_ticket")
def station_priority(request: HttpRequest, ticket_id: UUID) -> HttpResponse:
    actor = actor_from_request(request)
    ticket = _found(
        lambda: access_ticket_for_staff(actor=actor, public_id=ticket_id, permission="queueing.prioritize_ticket")
    )
    form = PriorityForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Choose a priority."))
        return redirect(_back(request))
    _run(
        request,
        lambda: services.ticket_set_priority(
            actor=actor, ticket=ticket, priority=form.cleaned_data["priority"], reason=form.cleaned_data["reason"]
        ),
        _("The priority of %(code)s is saved.") % {"code": ticket.code},
    )
    return redirect(_back(request))


@require_POST
@staff_required("queueing.add_vitals")
def station_vitals(request: HttpRequest, ticket_id: UUID) -> HttpResponse:
    actor = actor_from_request(request)
    ticket = _found(lambda: access_ticket_for_staff(actor=actor, public_id=ticket_id, permission="queueing.add_vitals"))
    form = VitalsForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Check the vital signs: %(fields)s.") % {"fields": ", ".join(form.errors)})
        return redirect(_back(request))
    _run(
        request,
        lambda: services.vitals_record(actor=actor, ticket=ticket, **form.cleaned_data),
        _("The vital signs of %(code)s are saved.") % {"code": ticket.code},
    )
    return redirect(_back(request))


@require_POST
@staff_required("queueing.transfer_ticket")
def station_transfer(request: HttpRequest, ticket_id: UUID) -> HttpResponse:
    actor = actor_from_request(request)
    ticket = _found(lambda: access_transferable_ticket(actor=actor, public_id=ticket_id))
    form = TransferForm(request.POST)
    to_doctor = Doctor.objects.filter(public_id=form.cleaned_data["doctor"]).first() if form.is_valid() else None
    if to_doctor is None:
        messages.error(request, _("Choose the doctor to transfer to."))
        return redirect(_back(request))
    _run(
        request,
        lambda: services.ticket_transfer(actor=actor, ticket=ticket, to_doctor=to_doctor),
        _("%(code)s now waits for %(doctor)s.") % {"code": ticket.code, "doctor": to_doctor.name},
    )
    return redirect(_back(request))


@require_POST
@staff_required("queueing.register_walk_in")
def station_walk_in(request: HttpRequest) -> HttpResponse:
    actor = actor_from_request(request)
    session_id = _uuid(request.POST.get("session", ""))
    session = ClinicSession.objects.filter(public_id=session_id).first() if session_id else None
    member = member_by_number_or_card(ref=request.POST.get("member", ""))
    if session is None or member is None:
        messages.error(request, _("No member with this number or card, or no such session."))
        return redirect(_back(request))
    try:
        appointment = services.walk_in_admit(actor=actor, session=session, member=member)
    except ApplicationError as exc:
        messages.error(request, str(exc.detail))
    else:
        messages.success(
            request,
            _(
                "%(name)s is registered with %(doctor)s. After paying %(fee)s yuan at the cashier they get "
                "their number, already checked in."
            )
            % {"name": member.name, "doctor": session.doctor.name, "fee": f"{appointment.fee / 100:.2f}"},
        )
    return redirect(_back(request))


def _uuid(value: str) -> UUID | None:
    try:
        return UUID(value)
    except ValueError:
        return None


@staff_required("queueing.check_in_ticket")
def station_scan(request: HttpRequest, code: str) -> HttpResponse:
    """A nurse's phone scanned a patient's ticket code: open the station on that patient."""
    return redirect(f"{reverse('queueing:station')}?{urlencode({'q': code})}")


# --- the clinic's check-in code and the patient's self check-in -----------------------------------


@never_cache
@staff_required("queueing.check_in_ticket")
def clinic_code(request: HttpRequest) -> HttpResponse:
    """Shown on a tablet at the entrance; a new code every minute or so, so a photo of it is
    useless at home."""
    code = clinic_code_issue()
    url = request.build_absolute_uri(reverse("queueing:self_check_in")) + f"?code={code}"
    return render(
        request,
        "queueing/clinic_code.html",
        {
            "qr": mark_safe(_qr_svg(url, scale=10)),  # noqa: S308 - segno's own SVG, no user input
            "url": url,
            "refresh_seconds": settings.QUEUE_CLINIC_CODE_REFRESH_SECONDS,
        },
    )


@never_cache
@login_required
def self_check_in(request: HttpRequest) -> HttpResponse:
    """The patient scanned the clinic's code: their tickets of today, one button to check in."""
    user = _user(request)
    member = member_of_user(user=user)
    now = clock.now()
    if request.method == "GET" and "code" in request.GET:
        if clinic_code_valid(code=request.GET["code"]):
            until = now + dt.timedelta(minutes=settings.QUEUE_SELF_CHECK_IN_MINUTES)
            request.session[SELF_CHECK_IN_KEY] = until.timestamp()
            return redirect("queueing:self_check_in")  # the code leaves the address bar
        messages.error(request, _("This code has expired. Scan the code at the clinic's entrance again."))
    allowed = request.session.get(SELF_CHECK_IN_KEY, 0) > now.timestamp()
    tickets = (
        list(
            Ticket.objects.filter(member=member, session__date=clock.today())
            .select_related("session__department", "doctor", "appointment", "dependant", "member")
            .order_by("session__starts_at", "number")
        )
        if member is not None
        else []
    )
    if request.method == "POST":
        if not allowed:
            messages.error(request, _("Scan the code at the clinic's entrance first."))
            return redirect("queueing:self_check_in")
        chosen = next((t for t in tickets if str(t.public_id) == request.POST.get("ticket")), None)
        if member is None or chosen is None:
            raise Http404
        try:
            services.ticket_self_check_in(actor=actor_from_request(request), member=member, ticket=chosen)
        except ApplicationError as exc:
            messages.error(request, str(exc.detail))
            return redirect("queueing:self_check_in")
        messages.success(request, _("You are checked in. Please wait to be called."))
        return redirect("queueing:ticket", appointment_id=chosen.appointment.public_id)
    return render(
        request,
        "queueing/self_check_in.html",
        {"tickets": tickets, "allowed": allowed, "member": member},
    )


# --- the patient's ticket ------------------------------------------------------------------------------


@never_cache
@login_required
def ticket_page(request: HttpRequest, appointment_id: UUID) -> HttpResponse:
    actor = actor_from_request(request)
    ticket = _found(lambda: access_patient_ticket(actor=actor, appointment_id=appointment_id))
    progress = boards.ticket_progress(ticket=ticket)
    code = ticket_code_sign(ticket_public_id=ticket.public_id)
    scan_url = request.build_absolute_uri(reverse("queueing:station_scan", args=[code]))
    return render(
        request,
        "queueing/ticket.html",
        {
            "ticket": ticket,
            "progress": progress,
            "qr": mark_safe(_qr_svg(scan_url, scale=5)),  # noqa: S308 - segno's own SVG
            "last_event_id": boards.last_event_id(),
            "open": ticket.status not in ("done", "cancelled"),
        },
    )


# --- the waiting-room screen ----------------------------------------------------------------------------


def _screen(token: str) -> Screen:
    return _found(lambda: screens.screen_by_token(token=token))


@never_cache
@xframe_options_sameorigin
def screen_page(request: HttpRequest, token: str) -> HttpResponse:
    """The big display in the waiting room: no sign-in, the token in the address is the key."""
    screen = _screen(token)
    screens.screen_seen(screen=screen)
    board = boards.screen_board(screen=screen, date=clock.today(), now=clock.now())
    return render(
        request,
        "queueing/screen.html",
        {"screen": screen, "board": board, "token": token, "last_event_id": boards.last_event_id()},
    )


@never_cache
def screen_board(request: HttpRequest, token: str) -> HttpResponse:
    screen = _screen(token)
    screens.screen_seen(screen=screen)
    board = boards.screen_board(screen=screen, date=clock.today(), now=clock.now())
    return render(request, "queueing/_screen_board.html", {"screen": screen, "board": board})


# --- the managers' screens page -----------------------------------------------------------------------------


@never_cache
@staff_required("queueing.view_screen")
def screen_list(request: HttpRequest) -> HttpResponse:
    new_key = None
    form = ScreenForm()
    if request.method == "POST":
        if not _user(request).has_perm("queueing.add_screen"):
            raise Http404
        form = ScreenForm(request.POST)
        if form.is_valid():
            new_key = screens.screen_create(
                actor=actor_from_request(request),
                name=form.cleaned_data["name"],
                departments=form.cleaned_data["departments"],
            )
            form = ScreenForm()
    return _screen_list(request, form=form, new_key=new_key)


def _screen_list(request: HttpRequest, *, form: ScreenForm, new_key: screens.ScreenKey | None) -> HttpResponse:
    all_screens = list(Screen.objects.prefetch_related("departments").order_by("name"))
    new_url = (
        request.build_absolute_uri(reverse("queueing:screen", args=[new_key.token])) if new_key is not None else ""
    )
    return render(
        request,
        "queueing/screens.html",
        {"screens": all_screens, "form": form, "new_key": new_key, "new_url": new_url},
        status=201 if new_key is not None and request.method == "POST" else 200,
    )


@require_POST
@staff_required("queueing.change_screen")
def screen_rotate(request: HttpRequest, screen_id: UUID) -> HttpResponse:
    screen = Screen.objects.filter(public_id=screen_id).first()
    if screen is None:
        raise Http404
    new_key = screens.screen_rotate_token(actor=actor_from_request(request), screen=screen)
    return _screen_list(request, form=ScreenForm(), new_key=new_key)


@require_POST
@staff_required("queueing.change_screen")
def screen_toggle(request: HttpRequest, screen_id: UUID) -> HttpResponse:
    screen = Screen.objects.filter(public_id=screen_id).first()
    if screen is None:
        raise Http404
    screens.screen_set_active(actor=actor_from_request(request), screen=screen, active=not screen.active)
    messages.success(
        request,
        (_("%(name)s is switched on.") if screen.active else _("%(name)s is switched off.")) % {"name": screen.name},
    )
    return redirect("queueing:screens")
