"""The booking events billing reacts to, its periodic jobs, and the demo's card balances."""

from __future__ import annotations

import pytest

from smartclinic.billing.choices import OrderStatus
from smartclinic.billing.demo import seed_card_balances
from smartclinic.billing.models import CampusCardAccount, CardTransaction, FeeCategory, Order
from smartclinic.booking.models import Appointment
from smartclinic.core.periodic import jobs
from smartclinic.identity.roles import ROLE_PERMISSIONS
from smartclinic.outbox.dispatcher import dispatch_until_idle

pytestmark = pytest.mark.django_db


def test_a_new_appointment_gets_its_order(booked):
    _, member, appointment = booked()
    dispatch_until_idle()
    order = Order.objects.get()
    assert (order.appointment_id, order.member_id, order.amount, order.status) == (
        appointment.pk,
        member.pk,
        1000,
        OrderStatus.PENDING,
    )
    dispatch_until_idle()
    assert Order.objects.count() == 1


def test_a_free_appointment_is_paid_as_soon_as_it_is_booked(booked):
    FeeCategory.objects.create(code="plan", name="公费医疗", member_kind="student", registration_discount_percent=100)
    _, _, appointment = booked()
    dispatch_until_idle()
    assert Order.objects.get().paid_method == "free"
    assert Appointment.objects.get(pk=appointment.pk).status == "paid"


def test_periodic_jobs_and_role_grants_are_registered():
    names = {job.name for job in jobs()}
    assert {"billing.refunds", "billing.wechat_pending"} <= names
    assert {"billing.take_payment", "billing.top_up_card", "billing.complete_refund"} <= ROLE_PERMISSIONS["cashier"]
    assert {"billing.view_reconciliationrun", "billing.run_reconciliation"} <= ROLE_PERMISSIONS["manager"]
    assert {"billing.view_reconciliationrun", "billing.run_reconciliation"} <= ROLE_PERMISSIONS["admin"]
    assert "billing.take_payment" not in ROLE_PERMISSIONS["manager"] | ROLE_PERMISSIONS["patient"]


def test_seed_card_balances_is_idempotent(make_member):
    members = [make_member() for _ in range(3)]
    assert seed_card_balances(members=members[:2]) == 2
    assert seed_card_balances(members=members) == 1
    assert seed_card_balances(members=members, amount=100) == 0
    assert sorted(CampusCardAccount.objects.values_list("balance", flat=True)) == [50000, 50000, 50000]
    assert CardTransaction.objects.filter(kind="top_up", top_up_method="grant").count() == 3
