"""The visit record (门诊病历) written at the doctor's station, the ICD-10 table its diagnoses come
from, and the clinic's price list its orders come from.

The narrative parts a patient may not want anyone to read by accident (history, the doctor's
notes) are encrypted at rest like other personal data (ADR 0002); they are never searched.
The chief complaint stays plain: syndrome surveillance classifies it.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from smartclinic.booking.models import Appointment
from smartclinic.core.crypto import EncryptedTextField
from smartclinic.core.models import BaseModel
from smartclinic.identity.models import Dependant, Member
from smartclinic.queueing.models import Ticket
from smartclinic.scheduling.models import Department, Doctor
from smartclinic.visits.choices import MAX_ORDER_QUANTITY, EncounterStatus, PriceItemKind


class Icd10Code(models.Model):
    """One row of the clinic's ICD-10 table (``data/icd10_campus.csv``, see docs/icd10.md)."""

    code = models.CharField(_("ICD-10 code"), max_length=8, unique=True)
    clinical_code = models.CharField(
        _("national clinical version code"), max_length=12, unique=True, help_text=_("国家临床版 2.0, e.g. J06.900")
    )
    name_zh = models.CharField(_("Chinese name"), max_length=100)
    name_en = models.CharField(_("English name"), max_length=200)
    chapter = models.CharField(_("chapter"), max_length=5)
    common = models.BooleanField(_("common at the campus clinic"), default=False)
    aliases = models.CharField(_("search terms"), max_length=200, blank=True, help_text=_("separated by ;"))

    class Meta:
        verbose_name = _("ICD-10 code")
        verbose_name_plural = _("ICD-10 codes")
        ordering = ["code"]

    def __str__(self) -> str:
        return f"{self.code} {self.name_zh}"


class PriceItem(BaseModel):
    """A test, medicine or procedure of the clinic's price list (prices in fen)."""

    code = models.CharField(_("code"), max_length=20, unique=True)
    name = models.CharField(_("name"), max_length=100)
    name_en = models.CharField(_("English name"), max_length=150, blank=True)
    kind = models.CharField(_("kind"), max_length=10, choices=PriceItemKind.choices)
    specification = models.CharField(_("specification"), max_length=60, blank=True)
    unit = models.CharField(_("unit"), max_length=10)
    unit_price = models.PositiveIntegerField(_("unit price (fen)"))
    active = models.BooleanField(_("active"), default=True)
    sort_order = models.PositiveSmallIntegerField(_("order"), default=0)

    class Meta:
        verbose_name = _("price item")
        verbose_name_plural = _("price list")
        ordering = ["kind", "sort_order", "code"]
        constraints = [models.CheckConstraint(condition=models.Q(unit_price__gt=0), name="price_item_price_positive")]

    def __str__(self) -> str:
        return f"{self.code} {self.name}"


