"""Help me choose (按推荐): departments ranked by the triage table, then doctors ranked by the
department's fit, their specialties, how soon they have a free slot, whether the patient has seen
them before, and patients' ratings once a doctor has a few."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from django.utils import timezone

from smartclinic.booking.presenters import slot_brief
from smartclinic.booking.selectors import doctors_seen_by, next_free_slot_by_doctor
from smartclinic.booking.triage import SYMPTOMS, department_name, rank_departments, rank_doctors_by_specialty
from smartclinic.core import clock
from smartclinic.identity.models import Member
from smartclinic.scheduling.models import Department, Doctor, Slot

GENERAL_PRACTICE = "NK"
MAX_DEPARTMENTS = 3
MAX_DOCTORS = 6
MIN_RATINGS = 3  # fewer ratings say too little to rank by


def _english(language: str) -> bool:
    return language.lower().startswith("en")


def symptom_choices(*, language: str) -> list[dict[str, str]]:
    return [{"code": s.code, "label": s.en if _english(language) else s.zh} for s in SYMPTOMS]


@dataclass(frozen=True)
class _DoctorView:
    """Adapts a Doctor to the triage module's ``DoctorLike``."""

    doctor: Doctor
    specialties: Sequence[str]
    departments_codes: Sequence[str]


def _availability(slot: Slot | None, now: dt.datetime, language: str) -> tuple[float, str]:
    if slot is None:
        return -1.0, ("no free slot in the next two weeks" if _english(language) else "近两周暂无可约号源")
    when = timezone.localtime(slot.starts_at).strftime("%m-%d %H:%M")
    hours = (slot.starts_at - now).total_seconds() / 3600
    bonus = 1.0 if hours <= 24 else 0.5 if hours <= 72 else 0.0
    return bonus, (f"earliest free slot {when}" if _english(language) else f"最早可约 {when}")


def recommend(*, complaint: str, symptom_codes: Sequence[str], member: Member | None, language: str) -> dict[str, Any]:
    ranked = rank_departments(complaint=complaint, symptom_codes=symptom_codes, language=language)
    fallback = not ranked
    scores = {r.department_code: (r.score, r.reasons) for r in ranked[:MAX_DEPARTMENTS]}
    if fallback:
        reason = (
            "no clear match: internal medicine (general practice) will see you first"
            if _english(language)
            else "未能明确判断，建议先看内科（全科）"
        )
        scores = {GENERAL_PRACTICE: (1.0, [reason])}
    departments = {d.code: d for d in Department.objects.filter(code__in=scores, active=True)}
    department_out = [
        {
            "code": code,
            "name": (departments[code].name_en or department_name(code, language))
            if _english(language)
            else departments[code].name,
            "score": round(score, 2),
            "reasons": reasons,
        }
        for code, (score, reasons) in scores.items()
        if code in departments
    ]
    return {
        "departments": department_out,
        "doctors": _rank_doctors(
            complaint=complaint, ranked=ranked, scores=scores, departments=departments, member=member, language=language
        ),
        "fallback": fallback,
    }


def _rank_doctors(
    *,
    complaint: str,
    ranked: Sequence[Any],
    scores: dict[str, tuple[float, list[str]]],
    departments: dict[str, Department],
    member: Member | None,
    language: str,
) -> list[dict[str, Any]]:
    now = clock.now()
    doctors = list(
        Doctor.objects.filter(active=True, departments__in=departments.values())
        .distinct()
        .prefetch_related("departments")
    )
    views = [_DoctorView(d, list(d.specialties), [x.code for x in d.departments.all()]) for d in doctors]
    matched = [code for r in ranked for code in r.matched]
    specialty = {
        view.doctor.pk: (score, reasons)
        for view, score, reasons in rank_doctors_by_specialty(
            matched_symptoms=matched, complaint=complaint, doctors=views, language=language
        )
    }
    top_score = max((s for s, _ in scores.values()), default=1.0) or 1.0
    next_free = next_free_slot_by_doctor(doctors=doctors, now=now)
    seen = doctors_seen_by(member=member) if member is not None else set()
    results: list[dict[str, Any]] = []
    for view in views:
        code = next(c for c in view.departments_codes if c in scores)
        fit = 3.0 * scores[code][0] / top_score
        spec_score, spec_reasons = specialty.get(view.doctor.pk, (0.0, []))
        avail_score, avail_reason = _availability(next_free.get(view.doctor.pk), now, language)
        reasons = [*spec_reasons, avail_reason]
        total = fit + spec_score + avail_score
        if view.doctor.rating_count >= MIN_RATINGS and view.doctor.rating is not None:
            total += (view.doctor.rating - 3.0) * 0.3
            reasons.append(
                f"rated {view.doctor.rating}/5 by {view.doctor.rating_count} patients"
                if _english(language)
                else f"{view.doctor.rating_count} 位患者评分 {view.doctor.rating}/5"
            )
        if view.doctor.pk in seen:
            total += 0.5
            reasons.append("you have seen this doctor before" if _english(language) else "您曾就诊于该医生")
        results.append(
            {
                "id": view.doctor.public_id,
                "name": view.doctor.name,
                "title": view.doctor.get_title_display(),
                "department": code,
                "score": round(total, 2),
                "reasons": reasons,
                "next_free_slot": slot_brief(next_free.get(view.doctor.pk)),
            }
        )
    results.sort(key=lambda r: -r["score"])
    return results[:MAX_DOCTORS]
