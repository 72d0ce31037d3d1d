"""Billing pages: the patient pays an appointment or an order (campus card, WeChat Pay), sees the
result and their card; the cashier's station; the manager's reconciliation.

Thin like the other apps' pages: forms parse, one service acts, templates render prepared dicts.
Every rule and message comes from the services (``exc.detail`` in the request's language)."""

from __future__ import annotations

import secrets
from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar
from uuid import UUID

from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

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
from smartclinic.billing.choices import OrderStatus, PaymentMethod
from smartclinic.billing.forms import (
    CashierPayForm,
    MemberSearchForm,
    PayForm,
    ReconcileForm,
    RefundCompleteForm,
    TopUpForm,
)
from smartclinic.billing.presenters import card_transaction_out, order_out, reconciliation_out, refund_out, yuan
from smartclinic.billing.reconciliation import reconciliation_run
from smartclinic.billing.refunds import refund_complete_at_counter
from smartclinic.billing.services import order_for_appointment, order_pay_at_cashier
from smartclinic.billing.wechat import wechat_client
from smartclinic.billing.wechat_payments import order_sync_wechat, standin_complete_payment
from smartclinic.booking.access import access_appointment
from smartclinic.core import clock
from smartclinic.core.actor import actor_from_request
from smartclinic.core.errors import ApplicationError, NotFound
from smartclinic.core.idempotency import IdempotencyKeyReused, fingerprint_of, run_idempotent
from smartclinic.identity.models import Member, User
from smartclinic.identity.selectors import member_of_user, member_search

T = TypeVar("T")
MemberView = Callable[..., HttpResponse]
STAFF_LOGIN = "identity:staff_login"


def member_required(view: MemberView) -> MemberView:
    """Signed in with a bound campus card; the view gets the member as its second argument."""

    @wraps(view)
    @login_required
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        assert isinstance(request.user, User)
        member = member_of_user(user=request.user)
        if member is None:
            messages.info(request, _("Bind your campus card first."))
            return redirect("identity:card_bind")
        return view(request, member, *args, **kwargs)

    return wrapper


def _found(call: Callable[[], T]) -> T:
    try:
        return call()
    except NotFound as exc:
        raise Http404 from exc


# --- the patient ----------------------------------------------------------------------------------


@member_required
def pay_appointment(request: HttpRequest, member: Member, appointment_id: UUID) -> HttpResponse:
    """From an appointment to its order's payment page (the order is made on first visit)."""
    actor = actor_from_request(request)
    appointment = _found(lambda: access_appointment(actor=actor, public_id=appointment_id))
    if appointment.member_id != member.pk:
        raise Http404
    try:
        order = order_for_appointment(actor=actor, appointment=appointment)
    except ApplicationError as exc:
        messages.error(request, str(exc.detail))
        return redirect("booking:appointment_detail", appointment_id)
    return redirect("billing:order", order.public_id)


@member_required
def order_list(request: HttpRequest, member: Member) -> HttpResponse:
    orders = [order_out(order) for order in selectors.order_list_for_member(member=member)[:100]]
    return render(request, "billing/orders.html", {"orders": orders})


def _pay(request: HttpRequest, order: Any, form: PayForm) -> tuple[Any, dict[str, Any] | None]:
    """Pay once per form token: a second submit of the same form shows the first result."""
    assert isinstance(request.user, User)
    actor = actor_from_request(request)
    holder: dict[str, Any] = {}

    def pay() -> tuple[int, Any]:
        paid, wechat = order_pay_online(actor=actor, order=order, method=form.cleaned_data["method"])
        holder["wechat"] = wechat
        return 200, {"order_id": str(paid.public_id), "wechat": wechat}

    _status, body = run_idempotent(
        user_id=request.user.pk,
        key=form.cleaned_data["token"],
        fingerprint=fingerprint_of(method="POST", path=request.path, body={"method": form.cleaned_data["method"]}),
        action=pay,
    )
    return order, body.get("wechat")


