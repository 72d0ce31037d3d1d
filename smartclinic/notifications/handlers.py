"""Which events make which message. Run by the outbox worker: a handler's message and deliveries
commit together with the outbox's delivery record, so redelivered events make no second message
(and the unique (recipient, source, kind) key stops twins of the same event).

Payload values arrive as strings (``"True"``, ``"None"``); ids are public ids. The recipient is
the member's bound account; a member without one gets nothing (logged)."""

from __future__ import annotations

import logging
from typing import Any

from django.urls import NoReverseMatch, reverse

from smartclinic.booking.choices import AppointmentSource, CancelReason
from smartclinic.booking.models import Appointment
from smartclinic.core.actor import Actor
from smartclinic.identity.models import Dependant, Member, User
from smartclinic.notifications import conf
from smartclinic.notifications.choices import MessageKind
from smartclinic.notifications.contexts import (
    Values,
    appointment_values,
    cancel_reason_text,
    load_appointment,
    load_doctor,
    load_order,
    load_ticket,
    local_date,
    local_time,
    local_when,
    no_show_policy,
    parse_moment,
    payment_method_label,
    payment_purpose_label,
    yuan,
)
from smartclinic.notifications.services import ContextBuilder, message_create
from smartclinic.outbox.registry import handles
from smartclinic.scheduling.models import Slot

logger = logging.getLogger(__name__)

Payload = dict[str, Any]


def _flag(value: Any) -> bool:
    return str(value).strip().lower() in {"true", "1", "yes"}


def _present(value: Any) -> bool:
    return value is not None and str(value) not in {"", "None"}


def recipient_of(member_id: Any) -> tuple[Member, User] | None:
    member = Member.objects.select_related("account").filter(public_id=member_id).first() if member_id else None
    if member is None:
        logger.warning("notification for unknown member %s dropped", member_id)
        return None
    if member.account is None:
        logger.info("member %s has no bound account: no message", member.public_id)
        return None
    return member, member.account


def appointment_link(appointment: Appointment | None) -> str:
    try:
        if appointment is None:
            return reverse("booking:appointments")
        return reverse("booking:appointment_detail", kwargs={"appointment_id": appointment.public_id})
    except NoReverseMatch:
        return ""


def order_link(order_id: Any) -> str:
    try:
        if _present(order_id):
            return reverse("billing:order", kwargs={"order_id": order_id})
        return reverse("billing:orders")
    except NoReverseMatch:
        return ""


def evaluation_link(encounter_id: Any) -> str:
    """The feedback app's page (built by path: that app comes later)."""
    return f"/visits/{encounter_id}/evaluate/"


def notify(
    *, member_id: Any, kind: str, source_key: str, context: ContextBuilder, link: str = "", user: User | None = None
) -> None:
    """Make the message for the member's account (``user`` when the caller already has it)."""
    if user is None:
        found = recipient_of(member_id)
        if found is None:
            return
        user = found[1]
    message_create(
        actor=Actor.system(reason="notifications"),
        recipient=user,
        kind=kind,
        source_key=source_key,
        context=context,
        link=link,
    )


def _appointment_or_log(public_id: Any, event: str) -> Appointment | None:
    appointment = load_appointment(public_id)
    if appointment is None:
        logger.warning("%s: appointment %s not found, no message", event, public_id)
    return appointment


@handles("booking.appointment_booked", key="notifications.appointment_booked")
def on_appointment_booked(payload: Payload) -> None:
    appointment = _appointment_or_log(payload.get("appointment_id"), "appointment_booked")
    if appointment is None:
        return
    source = payload.get("source", "")
    if source == AppointmentSource.WAITLIST:
        return  # the waitlist offer's message tells them, with its deadline
    if appointment.rescheduled_from_id is not None and source != AppointmentSource.REBOOK:
        return  # the reschedule's message tells them
    notify(
        member_id=payload.get("member_id"),
        kind=MessageKind.BOOKING_CONFIRMED,
        source_key=f"appointment:{appointment.public_id}",
        context=lambda language: appointment_values(appointment, language),
        link=appointment_link(appointment),
    )


