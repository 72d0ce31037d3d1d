"""Writes of the visits context: start and finish a visit, write its record (complaint,
history, diagnoses, notes, advice), order tests, medicines and procedures and hand them to
billing, and record who read a medical record.

Each write is one transaction with its audit entry and its outbox messages. Audit entries name
the fields that changed and the diagnosis codes, never the clinical free text; event payloads
carry ids only.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from django.db import transaction

from smartclinic.audit.services import audit_record
from smartclinic.booking.lifecycle import appointment_complete
from smartclinic.core import clock
from smartclinic.core.actor import Actor
from smartclinic.core.errors import PermissionDenied
from smartclinic.outbox.services import outbox_publish
from smartclinic.queueing.models import Ticket
from smartclinic.queueing.selectors import doctor_session_of_day
from smartclinic.queueing.services import ticket_finish, ticket_start, ticket_transfer
from smartclinic.scheduling.models import Doctor
from smartclinic.visits import billing_port, selectors
from smartclinic.visits.choices import (
    MAX_DIAGNOSES,
    MAX_ORDER_LINES,
    MAX_ORDER_QUANTITY,
    TEXT_LIMITS,
    EncounterStatus,
)
from smartclinic.visits.errors import (
    DiagnosisRequired,
    EncounterClosed,
    InvalidQuantity,
    InvalidTransfer,
    OrderAlreadySent,
    PriceItemUnavailable,
    RecordTooLong,
    TooManyDiagnoses,
    TooManyOrders,
    UnknownDiagnosis,
)
from smartclinic.visits.events import OrdersSent, VisitFinished
from smartclinic.visits.models import ClinicalOrder, Encounter, EncounterDiagnosis, Icd10Code, PriceItem


@dataclass(frozen=True)
class DiagnosisIn:
    code: str
    primary: bool = False


def _lock_open(encounter: Encounter) -> Encounter:
    """The encounter's row, locked until commit (PostgreSQL; SQLite serializes writers), and
    still open."""
    locked = (
        Encounter.objects.select_for_update(of=("self",))
        .select_related("ticket", "appointment", "member", "dependant")
        .get(pk=encounter.pk)
    )
    if locked.status != EncounterStatus.OPEN:
        raise EncounterClosed()
    return locked


# --- start, read, finish -----------------------------------------------------------------------


@transaction.atomic
def encounter_start(*, actor: Actor, ticket: Ticket) -> Encounter:
    """The called patient comes in: the ticket goes in-visit and the visit record opens."""
    ticket = ticket_start(actor=actor, ticket=ticket)
    ticket = Ticket.objects.select_related("session").get(pk=ticket.pk)
    where = doctor_session_of_day(ticket=ticket)
    encounter = Encounter.objects.create(
        ticket=ticket,
        appointment_id=ticket.appointment_id,
        member_id=ticket.member_id,
        dependant_id=ticket.dependant_id,
        doctor_id=ticket.doctor_id,
        department_id=where.department_id,
        date=ticket.session.date,
        started_at=ticket.started_at or clock.now(),
    )
    audit_record(actor=actor, action="visits.encounter_started", subject=encounter, new={"ticket": ticket.public_id})
    return selectors.encounter_get(pk=encounter.pk)


@transaction.atomic
def encounter_record_read(*, actor: Actor, encounter: Encounter) -> None:
    """Staff opened a medical record: every such read is in the audit log (DESIGN)."""
    audit_record(
        actor=actor,
        action="visits.record_read",
        subject=encounter,
        new={"member": encounter.member.public_id, "status": encounter.status},
    )


def _vitals_snapshot(ticket: Ticket) -> dict[str, Any]:
    vitals = selectors.latest_vitals(ticket=ticket)
    if vitals is None:
        return {}
    return {
        "temperature_c": str(vitals.temperature_c) if vitals.temperature_c is not None else None,
        "systolic_mmhg": vitals.systolic_mmhg,
        "diastolic_mmhg": vitals.diastolic_mmhg,
        "pulse_bpm": vitals.pulse_bpm,
        "weight_kg": str(vitals.weight_kg) if vitals.weight_kg is not None else None,
        "measured_at": vitals.created_at.isoformat(),
    }


@transaction.atomic
def encounter_finish(*, actor: Actor, encounter: Encounter) -> Encounter:
    """Close the visit: orders not yet sent go to billing, the nurse's latest vitals are copied
    into the record, the ticket is done, the appointment completed, and ``visits.visit_finished``
    tells the patient's summary (and the evaluation invitation) and the HIS export to go."""
    encounter = _lock_open(encounter)
    codes = list(encounter.diagnoses.order_by("position").values_list("code__code", flat=True))
    if not codes:
        raise DiagnosisRequired()
    _send_pending_orders(actor=actor, encounter=encounter)
    now = clock.now()
    closed = Encounter.objects.filter(pk=encounter.pk, status=EncounterStatus.OPEN).update(
        status=EncounterStatus.CLOSED,
        finished_at=now,
        vitals=_vitals_snapshot(encounter.ticket),
        updated_at=now,
    )
    if not closed:
        raise EncounterClosed()
    ticket_finish(actor=actor, ticket=encounter.ticket)
    appointment_complete(actor=actor, appointment=encounter.appointment)
    audit_record(
        actor=actor,
        action="visits.encounter_finished",
        subject=encounter,
        old={"status": EncounterStatus.OPEN},
        new={"status": EncounterStatus.CLOSED, "diagnoses": codes},
    )
    outbox_publish(
        VisitFinished(
            encounter_id=encounter.public_id,
            ticket_id=encounter.ticket.public_id,
            appointment_id=encounter.appointment.public_id,
            member_id=encounter.member.public_id,
            doctor_id=Doctor.objects.values_list("public_id", flat=True).get(pk=encounter.doctor_id),
        )
    )
    return selectors.encounter_get(pk=encounter.pk)


