"""The reference tables in the admin, read-only: they change through data migrations (see
docs/icd10.md). Visit records are deliberately not here: staff read them at the doctor's
station, where every read is audited."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from smartclinic.visits.models import Icd10Code, PriceItem


class ReadOnlyAdmin(admin.ModelAdmin[Any]):
    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Icd10Code)
class Icd10CodeAdmin(ReadOnlyAdmin):
    list_display = ("code", "clinical_code", "name_zh", "name_en", "chapter", "common")
    list_filter = ("chapter", "common")
    search_fields = ("code", "clinical_code", "name_zh", "name_en", "aliases")


@admin.register(PriceItem)
class PriceItemAdmin(ReadOnlyAdmin):
    list_display = ("code", "name", "kind", "specification", "unit", "unit_price", "active")
    list_filter = ("kind", "active")
    search_fields = ("code", "name", "name_en")