@handles("booking.appointment_cancelled", key="notifications.appointment_cancelled")
def on_appointment_cancelled(payload: Payload) -> None:
    reason = str(payload.get("reason") or "")
    if reason == CancelReason.RESCHEDULED:
        return
    appointment = _appointment_or_log(payload.get("appointment_id"), "appointment_cancelled")
    if appointment is None:
        return
    was_paid = _flag(payload.get("was_paid"))
    by_clinic = _flag(payload.get("by_clinic")) or reason not in {"", CancelReason.PATIENT}
    rebook_slot = (
        Slot.objects.filter(public_id=payload["rebook_slot_id"]).first()
        if _present(payload.get("rebook_slot_id"))
        else None
    )

    def values(language: str) -> Values:
        result = appointment_values(appointment, language) | {"was_paid": was_paid}
        if by_clinic:
            result["reason"] = cancel_reason_text(appointment, reason)
            result["rebook_time"] = local_when(rebook_slot.starts_at) if rebook_slot is not None else ""
        return result

    notify(
        member_id=payload.get("member_id"),
        kind=MessageKind.BOOKING_CANCELLED_BY_CLINIC if by_clinic else MessageKind.BOOKING_CANCELLED,
        source_key=f"appointment:{appointment.public_id}",
        context=values,
        link=appointment_link(appointment),
    )


@handles("booking.appointment_rescheduled", key="notifications.appointment_rescheduled")
def on_appointment_rescheduled(payload: Payload) -> None:
    new = _appointment_or_log(payload.get("new_appointment_id"), "appointment_rescheduled")
    old = load_appointment(payload.get("old_appointment_id"))
    if new is None:
        return

    def values(language: str) -> Values:
        result = appointment_values(new, language)
        result["old_date"] = local_date(old.slot.starts_at) if old is not None else ""
        result["old_time"] = local_time(old.slot.starts_at) if old is not None else ""
        return result

    notify(
        member_id=payload.get("member_id"),
        kind=MessageKind.BOOKING_RESCHEDULED,
        source_key=f"appointment:{new.public_id}",
        context=values,
        link=appointment_link(new),
    )


@handles("booking.waitlist_offered", key="notifications.waitlist_offered")
def on_waitlist_offered(payload: Payload) -> None:
    appointment = _appointment_or_log(payload.get("appointment_id"), "waitlist_offered")
    if appointment is None:
        return
    confirm_by = parse_moment(str(payload.get("confirm_by") or "")) or appointment.hold_expires_at

    def values(language: str) -> Values:
        return appointment_values(appointment, language) | {
            "confirm_by": local_when(confirm_by) if confirm_by is not None else ""
        }

    notify(
        member_id=payload.get("member_id"),
        kind=MessageKind.WAITLIST_OFFERED,
        source_key=f"waitlist:{payload.get('entry_id')}:{appointment.public_id}",
        context=values,
        link=appointment_link(appointment),
    )


@handles("booking.no_show_recorded", key="notifications.no_show_recorded")
def on_no_show_recorded(payload: Payload) -> None:
    appointment = _appointment_or_log(payload.get("appointment_id"), "no_show_recorded")
    if appointment is None:
        return
    notify(
        member_id=payload.get("member_id"),
        kind=MessageKind.NO_SHOW_RECORDED,
        source_key=f"appointment:{appointment.public_id}",
        context=lambda language: appointment_values(appointment, language) | no_show_policy(),
        link=appointment_link(appointment),
    )


@handles("booking.booking_blocked", key="notifications.booking_blocked")
def on_booking_blocked(payload: Payload) -> None:
    found = recipient_of(payload.get("member_id"))
    if found is None:
        return
    member, user = found
    person_key = str(payload.get("person_key") or "")
    name = member.name
    if person_key.startswith("d:"):
        dependant = Dependant.objects.filter(pk=person_key[2:], owner=member).first()
        name = dependant.name if dependant is not None else name
    until_raw = str(payload.get("until") or "")
    until = parse_moment(until_raw)

    def values(language: str) -> Values:
        return {"patient_name": name, "until": local_when(until) if until is not None else until_raw}

    notify(
        member_id=member.public_id,
        user=user,
        kind=MessageKind.BOOKING_BLOCKED,
        source_key=f"block:{person_key}:{until_raw}",
        context=values,
        link=appointment_link(None),
    )


@handles("billing.order_paid", key="notifications.order_paid")
def on_order_paid(payload: Payload) -> None:
    found = recipient_of(payload.get("member_id"))
    if found is None:
        return
    member, user = found
    appointment = load_appointment(payload.get("appointment_id"))
    amount = yuan(payload.get("amount") or 0)

    def values(language: str) -> Values:
        result: Values = appointment_values(appointment, language) if appointment is not None else {}
        result.setdefault("patient_name", member.name)
        return result | {
            "amount": amount,
            "method": payment_method_label(str(payload.get("method") or "")),
            "purpose": payment_purpose_label(str(payload.get("kind") or "")),
            "has_appointment": appointment is not None,
        }

    notify(
        member_id=member.public_id,
        user=user,
        kind=MessageKind.PAYMENT_RECEIVED,
        source_key=f"order:{payload.get('order_id')}",
        context=values,
        link=appointment_link(appointment) if appointment is not None else order_link(payload.get("order_id")),
    )


