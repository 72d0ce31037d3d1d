"""Pages of the visits context: the doctor's station, the patient's visit summaries, and the
clinic's day list. Thin: parse with a form, call a service, render. Errors come from the
services and are shown in the request's language."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any
from urllib.parse import urlencode
from uuid import UUID

from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import NoReverseMatch, reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from smartclinic.core import clock
from smartclinic.core.actor import Actor, actor_from_request
from smartclinic.core.errors import ApplicationError, NotFound
from smartclinic.queueing.services import ticket_call_next, ticket_recall, ticket_skip
from smartclinic.scheduling.models import Department, Doctor
from smartclinic.visits import access, selectors, services
from smartclinic.visits.errors import InvalidTransfer, PriceItemUnavailable
from smartclinic.visits.forms import RecordForm, TransferForm, VisitLogFilterForm, picked_codes
from smartclinic.visits.models import Encounter
from smartclinic.visits.presenters import visit_summary_out
from smartclinic.visits.station import open_record, record_context, station_line, stream_url
from smartclinic.visits.visit_log import visit_log_csv, visit_log_filter, visit_log_rows

STAFF_LOGIN = "identity:staff_login"
StationView = Callable[..., HttpResponse]


def station_view(view: StationView) -> StationView:
    """Signed in as a doctor who may see patients; the view gets the actor and the doctor."""

    @wraps(view)
    @login_required(login_url=STAFF_LOGIN)
    @permission_required("visits.conduct_visit", raise_exception=True)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        actor = actor_from_request(request)
        try:
            doctor = access.station_doctor(actor=actor)
        except NotFound:
            return render(request, "visits/station_no_doctor.html", status=403)
        return view(request, actor, doctor, *args, **kwargs)

    return wrapper


def _back(anchor: str = "") -> HttpResponse:
    return redirect(reverse("visits:station") + (f"#{anchor}" if anchor else ""))


def _station_ticket(actor: Actor, ticket_id: UUID) -> Any:
    try:
        return access.access_station_ticket(actor=actor, public_id=ticket_id)
    except NotFound as exc:
        raise Http404 from exc


def _render_station(
    request: HttpRequest, actor: Actor, doctor: Doctor, *, form: RecordForm | None = None, status: int = 200
) -> HttpResponse:
    today = clock.today()
    line = station_line(doctor=doctor, date=today)
    context: dict[str, Any] = {"doctor": doctor, "today": today, "line": line, "stream_url": stream_url()}
    encounter = open_record(line=line)
    if encounter is not None:
        services.encounter_record_read(actor=actor, encounter=encounter)
        context.update(record_context(encounter))
        context["form"] = form or RecordForm(initial=_record_initial(encounter))
        context["diagnoses"] = _posted_diagnoses(form) if form is not None else context["record"]["diagnoses"]
    return render(request, "visits/station.html", context, status=status)


def _record_initial(encounter: Encounter) -> dict[str, Any]:
    return {
        "chief_complaint": encounter.chief_complaint,
        "history": encounter.history,
        "notes": encounter.notes,
        "advice": encounter.advice,
        "quantity": 1,
    }


def _posted_diagnoses(form: RecordForm) -> list[dict[str, Any]]:
    """The diagnoses the doctor had picked, to show them again with the form's errors."""
    codes = [code for code in picked_codes(form.data) if code.strip()]
    known = selectors.icd10_by_codes(codes=codes)
    primary = form.data.get("primary", "")
    shown = []
    for code in codes:
        row = known.get(code.strip().upper())
        if row is not None:
            shown.append({"code": row.code, "name_zh": row.name_zh, "name_en": row.name_en, "primary": code == primary})
    return shown


@station_view
def station(request: HttpRequest, actor: Actor, doctor: Doctor) -> HttpResponse:
    if request.GET.get("fragment") == "line":
        today = clock.today()
        context = {"doctor": doctor, "today": today, "line": station_line(doctor=doctor, date=today)}
        return render(request, "visits/_station_line.html", context)
    return _render_station(request, actor, doctor)


@require_POST
@station_view
def station_call_next(request: HttpRequest, actor: Actor, doctor: Doctor) -> HttpResponse:
    try:
        ticket = ticket_call_next(actor=actor, doctor=doctor, date=clock.today())
    except ApplicationError as exc:
        messages.error(request, str(exc.detail))
    else:
        messages.success(request, _("Called %(code)s.") % {"code": ticket.code})
    return _back("now")


