"""Refunds and their own states: requested → (processing →) succeeded, or failed → retried.

- campus card: credited in the transaction that requests the refund (succeeded at once);
- WeChat Pay: submitted by the ``billing.refunds`` job (and retried by it with backoff until the
  provider answers), always under the same ``out_refund_no`` so WeChat Pay treats retries as one
  refund; a refund the provider closes or cannot pay out stops retrying and waits for the cashier;
- cash, bank card, insurance: requested, and completed by the cashier who hands the money back.
"""

from __future__ import annotations

import datetime as dt
import logging
import secrets
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F, Q

from smartclinic.audit.services import audit_record
from smartclinic.billing.cards import card_credit_for_refund
from smartclinic.billing.choices import (
    COUNTER_REFUND_METHODS,
    OrderStatus,
    PaymentMethod,
    PaymentStatus,
    RefundStatus,
)
from smartclinic.billing.errors import ProviderError, RefundNotCompletable
from smartclinic.billing.events import RefundRequested, RefundSucceeded
from smartclinic.billing.models import Order, Payment, Refund
from smartclinic.billing.wechat import wechat_client
from smartclinic.core import clock
from smartclinic.core.actor import Actor
from smartclinic.outbox.services import outbox_publish

logger = logging.getLogger(__name__)

OPEN_STATUSES = (RefundStatus.REQUESTED, RefundStatus.PROCESSING, RefundStatus.FAILED)
CHECK_PROCESSING_AFTER = dt.timedelta(minutes=2)
SUBMIT_LEASE = dt.timedelta(minutes=2)


def new_out_refund_no() -> str:
    return f"RF{clock.local_now():%Y%m%d}{secrets.token_hex(8).upper()}"


def retry_delay(attempts: int) -> dt.timedelta:
    base = settings.BILLING_REFUND_RETRY_BASE_SECONDS * (2 ** max(attempts - 1, 0))
    return dt.timedelta(seconds=min(base, 3600))


def refund_request(*, actor: Actor, payment: Payment, reason: str) -> Refund:
    """Ask for ``payment`` back, in the caller's transaction. At most one refund per payment: a
    second request returns the first."""
    existing = Refund.objects.filter(payment=payment).first()
    if existing is not None:
        return existing
    now = clock.now()
    order = payment.order
    try:
        with transaction.atomic():
            if payment.status == PaymentStatus.APPLIED:
                Order.objects.filter(pk=order.pk, status=OrderStatus.PAID).update(
                    status=OrderStatus.REFUNDING, updated_at=now
                )
            refund = Refund.objects.create(
                payment=payment,
                order=order,
                method=payment.method,
                amount=payment.amount,
                reason=reason,
                out_refund_no=new_out_refund_no(),
                next_attempt_at=now if payment.method == PaymentMethod.WECHAT else None,
            )
    except IntegrityError:  # a concurrent request for the same payment won
        return Refund.objects.get(payment=payment)
    audit_record(
        actor=actor,
        action="billing.refund_requested",
        subject=refund,
        new={"order": order.public_id, "method": refund.method, "amount": refund.amount, "reason": reason},
    )
    outbox_publish(
        RefundRequested(
            refund_id=refund.public_id,
            order_id=order.public_id,
            member_id=order.member.public_id,
            method=refund.method,
            amount=refund.amount,
            reason=reason,
        )
    )
    if refund.method == PaymentMethod.CAMPUS_CARD:
        card_credit_for_refund(actor=actor, order=order, amount=refund.amount)
        refund_mark_succeeded(actor=actor, refund=refund)
    refund.refresh_from_db()
    return refund


