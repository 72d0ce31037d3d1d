from django.db import models
from django.utils.translation import gettext_lazy as _


class ExportStatus(models.TextChoices):
    """Where an export stands. ``pending`` includes "the HIS was down, retrying with backoff";
    ``failed`` means the HIS rejected the bundle itself (a 4xx about its content) and a person
    must look (then resend). Nothing leaves this table: ``sent`` rows stay as the record."""

    PENDING = "pending", _("pending")
    SENT = "sent", _("sent")
    FAILED = "failed", _("failed")


class SourceKind(models.TextChoices):
    """What an export is about: one per source record, ever (re-sends reuse the row)."""

    PAID_ORDER = "paid_order", _("paid order")
    VISIT = "visit", _("finished visit")