@handles("visits.orders_sent", key="notifications.orders_sent")
def on_orders_sent(payload: Payload) -> None:
    """The doctor's orders became a billing order the patient can pay from the phone. The text
    names no test or medicine (it may travel over WeChat): the order page shows them."""
    found = recipient_of(payload.get("member_id"))
    if found is None:
        return
    member, user = found
    order = load_order(payload.get("order_id"))
    amount = yuan(order.amount) if order is not None else ""
    notify(
        member_id=member.public_id,
        user=user,
        kind=MessageKind.ORDERS_TO_PAY,
        source_key=f"order:{payload.get('order_id')}",
        context=lambda language: {"patient_name": member.name, "amount": amount},
        link=order_link(payload.get("order_id")),
    )


@handles("billing.refund_succeeded", key="notifications.refund_succeeded")
def on_refund_succeeded(payload: Payload) -> None:
    amount = yuan(payload.get("amount") or 0)
    found = recipient_of(payload.get("member_id"))
    if found is None:
        return
    member, user = found
    notify(
        member_id=member.public_id,
        user=user,
        kind=MessageKind.REFUND_SUCCEEDED,
        source_key=f"refund:{payload.get('refund_id')}",
        context=lambda language: {"patient_name": member.name, "amount": amount},
        link=order_link(None),
    )


@handles("queueing.ticket_issued", key="notifications.ticket_issued")
def on_ticket_issued(payload: Payload) -> None:
    ticket = load_ticket(payload.get("ticket_id"))
    if ticket is None:
        logger.warning("ticket_issued: ticket %s not found, no message", payload.get("ticket_id"))
        return
    code = str(payload.get("code") or ticket.code)
    notify(
        member_id=payload.get("member_id"),
        kind=MessageKind.TICKET_ISSUED,
        source_key=f"ticket:{ticket.public_id}",
        context=lambda language: appointment_values(ticket.appointment, language) | {"code": code},
        link=appointment_link(ticket.appointment),
    )


def _ticket_room(ticket: Any, given: Any = None) -> str:
    if _present(given):
        return str(given)
    return str(ticket.session.room or ticket.doctor.room or "")


@handles("queueing.turn_near", key="notifications.turn_near")
def on_turn_near(payload: Payload) -> None:
    ticket = load_ticket(payload.get("ticket_id"))
    if ticket is None:
        return
    ahead = int(payload.get("ahead") or 0)

    def values(language: str) -> Values:
        return appointment_values(ticket.appointment, language) | {
            "code": ticket.code,
            "ahead": ahead,
            "room": _ticket_room(ticket),
        }

    notify(
        member_id=payload.get("member_id"),
        kind=MessageKind.TURN_NEAR,
        source_key=f"ticket:{ticket.public_id}:ahead:{ahead}",
        context=values,
        link=appointment_link(ticket.appointment),
    )


@handles("queueing.ticket_called", key="notifications.ticket_called")
def on_ticket_called(payload: Payload) -> None:
    ticket = load_ticket(payload.get("ticket_id"))
    if ticket is None:
        return
    room = _ticket_room(ticket, payload.get("room"))

    def values(language: str) -> Values:
        return appointment_values(ticket.appointment, language) | {"code": ticket.code, "room": room}

    notify(
        member_id=payload.get("member_id"),
        kind=MessageKind.TICKET_CALLED,
        # A recall (叫号重呼) is a new call: the ticket's call count tells them apart.
        source_key=f"ticket:{ticket.public_id}:call:{ticket.call_count}",
        context=values,
        link=appointment_link(ticket.appointment),
    )


@handles("visits.visit_finished", key="notifications.visit_finished")
def on_visit_finished(payload: Payload) -> None:
    appointment = load_appointment(payload.get("appointment_id"))
    doctor = load_doctor(payload.get("doctor_id"))
    link = evaluation_link(payload.get("encounter_id"))
    found = recipient_of(payload.get("member_id"))
    if found is None:
        return
    member, user = found

    def values(language: str) -> Values:
        result: Values = appointment_values(appointment, language) if appointment is not None else {}
        result.setdefault("patient_name", member.name)
        if doctor is not None:
            result["doctor"] = doctor.name
        result.setdefault("department", "")
        result.setdefault("doctor", "")
        return result | {"evaluation_url": conf.absolute_url(link)}

    notify(
        member_id=member.public_id,
        user=user,
        kind=MessageKind.VISIT_SUMMARY,
        source_key=f"encounter:{payload.get('encounter_id')}",
        context=values,
        link=link,
    )
