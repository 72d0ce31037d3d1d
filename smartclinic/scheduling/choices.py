from django.db import models
from django.utils.translation import gettext_lazy as _


class DoctorTitle(models.TextChoices):
    """Clinical titles, from most to least senior; ``rank`` orders them."""

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
