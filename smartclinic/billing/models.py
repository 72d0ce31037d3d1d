"""Billing's tables. Money is integer fen. Exactly-once lives in the database:

- an order moves pending → paid only through a conditional update, and at most one payment per
  order is ``applied`` (partial unique index);
- a provider's transaction id is unique per method, and every payment has a unique idempotency key;
- a card account's balance never goes below zero (check constraint; debits are conditional
  updates), and an order is debited or credited on a card at most once (unique per order and kind);
- a payment is refunded at most once (one refund per payment), and ``out_refund_no`` is unique.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _

from smartclinic.billing.choices import (
    CardTransactionKind,
    DifferenceKind,
    LineKind,
    NotificationOutcome,
    OrderKind,
    OrderStatus,
    PaymentMethod,
    PaymentStatus,
    RefundReason,
    RefundStatus,
    TopUpMethod,
)
from smartclinic.booking.models import Appointment
from smartclinic.core.models import BaseModel
from smartclinic.identity.choices import MemberKind
from smartclinic.identity.models import Dependant, Member
from smartclinic.scheduling.choices import DoctorTitle
from smartclinic.scheduling.models import Department


class FeeRule(BaseModel):
    """The registration fee by department and doctor title. The most specific active rule wins:
    department and title, then title alone, then department alone; without a rule the session's
    own fee applies."""

    department = models.ForeignKey(
        Department, verbose_name=_("department"), on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    title = models.CharField(_("doctor title"), max_length=20, choices=DoctorTitle.choices, blank=True)
    amount = models.PositiveIntegerField(_("registration fee (fen)"))
    active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("fee rule")
        verbose_name_plural = _("fee schedule")
        ordering = ["department__code", "title"]
        constraints = [
            models.CheckConstraint(
                condition=Q(department__isnull=False) | ~Q(title=""), name="fee_rule_department_or_title"
            ),
            models.UniqueConstraint(
                fields=["department", "title"],
                condition=Q(department__isnull=False) & ~Q(title=""),
                name="fee_rule_one_per_department_title",
            ),
            models.UniqueConstraint(
                fields=["title"], condition=Q(department__isnull=True), name="fee_rule_one_per_title"
            ),
            models.UniqueConstraint(fields=["department"], condition=Q(title=""), name="fee_rule_one_per_department"),
        ]

    def __str__(self) -> str:
        return f"{self.department or '*'} / {self.get_title_display() or '*'}: {self.amount}"


class FeeCategory(BaseModel):
    """A group the clinic charges less (e.g. students under the campus medical plan): every member
    of ``member_kind`` when it is set, and the members enrolled by hand. The largest discount a
    member qualifies for applies; dependants pay the full fee."""

    code = models.CharField(_("code"), max_length=30, unique=True)
    name = models.CharField(_("name"), max_length=100)
    member_kind = models.CharField(
        _("applies to every member of kind"), max_length=10, choices=MemberKind.choices, blank=True
    )
    members = models.ManyToManyField(Member, verbose_name=_("enrolled members"), blank=True, related_name="+")
    registration_discount_percent = models.PositiveSmallIntegerField(_("registration discount (%)"), default=0)
    visit_discount_percent = models.PositiveSmallIntegerField(_("discount on doctor's orders (%)"), default=0)
    active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("fee category")
        verbose_name_plural = _("fee categories")
        ordering = ["code"]
        constraints = [
            models.CheckConstraint(
                condition=Q(registration_discount_percent__lte=100) & Q(visit_discount_percent__lte=100),
                name="fee_category_discount_at_most_100",
            )
        ]

    def __str__(self) -> str:
        return self.name


class Order(BaseModel):
    kind = models.CharField(_("kind"), max_length=20, choices=OrderKind.choices)
    appointment = models.OneToOneField(
        Appointment, on_delete=models.PROTECT, null=True, blank=True, related_name="billing_order"
    )
    encounter_id = models.UUIDField(_("encounter"), null=True, blank=True, db_index=True)
    member = models.ForeignKey(Member, on_delete=models.PROTECT, related_name="billing_orders")
    dependant = models.ForeignKey(Dependant, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    description = models.CharField(_("description"), max_length=120)
    list_amount = models.PositiveIntegerField(_("list price (fen)"))
    discount = models.PositiveIntegerField(_("discount (fen)"), default=0)
    amount = models.PositiveIntegerField(_("amount due (fen)"))
    category_code = models.CharField(_("fee category"), max_length=30, blank=True)
    status = models.CharField(_("status"), max_length=12, choices=OrderStatus.choices, default=OrderStatus.PENDING)
    out_trade_no = models.CharField(_("merchant order number"), max_length=32, unique=True)
    paid_at = models.DateTimeField(_("paid at"), null=True, blank=True)
    paid_method = models.CharField(_("paid by"), max_length=20, choices=PaymentMethod.choices, blank=True)
    wechat_prepay_id = models.CharField(max_length=64, blank=True)
    wechat_prepay_at = models.DateTimeField(null=True, blank=True)
    wechat_checked_at = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        verbose_name = _("order")
        verbose_name_plural = _("orders")
        ordering = ["-created_at"]
        permissions = [
            ("take_payment", _("Can take payments at the cashier")),
            ("top_up_card", _("Can top up a campus card account")),
            ("complete_refund", _("Can complete refunds handed back at the counter")),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(amount=F("list_amount") - F("discount")), name="order_amount_is_net"),
            models.CheckConstraint(
                condition=~Q(kind=OrderKind.REGISTRATION) | Q(appointment__isnull=False),
                name="order_registration_has_appointment",
            ),
        ]
        indexes = [
            models.Index(fields=["member", "status"]),
            models.Index(fields=["status", "wechat_prepay_at"]),
        ]

    def __str__(self) -> str:
        return f"{self.out_trade_no} {self.status}"


class OrderLine(models.Model):
    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="lines")
    position = models.PositiveSmallIntegerField()
    code = models.CharField(_("code"), max_length=40)
    name = models.CharField(_("name"), max_length=120)
    kind = models.CharField(_("kind"), max_length=12, choices=LineKind.choices)
    unit_price = models.PositiveIntegerField(_("unit price (fen)"))
    quantity = models.PositiveIntegerField(_("quantity"))
    amount = models.PositiveIntegerField(_("amount (fen)"))

    class Meta:
        verbose_name = _("order line")
        verbose_name_plural = _("order lines")
        ordering = ["order", "position"]
        constraints = [
            models.CheckConstraint(condition=Q(quantity__gte=1), name="order_line_quantity_positive"),
            models.CheckConstraint(
                condition=Q(amount=F("unit_price") * F("quantity")), name="order_line_amount_is_price_times_quantity"
            ),
            models.UniqueConstraint(fields=["order", "position"], name="order_line_unique_position"),
        ]

    def __str__(self) -> str:
        return f"{self.code} × {self.quantity}"


class Payment(BaseModel):
    order = models.ForeignKey(Order, on_delete=models.PROTECT, related_name="payments")
    method = models.CharField(_("method"), max_length=20, choices=PaymentMethod.choices)
    amount = models.PositiveIntegerField(_("amount (fen)"))
    status = models.CharField(_("status"), max_length=10, choices=PaymentStatus.choices, default=PaymentStatus.APPLIED)
    provider_transaction_id = models.CharField(_("provider transaction id"), max_length=64, null=True, blank=True)
    idempotency_key = models.CharField(max_length=120, unique=True)
    reference = models.CharField(_("reference"), max_length=64, blank=True)
    paid_at = models.DateTimeField(_("paid at"))
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        verbose_name = _("payment")
        verbose_name_plural = _("payments")
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["order"], condition=Q(status=PaymentStatus.APPLIED), name="payment_one_applied_per_order"
            ),
            models.UniqueConstraint(
                fields=["method", "provider_transaction_id"],
                condition=Q(provider_transaction_id__isnull=False),
                name="payment_provider_transaction_once",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.method} {self.amount} → {self.order_id} ({self.status})"


class CampusCardAccount(BaseModel):
    """The member's stored value (校园卡余额), in fen."""

    member = models.OneToOneField(Member, on_delete=models.PROTECT, related_name="card_account")
    balance = models.BigIntegerField(_("balance (fen)"), default=0)

    class Meta:
        verbose_name = _("campus card account")
        verbose_name_plural = _("campus card accounts")
        constraints = [models.CheckConstraint(condition=Q(balance__gte=0), name="card_balance_never_negative")]

    def __str__(self) -> str:
        return f"{self.member_id}: {self.balance}"


