"""Billing's reactions to booking's events (delivered by the outbox worker, each handler's effect
committed with its delivery record, so a redelivered event changes nothing more)."""

from __future__ import annotations

import logging
from typing import Any

from smartclinic.audit.services import audit_record
from smartclinic.billing.choices import OrderStatus, RefundReason
from smartclinic.billing.errors import AppointmentNotPayable
from smartclinic.billing.models import Order
from smartclinic.billing.services import order_cancel, order_for_appointment, order_refund
from smartclinic.booking.choices import AppointmentStatus, CancelReason
from smartclinic.booking.models import Appointment
from smartclinic.core.actor import Actor
from smartclinic.outbox.registry import handles

logger = logging.getLogger(__name__)

MAX_RESCHEDULE_CHAIN = 20


@handles("booking.appointment_booked")
def open_registration_order(payload: dict[str, Any]) -> None:
    """Every new appointment gets its order; a fully discounted one is paid (``free``) at once."""
    appointment = Appointment.objects.filter(public_id=payload["appointment_id"]).first()
    if appointment is None or appointment.status != AppointmentStatus.BOOKED:
        return  # cancelled meanwhile, or a rescheduled appointment that keeps its payment
    try:
        order_for_appointment(actor=Actor.system(reason="billing_order"), appointment=appointment)
    except AppointmentNotPayable:
        return


def registration_order_of(appointment: Appointment) -> Order | None:
    """The appointment's order, or — for an appointment that was rescheduled while paid and whose
    order has not moved yet — the paid order of the appointment it replaced."""
    order = Order.objects.filter(appointment=appointment).first()
    current = appointment
    for _ in range(MAX_RESCHEDULE_CHAIN):
        if order is not None or current.rescheduled_from_id is None:
            break
        previous = Appointment.objects.get(pk=current.rescheduled_from_id)
        if previous.cancel_reason != CancelReason.RESCHEDULED:
            break
        order = Order.objects.filter(appointment=previous, status=OrderStatus.PAID).first()
        current = previous
    return order


@handles("booking.appointment_cancelled")
def refund_cancelled_appointment(payload: dict[str, Any]) -> None:
    """A paid appointment cancelled (by the patient before the cut-off, or by the clinic's
    suspension): its registration is refunded. An unpaid one's order is cancelled."""
    appointment = Appointment.objects.filter(public_id=payload["appointment_id"]).first()
    if appointment is None:
        return
    order = registration_order_of(appointment)
    if order is None:
        return
    actor = Actor.system(reason="appointment_cancelled")
    if payload.get("was_paid") == "True" or order.status == OrderStatus.PAID:
        by_clinic = payload.get("by_clinic") == "True"
        reason = RefundReason.SESSION_SUSPENDED if by_clinic else RefundReason.APPOINTMENT_CANCELLED
        order_refund(actor=actor, order=order, reason=reason)
    else:
        order_cancel(actor=actor, order=order)


@handles("booking.appointment_rescheduled")
def carry_order_to_rescheduled_appointment(payload: dict[str, Any]) -> None:
    """A paid appointment moved to a slot of the same fee keeps its payment: the order follows it.
    An unpaid one's order is cancelled (the new appointment gets its own)."""
    old = Appointment.objects.filter(public_id=payload["old_appointment_id"]).first()
    new = Appointment.objects.filter(public_id=payload["new_appointment_id"]).first()
    if old is None or new is None:
        return
    order = Order.objects.filter(appointment=old).first()
    if order is None:
        return
    actor = Actor.system(reason="appointment_rescheduled")
    if order.status == OrderStatus.PAID and new.status == AppointmentStatus.PAID:
        if Order.objects.filter(pk=order.pk, appointment=old).update(appointment=new):
            audit_record(
                actor=actor,
                action="billing.order_moved",
                subject=order,
                old={"appointment": old.public_id},
                new={"appointment": new.public_id},
            )
    elif order.status == OrderStatus.PENDING:
        order_cancel(actor=actor, order=order)
