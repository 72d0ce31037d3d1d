from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from smartclinic.core.models import BaseModel
from smartclinic.scheduling.choices import DoctorTitle


class Department(BaseModel):
    code = models.CharField(_("code"), max_length=10, unique=True, help_text=_("Also the queue-number prefix, e.g. NK."))
    name = models.CharField(_("name"), max_length=50)
    name_en = models.CharField(_("English name"), max_length=80, blank=True)
    description = models.TextField(_("description"), blank=True)
    location = models.CharField(_("location"), max_length=100, blank=True)
    opening_hours = models.CharField(_("opening hours"), max_length=100, blank=True)
    active = models.BooleanField(_("active"), default=True)
    sort_order = models.PositiveSmallIntegerField(_("order"), default=0)

    class Meta:
        verbose_name = _("department")
        verbose_name_plural = _("departments")
        ordering = ["sort_order", "code"]

    def __str__(self) -> str:
        return self.name


class Doctor(BaseModel):
    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="doctor")
    name = models.CharField(_("name"), max_length=100)
    title = models.CharField(_("title"), max_length=20, choices=DoctorTitle.choices)
    departments = models.ManyToManyField(Department, related_name="doctors", verbose_name=_("departments"))
    specialties = models.JSONField(_("specialties"), default=list, blank=True, help_text=_("Tags, e.g. [\"胃炎\", \"感冒\"]."))
    biography = models.TextField(_("biography"), blank=True)
    photo_url = models.CharField(_("photo URL"), max_length=200, blank=True)
    room = models.CharField(_("consulting room"), max_length=30, blank=True)
    active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("doctor")
        verbose_name_plural = _("doctors")
        ordering = ["name"]

    def __str__(self) -> str:
        return f"{self.name} ({self.get_title_display()})"
