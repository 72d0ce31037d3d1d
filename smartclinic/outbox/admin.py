from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from smartclinic.core.actor import actor_from_request
from smartclinic.outbox.choices import MessageStatus
from smartclinic.outbox.models import HandlerDelivery, OutboxMessage
from smartclinic.outbox.services import outbox_message_requeue


class HandlerDeliveryInline(admin.TabularInline[HandlerDelivery, OutboxMessage]):
    model = HandlerDelivery
    extra = 0
    can_delete = False
    readonly_fields = ("handler", "delivered_at")

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(OutboxMessage)
class OutboxMessageAdmin(admin.ModelAdmin[OutboxMessage]):
    """Read-only, except the one action that sends dead letters round again."""

    list_display = ("id", "name", "status", "attempts", "available_at", "created_at", "delivered_at")
    list_filter = ("status", "name")
    search_fields = ("event_id", "name", "last_error")
    inlines = [HandlerDeliveryInline]
    actions = ["requeue_dead_letters"]

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        return [field.name for field in OutboxMessage._meta.fields]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    @admin.action(description=_("Requeue the selected dead letters"))
    def requeue_dead_letters(self, request: HttpRequest, queryset: QuerySet[OutboxMessage]) -> None:
        actor = actor_from_request(request)
        count = 0
        for message in queryset.filter(status=MessageStatus.DEAD):
            outbox_message_requeue(actor=actor, message=message)
            count += 1
        self.message_user(request, _("%(count)d message(s) requeued.") % {"count": count}, messages.SUCCESS)
