"""The role groups and their permissions, as ``ensure_role_groups`` keeps them after migrate."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Group, Permission

from smartclinic.identity.roles import ROLE_PERMISSIONS, ensure_role_groups

pytestmark = pytest.mark.django_db


def _held(role: str) -> set[str]:
    group = Group.objects.get(name=role)
    return {f"{p.content_type.app_label}.{p.codename}" for p in group.permissions.select_related("content_type")}


def test_after_migrate_every_role_holds_exactly_its_permissions():
    for role, codenames in ROLE_PERMISSIONS.items():
        assert codenames <= {
            f"{p.content_type.app_label}.{p.codename}"
            for p in Permission.objects.select_related("content_type").filter(
                codename__in={dotted.partition(".")[2] for dotted in codenames}
            )
        }, f"{role}: a permission it is granted does not exist"
        assert _held(role) == codenames, role


def test_a_missing_group_and_a_changed_group_are_put_right():
    Group.objects.get(name="nurse").delete()
    manager = Group.objects.get(name="manager")
    manager.permissions.remove(Permission.objects.get(content_type__app_label="audit", codename="view_auditentry"))
    manager.permissions.add(Permission.objects.get(content_type__app_label="auth", codename="delete_group"))

    ensure_role_groups()

    assert _held("nurse") == ROLE_PERMISSIONS["nurse"]
    assert _held("manager") == ROLE_PERMISSIONS["manager"]


def test_when_nothing_changed_it_costs_three_queries(django_assert_num_queries):
    # It runs once per app after every migrate, and after every flush of a test database.
    with django_assert_num_queries(3):
        ensure_role_groups()
