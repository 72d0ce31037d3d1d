from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.urls import reverse
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from smartclinic.core.actor import actor_from_request
from smartclinic.queueing import screens
from smartclinic.queueing.models import QueueEvent, Screen, Ticket, Vitals


class ReadOnlyAdmin(admin.ModelAdmin[Any]):
    """Tickets move only through services (rules, audit, screens); the admin shows them."""

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Ticket)
class TicketAdmin(ReadOnlyAdmin):
    list_display = ("code", "session", "doctor", "member", "status", "priority", "late", "checked_in_at", "called_at")
    list_filter = ("status", "priority", "late", "session__department")
    search_fields = ("=code", "=public_id", "member__number", "member__name")
    list_select_related = ("session__doctor", "doctor", "member")
    date_hierarchy = "created_at"


@admin.register(QueueEvent)
class QueueEventAdmin(ReadOnlyAdmin):
    list_display = ("id", "created_at", "kind", "ticket", "department_id", "doctor_id")
    list_filter = ("kind",)
    list_select_related = ("ticket",)


@admin.register(Vitals)
class VitalsAdmin(ReadOnlyAdmin):
    list_display = ("ticket", "created_at", "measured_by")
    list_select_related = ("ticket", "measured_by")


def _say_address(request: HttpRequest, key: screens.ScreenKey) -> None:
    url = request.build_absolute_uri(reverse("queueing:screen", args=[key.token]))
    messages.warning(
        request,
        gettext("The address of “%(name)s” (shown only now): %(url)s") % {"name": key.screen.name, "url": url},
    )


@admin.register(Screen)
class ScreenAdmin(admin.ModelAdmin[Screen]):
    """Screens are added here or on the managers' page; the secret address is shown once."""

    list_display = ("name", "active", "token_hint", "last_seen_at")
    list_filter = ("active",)
    fields = ("name", "departments", "active", "token_hint", "last_seen_at")
    readonly_fields = ("token_hint", "last_seen_at", "active")
    filter_horizontal = ("departments",)
    actions = ("rotate_tokens", "switch_off", "switch_on")

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def save_model(self, request: HttpRequest, obj: Screen, form: Any, change: bool) -> None:
        if change:
            super().save_model(request, obj, form, change)
            return
        key = screens.screen_create(actor=actor_from_request(request), name=obj.name, departments=[])
        obj.pk = key.screen.pk
        obj.public_id = key.screen.public_id
        obj.token_hash = key.screen.token_hash
        obj.token_hint = key.screen.token_hint
        obj.created_at = key.screen.created_at
        obj._state.adding, obj._state.db = False, key.screen._state.db  # the admin saves its m2m on it
        _say_address(request, key)

    @admin.action(description=_("Give the selected screens a new address"), permissions=["change"])
    def rotate_tokens(self, request: HttpRequest, queryset: QuerySet[Screen]) -> None:
        for screen in queryset:
            _say_address(request, screens.screen_rotate_token(actor=actor_from_request(request), screen=screen))

    @admin.action(description=_("Switch the selected screens off"), permissions=["change"])
    def switch_off(self, request: HttpRequest, queryset: QuerySet[Screen]) -> None:
        for screen in queryset:
            screens.screen_set_active(actor=actor_from_request(request), screen=screen, active=False)

    @admin.action(description=_("Switch the selected screens on"), permissions=["change"])
    def switch_on(self, request: HttpRequest, queryset: QuerySet[Screen]) -> None:
        for screen in queryset:
            screens.screen_set_active(actor=actor_from_request(request), screen=screen, active=True)