# --- the record ---------------------------------------------------------------------------------


def _clean_texts(encounter: Encounter, texts: dict[str, str | None]) -> list[str]:
    changed = []
    for field, value in texts.items():
        if value is None:
            continue
        value = value.strip()
        limit = TEXT_LIMITS[field]
        if len(value) > limit:
            label = getattr(Encounter._meta.get_field(field), "verbose_name", field)
            raise RecordTooLong(RecordTooLong.message % {"field": label, "limit": limit}, field=field, limit=limit)
        if getattr(encounter, field) != value:
            setattr(encounter, field, value)
            changed.append(field)
    return changed


def _resolve_diagnoses(diagnoses: Sequence[DiagnosisIn]) -> list[Icd10Code]:
    """The codes in order, the primary one first (the first given when none is marked)."""
    if len(diagnoses) > MAX_DIAGNOSES:
        raise TooManyDiagnoses(TooManyDiagnoses.message % {"limit": MAX_DIAGNOSES}, limit=MAX_DIAGNOSES)
    known = selectors.icd10_by_codes(codes=[d.code for d in diagnoses])
    resolved: list[Icd10Code] = []
    primary: Icd10Code | None = None
    for item in diagnoses:
        code = known.get(item.code.strip().upper())
        if code is None:
            shown = item.code.strip()[:20]
            raise UnknownDiagnosis(UnknownDiagnosis.message % {"code": shown}, code=shown)
        if code not in resolved:
            resolved.append(code)
        if item.primary and primary is None:
            primary = code
    if primary is not None:
        resolved.remove(primary)
        resolved.insert(0, primary)
    return resolved


def _set_diagnoses(encounter: Encounter, diagnoses: Sequence[DiagnosisIn]) -> tuple[list[str], list[str]]:
    wanted = _resolve_diagnoses(diagnoses)
    old = list(encounter.diagnoses.order_by("position").values_list("code__code", flat=True))
    new = [code.code for code in wanted]
    if old != new:
        EncounterDiagnosis.objects.filter(encounter=encounter).delete()
        EncounterDiagnosis.objects.bulk_create(
            EncounterDiagnosis(encounter=encounter, code=code, primary=position == 0, position=position)
            for position, code in enumerate(wanted)
        )
    return old, new


@transaction.atomic
def encounter_record_update(
    *,
    actor: Actor,
    encounter: Encounter,
    chief_complaint: str | None = None,
    history: str | None = None,
    notes: str | None = None,
    advice: str | None = None,
    diagnoses: Sequence[DiagnosisIn] | None = None,
) -> Encounter:
    """Write the record of an open visit. ``None`` leaves a part as it is; ``diagnoses``
    replaces the whole list (ICD-10 codes of the clinic's table, the primary one first)."""
    encounter = _lock_open(encounter)
    changed = _clean_texts(
        encounter, {"chief_complaint": chief_complaint, "history": history, "notes": notes, "advice": advice}
    )
    if changed:
        encounter.save(update_fields=[*changed, "updated_at"])
    old_codes, new_codes = _set_diagnoses(encounter, diagnoses) if diagnoses is not None else ([], [])
    if changed or old_codes != new_codes:
        old: dict[str, Any] = {}
        new: dict[str, Any] = {"fields": changed}
        if old_codes != new_codes:
            old["diagnoses"], new["diagnoses"] = old_codes, new_codes
        audit_record(actor=actor, action="visits.record_updated", subject=encounter, old=old, new=new)
    return selectors.encounter_get(pk=encounter.pk)