class Encounter(BaseModel):
    """One visit at the doctor's station: opened when the doctor starts the ticket, closed when
    they finish it. A doctor reads and writes only the encounters of their own queue."""

    ticket = models.OneToOneField(Ticket, on_delete=models.PROTECT, related_name="encounter")
    appointment = models.OneToOneField(Appointment, on_delete=models.PROTECT, related_name="encounter")
    member = models.ForeignKey(Member, on_delete=models.PROTECT, related_name="encounters")
    dependant = models.ForeignKey(Dependant, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    doctor = models.ForeignKey(Doctor, on_delete=models.PROTECT, related_name="encounters")
    department = models.ForeignKey(Department, on_delete=models.PROTECT, related_name="encounters")
    date = models.DateField(_("date"))
    status = models.CharField(_("status"), max_length=10, choices=EncounterStatus.choices, default=EncounterStatus.OPEN)
    started_at = models.DateTimeField(_("started at"))
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)
    chief_complaint = models.CharField(_("chief complaint"), max_length=500, blank=True)
    history = EncryptedTextField(_("history of present illness"), blank=True)
    notes = EncryptedTextField(_("doctor's notes"), blank=True)
    advice = models.TextField(_("advice to the patient"), blank=True)
    # The nurse's latest measurement, copied when the visit is finished (see services).
    vitals = models.JSONField(_("vital signs"), default=dict, blank=True)

    class Meta:
        verbose_name = _("visit record")
        verbose_name_plural = _("visit records")
        ordering = ["-started_at"]
        permissions = [
            ("conduct_visit", _("Can see patients at the doctor's station")),
            ("export_visit_log", _("Can export the day's visit records")),
        ]
        constraints = [
            models.CheckConstraint(
                condition=~models.Q(status=EncounterStatus.CLOSED) | models.Q(finished_at__isnull=False),
                name="encounter_closed_has_finish_time",
            )
        ]
        indexes = [
            models.Index(fields=["date", "department"]),
            models.Index(fields=["doctor", "date"]),
            models.Index(fields=["member", "status"]),
        ]

    def __str__(self) -> str:
        return f"{self.public_id} {self.status}"

    @property
    def patient_name(self) -> str:
        return self.dependant.name if self.dependant_id and self.dependant else self.member.name

    @property
    def is_open(self) -> bool:
        return self.status == EncounterStatus.OPEN


class EncounterDiagnosis(models.Model):
    encounter = models.ForeignKey(Encounter, on_delete=models.CASCADE, related_name="diagnoses")
    code = models.ForeignKey(Icd10Code, on_delete=models.PROTECT, related_name="+")
    primary = models.BooleanField(_("primary diagnosis"), default=False)
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        verbose_name = _("diagnosis")
        verbose_name_plural = _("diagnoses")
        ordering = ["encounter", "position"]
        constraints = [
            models.UniqueConstraint(fields=["encounter", "code"], name="diagnosis_once_per_encounter"),
            models.UniqueConstraint(
                fields=["encounter"], condition=models.Q(primary=True), name="diagnosis_one_primary_per_encounter"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.encounter_id} {self.code_id}"


class ClinicalOrder(BaseModel):
    """A line the doctor ordered from the price list. Until it is sent to billing it is a draft
    the doctor may remove; once sent, ``billing_order_id`` names the order the patient pays.
    Name and price are copied, so a later price change never rewrites a visit."""

    encounter = models.ForeignKey(Encounter, on_delete=models.CASCADE, related_name="orders")
    price_item = models.ForeignKey(PriceItem, on_delete=models.PROTECT, related_name="+")
    code = models.CharField(_("code"), max_length=20)
    name = models.CharField(_("name"), max_length=100)
    kind = models.CharField(_("kind"), max_length=10, choices=PriceItemKind.choices)
    unit = models.CharField(_("unit"), max_length=10)
    unit_price = models.PositiveIntegerField(_("unit price (fen)"))
    quantity = models.PositiveSmallIntegerField(_("quantity"))
    amount = models.PositiveIntegerField(_("amount (fen)"))
    ordered_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    billing_order_id = models.UUIDField(_("billing order"), null=True, blank=True, db_index=True)
    sent_at = models.DateTimeField(_("sent to the patient at"), null=True, blank=True)

    class Meta:
        verbose_name = _("order line")
        verbose_name_plural = _("order lines")
        ordering = ["encounter", "created_at", "id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(quantity__gte=1, quantity__lte=MAX_ORDER_QUANTITY), name="order_quantity_in_range"
            ),
            models.CheckConstraint(
                condition=models.Q(amount=models.F("unit_price") * models.F("quantity")), name="order_amount_is_product"
            ),
            models.CheckConstraint(
                condition=models.Q(billing_order_id__isnull=True) | models.Q(sent_at__isnull=False),
                name="order_sent_has_time",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.code} ×{self.quantity}"

    @property
    def is_sent(self) -> bool:
        return self.billing_order_id is not None
