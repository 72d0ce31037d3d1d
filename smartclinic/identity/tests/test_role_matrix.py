"""Who may do what through the API: every persona against every identity endpoint."""

from __future__ import annotations

import datetime as dt

import pytest

from smartclinic.audit.models import AuditEntry
from smartclinic.identity.models import Member

pytestmark = pytest.mark.django_db

BOUND_AT = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)


@pytest.fixture
def world(make_user, make_member):
    patient = make_user("patient")
    target = make_member(name="被查询", account=patient, bound_at=BOUND_AT)
    personas = {
        "anonymous": None,
        "outsider": make_user("patient"),
        "patient": patient,
        "nurse": make_user("nurse"),
        "doctor": make_user("doctor"),
        "cashier": make_user("cashier"),
        "manager": make_user("manager"),
        "admin": make_user("admin"),
    }
    return personas, target


SEARCH_ALLOWED = {"nurse", "doctor", "cashier", "manager", "admin"}
UNBIND_ALLOWED = {"nurse", "manager", "admin"}


@pytest.mark.parametrize(
    "persona", ["anonymous", "outsider", "patient", "nurse", "doctor", "cashier", "manager", "admin"]
)
def test_member_search(api, world, persona):
    personas, target = world
    response = api(personas[persona]).get(f"/members?q={target.number}")
    if persona == "anonymous":
        assert response.status_code == 401
    elif persona in SEARCH_ALLOWED:
        assert response.status_code == 200
        assert [row["number"] for row in response.data] == [target.number]
    else:
        assert response.status_code == 403
        assert response.data["code"] == "core.permission_denied"
        assert target.number not in response.content.decode()


@pytest.mark.parametrize("persona", ["anonymous", "outsider", "nurse", "doctor", "cashier", "manager", "admin"])
def test_staff_unbind(api, world, persona):
    personas, target = world
    response = api(personas[persona]).delete(f"/members/{target.public_id}/card")
    still_bound = Member.objects.get(pk=target.pk).account_id is not None
    if persona in UNBIND_ALLOWED:
        assert response.status_code == 204
        assert not still_bound
        assert AuditEntry.objects.filter(action="identity.card_unbound").count() == 1
    else:
        assert response.status_code in (401, 403)
        assert still_bound
        assert not AuditEntry.objects.filter(action="identity.card_unbound").exists()


def test_me_shows_only_ones_own_member(api, world):
    personas, target = world
    assert api(personas["patient"]).get("/me").data["member"]["number"] == target.number
    assert api(personas["outsider"]).get("/me").data["member"] is None
