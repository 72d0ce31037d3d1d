"""Scheduling's services and release rules: slot plans, sessions from weekly templates, one-off
sessions, suspensions, and when booking opens, closes and stops being cancellable."""

from __future__ import annotations

import datetime as dt
import itertools
import math
from collections.abc import Callable, Iterator
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import time_machine
from hypothesis import given, settings
from hypothesis import strategies as st

from smartclinic.audit.models import AuditEntry
from smartclinic.core.actor import Actor
from smartclinic.identity.choices import Role
from smartclinic.outbox.models import OutboxMessage
from smartclinic.scheduling.choices import DEFAULT_FEE_BY_TITLE, ExceptionKind, Period, SessionStatus, Weekday
from smartclinic.scheduling.errors import InvalidSchedule, SessionNotOpen
from smartclinic.scheduling.models import (
    ClinicSession,
    Department,
    Doctor,
    ScheduleException,
    ScheduleTemplate,
    Slot,
)
from smartclinic.scheduling.rules import (
    booking_closes_at,
    cancel_deadline,
    release_instant,
    session_is_open_for_booking,
    session_local_bounds,
)
from smartclinic.scheduling.services import (
    plan_slots,
    session_create_one_off,
    session_mark_suspended,
    sessions_generate,
)

SHANGHAI = ZoneInfo("Asia/Shanghai")
MONDAY = dt.date(2026, 3, 2)  # a Monday; the fortnight runs to Sunday 15 March
NOW = dt.datetime(2026, 3, 1, 10, 0, tzinfo=SHANGHAI)  # the Sunday before


def at(date: dt.date, hour: int, minute: int = 0) -> dt.datetime:
    return dt.datetime.combine(date, dt.time(hour, minute), tzinfo=SHANGHAI)


# --- plan_slots -----------------------------------------------------------------------------------


def plan(start: tuple[int, int], end: tuple[int, int], *, minutes: int = 15, per_slot: int = 2, walkins: int = 20):
    return plan_slots(
        starts_at=at(MONDAY, *start),
        ends_at=at(MONDAY, *end),
        slot_minutes=minutes,
        per_slot=per_slot,
        walkin_percent=walkins,
    )


def test_plan_slots_cuts_the_session_into_whole_slots() -> None:
    plans, walkins = plan((8, 0), (9, 10), walkins=0)  # the last 10 minutes make no slot

    assert [(p.starts_at, p.ends_at) for p in plans] == [
        (at(MONDAY, 8, 0), at(MONDAY, 8, 15)),
        (at(MONDAY, 8, 15), at(MONDAY, 8, 30)),
        (at(MONDAY, 8, 30), at(MONDAY, 8, 45)),
        (at(MONDAY, 8, 45), at(MONDAY, 9, 0)),
    ]
    assert [p.capacity for p in plans] == [2, 2, 2, 2]
    assert walkins == 0


def test_plan_slots_keeps_the_walk_in_share_rounded_up() -> None:
    plans, walkins = plan((8, 0), (9, 0), per_slot=2, walkins=20)  # 8 places, 20 % = 1.6

    assert walkins == 2
    assert sum(p.capacity for p in plans) == 6


def test_plan_slots_takes_walk_in_places_from_every_other_slot_latest_first() -> None:
    plans, walkins = plan((8, 0), (11, 30), per_slot=2, walkins=20)  # 14 slots, 28 places, 5.6 → 6

    assert walkins == 6
    assert [p.capacity for p in plans] == [2, 2, 2, 1, 2, 1, 2, 1, 2, 1, 2, 1, 2, 1]


def test_plan_slots_with_every_place_for_walk_ins_leaves_nothing_to_book() -> None:
    plans, walkins = plan((8, 0), (9, 0), per_slot=3, walkins=100)

    assert walkins == 12
    assert [p.capacity for p in plans] == [0, 0, 0, 0]


@pytest.mark.parametrize(
    ("start", "end", "minutes", "per_slot"),
    [((8, 0), (8, 10), 15, 2), ((8, 0), (8, 0), 15, 2), ((9, 0), (8, 0), 15, 2), ((8, 0), (9, 0), 15, 0)],
    ids=["shorter-than-a-slot", "empty", "backwards", "no-patient-per-slot"],
)
def test_plan_slots_refuses_a_session_without_a_whole_slot(start, end, minutes, per_slot) -> None:
    with pytest.raises(InvalidSchedule) as error:
        plan(start, end, minutes=minutes, per_slot=per_slot)
    assert error.value.code == "scheduling.invalid_schedule"


