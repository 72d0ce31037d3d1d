from django.db import models
from django.utils.translation import gettext_lazy as _


class EncounterStatus(models.TextChoices):
    """FHIR-aligned (Encounter.status): ``in-progress`` while the doctor sees the patient,
    ``finished`` once the visit is closed."""

    OPEN = "open", _("in progress")
    CLOSED = "closed", _("finished")


class PriceItemKind(models.TextChoices):
    TEST = "test", _("test or examination")
    MEDICINE = "medicine", _("medicine")
    PROCEDURE = "procedure", _("procedure")


MAX_DIAGNOSES = 10
MAX_ORDER_QUANTITY = 99
MAX_ORDER_LINES = 30
# Longest accepted texts of the visit record (characters).
TEXT_LIMITS = {"chief_complaint": 500, "history": 5000, "notes": 5000, "advice": 2000}
