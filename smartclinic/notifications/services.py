"""Writes of the notifications context: make a message (and its deliveries), read it, choose
channels, attach a WeChat openid, send a failed delivery again, edit a template."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable, Mapping
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone, translation

from smartclinic.audit.services import audit_record, changes_between
from smartclinic.core import clock
from smartclinic.core.actor import Actor
from smartclinic.identity.models import User
from smartclinic.identity.selectors import member_of_user
from smartclinic.notifications import conf
from smartclinic.notifications.choices import REMINDER_KINDS, Channel, DeliveryStatus
from smartclinic.notifications.errors import InvalidPreference, NotRequeueable
from smartclinic.notifications.models import (
    Delivery,
    Message,
    MessageTemplate,
    NotificationPreference,
    WechatRecipient,
)
from smartclinic.notifications.rendering import PlainValue, render_message, validate_template_source
from smartclinic.notifications.selectors import preference_for, wechat_recipient_for

logger = logging.getLogger(__name__)

# Builds the template's values in the recipient's language (called with that language active).
ContextBuilder = Callable[[str], Mapping[str, PlainValue]]


def quiet_hours_end(*, now: dt.datetime, quiet: tuple[dt.time, dt.time] | None) -> dt.datetime | None:
    """When the quiet hours that ``now`` falls in end (local time), or None when it is not quiet."""
    if quiet is None:
        return None
    start, end = quiet
    local = timezone.localtime(now)
    moment = local.time()
    inside = start <= moment < end if start < end else (moment >= start or moment < end)
    if not inside:
        return None
    day = local.date() if moment < end else local.date() + dt.timedelta(days=1)
    return timezone.make_aware(dt.datetime.combine(day, end))


def channels_for(*, recipient: User, preference: NotificationPreference, kind: str) -> list[str]:
    """The external channels this message goes out on: chosen by the person, configured here,
    and with an address to send to (a WeChat openid, an e-mail address, a phone number)."""
    channels: list[str] = []
    if preference.wechat and conf.wechat_configured() and conf.wechat_template_id(kind):
        recipient_row = wechat_recipient_for(user=recipient)
        if recipient_row is not None and recipient_row.appid == conf.wechat_app_id():
            channels.append(Channel.WECHAT)
    if preference.email and conf.email_enabled() and recipient.email:
        channels.append(Channel.EMAIL)
    if preference.sms and conf.sms_provider_name():
        member = member_of_user(user=recipient)
        if member is not None and member.phone:
            channels.append(Channel.SMS)
    return channels


@transaction.atomic
def message_create(
    *,
    actor: Actor,
    recipient: User,
    kind: str,
    source_key: str,
    context: ContextBuilder,
    link: str = "",
) -> Message | None:
    """Make the message an event calls for, in the recipient's language, with one delivery per
    channel. The inbox is delivered at once; the other channels are sent by the delivery job
    (reminders wait for the end of the person's quiet hours). The same event and kind never
    make a second message for the same person: then nothing happens and None is returned."""
    if Message.objects.filter(recipient=recipient, source_key=source_key, kind=kind).exists():
        return None
    preference = preference_for(user=recipient)
    language = preference.language
    with translation.override(language):
        values = dict(context(language))
        title, body = render_message(kind=kind, language=language, context=values)
    now = clock.now()
    try:
        with transaction.atomic():
            message = Message.objects.create(
                recipient=recipient,
                kind=kind,
                source_key=source_key[:200],
                language=language,
                title=title,
                body=body,
                link=link[:300],
            )
    except IntegrityError:
        return None  # a concurrent twin of this event made it first
    send_at = now
    if kind in REMINDER_KINDS:
        send_at = quiet_hours_end(now=now, quiet=preference.quiet_hours) or now
    deliveries = [
        Delivery(
            message=message,
            channel=Channel.INBOX,
            status=DeliveryStatus.SENT,
            attempts=1,
            next_attempt_at=now,
            last_attempt_at=now,
            sent_at=now,
        )
    ]
    deliveries += [
        Delivery(message=message, channel=channel, next_attempt_at=send_at)
        for channel in channels_for(recipient=recipient, preference=preference, kind=kind)
    ]
    Delivery.objects.bulk_create(deliveries)
    logger.info(
        "message %s (%s) for user %s by %s on %s",
        message.public_id,
        kind,
        recipient.pk,
        actor.label,
        ",".join(d.channel for d in deliveries),
    )
    return message


def message_mark_read(*, actor: Actor, message: Message) -> Message:
    """Idempotent: reading a read message changes nothing."""
    now = clock.now()
    Message.objects.filter(pk=message.pk, read_at__isnull=True).update(read_at=now, updated_at=now)
    message.refresh_from_db(fields=["read_at", "updated_at"])
    return message


def messages_mark_all_read(*, actor: Actor, user: User) -> int:
    now = clock.now()
    return Message.objects.filter(recipient=user, read_at__isnull=True).update(read_at=now, updated_at=now)


def _preference_values(preference: NotificationPreference) -> dict[str, Any]:
    return {
        "language": preference.language,
        "wechat": preference.wechat,
        "email": preference.email,
        "sms": preference.sms,
        "quiet_start": preference.quiet_start,
        "quiet_end": preference.quiet_end,
    }


@transaction.atomic
def preference_update(
    *,
    actor: Actor,
    user: User,
    language: str,
    wechat: bool,
    email: bool,
    sms: bool,
    quiet_start: dt.time | None,
    quiet_end: dt.time | None,
) -> NotificationPreference:
    if (quiet_start is None) != (quiet_end is None):
        raise InvalidPreference()
    if language not in {code for code, _ in _languages()}:
        raise InvalidPreference()
    preference, created = NotificationPreference.objects.select_for_update().get_or_create(
        user=user, defaults={"language": language}
    )
    before = _preference_values(preference)
    preference.language = language
    preference.wechat = wechat
    preference.email = email
    preference.sms = sms
    preference.quiet_start = quiet_start
    preference.quiet_end = quiet_end
    preference.save()
    old, new = changes_between(before, _preference_values(preference))
    if old or new or created:
        audit_record(
            actor=actor,
            action="notifications.preference_updated",
            subject_type="identity.user",
            subject_id=str(user.public_id),
            old=old,
            new=new,
        )
    return preference


def _languages() -> list[tuple[str, str]]:
    return [(code, str(name)) for code, name in settings.LANGUAGES]


@transaction.atomic
def wechat_recipient_attach(*, actor: Actor, user: User, openid: str, appid: str | None = None) -> WechatRecipient:
    """Link an account to its WeChat openid (identity's WeChat sign-in will call this; staff
    use the admin or ``manage.py wechat_recipient_attach`` until then)."""
    appid = appid or conf.wechat_app_id()
    openid = openid.strip()
    if not openid or not appid:
        raise InvalidPreference()
    WechatRecipient.objects.filter(appid=appid, openid=openid).exclude(user=user).delete()
    recipient, _ = WechatRecipient.objects.update_or_create(user=user, defaults={"appid": appid, "openid": openid})
    audit_record(
        actor=actor,
        action="notifications.wechat_recipient_attached",
        subject_type="identity.user",
        subject_id=str(user.public_id),
        new={"appid": appid, "openid": openid[:6] + "…"},
    )
    return recipient


@transaction.atomic
def delivery_requeue(*, actor: Actor, delivery: Delivery) -> Delivery:
    """Send a failed delivery again (after the cause was fixed), from a fresh count of attempts."""
    now = clock.now()
    updated = Delivery.objects.filter(pk=delivery.pk, status=DeliveryStatus.FAILED).update(
        status=DeliveryStatus.PENDING,
        attempts=0,
        next_attempt_at=now,
        locked_until=None,
        claim_token=None,
        updated_at=now,
    )
    if not updated:
        raise NotRequeueable()
    audit_record(
        actor=actor,
        action="notifications.delivery_requeued",
        subject=delivery,
        old={"status": DeliveryStatus.FAILED, "attempts": delivery.attempts},
        new={"status": DeliveryStatus.PENDING},
    )
    delivery.refresh_from_db()
    return delivery


@transaction.atomic
def message_template_update(*, actor: Actor, template: MessageTemplate, title: str, body: str) -> MessageTemplate:
    validate_template_source(title)
    validate_template_source(body)
    before = {"title": template.title, "body": template.body}
    template.title = title
    template.body = body
    template.save()
    old, new = changes_between(before, {"title": title, "body": body})
    if old:
        audit_record(actor=actor, action="notifications.template_updated", subject=template, old=old, new=new)
    return template