@settings(max_examples=200, deadline=None)
@given(
    count=st.integers(min_value=1, max_value=40),
    minutes=st.sampled_from([5, 10, 15, 20, 30, 45, 50]),
    per_slot=st.integers(min_value=1, max_value=5),
    percent=st.integers(min_value=0, max_value=100),
)
def test_plan_slots_always_accounts_for_every_place(count: int, minutes: int, per_slot: int, percent: int) -> None:
    start = at(MONDAY, 7)
    plans, walkins = plan_slots(
        starts_at=start,
        ends_at=start + dt.timedelta(minutes=count * minutes),
        slot_minutes=minutes,
        per_slot=per_slot,
        walkin_percent=percent,
    )

    total = count * per_slot
    assert len(plans) == count
    assert walkins == math.ceil(total * percent / 100)
    assert sum(p.capacity for p in plans) + walkins == total
    assert all(0 <= p.capacity <= per_slot for p in plans)
    assert all(b.starts_at == a.ends_at for a, b in itertools.pairwise(plans))
    if 0 < walkins <= math.ceil(count / 2):  # up to one per other slot: the latest slots lose one each
        taken = [i for i, p in enumerate(plans) if p.capacity < per_slot]
        assert taken == list(range(count - 1, -1, -2))[:walkins][::-1]


def test_plan_slots_spreads_walk_ins_evenly_when_they_outnumber_half_the_slots() -> None:
    plans, walkins = plan((8, 0), (9, 0), per_slot=2, walkins=50)  # 4 slots, 8 places, 4 walk-ins

    assert walkins == 4
    assert [p.capacity for p in plans] == [1, 1, 1, 1]  # today: [2, 0, 2, 0]


# --- the database side ----------------------------------------------------------------------------


@pytest.fixture
def frozen() -> Iterator[dt.datetime]:
    with time_machine.travel(NOW, tick=False):
        yield NOW


@pytest.fixture
def department() -> Department:
    return Department.objects.create(code="NK", name="内科", release_days_ahead=7, release_time=dt.time(8, 0))


@pytest.fixture
def make_doctor(make_user: Callable[..., Any]) -> Callable[..., Doctor]:
    def make(department: Department, *, title: str = "attending", name: str = "王医生", **fields: Any) -> Doctor:
        doctor = Doctor.objects.create(user=make_user(Role.DOCTOR), name=name, title=title, **fields)
        doctor.departments.set([department])
        return doctor

    return make


def template(doctor: Doctor, department: Department, weekday: int, period: str = Period.MORNING, **fields: Any):
    hours = {
        Period.MORNING: (dt.time(8), dt.time(9)),
        Period.AFTERNOON: (dt.time(14), dt.time(15)),
        Period.EVENING: (dt.time(18, 30), dt.time(19, 30)),
    }[Period(period)]
    values: dict[str, Any] = {
        "start_time": hours[0],
        "end_time": hours[1],
        "slot_minutes": 15,
        "patients_per_slot": 2,
        "walkin_percent": 25,
    }
    values.update(fields)
    return ScheduleTemplate.objects.create(
        doctor=doctor, department=department, weekday=weekday, period=period, **values
    )


def keys(sessions) -> set[tuple[str, dt.date, str]]:
    return {(s.doctor.name, s.date, s.period) for s in sessions}


def fortnight(weekday: int) -> list[dt.date]:
    return [MONDAY + dt.timedelta(days=d) for d in range(14) if (MONDAY + dt.timedelta(days=d)).weekday() == weekday]


