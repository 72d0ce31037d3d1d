"""The visit's writes under real concurrency (PostgreSQL, threads with their own connections):
a double click on "finish" or "send orders" closes the visit once and bills the orders once."""

from __future__ import annotations

import pytest

from smartclinic.core.actor import Actor
from smartclinic.core.testing import outcome_names, run_concurrently
from smartclinic.outbox.models import OutboxMessage
from smartclinic.visits.models import ClinicalOrder, Encounter, PriceItem
from smartclinic.visits.services import (
    DiagnosisIn,
    encounter_finish,
    encounter_order_add,
    encounter_orders_send,
    encounter_record_update,
)

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.postgres]


def with_orders(encounter: Encounter, actor: Actor) -> None:
    encounter_record_update(actor=actor, encounter=encounter, diagnoses=[DiagnosisIn("J06.9")])
    for code in ("LAB-CBC", "MED-APAP"):
        encounter_order_add(actor=actor, encounter=encounter, price_item=PriceItem.objects.get(code=code), quantity=1)


def test_finishing_twice_at_once_closes_and_bills_once(in_visit, clinic, fake_billing):
    encounter = in_visit()
    actor = Actor.of(clinic.doctor.user)
    with_orders(encounter, actor)

    results = run_concurrently(
        [lambda: encounter_finish(actor=actor, encounter=Encounter.objects.get(pk=encounter.pk)) for _ in range(4)]
    )

    assert sorted(outcome_names(results)) == ["Encounter", "EncounterClosed", "EncounterClosed", "EncounterClosed"]
    assert len(fake_billing.calls) == 1
    assert OutboxMessage.objects.filter(name="visits.visit_finished").count() == 1
    assert ClinicalOrder.objects.filter(billing_order_id=fake_billing.calls[0]["order_id"]).count() == 2


def test_sending_orders_twice_at_once_makes_one_billing_order(in_visit, clinic, fake_billing):
    encounter = in_visit()
    actor = Actor.of(clinic.doctor.user)
    with_orders(encounter, actor)

    results = run_concurrently(
        [lambda: encounter_orders_send(actor=actor, encounter=Encounter.objects.get(pk=encounter.pk)) for _ in range(4)]
    )

    sent = [r for r in results if r is not None]
    assert len(sent) == 1 and not any(isinstance(r, BaseException) for r in results), results
    assert len(fake_billing.calls) == 1
    assert set(ClinicalOrder.objects.values_list("billing_order_id", flat=True)) == {sent[0]}
