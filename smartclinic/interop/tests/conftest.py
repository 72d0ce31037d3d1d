"""interop's own minimal fixtures: one finished visit and one paid order, built straight from the
other contexts' models (no services, so these tests do not move when their rules do), and a
stand-in HIS on a loopback port."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import pytest
from django.db import transaction

from smartclinic.booking.models import Appointment, person_key_for
from smartclinic.identity.choices import Gender
from smartclinic.identity.models import Member
from smartclinic.interop.standin import StandInHis
from smartclinic.outbox.models import OutboxMessage
from smartclinic.outbox.services import DomainEvent, outbox_publish
from smartclinic.queueing.models import Ticket, Vitals
from smartclinic.scheduling.models import ClinicSession, Department, Doctor, Slot

# A morning at the clinic, in UTC (09:00 and 09:20 in Shanghai).
SLOT_START = dt.datetime(2026, 3, 2, 1, 0, tzinfo=dt.UTC)
VISIT_START = dt.datetime(2026, 3, 2, 1, 5, tzinfo=dt.UTC)
VISIT_END = dt.datetime(2026, 3, 2, 1, 20, tzinfo=dt.UTC)
PAID_AT = dt.datetime(2026, 3, 1, 12, 30, tzinfo=dt.UTC)
HIS_TOKEN = "his-secret-token"

_seq = {"n": 0}


def _n() -> int:
    _seq["n"] += 1
    return _seq["n"]


@dataclass
class Visit:
    member: Member
    doctor: Doctor
    department: Department
    appointment: Appointment
    ticket: Ticket
    encounter: Any
    diagnoses: list[Any]


@pytest.fixture(autouse=True)
def only_interop_handlers(monkeypatch) -> None:
    """Deliver the events to interop's handlers only: the other contexts' reactions (a ticket, a
    notification) are theirs to test, and need more of the world than these fixtures build."""
    from smartclinic.outbox import registry

    isolated: defaultdict[str, list[registry.Handler]] = defaultdict(list)
    for name in ("billing.order_paid", "visits.visit_finished"):
        isolated[name] = [h for h in registry.handlers_for(name) if h.key.startswith("smartclinic.interop.")]
        assert isolated[name], f"interop handles {name}"
    monkeypatch.setattr(registry, "_handlers", isolated)


@pytest.fixture
def clinic(make_user) -> dict[str, Any]:
    n = _n()
    department = Department.objects.create(code=f"NK{n}", name="内科")
    doctor = Doctor.objects.create(user=make_user("doctor"), name="李医生", title="attending")
    doctor.departments.set([department])
    session = ClinicSession.objects.create(
        doctor=doctor,
        department=department,
        date=dt.date(2026, 3, 2),
        period="morning",
        starts_at=SLOT_START,
        ends_at=SLOT_START + dt.timedelta(hours=3),
        fee=1000,
        opens_at=SLOT_START - dt.timedelta(days=7),
    )
    slot = Slot.objects.create(
        session=session, starts_at=SLOT_START, ends_at=SLOT_START + dt.timedelta(minutes=15), capacity=2, booked=1
    )
    return {"department": department, "doctor": doctor, "session": session, "slot": slot}


@pytest.fixture
def make_appointment(clinic, make_member, make_user) -> Callable[..., Appointment]:
    def make(member: Member | None = None, *, status: str = "paid", dependant: Any = None) -> Appointment:
        member = member or make_member(name="张小明", gender=Gender.MALE, birth_date=dt.date(2004, 5, 6))
        return Appointment.objects.create(
            member=member,
            dependant=dependant,
            person_key=person_key_for(member=member, dependant=dependant),
            booked_by=member.account or make_user(),
            slot=clinic["slot"],
            session=clinic["session"],
            department=clinic["department"],
            doctor=clinic["doctor"],
            date=clinic["session"].date,
            status=status,
            fee=1000,
        )

    return make


@pytest.fixture
def make_visit(clinic, make_appointment, make_user) -> Callable[..., Visit]:
    """A finished visit: its appointment, queue ticket, the nurse's vitals and the visit record
    with two diagnoses (the second one primary)."""
    from smartclinic.visits.models import Encounter, EncounterDiagnosis, Icd10Code

    def make(*, vitals_snapshot: dict[str, Any] | None = None, with_diagnoses: bool = True) -> Visit:
        appointment = make_appointment(status="completed")
        number = _n()
        ticket = Ticket.objects.create(
            session=clinic["session"],
            doctor=clinic["doctor"],
            appointment=appointment,
            member=appointment.member,
            number=number,
            code=f"NK-{number:03d}",
            status="done",
            started_at=VISIT_START,
            finished_at=VISIT_END,
        )
        Vitals.objects.create(
            ticket=ticket,
            temperature_c=Decimal("38.2"),
            systolic_mmhg=118,
            diastolic_mmhg=76,
            pulse_bpm=92,
            weight_kg=Decimal("61.5"),
            measured_by=make_user("nurse"),
        )
        encounter = Encounter.objects.create(
            ticket=ticket,
            appointment=appointment,
            member=appointment.member,
            doctor=clinic["doctor"],
            department=clinic["department"],
            date=clinic["session"].date,
            status="closed",
            started_at=VISIT_START,
            finished_at=VISIT_END,
            chief_complaint="发热、咽痛两天",
            vitals=vitals_snapshot or {},
        )
        diagnoses = []
        if with_diagnoses:
            pharyngitis, _ = Icd10Code.objects.get_or_create(
                code="J02.9",
                defaults={
                    "clinical_code": "J02.900",
                    "name_zh": "急性咽炎",
                    "name_en": "Acute pharyngitis",
                    "chapter": "X",
                },
            )
            uri, _ = Icd10Code.objects.get_or_create(
                code="J06.9",
                defaults={
                    "clinical_code": "J06.900",
                    "name_zh": "急性上呼吸道感染",
                    "name_en": "Acute upper respiratory infection, unspecified",
                    "chapter": "X",
                },
            )
            diagnoses = [
                EncounterDiagnosis.objects.create(encounter=encounter, code=pharyngitis, primary=False, position=1),
                EncounterDiagnosis.objects.create(encounter=encounter, code=uri, primary=True, position=2),
            ]
        return Visit(
            member=appointment.member,
            doctor=clinic["doctor"],
            department=clinic["department"],
            appointment=appointment,
            ticket=ticket,
            encounter=encounter,
            diagnoses=diagnoses,
        )

    return make


@pytest.fixture
def make_paid_order(make_appointment) -> Callable[..., Any]:
    """billing's Order as billing leaves it once paid (status, time, method), with lines for a
    visit order."""
    from smartclinic.billing.models import Order, OrderLine

    def make(*, kind: str = "registration", amount: int = 1000, discount: int = 0, method: str = "campus_card") -> Any:
        appointment = make_appointment()
        n = _n()
        order = Order.objects.create(
            kind=kind,
            appointment=appointment if kind == "registration" else None,
            member=appointment.member,
            description="挂号费" if kind == "registration" else "诊疗费",
            list_amount=amount + discount,
            discount=discount,
            amount=amount,
            out_trade_no=f"SC{n:010d}",
            status="paid",
            paid_at=PAID_AT,
            paid_method=method,
        )
        if kind == "visit":
            OrderLine.objects.create(
                order=order,
                position=1,
                code="LAB001",
                name="血常规",
                kind="test",
                unit_price=2500,
                quantity=1,
                amount=2500,
            )
            OrderLine.objects.create(
                order=order,
                position=2,
                code="MED010",
                name="布洛芬缓释胶囊",
                kind="medicine",
                unit_price=(amount + discount - 2500) // 2,
                quantity=2,
                amount=amount + discount - 2500,
            )
        return order

    return make


def order_paid_payload(order: Any) -> dict[str, Any]:
    from smartclinic.billing.events import OrderPaid

    return OrderPaid(
        order_id=order.public_id,
        appointment_id=order.appointment.public_id if order.appointment_id else None,
        member_id=order.member.public_id,
        kind=order.kind,
        method=order.paid_method,
        amount=order.amount,
    ).payload()


def visit_finished_event(visit: Visit) -> DomainEvent:
    from smartclinic.visits.events import VisitFinished

    return VisitFinished(
        encounter_id=visit.encounter.public_id,
        ticket_id=visit.ticket.public_id,
        appointment_id=visit.appointment.public_id,
        member_id=visit.member.public_id,
        doctor_id=visit.doctor.public_id,
    )


def publish(event: DomainEvent) -> OutboxMessage:
    with transaction.atomic():
        return outbox_publish(event)


@pytest.fixture
def his(settings) -> Iterator[StandInHis]:
    """The stand-in HIS, configured as the export target."""
    with StandInHis(token=HIS_TOKEN) as standin:
        settings.HIS_EXPORT_URL = standin.url
        settings.HIS_EXPORT_TOKEN = HIS_TOKEN
        settings.HIS_EXPORT_TIMEOUT = 5
        yield standin
