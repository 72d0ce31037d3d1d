"""Fixtures of the visits tests: a clinic seeing patients today, patients checked in to a
doctor's queue, and billing replaced by a fake that implements ``order_create_for_visit``."""

# ruff: noqa: F811 - booking's fixtures are imported to be used here, by name, as parameters
from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any

import pytest

from smartclinic.booking.lifecycle import appointment_mark_paid, walk_in_register
from smartclinic.booking.tests.conftest import make_department, make_doctor, make_session, patient  # noqa: F401
from smartclinic.core.actor import Actor
from smartclinic.identity.models import Dependant
from smartclinic.queueing.models import Ticket
from smartclinic.queueing.services import ticket_call_next, ticket_check_in, ticket_issue
from smartclinic.scheduling.models import ClinicSession
from smartclinic.visits.models import Encounter
from smartclinic.visits.services import encounter_start

SYSTEM = Actor.system(reason="test")


@pytest.fixture
def clinic(make_department, make_doctor, make_session) -> SimpleNamespace:
    """内科 today: 王医生 and 李医生 consulting (08:00–12:00), 张医生 of 外科 too."""
    internal = make_department(code="NK", name="内科")
    surgery = make_department(code="WK", name="外科")
    doctor = make_doctor(internal, name="王医生", room="101")
    colleague = make_doctor(internal, name="李医生", room="102")
    surgeon = make_doctor(surgery, name="张医生", room="201")
    sessions = {
        d.pk: make_session(d, dept, days_ahead=0, start=dt.time(8, 0), end=dt.time(12, 0), walkin_percent=50)
        for d, dept in ((doctor, internal), (colleague, internal), (surgeon, surgery))
    }
    return SimpleNamespace(
        department=internal,
        surgery=surgery,
        doctor=doctor,
        colleague=colleague,
        surgeon=surgeon,
        session=sessions[doctor.pk],
        colleague_session=sessions[colleague.pk],
        surgeon_session=sessions[surgeon.pk],
    )


@pytest.fixture
def queue_patient(patient) -> Callable[..., Ticket]:
    """A patient (a new student) registered as a walk-in, paid and checked in to ``session``."""

    def make(session: ClinicSession, *, dependant_of: Any = None, **member_fields: Any) -> Ticket:
        if dependant_of is not None:
            _user, member = dependant_of
            dependant = Dependant.objects.create(owner=member, name="张小宝", relation="child", gender="male")
        else:
            _user, member = patient(**member_fields)
            dependant = None
        appointment = walk_in_register(actor=SYSTEM, member=member, session=session, dependant=dependant)
        appointment = appointment_mark_paid(actor=SYSTEM, appointment=appointment)
        ticket = ticket_issue(actor=SYSTEM, appointment=appointment)
        return ticket_check_in(actor=SYSTEM, ticket=ticket)

    return make


@pytest.fixture
def in_visit(clinic, queue_patient) -> Callable[..., Encounter]:
    """A patient of 王医生's queue, called and in the consulting room (the encounter open)."""

    def make(**member_fields: Any) -> Encounter:
        ticket = queue_patient(clinic.session, **member_fields)
        actor = Actor.of(clinic.doctor.user)
        called = ticket_call_next(actor=actor, doctor=clinic.doctor)
        assert called.pk == ticket.pk
        return encounter_start(actor=actor, ticket=called)

    return make


@dataclass
class FakeBilling:
    """Implements ``billing.services.order_create_for_visit``: records each call, returns an
    order with a fresh public id (or raises ``fail_with``)."""

    calls: list[dict[str, Any]] = field(default_factory=list)
    fail_with: Exception | None = None

    def __call__(
        self, *, actor: Actor, member: Any, lines: Sequence[Any], encounter_id: uuid.UUID, dependant: Any = None
    ) -> Any:
        if self.fail_with is not None:
            raise self.fail_with
        order = SimpleNamespace(public_id=uuid.uuid4())
        self.calls.append(
            {
                "actor": actor,
                "member": member,
                "lines": list(lines),
                "encounter_id": encounter_id,
                "dependant": dependant,
                "order_id": order.public_id,
            }
        )
        return order


@pytest.fixture
def fake_billing(monkeypatch) -> FakeBilling:
    fake = FakeBilling()
    monkeypatch.setattr("smartclinic.visits.billing_port.order_create_for_visit", fake)
    return fake
