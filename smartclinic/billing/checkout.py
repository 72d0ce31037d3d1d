"""The patient's "pay" action, shared by the API and the pages: the campus card pays at once;
WeChat Pay returns what the page needs to let the payer confirm in WeChat."""

from __future__ import annotations

from typing import Any

from smartclinic.billing.choices import PaymentMethod
from smartclinic.billing.errors import MethodNotAllowed
from smartclinic.billing.models import Order
from smartclinic.billing.services import order_pay_with_card
from smartclinic.billing.wechat_payments import order_prepay_wechat
from smartclinic.core.actor import Actor


def order_pay_online(
    *, actor: Actor, order: Order, method: str, openid: str | None = None
) -> tuple[Order, dict[str, Any] | None]:
    if method == PaymentMethod.CAMPUS_CARD:
        return order_pay_with_card(actor=actor, order=order).order, None
    if method == PaymentMethod.WECHAT:
        params = order_prepay_wechat(actor=actor, order=order, openid=openid)
        order.refresh_from_db()
        return order, params
    raise MethodNotAllowed(method=method[:20])
