from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from smartclinic.booking.models import Appointment, PersonQuota, WaitlistEntry


class ReadOnlyAdmin(admin.ModelAdmin[Any]):
    """Appointments change only through services (rules, audit, events); the admin shows them."""

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Appointment)
class AppointmentAdmin(ReadOnlyAdmin):
    list_display = (
        "public_id",
        "date",
        "department",
        "doctor",
        "member",
        "dependant",
        "status",
        "source",
        "fee",
        "created_at",
    )
    list_filter = ("status", "source", "department")
    date_hierarchy = "date"
    search_fields = ("=public_id", "member__number", "member__name")
    list_select_related = ("department", "doctor", "member", "dependant")


@admin.register(WaitlistEntry)
class WaitlistEntryAdmin(ReadOnlyAdmin):
    list_display = ("public_id", "date", "department", "session", "member", "status", "created_at")
    list_filter = ("status", "department")
    list_select_related = ("department", "session", "member")


@admin.register(PersonQuota)
class PersonQuotaAdmin(ReadOnlyAdmin):
    list_display = ("person_key", "live_count", "blocked_until")
    search_fields = ("=person_key",)
