"""Staff scheduling pages. Thin: parse with a form, read with a selector, render.

Suspending a session cancels its appointments, which is booking's business, so the suspend form
on this page posts to ``booking:session_suspend`` (scheduling never imports booking)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.contrib.auth.decorators import login_required, permission_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from smartclinic.core import clock
from smartclinic.scheduling import selectors
from smartclinic.scheduling.choices import Period, SessionStatus
from smartclinic.scheduling.forms import SessionDayForm, SuspendForm
from smartclinic.scheduling.models import ClinicSession


def _session_row(session: ClinicSession, *, now: dt.datetime) -> dict[str, Any]:
    """One session with its slots' totals (the slots come prefetched)."""
    slots = list(session.slots.all())
    return {
        "id": session.public_id,
        "doctor_name": session.doctor.name,
        "doctor_title": session.doctor.get_title_display(),
        "period": Period(session.period).label,
        "starts_at": session.starts_at,
        "ends_at": session.ends_at,
        "room": session.room,
        "booked": sum(slot.booked for slot in slots),
        "capacity": sum(slot.capacity for slot in slots),
        "slot_count": len(slots),
        "walkin_used": session.walkin_used,
        "walkin_capacity": session.walkin_capacity,
        "status": session.status,
        "status_display": SessionStatus(session.status).label,
        "is_open": session.status == SessionStatus.OPEN,
        "suspend_reason": session.suspend_reason,
        "can_suspend": session.status == SessionStatus.OPEN and session.ends_at > now,
    }


def _by_department(sessions: list[ClinicSession], *, now: dt.datetime) -> list[dict[str, Any]]:
    groups: dict[int, dict[str, Any]] = {}
    for session in sessions:
        department = session.department
        group = groups.setdefault(
            department.pk,
            {"code": department.code, "name": department.name, "location": department.location, "sessions": []},
        )
        group["sessions"].append(_session_row(session, now=now))
    for group in groups.values():
        group["booked"] = sum(row["booked"] for row in group["sessions"] if row["is_open"])
        group["capacity"] = sum(row["capacity"] for row in group["sessions"] if row["is_open"])
    return list(groups.values())


@login_required(login_url="identity:staff_login")
@permission_required("scheduling.view_clinicsession", raise_exception=True)
def session_day(request: HttpRequest) -> HttpResponse:
    today = clock.today()
    data = request.GET.copy()
    if not data.get("date"):
        data["date"] = today.isoformat()
    form = SessionDayForm(data)
    date = today
    department = None
    if form.is_valid():
        date = form.cleaned_data["date"] or today
        department = form.cleaned_data["department"]
    sessions = list(
        selectors.session_list_for_day(date=date, department=department).order_by(
            "department__sort_order", "department__code", "starts_at", "doctor__name"
        )
    )
    context = {
        "form": form,
        "date": date,
        "is_today": date == today,
        "previous_day": date - dt.timedelta(days=1),
        "next_day": date + dt.timedelta(days=1),
        "department": department,
        "groups": _by_department(sessions, now=clock.now()),
        "suspend_form": SuspendForm(),
    }
    return render(request, "scheduling/session_day.html", context)
