"""The clinic's day list (门诊日志): filters shared by the page and the API, and its CSV export.
Rows carry who came, when, and the diagnosis codes: never the clinical free text."""

from __future__ import annotations

import csv
import datetime as dt
import io
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from django.db.models import QuerySet
from django.http import HttpResponse
from django.utils import timezone
from django.utils.translation import gettext as _

from smartclinic.core import clock
from smartclinic.scheduling.models import Department, Doctor
from smartclinic.visits import selectors
from smartclinic.visits.choices import EncounterStatus
from smartclinic.visits.models import Encounter
from smartclinic.visits.presenters import visit_log_row, yuan

MAX_ROWS = 2000


@dataclass(frozen=True)
class VisitLogFilter:
    date: dt.date
    department: Department | None = None
    doctor: Doctor | None = None
    status: str | None = None
    code: str | None = None

    def as_audit(self) -> dict[str, Any]:
        return {
            "date": self.date,
            "department": self.department.code if self.department else None,
            "doctor": self.doctor.public_id if self.doctor else None,
            "status": self.status,
            "code": self.code,
        }

    def encounters(self) -> QuerySet[Encounter]:
        return selectors.visit_log(
            date=self.date, department=self.department, doctor=self.doctor, status=self.status, code_prefix=self.code
        )


def visit_log_filter(
    *,
    date: dt.date | None = None,
    department: str | None = None,
    doctor: UUID | None = None,
    status: str | None = None,
    code: str | None = None,
) -> VisitLogFilter:
    """Unknown departments or doctors filter to nothing rather than to everything."""
    dept = Department.objects.filter(code=department.strip().upper()).first() if department else None
    doc = Doctor.objects.filter(public_id=doctor).first() if doctor else None
    return VisitLogFilter(
        date=date or clock.today(),
        department=dept if department is None or dept is not None else Department(pk=0),
        doctor=doc if doctor is None or doc is not None else Doctor(pk=0),
        status=status if status in EncounterStatus.values else None,
        code=(code or "").strip().upper()[:8] or None,
    )


def _safe(value: Any) -> str:
    """A cell a spreadsheet will not run as a formula."""
    text = "" if value is None else str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def _time(value: dt.datetime | None) -> str:
    return timezone.localtime(value).strftime("%H:%M") if value else ""


def visit_log_csv(*, rows: list[dict[str, Any]], date: dt.date) -> HttpResponse:
    """UTF-8 with a byte-order mark, so Excel opens the Chinese text correctly."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(
        [
            _("Date"),
            _("Queue number"),
            _("Started"),
            _("Finished"),
            _("Status"),
            _("Department"),
            _("Doctor"),
            _("Patient"),
            _("Gender"),
            _("Age"),
            _("Member number"),
            _("Kind"),
            _("College"),
            _("Diagnosis codes"),
            _("Diagnoses"),
            _("Order lines"),
            _("Orders total (yuan)"),
        ]
    )
    for row in rows:
        patient = row["patient"]
        writer.writerow(
            [
                _safe(row["date"].isoformat()),
                _safe(row["ticket_code"]),
                _time(row["started_at"]),
                _time(row["finished_at"]),
                _safe(row["status_display"]),
                _safe(row["department_name"]),
                _safe(row["doctor_name"]),
                _safe(patient["name"]),
                _safe(patient["gender_display"]),
                "" if patient["age"] is None else patient["age"],
                _safe(patient["member_number"]),
                _safe(patient["member_kind_display"]),
                _safe(patient["college"]),
                ";".join(d["code"] for d in row["diagnoses"]),
                _safe(";".join(d["name_zh"] for d in row["diagnoses"])),
                row["order_count"],
                yuan(row["orders_total"]).lstrip("¥"),
            ]
        )
    response = HttpResponse("\ufeff" + buffer.getvalue(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="visits-{date.isoformat()}.csv"'
    response["Cache-Control"] = "no-store"
    return response


def visit_log_rows(filters: VisitLogFilter) -> list[dict[str, Any]]:
    return [visit_log_row(encounter) for encounter in filters.encounters()[:MAX_ROWS]]
