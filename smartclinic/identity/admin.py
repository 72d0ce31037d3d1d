from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import path
from django.utils.translation import gettext_lazy as _

from smartclinic.core.actor import actor_from_request
from smartclinic.core.errors import ApplicationError
from smartclinic.identity.forms import RosterImportForm
from smartclinic.identity.models import ApiToken, Dependant, Member, User
from smartclinic.identity.roster import roster_import_csv
from smartclinic.identity.services import card_unbind


@admin.register(User)
class SmartClinicUserAdmin(UserAdmin[User]):
    list_display = ("username", "display_name", "is_active", "is_staff", "last_login")
    fieldsets = (*UserAdmin.fieldsets, (_("SmartClinic"), {"fields": ("display_name",)}))  # type: ignore[misc]


@admin.register(Member)
class MemberAdmin(admin.ModelAdmin[Member]):
    """Read-mostly: the roster comes from the campus databases through the import."""

    list_display = ("number", "name", "kind", "college", "class_name", "status", "account", "bound_at")
    list_filter = ("kind", "status", "college")
    search_fields = ("=number", "=card_number", "name")
    readonly_fields = ("public_id", "account", "bound_at", "synced_at", "national_id_hash")
    exclude = ("national_id",)
    actions = ["unbind_cards"]
    change_list_template = "admin/identity/member/change_list.html"

    def get_urls(self) -> list[Any]:
        custom = [path("import/", self.admin_site.admin_view(self.import_view), name="identity_member_import")]
        return custom + super().get_urls()

    def import_view(self, request: HttpRequest) -> HttpResponse:
        if not request.user.has_perm("identity.import_roster"):
            raise PermissionDenied
        form = RosterImportForm(request.POST or None, request.FILES or None)
        report = None
        if request.method == "POST" and form.is_valid():
            report = roster_import_csv(
                actor=actor_from_request(request),
                stream=form.cleaned_data["file"],
                full_sync=form.cleaned_data["full_sync"],
            )
        context = {
            **self.admin_site.each_context(request),
            "form": form,
            "report": report,
            "title": _("Import the campus roster"),
        }
        return render(request, "admin/identity/member/import.html", context)

    @admin.action(description=_("Unbind the cards of the selected members"), permissions=["unbind"])
    def unbind_cards(self, request: HttpRequest, queryset: QuerySet[Member]) -> None:
        actor = actor_from_request(request)
        count = 0
        for member in queryset.filter(account__isnull=False):
            try:
                card_unbind(actor=actor, member=member)
                count += 1
            except ApplicationError as exc:
                self.message_user(request, f"{member}: {exc.detail}", messages.WARNING)
        self.message_user(request, _("%(count)d card(s) unbound.") % {"count": count}, messages.SUCCESS)

    def has_unbind_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("identity.unbind_card")


@admin.register(Dependant)
class DependantAdmin(admin.ModelAdmin[Dependant]):
    list_display = ("name", "relation", "owner", "active")
    list_filter = ("relation", "active")
    search_fields = ("name", "owner__number", "owner__name")
    exclude = ("national_id",)
    readonly_fields = ("national_id_hash",)


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin[ApiToken]):
    list_display = ("public_id", "user", "created_at", "expires_at", "revoked_at", "last_used_at")
    readonly_fields = ("public_id", "user", "key_hash", "created_at", "expires_at", "last_used_at")
    search_fields = ("user__username",)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False
