from django.db import models
from django.utils.translation import gettext_lazy as _

# The dimensions a patient rates, 1–5, besides the overall score.
DIMENSIONS = ("attitude", "explanation", "skill", "waiting", "environment", "process")
DIMENSION_LABELS = {
    "attitude": _("the doctor's attitude"),
    "explanation": _("the doctor's explanation"),
    "skill": _("the doctor's skill"),
    "waiting": _("waiting time"),
    "environment": _("environment"),
    "process": _("the process"),
}
TAGS = {
    "patient": _("patient and caring"),
    "clear": _("explained clearly"),
    "quick": _("short wait"),
    "clean": _("clean and tidy"),
    "long_wait": _("long wait"),
    "rushed": _("felt rushed"),
    "unclear": _("explanation unclear"),
    "rude": _("unfriendly"),
}
COMPLAINT_MAX_SCORE = 2


class ComplaintStatus(models.TextChoices):
    OPEN = "open", _("open")
    IN_PROGRESS = "in_progress", _("in progress")
    RESOLVED = "resolved", _("resolved")


class ComplaintReason(models.TextChoices):
    LOW_RATING = "low_rating", _("low rating")
    FLAGGED = "flagged", _("flagged as a complaint by the patient")
