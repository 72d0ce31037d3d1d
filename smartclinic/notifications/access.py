"""Guards that return an object the actor may see, or raise NotFound (never reveal it exists)."""

from __future__ import annotations

from uuid import UUID

from smartclinic.core.actor import Actor
from smartclinic.core.errors import NotFound
from smartclinic.notifications.models import Delivery, Message


def access_own_message(*, actor: Actor, public_id: UUID) -> Message:
    user = actor.user
    message = Message.objects.filter(public_id=public_id).first()
    if message is None or user is None or message.recipient_id != user.pk:
        raise NotFound()
    return message


def access_delivery(*, actor: Actor, public_id: UUID, permission: str = "notifications.view_delivery") -> Delivery:
    user = actor.user
    delivery = Delivery.objects.select_related("message").filter(public_id=public_id).first()
    if delivery is None or user is None or not user.has_perm(permission):
        raise NotFound()
    return delivery
