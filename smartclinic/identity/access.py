"""Guards that return an object the actor may see, or raise NotFound (never reveal it exists)."""

from __future__ import annotations

from uuid import UUID

from smartclinic.core.actor import Actor
from smartclinic.core.errors import NotFound
from smartclinic.identity.models import Dependant, Member


def access_member(*, actor: Actor, public_id: UUID, permission: str = "identity.view_member") -> Member:
    user = actor.user
    member = Member.objects.select_related("account").filter(public_id=public_id).first()
    if member is None or user is None:
        raise NotFound()
    if member.account_id == user.pk or user.has_perm(permission):
        return member
    raise NotFound()


def access_own_dependant(*, actor: Actor, public_id: UUID) -> Dependant:
    user = actor.user
    dependant = Dependant.objects.select_related("owner").filter(public_id=public_id, active=True).first()
    if dependant is None or user is None or dependant.owner.account_id != user.pk:
        raise NotFound()
    return dependant
