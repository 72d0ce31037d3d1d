"""Exactly once under real concurrency (PostgreSQL, threads with their own connections)."""

from __future__ import annotations

import datetime as dt

import pytest

from smartclinic.billing.errors import OrderNotPayable
from smartclinic.billing.models import CampusCardAccount, CardTransaction, Order, Payment, WechatNotificationLog
from smartclinic.billing.services import PaymentResult, order_for_appointment, order_pay_with_card
from smartclinic.billing.wechat_payments import order_sync_wechat, wechat_notification_handle
from smartclinic.booking.services import appointment_book
from smartclinic.booking.tests.conftest import fresh, slots_of
from smartclinic.core.actor import Actor
from smartclinic.core.testing import run_concurrently
from smartclinic.outbox.models import OutboxMessage

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.postgres]


def test_double_pay_of_one_order_from_the_card_debits_once(booked):
    user, member, appointment = booked(balance=5000)
    order = order_for_appointment(actor=Actor.of(user), appointment=appointment)

    results = run_concurrently(
        [lambda: order_pay_with_card(actor=Actor.of(user), order=Order.objects.get(pk=order.pk)) for _ in range(6)]
    )

    # One payment applies; a racer either finds the order paid (OrderNotPayable) or, having
    # read it unpaid a moment earlier, finds that same payment by its key and applies nothing.
    applied = [r for r in results if isinstance(r, PaymentResult) and r.applied]
    assert len(applied) == 1, results
    for result in results:
        if isinstance(result, PaymentResult):
            assert result.applied or result.payment.pk == applied[0].payment.pk, results
        else:
            assert isinstance(result, OrderNotPayable), results
    assert CampusCardAccount.objects.get(member=member).balance == 4000
    assert CardTransaction.objects.filter(kind="payment").count() == 1
    assert Payment.objects.count() == 1
    assert OutboxMessage.objects.filter(name="billing.order_paid").count() == 1


def test_two_orders_racing_for_one_balance_never_overdraw(booked, clinic, make_department, make_session):
    user, member, first = booked(balance=1500)
    surgery = make_department(code="WK", name="外科")
    clinic["doctor"].departments.add(surgery)
    session = make_session(clinic["doctor"], surgery, start=dt.time(14, 0), end=dt.time(15, 0), period="afternoon")
    second = appointment_book(actor=Actor.of(user), member=member, slot=fresh(slots_of(session)[0]))
    orders = [order_for_appointment(actor=Actor.of(user), appointment=a) for a in (first, second)]

    results = run_concurrently(
        [lambda o=o: order_pay_with_card(actor=Actor.of(user), order=Order.objects.get(pk=o.pk)) for o in orders]
    )

    assert sum(not isinstance(r, BaseException) for r in results) == 1, results
    assert CampusCardAccount.objects.get(member=member).balance == 500
    assert CardTransaction.objects.filter(kind="payment").count() == 1


def test_the_same_notification_twice_at_once_is_applied_once(prepaid, standin):
    _, _, _, order = prepaid()
    standin.pay(order.out_trade_no)
    headers, body = standin.payment_notification(order.out_trade_no)

    results = run_concurrently([lambda: wechat_notification_handle(headers=headers, body=body) for _ in range(4)])

    assert not [r for r in results if isinstance(r, BaseException)], results
    assert sorted(r.outcome for r in results) == ["applied", "duplicate", "duplicate", "duplicate"]
    assert Payment.objects.count() == 1
    assert Order.objects.get(pk=order.pk).status == "paid"
    assert OutboxMessage.objects.filter(name="billing.order_paid").count() == 1
    assert WechatNotificationLog.objects.count() == 4


def test_notification_and_query_racing_apply_once(prepaid, standin):
    _, _, _, order = prepaid()
    standin.pay(order.out_trade_no)
    headers, body = standin.payment_notification(order.out_trade_no)

    results = run_concurrently(
        [
            lambda: wechat_notification_handle(headers=headers, body=body),
            lambda: order_sync_wechat(actor=Actor.system(reason="t"), order=Order.objects.get(pk=order.pk)),
            lambda: wechat_notification_handle(headers=headers, body=body),
        ]
    )

    assert not [r for r in results if isinstance(r, BaseException)], results
    assert Payment.objects.count() == 1
    assert OutboxMessage.objects.filter(name="billing.order_paid").count() == 1
