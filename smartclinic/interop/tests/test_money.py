"""Integer fen to CNY: exact, on the wire too (never a float rounding away a fen)."""

from __future__ import annotations

import datetime as dt
import json
import uuid
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from smartclinic.interop.facts import OrganizationFacts, PatientFacts, PaymentFacts
from smartclinic.interop.fhir import fen_to_cny, payment_bundle, to_json

NOW = dt.datetime(2026, 3, 1, 4, 0, tzinfo=dt.UTC)
PATIENT = PatientFacts(public_id=uuid.uuid4(), name="张三", gender="", birth_date=None, member_number="1")
ORG = OrganizationFacts(identifier="c", name="校医院")


@pytest.mark.parametrize(
    ("fen", "yuan"),
    [
        (0, "0.00"),
        (1, "0.01"),
        (10, "0.10"),
        (99, "0.99"),
        (100, "1.00"),
        (1999, "19.99"),
        (2000, "20.00"),
        (123456789, "1234567.89"),
    ],
)
def test_fen_to_cny_is_exact(fen, yuan):
    assert fen_to_cny(fen) == Decimal(yuan)
    assert str(fen_to_cny(fen)) == yuan


@pytest.mark.parametrize("bad", [19.99, Decimal("1999"), "1999", True])
def test_fen_must_be_an_int(bad):
    with pytest.raises(TypeError):
        fen_to_cny(bad)


@given(st.integers(min_value=0, max_value=10**13), st.integers(min_value=0, max_value=10**6))
def test_invoice_amounts_on_the_wire_equal_the_fen_exactly(amount, discount):
    payment = PaymentFacts(
        order_id=uuid.uuid4(),
        kind="visit",
        method="cash",
        amount_fen=amount,
        list_amount_fen=amount + discount,
        paid_at=NOW,
        patient=PATIENT,
    )
    bundle = json.loads(
        to_json(payment_bundle(export_id=uuid.uuid4(), generated_at=NOW, payment=payment, organization=ORG)),
        parse_float=Decimal,
        parse_int=Decimal,
    )
    invoice = next(e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == "Invoice")
    assert invoice["totalNet"]["value"] * 100 == amount
    assert invoice["totalGross"]["value"] * 100 == amount
    assert invoice["lineItem"][0]["priceComponent"][0]["amount"]["value"] * 100 == amount + discount
    if discount:
        assert invoice["totalPriceComponent"][1]["amount"]["value"] * 100 == -discount
