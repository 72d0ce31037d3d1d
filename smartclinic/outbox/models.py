from __future__ import annotations

import uuid

from django.db import models
from django.utils.translation import gettext_lazy as _

from smartclinic.outbox.choices import MessageStatus


class OutboxMessage(models.Model):
    """A domain event written in the same transaction as the change that caused it."""

    event_id = models.UUIDField(_("event id"), default=uuid.uuid4, unique=True, editable=False)
    name = models.CharField(_("event"), max_length=100)
    payload = models.JSONField(_("payload"), default=dict)
    status = models.CharField(_("status"), max_length=10, choices=MessageStatus.choices, default=MessageStatus.PENDING)
    attempts = models.PositiveIntegerField(_("attempts"), default=0)
    available_at = models.DateTimeField(_("available at"))
    locked_until = models.DateTimeField(_("locked until"), null=True, blank=True)
    last_error = models.TextField(_("last error"), blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    delivered_at = models.DateTimeField(_("delivered at"), null=True, blank=True)

    class Meta:
        verbose_name = _("outbox message")
        verbose_name_plural = _("outbox messages")
        ordering = ["id"]
        indexes = [
            models.Index(fields=["available_at"], name="outbox_pending_due", condition=models.Q(status="pending")),
            models.Index(fields=["name"], name="outbox_name"),  # no LIKE index beside it
        ]

    def __str__(self) -> str:
        return f"{self.name} {self.event_id} ({self.status})"


class HandlerDelivery(models.Model):
    """That one handler has applied one message. Written in the handler's own transaction, so a
    redelivered message never applies an effect twice (the unique constraint makes the second
    attempt roll back)."""

    message = models.ForeignKey(OutboxMessage, on_delete=models.CASCADE, related_name="deliveries")
    handler = models.CharField(max_length=200)
    delivered_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("handler delivery")
        verbose_name_plural = _("handler deliveries")
        constraints = [models.UniqueConstraint(fields=["message", "handler"], name="outbox_delivery_once_per_handler")]

    def __str__(self) -> str:
        return f"{self.handler} ← {self.message_id}"
