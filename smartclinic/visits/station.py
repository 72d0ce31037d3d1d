"""What the doctor's station shows: the doctor's day in calling order, split by where each
patient is, and the open visit record. One place builds it for the page and its live fragment."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.urls import NoReverseMatch, reverse

from smartclinic.queueing.choices import Priority, TicketStatus
from smartclinic.queueing.models import Ticket
from smartclinic.scheduling.models import Doctor
from smartclinic.visits import selectors
from smartclinic.visits.choices import PriceItemKind
from smartclinic.visits.models import Encounter
from smartclinic.visits.presenters import encounter_out, patient_out, price_item_out


def _ticket_row(ticket: Ticket, *, encounter: Encounter | None, position: int | None = None) -> dict[str, Any]:
    slot = ticket.appointment.slot
    return {
        "id": ticket.public_id,
        "code": ticket.code,
        "status": ticket.status,
        "status_display": TicketStatus(ticket.status).label,
        "patient": patient_out(member=ticket.member, dependant=ticket.dependant, day=ticket.session.date),
        "slot_starts_at": slot.starts_at,
        "checked_in_at": ticket.checked_in_at,
        "called_at": ticket.called_at,
        "call_count": ticket.call_count,
        "late": ticket.late,
        "priority": ticket.priority,
        "priority_display": Priority(ticket.priority).label if ticket.priority else "",
        "priority_reason": ticket.priority_reason,
        "position": position,
        "encounter_id": encounter.public_id if encounter else None,
    }


def stream_url() -> str | None:
    """Queueing's stream of the signed-in doctor's queue, when this build has it."""
    try:
        return reverse("queueing:doctor_stream")
    except NoReverseMatch:
        return None


def station_line(*, doctor: Doctor, date: dt.date) -> dict[str, Any]:
    tickets = selectors.station_tickets(doctor=doctor, date=date)
    encounters = selectors.encounters_by_ticket(tickets=tickets)
    targets: dict[int, list[dict[str, Any]]] = {}
    by_status: dict[str, list[dict[str, Any]]] = {status: [] for status in TicketStatus.values}
    position = 0
    for ticket in tickets:
        if ticket.status == TicketStatus.ARRIVED:
            position += 1
        row = _ticket_row(
            ticket,
            encounter=encounters.get(ticket.pk),
            position=position if ticket.status == TicketStatus.ARRIVED else None,
        )
        if ticket.status in (TicketStatus.ARRIVED, TicketStatus.CALLED):
            department_id = ticket.session.department_id
            if department_id not in targets:
                targets[department_id] = [
                    {"id": d.public_id, "name": d.name, "title": d.get_title_display()}
                    for d in selectors.transfer_targets(ticket=ticket, date=date)
                ]
            row["transfer_targets"] = targets[department_id]
        by_status[ticket.status].append(row)
    return {
        "in_visit": by_status[TicketStatus.IN_VISIT],
        "called": by_status[TicketStatus.CALLED],
        "line": by_status[TicketStatus.ARRIVED],
        "not_arrived": by_status[TicketStatus.WAITING],
        "skipped": by_status[TicketStatus.SKIPPED],
        "done": by_status[TicketStatus.DONE],
        "can_call_next": bool(by_status[TicketStatus.ARRIVED]) and not by_status[TicketStatus.CALLED],
        "total": len(tickets),
    }


def open_record(*, line: dict[str, Any]) -> Encounter | None:
    """The encounter of the patient in the consulting room (the first, if several)."""
    for row in line["in_visit"]:
        if row["encounter_id"] is not None:
            return selectors.encounter_by_public_id(public_id=row["encounter_id"])
    return None


def record_context(encounter: Encounter) -> dict[str, Any]:
    record = encounter_out(encounter, latest_vitals=selectors.latest_vitals(ticket=encounter.ticket))
    items = [price_item_out(item) for item in selectors.price_item_list()]
    groups = [
        {"kind": kind.value, "label": kind.label, "items": [i for i in items if i["kind"] == kind.value]}
        for kind in PriceItemKind
    ]
    return {"record": record, "price_groups": groups}
