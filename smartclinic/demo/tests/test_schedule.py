"""The demo timetable (``smartclinic.demo.schedule``): templates, sessions, days off, doctor1's day
today, patient1's history; seeded through ``seed_demo`` with the clock frozen."""

from __future__ import annotations

import datetime as dt
import io
from collections import Counter
from collections.abc import Iterator
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core.management import call_command
from django.db.models import Count, Sum
from django.utils import timezone, translation

from smartclinic.booking.choices import LIVE_STATUSES, AppointmentStatus
from smartclinic.booking.models import Appointment, PersonQuota
from smartclinic.booking.services import appointment_book, check_slot_bookable
from smartclinic.core import clock
from smartclinic.core.actor import Actor
from smartclinic.demo.catalogue import CLINIC_DEPARTMENTS
from smartclinic.demo.schedule import DAYS_OFF, HORIZON_DAYS, PAST_VISITS, parse_week, template_plans
from smartclinic.identity.models import Member, User
from smartclinic.scheduling.choices import ExceptionKind, Period
from smartclinic.scheduling.models import ClinicSession, Doctor, ScheduleException, ScheduleTemplate, Slot

SHANGHAI = ZoneInfo("Asia/Shanghai")
DOCTORS = sum(len(department.doctors) for department in CLINIC_DEPARTMENTS)
THURSDAY_MORNING = dt.datetime(2026, 3, 5, 9, 40, tzinfo=SHANGHAI)


def seed() -> str:
    out = io.StringIO()
    with translation.override("en"):
        call_command("seed_demo", "--students", "20", "--staff", "5", stdout=out)
    return out.getvalue()


def local(moment: dt.datetime) -> dt.datetime:
    return timezone.localtime(moment)


@pytest.fixture
def frozen() -> Iterator[dt.datetime]:
    with time_machine.travel(THURSDAY_MORNING, tick=False):
        yield THURSDAY_MORNING


@pytest.fixture
def seeded(frozen: dt.datetime) -> str:
    return seed()


# --- the plan, without the database ---------------------------------------------------------------


def test_parse_week_reads_days_periods_and_an_other_department() -> None:
    assert parse_week("Mon AM, Wed PM PF , Sat EVE") == [
        (0, Period.MORNING, None),
        (2, Period.AFTERNOON, "PF"),
        (5, Period.EVENING, None),
    ]
    assert parse_week("") == []
    with pytest.raises(KeyError):
        parse_week("Someday AM")
    with pytest.raises(ValueError, match="bad weekly period"):
        parse_week("Mon AM PF NK")


def test_every_doctor_works_two_to_five_periods_from_monday_to_saturday() -> None:
    plans = template_plans()
    per_doctor = Counter(plan.doctor for plan in plans)
    assert set(per_doctor) == {f"doctor{n}" for n in range(1, DOCTORS + 1)}
    assert all(2 <= count <= 5 for count in per_doctor.values()), per_doctor
    assert len({(plan.doctor, plan.weekday, plan.period) for plan in plans}) == len(plans)  # unique per period
    assert {plan.weekday for plan in plans} == set(range(6))  # Monday..Saturday, no Sunday
    evenings = {plan.department for plan in plans if plan.period == Period.EVENING}
    assert evenings == {"NK", "XL"}


def test_template_hours_and_sizes_are_those_of_the_department() -> None:
    departments = {department.code: department for department in CLINIC_DEPARTMENTS}
    for plan in template_plans():
        department = departments[plan.department]
        hours = {period: (dt.time.fromisoformat(a), dt.time.fromisoformat(b)) for period, a, b in department.periods}
        assert (plan.start, plan.end) == hours[plan.period], plan
        if plan.department == "XL":  # counselling: one client per 45-50 minutes, by appointment only
            assert (plan.per_slot, plan.walkin_percent) == (1, 0)
            assert 30 <= plan.slot_minutes <= 50
        else:
            assert (plan.slot_minutes, plan.walkin_percent) == (15, 20)
            assert plan.per_slot in (2, 3)
    morning = next(p for p in template_plans() if p.department == "NK" and p.period == Period.MORNING)
    assert (morning.start, morning.end) == (dt.time(8), dt.time(11, 30))


def test_the_doctor_in_two_departments_works_in_both() -> None:
    doctor7 = {plan.department for plan in template_plans() if plan.doctor == "doctor7"}
    assert doctor7 == {"WK", "PF"}


# --- templates, days off and sessions in the database ----------------------------------------------


