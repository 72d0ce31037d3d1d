from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from smartclinic.feedback.models import ComplaintCase, ComplaintNote, Evaluation


class ComplaintNoteInline(admin.TabularInline[ComplaintNote, ComplaintCase]):
    model = ComplaintNote
    extra = 0
    can_delete = False
    readonly_fields = ("author", "text", "status_after", "created_at")

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Evaluation)
class EvaluationAdmin(admin.ModelAdmin[Evaluation]):
    list_display = ("created_at", "doctor", "department", "overall", "anonymous", "flagged_as_complaint")
    list_filter = ("overall", "department", "anonymous")
    search_fields = ("member__number", "doctor__name", "comment")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(ComplaintCase)
class ComplaintCaseAdmin(admin.ModelAdmin[ComplaintCase]):
    """Follow-ups are recorded on the complaints page (a service, audited)."""

    list_display = ("created_at", "reason", "status", "handled_by", "resolved_at")
    list_filter = ("status", "reason")
    readonly_fields = ("evaluation", "reason", "status", "handled_by", "resolved_at")
    inlines = [ComplaintNoteInline]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
