"""Billing's writes: orders (registration and the doctor's orders), and applying a payment of any
method through one path, exactly once.

Exactly once, by construction: ``_apply_payment`` moves the order pending → paid with a
conditional update (a concurrent twin updates nothing and is told "already paid"), the payment
row carries a unique idempotency key (and a provider transaction id unique per method), and at
most one payment per order is ``applied`` (partial unique index). The registration's appointment
is marked paid and ``billing.order_paid`` is published in that same transaction.
"""

from __future__ import annotations

import datetime as dt
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from uuid import UUID

from django.db import IntegrityError, transaction

from smartclinic.audit.services import audit_record
from smartclinic.billing.cards import card_debit_for_order
from smartclinic.billing.choices import (
    CASHIER_METHODS,
    ONLINE_METHODS,
    LineKind,
    OrderKind,
    OrderStatus,
    PaymentMethod,
    PaymentStatus,
    RefundReason,
)
from smartclinic.billing.errors import (
    AppointmentNotPayable,
    InvalidOrderLines,
    MethodNotAllowed,
    OrderNotPayable,
)
from smartclinic.billing.events import OrderPaid
from smartclinic.billing.fees import quote_registration, quote_visit
from smartclinic.billing.models import Order, OrderLine, Payment, Refund
from smartclinic.billing.refunds import refund_request
from smartclinic.booking.choices import AppointmentStatus
from smartclinic.booking.errors import NotCancellable
from smartclinic.booking.lifecycle import appointment_mark_paid
from smartclinic.booking.models import Appointment
from smartclinic.core import clock
from smartclinic.core.actor import Actor
from smartclinic.identity.models import Dependant, Member
from smartclinic.outbox.services import outbox_publish

__all__ = [
    "OrderLineIn",
    "PaymentResult",
    "check_payable",
    "order_cancel",
    "order_create_for_visit",
    "order_for_appointment",
    "order_pay_at_cashier",
    "order_pay_with_card",
    "order_refund",
    "payment_apply_external",
]

MAX_LINES = 100


@dataclass(frozen=True)
class OrderLineIn:
    """One item of the doctor's orders (a test, a medicine, a procedure), priced in fen."""

    code: str
    name: str
    kind: str
    unit_price: int
    quantity: int


@dataclass(frozen=True)
class PaymentResult:
    payment: Payment
    applied: bool  # False: this exact payment had been applied before (a replay)

    @property
    def order(self) -> Order:
        return self.payment.order


def new_out_trade_no(kind: str) -> str:
    """Unique, 25 characters of [A-Z0-9] (WeChat Pay allows 6-32)."""
    prefix = "R" if kind == OrderKind.REGISTRATION else "V"
    return f"{prefix}{clock.local_now():%Y%m%d}{secrets.token_hex(8).upper()}"


# --- orders ----------------------------------------------------------------------------------------


def _registration_description(appointment: Appointment) -> str:
    return f"挂号费 {appointment.department.name} {appointment.date:%Y-%m-%d}"[:120]


def order_for_appointment(*, actor: Actor, appointment: Appointment) -> Order:
    """The appointment's registration order, made on first use at today's fee schedule. An order
    that comes to nothing (a fully discounted fee) is paid at once with method ``free``."""
    existing = Order.objects.filter(appointment=appointment).first()
    if existing is not None:
        return existing
    if appointment.status != AppointmentStatus.BOOKED:
        raise AppointmentNotPayable()
    appointment = Appointment.objects.select_related("member", "dependant", "department", "doctor").get(
        pk=appointment.pk
    )
    quote = quote_registration(appointment=appointment)
    try:
        with transaction.atomic():
            order = Order.objects.create(
                kind=OrderKind.REGISTRATION,
                appointment=appointment,
                member=appointment.member,
                dependant=appointment.dependant,
                description=_registration_description(appointment),
                list_amount=quote.list_amount,
                discount=quote.discount,
                amount=quote.amount,
                category_code=quote.category_code,
                out_trade_no=new_out_trade_no(OrderKind.REGISTRATION),
                created_by=actor.user,
            )
            audit_record(
                actor=actor,
                action="billing.order_created",
                subject=order,
                new={
                    "kind": order.kind,
                    "appointment": appointment.public_id,
                    "amount": order.amount,
                    "discount": order.discount,
                    "category": order.category_code,
                },
            )
            if order.amount == 0:
                _pay_free(actor=actor, order=order)
    except IntegrityError:  # made concurrently (the booking handler and the pay page)
        return Order.objects.get(appointment=appointment)
    order.refresh_from_db()
    return order


