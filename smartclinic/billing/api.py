"""Billing endpoints: pay an appointment or an order (campus card, WeChat Pay), WeChat Pay's
notification, the cashier's counter, one's card account, and the manager's reconciliation."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext as _
from ninja import Router
from ninja.responses import Status

from smartclinic.billing import selectors
from smartclinic.billing.access import (
    access_member_for_staff,
    access_order_for_staff,
    access_own_order,
    access_reconciliation_run,
    access_refund_for_staff,
)
from smartclinic.billing.cards import card_balance, card_top_up
from smartclinic.billing.checkout import order_pay_online
from smartclinic.billing.choices import NotificationOutcome
from smartclinic.billing.presenters import card_transaction_out, order_out, reconciliation_out, refund_out
from smartclinic.billing.reconciliation import reconciliation_run
from smartclinic.billing.refunds import refund_complete_at_counter
from smartclinic.billing.schemas import (
    CardAccountOut,
    CardTransactionOut,
    CashierMemberOut,
    CashierPayIn,
    OrderOut,
    PayIn,
    PayOut,
    ReconciliationIn,
    ReconciliationOut,
    RefundCompleteIn,
    RefundOut,
    TopUpIn,
)
from smartclinic.billing.services import order_for_appointment, order_pay_at_cashier
from smartclinic.billing.wechat_payments import order_sync_wechat, wechat_notification_handle
from smartclinic.booking.access import access_appointment
from smartclinic.core import clock
from smartclinic.core.errors import NotFound
from smartclinic.core.idempotency import fingerprint_of, run_idempotent
from smartclinic.identity.auth import request_actor, request_user, require_perm
from smartclinic.identity.selectors import member_of_user, member_search

router = Router(tags=["billing"])


def _fresh(order_id: Any) -> dict[str, Any]:
    return order_out(selectors.order_detail(order_id=order_id))


def _pay(request: HttpRequest, order_of: Any, payload: PayIn) -> Status[Any]:
    user = request_user(request)
    actor = request_actor(request)

    def pay() -> tuple[int, Any]:
        order, wechat = order_pay_online(
            actor=actor, order=order_of(actor), method=payload.method, openid=payload.openid
        )
        return 200, PayOut.model_validate({"order": _fresh(order.pk), "wechat": wechat}).model_dump(mode="json")

    status, body = run_idempotent(
        user_id=user.pk,
        key=request.headers.get("Idempotency-Key"),
        fingerprint=fingerprint_of(method="POST", path=request.path, body=payload.model_dump(mode="json")),
        action=pay,
    )
    return Status(status, body)


@router.post("/appointments/{appointment_id}/pay", response={200: PayOut})
def appointment_pay_api(request: HttpRequest, appointment_id: UUID, payload: PayIn) -> Status[Any]:
    """Pay the registration fee: ``campus_card`` → paid at once; ``wechat`` → the JSAPI parameters
    (the order is paid when WeChat Pay's notification arrives, or when it is queried)."""

    def order_of(actor: Any) -> Any:
        appointment = access_appointment(actor=actor, public_id=appointment_id)
        if appointment.member.account_id != actor.user.pk:
            raise NotFound()
        return order_for_appointment(actor=actor, appointment=appointment)

    return _pay(request, order_of, payload)


@router.post("/orders/{order_id}/pay", response={200: PayOut})
def order_pay_api(request: HttpRequest, order_id: UUID, payload: PayIn) -> Status[Any]:
    """Pay one of one's orders (the doctor's orders, 诊间支付, or a registration)."""
    return _pay(request, lambda actor: access_own_order(actor=actor, public_id=order_id), payload)


@router.get("/orders", response=list[OrderOut])
def order_list_api(request: HttpRequest) -> list[dict[str, Any]]:
    member = member_of_user(user=request_user(request))
    if member is None:
        return []
    return [order_out(order) for order in selectors.order_list_for_member(member=member)[:200]]


@router.get("/orders/{order_id}", response=OrderOut)
def order_get_api(request: HttpRequest, order_id: UUID) -> dict[str, Any]:
    order = access_own_order(actor=request_actor(request), public_id=order_id)
    return _fresh(order.pk)


@router.post("/orders/{order_id}/wechat/query", response=OrderOut)
def order_wechat_query_api(request: HttpRequest, order_id: UUID) -> dict[str, Any]:
    """Ask WeChat Pay about a pending order now (the page's "I have paid" button)."""
    actor = request_actor(request)
    order = order_sync_wechat(actor=actor, order=access_own_order(actor=actor, public_id=order_id))
    return _fresh(order.pk)


_ACK = {
    NotificationOutcome.REJECTED_SIGNATURE: 401,
    NotificationOutcome.REJECTED_STALE: 401,
    NotificationOutcome.REJECTED_MALFORMED: 400,
    NotificationOutcome.REJECTED_DECRYPT: 400,
    NotificationOutcome.ERROR: 500,
}


@router.post("/payments/wechat/notify", auth=None, response={204: None, 400: dict, 401: dict, 500: dict})
def wechat_notify_api(request: HttpRequest) -> Any:
    """WeChat Pay's payment and refund notifications (no sign-in: the platform signature is
    checked). 204 acknowledges; 4xx/5xx with ``{"code": "FAIL", …}`` makes WeChat Pay retry."""
    log = wechat_notification_handle(
        headers=request.headers, body=request.body, remote_addr=request.META.get("REMOTE_ADDR", "")
    )
    status = _ACK.get(NotificationOutcome(log.outcome))
    if status is None:
        return HttpResponse(status=204)
    return Status(status, {"code": "FAIL", "message": _("Rejected."), "extra": {"outcome": log.outcome}})


@router.get("/me/card-account", response=CardAccountOut)
def card_account_api(request: HttpRequest) -> dict[str, Any]:
    member = member_of_user(user=request_user(request))
    if member is None:
        return {"balance": 0, "transactions": []}
    return {
        "balance": card_balance(member=member),
        "transactions": [card_transaction_out(line) for line in selectors.card_statement(member=member)],
    }


# --- the cashier ---------------------------------------------------------------------------------


def _cashier(request: HttpRequest, permission: str = "billing.take_payment") -> Any:
    require_perm(request_user(request), permission)
    return request_actor(request)


def cashier_member_out(member: Any) -> dict[str, Any]:
    return {
        "id": member.public_id,
        "number": member.number,
        "name": member.name,
        "kind": member.kind,
        "card_tail": member.card_number[-4:],
        "balance": card_balance(member=member),
        "unpaid_orders": [order_out(o) for o in selectors.order_list_unpaid_for_member(member=member)],
        "unpaid_appointments": [
            {"id": a.public_id, "date": a.date, "department": a.department.name, "doctor": a.doctor.name, "fee": a.fee}
            for a in selectors.appointment_list_unpaid_for_member(member=member, today=clock.today())
        ],
        "refunds_awaiting": [refund_out(r) for r in selectors.refund_list_awaiting_cashier(member=member)],
    }


@router.get("/cashier/members", response=list[CashierMemberOut])
def cashier_member_search_api(request: HttpRequest, q: str) -> list[dict[str, Any]]:
    """Find a member by number, card number, name (from its start) or national ID."""
    _cashier(request)
    return [cashier_member_out(member) for member in member_search(query=q[:100], limit=10)]


@router.get("/cashier/members/{member_id}", response=CashierMemberOut)
def cashier_member_get_api(request: HttpRequest, member_id: UUID) -> dict[str, Any]:
    actor = _cashier(request)
    return cashier_member_out(access_member_for_staff(actor=actor, public_id=member_id))


@router.post("/cashier/appointments/{appointment_id}/pay", response=OrderOut)
def cashier_appointment_pay_api(request: HttpRequest, appointment_id: UUID, payload: CashierPayIn) -> dict[str, Any]:
    actor = _cashier(request)
    order = order_for_appointment(actor=actor, appointment=access_appointment(actor=actor, public_id=appointment_id))
    result = order_pay_at_cashier(actor=actor, order=order, method=payload.method, reference=payload.reference)
    return _fresh(result.order.pk)


@router.post("/cashier/orders/{order_id}/pay", response=OrderOut)
def cashier_order_pay_api(request: HttpRequest, order_id: UUID, payload: CashierPayIn) -> dict[str, Any]:
    actor = _cashier(request)
    order = access_order_for_staff(actor=actor, public_id=order_id)
    result = order_pay_at_cashier(actor=actor, order=order, method=payload.method, reference=payload.reference)
    return _fresh(result.order.pk)


@router.post("/cashier/members/{member_id}/card/top-ups", response={201: CardTransactionOut})
def cashier_card_top_up_api(request: HttpRequest, member_id: UUID, payload: TopUpIn) -> Status[Any]:
    """Pay money into a member's campus card account. Send an ``Idempotency-Key`` so that a
    repeated request tops up once."""
    actor = _cashier(request, "billing.top_up_card")
    member = access_member_for_staff(actor=actor, public_id=member_id)
    line = card_top_up(
        actor=actor,
        member=member,
        amount=payload.amount,
        method=payload.method,
        idempotency_key=request.headers.get("Idempotency-Key"),
    )
    return Status(201, card_transaction_out(line))


@router.get("/cashier/refunds", response=list[RefundOut])
def cashier_refund_list_api(request: HttpRequest) -> list[dict[str, Any]]:
    _cashier(request, "billing.complete_refund")
    return [refund_out(r) for r in selectors.refund_list_awaiting_cashier()[:200]]


@router.post("/cashier/refunds/{refund_id}/complete", response=RefundOut)
def cashier_refund_complete_api(request: HttpRequest, refund_id: UUID, payload: RefundCompleteIn) -> dict[str, Any]:
    actor = _cashier(request, "billing.complete_refund")
    refund = refund_complete_at_counter(
        actor=actor, refund=access_refund_for_staff(actor=actor, public_id=refund_id), reference=payload.reference
    )
    return refund_out(refund)


# --- reconciliation ------------------------------------------------------------------------------


@router.post("/reconciliations", response={201: ReconciliationOut})
def reconciliation_run_api(request: HttpRequest, payload: ReconciliationIn) -> Status[Any]:
    """Compare a day's WeChat Pay trade bill (CSV) with our records; the differences are stored."""
    require_perm(request_user(request), "billing.run_reconciliation")
    report = reconciliation_run(actor=request_actor(request), date=payload.date, statement_csv=payload.statement)
    return Status(201, reconciliation_out(selectors.reconciliation_run_detail(run=report.run)))


@router.get("/reconciliations", response=list[ReconciliationOut])
def reconciliation_list_api(request: HttpRequest) -> list[dict[str, Any]]:
    require_perm(request_user(request), "billing.view_reconciliationrun")
    return [reconciliation_out(run, with_differences=False) for run in selectors.reconciliation_run_list()]


@router.get("/reconciliations/{run_id}", response=ReconciliationOut)
def reconciliation_get_api(request: HttpRequest, run_id: UUID) -> dict[str, Any]:
    require_perm(request_user(request), "billing.view_reconciliationrun")
    run = access_reconciliation_run(actor=request_actor(request), public_id=run_id)
    return reconciliation_out(selectors.reconciliation_run_detail(run=run))