@member_required
def order_page(request: HttpRequest, member: Member, order_id: UUID) -> HttpResponse:
    """The order: what it is, what it costs, how to pay it, and how it went."""
    actor = actor_from_request(request)
    order = _found(lambda: access_own_order(actor=actor, public_id=order_id))
    form = PayForm(request.POST if request.method == "POST" else None, initial={"token": secrets.token_urlsafe(18)})
    wechat = None
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                order, wechat = _pay(request, order, form)
            except IdempotencyKeyReused:
                form.add_error(None, _("This form was already used. Reload the page to pay."))
            except ApplicationError as exc:
                form.add_error(None, str(exc.detail))
            else:
                if wechat is None:
                    messages.success(request, _("Paid. Thank you."))
                    return redirect("billing:order", order.public_id)
        if form.errors:
            status = 422
    client = wechat_client()
    context = {
        "order": order_out(selectors.order_detail(order_id=order.pk)),
        "form": form,
        "balance": card_balance(member=member),
        "balance_display": yuan(card_balance(member=member)),
        "wechat_available": client is not None,
        "wechat_standin": bool(client is not None and client.config.standin),
        "wechat": wechat,
        "payable": order.status == OrderStatus.PENDING,
        "awaiting_wechat": order.status == OrderStatus.PENDING and bool(order.wechat_prepay_id),
    }
    return render(request, "billing/order.html", context, status=status)


@member_required
@require_POST
def wechat_check(request: HttpRequest, member: Member, order_id: UUID) -> HttpResponse:
    """ "I have paid": ask WeChat Pay now instead of waiting for its notification."""
    actor = actor_from_request(request)
    order = _found(lambda: access_own_order(actor=actor, public_id=order_id))
    try:
        order = order_sync_wechat(actor=actor, order=order)
    except ApplicationError as exc:
        messages.error(request, str(exc.detail))
    else:
        if order.status == OrderStatus.PAID:
            messages.success(request, _("Paid. Thank you."))
        else:
            messages.info(request, _("WeChat Pay has not received this payment yet."))
    return redirect("billing:order", order.public_id)


@member_required
@require_POST
def wechat_standin_pay(request: HttpRequest, member: Member, order_id: UUID) -> HttpResponse:
    """Demo only: the stand-in plays WeChat's payment sheet."""
    actor = actor_from_request(request)
    order = _found(lambda: access_own_order(actor=actor, public_id=order_id))
    try:
        order = standin_complete_payment(actor=actor, order=order)
    except ApplicationError as exc:
        messages.error(request, str(exc.detail))
    else:
        if order.status == OrderStatus.PAID:
            messages.success(request, _("Paid. Thank you."))
    return redirect("billing:order", order.public_id)


@member_required
def card_page(request: HttpRequest, member: Member) -> HttpResponse:
    lines = [card_transaction_out(line) for line in selectors.card_statement(member=member, limit=100)]
    balance = card_balance(member=member)
    return render(
        request,
        "billing/card.html",
        {"balance": balance, "balance_display": yuan(balance), "lines": lines},
    )


# --- the cashier ----------------------------------------------------------------------------------


def _staff_actor(request: HttpRequest) -> Any:
    return actor_from_request(request)


@login_required(login_url=STAFF_LOGIN)
@permission_required("billing.take_payment", raise_exception=True)
def cashier_home(request: HttpRequest) -> HttpResponse:
    form = MemberSearchForm(request.GET or None)
    query = form.cleaned_data["q"] if form.is_valid() else ""
    members = list(member_search(query=query, limit=20)) if query else []
    if len(members) == 1:
        return redirect("billing:cashier_member", members[0].public_id)
    results = [{"member": member, "balance_display": yuan(card_balance(member=member))} for member in members]
    awaiting = selectors.refund_list_awaiting_cashier().count()
    return render(
        request, "billing/cashier.html", {"form": form, "query": query, "results": results, "awaiting": awaiting}
    )


