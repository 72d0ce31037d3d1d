from __future__ import annotations

import datetime as dt

import pytest

from smartclinic.booking.lifecycle import appointment_mark_paid
from smartclinic.booking.services import appointment_book
from smartclinic.booking.tests.conftest import clinic, fresh, make_department, make_doctor, make_session, patient  # noqa: F401
from smartclinic.core import clock
from smartclinic.core.actor import Actor
from smartclinic.queueing.services import ticket_issue
from smartclinic.visits.choices import EncounterStatus
from smartclinic.visits.models import Encounter


@pytest.fixture
def finished_visit(clinic, patient):  # noqa: F811
    """A patient's visit that the doctor finished an hour ago."""

    def make(*, finished_ago: dt.timedelta = dt.timedelta(hours=1), status: str = EncounterStatus.CLOSED):
        user, member = patient()
        appointment = appointment_book(actor=Actor.of(user), member=member, slot=fresh(clinic["slots"][0]))
        appointment = appointment_mark_paid(actor=Actor.system(), appointment=appointment)
        ticket = ticket_issue(actor=Actor.system(), appointment=appointment)
        finished_at = clock.now() - finished_ago
        encounter = Encounter.objects.create(
            ticket=ticket,
            appointment=appointment,
            member=member,
            doctor=clinic["doctor"],
            department=clinic["department"],
            date=appointment.date,
            status=status,
            started_at=finished_at - dt.timedelta(minutes=10),
            finished_at=finished_at if status == EncounterStatus.CLOSED else None,
        )
        return user, encounter

    return make