def _validate_lines(lines: Sequence[OrderLineIn]) -> None:
    if not lines or len(lines) > MAX_LINES:
        raise InvalidOrderLines(reason="count")
    for index, line in enumerate(lines):
        valid = (
            isinstance(line, OrderLineIn)
            and bool(line.code.strip())
            and bool(line.name.strip())
            and len(line.code) <= 40
            and len(line.name) <= 120
            and line.kind in LineKind.values
            and isinstance(line.unit_price, int)
            and isinstance(line.quantity, int)
            and 0 <= line.unit_price <= 10_000_000
            and 1 <= line.quantity <= 1000
        )
        if not valid:
            raise InvalidOrderLines(line=index)


@transaction.atomic
def order_create_for_visit(
    *,
    actor: Actor,
    member: Member,
    lines: Sequence[OrderLineIn],
    encounter_id: UUID,
    dependant: Dependant | None = None,
) -> Order:
    """诊间支付: the doctor's orders of one encounter become one order the patient pays from the
    phone (``POST /api/v1/orders/{id}/pay``) or at the cashier. Each call makes a new order."""
    _validate_lines(lines)
    if dependant is not None and dependant.owner_id != member.pk:
        raise InvalidOrderLines(reason="dependant")
    total = sum(line.unit_price * line.quantity for line in lines)
    quote = quote_visit(member=member, dependant=dependant, list_amount=total)
    order = Order.objects.create(
        kind=OrderKind.VISIT,
        encounter_id=encounter_id,
        member=member,
        dependant=dependant,
        description=("诊间费用 " + "、".join(line.name for line in lines[:3]))[:120],
        list_amount=quote.list_amount,
        discount=quote.discount,
        amount=quote.amount,
        category_code=quote.category_code,
        out_trade_no=new_out_trade_no(OrderKind.VISIT),
        created_by=actor.user,
    )
    OrderLine.objects.bulk_create(
        OrderLine(
            order=order,
            position=position,
            code=line.code.strip(),
            name=line.name.strip(),
            kind=line.kind,
            unit_price=line.unit_price,
            quantity=line.quantity,
            amount=line.unit_price * line.quantity,
        )
        for position, line in enumerate(lines, start=1)
    )
    audit_record(
        actor=actor,
        action="billing.order_created",
        subject=order,
        new={
            "kind": order.kind,
            "encounter": encounter_id,
            "lines": len(lines),
            "amount": order.amount,
            "discount": order.discount,
            "category": order.category_code,
        },
    )
    if order.amount == 0:
        _pay_free(actor=actor, order=order)
    order.refresh_from_db()
    return order


@transaction.atomic
def order_cancel(*, actor: Actor, order: Order) -> bool:
    """An unpaid order that is no longer wanted (its appointment was cancelled). A payment that
    still arrives for it is recorded as surplus and refunded."""
    changed = Order.objects.filter(pk=order.pk, status=OrderStatus.PENDING).update(
        status=OrderStatus.CANCELLED, updated_at=clock.now()
    )
    if changed:
        audit_record(
            actor=actor,
            action="billing.order_cancelled",
            subject=order,
            old={"status": OrderStatus.PENDING},
            new={"status": OrderStatus.CANCELLED},
        )
    return bool(changed)


# --- payments --------------------------------------------------------------------------------------


def _provider_time(value: str) -> dt.datetime | None:
    """The provider's RFC 3339 time of payment (``2026-11-26T10:00:00+08:00``), if it is one."""
    try:
        moment = dt.datetime.fromisoformat(value) if value else None
    except ValueError:
        return None
    return moment if moment is not None and moment.tzinfo is not None else None