@pytest.mark.django_db
def test_seed_creates_each_doctors_weekly_templates(seeded: str) -> None:
    plans = template_plans()
    assert ScheduleTemplate.objects.count() == len(plans)
    rows = {
        (t.doctor.user.username, t.department.code, t.weekday, t.period, t.start_time, t.end_time)
        for t in ScheduleTemplate.objects.select_related("doctor__user", "department")
    }
    assert rows == {(p.doctor, p.department, p.weekday, p.period, p.start, p.end) for p in plans}
    counts = Counter(ScheduleTemplate.objects.values_list("doctor__user__username", flat=True))
    assert len(counts) == DOCTORS and all(2 <= n <= 5 for n in counts.values())


@pytest.mark.django_db
def test_sessions_cover_the_next_fourteen_days_from_the_templates(seeded: str, frozen: dt.datetime) -> None:
    today = frozen.date()
    horizon = [today + dt.timedelta(days=n) for n in range(HORIZON_DAYS)]
    off = {(e.doctor_id, e.date) for e in ScheduleException.objects.all()}
    holidays = {date for doctor_id, date in off if doctor_id is None}
    expected = {
        (t.doctor_id, date, t.period)
        for t in ScheduleTemplate.objects.all()
        for date in horizon
        if t.weekday == date.weekday() and date not in holidays and (t.doctor_id, date) not in off
    }
    generated = set(ClinicSession.objects.filter(template__isnull=False).values_list("doctor_id", "date", "period"))
    assert generated == expected
    upcoming = ClinicSession.objects.filter(date__gte=today)
    assert set(upcoming.values_list("date", flat=True)) <= set(horizon)
    assert upcoming.filter(template__isnull=True).exclude(doctor__user__username="doctor1").count() == 0
    # every session's slots follow its template; the walk-in share is kept back
    for session in upcoming.filter(template__isnull=False).select_related("template"):
        template = session.template
        assert template is not None
        slots = list(session.slots.order_by("starts_at"))
        minutes = (session.ends_at - session.starts_at).total_seconds() // 60
        assert len(slots) == minutes // template.slot_minutes
        total = len(slots) * template.patients_per_slot
        assert sum(slot.capacity for slot in slots) + session.walkin_capacity == total
        assert session.walkin_capacity == -(-total * template.walkin_percent // 100)
        assert local(session.starts_at).time() == template.start_time
        assert session.date.weekday() == template.weekday


@pytest.mark.django_db
def test_days_off_fall_in_the_horizon_and_spare_doctor1_today(seeded: str, frozen: dt.datetime) -> None:
    today = frozen.date()
    exceptions = list(ScheduleException.objects.select_related("doctor__user"))
    assert len(exceptions) == len(DAYS_OFF)
    holiday = next(e for e in exceptions if e.doctor is None)
    assert holiday.kind == ExceptionKind.HOLIDAY and holiday.date.weekday() < 5
    assert today < holiday.date < today + dt.timedelta(days=HORIZON_DAYS)
    assert not ClinicSession.objects.filter(date=holiday.date).exists()
    for leave in (e for e in exceptions if e.doctor is not None):
        assert leave.kind == ExceptionKind.LEAVE and leave.doctor.user.username != "doctor1"
        assert today < leave.date < today + dt.timedelta(days=HORIZON_DAYS)
        assert not ClinicSession.objects.filter(doctor=leave.doctor, date=leave.date).exists()


# --- doctor1 today, whatever the day and time ----------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize(
    "moment",
    [
        dt.datetime(2026, 3, 1, 7, 0, tzinfo=SHANGHAI),  # Sunday, before opening: no template at all
        dt.datetime(2026, 3, 2, 10, 5, tzinfo=SHANGHAI),  # Monday, in doctor1's template morning
        dt.datetime(2026, 3, 4, 12, 30, tzinfo=SHANGHAI),  # Wednesday lunch, template afternoon ahead
        dt.datetime(2026, 3, 6, 16, 50, tzinfo=SHANGHAI),  # Friday, end of the afternoon
        dt.datetime(2026, 3, 7, 19, 50, tzinfo=SHANGHAI),  # Saturday evening: today's booking has closed
        dt.datetime(2026, 3, 5, 23, 30, tzinfo=SHANGHAI),  # Thursday night
    ],
    ids=["sun-0700", "mon-1005", "wed-1230", "fri-1650", "sat-1950", "thu-2330"],
)
def test_doctor1_sees_patients_all_day_today_and_can_be_booked(moment: dt.datetime) -> None:
    with time_machine.travel(moment, tick=False):
        output = seed()
        now = clock.now()
        today = clock.today()
        doctor1 = Doctor.objects.get(user__username="doctor1")
        sessions = list(ClinicSession.objects.filter(doctor=doctor1, date=today).order_by("starts_at"))

        assert [(s.period, local(s.starts_at).time(), local(s.ends_at).time()) for s in sessions] == [
            (Period.MORNING, dt.time(8), dt.time(11, 30)),
            (Period.AFTERNOON, dt.time(14), dt.time(17)),
            (Period.EVENING, dt.time(18, 30), dt.time(20, 30)),
        ]
        assert all(s.opens_at <= now and s.status == "open" for s in sessions)
        assert f"has sessions today, {today.isoformat()}: 08:00-11:30, 14:00-17:00, 18:30-20:30." in output

        bookable = [
            slot
            for slot in Slot.objects.filter(
                session__doctor=doctor1, session__opens_at__lte=now, starts_at__gt=now, capacity__gt=0
            )
            .select_related("session__department", "session__doctor")
            .order_by("starts_at")
            if now < slot.starts_at - dt.timedelta(minutes=slot.session.department.booking_stop_minutes)
        ]
        assert bookable, "doctor1 has no bookable slot"
        later_today = [slot for slot in bookable if slot.session.date == today]
        assert bool(later_today) == (local(now).time() < dt.time(19, 45))
        slot = bookable[0]
        check_slot_bookable(slot=slot, now=now)
        patient1 = User.objects.get(username="patient1")
        appointment = appointment_book(actor=Actor.of(patient1), member=patient1.member, slot=slot)
        assert appointment.status == AppointmentStatus.BOOKED


