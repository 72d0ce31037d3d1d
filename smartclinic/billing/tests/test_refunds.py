"""Refunds: automatic when a paid appointment is cancelled before the cut-off or by a session
suspension (the outbox handler), with their own states; WeChat refunds failing and retried by the
job until they succeed; counter refunds completed by the cashier."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine

from smartclinic.billing.cards import card_top_up
from smartclinic.billing.choices import OrderStatus, RefundStatus
from smartclinic.billing.errors import RefundNotCompletable
from smartclinic.billing.jobs import process_refunds
from smartclinic.billing.models import CampusCardAccount, CardTransaction, FeeCategory, Order, Payment, Refund
from smartclinic.billing.refunds import refund_complete_at_counter
from smartclinic.billing.services import order_for_appointment, order_pay_at_cashier, order_pay_with_card
from smartclinic.billing.wechat_payments import order_sync_wechat
from smartclinic.booking.models import Appointment
from smartclinic.booking.services import appointment_cancel, appointment_reschedule, clinic_session_suspend
from smartclinic.booking.tests.conftest import fresh, slots_of
from smartclinic.core import clock
from smartclinic.core.actor import Actor
from smartclinic.outbox.dispatcher import dispatch_until_idle

pytestmark = pytest.mark.django_db


def _names(log):
    return [name for name, _ in log.events()]


def test_cancelling_a_card_paid_appointment_refunds_to_the_card_at_once(booked, ledger):
    user, member, appointment = booked(balance=5000)
    order = order_for_appointment(actor=Actor.of(user), appointment=appointment)
    order_pay_with_card(actor=Actor.of(user), order=order)
    dispatch_until_idle()
    appointment_cancel(actor=Actor.of(user), appointment=Appointment.objects.get(pk=appointment.pk))
    log = ledger()

    dispatch_until_idle()

    refund = Refund.objects.get()
    assert (refund.status, refund.method, refund.amount, refund.reason) == (
        RefundStatus.SUCCEEDED,
        "campus_card",
        1000,
        "appointment_cancelled",
    )
    assert Order.objects.get(pk=order.pk).status == OrderStatus.REFUNDED
    assert CampusCardAccount.objects.get(member=member).balance == 5000
    assert [(t.kind, t.amount, t.balance_after) for t in CardTransaction.objects.order_by("id")] == [
        ("top_up", 5000, 5000),
        ("payment", 1000, 4000),
        ("refund", 1000, 5000),
    ]
    assert [a for a in log.audit() if a.startswith("billing.")] == [
        "billing.refund_requested",
        "billing.refund_succeeded",
    ]
    billing_events = [(n, p) for n, p in log.events() if n.startswith("billing.")]
    assert billing_events == [
        (
            "billing.refund_requested",
            {
                "refund_id": str(refund.public_id),
                "order_id": str(order.public_id),
                "member_id": str(member.public_id),
                "method": "campus_card",
                "amount": "1000",
                "reason": "appointment_cancelled",
            },
        ),
        (
            "billing.refund_succeeded",
            {
                "refund_id": str(refund.public_id),
                "order_id": str(order.public_id),
                "member_id": str(member.public_id),
                "method": "campus_card",
                "amount": "1000",
            },
        ),
    ]
    # Delivered again (a worker that died after committing), the handler changes nothing more.
    from smartclinic.billing.handlers import refund_cancelled_appointment

    refund_cancelled_appointment(
        {"appointment_id": str(appointment.public_id), "was_paid": "True", "by_clinic": "False"}
    )
    assert Refund.objects.count() == 1 and CampusCardAccount.objects.get(member=member).balance == 5000


def test_cancelling_an_unpaid_appointment_cancels_its_order(booked):
    user, _, appointment = booked()
    order = order_for_appointment(actor=Actor.of(user), appointment=appointment)
    appointment_cancel(actor=Actor.of(user), appointment=appointment)
    dispatch_until_idle()
    assert Order.objects.get(pk=order.pk).status == OrderStatus.CANCELLED
    assert not Refund.objects.exists()


def test_wechat_refund_fails_then_the_job_retries_it_until_it_succeeds(prepaid, standin, notify, api, ledger):
    user, _, appointment, order = prepaid()
    standin.pay(order.out_trade_no)
    notify(*standin.payment_notification(order.out_trade_no))
    dispatch_until_idle()
    appointment_cancel(actor=Actor.of(user), appointment=Appointment.objects.get(pk=appointment.pk))
    dispatch_until_idle()
    refund = Refund.objects.get()
    assert (refund.status, refund.attempts) == (RefundStatus.REQUESTED, 0)
    assert Order.objects.get(pk=order.pk).status == OrderStatus.REFUNDING

    standin.fail_next("/v3/refund/domestic/refunds", times=1, status=500)
    assert process_refunds() == 1
    refund.refresh_from_db()
    assert (refund.status, refund.attempts) == (RefundStatus.FAILED, 1)
    assert "billing.provider_error" in refund.last_error
    assert refund.next_attempt_at == pytest.approx(clock.now() + dt.timedelta(seconds=30), abs=dt.timedelta(seconds=5))
    assert process_refunds() == 0  # not due yet
    assert standin.refunds == {}

    with time_machine.travel(clock.now() + dt.timedelta(seconds=31), tick=True):
        assert process_refunds() == 1
        refund.refresh_from_db()
        assert (refund.status, refund.attempts, refund.last_error) == (RefundStatus.PROCESSING, 2, "")
        assert list(standin.refunds) == [refund.out_refund_no]
        standin.settle_refund(refund.out_refund_no)
        log = ledger()
        response = notify(*standin.refund_notification(refund.out_refund_no))

    assert response.status_code == 204
    refund.refresh_from_db()
    assert refund.status == RefundStatus.SUCCEEDED
    assert refund.provider_refund_id == standin.refunds[refund.out_refund_no].refund_id
    assert Order.objects.get(pk=order.pk).status == OrderStatus.REFUNDED
    assert _names(log) == ["billing.refund_succeeded"]
    shown = api(user).get(f"/orders/{order.public_id}").data
    assert shown["status"] == "refunded"
    assert [(r["status"], r["amount"], r["attempts"]) for r in shown["refunds"]] == [("succeeded", 1000, 2)]


def test_a_processing_refund_without_notification_is_settled_by_the_query(prepaid, standin, notify):
    user, _, appointment, order = prepaid()
    standin.pay(order.out_trade_no)
    notify(*standin.payment_notification(order.out_trade_no))
    appointment_cancel(actor=Actor.of(user), appointment=Appointment.objects.get(pk=appointment.pk))
    dispatch_until_idle()
    process_refunds()
    refund = Refund.objects.get()
    assert refund.status == RefundStatus.PROCESSING
    standin.settle_refund(refund.out_refund_no)
    with time_machine.travel(clock.now() + dt.timedelta(minutes=3), tick=True):
        assert process_refunds() == 1
    refund.refresh_from_db()
    assert refund.status == RefundStatus.SUCCEEDED


def test_refund_notification_before_the_late_payment_notification(prepaid, standin, notify, ledger):
    """Reordered: the query applied the payment, the refund ran and was notified, and only then
    does the payment's own notification arrive. It changes nothing."""
    user, _, appointment, order = prepaid()
    standin.pay(order.out_trade_no)
    order_sync_wechat(actor=Actor.system(reason="test"), order=order)
    appointment_cancel(actor=Actor.of(user), appointment=Appointment.objects.get(pk=appointment.pk))
    dispatch_until_idle()
    process_refunds()
    refund = Refund.objects.get()
    standin.settle_refund(refund.out_refund_no)
    refund_note = standin.refund_notification(refund.out_refund_no)
    assert notify(*refund_note).status_code == 204
    log = ledger()

    late_payment = notify(*standin.payment_notification(order.out_trade_no))
    again = notify(*refund_note)

    assert late_payment.status_code == again.status_code == 204
    assert list(
        __import__("smartclinic.billing.models", fromlist=["WechatNotificationLog"])
        .WechatNotificationLog.objects.order_by("id")
        .values_list("outcome", flat=True)
    ) == ["refund_updated", "duplicate", "duplicate"]
    assert Payment.objects.count() == 1 and Refund.objects.count() == 1
    assert Order.objects.get(pk=order.pk).status == OrderStatus.REFUNDED
    assert log.audit() == [] and log.events() == []


