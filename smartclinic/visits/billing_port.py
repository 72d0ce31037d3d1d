"""Where visits hands the doctor's orders to billing (诊间支付): one call per batch of lines,
inside the caller's transaction; billing makes the order the patient pays from the phone."""

from __future__ import annotations

from collections.abc import Sequence
from uuid import UUID

from smartclinic.billing.services import OrderLineIn, order_create_for_visit
from smartclinic.core.actor import Actor
from smartclinic.visits.models import ClinicalOrder, Encounter


def order_create_for_encounter(*, actor: Actor, encounter: Encounter, lines: Sequence[ClinicalOrder]) -> UUID:
    """Billing's order for these lines; returns its public id."""
    order = order_create_for_visit(
        actor=actor,
        member=encounter.member,
        lines=[
            OrderLineIn(
                code=line.code, name=line.name, kind=line.kind, unit_price=line.unit_price, quantity=line.quantity
            )
            for line in lines
        ],
        encounter_id=encounter.public_id,
        dependant=encounter.dependant,
    )
    return UUID(str(order.public_id))
