"""The fee schedule (by department and title), category discounts, and the doctor's orders."""

from __future__ import annotations

import uuid

import pytest

from smartclinic.billing.choices import OrderStatus
from smartclinic.billing.errors import AppointmentNotPayable, InvalidOrderLines
from smartclinic.billing.fees import discounted, registration_list_price
from smartclinic.billing.models import FeeCategory, FeeRule, Order, OrderLine
from smartclinic.billing.services import OrderLineIn, order_create_for_visit, order_for_appointment
from smartclinic.booking.services import appointment_cancel
from smartclinic.core.actor import Actor
from smartclinic.identity.models import Dependant
from smartclinic.outbox.models import OutboxMessage

pytestmark = pytest.mark.django_db


def test_without_a_rule_the_session_fee_applies(booked):
    user, _, appointment = booked()
    order = order_for_appointment(actor=Actor.of(user), appointment=appointment)
    assert (order.list_amount, order.discount, order.amount, order.status) == (1000, 0, 1000, OrderStatus.PENDING)
    assert order.kind == "registration" and order.appointment_id == appointment.pk
    assert len(order.out_trade_no) == 25 and order.out_trade_no.startswith("R")


def test_the_most_specific_rule_wins(clinic, make_department):
    department = clinic["department"]
    other = make_department()
    FeeRule.objects.create(title="attending", amount=1200)
    assert registration_list_price(department_id=department.pk, title="attending", fallback=1000) == 1200
    FeeRule.objects.create(department=department, amount=800)
    assert registration_list_price(department_id=department.pk, title="attending", fallback=1000) == 1200
    assert registration_list_price(department_id=department.pk, title="chief", fallback=2000) == 800
    FeeRule.objects.create(department=department, title="attending", amount=1500)
    assert registration_list_price(department_id=department.pk, title="attending", fallback=1000) == 1500
    assert registration_list_price(department_id=other.pk, title="attending", fallback=1000) == 1200
    assert registration_list_price(department_id=other.pk, title="resident", fallback=500) == 500
    FeeRule.objects.filter(amount=1500).update(active=False)
    assert registration_list_price(department_id=department.pk, title="attending", fallback=1000) == 1200


def test_rules_are_unique_per_department_and_title(clinic):
    from django.db import IntegrityError, transaction

    FeeRule.objects.create(department=clinic["department"], title="chief", amount=2000)
    FeeRule.objects.create(title="chief", amount=1800)
    for duplicate in ({"department": clinic["department"], "title": "chief"}, {"title": "chief"}, {}):
        with pytest.raises(IntegrityError), transaction.atomic():
            FeeRule.objects.create(amount=1, **duplicate)


def test_students_on_the_medical_plan_pay_nothing_and_are_paid_at_once(booked):
    FeeCategory.objects.create(code="plan", name="公费医疗", member_kind="student", registration_discount_percent=100)
    user, _member, appointment = booked()

    order = order_for_appointment(actor=Actor.of(user), appointment=appointment)

    assert (order.list_amount, order.discount, order.amount, order.category_code) == (1000, 1000, 0, "plan")
    assert (order.status, order.paid_method) == (OrderStatus.PAID, "free")
    appointment.refresh_from_db()
    assert appointment.status == "paid"
    paid = OutboxMessage.objects.get(name="billing.order_paid")
    assert paid.payload["method"] == "free" and paid.payload["amount"] == "0"


def test_the_largest_discount_applies_and_enrolment_counts(booked):
    half = FeeCategory.objects.create(code="half", name="半价", registration_discount_percent=50)
    FeeCategory.objects.create(code="staff", name="教职工", member_kind="staff", registration_discount_percent=30)
    user, member, appointment = booked(kind="staff")
    assert order_for_appointment(actor=Actor.of(user), appointment=appointment).amount == 700
    Order.objects.all().delete()
    half.members.add(member)
    order = order_for_appointment(actor=Actor.of(user), appointment=appointment)
    assert (order.amount, order.discount, order.category_code) == (500, 500, "half")