def test_an_abnormal_wechat_refund_waits_for_the_cashier(prepaid, standin, notify, make_user):
    user, _, appointment, order = prepaid()
    standin.pay(order.out_trade_no)
    notify(*standin.payment_notification(order.out_trade_no))
    appointment_cancel(actor=Actor.of(user), appointment=Appointment.objects.get(pk=appointment.pk))
    dispatch_until_idle()
    process_refunds()
    refund = Refund.objects.get()
    standin.settle_refund(refund.out_refund_no, status="ABNORMAL")
    notify(*standin.refund_notification(refund.out_refund_no))
    refund.refresh_from_db()
    assert (refund.status, refund.next_attempt_at) == (RefundStatus.FAILED, None)
    assert process_refunds() == 0  # no automatic retry of a refund WeChat Pay cannot pay out

    cashier = make_user("cashier")
    refund_complete_at_counter(actor=Actor.of(cashier), refund=refund, reference="CASH-77")
    refund.refresh_from_db()
    assert (refund.status, refund.completed_by_id) == (RefundStatus.SUCCEEDED, cashier.pk)
    assert Order.objects.get(pk=order.pk).status == OrderStatus.REFUNDED


def test_cash_refund_is_requested_and_completed_by_the_cashier(booked, make_user):
    user, _, appointment = booked()
    cashier = make_user("cashier")
    order = order_for_appointment(actor=Actor.of(cashier), appointment=appointment)
    order_pay_at_cashier(actor=Actor.of(cashier), order=order, method="cash", reference="R-1")
    appointment_cancel(actor=Actor.of(user), appointment=Appointment.objects.get(pk=appointment.pk))
    dispatch_until_idle()
    refund = Refund.objects.get()
    assert (refund.status, refund.method, refund.next_attempt_at) == (RefundStatus.REQUESTED, "cash", None)
    assert process_refunds() == 0

    refund_complete_at_counter(actor=Actor.of(cashier), refund=refund)
    assert Refund.objects.get().status == RefundStatus.SUCCEEDED
    assert Order.objects.get(pk=order.pk).status == OrderStatus.REFUNDED
    with pytest.raises(RefundNotCompletable):
        refund_complete_at_counter(actor=Actor.of(cashier), refund=Refund.objects.get())


