from __future__ import annotations

from smartclinic.billing.refunds import refunds_process_due
from smartclinic.billing.wechat_payments import orders_sync_pending_wechat
from smartclinic.core.actor import Actor
from smartclinic.core.periodic import every


@every(30, name="billing.refunds")
def process_refunds() -> int:
    """Send and retry WeChat refunds, and check the ones WeChat Pay is processing."""
    return refunds_process_due(actor=Actor.system(reason="refund_job"))


@every(60, name="billing.wechat_pending")
def sync_pending_wechat_orders() -> int:
    """Query WeChat Pay for pending orders whose notification has not come."""
    return orders_sync_pending_wechat(actor=Actor.system(reason="wechat_query_job"))
