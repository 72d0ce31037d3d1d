"""The demo clinic's timetable and a little history.

Every doctor gets the weekly templates of the catalogue (``DoctorPlan.week``); the sessions of the
coming two weeks come from them through ``sessions_generate``, after a clinic holiday and a few
doctors' leave have been entered. ``doctor1`` works the whole day today, whatever day the demo
starts (one-off sessions fill the periods the templates leave free), and today's sessions are
already open for booking. ``patient1`` has a few past visits.

Everything is idempotent: templates are keyed by doctor, weekday and period; sessions by doctor,
date and period (``sessions_generate`` skips existing ones); days off are only added where no
session exists yet; the history only when ``patient1`` has none.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field

from django.db.models import F
from django.utils import timezone

from smartclinic.booking.choices import AppointmentSource, AppointmentStatus
from smartclinic.booking.models import Appointment, PersonQuota, person_key_for
from smartclinic.core import clock
from smartclinic.core.actor import Actor
from smartclinic.demo.catalogue import CLINIC_DEPARTMENTS, PER_SLOT_BY_TITLE, ClinicDepartment
from smartclinic.identity.models import Member
from smartclinic.scheduling.choices import DoctorTitle, ExceptionKind, Period
from smartclinic.scheduling.models import ClinicSession, Department, Doctor, ScheduleException, ScheduleTemplate, Slot
from smartclinic.scheduling.services import session_create_one_off, sessions_generate

HORIZON_DAYS = 14
DEMO_DOCTOR = "doctor1"  # works every period today, so the demo can book at once
WEEKDAYS = {"Mon": 0, "Tue": 1, "Wed": 2, "Thu": 3, "Fri": 4, "Sat": 5, "Sun": 6}
PERIODS = {"AM": Period.MORNING, "PM": Period.AFTERNOON, "EVE": Period.EVENING}

# Days off in the horizon, as (days from today, doctor or None for the whole clinic, reason); the
# clinic's holiday moves to the next Monday from a weekend. Never today and never doctor1: the
# demo needs doctor1 today.
DAYS_OFF: tuple[tuple[int, str | None, str], ...] = (
    (10, None, "全院业务培训，停诊一天"),
    (1, "doctor2", "外出参加学术会议"),
    (2, "doctor2", "外出参加学术会议"),
    (3, "doctor2", "外出参加学术会议"),
    (4, "doctor12", "年休假"),
    (6, "doctor20", "外出培训"),
    (7, "doctor20", "外出培训"),
)
# patient1's past visits: (days ago, doctor, period).
PAST_VISITS: tuple[tuple[int, str, str], ...] = (
    (62, "doctor1", Period.MORNING),
    (33, "doctor10", Period.AFTERNOON),
    (15, "doctor13", Period.MORNING),
    (6, "doctor3", Period.AFTERNOON),
)


@dataclass(frozen=True)
class TemplatePlan:
    """One weekly consulting period of one demo doctor."""

    doctor: str  # the account: doctor1, doctor2, ...
    department: str  # code
    weekday: int
    period: str
    start: dt.time
    end: dt.time
    slot_minutes: int
    per_slot: int
    walkin_percent: int


def parse_week(week: str) -> list[tuple[int, str, str | None]]:
    """``"Mon AM, Wed PM PF"`` → ``[(0, "morning", None), (2, "afternoon", "PF")]``."""
    periods: list[tuple[int, str, str | None]] = []
    for item in filter(None, (part.strip() for part in week.split(","))):
        day, period, *rest = item.split()
        if len(rest) > 1:
            raise ValueError(f"bad weekly period {item!r}")
        periods.append((WEEKDAYS[day], PERIODS[period], rest[0] if rest else None))
    return periods


def _hours(department: ClinicDepartment, period: str) -> tuple[dt.time, dt.time]:
    for name, start, end in department.periods:
        if name == period:
            return dt.time.fromisoformat(start), dt.time.fromisoformat(end)
    raise ValueError(f"{department.code} has no {period} period")


def template_plans() -> list[TemplatePlan]:
    """The weekly templates of every demo doctor, in catalogue order (doctorN is the N-th doctor)."""
    departments = {department.code: department for department in CLINIC_DEPARTMENTS}
    plans = []
    number = 0
    for home in CLINIC_DEPARTMENTS:
        for doctor in home.doctors:
            number += 1
            for weekday, period, code in parse_week(doctor.week):
                department = departments[code or home.code]
                start, end = _hours(department, period)
                plans.append(
                    TemplatePlan(
                        doctor=f"doctor{number}",
                        department=department.code,
                        weekday=weekday,
                        period=period,
                        start=start,
                        end=end,
                        slot_minutes=doctor.slot_minutes or department.slot_minutes,
                        per_slot=department.per_slot or PER_SLOT_BY_TITLE[doctor.title],
                        walkin_percent=department.walkin_percent,
                    )
                )
    return plans


@dataclass
class ScheduleReport:
    templates_created: int = 0
    days_off_created: int = 0
    sessions_created: int = 0
    past_visits_created: int = 0
    horizon: tuple[dt.date, dt.date] | None = None
    demo_doctor_today: list[ClinicSession] = field(default_factory=list)


def _seed_templates(*, doctors: dict[str, Doctor], departments: dict[str, Department]) -> int:
    existing = set(ScheduleTemplate.objects.values_list("doctor_id", "weekday", "period"))
    new = [
        ScheduleTemplate(
            doctor=doctors[plan.doctor],
            department=departments[plan.department],
            weekday=plan.weekday,
            period=plan.period,
            start_time=plan.start,
            end_time=plan.end,
            slot_minutes=plan.slot_minutes,
            patients_per_slot=plan.per_slot,
            walkin_percent=plan.walkin_percent,
        )
        for plan in template_plans()
        if (doctors[plan.doctor].pk, plan.weekday, plan.period) not in existing
    ]
    ScheduleTemplate.objects.bulk_create(new)
    return len(new)


def _seed_days_off(*, doctors: dict[str, Doctor], today: dt.date) -> int:
    """Enter the days off before the sessions are generated; a day that already has sessions
    (an earlier run) or a horizon that already has such days off is left alone."""
    end = today + dt.timedelta(days=HORIZON_DAYS - 1)
    in_horizon = ScheduleException.objects.filter(date__gte=today, date__lte=end)
    holiday_planned = in_horizon.filter(doctor__isnull=True).exists()
    on_leave = set(in_horizon.filter(doctor__isnull=False).values_list("doctor_id", flat=True))
    created = 0
    for days, username, reason in DAYS_OFF:
        date = today + dt.timedelta(days=days)
        doctor = doctors[username] if username is not None else None
        while doctor is None and date.weekday() >= WEEKDAYS["Sat"]:  # a holiday on a working day
            date += dt.timedelta(days=1)
        sessions = ClinicSession.objects.filter(date=date)
        if doctor is None:
            if holiday_planned or sessions.exists():
                continue
            kind = ExceptionKind.HOLIDAY
        else:
            if doctor.pk in on_leave or sessions.filter(doctor=doctor).exists():
                continue
            kind = ExceptionKind.LEAVE
        ScheduleException.objects.create(date=date, doctor=doctor, kind=kind, reason=reason)
        created += 1
    return created


def _demo_doctor_today(*, actor: Actor, doctor: Doctor, department: ClinicDepartment, today: dt.date) -> int:
    """doctor1 works every period of the department today: one-off sessions fill the periods that
    the templates leave free. Returns how many were created."""
    taken = set(ClinicSession.objects.filter(doctor=doctor, date=today).values_list("period", flat=True))
    created = 0
    for period, _start, _end in department.periods:
        if period in taken:
            continue
        start, end = _hours(department, period)
        session_create_one_off(
            actor=actor,
            doctor=doctor,
            department=Department.objects.get(code=department.code),
            date=today,
            period=period,
            start=start,
            end=end,
            slot_minutes=department.slot_minutes,
            per_slot=department.per_slot or PER_SLOT_BY_TITLE[DoctorTitle(doctor.title)],
            walkin_percent=department.walkin_percent,
        )
        created += 1
    return created


def _open_today(*, today: dt.date, now: dt.datetime) -> None:
    """Today's sessions are open for booking now (slots already started are simply not bookable)."""
    midnight = timezone.make_aware(dt.datetime.combine(today, dt.time.min))
    ClinicSession.objects.filter(date=today, opens_at__gt=now).update(opens_at=midnight)


