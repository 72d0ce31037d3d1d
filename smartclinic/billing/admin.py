from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from smartclinic.billing.models import (
    CampusCardAccount,
    CardTransaction,
    FeeCategory,
    FeeRule,
    Order,
    Payment,
    ReconciliationRun,
    Refund,
    WechatNotificationLog,
)


@admin.register(FeeRule)
class FeeRuleAdmin(admin.ModelAdmin[FeeRule]):
    """The fee schedule is the clinic's to set; a change applies to orders made afterwards."""

    list_display = ("department", "title", "amount", "active")
    list_filter = ("active", "title", "department")


@admin.register(FeeCategory)
class FeeCategoryAdmin(admin.ModelAdmin[FeeCategory]):
    list_display = ("code", "name", "member_kind", "registration_discount_percent", "visit_discount_percent", "active")
    list_filter = ("active", "member_kind")
    search_fields = ("code", "name")
    autocomplete_fields = ("members",)


class ReadOnlyAdmin(admin.ModelAdmin[Any]):
    """Money moves only through services (exactly once, audited); the admin shows it."""

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Order)
class OrderAdmin(ReadOnlyAdmin):
    list_display = ("out_trade_no", "kind", "member", "amount", "status", "paid_method", "paid_at", "created_at")
    list_filter = ("status", "kind", "paid_method")
    search_fields = ("=out_trade_no", "=public_id", "member__number", "member__name")
    date_hierarchy = "created_at"


@admin.register(Payment)
class PaymentAdmin(ReadOnlyAdmin):
    list_display = ("order", "method", "amount", "status", "provider_transaction_id", "paid_at")
    list_filter = ("method", "status")
    search_fields = ("=provider_transaction_id", "order__out_trade_no")


@admin.register(Refund)
class RefundAdmin(ReadOnlyAdmin):
    list_display = ("out_refund_no", "order", "method", "amount", "status", "attempts", "next_attempt_at", "created_at")
    list_filter = ("status", "method", "reason")
    search_fields = ("=out_refund_no", "order__out_trade_no")


@admin.register(CampusCardAccount)
class CampusCardAccountAdmin(ReadOnlyAdmin):
    list_display = ("member", "balance", "updated_at")
    search_fields = ("member__number", "member__name")


@admin.register(CardTransaction)
class CardTransactionAdmin(ReadOnlyAdmin):
    list_display = ("account", "kind", "amount", "balance_after", "order", "created_at")
    list_filter = ("kind",)


@admin.register(WechatNotificationLog)
class WechatNotificationLogAdmin(ReadOnlyAdmin):
    list_display = ("received_at", "event_type", "out_trade_no", "verified", "outcome", "detail", "remote_addr")
    list_filter = ("outcome", "verified", "event_type")
    search_fields = ("=out_trade_no", "=transaction_id", "=out_refund_no")


@admin.register(ReconciliationRun)
class ReconciliationRunAdmin(ReadOnlyAdmin):
    list_display = ("date", "provider", "their_rows", "our_rows", "matched", "created_at")
