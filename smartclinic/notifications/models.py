"""Messages to patients and their delivery over each channel.

One domain event makes at most one ``Message`` per recipient and kind (``source_key`` names the
event's subject); the message is rendered once, in the recipient's language, from an
admin-editable ``MessageTemplate``. Each channel it goes out on has one ``Delivery`` row (unique per
message and channel), which the sender claims with a conditional update and marks sent once.
"""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from smartclinic.core.models import BaseModel
from smartclinic.notifications.choices import Channel, DeliveryStatus, Language, MessageKind


class Message(BaseModel):
    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("recipient"), on_delete=models.CASCADE, related_name="messages"
    )
    kind = models.CharField(_("kind"), max_length=40, choices=MessageKind.choices)
    source_key = models.CharField(
        _("source"), max_length=200, help_text=_("The event that caused the message: one message per source and kind.")
    )
    language = models.CharField(_("language"), max_length=10, choices=Language.choices)
    title = models.CharField(_("title"), max_length=200)
    body = models.TextField(_("text"))
    link = models.CharField(_("link"), max_length=300, blank=True)
    read_at = models.DateTimeField(_("read at"), null=True, blank=True)

    class Meta:
        verbose_name = _("message")
        verbose_name_plural = _("messages")
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["recipient", "source_key", "kind"], name="message_once_per_event_and_kind")
        ]
        indexes = [
            models.Index(fields=["recipient", "-created_at"], name="message_inbox"),
            models.Index(fields=["recipient"], name="message_unread", condition=models.Q(read_at__isnull=True)),
        ]

    def __str__(self) -> str:
        return f"{self.kind} → {self.recipient_id}: {self.title}"

    @property
    def is_read(self) -> bool:
        return self.read_at is not None


class Delivery(BaseModel):
    """One message on one channel. Pending rows are claimed by a sender with a lease
    (``locked_until`` + ``claim_token``); only the claimant can mark the row sent."""

    message = models.ForeignKey(Message, verbose_name=_("message"), on_delete=models.CASCADE, related_name="deliveries")
    channel = models.CharField(_("channel"), max_length=10, choices=Channel.choices)
    status = models.CharField(
        _("status"), max_length=10, choices=DeliveryStatus.choices, default=DeliveryStatus.PENDING
    )
    attempts = models.PositiveIntegerField(_("attempts"), default=0)
    next_attempt_at = models.DateTimeField(_("next attempt at"))
    locked_until = models.DateTimeField(_("claimed until"), null=True, blank=True)
    claim_token = models.UUIDField(null=True, blank=True, editable=False)
    last_attempt_at = models.DateTimeField(_("last attempt at"), null=True, blank=True)
    last_error = models.TextField(_("last error"), blank=True)
    address = models.CharField(_("address"), max_length=200, blank=True)
    provider_message_id = models.CharField(_("provider message id"), max_length=100, blank=True)
    sent_at = models.DateTimeField(_("sent at"), null=True, blank=True)

    class Meta:
        verbose_name = _("delivery")
        verbose_name_plural = _("deliveries")
        ordering = ["-created_at", "-id"]
        permissions = [("requeue_delivery", _("Can send failed deliveries again"))]
        constraints = [
            models.UniqueConstraint(fields=["message", "channel"], name="delivery_once_per_message_and_channel"),
            models.CheckConstraint(
                condition=~models.Q(status=DeliveryStatus.SENT) | models.Q(sent_at__isnull=False),
                name="delivery_sent_has_time",
            ),
        ]
        indexes = [
            models.Index(
                fields=["channel", "next_attempt_at"],
                name="delivery_due",
                condition=models.Q(status=DeliveryStatus.PENDING),
            ),
            models.Index(fields=["status", "-created_at"], name="delivery_log_status"),
        ]

    def __str__(self) -> str:
        return f"{self.channel} {self.status} ({self.message_id})"


class MessageTemplate(models.Model):
    """The title and text of one kind of message in one language, in Django template syntax.
    Rendered with a context of plain values only (see ``rendering.py``)."""

    kind = models.CharField(_("kind"), max_length=40, choices=MessageKind.choices)
    language = models.CharField(_("language"), max_length=10, choices=Language.choices)
    title = models.CharField(_("title"), max_length=200)
    body = models.TextField(_("text"))
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("message template")
        verbose_name_plural = _("message templates")
        ordering = ["kind", "language"]
        constraints = [models.UniqueConstraint(fields=["kind", "language"], name="template_one_per_kind_language")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} ({self.language})"


class NotificationPreference(models.Model):
    """How a person wants to be told. The inbox is always on; quiet hours hold back reminders."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notification_preference"
    )
    language = models.CharField(_("language"), max_length=10, choices=Language.choices, default=Language.ZH_HANS)
    wechat = models.BooleanField(_("WeChat"), default=True)
    email = models.BooleanField(_("e-mail"), default=True)
    sms = models.BooleanField(_("SMS"), default=False)
    quiet_start = models.TimeField(_("quiet hours start"), null=True, blank=True)
    quiet_end = models.TimeField(_("quiet hours end"), null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("notification preference")
        verbose_name_plural = _("notification preferences")
        constraints = [
            models.CheckConstraint(
                condition=models.Q(quiet_start__isnull=True, quiet_end__isnull=True)
                | models.Q(quiet_start__isnull=False, quiet_end__isnull=False),
                name="preference_quiet_hours_both_or_neither",
            )
        ]

    def __str__(self) -> str:
        return f"{self.user_id} {self.language}"

    def channel_enabled(self, channel: str) -> bool:
        if channel == Channel.INBOX:
            return True
        return bool(getattr(self, channel, False))

    @property
    def quiet_hours(self) -> tuple[dt.time, dt.time] | None:
        if self.quiet_start is None or self.quiet_end is None or self.quiet_start == self.quiet_end:
            return None
        return self.quiet_start, self.quiet_end


class WechatRecipient(BaseModel):
    """The WeChat official-account ``openid`` of an account. Identity's WeChat OAuth sign-in will
    fill it; until then staff attach one in the admin or with ``manage.py wechat_recipient_attach``."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, verbose_name=_("account"), on_delete=models.CASCADE, related_name="wechat_recipient"
    )
    appid = models.CharField(_("AppID"), max_length=64)
    openid = models.CharField(_("OpenID"), max_length=128)

    class Meta:
        verbose_name = _("WeChat recipient")
        verbose_name_plural = _("WeChat recipients")
        constraints = [models.UniqueConstraint(fields=["appid", "openid"], name="wechat_openid_unique_per_app")]

    def __str__(self) -> str:
        return f"{self.user_id} {self.appid}:{self.openid[:6]}…"