@pytest.mark.django_db
def test_sessions_are_generated_on_the_templates_weekdays(frozen, department, make_doctor, system_actor) -> None:
    wang = make_doctor(department, name="王", title="chief", room="101诊室")
    li = make_doctor(department, name="李")
    monday_morning = template(wang, department, Weekday.MONDAY)
    template(wang, department, Weekday.WEDNESDAY, Period.AFTERNOON)
    template(li, department, Weekday.MONDAY, Period.EVENING, slot_minutes=30, patients_per_slot=1, walkin_percent=0)

    created = sessions_generate(actor=system_actor, start=MONDAY, days=14)

    assert keys(created) == {
        *(("王", d, Period.MORNING) for d in fortnight(Weekday.MONDAY)),
        *(("王", d, Period.AFTERNOON) for d in fortnight(Weekday.WEDNESDAY)),
        *(("李", d, Period.EVENING) for d in fortnight(Weekday.MONDAY)),
    }
    assert ClinicSession.objects.count() == 6
    first = ClinicSession.objects.get(doctor=wang, date=MONDAY, period=Period.MORNING)
    assert (first.starts_at, first.ends_at) == (at(MONDAY, 8), at(MONDAY, 9))
    assert (first.template, first.department, first.room, first.status) == (
        monday_morning,
        department,
        "101诊室",
        SessionStatus.OPEN,
    )
    assert first.fee == DEFAULT_FEE_BY_TITLE["chief"]
    assert [s.capacity for s in first.slots.order_by("starts_at")] == [2, 1, 2, 1]  # 8 places, 25 % walk-in
    assert first.walkin_capacity == 2
    evening = ClinicSession.objects.get(doctor=li, date=MONDAY)
    assert [(s.starts_at, s.capacity) for s in evening.slots.order_by("starts_at")] == [
        (at(MONDAY, 18, 30), 1),
        (at(MONDAY, 19, 0), 1),
    ]
    assert (evening.walkin_capacity, evening.fee) == (0, DEFAULT_FEE_BY_TITLE["attending"])
    entry = AuditEntry.objects.get(action="scheduling.sessions_generated")
    assert (entry.subject_id, entry.new_values) == ("2026-03-02+14", {"sessions": 6})


@pytest.mark.django_db
def test_opens_at_follows_the_departments_release_rule_in_shanghai_time(frozen, make_doctor, system_actor) -> None:
    early = Department.objects.create(code="KQ", name="口腔科", release_days_ahead=3, release_time=dt.time(20, 30))
    template(make_doctor(early), early, Weekday.THURSDAY)

    [session] = sessions_generate(actor=system_actor, start=MONDAY, days=7)

    assert session.date == dt.date(2026, 3, 5)
    assert session.opens_at == at(dt.date(2026, 3, 2), 20, 30)  # three days before, 20:30 in Shanghai
    assert session.opens_at == dt.datetime(2026, 3, 2, 12, 30, tzinfo=dt.UTC)
    assert not session_is_open_for_booking(session=session, now=session.opens_at - dt.timedelta(seconds=1))
    assert session_is_open_for_booking(session=session, now=session.opens_at)


@pytest.mark.django_db
def test_validity_range_inactive_templates_and_inactive_doctors(frozen, department, make_doctor, system_actor):
    wang, li, zhao, sun = (make_doctor(department, name=n) for n in ("王", "李", "赵", "孙"))
    second_monday = MONDAY + dt.timedelta(days=7)
    template(wang, department, Weekday.MONDAY, valid_from=second_monday)
    template(li, department, Weekday.MONDAY, valid_until=MONDAY)
    template(zhao, department, Weekday.MONDAY, active=False)
    template(sun, department, Weekday.MONDAY)
    Doctor.objects.filter(pk=sun.pk).update(active=False)

    created = sessions_generate(actor=system_actor, start=MONDAY, days=14)

    assert keys(created) == {("王", second_monday, Period.MORNING), ("李", MONDAY, Period.MORNING)}


