from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import pytest

from smartclinic.core import clock
from smartclinic.core.actor import Actor
from smartclinic.identity.models import Member, User
from smartclinic.scheduling.models import ClinicSession, Department, Doctor, Slot
from smartclinic.scheduling.services import session_create_one_off

_seq = {"n": 0}


def _n() -> int:
    _seq["n"] += 1
    return _seq["n"]


@pytest.fixture
def make_department() -> Callable[..., Department]:
    def make(**fields: Any) -> Department:
        n = _n()
        defaults: dict[str, Any] = {
            "code": f"D{n}",
            "name": f"科室{n}",
            "release_days_ahead": 7,
            "booking_stop_minutes": 30,
        }
        defaults.update(fields)
        return Department.objects.create(**defaults)

    return make


@pytest.fixture
def make_doctor(make_user) -> Callable[..., Doctor]:
    def make(*departments: Department, title: str = "attending", **fields: Any) -> Doctor:
        user = make_user("doctor")
        doctor = Doctor.objects.create(user=user, name=fields.pop("name", f"医生{_n()}"), title=title, **fields)
        doctor.departments.set(departments)
        return doctor

    return make


@pytest.fixture
def make_session() -> Callable[..., ClinicSession]:
    """An open session (its booking already released) ``days_ahead`` days from today."""

    def make(
        doctor: Doctor,
        department: Department,
        *,
        days_ahead: int = 1,
        start: dt.time = dt.time(8, 0),
        end: dt.time = dt.time(9, 0),
        slot_minutes: int = 15,
        per_slot: int = 2,
        walkin_percent: int = 0,
        period: str = "morning",
        fee: int | None = None,
    ) -> ClinicSession:
        session = session_create_one_off(
            actor=Actor.system(reason="test"),
            doctor=doctor,
            department=department,
            date=clock.today() + dt.timedelta(days=days_ahead),
            period=period,
            start=start,
            end=end,
            slot_minutes=slot_minutes,
            per_slot=per_slot,
            walkin_percent=walkin_percent,
            fee=fee,
        )
        if session.opens_at > clock.now():
            ClinicSession.objects.filter(pk=session.pk).update(opens_at=clock.now() - dt.timedelta(hours=1))
            session.refresh_from_db()
        return session

    return make


@pytest.fixture
def clinic(make_department, make_doctor, make_session):
    """One department, one doctor, one open session tomorrow with four slots of two places."""
    department = make_department(code="NK", name="内科")
    doctor = make_doctor(department, title="attending")
    session = make_session(doctor, department)
    return {"department": department, "doctor": doctor, "session": session, "slots": slots_of(session)}


@pytest.fixture
def patient(make_user, make_member) -> Callable[..., tuple[User, Member]]:
    """A signed-up student with a bound card."""

    def make(**member_fields: Any) -> tuple[User, Member]:
        user = make_user()
        member = make_member(account=user, bound_at=clock.now(), **member_fields)
        return user, member

    return make


def slots_of(session: ClinicSession) -> list[Slot]:
    return list(
        Slot.objects.filter(session=session)
        .select_related("session", "session__department", "session__doctor")
        .order_by("starts_at")
    )


def fresh(slot: Slot) -> Slot:
    return Slot.objects.select_related("session", "session__department", "session__doctor").get(pk=slot.pk)