def test_a_suspended_session_refunds_every_paid_appointment(booked, clinic, make_user):
    paid = []
    for index in range(2):
        user, member, appointment = booked(slot_index=index, balance=2000)
        order_pay_with_card(
            actor=Actor.of(user), order=order_for_appointment(actor=Actor.of(user), appointment=appointment)
        )
        paid.append(member)
    _, _, unpaid = booked(slot_index=2)
    order_for_appointment(actor=Actor.system(reason="test"), appointment=unpaid)
    manager = make_user("manager")

    clinic_session_suspend(actor=Actor.of(manager), session=clinic["session"], reason="出差")
    dispatch_until_idle()

    refunds = list(Refund.objects.order_by("id"))
    assert [(r.status, r.reason, r.amount) for r in refunds] == [("succeeded", "session_suspended", 1000)] * 2
    assert [CampusCardAccount.objects.get(member=m).balance for m in paid] == [2000, 2000]
    assert Order.objects.get(appointment=unpaid).status == OrderStatus.CANCELLED


def test_a_free_order_cancelled_has_nothing_to_refund(booked):
    FeeCategory.objects.create(code="plan", name="公费医疗", member_kind="student", registration_discount_percent=100)
    user, _, appointment = booked()
    order = order_for_appointment(actor=Actor.of(user), appointment=appointment)
    assert (order.status, order.paid_method, order.amount) == (OrderStatus.PAID, "free", 0)
    appointment_cancel(actor=Actor.of(user), appointment=Appointment.objects.get(pk=appointment.pk))
    dispatch_until_idle()
    assert Order.objects.get(pk=order.pk).status == OrderStatus.CANCELLED
    assert not Refund.objects.exists()


def test_a_payment_arriving_after_the_appointment_was_cancelled_is_refunded(prepaid, standin, notify, ledger):
    user, _, appointment, order = prepaid()
    appointment_cancel(actor=Actor.of(user), appointment=appointment)  # the handler has not run yet
    standin.pay(order.out_trade_no)
    log = ledger()

    assert notify(*standin.payment_notification(order.out_trade_no)).status_code == 204
    dispatch_until_idle()

    payment = Payment.objects.get()
    assert (payment.status, payment.amount) == ("surplus", 1000)
    assert Order.objects.get(pk=order.pk).status == OrderStatus.CANCELLED
    refund = Refund.objects.get()
    assert (refund.payment_id, refund.reason, refund.status) == (payment.pk, "not_needed", RefundStatus.REQUESTED)
    assert "billing.order_paid" not in _names(log)
    assert Appointment.objects.get(pk=appointment.pk).status == "cancelled"


def test_a_paid_appointment_rescheduled_keeps_its_order_and_refunds_on_cancel(booked, clinic):
    user, member, appointment = booked(balance=1000)
    order = order_for_appointment(actor=Actor.of(user), appointment=appointment)
    order_pay_with_card(actor=Actor.of(user), order=order)
    new = appointment_reschedule(
        actor=Actor.of(user),
        appointment=Appointment.objects.get(pk=appointment.pk),
        new_slot=fresh(slots_of(clinic["session"])[2]),
    )
    dispatch_until_idle()
    assert Order.objects.get(pk=order.pk).appointment_id == new.pk
    assert Order.objects.count() == 1

    appointment_cancel(actor=Actor.of(user), appointment=Appointment.objects.get(pk=new.pk))
    dispatch_until_idle()
    assert Refund.objects.get().order_id == order.pk
    assert CampusCardAccount.objects.get(member=member).balance == 1000


def test_top_up_limit(booked):
    from smartclinic.billing.errors import InvalidAmount

    _, member, _ = booked()
    with pytest.raises(InvalidAmount):
        card_top_up(actor=Actor.system(reason="t"), member=member, amount=0)
    with pytest.raises(InvalidAmount):
        card_top_up(actor=Actor.system(reason="t"), member=member, amount=100001)