@pytest.mark.django_db
def test_clinic_holidays_and_doctor_leave_are_skipped(frozen, department, make_doctor, system_actor) -> None:
    wang, li = make_doctor(department, name="王"), make_doctor(department, name="李")
    for doctor in (wang, li):
        template(doctor, department, Weekday.MONDAY)
        template(doctor, department, Weekday.WEDNESDAY)
    wednesday, second_wednesday = fortnight(Weekday.WEDNESDAY)
    ScheduleException.objects.create(date=MONDAY, kind=ExceptionKind.HOLIDAY, reason="清明")
    ScheduleException.objects.create(date=second_wednesday, doctor=wang, kind=ExceptionKind.LEAVE, reason="年假")

    created = sessions_generate(actor=system_actor, start=MONDAY, days=14)

    second_monday = MONDAY + dt.timedelta(days=7)
    assert keys(created) == {
        ("王", second_monday, Period.MORNING),
        ("李", second_monday, Period.MORNING),
        ("王", wednesday, Period.MORNING),
        ("李", wednesday, Period.MORNING),
        ("李", second_wednesday, Period.MORNING),
    }
    assert not ClinicSession.objects.filter(date=MONDAY).exists()


@pytest.mark.django_db
def test_existing_sessions_are_not_duplicated(frozen, department, make_doctor, system_actor) -> None:
    wang = make_doctor(department, name="王")
    template(wang, department, Weekday.MONDAY)
    template(wang, department, Weekday.TUESDAY)
    one_off = session_create_one_off(
        actor=system_actor,
        doctor=wang,
        department=department,
        date=MONDAY,
        period=Period.MORNING,
        start=dt.time(9),
        end=dt.time(10),
    )

    created = sessions_generate(actor=system_actor, start=MONDAY, days=7)
    again = sessions_generate(actor=system_actor, start=MONDAY, days=14)

    assert keys(created) == {("王", MONDAY + dt.timedelta(days=1), Period.MORNING)}
    assert ClinicSession.objects.get(doctor=wang, date=MONDAY).pk == one_off.pk  # the one-off stays as it was
    assert keys(again) == {
        ("王", MONDAY + dt.timedelta(days=7), Period.MORNING),
        ("王", MONDAY + dt.timedelta(days=8), Period.MORNING),
    }
    assert sessions_generate(actor=system_actor, start=MONDAY, days=14) == []
    assert ClinicSession.objects.count() == 4
    assert AuditEntry.objects.filter(action="scheduling.sessions_generated").count() == 2  # nothing new: no entry


@pytest.mark.django_db
def test_session_create_one_off(frozen, department, make_doctor, system_actor) -> None:
    doctor = make_doctor(department, title="resident", room="105诊室")

    session = session_create_one_off(
        actor=system_actor,
        doctor=doctor,
        department=department,
        date=MONDAY,
        period=Period.EVENING,
        start=dt.time(18, 30),
        end=dt.time(20, 30),
        slot_minutes=30,
        per_slot=3,
        walkin_percent=20,
        fee=800,
    )

    assert (session.template, session.fee, session.room, session.period) == (None, 800, "105诊室", "evening")
    assert (session.starts_at, session.ends_at) == (at(MONDAY, 18, 30), at(MONDAY, 20, 30))
    assert session.opens_at == at(MONDAY - dt.timedelta(days=7), 8)
    slots = list(Slot.objects.filter(session=session).order_by("starts_at"))
    assert [(s.starts_at, s.capacity, s.booked) for s in slots] == [
        (at(MONDAY, 18, 30), 3, 0),
        (at(MONDAY, 19, 0), 2, 0),
        (at(MONDAY, 19, 30), 2, 0),
        (at(MONDAY, 20, 0), 2, 0),
    ]
    assert session.walkin_capacity == 3  # 12 places, 20 % = 2.4, rounded up
    entry = AuditEntry.objects.get(action="scheduling.session_created")
    assert (entry.subject_id, entry.new_values) == (str(session.public_id), {"date": "2026-03-02", "period": "evening"})


@pytest.mark.django_db
def test_session_create_one_off_refuses_an_end_before_the_start(frozen, department, make_doctor, system_actor):
    doctor = make_doctor(department)
    for start, end in ((dt.time(10), dt.time(9)), (dt.time(10), dt.time(10)), (dt.time(10), dt.time(10, 10))):
        with pytest.raises(InvalidSchedule):
            session_create_one_off(
                actor=system_actor,
                doctor=doctor,
                department=department,
                date=MONDAY,
                period=Period.MORNING,
                start=start,
                end=end,
            )
    assert not ClinicSession.objects.exists()
    assert not Slot.objects.exists()
    assert not AuditEntry.objects.exists()