# --- patient1's history -----------------------------------------------------------------------------


@pytest.mark.django_db
def test_patient1_has_a_few_completed_visits_in_the_past(seeded: str, frozen: dt.datetime) -> None:
    member = Member.objects.get(account__username="patient1")
    visits = list(Appointment.objects.filter(member=member).select_related("slot", "session", "doctor__user"))
    assert len(visits) == len(PAST_VISITS)
    assert {visit.status for visit in visits} == {AppointmentStatus.COMPLETED}
    assert {visit.doctor.user.username for visit in visits} == {username for _, username, _ in PAST_VISITS}
    for visit in visits:
        assert visit.date < frozen.date() and visit.date.weekday() != 6
        assert visit.slot.session_id == visit.session_id and visit.slot.booked == 1
        assert visit.checked_in_at is not None and visit.checked_in_at < visit.slot.starts_at
        assert visit.created_at < visit.checked_in_at and visit.booked_by == member.account
        assert visit.session.no_shows_processed and visit.fee == visit.session.fee
    # completed visits are not live: the quota is free and nothing else was booked
    assert PersonQuota.objects.get(person_key=f"m:{member.pk}").live_count == 0
    assert not Appointment.objects.filter(status__in=LIVE_STATUSES).exists()
    assert Slot.objects.aggregate(total=Sum("booked"))["total"] == len(PAST_VISITS)


# --- idempotence --------------------------------------------------------------------------------------


def schedule_counts() -> dict[str, int]:
    return {
        "templates": ScheduleTemplate.objects.count(),
        "days_off": ScheduleException.objects.count(),
        "sessions": ClinicSession.objects.count(),
        "slots": Slot.objects.count(),
        "booked": Slot.objects.aggregate(total=Sum("booked"))["total"],
        "appointments": Appointment.objects.count(),
        "quotas": PersonQuota.objects.count(),
    }


@pytest.mark.django_db
def test_a_second_run_the_same_day_adds_nothing(seeded: str) -> None:
    before = schedule_counts()

    output = seed()

    assert schedule_counts() == before
    assert "0 weekly templates, 0 days off, 0 sessions and 0 past visits created." in output


@pytest.mark.django_db
def test_a_run_the_next_day_tops_the_horizon_up(seeded: str, frozen: dt.datetime) -> None:
    before = schedule_counts()
    tomorrow = frozen + dt.timedelta(days=1)

    with time_machine.travel(tomorrow, tick=False):
        seed()
        today = clock.today()

    after = schedule_counts()
    assert (after["templates"], after["appointments"]) == (before["templates"], before["appointments"])
    assert after["days_off"] == before["days_off"]  # the horizon already had its days off
    last_day = today + dt.timedelta(days=HORIZON_DAYS - 1)
    expected_last_day = ScheduleTemplate.objects.filter(weekday=last_day.weekday()).count()
    assert ClinicSession.objects.filter(date=last_day).count() == expected_last_day
    periods = ClinicSession.objects.filter(doctor__user__username="doctor1", date=today)
    assert sorted(periods.values_list("period", flat=True)) == sorted(Period.values)
    per_key = ClinicSession.objects.values("doctor", "date", "period").annotate(n=Count("id")).filter(n__gt=1)
    assert not per_key.exists()
