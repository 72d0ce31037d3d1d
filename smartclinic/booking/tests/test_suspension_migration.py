"""Migration ``scheduling/0004`` marks the slots of the sessions suspended before it existed, so
that a booking from a stale read cannot take a place on them either."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from smartclinic.scheduling.models import ClinicSession, Slot

pytestmark = pytest.mark.django_db(transaction=True)


def test_the_slots_of_sessions_suspended_before_the_mark_existed_are_marked(clinic, make_session):
    open_session = make_session(
        clinic["doctor"], clinic["department"], period="afternoon", start=dt.time(14), end=dt.time(15)
    )
    ClinicSession.objects.filter(pk=clinic["session"].pk).update(status="suspended")
    executor = MigrationExecutor(connection)
    executor.migrate([("scheduling", "0003_doctor_rating")])  # booking/0004 is undone with it

    executor.loader.build_graph()
    executor.migrate(executor.loader.graph.leaf_nodes())

    assert set(Slot.objects.filter(session=clinic["session"]).values_list("suspended", flat=True)) == {True}
    assert set(Slot.objects.filter(session=open_session).values_list("suspended", flat=True)) == {False}
