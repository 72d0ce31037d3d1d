"""interop's reactions to other contexts' events: record an HIS export (sent later by the job).

Each runs in the outbox worker inside the transaction that also writes its delivery record, so
the export row exists exactly once per event; ``his_export_record`` is also idempotent on the
source record (unique per source), should an event be published twice.
"""

from __future__ import annotations

from typing import Any

from smartclinic.core.actor import Actor
from smartclinic.interop.choices import SourceKind
from smartclinic.interop.services import his_export_record
from smartclinic.outbox.registry import handles


@handles("billing.order_paid")
def export_paid_order(payload: dict[str, Any]) -> None:
    """A registration fee or a visit's orders were paid: Patient, ChargeItem and Invoice."""
    his_export_record(actor=Actor.system(reason="his_export"), kind=SourceKind.PAID_ORDER, payload=payload)


@handles("visits.visit_finished")
def export_finished_visit(payload: dict[str, Any]) -> None:
    """A visit was closed: Encounter, its diagnoses (Condition) and vital signs (Observation)."""
    his_export_record(actor=Actor.system(reason="his_export"), kind=SourceKind.VISIT, payload=payload)
