"""Waiting-room screens: created and re-keyed by a manager; each opens its page with the token
in its URL (shown once, then only its hash is kept)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from django.db import transaction

from smartclinic.audit.services import audit_record
from smartclinic.core import clock
from smartclinic.core.actor import Actor
from smartclinic.core.errors import NotFound
from smartclinic.queueing.models import Screen
from smartclinic.queueing.tokens import screen_token_hash, screen_token_new
from smartclinic.scheduling.models import Department


@dataclass(frozen=True)
class ScreenKey:
    screen: Screen
    token: str  # shown to the manager once


@transaction.atomic
def screen_create(*, actor: Actor, name: str, departments: Iterable[Department]) -> ScreenKey:
    token = screen_token_new()
    screen = Screen.objects.create(name=name.strip()[:100], token_hash=screen_token_hash(token), token_hint=token[-4:])
    screen.departments.set(list(departments))
    audit_record(
        actor=actor,
        action="queueing.screen_created",
        subject=screen,
        new={"name": screen.name, "departments": sorted(d.code for d in screen.departments.all())},
    )
    return ScreenKey(screen=screen, token=token)


@transaction.atomic
def screen_update(*, actor: Actor, screen: Screen, name: str, departments: Iterable[Department]) -> Screen:
    old = {"name": screen.name, "departments": sorted(d.code for d in screen.departments.all())}
    Screen.objects.filter(pk=screen.pk).update(name=name.strip()[:100], updated_at=clock.now())
    screen.refresh_from_db()
    screen.departments.set(list(departments))
    new = {"name": screen.name, "departments": sorted(d.code for d in screen.departments.all())}
    audit_record(actor=actor, action="queueing.screen_updated", subject=screen, old=old, new=new)
    return screen


@transaction.atomic
def screen_rotate_token(*, actor: Actor, screen: Screen) -> ScreenKey:
    """A new address for the screen; the old one stops working at once (its open stream too, at
    its next reconnect)."""
    token = screen_token_new()
    Screen.objects.filter(pk=screen.pk).update(
        token_hash=screen_token_hash(token), token_hint=token[-4:], updated_at=clock.now()
    )
    screen.refresh_from_db()
    audit_record(actor=actor, action="queueing.screen_token_rotated", subject=screen)
    return ScreenKey(screen=screen, token=token)


@transaction.atomic
def screen_set_active(*, actor: Actor, screen: Screen, active: bool) -> Screen:
    if Screen.objects.filter(pk=screen.pk, active=not active).update(active=active, updated_at=clock.now()):
        audit_record(
            actor=actor,
            action="queueing.screen_activated" if active else "queueing.screen_deactivated",
            subject=screen,
            old={"active": not active},
            new={"active": active},
        )
    screen.refresh_from_db()
    return screen


def screen_by_token(*, token: str) -> Screen:
    """The active screen with this token, or NotFound (a wrong token reveals nothing)."""
    screen = (
        Screen.objects.prefetch_related("departments").filter(token_hash=screen_token_hash(token), active=True).first()
    )
    if screen is None:
        raise NotFound()
    return screen


def screen_seen(*, screen: Screen) -> None:
    """Note that the screen is alive (for the managers' list); at most once a minute."""
    now = clock.now()
    if screen.last_seen_at is None or (now - screen.last_seen_at).total_seconds() > 60:
        Screen.objects.filter(pk=screen.pk).update(last_seen_at=now)
