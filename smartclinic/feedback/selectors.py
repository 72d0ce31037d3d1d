from __future__ import annotations

from django.db.models import QuerySet

from smartclinic.feedback.choices import ComplaintStatus
from smartclinic.feedback.models import ComplaintCase, Evaluation
from smartclinic.scheduling.models import Doctor


def evaluation_list_for_doctor(*, doctor: Doctor) -> QuerySet[Evaluation]:
    return Evaluation.objects.filter(doctor=doctor).select_related("member", "encounter").order_by("-created_at")


def complaint_list(*, status: str | None = None) -> QuerySet[ComplaintCase]:
    cases = ComplaintCase.objects.select_related(
        "evaluation__member", "evaluation__doctor", "evaluation__department", "evaluation__encounter", "handled_by"
    ).prefetch_related("notes__author")
    if status:
        cases = cases.filter(status=status)
    return cases.order_by("status", "-created_at")


def open_complaint_count() -> int:
    return ComplaintCase.objects.exclude(status=ComplaintStatus.RESOLVED).count()
