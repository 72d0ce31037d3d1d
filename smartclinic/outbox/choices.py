from django.db import models
from django.utils.translation import gettext_lazy as _


class MessageStatus(models.TextChoices):
    PENDING = "pending", _("pending")
    DONE = "done", _("delivered")
    DEAD = "dead", _("dead letter")
