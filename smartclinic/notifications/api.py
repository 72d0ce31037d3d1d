"""The patient's inbox and notification preferences."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from django.http import HttpRequest
from ninja import Query, Router, Schema
from pydantic import Field

from smartclinic.identity.auth import request_actor, request_user
from smartclinic.notifications import selectors, services
from smartclinic.notifications.access import access_own_message
from smartclinic.notifications.presenters import message_out, preference_out
from smartclinic.notifications.schemas import (
    MarkedOut,
    MessageListOut,
    MessageOut,
    PreferenceIn,
    PreferenceOut,
    UnreadCountOut,
)

router = Router(tags=["notifications"])


class MessageFilter(Schema):
    unread: bool = False
    limit: int = Field(default=20, ge=1, le=100)
    offset: int = Field(default=0, ge=0)


@router.get("/me/messages", response=MessageListOut)
def message_list_api(request: HttpRequest, filters: Query[MessageFilter]) -> dict[str, Any]:
    user = request_user(request)
    messages = selectors.message_list_for_user(user=user, unread_only=filters.unread)
    page = list(messages[filters.offset : filters.offset + filters.limit])
    return {
        "count": messages.count(),
        "unread": selectors.message_unread_count(user=user),
        "items": [message_out(m) for m in page],
    }


@router.get("/me/messages/unread-count", response=UnreadCountOut)
def message_unread_count_api(request: HttpRequest) -> dict[str, Any]:
    return {"unread": selectors.message_unread_count(user=request_user(request))}


@router.post("/me/messages/read-all", response=MarkedOut)
def messages_mark_all_read_api(request: HttpRequest) -> dict[str, Any]:
    marked = services.messages_mark_all_read(actor=request_actor(request), user=request_user(request))
    return {"marked": marked}


@router.get("/me/messages/{message_id}", response=MessageOut)
def message_get_api(request: HttpRequest, message_id: UUID) -> dict[str, Any]:
    return message_out(access_own_message(actor=request_actor(request), public_id=message_id))


@router.post("/me/messages/{message_id}/read", response=MessageOut)
def message_mark_read_api(request: HttpRequest, message_id: UUID) -> dict[str, Any]:
    actor = request_actor(request)
    message = access_own_message(actor=actor, public_id=message_id)
    return message_out(services.message_mark_read(actor=actor, message=message))


@router.get("/me/notification-preferences", response=PreferenceOut)
def preference_get_api(request: HttpRequest) -> dict[str, Any]:
    user = request_user(request)
    return preference_out(selectors.preference_for(user=user), user=user)


@router.put("/me/notification-preferences", response=PreferenceOut)
def preference_update_api(request: HttpRequest, payload: PreferenceIn) -> dict[str, Any]:
    user = request_user(request)
    preference = services.preference_update(actor=request_actor(request), user=user, **payload.model_dump())
    return preference_out(preference, user=user)
