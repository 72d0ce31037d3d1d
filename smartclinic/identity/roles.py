"""Roles as Django groups, and the permissions each needs. Later contexts extend ROLE_PERMISSIONS."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import Group, Permission

from smartclinic.identity.choices import STAFF_ROLES, Role

ROLE_PERMISSIONS: dict[str, set[str]] = {
    Role.PATIENT: set(),
    Role.NURSE: {"identity.view_member", "identity.unbind_card"},
    Role.DOCTOR: {"identity.view_member"},
    Role.CASHIER: {"identity.view_member"},
    Role.MANAGER: {
        "identity.view_member",
        "identity.unbind_card",
        "identity.import_roster",
        "audit.view_auditentry",
    },
    Role.ADMIN: {
        "identity.view_member",
        "identity.change_member",
        "identity.unbind_card",
        "identity.import_roster",
        "audit.view_auditentry",
        "outbox.view_outboxmessage",
        "outbox.change_outboxmessage",
    },
}


def grant(role: str, *permissions: str) -> None:
    """Other contexts add the permissions their features need (from their ``AppConfig.ready``)."""
    ROLE_PERMISSIONS[role].update(permissions)


def ensure_role_groups(**kwargs: Any) -> None:
    """Create or update the role groups (runs after every migrate)."""
    for role, codenames in ROLE_PERMISSIONS.items():
        group, _ = Group.objects.get_or_create(name=role)
        wanted = []
        for dotted in sorted(codenames):
            app_label, codename = dotted.split(".")
            permission = Permission.objects.filter(content_type__app_label=app_label, codename=codename).first()
            if permission is not None:
                wanted.append(permission)
        group.permissions.set(wanted)


def roles_of(user: Any) -> list[str]:
    if user is None or not user.is_authenticated:
        return []
    names = set(user.groups.values_list("name", flat=True))
    if user.is_superuser:
        names.add(Role.ADMIN)
    return [role.value for role in Role if role.value in names]


def is_staff_role(user: Any) -> bool:
    return any(role in STAFF_ROLES for role in roles_of(user))