def _cashier_member_context(member: Member) -> dict[str, Any]:
    balance = card_balance(member=member)
    appointments = list(selectors.appointment_list_unpaid_for_member(member=member, today=clock.today()))
    with_orders = {
        order.appointment_id: order
        for order in selectors.order_list_unpaid_for_member(member=member)
        if order.appointment_id is not None
    }
    return {
        "member": member,
        "balance": balance,
        "balance_display": yuan(balance),
        "appointments": [
            {
                "appointment": appointment,
                "amount_display": yuan(with_orders[appointment.pk].amount)
                if appointment.pk in with_orders
                else yuan(appointment.fee),
            }
            for appointment in appointments
        ],
        "orders": [
            order_out(order)
            for order in selectors.order_list_unpaid_for_member(member=member)
            if order.appointment_id is None
        ],
        "refunds": [refund_out(refund) for refund in selectors.refund_list_awaiting_cashier(member=member)],
        "statement": [card_transaction_out(line) for line in selectors.card_statement(member=member, limit=10)],
        "pay_form": CashierPayForm(),
        "top_up_form": TopUpForm(initial={"token": secrets.token_urlsafe(18), "method": "cash"}),
    }


@login_required(login_url=STAFF_LOGIN)
@permission_required("billing.take_payment", raise_exception=True)
def cashier_member(request: HttpRequest, member_id: UUID) -> HttpResponse:
    member = _found(lambda: access_member_for_staff(actor=_staff_actor(request), public_id=member_id))
    return render(request, "billing/cashier_member.html", _cashier_member_context(member))


def _cashier_pay(request: HttpRequest, member: Member, order_of: Callable[[], Any]) -> HttpResponse:
    form = CashierPayForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Choose how the patient paid."))
        return redirect("billing:cashier_member", member.public_id)
    try:
        result = order_pay_at_cashier(
            actor=_staff_actor(request),
            order=order_of(),
            method=form.cleaned_data["method"],
            reference=form.cleaned_data["reference"],
        )
    except ApplicationError as exc:
        messages.error(request, str(exc.detail))
    else:
        messages.success(
            request,
            _("%(amount)s received (%(method)s).")
            % {"amount": yuan(result.payment.amount), "method": PaymentMethod(result.payment.method).label},
        )
    return redirect("billing:cashier_member", member.public_id)


@login_required(login_url=STAFF_LOGIN)
@permission_required("billing.take_payment", raise_exception=True)
@require_POST
def cashier_pay_appointment(request: HttpRequest, appointment_id: UUID) -> HttpResponse:
    actor = _staff_actor(request)
    appointment = _found(lambda: access_appointment(actor=actor, public_id=appointment_id))
    return _cashier_pay(
        request, appointment.member, lambda: order_for_appointment(actor=actor, appointment=appointment)
    )


@login_required(login_url=STAFF_LOGIN)
@permission_required("billing.take_payment", raise_exception=True)
@require_POST
def cashier_pay_order(request: HttpRequest, order_id: UUID) -> HttpResponse:
    order = _found(lambda: access_order_for_staff(actor=_staff_actor(request), public_id=order_id))
    return _cashier_pay(request, order.member, lambda: order)


@login_required(login_url=STAFF_LOGIN)
@permission_required("billing.top_up_card", raise_exception=True)
@require_POST
def cashier_top_up(request: HttpRequest, member_id: UUID) -> HttpResponse:
    member = _found(lambda: access_member_for_staff(actor=_staff_actor(request), public_id=member_id))
    form = TopUpForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Enter the amount paid in, in yuan."))
        return redirect("billing:cashier_member", member.public_id)
    try:
        line = card_top_up(
            actor=_staff_actor(request),
            member=member,
            amount=form.fen(),
            method=form.cleaned_data["method"],
            idempotency_key=form.cleaned_data["token"],
        )
    except ApplicationError as exc:
        messages.error(request, str(exc.detail))
    else:
        messages.success(
            request,
            _("%(amount)s topped up; the balance is %(balance)s.")
            % {"amount": yuan(line.amount), "balance": yuan(line.balance_after)},
        )
    return redirect("billing:cashier_member", member.public_id)