def refund_mark_succeeded(*, actor: Actor, refund: Refund, provider_refund_id: str = "") -> bool:
    """The money is back with the payer. Applied once: a repeated success changes nothing."""
    now = clock.now()
    with transaction.atomic():
        changed = Refund.objects.filter(pk=refund.pk, status__in=OPEN_STATUSES).update(
            status=RefundStatus.SUCCEEDED,
            completed_at=now,
            completed_by=actor.user,
            next_attempt_at=None,
            last_error="",
            provider_refund_id=provider_refund_id or F("provider_refund_id"),
            updated_at=now,
        )
        if not changed:
            return False
        refund = Refund.objects.select_related("order__member", "payment").get(pk=refund.pk)
        if refund.payment.status == PaymentStatus.APPLIED:
            Order.objects.filter(pk=refund.order_id, status=OrderStatus.REFUNDING).update(
                status=OrderStatus.REFUNDED, updated_at=now
            )
        audit_record(
            actor=actor,
            action="billing.refund_succeeded",
            subject=refund,
            new={"status": RefundStatus.SUCCEEDED, "provider_refund_id": refund.provider_refund_id},
        )
        outbox_publish(
            RefundSucceeded(
                refund_id=refund.public_id,
                order_id=refund.order.public_id,
                member_id=refund.order.member.public_id,
                method=refund.method,
                amount=refund.amount,
            )
        )
    return True


def _mark_failed(*, actor: Actor, refund: Refund, error: str, retry: bool) -> None:
    now = clock.now()
    with transaction.atomic():
        refund.refresh_from_db()
        if refund.status == RefundStatus.SUCCEEDED:
            return
        Refund.objects.filter(pk=refund.pk).exclude(status=RefundStatus.SUCCEEDED).update(
            status=RefundStatus.FAILED,
            last_error=error[:2000],
            next_attempt_at=now + retry_delay(refund.attempts) if retry else None,
            updated_at=now,
        )
        audit_record(
            actor=actor,
            action="billing.refund_failed",
            subject=refund,
            old={"status": refund.status},
            new={"status": RefundStatus.FAILED, "error": error[:200], "retry": retry, "attempts": refund.attempts},
        )


def _mark_processing(*, actor: Actor, refund: Refund, provider_refund_id: str) -> None:
    now = clock.now()
    with transaction.atomic():
        changed = Refund.objects.filter(pk=refund.pk, status__in=(RefundStatus.REQUESTED, RefundStatus.FAILED)).update(
            status=RefundStatus.PROCESSING,
            provider_refund_id=provider_refund_id,
            submitted_at=now,
            next_attempt_at=now + CHECK_PROCESSING_AFTER,
            last_error="",
            updated_at=now,
        )
        if changed:
            audit_record(
                actor=actor,
                action="billing.refund_submitted",
                subject=refund,
                new={"status": RefundStatus.PROCESSING, "provider_refund_id": provider_refund_id},
            )


def refund_apply_provider_state(*, actor: Actor, refund: Refund, answer: dict[str, Any]) -> None:
    """WeChat Pay's view of a refund (an answer, a query, a notification) applied to ours."""
    state = str(answer.get("status") or answer.get("refund_status") or "")
    provider_id = str(answer.get("refund_id", ""))[:64]
    if state in {"SUCCESS", "PROCESSING", "CLOSED", "ABNORMAL"}:
        # WeChat Pay accepted it (the time its trade bill lists the refund under).
        accepted = _provider_time(str(answer.get("create_time", ""))) or clock.now()
        Refund.objects.filter(pk=refund.pk, submitted_at__isnull=True).update(submitted_at=accepted)
    if state == "SUCCESS":
        refund_mark_succeeded(actor=actor, refund=refund, provider_refund_id=provider_id)
    elif state == "PROCESSING":
        _mark_processing(actor=actor, refund=refund, provider_refund_id=provider_id)
    elif state in {"CLOSED", "ABNORMAL"}:
        # Retrying the same refund number cannot help: the cashier gives the money back instead.
        _mark_failed(actor=actor, refund=refund, error=f"WeChat Pay refund {state}", retry=False)
    else:
        _mark_failed(actor=actor, refund=refund, error=f"unexpected refund state {state[:30]!r}", retry=True)


def _provider_time(value: str) -> dt.datetime | None:
    try:
        moment = dt.datetime.fromisoformat(value) if value else None
    except ValueError:
        return None
    return moment if moment is not None and moment.tzinfo is not None else None


