"""Reads of the visits context. Scoping to the actor happens in access.py; these only fetch."""

from __future__ import annotations

import datetime as dt
import re
from uuid import UUID

from django.db.models import Prefetch, Q, QuerySet

from smartclinic.queueing.models import Ticket, Vitals
from smartclinic.queueing.selectors import ticket_list_for_doctor
from smartclinic.scheduling.choices import SessionStatus
from smartclinic.scheduling.models import ClinicSession, Department, Doctor
from smartclinic.visits.choices import EncounterStatus
from smartclinic.visits.models import ClinicalOrder, Encounter, EncounterDiagnosis, Icd10Code, PriceItem

ICD10_CODE_QUERY = re.compile(r"^[A-Za-z][0-9][0-9A-Za-z.]*$")


def _icd10_rank(code: Icd10Code, query: str) -> tuple[int, int, str]:
    upper = query.upper()
    if code.code == upper or code.clinical_code == upper:
        tier = 0
    elif code.code.startswith(upper) or code.clinical_code.startswith(upper):
        tier = 1
    elif code.name_zh.startswith(query):
        tier = 2
    elif query in code.name_zh:
        tier = 3
    else:  # an alias or the English name
        tier = 4
    return tier, 0 if code.common else 1, code.code


def icd10_search(*, query: str, limit: int = 20) -> list[Icd10Code]:
    """Codes by code prefix (J06, j06.9, J06.900), Chinese name or search term (上呼吸道, 感冒),
    or English name (bronchitis): exact code first, then code prefixes, names that start with
    the query, names that contain it, the rest; common codes first within each. An empty query
    gives the clinic's common codes."""
    query = query.strip()[:50]
    if not query:
        return list(Icd10Code.objects.filter(common=True).order_by("code")[:limit])
    condition = Q(name_zh__contains=query) | Q(aliases__contains=query) | Q(name_en__icontains=query)
    if ICD10_CODE_QUERY.match(query):
        condition |= Q(code__istartswith=query) | Q(clinical_code__istartswith=query)
    candidates = list(Icd10Code.objects.filter(condition))
    candidates.sort(key=lambda code: _icd10_rank(code, query))
    return candidates[:limit]


def icd10_by_codes(*, codes: list[str]) -> dict[str, Icd10Code]:
    upper = [code.strip().upper() for code in codes]
    found = Icd10Code.objects.filter(Q(code__in=upper) | Q(clinical_code__in=upper))
    by_code: dict[str, Icd10Code] = {}
    for row in found:
        by_code[row.code] = row
        by_code[row.clinical_code] = row
    return by_code


def price_item_list(*, kind: str | None = None) -> QuerySet[PriceItem]:
    items = PriceItem.objects.filter(active=True)
    if kind:
        items = items.filter(kind=kind)
    return items.order_by("kind", "sort_order", "code")


def price_item_by_code(*, code: str) -> PriceItem | None:
    return PriceItem.objects.filter(code=code.strip().upper(), active=True).first()


def latest_vitals(*, ticket: Ticket) -> Vitals | None:
    return Vitals.objects.filter(ticket=ticket).order_by("-created_at", "-id").first()


def _with_record(encounters: QuerySet[Encounter]) -> QuerySet[Encounter]:
    return encounters.select_related(
        "ticket", "appointment", "member", "dependant", "doctor", "department"
    ).prefetch_related(
        Prefetch("diagnoses", queryset=EncounterDiagnosis.objects.select_related("code").order_by("position")),
        Prefetch("orders", queryset=ClinicalOrder.objects.order_by("created_at", "id")),
    )


def encounter_get(*, pk: int) -> Encounter:
    return _with_record(Encounter.objects.filter(pk=pk)).get()


def encounter_of_ticket(*, ticket: Ticket) -> Encounter | None:
    return _with_record(Encounter.objects.filter(ticket=ticket)).first()


def encounter_by_public_id(*, public_id: UUID) -> Encounter | None:
    return _with_record(Encounter.objects.filter(public_id=public_id)).first()


def encounter_list_for_account(*, user_id: int) -> QuerySet[Encounter]:
    """The finished visits of a patient's account: their own and their dependants'."""
    return _with_record(Encounter.objects.filter(member__account_id=user_id, status=EncounterStatus.CLOSED)).order_by(
        "-finished_at"
    )


def visit_log(
    *,
    date: dt.date,
    department: Department | None = None,
    doctor: Doctor | None = None,
    status: str | None = None,
    code_prefix: str | None = None,
) -> QuerySet[Encounter]:
    """The clinic's visits of a day (门诊日志), for the day list and its CSV export."""
    encounters = Encounter.objects.filter(date=date)
    if department is not None:
        encounters = encounters.filter(department=department)
    if doctor is not None:
        encounters = encounters.filter(doctor=doctor)
    if status:
        encounters = encounters.filter(status=status)
    if code_prefix:
        encounters = encounters.filter(diagnoses__code__code__istartswith=code_prefix.strip()).distinct()
    return _with_record(encounters).order_by("started_at", "id")


def station_tickets(*, doctor: Doctor, date: dt.date) -> list[Ticket]:
    """The doctor's whole day at the station, in calling order (queueing's selector)."""
    return list(ticket_list_for_doctor(doctor=doctor, date=date))


def encounters_by_ticket(*, tickets: list[Ticket]) -> dict[int, Encounter]:
    return {e.ticket_id: e for e in Encounter.objects.filter(ticket__in=tickets)}


def transfer_targets(*, ticket: Ticket, date: dt.date) -> list[Doctor]:
    """Other doctors of the ticket's department consulting on ``date``."""
    department_id = ticket.session.department_id
    doctor_ids = (
        ClinicSession.objects.filter(date=date, department_id=department_id, status=SessionStatus.OPEN)
        .exclude(doctor_id=ticket.doctor_id)
        .values_list("doctor_id", flat=True)
    )
    return list(Doctor.objects.filter(pk__in=doctor_ids, active=True).order_by("name"))


def doctor_of_user(*, user_id: int) -> Doctor | None:
    return Doctor.objects.filter(user_id=user_id, active=True).first()