class CardTransaction(BaseModel):
    """One line of the card statement, with the balance right after it."""

    account = models.ForeignKey(CampusCardAccount, on_delete=models.PROTECT, related_name="transactions")
    kind = models.CharField(_("kind"), max_length=10, choices=CardTransactionKind.choices)
    amount = models.PositiveIntegerField(_("amount (fen)"))
    balance_after = models.BigIntegerField(_("balance after (fen)"))
    order = models.ForeignKey(Order, on_delete=models.PROTECT, null=True, blank=True, related_name="card_transactions")
    top_up_method = models.CharField(_("paid in by"), max_length=12, choices=TopUpMethod.choices, blank=True)
    idempotency_key = models.CharField(max_length=120, null=True, blank=True, unique=True)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        verbose_name = _("card transaction")
        verbose_name_plural = _("card transactions")
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["order", "kind"], condition=Q(order__isnull=False), name="card_transaction_once_per_order_kind"
            ),
            models.CheckConstraint(condition=Q(amount__gt=0), name="card_transaction_amount_positive"),
            models.CheckConstraint(condition=Q(balance_after__gte=0), name="card_transaction_balance_not_negative"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.amount}"


class Refund(BaseModel):
    """Giving one payment back. Its own states: requested → (processing →) succeeded, or failed →
    retried. Card refunds succeed at once; WeChat refunds are submitted by the refund job (the
    same ``out_refund_no`` on every retry, which WeChat Pay treats as one refund); counter refunds
    wait for the cashier."""

    payment = models.OneToOneField(Payment, on_delete=models.PROTECT, related_name="refund")
    order = models.ForeignKey(Order, on_delete=models.PROTECT, related_name="refunds")
    method = models.CharField(_("method"), max_length=20, choices=PaymentMethod.choices)
    amount = models.PositiveIntegerField(_("amount (fen)"))
    status = models.CharField(_("status"), max_length=12, choices=RefundStatus.choices, default=RefundStatus.REQUESTED)
    reason = models.CharField(_("reason"), max_length=30, choices=RefundReason.choices)
    out_refund_no = models.CharField(_("merchant refund number"), max_length=64, unique=True)
    provider_refund_id = models.CharField(_("provider refund id"), max_length=64, blank=True)
    attempts = models.PositiveIntegerField(_("attempts"), default=0)
    last_error = models.TextField(_("last error"), blank=True)
    next_attempt_at = models.DateTimeField(_("next attempt"), null=True, blank=True)
    submitted_at = models.DateTimeField(_("submitted at"), null=True, blank=True)
    completed_at = models.DateTimeField(_("completed at"), null=True, blank=True)
    completed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        verbose_name = _("refund")
        verbose_name_plural = _("refunds")
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["status", "next_attempt_at"])]

    def __str__(self) -> str:
        return f"{self.out_refund_no} {self.status}"


