"""WeChat Pay in our terms: create the prepay order, accept the payment notification, query an
order that got no notification. Every path that finds a payment ends in the same
``payment_apply_external`` (exactly once, keyed by WeChat Pay's transaction id)."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.utils import timezone

from smartclinic.audit.services import audit_record
from smartclinic.billing.choices import NotificationOutcome, OrderStatus, PaymentMethod, PaymentStatus
from smartclinic.billing.errors import ProviderError, WechatOpenidRequired, WechatUnavailable
from smartclinic.billing.models import Order, Refund, WechatNotificationLog
from smartclinic.billing.refunds import refund_apply_provider_state
from smartclinic.billing.services import check_payable, payment_apply_external
from smartclinic.billing.wechat import (
    NotificationRejected,
    VerifiedNotification,
    WechatPayClient,
    WechatPayConfig,
    wechat_client,
)
from smartclinic.core import clock
from smartclinic.core.actor import Actor

logger = logging.getLogger(__name__)

PREPAY_REUSE_FOR = dt.timedelta(minutes=110)  # a prepay_id lives two hours
PREPAY_EXPIRES_AFTER = dt.timedelta(hours=2)
PAID_STATES = ("SUCCESS", "REFUND")  # REFUND: paid, then (partly) refunded
LOGGED_HEADERS = ("content-type", "user-agent", "request-id")
MAX_LOGGED_BODY = 16_000


def wechat_available() -> bool:
    return wechat_client() is not None


def _rfc3339(moment: dt.datetime) -> str:
    return timezone.localtime(moment).replace(microsecond=0).isoformat()


def order_prepay_wechat(*, actor: Actor, order: Order, openid: str | None) -> dict[str, Any]:
    """The JSAPI parameters the page hands to ``WeixinJSBridge`` (``getBrandWCPayRequest``). The
    prepay order is made once and reused while it is valid."""
    client = wechat_client()
    if client is None:
        raise WechatUnavailable()
    check_payable(order)
    if not openid:
        if not client.config.standin or actor.user is None:
            raise WechatOpenidRequired()
        openid = f"standin-{actor.user.public_id.hex[:24]}"
    now = clock.now()
    prepay_id = order.wechat_prepay_id
    if not prepay_id or order.wechat_prepay_at is None or now - order.wechat_prepay_at > PREPAY_REUSE_FOR:
        prepay_id = client.prepay_jsapi(
            out_trade_no=order.out_trade_no,
            description=order.description,
            amount=order.amount,
            openid=openid,
            time_expire=_rfc3339(now + PREPAY_EXPIRES_AFTER),
        )
        with transaction.atomic():
            Order.objects.filter(pk=order.pk).update(wechat_prepay_id=prepay_id, wechat_prepay_at=now, updated_at=now)
            audit_record(
                actor=actor, action="billing.wechat_prepay_created", subject=order, new={"prepay_id": prepay_id}
            )
    params: dict[str, Any] = dict(client.jsapi_params(prepay_id=prepay_id))
    return {"out_trade_no": order.out_trade_no, "standin": client.config.standin, "jsapi": params}


def _transaction_mismatch(*, order: Order, resource: Mapping[str, Any], config: WechatPayConfig) -> str:
    """Why a transaction WeChat Pay reports is not a payment of ``order`` ('' when it is)."""
    amount = resource.get("amount") or {}
    if resource.get("mchid") != config.mchid:
        return f"mchid {str(resource.get('mchid'))[:20]!r} is not ours"
    if resource.get("appid") != config.appid:
        return f"appid {str(resource.get('appid'))[:32]!r} is not ours"
    if resource.get("out_trade_no") != order.out_trade_no:
        return "out_trade_no differs"
    if not isinstance(amount, Mapping) or amount.get("total") != order.amount:
        total = amount.get("total") if isinstance(amount, Mapping) else None
        return f"amount {total!r} differs from the order's {order.amount}"
    if amount.get("currency", "CNY") != "CNY":
        return "currency is not CNY"
    if not resource.get("transaction_id"):
        return "no transaction_id"
    return ""


@dataclass(frozen=True)
class Applied:
    outcome: str
    detail: str = ""


def _apply_transaction(*, actor: Actor, resource: Mapping[str, Any], config: WechatPayConfig) -> Applied:
    out_trade_no = str(resource.get("out_trade_no", ""))
    order = Order.objects.select_related("member").filter(out_trade_no=out_trade_no).first()
    if order is None:
        return Applied(NotificationOutcome.UNKNOWN_ORDER, f"no order {out_trade_no[:32]!r}")
    if resource.get("trade_state") not in PAID_STATES:
        return Applied(NotificationOutcome.IGNORED, f"trade_state {str(resource.get('trade_state'))[:20]!r}")
    mismatch = _transaction_mismatch(order=order, resource=resource, config=config)
    if mismatch:
        logger.error("WeChat Pay transaction for %s does not match the order: %s", out_trade_no, mismatch)
        return Applied(NotificationOutcome.MISMATCH, mismatch)
    result = payment_apply_external(
        actor=actor,
        order=order,
        method=PaymentMethod.WECHAT,
        amount=order.amount,
        provider_transaction_id=str(resource["transaction_id"])[:64],
        paid_at_provider=str(resource.get("success_time", "")),
    )
    if not result.applied:
        return Applied(NotificationOutcome.DUPLICATE)
    if result.payment.status == PaymentStatus.SURPLUS:
        return Applied(NotificationOutcome.SURPLUS, f"order was {order.status}")
    return Applied(NotificationOutcome.APPLIED)


def _apply_refund(*, actor: Actor, resource: Mapping[str, Any], config: WechatPayConfig) -> Applied:
    out_refund_no = str(resource.get("out_refund_no", ""))
    refund = Refund.objects.select_related("order").filter(out_refund_no=out_refund_no).first()
    if refund is None:
        return Applied(NotificationOutcome.UNKNOWN_ORDER, f"no refund {out_refund_no[:40]!r}")
    amount = resource.get("amount") or {}
    if resource.get("mchid") != config.mchid:
        return Applied(NotificationOutcome.MISMATCH, "mchid is not ours")
    if resource.get("out_trade_no") != refund.order.out_trade_no:
        return Applied(NotificationOutcome.MISMATCH, "out_trade_no differs")
    if not isinstance(amount, Mapping) or amount.get("refund") != refund.amount:
        return Applied(NotificationOutcome.MISMATCH, "refund amount differs")
    before = refund.status
    refund_apply_provider_state(actor=actor, refund=refund, answer=dict(resource))
    refund.refresh_from_db()
    if refund.status == before:
        return Applied(NotificationOutcome.DUPLICATE)
    return Applied(NotificationOutcome.REFUND_UPDATED, f"{before} → {refund.status}")


def _log(
    *,
    headers: Mapping[str, str],
    body: bytes,
    remote_addr: str,
    outcome: str,
    detail: str = "",
    verified: bool = False,
    notification: VerifiedNotification | None = None,
) -> WechatNotificationLog:
    resource = notification.resource if notification is not None else {}
    return WechatNotificationLog.objects.create(
        headers={
            name: str(value)[:500]
            for name, value in headers.items()
            if name.lower().startswith("wechatpay-") or name.lower() in LOGGED_HEADERS
        },
        body=body[:MAX_LOGGED_BODY].decode("utf-8", errors="replace"),
        remote_addr=remote_addr[:64],
        verified=verified,
        notification_id=notification.id if notification else "",
        event_type=notification.event_type if notification else "",
        out_trade_no=str(resource.get("out_trade_no", ""))[:32],
        transaction_id=str(resource.get("transaction_id", ""))[:64],
        out_refund_no=str(resource.get("out_refund_no", ""))[:64],
        outcome=outcome,
        detail=detail[:300],
    )


def wechat_notification_handle(
    *, headers: Mapping[str, str], body: bytes, remote_addr: str = ""
) -> WechatNotificationLog:
    """Verify, decrypt, check and apply one notification in one transaction, and log it whatever
    it was. Replays, duplicates and notifications arriving out of order change nothing more."""
    client: WechatPayClient | None = wechat_client()
    if client is None:
        with transaction.atomic():
            return _log(
                headers=headers,
                body=body,
                remote_addr=remote_addr,
                outcome=NotificationOutcome.REJECTED_SIGNATURE,
                detail="WeChat Pay is not configured",
            )
    try:
        notification = client.verify_notification(headers=headers, body=body)
    except NotificationRejected as rejected:
        logger.warning("WeChat Pay notification from %s rejected: %s", remote_addr, rejected.detail)
        with transaction.atomic():
            return _log(
                headers=headers, body=body, remote_addr=remote_addr, outcome=rejected.outcome, detail=rejected.detail
            )
    actor = Actor.system(reason="wechatpay_notify")
    try:
        with transaction.atomic():
            if notification.event_type.startswith("TRANSACTION."):
                applied = _apply_transaction(actor=actor, resource=notification.resource, config=client.config)
            elif notification.event_type.startswith("REFUND."):
                applied = _apply_refund(actor=actor, resource=notification.resource, config=client.config)
            else:
                applied = Applied(NotificationOutcome.IGNORED, f"event {notification.event_type[:30]}")
            return _log(
                headers=headers,
                body=body,
                remote_addr=remote_addr,
                outcome=applied.outcome,
                detail=applied.detail,
                verified=True,
                notification=notification,
            )
    except Exception as exc:
        logger.exception("WeChat Pay notification %s could not be applied", notification.id)
        with transaction.atomic():
            return _log(
                headers=headers,
                body=body,
                remote_addr=remote_addr,
                outcome=NotificationOutcome.ERROR,
                detail=f"{type(exc).__name__}",
                verified=True,
                notification=notification,
            )


def order_sync_wechat(*, actor: Actor, order: Order) -> Order:
    """Ask WeChat Pay about an order that is still pending (no notification came): a paid
    transaction is applied exactly as its notification would have been."""
    client = wechat_client()
    if client is None or order.status != OrderStatus.PENDING or not order.wechat_prepay_id:
        return order
    Order.objects.filter(pk=order.pk).update(wechat_checked_at=clock.now())
    answer = client.query(out_trade_no=order.out_trade_no)
    if answer is not None and answer.get("trade_state") in PAID_STATES:
        with transaction.atomic():
            applied = _apply_transaction(actor=actor, resource=answer, config=client.config)
        if applied.outcome == NotificationOutcome.MISMATCH:
            logger.error("query of %s does not match the order: %s", order.out_trade_no, applied.detail)
    order.refresh_from_db()
    return order


def orders_sync_pending_wechat(*, actor: Actor, limit: int = 50) -> int:
    """The job: pending orders with a prepay of the last three hours that nobody checked in the
    last minute are queried."""
    now = clock.now()
    stale = now - dt.timedelta(minutes=1)
    candidates = (
        Order.objects.filter(
            status=OrderStatus.PENDING,
            wechat_prepay_at__lte=stale,
            wechat_prepay_at__gte=now - dt.timedelta(hours=3),
        )
        .exclude(wechat_checked_at__gt=stale)
        .order_by("wechat_prepay_at")[:limit]
    )
    checked = 0
    for order in candidates:
        try:
            order_sync_wechat(actor=actor, order=order)
        except ProviderError:
            logger.warning("query of %s failed; next round", order.out_trade_no)
        checked += 1
    return checked


def standin_complete_payment(*, actor: Actor, order: Order) -> Order:
    """Demo only (stand-in mode): play the payer confirming in WeChat. The stand-in marks the
    trade paid and sends its signed notification to our notify URL; should that not reach us
    (a notify URL the stand-in cannot call), the query applies the payment instead."""
    import requests

    client = wechat_client()
    if client is None or not client.config.standin:
        raise WechatUnavailable()
    try:
        requests.post(
            f"{client.config.base_url.rstrip('/')}/standin/pay",
            json={"out_trade_no": order.out_trade_no},
            timeout=client.config.timeout,
        )
    except requests.RequestException as exc:
        raise ProviderError(operation="standin_pay") from exc
    order.refresh_from_db()
    return order_sync_wechat(actor=actor, order=order)
