"""Visits endpoints: start and finish a visit, read and write its record and orders (the doctor
of the ticket's queue only), the ICD-10 search and the price list, the patient's own visit
summaries, and the clinic's day list with its CSV export.

Calling, recalling, skipping and transferring are queueing's endpoints; the station page calls
those services directly."""

from __future__ import annotations

import datetime as dt
from typing import Any
from uuid import UUID

from django.http import HttpRequest, HttpResponse
from ninja import Router
from ninja.responses import Status

from smartclinic.identity.auth import request_actor, request_user, require_perm
from smartclinic.visits import access, selectors, services
from smartclinic.visits.errors import PriceItemUnavailable
from smartclinic.visits.presenters import (
    encounter_out,
    icd10_out,
    order_line_out,
    price_item_out,
    visit_summary_out,
)
from smartclinic.visits.schemas import (
    EncounterOut,
    EncounterPatchIn,
    Icd10Out,
    OrderLineIn,
    OrderLineOut,
    OrdersSentOut,
    PriceItemOut,
    VisitLogRowOut,
    VisitSummaryOut,
)
from smartclinic.visits.services import DiagnosisIn
from smartclinic.visits.visit_log import visit_log_csv, visit_log_filter, visit_log_rows

router = Router(tags=["visits"])


def _record(encounter: Any) -> dict[str, Any]:
    return encounter_out(encounter, latest_vitals=selectors.latest_vitals(ticket=encounter.ticket))


@router.post("/tickets/{ticket_id}/start", response={201: EncounterOut})
def ticket_start_api(request: HttpRequest, ticket_id: UUID) -> Status[dict[str, Any]]:
    """The called patient comes in: the ticket goes in-visit and the visit record opens (one
    transaction). Only the doctor whose queue holds the ticket."""
    actor = request_actor(request)
    ticket = access.access_station_ticket(actor=actor, public_id=ticket_id)
    return Status(201, _record(services.encounter_start(actor=actor, ticket=ticket)))


@router.post("/tickets/{ticket_id}/finish", response=EncounterOut)
def ticket_finish_api(request: HttpRequest, ticket_id: UUID) -> dict[str, Any]:
    """Close the visit: send the remaining orders to billing, close the ticket, complete the
    appointment and publish ``visits.visit_finished`` (one transaction). Needs a diagnosis."""
    actor = request_actor(request)
    encounter = access.access_station_encounter(actor=actor, ticket_public_id=ticket_id)
    return _record(services.encounter_finish(actor=actor, encounter=encounter))


@router.get("/tickets/{ticket_id}/encounter", response=EncounterOut)
def encounter_get_api(request: HttpRequest, ticket_id: UUID) -> dict[str, Any]:
    """The visit record of a ticket of one's own queue. Every read is audited."""
    actor = request_actor(request)
    encounter = access.access_station_encounter(actor=actor, ticket_public_id=ticket_id)
    services.encounter_record_read(actor=actor, encounter=encounter)
    return _record(encounter)


@router.patch("/tickets/{ticket_id}/encounter", response=EncounterOut)
def encounter_update_api(request: HttpRequest, ticket_id: UUID, payload: EncounterPatchIn) -> dict[str, Any]:
    actor = request_actor(request)
    encounter = access.access_station_encounter(actor=actor, ticket_public_id=ticket_id)
    updated = services.encounter_record_update(
        actor=actor,
        encounter=encounter,
        chief_complaint=payload.chief_complaint,
        history=payload.history,
        notes=payload.notes,
        advice=payload.advice,
        diagnoses=None
        if payload.diagnoses is None
        else [DiagnosisIn(code=d.code, primary=d.primary) for d in payload.diagnoses],
    )
    return _record(updated)


@router.post("/tickets/{ticket_id}/encounter/orders", response={201: OrderLineOut})
def encounter_order_add_api(request: HttpRequest, ticket_id: UUID, payload: OrderLineIn) -> Status[dict[str, Any]]:
    """Order a test, a medicine or a procedure of the price list (a draft until sent)."""
    actor = request_actor(request)
    encounter = access.access_station_encounter(actor=actor, ticket_public_id=ticket_id)
    item = selectors.price_item_by_code(code=payload.item)
    if item is None:
        raise PriceItemUnavailable()
    line = services.encounter_order_add(actor=actor, encounter=encounter, price_item=item, quantity=payload.quantity)
    return Status(201, order_line_out(line))


