from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext_lazy as _

from smartclinic.core.actor import actor_from_request
from smartclinic.core.errors import ApplicationError
from smartclinic.identity.models import User
from smartclinic.notifications.choices import DeliveryStatus
from smartclinic.notifications.forms import MessageTemplateForm
from smartclinic.notifications.models import (
    Delivery,
    Message,
    MessageTemplate,
    NotificationPreference,
    WechatRecipient,
)
from smartclinic.notifications.services import delivery_requeue, message_template_update, wechat_recipient_attach
from smartclinic.notifications.template_defaults import VARIABLES


class ReadOnlyAdmin(admin.ModelAdmin[Any]):
    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(MessageTemplate)
class MessageTemplateAdmin(admin.ModelAdmin[MessageTemplate]):
    """The texts of messages, in Chinese and English. Edits are validated (only safe template tags)
    and audited; every kind and language is seeded, so there is nothing to add or delete."""

    form = MessageTemplateForm
    list_display = ("kind", "language", "title", "updated_at")
    list_filter = ("language", "kind")
    search_fields = ("title", "body")
    readonly_fields = ("kind", "language", "variables")
    fields = ("kind", "language", "variables", "title", "body")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    @admin.display(description=_("values you can use"))
    def variables(self, obj: MessageTemplate) -> str:
        names = VARIABLES.get(obj.kind, ())
        return format_html_join(" ", "<code>{{{{ {} }}}}</code>", ((name,) for name in names))

    def save_model(self, request: HttpRequest, obj: MessageTemplate, form: Any, change: bool) -> None:
        stored = MessageTemplate.objects.get(pk=obj.pk)
        message_template_update(actor=actor_from_request(request), template=stored, title=obj.title, body=obj.body)


class DeliveryInline(admin.TabularInline[Delivery, Message]):
    model = Delivery
    extra = 0
    can_delete = False
    fields = ("channel", "status", "attempts", "next_attempt_at", "sent_at", "address", "last_error")
    readonly_fields = fields

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Message)
class MessageAdmin(ReadOnlyAdmin):
    list_display = ("created_at", "recipient", "kind", "language", "title", "read_at")
    list_filter = ("kind", "language")
    search_fields = ("=recipient__username", "=recipient__member__number", "=public_id", "source_key")
    list_select_related = ("recipient",)
    date_hierarchy = "created_at"
    inlines = [DeliveryInline]


@admin.register(Delivery)
class DeliveryAdmin(ReadOnlyAdmin):
    list_display = ("created_at", "recipient", "kind", "channel", "status", "attempts", "next_attempt_at", "sent_at")
    list_filter = ("status", "channel", "message__kind")
    search_fields = ("=message__recipient__username", "=message__recipient__member__number", "=public_id")
    list_select_related = ("message", "message__recipient")
    date_hierarchy = "created_at"
    actions = ["requeue_failed"]

    @admin.display(description=_("recipient"))
    def recipient(self, obj: Delivery) -> str:
        return str(obj.message.recipient)

    @admin.display(description=_("kind"))
    def kind(self, obj: Delivery) -> str:
        return str(obj.message.get_kind_display())

    def has_requeue_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("notifications.requeue_delivery")

    @admin.action(description=_("Send the selected failed deliveries again"), permissions=["requeue"])
    def requeue_failed(self, request: HttpRequest, queryset: QuerySet[Delivery]) -> None:
        actor = actor_from_request(request)
        count = 0
        for delivery in queryset.filter(status=DeliveryStatus.FAILED):
            try:
                delivery_requeue(actor=actor, delivery=delivery)
            except ApplicationError:
                continue
            count += 1
        self.message_user(request, _("%(count)d delivery(ies) requeued.") % {"count": count}, messages.SUCCESS)


@admin.register(NotificationPreference)
class NotificationPreferenceAdmin(ReadOnlyAdmin):
    list_display = ("user", "language", "wechat", "email", "sms", "quiet_start", "quiet_end")
    list_filter = ("language", "wechat", "email", "sms")
    search_fields = ("=user__username",)
    list_select_related = ("user",)


@admin.register(WechatRecipient)
class WechatRecipientAdmin(admin.ModelAdmin[WechatRecipient]):
    """Until identity's WeChat sign-in fills this, staff attach an openid here for testing."""

    list_display = ("user", "appid", "masked_openid", "created_at")
    search_fields = ("=user__username", "=openid")
    list_select_related = ("user",)
    fields = ("user", "appid", "openid")
    raw_id_fields = ("user",)

    @admin.display(description=_("OpenID"))
    def masked_openid(self, obj: WechatRecipient) -> str:
        return format_html("<code>{}…</code>", obj.openid[:6])

    def save_model(self, request: HttpRequest, obj: WechatRecipient, form: Any, change: bool) -> None:
        user = User.objects.get(pk=obj.user_id)
        saved = wechat_recipient_attach(
            actor=actor_from_request(request), user=user, openid=obj.openid, appid=obj.appid
        )
        obj.pk = saved.pk
