from __future__ import annotations

import datetime as dt

from django.db.models import Prefetch, Q, QuerySet

from smartclinic.billing.choices import COUNTER_REFUND_METHODS, OrderStatus, RefundStatus
from smartclinic.billing.models import CardTransaction, Order, ReconciliationRun, Refund
from smartclinic.booking.choices import AppointmentStatus
from smartclinic.booking.models import Appointment
from smartclinic.identity.models import Member


def _orders() -> QuerySet[Order]:
    return Order.objects.select_related(
        "member", "dependant", "appointment", "appointment__department", "appointment__doctor", "appointment__slot"
    ).prefetch_related("lines", Prefetch("refunds", queryset=Refund.objects.order_by("-created_at")))


def order_list_for_member(*, member: Member) -> QuerySet[Order]:
    """The member's orders (registration and the doctor's orders), newest first."""
    return _orders().filter(member=member).order_by("-created_at")


def order_list_unpaid_for_member(*, member: Member) -> QuerySet[Order]:
    return _orders().filter(member=member, status=OrderStatus.PENDING).order_by("created_at")


def appointment_list_unpaid_for_member(*, member: Member, today: dt.date) -> QuerySet[Appointment]:
    """Booked, not yet paid appointments from today on (the cashier takes their fee)."""
    return (
        Appointment.objects.filter(member=member, status=AppointmentStatus.BOOKED, date__gte=today)
        .select_related("department", "doctor", "slot", "dependant")
        .order_by("date", "slot__starts_at")
    )


def card_statement(*, member: Member, limit: int = 50) -> list[CardTransaction]:
    return list(
        CardTransaction.objects.filter(account__member=member)
        .select_related("order")
        .order_by("-created_at", "-id")[:limit]
    )


def refund_list_awaiting_cashier(*, member: Member | None = None) -> QuerySet[Refund]:
    """Counter refunds to hand back, and WeChat refunds WeChat Pay could not pay out."""
    awaiting = Q(method__in=COUNTER_REFUND_METHODS, status=RefundStatus.REQUESTED) | Q(
        status=RefundStatus.FAILED, next_attempt_at__isnull=True
    )
    refunds = Refund.objects.filter(awaiting).select_related("order", "order__member").order_by("created_at")
    return refunds.filter(order__member=member) if member is not None else refunds


def refund_list_open() -> QuerySet[Refund]:
    return (
        Refund.objects.exclude(status=RefundStatus.SUCCEEDED)
        .select_related("order", "order__member")
        .order_by("created_at")
    )


def reconciliation_run_list(*, limit: int = 60) -> list[ReconciliationRun]:
    return list(ReconciliationRun.objects.select_related("created_by").order_by("-date", "-created_at")[:limit])


def reconciliation_run_detail(*, run: ReconciliationRun) -> ReconciliationRun:
    return ReconciliationRun.objects.prefetch_related("differences").select_related("created_by").get(pk=run.pk)


def order_detail(*, order_id: int) -> Order:
    """One order with everything its page and its API answer show."""
    return _orders().get(pk=order_id)