@pytest.mark.django_db
def test_session_mark_suspended_records_and_publishes_once(frozen, department, make_doctor, make_user) -> None:
    manager = make_user(Role.MANAGER)
    doctor = make_doctor(department)
    session = session_create_one_off(
        actor=Actor.system(),
        doctor=doctor,
        department=department,
        date=MONDAY,
        period=Period.MORNING,
        start=dt.time(8),
        end=dt.time(9),
    )

    suspended = session_mark_suspended(actor=Actor.of(manager), session=session, reason="医生临时外出" * 40)

    assert suspended.status == SessionStatus.SUSPENDED
    assert suspended.suspend_reason == ("医生临时外出" * 40)[:200]
    assert ClinicSession.objects.get(pk=session.pk).status == SessionStatus.SUSPENDED
    entry = AuditEntry.objects.get(action="scheduling.session_suspended")
    assert (entry.actor_id, entry.subject_id) == (manager.pk, str(session.public_id))
    assert entry.old_values == {"status": "open"}
    assert entry.new_values["status"] == "suspended"
    message = OutboxMessage.objects.get(name="scheduling.session_suspended")
    assert message.payload == {"session_id": str(session.public_id)}
    assert not session_is_open_for_booking(session=suspended, now=NOW)

    with pytest.raises(SessionNotOpen) as error:
        session_mark_suspended(actor=Actor.of(manager), session=session, reason="again")

    assert error.value.code == "scheduling.session_suspended"
    assert AuditEntry.objects.filter(action="scheduling.session_suspended").count() == 1
    assert OutboxMessage.objects.filter(name="scheduling.session_suspended").count() == 1
    assert ClinicSession.objects.get(pk=session.pk).suspend_reason == ("医生临时外出" * 40)[:200]


# --- release rules ---------------------------------------------------------------------------------


def test_release_instant_is_days_ahead_at_the_release_time_in_shanghai() -> None:
    department = Department(code="X", name="x", release_days_ahead=7, release_time=dt.time(8, 0))

    instant = release_instant(department=department, date=dt.date(2026, 3, 9))

    assert instant == at(dt.date(2026, 3, 2), 8)
    assert instant.utcoffset() == dt.timedelta(hours=8)
    same_day = Department(code="Y", name="y", release_days_ahead=0, release_time=dt.time(0, 0))
    assert release_instant(department=same_day, date=MONDAY) == at(MONDAY, 0)


def test_booking_closes_and_cancel_deadline_count_back_from_the_slot_start() -> None:
    department = Department(code="X", name="x", booking_stop_minutes=30, cancel_cutoff_minutes=120)
    slot = Slot(starts_at=at(MONDAY, 8, 15), ends_at=at(MONDAY, 8, 30), capacity=2)

    assert booking_closes_at(department=department, slot=slot) == at(MONDAY, 7, 45)
    assert cancel_deadline(department=department, slot=slot) == at(MONDAY, 6, 15)
    # across midnight: a cut-off of a day before an early slot
    department.cancel_cutoff_minutes = 24 * 60
    assert cancel_deadline(department=department, slot=slot) == at(MONDAY - dt.timedelta(days=1), 8, 15)


def test_session_local_bounds_are_aware_shanghai_times() -> None:
    start, end = session_local_bounds(date=MONDAY, start=dt.time(18, 30), end=dt.time(20, 30))
    assert (start, end) == (at(MONDAY, 18, 30), at(MONDAY, 20, 30))
    assert start.astimezone(dt.UTC) == dt.datetime(2026, 3, 2, 10, 30, tzinfo=dt.UTC)


@pytest.mark.django_db
def test_a_second_one_off_session_in_the_same_period_is_refused(department, make_doctor, system_actor) -> None:
    from smartclinic.scheduling.errors import InvalidSchedule

    doctor = make_doctor(department)
    fields = {
        "doctor": doctor,
        "department": department,
        "date": MONDAY,
        "period": Period.MORNING,
        "start": dt.time(8),
        "end": dt.time(9),
    }
    session_create_one_off(actor=system_actor, **fields)
    with pytest.raises(InvalidSchedule) as error:
        session_create_one_off(actor=system_actor, **fields)
    assert error.value.extra == {"reason": "session_exists"}
    assert ClinicSession.objects.count() == 1
