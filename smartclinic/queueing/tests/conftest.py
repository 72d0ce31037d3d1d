"""Queue fixtures: a clinic day frozen at 07:50 (Asia/Shanghai) with one or two doctors'
morning sessions (08:00-09:00, 15-minute slots of two places), and paid appointments on them."""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Callable, Iterator
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import time_machine

from smartclinic.booking.choices import AppointmentSource, AppointmentStatus
from smartclinic.booking.models import Appointment, person_key_for
from smartclinic.booking.tests.conftest import (  # noqa: F401 - fixtures shared with booking's tests
    make_department,
    make_doctor,
    make_session,
    patient,
)
from smartclinic.core import clock
from smartclinic.core.actor import Actor
from smartclinic.identity.models import Member
from smartclinic.queueing import services
from smartclinic.queueing.models import Ticket
from smartclinic.scheduling.models import ClinicSession, Slot

SHANGHAI = ZoneInfo("Asia/Shanghai")
DAY = dt.date(2026, 3, 2)  # a Monday
_names = itertools.cycle(["张小明", "李华", "王芳", "赵强", "陈静", "刘洋", "杨帆", "黄蕾", "周杰", "吴敏"])


def at(hour: int, minute: int = 0, second: int = 0) -> dt.datetime:
    return dt.datetime.combine(DAY, dt.time(hour, minute, second), tzinfo=SHANGHAI)


@pytest.fixture
def clock_at() -> Iterator[Callable[..., None]]:
    """Freeze the clock on the clinic day; call it again to move the hands."""
    traveller = time_machine.travel(at(7, 50), tick=False)
    shift = traveller.start()

    def move(hour: int, minute: int = 0, second: int = 0) -> None:
        shift.move_to(at(hour, minute, second))

    yield move
    traveller.stop()


@pytest.fixture
def day(clock_at, make_department, make_doctor, make_session) -> dict[str, Any]:  # noqa: F811
    """内科 (NK) with two doctors consulting this morning; the first has a room number."""
    department = make_department(code="NK", name="内科")
    doctor = make_doctor(department, name="王医生", room="3")
    other = make_doctor(department, name="李医生", room="5")
    session = make_session(doctor, department, days_ahead=0, walkin_percent=25)
    other_session = make_session(other, department, days_ahead=0, walkin_percent=25)
    return {
        "department": department,
        "doctor": doctor,
        "other": other,
        "session": session,
        "other_session": other_session,
        "slots": list(Slot.objects.filter(session=session).order_by("starts_at")),
    }


@pytest.fixture
def paid(make_member, make_user) -> Callable[..., Appointment]:
    """A paid appointment on ``slot`` for a new member (with an account, so they can sign in)."""

    def make(slot: Slot, *, member: Member | None = None, source: str = AppointmentSource.ONLINE) -> Appointment:
        session = ClinicSession.objects.get(pk=slot.session_id)
        if member is None:
            member = make_member(name=next(_names), account=make_user(), bound_at=clock.now())
        return Appointment.objects.create(
            member=member,
            person_key=person_key_for(member=member, dependant=None),
            booked_by=member.account or make_user(),
            slot=slot,
            session=session,
            department_id=session.department_id,
            doctor_id=session.doctor_id,
            date=session.date,
            status=AppointmentStatus.PAID,
            source=source,
            fee=session.fee,
        )

    return make


@pytest.fixture
def ticket_for(paid) -> Callable[..., Ticket]:
    """A ticket issued for a new paid appointment on ``slot`` (optionally checked in at a time)."""

    def make(slot: Slot, *, check_in: bool = False, **kwargs: Any) -> Ticket:
        ticket = services.ticket_issue(actor=Actor.system(reason="test"), appointment=paid(slot, **kwargs))
        if check_in:
            ticket = services.ticket_check_in(actor=Actor.system(reason="test"), ticket=ticket)
        return ticket

    return make