@login_required(login_url=STAFF_LOGIN)
@permission_required("billing.complete_refund", raise_exception=True)
def cashier_refunds(request: HttpRequest) -> HttpResponse:
    refunds = [
        {**refund_out(refund), "member": refund.order.member, "description": refund.order.description}
        for refund in selectors.refund_list_awaiting_cashier()[:200]
    ]
    return render(request, "billing/cashier_refunds.html", {"refunds": refunds, "form": RefundCompleteForm()})


@login_required(login_url=STAFF_LOGIN)
@permission_required("billing.complete_refund", raise_exception=True)
@require_POST
def cashier_refund_complete(request: HttpRequest, refund_id: UUID) -> HttpResponse:
    actor = _staff_actor(request)
    refund = _found(lambda: access_refund_for_staff(actor=actor, public_id=refund_id))
    form = RefundCompleteForm(request.POST)
    reference = form.cleaned_data["reference"] if form.is_valid() else ""
    try:
        refund_complete_at_counter(actor=actor, refund=refund, reference=reference)
    except ApplicationError as exc:
        messages.error(request, str(exc.detail))
    else:
        messages.success(request, _("%(amount)s handed back.") % {"amount": yuan(refund.amount)})
    if request.POST.get("back") == "member":
        return redirect("billing:cashier_member", refund.order.member.public_id)
    return redirect("billing:cashier_refunds")


# --- reconciliation -------------------------------------------------------------------------------


@login_required(login_url=STAFF_LOGIN)
@permission_required("billing.view_reconciliationrun", raise_exception=True)
def reconciliation_page(request: HttpRequest) -> HttpResponse:
    form = ReconcileForm(request.POST or None, request.FILES or None)
    status = 200
    if request.method == "POST":
        if not request.user.has_perm("billing.run_reconciliation"):
            raise Http404
        if form.is_valid():
            try:
                report = reconciliation_run(
                    actor=_staff_actor(request),
                    date=form.cleaned_data["date"],
                    statement_csv=form.cleaned_data["statement"],
                )
            except ApplicationError as exc:
                form.add_error("statement", str(exc.detail))
            else:
                return redirect("billing:reconciliation_detail", report.run.public_id)
        status = 422
    runs = [
        {
            **reconciliation_out(run, with_differences=False),
            "their_total_display": yuan(run.their_total),
            "our_total_display": yuan(run.our_total),
        }
        for run in selectors.reconciliation_run_list()
    ]
    open_refunds = selectors.refund_list_open().count()
    return render(
        request,
        "billing/reconciliation.html",
        {"form": form, "runs": runs, "open_refunds": open_refunds},
        status=status,
    )


@login_required(login_url=STAFF_LOGIN)
@permission_required("billing.view_reconciliationrun", raise_exception=True)
def reconciliation_detail(request: HttpRequest, run_id: UUID) -> HttpResponse:
    run = _found(lambda: access_reconciliation_run(actor=_staff_actor(request), public_id=run_id))
    out = reconciliation_out(selectors.reconciliation_run_detail(run=run))
    for difference in out["differences"]:
        difference["our_display"] = yuan(difference["our_amount"]) if difference["our_amount"] is not None else "—"
        difference["their_display"] = (
            yuan(difference["their_amount"]) if difference["their_amount"] is not None else "—"
        )
    out["their_total_display"] = yuan(out["their_total"])
    out["our_total_display"] = yuan(out["our_total"])
    return render(request, "billing/reconciliation_detail.html", {"run": out})