def _claim_and_apply(
    *,
    actor: Actor,
    order: Order,
    method: str,
    amount: int,
    idempotency_key: str,
    provider_transaction_id: str | None,
    reference: str,
    paid_at_provider: str = "",
) -> Payment:
    now = clock.now()
    paid_at = _provider_time(paid_at_provider) or now
    claimed = Order.objects.filter(pk=order.pk, status=OrderStatus.PENDING).update(
        status=OrderStatus.PAID, paid_at=paid_at, paid_method=method, updated_at=now
    )
    if not claimed:
        current = Order.objects.values_list("status", flat=True).get(pk=order.pk)
        raise OrderNotPayable(status=current)
    if amount != order.amount:
        raise OrderNotPayable(reason="amount", expected=order.amount, received=amount)
    payment = Payment.objects.create(
        order=order,
        method=method,
        amount=amount,
        status=PaymentStatus.APPLIED,
        provider_transaction_id=provider_transaction_id or None,
        idempotency_key=idempotency_key,
        reference=reference[:64],
        paid_at=paid_at,
        recorded_by=actor.user,
    )
    if method == PaymentMethod.CAMPUS_CARD:
        card_debit_for_order(actor=actor, order=order)
    appointment_id = None
    if order.kind == OrderKind.REGISTRATION and order.appointment_id is not None:
        appointment = Appointment.objects.get(pk=order.appointment_id)
        appointment_mark_paid(actor=actor, appointment=appointment)
        appointment_id = appointment.public_id
    audit_record(
        actor=actor,
        action="billing.order_paid",
        subject=order,
        old={"status": OrderStatus.PENDING},
        new={
            "status": OrderStatus.PAID,
            "method": method,
            "amount": amount,
            "payment": payment.public_id,
            "provider_transaction_id": provider_transaction_id or "",
            "provider_paid_at": paid_at_provider,
        },
    )
    outbox_publish(
        OrderPaid(
            order_id=order.public_id,
            appointment_id=appointment_id,
            member_id=order.member.public_id,
            kind=order.kind,
            method=method,
            amount=amount,
        )
    )
    return payment


def _apply_payment(
    *,
    actor: Actor,
    order: Order,
    method: str,
    amount: int,
    idempotency_key: str,
    provider_transaction_id: str | None = None,
    reference: str = "",
    external: bool = False,
    paid_at_provider: str = "",
) -> PaymentResult:
    """The one path every method takes, inside the caller's transaction.

    ``external`` payments (WeChat Pay) were already taken from the payer: when the order can no
    longer be paid (paid by another method, cancelled, its appointment gone) the money is recorded
    as a ``surplus`` payment and refunded. Payments we take ourselves (card, counter, free) raise
    instead and change nothing."""
    previous = Payment.objects.select_related("order").filter(idempotency_key=idempotency_key).first()
    if previous is not None:
        return PaymentResult(payment=previous, applied=False)
    try:
        with transaction.atomic():
            payment = _claim_and_apply(
                actor=actor,
                order=order,
                method=method,
                amount=amount,
                idempotency_key=idempotency_key,
                provider_transaction_id=provider_transaction_id,
                reference=reference,
                paid_at_provider=paid_at_provider,
            )
    except IntegrityError:
        previous = Payment.objects.select_related("order").filter(idempotency_key=idempotency_key).first()
        if previous is not None:  # a concurrent twin committed this very payment first
            return PaymentResult(payment=previous, applied=False)
        raise
    except (OrderNotPayable, NotCancellable) as exc:
        if not external:
            if isinstance(exc, NotCancellable):
                raise AppointmentNotPayable() from exc
            raise
        return _record_surplus(
            actor=actor,
            order=order,
            method=method,
            amount=amount,
            idempotency_key=idempotency_key,
            provider_transaction_id=provider_transaction_id,
            paid_at_provider=paid_at_provider,
        )
    payment.order.refresh_from_db()
    return PaymentResult(payment=payment, applied=True)


def _record_surplus(
    *,
    actor: Actor,
    order: Order,
    method: str,
    amount: int,
    idempotency_key: str,
    provider_transaction_id: str | None,
    paid_at_provider: str = "",
) -> PaymentResult:
    now = clock.now()
    paid_at = _provider_time(paid_at_provider) or now
    try:
        with transaction.atomic():
            # An unpaid order whose appointment is gone will never be paid now.
            Order.objects.filter(pk=order.pk, status=OrderStatus.PENDING).update(
                status=OrderStatus.CANCELLED, updated_at=now
            )
            payment = Payment.objects.create(
                order=order,
                method=method,
                amount=amount,
                status=PaymentStatus.SURPLUS,
                provider_transaction_id=provider_transaction_id or None,
                idempotency_key=idempotency_key,
                paid_at=paid_at,
                recorded_by=actor.user,
            )
            audit_record(
                actor=actor,
                action="billing.payment_surplus",
                subject=order,
                new={"method": method, "amount": amount, "provider_transaction_id": provider_transaction_id or ""},
            )
            refund_request(actor=actor, payment=payment, reason=RefundReason.NOT_NEEDED)
    except IntegrityError:
        previous = Payment.objects.select_related("order").get(idempotency_key=idempotency_key)
        return PaymentResult(payment=previous, applied=False)
    payment.order.refresh_from_db()
    return PaymentResult(payment=payment, applied=True)


