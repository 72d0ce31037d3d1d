from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _
from django_stubs_ext import StrOrPromise

from smartclinic.core.models import BaseModel
from smartclinic.feedback.choices import DIMENSIONS, ComplaintReason, ComplaintStatus
from smartclinic.identity.models import Member
from smartclinic.scheduling.models import Department, Doctor
from smartclinic.visits.models import Encounter


def _score(label: StrOrPromise) -> models.PositiveSmallIntegerField:
    return models.PositiveSmallIntegerField(label)


class Evaluation(BaseModel):
    """A patient's rating of one finished visit: once per visit (the unique encounter), within
    the window. ``anonymous`` hides the patient from the doctor, never from the clinic's managers."""

    encounter = models.OneToOneField(Encounter, on_delete=models.PROTECT, related_name="evaluation")
    member = models.ForeignKey(Member, on_delete=models.PROTECT, related_name="evaluations")
    doctor = models.ForeignKey(Doctor, on_delete=models.PROTECT, related_name="evaluations")
    department = models.ForeignKey(Department, on_delete=models.PROTECT, related_name="evaluations")
    overall = _score(_("overall"))
    attitude = _score(_("attitude"))
    explanation = _score(_("explanation"))
    skill = _score(_("skill"))
    waiting = _score(_("waiting time"))
    environment = _score(_("environment"))
    process = _score(_("process"))
    comment = models.TextField(_("comment"), blank=True, max_length=1000)
    tags = models.JSONField(_("tags"), default=list, blank=True)
    anonymous = models.BooleanField(_("anonymous to the doctor"), default=False)
    flagged_as_complaint = models.BooleanField(_("flagged as a complaint"), default=False)
    doctor_reply = models.TextField(_("doctor's reply"), blank=True, max_length=1000)
    replied_at = models.DateTimeField(_("replied at"), null=True, blank=True)

    class Meta:
        verbose_name = _("evaluation")
        verbose_name_plural = _("evaluations")
        ordering = ["-created_at"]
        permissions = [("handle_complaint", _("Can handle complaint cases"))]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(**{f"{name}__gte": 1, f"{name}__lte": 5}), name=f"evaluation_{name}_1_to_5"
            )
            for name in ("overall", *DIMENSIONS)
        ]
        indexes = [models.Index(fields=["doctor", "created_at"])]

    def __str__(self) -> str:
        return f"{self.encounter_id}: {self.overall}"


class ComplaintCase(BaseModel):
    """Opened by a low rating or a comment flagged as a complaint; a manager follows it up."""

    evaluation = models.OneToOneField(Evaluation, on_delete=models.PROTECT, related_name="complaint")
    reason = models.CharField(_("reason"), max_length=12, choices=ComplaintReason.choices)
    status = models.CharField(_("status"), max_length=12, choices=ComplaintStatus.choices, default=ComplaintStatus.OPEN)
    handled_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    resolved_at = models.DateTimeField(_("resolved at"), null=True, blank=True)

    class Meta:
        verbose_name = _("complaint case")
        verbose_name_plural = _("complaint cases")
        ordering = ["status", "-created_at"]

    def __str__(self) -> str:
        return f"{self.public_id} {self.status}"


class ComplaintNote(BaseModel):
    """One follow-up step a manager recorded on a complaint."""

    case = models.ForeignKey(ComplaintCase, on_delete=models.CASCADE, related_name="notes")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    text = models.TextField(_("follow-up"), max_length=2000)
    status_after = models.CharField(_("status after"), max_length=12, choices=ComplaintStatus.choices)

    class Meta:
        verbose_name = _("complaint follow-up")
        verbose_name_plural = _("complaint follow-ups")
        ordering = ["created_at"]

    def __str__(self) -> str:
        return f"{self.case_id} {self.created_at:%Y-%m-%d}"
