from django.db import models
from django.utils.translation import gettext_lazy as _


class OrderKind(models.TextChoices):
    REGISTRATION = "registration", _("registration fee")
    VISIT = "visit", _("doctor's orders")


class OrderStatus(models.TextChoices):
    PENDING = "pending", _("awaiting payment")
    PAID = "paid", _("paid")
    REFUNDING = "refunding", _("refund in progress")
    REFUNDED = "refunded", _("refunded")
    CANCELLED = "cancelled", _("cancelled")


class PaymentMethod(models.TextChoices):
    CAMPUS_CARD = "campus_card", _("campus card")
    WECHAT = "wechat", _("WeChat Pay")
    CASH = "cash", _("cash")
    BANK_CARD = "bank_card", _("bank card")
    INSURANCE = "insurance", _("medical insurance")
    FREE = "free", _("free of charge")


# Taken by the patient from the phone.
ONLINE_METHODS = (PaymentMethod.CAMPUS_CARD, PaymentMethod.WECHAT)
# Recorded by the cashier at the counter (the card is tapped there too).
CASHIER_METHODS = (PaymentMethod.CASH, PaymentMethod.BANK_CARD, PaymentMethod.INSURANCE, PaymentMethod.CAMPUS_CARD)
# Refunds of these are handed back at the counter and completed by the cashier.
COUNTER_REFUND_METHODS = (PaymentMethod.CASH, PaymentMethod.BANK_CARD, PaymentMethod.INSURANCE)


class PaymentStatus(models.TextChoices):
    APPLIED = "applied", _("applied to the order")
    SURPLUS = "surplus", _("received but not needed (refunded)")


class LineKind(models.TextChoices):
    TEST = "test", _("test")
    MEDICINE = "medicine", _("medicine")
    PROCEDURE = "procedure", _("procedure")


class CardTransactionKind(models.TextChoices):
    TOP_UP = "top_up", _("top-up")
    PAYMENT = "payment", _("payment")
    REFUND = "refund", _("refund")


class TopUpMethod(models.TextChoices):
    CASH = "cash", _("cash")
    BANK_CARD = "bank_card", _("bank card")
    GRANT = "grant", _("grant (demo or clinic credit)")


class RefundStatus(models.TextChoices):
    REQUESTED = "requested", _("requested")
    PROCESSING = "processing", _("processing by the provider")
    SUCCEEDED = "succeeded", _("succeeded")
    FAILED = "failed", _("failed (will be retried)")


class RefundReason(models.TextChoices):
    APPOINTMENT_CANCELLED = "appointment_cancelled", _("the appointment was cancelled")
    SESSION_SUSPENDED = "session_suspended", _("the clinic suspended the session")
    NOT_NEEDED = "not_needed", _("the payment arrived for an order that no longer needed it")
    CASHIER = "cashier", _("refunded at the counter")


class NotificationOutcome(models.TextChoices):
    APPLIED = "applied", _("applied")
    DUPLICATE = "duplicate", _("already applied")
    SURPLUS = "surplus", _("recorded and refunded (order no longer payable)")
    REFUND_UPDATED = "refund_updated", _("refund updated")
    IGNORED = "ignored", _("ignored (nothing to do)")
    UNKNOWN_ORDER = "unknown_order", _("unknown order")
    MISMATCH = "mismatch", _("does not match our order")
    REJECTED_SIGNATURE = "rejected_signature", _("rejected: signature missing or invalid")
    REJECTED_STALE = "rejected_stale", _("rejected: timestamp too old")
    REJECTED_MALFORMED = "rejected_malformed", _("rejected: malformed")
    REJECTED_DECRYPT = "rejected_decrypt", _("rejected: resource cannot be decrypted")
    ERROR = "error", _("error (provider will retry)")


class DifferenceKind(models.TextChoices):
    MISSING_OURS = "missing_ours", _("in the provider's statement, not in our records")
    MISSING_THEIRS = "missing_theirs", _("in our records, not in the provider's statement")
    AMOUNT = "amount", _("amounts differ")
    STATUS = "status", _("states differ")
    TRANSACTION_ID = "transaction_id", _("transaction numbers differ")
    SUMMARY = "summary", _("the statement's summary does not add up")