def _weekday_before(date: dt.date) -> dt.date:
    return date - dt.timedelta(days=1) if date.weekday() == WEEKDAYS["Sun"] else date


def _past_session(
    *, actor: Actor, doctor: Doctor, department: ClinicDepartment, date: dt.date, period: str
) -> ClinicSession:
    session = ClinicSession.objects.filter(doctor=doctor, date=date, period=period).first()
    if session is not None:
        return session
    start, end = _hours(department, period)
    session = session_create_one_off(
        actor=actor,
        doctor=doctor,
        department=Department.objects.get(code=department.code),
        date=date,
        period=period,
        start=start,
        end=end,
        slot_minutes=department.slot_minutes,
        per_slot=department.per_slot or PER_SLOT_BY_TITLE[DoctorTitle(doctor.title)],
        walkin_percent=department.walkin_percent,
    )
    ClinicSession.objects.filter(pk=session.pk).update(no_shows_processed=True)  # it is over
    return session


def _seed_history(*, actor: Actor, member: Member, doctors: dict[str, Doctor], today: dt.date) -> int:
    """patient1's completed visits, written straight to the tables (nothing to notify, nothing
    to bill): a completed appointment holds its slot's place but is not live, so the quota's
    live count stays as it is."""
    account = member.account
    if account is None:
        return 0
    PersonQuota.objects.get_or_create(person_key=person_key_for(member=member, dependant=None))
    if Appointment.objects.filter(member=member, status=AppointmentStatus.COMPLETED).exists():
        return 0
    homes = {f"doctor{n}": department for n, department in enumerate(_doctor_homes(), start=1)}
    created = 0
    for days_ago, username, period in PAST_VISITS:
        doctor = doctors[username]
        session = _past_session(
            actor=actor,
            doctor=doctor,
            department=homes[username],
            date=_weekday_before(today - dt.timedelta(days=days_ago)),
            period=period,
        )
        free = list(Slot.objects.filter(session=session, booked__lt=F("capacity")).order_by("starts_at")[:2])
        if not free:
            continue
        slot = free[-1]
        appointment = Appointment.objects.create(
            member=member,
            person_key=person_key_for(member=member, dependant=None),
            booked_by=account,
            slot=slot,
            session=session,
            department_id=session.department_id,
            doctor=doctor,
            date=session.date,
            status=AppointmentStatus.COMPLETED,
            source=AppointmentSource.ONLINE,
            fee=session.fee,
            checked_in_at=slot.starts_at - dt.timedelta(minutes=10),
        )
        booked_at = slot.starts_at - dt.timedelta(days=2, hours=3)
        Appointment.objects.filter(pk=appointment.pk).update(created_at=booked_at, updated_at=slot.ends_at)
        Slot.objects.filter(pk=slot.pk, booked__lt=F("capacity")).update(booked=F("booked") + 1)
        created += 1
    return created