class WechatNotificationLog(models.Model):
    """Every notification that reached the notify URL, forged ones too, and what became of it."""

    received_at = models.DateTimeField(_("received at"), auto_now_add=True, db_index=True)
    headers = models.JSONField(_("headers"), default=dict)
    body = models.TextField(_("body"))
    remote_addr = models.CharField(_("from"), max_length=64, blank=True)
    verified = models.BooleanField(_("signature verified"), default=False)
    notification_id = models.CharField(_("notification id"), max_length=64, blank=True)
    event_type = models.CharField(_("event"), max_length=40, blank=True)
    out_trade_no = models.CharField(max_length=32, blank=True, db_index=True)
    transaction_id = models.CharField(max_length=64, blank=True)
    out_refund_no = models.CharField(max_length=64, blank=True)
    outcome = models.CharField(_("outcome"), max_length=20, choices=NotificationOutcome.choices)
    detail = models.CharField(_("detail"), max_length=300, blank=True)

    class Meta:
        verbose_name = _("WeChat Pay notification")
        verbose_name_plural = _("WeChat Pay notifications")
        ordering = ["-received_at", "-id"]

    def __str__(self) -> str:
        return f"{self.received_at:%Y-%m-%d %H:%M:%S} {self.event_type} {self.outcome}"


class ReconciliationRun(BaseModel):
    """One comparison of our WeChat payments and refunds of a day against WeChat's trade bill."""

    date = models.DateField(_("date"), db_index=True)
    provider = models.CharField(_("provider"), max_length=20, default=PaymentMethod.WECHAT)
    statement_sha256 = models.CharField(max_length=64)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    their_rows = models.PositiveIntegerField(_("rows in the statement"), default=0)
    our_rows = models.PositiveIntegerField(_("our records"), default=0)
    matched = models.PositiveIntegerField(_("matched"), default=0)
    their_total = models.BigIntegerField(_("statement total (fen)"), default=0)
    our_total = models.BigIntegerField(_("our total (fen)"), default=0)
    summary = models.JSONField(_("statement summary"), default=dict)

    class Meta:
        verbose_name = _("reconciliation run")
        verbose_name_plural = _("reconciliation runs")
        ordering = ["-date", "-created_at"]
        permissions = [("run_reconciliation", _("Can reconcile payments against the provider's statement"))]

    def __str__(self) -> str:
        return f"{self.provider} {self.date}"


class ReconciliationDifference(models.Model):
    run = models.ForeignKey(ReconciliationRun, on_delete=models.CASCADE, related_name="differences")
    kind = models.CharField(_("kind"), max_length=20, choices=DifferenceKind.choices)
    record = models.CharField(_("record"), max_length=10, default="payment")
    out_trade_no = models.CharField(max_length=32, blank=True)
    transaction_id = models.CharField(max_length=64, blank=True)
    out_refund_no = models.CharField(max_length=64, blank=True)
    our_amount = models.BigIntegerField(null=True, blank=True)
    their_amount = models.BigIntegerField(null=True, blank=True)
    our_status = models.CharField(max_length=20, blank=True)
    their_status = models.CharField(max_length=20, blank=True)
    note = models.CharField(max_length=200, blank=True)

    class Meta:
        verbose_name = _("reconciliation difference")
        verbose_name_plural = _("reconciliation differences")
        ordering = ["run", "id"]

    def __str__(self) -> str:
        return f"{self.kind} {self.out_trade_no or self.out_refund_no}"
