"""Paying from the campus card: debited in the transaction that marks the order paid, never twice,
never below zero; the appointment is paid and ``billing.order_paid`` published in the same step."""

from __future__ import annotations

import pytest

from smartclinic.billing.cards import card_top_up
from smartclinic.billing.choices import OrderStatus
from smartclinic.billing.errors import InsufficientBalance, OrderNotPayable
from smartclinic.billing.models import CampusCardAccount, CardTransaction, Order, Payment
from smartclinic.billing.services import order_for_appointment, order_pay_with_card
from smartclinic.booking.models import Appointment
from smartclinic.core.actor import Actor

pytestmark = pytest.mark.django_db


def test_card_payment_debits_once_marks_paid_and_publishes_the_event(booked, ledger):
    user, member, appointment = booked(balance=5000)
    actor = Actor.of(user)
    order = order_for_appointment(actor=actor, appointment=appointment)
    log = ledger()

    result = order_pay_with_card(actor=actor, order=order)

    assert result.applied is True
    order.refresh_from_db()
    assert (order.status, order.paid_method, order.amount) == (OrderStatus.PAID, "campus_card", 1000)
    assert CampusCardAccount.objects.get(member=member).balance == 4000
    payment = Payment.objects.get()
    assert (payment.order_id, payment.method, payment.amount, payment.status) == (
        order.pk,
        "campus_card",
        1000,
        "applied",
    )
    debit = CardTransaction.objects.get(kind="payment")
    assert (debit.order_id, debit.amount, debit.balance_after) == (order.pk, 1000, 4000)
    assert Appointment.objects.get(pk=appointment.pk).status == "paid"
    assert log.audit() == ["booking.appointment_paid", "billing.order_paid"]
    assert log.events() == [
        (
            "billing.order_paid",
            {
                "order_id": str(order.public_id),
                "appointment_id": str(appointment.public_id),
                "member_id": str(member.public_id),
                "kind": "registration",
                "method": "campus_card",
                "amount": "1000",
            },
        )
    ]


def test_insufficient_balance_changes_nothing(booked, ledger):
    user, member, appointment = booked(balance=999)
    actor = Actor.of(user)
    order = order_for_appointment(actor=actor, appointment=appointment)
    log = ledger()

    with pytest.raises(InsufficientBalance) as caught:
        order_pay_with_card(actor=actor, order=order)

    assert caught.value.code == "billing.insufficient_balance"
    assert caught.value.extra == {"balance": 999, "amount": 1000}
    assert Order.objects.get(pk=order.pk).status == OrderStatus.PENDING
    assert CampusCardAccount.objects.get(member=member).balance == 999
    assert not Payment.objects.exists()
    assert CardTransaction.objects.filter(kind="payment").count() == 0
    assert Appointment.objects.get(pk=appointment.pk).status == "booked"
    assert log.audit() == [] and log.events() == []


def test_paying_twice_debits_once(booked):
    user, member, appointment = booked(balance=5000)
    actor = Actor.of(user)
    order = order_for_appointment(actor=actor, appointment=appointment)
    order_pay_with_card(actor=actor, order=order)

    with pytest.raises(OrderNotPayable):
        order_pay_with_card(actor=actor, order=Order.objects.get(pk=order.pk))
    with pytest.raises(OrderNotPayable):  # a stale copy still says pending: the conditional update decides
        order_pay_with_card(actor=actor, order=order)

    assert CampusCardAccount.objects.get(member=member).balance == 4000
    assert Payment.objects.count() == 1
    assert CardTransaction.objects.filter(kind="payment").count() == 1


def test_top_up_and_statement(booked):
    user, member, appointment = booked()
    cashier = Actor.system(reason="test")
    card_top_up(actor=cashier, member=member, amount=3000, idempotency_key="slip-1")
    again = card_top_up(actor=cashier, member=member, amount=3000, idempotency_key="slip-1")
    card_top_up(actor=cashier, member=member, amount=500)
    order = order_for_appointment(actor=Actor.of(user), appointment=appointment)
    order_pay_with_card(actor=Actor.of(user), order=order)

    lines = list(CardTransaction.objects.filter(account__member=member).order_by("id"))
    assert [(line.kind, line.amount, line.balance_after) for line in lines] == [
        ("top_up", 3000, 3000),
        ("top_up", 500, 3500),
        ("payment", 1000, 2500),
    ]
    assert again.pk == lines[0].pk
    assert CampusCardAccount.objects.get(member=member).balance == 2500
