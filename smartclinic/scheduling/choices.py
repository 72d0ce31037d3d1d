from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy


class DoctorTitle(models.TextChoices):
    """Clinical titles, from most to least senior; ``TITLE_RANK`` orders them."""

    CHIEF = "chief", _("Chief physician")
    ASSOCIATE_CHIEF = "associate_chief", _("Associate chief physician")
    ATTENDING = "attending", _("Attending physician")
    RESIDENT = "resident", _("Physician")


TITLE_RANK = {
    DoctorTitle.CHIEF: 4,
    DoctorTitle.ASSOCIATE_CHIEF: 3,
    DoctorTitle.ATTENDING: 2,
    DoctorTitle.RESIDENT: 1,
}

# Registration fee (fen) by title until billing's fee schedule prices a session.
DEFAULT_FEE_BY_TITLE = {
    DoctorTitle.CHIEF: 2000,
    DoctorTitle.ASSOCIATE_CHIEF: 1500,
    DoctorTitle.ATTENDING: 1000,
    DoctorTitle.RESIDENT: 500,
}


class Period(models.TextChoices):
    MORNING = "morning", _("morning")
    AFTERNOON = "afternoon", _("afternoon")
    EVENING = "evening", _("evening")


class Weekday(models.IntegerChoices):
    MONDAY = 0, _("Monday")
    TUESDAY = 1, _("Tuesday")
    WEDNESDAY = 2, _("Wednesday")
    THURSDAY = 3, _("Thursday")
    FRIDAY = 4, _("Friday")
    SATURDAY = 5, _("Saturday")
    SUNDAY = 6, _("Sunday")


class SessionStatus(models.TextChoices):
    OPEN = "open", pgettext_lazy("session status", "open")
    SUSPENDED = "suspended", pgettext_lazy("session status", "suspended")


class ExceptionKind(models.TextChoices):
    HOLIDAY = "holiday", _("holiday")
    LEAVE = "leave", _("leave")