# --- orders -------------------------------------------------------------------------------------


@transaction.atomic
def encounter_order_add(*, actor: Actor, encounter: Encounter, price_item: PriceItem, quantity: int) -> ClinicalOrder:
    """A line from the price list, at today's price. It stays a draft until sent to billing."""
    if actor.user is None:
        raise PermissionDenied()
    encounter = _lock_open(encounter)
    if not price_item.active:
        raise PriceItemUnavailable()
    if not 1 <= quantity <= MAX_ORDER_QUANTITY:
        raise InvalidQuantity(InvalidQuantity.message % {"limit": MAX_ORDER_QUANTITY}, limit=MAX_ORDER_QUANTITY)
    if ClinicalOrder.objects.filter(encounter=encounter).count() >= MAX_ORDER_LINES:  # under the row lock
        raise TooManyOrders(TooManyOrders.message % {"limit": MAX_ORDER_LINES}, limit=MAX_ORDER_LINES)
    line = ClinicalOrder.objects.create(
        encounter=encounter,
        price_item=price_item,
        code=price_item.code,
        name=price_item.name,
        kind=price_item.kind,
        unit=price_item.unit,
        unit_price=price_item.unit_price,
        quantity=quantity,
        amount=price_item.unit_price * quantity,
        ordered_by=actor.user,
    )
    audit_record(
        actor=actor,
        action="visits.order_added",
        subject=encounter,
        new={"line": line.public_id, "code": line.code, "quantity": quantity, "amount": line.amount},
    )
    return line


@transaction.atomic
def encounter_order_remove(*, actor: Actor, order: ClinicalOrder) -> None:
    """Take back a line not yet sent to the patient."""
    encounter = _lock_open(order.encounter)
    deleted, _ = ClinicalOrder.objects.filter(pk=order.pk, billing_order_id__isnull=True).delete()
    if not deleted:
        raise OrderAlreadySent()
    audit_record(
        actor=actor,
        action="visits.order_removed",
        subject=encounter,
        old={"line": order.public_id, "code": order.code, "quantity": order.quantity},
    )


def _send_pending_orders(*, actor: Actor, encounter: Encounter) -> UUID | None:
    lines = list(ClinicalOrder.objects.filter(encounter=encounter, billing_order_id__isnull=True).order_by("id"))
    if not lines:
        return None
    order_id = billing_port.order_create_for_encounter(actor=actor, encounter=encounter, lines=lines)
    now = clock.now()
    ClinicalOrder.objects.filter(pk__in=[line.pk for line in lines], billing_order_id__isnull=True).update(
        billing_order_id=order_id, sent_at=now, updated_at=now
    )
    audit_record(
        actor=actor,
        action="visits.orders_sent",
        subject=encounter,
        new={
            "billing_order": order_id,
            "codes": [line.code for line in lines],
            "amount": sum(line.amount for line in lines),
        },
    )
    outbox_publish(
        OrdersSent(encounter_id=encounter.public_id, member_id=encounter.member.public_id, order_id=order_id)
    )
    return order_id


@transaction.atomic
def encounter_orders_send(*, actor: Actor, encounter: Encounter) -> UUID | None:
    """Send the draft lines to the patient now (they pay from the phone while the visit goes
    on); finishing the visit sends whatever is left. Returns billing's order id, or ``None`` when
    there was nothing to send."""
    return _send_pending_orders(actor=actor, encounter=_lock_open(encounter))


# --- the queue, from the station ----------------------------------------------------------------


def ticket_transfer_to_colleague(*, actor: Actor, ticket: Ticket, to_doctor: Doctor, date: dt.date) -> Ticket:
    """Queueing's transfer, limited to the doctors of the ticket's department seeing patients
    on ``date`` (the choice the station offers)."""
    if to_doctor.pk not in {doctor.pk for doctor in selectors.transfer_targets(ticket=ticket, date=date)}:
        raise InvalidTransfer()
    return ticket_transfer(actor=actor, ticket=ticket, to_doctor=to_doctor)


@transaction.atomic
def visit_log_read_record(*, actor: Actor, date: dt.date, filters: dict[str, Any], rows: int, exported: bool) -> None:
    """The day list shows who came for what (codes): its reads and exports are audited too."""
    audit_record(
        actor=actor,
        action="visits.visit_log_exported" if exported else "visits.visit_log_read",
        subject_type="visits.visitlog",
        subject_id=date.isoformat(),
        new={"filters": filters, "rows": rows},
    )