def test_dependants_pay_the_full_fee(clinic, patient):
    from smartclinic.booking.services import appointment_book
    from smartclinic.booking.tests.conftest import fresh

    FeeCategory.objects.create(code="staff", name="教职工", member_kind="staff", registration_discount_percent=50)
    user, member = patient(kind="staff")
    child = Dependant.objects.create(owner=member, name="张小小", relation="child")
    appointment = appointment_book(actor=Actor.of(user), member=member, slot=fresh(clinic["slots"][0]), dependant=child)
    order = order_for_appointment(actor=Actor.of(user), appointment=appointment)
    assert (order.amount, order.dependant_id, order.member_id) == (1000, child.pk, member.pk)


def test_discount_rounding_favours_the_patient():
    assert discounted(list_amount=999, percent=50) == 500  # pays 499
    assert discounted(list_amount=1000, percent=0) == 0
    assert discounted(list_amount=1000, percent=100) == 1000


def test_a_cancelled_appointment_gets_no_new_order(booked):
    user, _, appointment = booked()
    appointment_cancel(actor=Actor.of(user), appointment=appointment)
    with pytest.raises(AppointmentNotPayable):
        order_for_appointment(actor=Actor.of(user), appointment=appointment)
    assert not Order.objects.exists()


LINES = [
    OrderLineIn(code="CBC", name="血常规", kind="test", unit_price=2500, quantity=1),
    OrderLineIn(code="AMOX", name="阿莫西林胶囊", kind="medicine", unit_price=1230, quantity=2),
]


def test_visit_order_from_the_doctors_orders(patient, make_user, ledger):
    _, member = patient()
    doctor = make_user("doctor")
    encounter = uuid.uuid4()
    log = ledger()

    order = order_create_for_visit(actor=Actor.of(doctor), member=member, lines=LINES, encounter_id=encounter)

    assert (order.kind, order.encounter_id, order.appointment_id, order.status) == ("visit", encounter, None, "pending")
    assert (order.list_amount, order.discount, order.amount) == (4960, 0, 4960)
    assert order.out_trade_no.startswith("V")
    lines = list(OrderLine.objects.filter(order=order).order_by("position"))
    assert [(line.position, line.code, line.kind, line.unit_price, line.quantity, line.amount) for line in lines] == [
        (1, "CBC", "test", 2500, 1, 2500),
        (2, "AMOX", "medicine", 1230, 2, 2460),
    ]
    assert log.audit() == ["billing.order_created"]
    assert log.events() == []


def test_visit_order_discount_and_zero_amount(patient, make_user):
    FeeCategory.objects.create(code="plan", name="公费医疗", member_kind="student", visit_discount_percent=100)
    _, member = patient()
    order = order_create_for_visit(
        actor=Actor.of(make_user("doctor")), member=member, lines=LINES, encounter_id=uuid.uuid4()
    )
    assert (order.amount, order.status, order.paid_method) == (0, "paid", "free")
    event = OutboxMessage.objects.get(name="billing.order_paid")
    assert event.payload["kind"] == "visit" and event.payload["appointment_id"] is None


@pytest.mark.parametrize(
    "lines",
    [
        [],
        [OrderLineIn(code="", name="x", kind="test", unit_price=1, quantity=1)],
        [OrderLineIn(code="X", name="x", kind="surgery", unit_price=1, quantity=1)],
        [OrderLineIn(code="X", name="x", kind="test", unit_price=-1, quantity=1)],
        [OrderLineIn(code="X", name="x", kind="test", unit_price=1, quantity=0)],
    ],
)
def test_invalid_lines_are_refused(patient, make_user, lines):
    _, member = patient()
    with pytest.raises(InvalidOrderLines):
        order_create_for_visit(
            actor=Actor.of(make_user("doctor")), member=member, lines=lines, encounter_id=uuid.uuid4()
        )
    assert not Order.objects.exists()
