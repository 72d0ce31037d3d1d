"""The hand-off to billing with the real ``billing.services.order_create_for_visit`` (no fake):
the doctor's orders become one order of the patient, for this encounter, that they pay from the
phone."""

from __future__ import annotations

import pytest

from smartclinic.core.actor import Actor
from smartclinic.visits.models import ClinicalOrder, PriceItem
from smartclinic.visits.services import DiagnosisIn, encounter_finish, encounter_order_add, encounter_record_update

billing_models = pytest.importorskip("smartclinic.billing.models")

pytestmark = pytest.mark.django_db


def test_finishing_a_visit_leaves_one_order_for_the_patient_to_pay(in_visit, clinic, api):
    encounter = in_visit()
    actor = Actor.of(clinic.doctor.user)
    encounter_record_update(actor=actor, encounter=encounter, diagnoses=[DiagnosisIn("J06.9")])
    for code, quantity in (("LAB-CBC", 1), ("MED-IBU-SR", 2)):
        encounter_order_add(
            actor=actor, encounter=encounter, price_item=PriceItem.objects.get(code=code), quantity=quantity
        )

    encounter_finish(actor=actor, encounter=encounter)

    order = billing_models.Order.objects.get(encounter_id=encounter.public_id)
    assert set(ClinicalOrder.objects.values_list("billing_order_id", flat=True)) == {order.public_id}
    assert (order.kind, order.member_id, order.list_amount) == ("visit", encounter.member_id, 2000 + 2 * 1580)
    assert [(line.code, line.kind, line.unit_price, line.quantity) for line in order.lines.order_by("position")] == [
        ("LAB-CBC", "test", 2000, 1),
        ("MED-IBU-SR", "medicine", 1580, 2),
    ]
    seen_by_patient = api(encounter.member.account).get(f"/orders/{order.public_id}")
    assert seen_by_patient.status_code == 200