def _ticket_action(
    request: HttpRequest, actor: Actor, ticket_id: UUID, action: Callable[[Any], Any], done: str
) -> HttpResponse:
    ticket = _station_ticket(actor, ticket_id)
    try:
        action(ticket)
    except ApplicationError as exc:
        messages.error(request, str(exc.detail))
    else:
        messages.success(request, done % {"code": ticket.code})
    return _back("now")


@require_POST
@station_view
def station_recall(request: HttpRequest, actor: Actor, doctor: Doctor, ticket_id: UUID) -> HttpResponse:
    return _ticket_action(
        request, actor, ticket_id, lambda t: ticket_recall(actor=actor, ticket=t), _("Called %(code)s again.")
    )


@require_POST
@station_view
def station_skip(request: HttpRequest, actor: Actor, doctor: Doctor, ticket_id: UUID) -> HttpResponse:
    return _ticket_action(
        request,
        actor,
        ticket_id,
        lambda t: ticket_skip(actor=actor, ticket=t),
        _("%(code)s did not answer and was skipped; the nurse can put them back in line."),
    )


@require_POST
@station_view
def station_start(request: HttpRequest, actor: Actor, doctor: Doctor, ticket_id: UUID) -> HttpResponse:
    ticket = _station_ticket(actor, ticket_id)
    try:
        services.encounter_start(actor=actor, ticket=ticket)
    except ApplicationError as exc:
        messages.error(request, str(exc.detail))
        return _back("now")
    return _back("record")


@require_POST
@station_view
def station_transfer(request: HttpRequest, actor: Actor, doctor: Doctor, ticket_id: UUID) -> HttpResponse:
    ticket = _station_ticket(actor, ticket_id)
    form = TransferForm(request.POST)
    to_doctor = Doctor.objects.filter(public_id=form.cleaned_data["to_doctor"]).first() if form.is_valid() else None
    try:
        if to_doctor is None:
            raise InvalidTransfer()
        services.ticket_transfer_to_colleague(actor=actor, ticket=ticket, to_doctor=to_doctor, date=clock.today())
    except ApplicationError as exc:
        messages.error(request, str(exc.detail))
    else:
        messages.success(
            request, _("%(code)s was transferred to %(doctor)s.") % {"code": ticket.code, "doctor": to_doctor.name}
        )
    return _back("line")


@require_POST
@station_view
def station_record(request: HttpRequest, actor: Actor, doctor: Doctor, ticket_id: UUID) -> HttpResponse:
    """The record form: save it, then do what the button asked (add or remove an order line,
    send the orders to the patient, finish the visit)."""
    ticket = _station_ticket(actor, ticket_id)
    encounter = selectors.encounter_of_ticket(ticket=ticket)
    if encounter is None:
        raise Http404
    form = RecordForm(request.POST)
    if not form.is_valid():
        return _render_station(request, actor, doctor, form=form, status=422)
    data = form.cleaned_data
    try:
        services.encounter_record_update(
            actor=actor,
            encounter=encounter,
            chief_complaint=data["chief_complaint"],
            history=data["history"],
            notes=data["notes"],
            advice=data["advice"],
            diagnoses=data["diagnoses"],
        )
    except ApplicationError as exc:
        form.add_error(None, str(exc.detail))
        return _render_station(request, actor, doctor, form=form, status=422)
    action = request.POST.get("action", "save")
    try:
        return _record_action(request, actor, encounter, action, data)
    except ApplicationError as exc:
        messages.error(request, str(exc.detail))
        return _back("record")


