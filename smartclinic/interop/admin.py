from __future__ import annotations

import json
from typing import Any

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.utils.html import format_html
from django.utils.safestring import SafeString
from django.utils.translation import gettext_lazy as _

from smartclinic.core.actor import actor_from_request
from smartclinic.interop.models import HisExport
from smartclinic.interop.services import fhir_record_read_audit, his_export_resend


@admin.register(HisExport)
class HisExportAdmin(admin.ModelAdmin[HisExport]):
    """Read-only: the list shows where every hand-off stands; the actions resend through the
    service (audited). Opening one shows the bundle, a medical record: that read is audited."""

    list_display = (
        "public_id",
        "source_kind",
        "source_id",
        "status",
        "attempts",
        "next_attempt_at",
        "response_status",
        "sent_at",
        "created_at",
    )
    list_filter = ("status", "source_kind")
    search_fields = ("=public_id", "=source_id")
    date_hierarchy = "created_at"
    actions = ["resend", "rebuild_and_resend"]
    exclude = ("bundle_json",)

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        return [f.name for f in HisExport._meta.fields if f.name != "bundle_json"] + ["bundle_pretty"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_resend_permission(self, request: HttpRequest) -> bool:
        return bool(request.user.has_perm("interop.resend_hisexport"))

    @admin.display(description=_("FHIR bundle"))
    def bundle_pretty(self, obj: HisExport) -> SafeString:
        pretty = json.dumps(json.loads(obj.bundle_json), ensure_ascii=False, indent=2)
        return format_html('<pre style="white-space: pre-wrap">{}</pre>', pretty)

    def change_view(
        self, request: HttpRequest, object_id: str, form_url: str = "", extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        response = super().change_view(request, object_id, form_url, extra_context)
        if response.status_code == 200:
            export = self.get_object(request, object_id)
            if export is not None:
                fhir_record_read_audit(
                    actor=actor_from_request(request),
                    resource_type="Bundle",
                    subject_type="interop.hisexport",
                    subject_id=str(export.public_id),
                )
        return response

    def _resend(self, request: HttpRequest, queryset: QuerySet[HisExport], *, rebuild: bool) -> None:
        actor = actor_from_request(request)
        done, errors = 0, 0
        for export in queryset:
            try:
                his_export_resend(actor=actor, export=export, rebuild=rebuild)
                done += 1
            except Exception as exc:  # noqa: BLE001 - a rebuild whose sources are gone: report it, go on
                errors += 1
                self.message_user(request, f"{export.public_id}: {exc}", messages.ERROR)
        if done:
            self.message_user(
                request, _("%(count)d export(s) will be sent again shortly.") % {"count": done}, messages.SUCCESS
            )

    @admin.action(description=_("Send the selected exports again"), permissions=["resend"])
    def resend(self, request: HttpRequest, queryset: QuerySet[HisExport]) -> None:
        self._resend(request, queryset, rebuild=False)

    @admin.action(description=_("Rebuild from the current records and send again"), permissions=["resend"])
    def rebuild_and_resend(self, request: HttpRequest, queryset: QuerySet[HisExport]) -> None:
        self._resend(request, queryset, rebuild=True)
