from __future__ import annotations

import datetime as dt
from typing import Any

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from smartclinic.core import clock
from smartclinic.core.actor import actor_from_request
from smartclinic.scheduling.models import ClinicSession, Department, Doctor, ScheduleException, ScheduleTemplate, Slot
from smartclinic.scheduling.services import sessions_generate


@admin.register(Department)
class DepartmentAdmin(admin.ModelAdmin[Department]):
    list_display = (
        "code",
        "name",
        "name_en",
        "location",
        "release_days_ahead",
        "release_time",
        "cancel_cutoff_minutes",
        "active",
    )
    search_fields = ("code", "name", "name_en")


class ScheduleTemplateInline(admin.TabularInline[ScheduleTemplate, Doctor]):
    model = ScheduleTemplate
    extra = 0
    fields = (
        "department",
        "weekday",
        "period",
        "start_time",
        "end_time",
        "slot_minutes",
        "patients_per_slot",
        "walkin_percent",
        "active",
    )


@admin.register(Doctor)
class DoctorAdmin(admin.ModelAdmin[Doctor]):
    list_display = ("name", "title", "room", "active")
    list_filter = ("title", "departments", "active")
    search_fields = ("name",)
    filter_horizontal = ("departments",)
    inlines = [ScheduleTemplateInline]


@admin.register(ScheduleTemplate)
class ScheduleTemplateAdmin(admin.ModelAdmin[ScheduleTemplate]):
    list_display = (
        "doctor",
        "department",
        "weekday",
        "period",
        "start_time",
        "end_time",
        "slot_minutes",
        "patients_per_slot",
        "walkin_percent",
        "active",
    )
    list_filter = ("department", "weekday", "period", "active")
    actions = ["generate_next_two_weeks"]

    @admin.action(description=_("Generate sessions for the next 14 days"))
    def generate_next_two_weeks(self, request: HttpRequest, queryset: QuerySet[ScheduleTemplate]) -> None:
        created = sessions_generate(
            actor=actor_from_request(request), start=clock.today() + dt.timedelta(days=1), days=14
        )
        self.message_user(request, _("%(count)d session(s) created.") % {"count": len(created)}, messages.SUCCESS)


@admin.register(ScheduleException)
class ScheduleExceptionAdmin(admin.ModelAdmin[ScheduleException]):
    list_display = ("date", "doctor", "kind", "reason")
    list_filter = ("kind",)
    date_hierarchy = "date"


class SlotInline(admin.TabularInline[Slot, ClinicSession]):
    model = Slot
    extra = 0
    can_delete = False
    readonly_fields = ("starts_at", "ends_at", "capacity", "booked")

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(ClinicSession)
class ClinicSessionAdmin(admin.ModelAdmin[ClinicSession]):
    """Read-mostly: sessions come from templates; suspension goes through the staff page
    (which cancels the appointments), never through editing the status here."""

    list_display = ("date", "period", "doctor", "department", "status", "opens_at", "walkin_capacity", "walkin_used")
    list_filter = ("status", "department", "period")
    date_hierarchy = "date"
    search_fields = ("doctor__name",)
    readonly_fields = (
        "status",
        "suspend_reason",
        "walkin_used",
        "no_shows_processed",
        "opens_at",
        "starts_at",
        "ends_at",
    )
    inlines = [SlotInline]

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