def refund_submit(*, actor: Actor, refund: Refund) -> Refund:
    """Send a WeChat refund (again). Claimed with a conditional update so two workers never send
    it at the same moment; sending it twice would still be one refund at WeChat Pay."""
    now = clock.now()
    claimed = (
        Refund.objects.filter(
            pk=refund.pk,
            method=PaymentMethod.WECHAT,
            status__in=(RefundStatus.REQUESTED, RefundStatus.FAILED),
        )
        .filter(Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now))
        .update(attempts=F("attempts") + 1, next_attempt_at=now + SUBMIT_LEASE, updated_at=now)
    )
    refund = Refund.objects.select_related("payment", "order").get(pk=refund.pk)
    if not claimed:
        return refund
    client = wechat_client()
    if client is None:
        _mark_failed(actor=actor, refund=refund, error="WeChat Pay is not configured", retry=True)
    else:
        try:
            answer = client.refund(
                out_refund_no=refund.out_refund_no,
                out_trade_no=refund.order.out_trade_no,
                transaction_id=refund.payment.provider_transaction_id or "",
                amount=refund.amount,
                total=refund.payment.amount,
                reason=refund.get_reason_display(),
            )
        except ProviderError as exc:
            _mark_failed(actor=actor, refund=refund, error=f"{exc.code} {exc.extra}", retry=True)
        else:
            refund_apply_provider_state(actor=actor, refund=refund, answer=answer)
    refund.refresh_from_db()
    return refund


def refund_check(*, actor: Actor, refund: Refund) -> Refund:
    """Ask WeChat Pay how a submitted refund went (when no notification came)."""
    client = wechat_client()
    if client is None or refund.status != RefundStatus.PROCESSING:
        return refund
    Refund.objects.filter(pk=refund.pk).update(next_attempt_at=clock.now() + CHECK_PROCESSING_AFTER)
    try:
        answer = client.query_refund(out_refund_no=refund.out_refund_no)
    except ProviderError as exc:
        logger.warning("refund %s: query failed: %s", refund.out_refund_no, exc.extra)
        return refund
    if answer is None:  # WeChat Pay never got it: send it again
        _mark_failed(actor=actor, refund=refund, error="unknown to WeChat Pay", retry=True)
    else:
        refund_apply_provider_state(actor=actor, refund=refund, answer=answer)
    refund.refresh_from_db()
    return refund


def refunds_process_due(*, actor: Actor, limit: int = 50) -> int:
    """The job: send requested and failed WeChat refunds whose time has come, and check the ones
    WeChat Pay is processing. Nothing is ever dropped: a failure only moves the next attempt."""
    now = clock.now()
    due = list(
        Refund.objects.filter(method=PaymentMethod.WECHAT, status__in=OPEN_STATUSES, next_attempt_at__lte=now)
        .order_by("next_attempt_at")
        .values_list("pk", "status")[:limit]
    )
    for pk, status in due:
        refund = Refund.objects.get(pk=pk)
        if status == RefundStatus.PROCESSING:
            refund_check(actor=actor, refund=refund)
        else:
            refund_submit(actor=actor, refund=refund)
    return len(due)


def refund_complete_at_counter(*, actor: Actor, refund: Refund, reference: str = "") -> Refund:
    """The cashier handed the money back (cash, bank card reversal, insurance), or paid out a
    WeChat refund that WeChat Pay could not."""
    waiting = (refund.method in COUNTER_REFUND_METHODS and refund.status == RefundStatus.REQUESTED) or (
        refund.status == RefundStatus.FAILED and refund.next_attempt_at is None
    )
    if not waiting:
        raise RefundNotCompletable()
    with transaction.atomic():
        if not refund_mark_succeeded(actor=actor, refund=refund, provider_refund_id=reference[:64]):
            raise RefundNotCompletable()
        audit_record(
            actor=actor, action="billing.refund_completed_at_counter", subject=refund, new={"reference": reference}
        )
    refund.refresh_from_db()
    return refund