def _doctor_homes() -> list[ClinicDepartment]:
    return [department for department in CLINIC_DEPARTMENTS for _ in department.doctors]


def seed_schedules(*, actor: Actor, doctors: Sequence[Doctor], patient: Member | None) -> ScheduleReport:
    """Templates, days off, the sessions of the next ``HORIZON_DAYS`` days, doctor1's day and
    patient1's history. ``doctors`` are doctor1, doctor2, ... in order."""
    today = clock.today()
    now = clock.now()
    by_username = {f"doctor{n}": doctor for n, doctor in enumerate(doctors, start=1)}
    departments = Department.objects.in_bulk([d.code for d in CLINIC_DEPARTMENTS], field_name="code")
    report = ScheduleReport(horizon=(today, today + dt.timedelta(days=HORIZON_DAYS - 1)))
    report.templates_created = _seed_templates(doctors=by_username, departments=departments)
    report.days_off_created = _seed_days_off(doctors=by_username, today=today)
    report.sessions_created = len(sessions_generate(actor=actor, start=today, days=HORIZON_DAYS))
    report.sessions_created += _demo_doctor_today(
        actor=actor, doctor=by_username[DEMO_DOCTOR], department=_doctor_homes()[0], today=today
    )
    _open_today(today=today, now=now)
    report.demo_doctor_today = list(
        ClinicSession.objects.filter(doctor=by_username[DEMO_DOCTOR], date=today)
        .select_related("doctor", "department")
        .order_by("starts_at")
    )
    if patient is not None:
        report.past_visits_created = _seed_history(actor=actor, member=patient, doctors=by_username, today=today)
    return report