def _pay_free(*, actor: Actor, order: Order) -> PaymentResult:
    return _apply_payment(
        actor=actor, order=order, method=PaymentMethod.FREE, amount=0, idempotency_key=f"free:{order.public_id}"
    )


def check_payable(order: Order) -> None:
    if order.status != OrderStatus.PENDING:
        raise OrderNotPayable(status=order.status)
    if order.kind == OrderKind.REGISTRATION and order.appointment_id is not None:
        status = Appointment.objects.values_list("status", flat=True).get(pk=order.appointment_id)
        if status != AppointmentStatus.BOOKED:
            raise AppointmentNotPayable()


@transaction.atomic
def order_pay_with_card(*, actor: Actor, order: Order) -> PaymentResult:
    """Pay from the member's campus card: debited in the transaction that marks the order paid.
    Not enough balance → ``billing.insufficient_balance`` and nothing changes."""
    check_payable(order)
    if order.amount == 0:
        return _pay_free(actor=actor, order=order)
    return _apply_payment(
        actor=actor,
        order=order,
        method=PaymentMethod.CAMPUS_CARD,
        amount=order.amount,
        idempotency_key=f"campus_card:{order.public_id}",
    )


@transaction.atomic
def order_pay_at_cashier(*, actor: Actor, order: Order, method: str, reference: str = "") -> PaymentResult:
    """The cashier takes the payment on site (cash, bank card, insurance, or the campus card)."""
    if method not in CASHIER_METHODS:
        raise MethodNotAllowed(method=str(method)[:20])
    if method == PaymentMethod.CAMPUS_CARD:
        return order_pay_with_card(actor=actor, order=order)
    check_payable(order)
    if order.amount == 0:
        return _pay_free(actor=actor, order=order)
    return _apply_payment(
        actor=actor,
        order=order,
        method=method,
        amount=order.amount,
        idempotency_key=f"{method}:{order.public_id}",
        reference=reference,
    )


def payment_apply_external(
    *,
    actor: Actor,
    order: Order,
    method: str,
    amount: int,
    provider_transaction_id: str,
    paid_at_provider: str = "",
) -> PaymentResult:
    """A provider says the payer paid (a notification, or our query). Idempotent on the
    provider's transaction id; the caller runs it in the transaction that logs the notification."""
    if method not in ONLINE_METHODS or not provider_transaction_id:
        raise MethodNotAllowed(method=str(method)[:20])
    return _apply_payment(
        actor=actor,
        order=order,
        method=method,
        amount=amount,
        idempotency_key=f"{method}:{provider_transaction_id}",
        provider_transaction_id=provider_transaction_id,
        external=True,
        paid_at_provider=paid_at_provider,
    )


@transaction.atomic
def order_refund(*, actor: Actor, order: Order, reason: str) -> Refund | None:
    """Give a paid order's money back (its applied payment). A free order has nothing to give back:
    it is cancelled. Returns the refund, or ``None`` when there was nothing to refund."""
    order = Order.objects.select_related("member").get(pk=order.pk)
    payment = Payment.objects.filter(order=order, status=PaymentStatus.APPLIED).select_related("order").first()
    if payment is None:
        return None
    if payment.method == PaymentMethod.FREE:
        changed = Order.objects.filter(pk=order.pk, status=OrderStatus.PAID).update(
            status=OrderStatus.CANCELLED, updated_at=clock.now()
        )
        if changed:
            audit_record(
                actor=actor,
                action="billing.order_cancelled",
                subject=order,
                old={"status": OrderStatus.PAID},
                new={"status": OrderStatus.CANCELLED, "reason": reason},
            )
        return None
    return refund_request(actor=actor, payment=payment, reason=reason)
