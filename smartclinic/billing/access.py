from __future__ import annotations

from uuid import UUID

from smartclinic.billing.models import Order, ReconciliationRun, Refund
from smartclinic.core.actor import Actor
from smartclinic.core.errors import NotFound
from smartclinic.identity.models import Member


def access_own_order(*, actor: Actor, public_id: UUID) -> Order:
    """The signed-in patient's own order (or their dependant's); anyone else gets NotFound."""
    order = Order.objects.select_related("member", "appointment").filter(public_id=public_id).first()
    if order is None or actor.user is None or order.member.account_id != actor.user.pk:
        raise NotFound()
    return order


def access_order_for_staff(*, actor: Actor, public_id: UUID) -> Order:
    order = Order.objects.select_related("member", "appointment").filter(public_id=public_id).first()
    if order is None or actor.user is None or not actor.user.has_perm("billing.view_order"):
        raise NotFound()
    return order


def access_member_for_staff(*, actor: Actor, public_id: UUID) -> Member:
    member = Member.objects.filter(public_id=public_id).first()
    if member is None or actor.user is None or not actor.user.has_perm("identity.view_member"):
        raise NotFound()
    return member


def access_refund_for_staff(*, actor: Actor, public_id: UUID) -> Refund:
    refund = Refund.objects.select_related("order", "order__member").filter(public_id=public_id).first()
    if refund is None or actor.user is None or not actor.user.has_perm("billing.view_order"):
        raise NotFound()
    return refund


def access_reconciliation_run(*, actor: Actor, public_id: UUID) -> ReconciliationRun:
    run = ReconciliationRun.objects.filter(public_id=public_id).first()
    if run is None or actor.user is None or not actor.user.has_perm("billing.view_reconciliationrun"):
        raise NotFound()
    return run