@router.delete("/tickets/{ticket_id}/encounter/orders/{uuid:order_id}", response={204: None})
def encounter_order_remove_api(request: HttpRequest, ticket_id: UUID, order_id: UUID) -> Status[None]:
    actor = request_actor(request)
    encounter = access.access_station_encounter(actor=actor, ticket_public_id=ticket_id)
    services.encounter_order_remove(
        actor=actor, order=access.access_encounter_order(encounter=encounter, public_id=order_id)
    )
    return Status(204, None)


@router.post("/tickets/{ticket_id}/encounter/orders/send", response=OrdersSentOut)
def encounter_orders_send_api(request: HttpRequest, ticket_id: UUID) -> dict[str, Any]:
    """Send the draft lines to the patient now, as one billing order they pay from the phone."""
    actor = request_actor(request)
    encounter = access.access_station_encounter(actor=actor, ticket_public_id=ticket_id)
    order_id = services.encounter_orders_send(actor=actor, encounter=encounter)
    refreshed = selectors.encounter_get(pk=encounter.pk)
    return {"billing_order_id": order_id, "orders": _record(refreshed)["orders"]}


@router.get("/icd10", response=list[Icd10Out])
def icd10_search_api(request: HttpRequest, q: str = "", limit: int = 20) -> list[dict[str, Any]]:
    """Search the clinic's ICD-10 table by code prefix, Chinese name or English name."""
    request_user(request)
    return [icd10_out(code) for code in selectors.icd10_search(query=q, limit=max(1, min(limit, 50)))]


@router.get("/price-items", auth=None, response=list[PriceItemOut])
def price_item_list_api(request: HttpRequest, kind: str | None = None) -> list[dict[str, Any]]:
    """The clinic's price list (prices are public, 价格公示)."""
    return [price_item_out(item) for item in selectors.price_item_list(kind=kind)]


@router.get("/me/visits", response=list[VisitSummaryOut])
def my_visit_list_api(request: HttpRequest) -> list[dict[str, Any]]:
    """The signed-in patient's finished visits (and their dependants'), newest first."""
    user = request_user(request)
    return [visit_summary_out(e) for e in selectors.encounter_list_for_account(user_id=user.pk)[:100]]


@router.get("/me/visits/{encounter_id}", response=VisitSummaryOut)
def my_visit_get_api(request: HttpRequest, encounter_id: UUID) -> dict[str, Any]:
    return visit_summary_out(access.access_own_visit(actor=request_actor(request), public_id=encounter_id))


@router.get("/visits", response=list[VisitLogRowOut])
def visit_log_api(
    request: HttpRequest,
    date: dt.date | None = None,
    department: str | None = None,
    doctor: UUID | None = None,
    status: str | None = None,
    code: str | None = None,
) -> list[dict[str, Any]]:
    """The clinic's visits of a day (doctors, nurses, managers): codes and statuses only."""
    user = request_user(request)
    require_perm(user, "visits.view_encounter")
    filters = visit_log_filter(date=date, department=department, doctor=doctor, status=status, code=code)
    rows = visit_log_rows(filters)
    services.visit_log_read_record(
        actor=request_actor(request), date=filters.date, filters=filters.as_audit(), rows=len(rows), exported=False
    )
    return rows


@router.get("/visits/export", response={200: None})
def visit_log_export_api(
    request: HttpRequest,
    date: dt.date | None = None,
    department: str | None = None,
    doctor: UUID | None = None,
    status: str | None = None,
    code: str | None = None,
) -> HttpResponse:
    """The same list as CSV (UTF-8 with BOM, opens in Excel)."""
    user = request_user(request)
    require_perm(user, "visits.export_visit_log")
    filters = visit_log_filter(date=date, department=department, doctor=doctor, status=status, code=code)
    rows = visit_log_rows(filters)
    services.visit_log_read_record(
        actor=request_actor(request), date=filters.date, filters=filters.as_audit(), rows=len(rows), exported=True
    )
    return visit_log_csv(rows=rows, date=filters.date)
