from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.conf import settings
from django.db.models import Q, QuerySet

from smartclinic.identity.models import User
from smartclinic.notifications import conf
from smartclinic.notifications.models import Delivery, Message, NotificationPreference, WechatRecipient


def preference_for(*, user: User) -> NotificationPreference:
    """The person's stored preference, or the defaults (unsaved) when they never chose."""
    stored = NotificationPreference.objects.filter(user=user).first()
    if stored is not None:
        return stored
    quiet = conf.default_quiet_hours()
    return NotificationPreference(
        user=user,
        language=settings.LANGUAGE_CODE,
        quiet_start=quiet[0] if quiet else None,
        quiet_end=quiet[1] if quiet else None,
    )


def wechat_recipient_for(*, user: User) -> WechatRecipient | None:
    return WechatRecipient.objects.filter(user=user).first()


def message_list_for_user(*, user: User, unread_only: bool = False) -> QuerySet[Message]:
    messages = Message.objects.filter(recipient=user)
    if unread_only:
        messages = messages.filter(read_at__isnull=True)
    return messages.order_by("-created_at", "-id")


def message_unread_count(*, user: User) -> int:
    return Message.objects.filter(recipient=user, read_at__isnull=True).count()


@dataclass(frozen=True)
class DeliverySearch:
    """The staff delivery log's filters; empty values filter nothing."""

    query: str = ""
    kind: str = ""
    channel: str = ""
    status: str = ""
    date_from: dt.date | None = None
    date_to: dt.date | None = None


def delivery_search(*, search: DeliverySearch) -> QuerySet[Delivery]:
    """Deliveries for the staff log, newest first. ``query`` matches a member number or an
    account's username exactly, or a member's name from its beginning."""
    deliveries = Delivery.objects.select_related("message", "message__recipient", "message__recipient__member")
    query = search.query.strip()
    if query:
        deliveries = deliveries.filter(
            Q(message__recipient__member__number=query)
            | Q(message__recipient__username=query)
            | Q(message__recipient__member__name__startswith=query)
        )
    if search.kind:
        deliveries = deliveries.filter(message__kind=search.kind)
    if search.channel:
        deliveries = deliveries.filter(channel=search.channel)
    if search.status:
        deliveries = deliveries.filter(status=search.status)
    if search.date_from:
        deliveries = deliveries.filter(created_at__date__gte=search.date_from)
    if search.date_to:
        deliveries = deliveries.filter(created_at__date__lte=search.date_to)
    return deliveries.order_by("-created_at", "-id")
