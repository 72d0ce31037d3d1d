from __future__ import annotations

from typing import Any

from smartclinic.identity.models import User
from smartclinic.notifications.choices import Channel
from smartclinic.notifications.models import Message, NotificationPreference
from smartclinic.notifications.selectors import wechat_recipient_for


def message_out(message: Message) -> dict[str, Any]:
    return {
        "id": message.public_id,
        "kind": message.kind,
        "title": message.title,
        "body": message.body,
        "link": message.link,
        "language": message.language,
        "created_at": message.created_at,
        "read_at": message.read_at,
    }


def preference_out(preference: NotificationPreference, *, user: User) -> dict[str, Any]:
    channels = [Channel.INBOX.value] + [
        channel.value for channel in (Channel.WECHAT, Channel.EMAIL, Channel.SMS) if preference.channel_enabled(channel)
    ]
    return {
        "language": preference.language,
        "channels": channels,
        "wechat": preference.wechat,
        "email": preference.email,
        "sms": preference.sms,
        "quiet_start": preference.quiet_start,
        "quiet_end": preference.quiet_end,
        "wechat_bound": wechat_recipient_for(user=user) is not None,
        "email_address": bool(user.email),
    }
