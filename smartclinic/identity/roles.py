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


def _app_and_codename(dotted: str) -> tuple[str, str]:
    app_label, _, codename = dotted.partition(".")
    return app_label, codename


def ensure_role_groups(**kwargs: Any) -> None:
    """Create or update the role groups. Runs after every app's migrate, since an app's
    permissions exist only from its own ``post_migrate`` on (the last run sees them all), and so
    after every flush of a test database, once per app: three queries when nothing changes."""
    wanted_by_role = {
        role: {_app_and_codename(dotted) for dotted in codenames} for role, codenames in ROLE_PERMISSIONS.items()
    }
    codenames = {codename for keys in wanted_by_role.values() for _app_label, codename in keys}
    permissions = Permission.objects.select_related("content_type").filter(codename__in=codenames)
    by_key = {(permission.content_type.app_label, permission.codename): permission for permission in permissions}
    groups = {
        group.name: group
        for group in Group.objects.filter(name__in=list(wanted_by_role)).prefetch_related("permissions")
    }
    for role, keys in wanted_by_role.items():
        wanted = {by_key[key] for key in keys if key in by_key}
        group = groups.get(role)
        if group is None:
            group, _ = Group.objects.get_or_create(name=role)
            group.permissions.set(wanted)
        elif set(group.permissions.all()) != wanted:
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