def _record_action(
    request: HttpRequest, actor: Actor, encounter: Encounter, action: str, data: dict[str, Any]
) -> HttpResponse:
    if action == "add_order":
        item = selectors.price_item_by_code(code=data["item"] or "")
        if item is None:
            raise PriceItemUnavailable()
        services.encounter_order_add(actor=actor, encounter=encounter, price_item=item, quantity=data["quantity"] or 1)
        return _back("orders")
    if action.startswith("remove_order:"):
        try:
            line = access.access_encounter_order(encounter=encounter, public_id=UUID(action.partition(":")[2]))
        except ValueError as exc:
            raise Http404 from exc
        services.encounter_order_remove(actor=actor, order=line)
        return _back("orders")
    if action == "send_orders":
        if services.encounter_orders_send(actor=actor, encounter=encounter) is not None:
            messages.success(request, _("The orders were sent to the patient's phone for payment."))
        return _back("orders")
    if action == "finish":
        finished = services.encounter_finish(actor=actor, encounter=encounter)
        messages.success(
            request,
            _("Visit of %(code)s finished; the patient has their visit summary.") % {"code": finished.ticket.code},
        )
        return _back("now")
    messages.success(request, _("Record saved."))
    return _back("record")


@station_view
def station_visit(request: HttpRequest, actor: Actor, doctor: Doctor, encounter_id: UUID) -> HttpResponse:
    """A visit of the doctor's own queue, read-only once finished (the read is audited)."""
    try:
        encounter = access.access_station_encounter_by_id(actor=actor, public_id=encounter_id)
    except NotFound as exc:
        raise Http404 from exc
    services.encounter_record_read(actor=actor, encounter=encounter)
    return render(request, "visits/station_visit.html", {"doctor": doctor, **record_context(encounter)})


# --- the patient's visits ----------------------------------------------------------------------


@login_required
def my_visits(request: HttpRequest) -> HttpResponse:
    assert request.user.is_authenticated
    visits = [visit_summary_out(e) for e in selectors.encounter_list_for_account(user_id=request.user.pk)[:100]]
    return render(request, "visits/my_visits.html", {"visits": visits})


@login_required
def visit_summary(request: HttpRequest, encounter_id: UUID) -> HttpResponse:
    try:
        encounter = access.access_own_visit(actor=actor_from_request(request), public_id=encounter_id)
    except NotFound as exc:
        raise Http404 from exc
    visit = visit_summary_out(encounter)
    return render(request, "visits/summary.html", {"visit": visit, "pay_links": _pay_links(visit["billing_order_ids"])})


def _pay_links(order_ids: list[str]) -> list[str]:
    """Billing's page of each order the visit's lines were sent in (where the patient pays)."""
    try:
        return [reverse("billing:order", args=[order_id]) for order_id in order_ids]
    except NoReverseMatch:
        return []


# --- the clinic's day list ----------------------------------------------------------------------


def _log_form(request: HttpRequest) -> tuple[VisitLogFilterForm, Any]:
    departments = [(d.code, d.name) for d in Department.objects.filter(active=True).order_by("sort_order", "code")]
    doctors = [(str(d.public_id), d.name) for d in Doctor.objects.filter(active=True).order_by("name")]
    form = VisitLogFilterForm(request.GET or None, departments=departments, doctors=doctors)
    data = form.cleaned_data if form.is_valid() else {}
    filters = visit_log_filter(
        date=data.get("date"),
        department=data.get("department") or None,
        doctor=data.get("doctor"),
        status=data.get("status") or None,
        code=data.get("code") or None,
    )
    return form, filters


@login_required(login_url=STAFF_LOGIN)
@permission_required("visits.view_encounter", raise_exception=True)
def visit_log_page(request: HttpRequest) -> HttpResponse:
    form, filters = _log_form(request)
    rows = visit_log_rows(filters)
    services.visit_log_read_record(
        actor=actor_from_request(request), date=filters.date, filters=filters.as_audit(), rows=len(rows), exported=False
    )
    query = urlencode({k: v for k, v in request.GET.items() if k in form.fields and v})
    context = {
        "form": form,
        "filters": filters,
        "rows": rows,
        "closed": sum(1 for row in rows if row["status"] == "closed"),
        "export_url": reverse("visits:visit_log_export") + (f"?{query}" if query else ""),
    }
    return render(request, "visits/visit_log.html", context)


@login_required(login_url=STAFF_LOGIN)
@permission_required("visits.export_visit_log", raise_exception=True)
def visit_log_export(request: HttpRequest) -> HttpResponse:
    _form, filters = _log_form(request)
    rows = visit_log_rows(filters)
    services.visit_log_read_record(
        actor=actor_from_request(request), date=filters.date, filters=filters.as_audit(), rows=len(rows), exported=True
    )
    return visit_log_csv(rows=rows, date=filters.date)
