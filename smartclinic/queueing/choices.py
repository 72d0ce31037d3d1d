from django.db import models
from django.utils.translation import gettext_lazy as _


class TicketStatus(models.TextChoices):
    WAITING = "waiting", _("waiting for check-in")
    ARRIVED = "arrived", _("checked in")
    CALLED = "called", _("called")
    IN_VISIT = "in_visit", _("in the consulting room")
    DONE = "done", _("done")
    SKIPPED = "skipped", _("skipped (no answer)")
    CANCELLED = "cancelled", _("cancelled")


OPEN_STATUSES = (
    TicketStatus.WAITING,
    TicketStatus.ARRIVED,
    TicketStatus.CALLED,
    TicketStatus.IN_VISIT,
    TicketStatus.SKIPPED,
)


class Priority(models.IntegerChoices):
    NORMAL = 0, _("normal")
    DISABILITY = 1, _("disability")
    URGENT = 2, _("urgent")
