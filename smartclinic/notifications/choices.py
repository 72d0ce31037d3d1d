from django.db import models
from django.utils.translation import gettext_lazy as _


class MessageKind(models.TextChoices):
    """What a message is about. Each kind has a title/body template per language."""

    BOOKING_CONFIRMED = "booking_confirmed", _("booking confirmed")
    BOOKING_CANCELLED = "booking_cancelled", _("booking cancelled")
    BOOKING_CANCELLED_BY_CLINIC = "booking_cancelled_by_clinic", _("booking cancelled by the clinic")
    BOOKING_RESCHEDULED = "booking_rescheduled", _("booking rescheduled")
    WAITLIST_OFFERED = "waitlist_offered", _("waitlist place offered")
    REMINDER_EVENING = "reminder_evening", _("reminder the evening before")
    REMINDER_HOUR = "reminder_hour", _("reminder one hour before")
    ORDERS_TO_PAY = "orders_to_pay", _("doctor's orders to pay")
    PAYMENT_RECEIVED = "payment_received", _("payment received")
    REFUND_SUCCEEDED = "refund_succeeded", _("refund completed")
    TICKET_ISSUED = "ticket_issued", _("queue number issued")
    TURN_NEAR = "turn_near", _("your turn is near")
    TICKET_CALLED = "ticket_called", _("called to the consulting room")
    VISIT_SUMMARY = "visit_summary", _("visit finished")
    NO_SHOW_RECORDED = "no_show_recorded", _("no-show recorded")
    BOOKING_BLOCKED = "booking_blocked", _("booking blocked")


REMINDER_KINDS = frozenset({MessageKind.REMINDER_EVENING, MessageKind.REMINDER_HOUR})


class Channel(models.TextChoices):
    INBOX = "inbox", _("in-app inbox")
    WECHAT = "wechat", _("WeChat")
    EMAIL = "email", _("e-mail")
    SMS = "sms", _("SMS")


# Channels that go through a provider; the inbox is delivered when the message is created.
EXTERNAL_CHANNELS = (Channel.WECHAT, Channel.EMAIL, Channel.SMS)


class DeliveryStatus(models.TextChoices):
    PENDING = "pending", _("pending")
    SENT = "sent", _("sent")
    FAILED = "failed", _("failed")
    SKIPPED = "skipped", _("skipped")


class Language(models.TextChoices):
    ZH_HANS = "zh-hans", "简体中文"
    EN = "en", "English"
