"""Booking as a state machine (hypothesis): patients book, cancel, reschedule, join and leave the
waitlist, confirm offers, pay, check in and finish; the clock moves on, offers expire and
no-shows are recorded. After every step the rules that must always hold are checked against the
database, and a step refused with an ``ApplicationError`` must have changed nothing. Any other
exception fails the machine.

Each example runs in its own savepoint, rolled back at its end, inside pytest-django's test
transaction; the clock is frozen with time-machine and moved only by the ``advance`` rule.
``pytest -s`` prints how often each step succeeded or was refused (and why).
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.conf import settings as django_settings
from django.db import transaction
from django.test import override_settings
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule, run_state_machine_as_test

from smartclinic.audit.models import AuditEntry
from smartclinic.booking.choices import LIVE_STATUSES, AppointmentSource, AppointmentStatus, WaitlistStatus
from smartclinic.booking.lifecycle import (
    appointment_complete,
    appointment_mark_arrived,
    appointment_mark_paid,
    walk_in_register,
)
from smartclinic.booking.models import Appointment, PersonQuota, WaitlistEntry
from smartclinic.booking.noshow import no_shows_mark
from smartclinic.booking.services import appointment_book, appointment_cancel, appointment_reschedule
from smartclinic.booking.waitlist import waitlist_join, waitlist_leave, waitlist_offer_confirm, waitlist_offers_expire
from smartclinic.core.actor import Actor
from smartclinic.core.errors import ApplicationError
from smartclinic.identity.choices import MemberKind
from smartclinic.identity.models import Member, User
from smartclinic.outbox.models import OutboxMessage
from smartclinic.scheduling.models import ClinicSession, Department, Doctor, Slot
from smartclinic.scheduling.services import session_create_one_off

SHANGHAI = ZoneInfo("Asia/Shanghai")
START = dt.datetime(2026, 3, 2, 20, 0, tzinfo=SHANGHAI)  # Monday evening; the sessions are on Tuesday and Wednesday
DAY1, DAY2 = dt.date(2026, 3, 3), dt.date(2026, 3, 4)
PATIENTS = 5
MAX_LIVE = 2
CONFIRM_MINUTES = 30

# (department, doctor, date, period, start, end, patients per slot, walk-in share): 内科 on day 1
# has three places (two doctors), so five patients fill it and the waitlist comes into play;
# 口腔科 keeps one of its four places for walk-ins.
SESSIONS = (
    ("NK", "A", DAY1, "morning", dt.time(8, 0), dt.time(8, 30), 1, 0),
    ("NK", "B", DAY1, "afternoon", dt.time(14, 0), dt.time(14, 15), 1, 0),
    ("KQ", "C", DAY1, "morning", dt.time(9, 0), dt.time(9, 30), 2, 25),
    ("NK", "A", DAY2, "morning", dt.time(8, 0), dt.time(8, 15), 1, 0),
)
WALK_IN_SESSION = 2

# Where each status may go; an appointment never comes back from an end state.
ALLOWED_MOVES: dict[str, set[str]] = {
    AppointmentStatus.BOOKED: {
        AppointmentStatus.PAID,
        AppointmentStatus.COMPLETED,
        AppointmentStatus.CANCELLED,
        AppointmentStatus.CANCELLED_BY_CLINIC,
        AppointmentStatus.NO_SHOW,
        AppointmentStatus.EXPIRED,
    },
    AppointmentStatus.PAID: {
        AppointmentStatus.COMPLETED,
        AppointmentStatus.CANCELLED,
        AppointmentStatus.CANCELLED_BY_CLINIC,
        AppointmentStatus.NO_SHOW,
    },
}
# An appointment holds its slot's place from booking on; only a cancellation or an expired offer
# gives it back (a no-show's or a finished visit's place was used up).
HOLDS_A_PLACE = {*LIVE_STATUSES, AppointmentStatus.COMPLETED, AppointmentStatus.NO_SHOW}
OPEN_ENTRY = {WaitlistStatus.WAITING, WaitlistStatus.OFFERED}

# Known bug (reported): cancelling, rescheduling or recording a no-show for an appointment that a
# waitlist offer made leaves its entry OFFERED (so the person can never join that day's line
# again). Turn this on once the services close the entry; until then the machine only checks
# OFFERED entries whose appointment is still live. Reproduced in ``test_jobs_and_handlers.py``.
OFFERED_ENTRIES_CLOSE_WITH_THEIR_APPOINTMENT = True
# Known bug (reported): cancelling or rescheduling a walk-in gives back a slot place that the
# walk-in never took. Until it is fixed the machine registers walk-ins but never cancels or
# moves them; turn this on to let it.
WALK_IN_CANCELLATION_FIXED = True

OUTCOMES: Counter[str] = Counter()  # over all examples: what the steps did (``pytest -s`` prints it)

index = st.integers(min_value=0, max_value=15)


@dataclass(frozen=True)
class Snapshot:
    """Everything a step may change, read in a few queries."""

    appointments: tuple[tuple[Any, ...], ...]
    slots: tuple[tuple[int, int, int], ...]
    entries: tuple[tuple[Any, ...], ...]
    quotas: tuple[tuple[Any, ...], ...]
    sessions: tuple[tuple[Any, ...], ...]
    audit_entries: int
    outbox_messages: int

    @classmethod
    def take(cls) -> Snapshot:
        return cls(
            appointments=tuple(
                Appointment.objects.order_by("pk").values_list(
                    "pk",
                    "status",
                    "slot_id",
                    "source",
                    "person_key",
                    "department_id",
                    "date",
                    "hold_expires_at",
                    "checked_in_at",
                )
            ),
            slots=tuple(Slot.objects.order_by("pk").values_list("pk", "booked", "capacity")),
            entries=tuple(
                WaitlistEntry.objects.order_by("pk").values_list(
                    "pk", "status", "person_key", "department_id", "date", "appointment_id"
                )
            ),
            # a fresh quota row with nothing in it is no change
            quotas=tuple(
                row
                for row in PersonQuota.objects.order_by("person_key").values_list(
                    "person_key", "live_count", "blocked_until"
                )
                if row[1] or row[2]
            ),
            sessions=tuple(
                ClinicSession.objects.order_by("pk").values_list("pk", "status", "walkin_used", "no_shows_processed")
            ),
            audit_entries=AuditEntry.objects.count(),
            outbox_messages=OutboxMessage.objects.count(),
        )


class BookingMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self._atomic = transaction.atomic()
        self._atomic.__enter__()
        self._clock = time_machine.travel(START, tick=False)
        self._traveller = self._clock.start()
        self.statuses: dict[int, str] = {}
        self.last: Snapshot | None = None
        self._build_clinic()

    def teardown(self) -> None:
        OUTCOMES["waitlist offers made"] += Appointment.objects.filter(source=AppointmentSource.WAITLIST).count()
        self._clock.stop()
        transaction.set_rollback(True)
        self._atomic.__exit__(None, None, None)

    # --- the clinic and its patients --------------------------------------------------------------

    def _build_clinic(self) -> None:
        system = Actor.system(reason="state_machine")
        departments = {
            code: Department.objects.create(code=code, name=code, booking_stop_minutes=30, cancel_cutoff_minutes=120)
            for code in ("NK", "KQ")
        }
        doctors: dict[str, Doctor] = {}
        self.sessions: list[ClinicSession] = []
        for code, name, date, period, start, end, per_slot, walkin_percent in SESSIONS:
            if name not in doctors:
                doctors[name] = Doctor.objects.create(
                    user=User.objects.create(username=f"doctor-{name}"), name=name, title="attending"
                )
            doctors[name].departments.add(departments[code])
            self.sessions.append(
                session_create_one_off(
                    actor=system,
                    doctor=doctors[name],
                    department=departments[code],
                    date=date,
                    period=period,
                    start=start,
                    end=end,
                    per_slot=per_slot,
                    walkin_percent=walkin_percent,
                )
            )
        self.slot_ids = list(Slot.objects.order_by("session_id", "starts_at").values_list("pk", flat=True))
        # where one may queue: any doctor of a department on a day, then each session
        self.lines: list[tuple[Department, dt.date, ClinicSession | None]] = []
        for session in self.sessions:
            if (line := (departments[session.department.code], session.date, None)) not in self.lines:
                self.lines.append(line)
        self.lines += [(departments[s.department.code], s.date, s) for s in self.sessions]
        self.patients: list[tuple[User, Member]] = []
        for n in range(PATIENTS):
            user = User.objects.create(username=f"patient-{n}")
            member = Member.objects.create(
                number=f"20260000{n}",
                kind=MemberKind.STUDENT,
                name=f"学生{n}",
                card_number=f"C0000{n}",
                account=user,
                bound_at=START,
            )
            self.patients.append((user, member))

    def _slot_in_order(self, n: int) -> Slot:
        return Slot.objects.select_related("session__department", "session__doctor").get(pk=self.slot_ids[n])

    def _slot(self, n: int) -> Slot:
        """The n-th slot from the last: the simplest choice (0) is the one most likely free."""
        return Slot.objects.select_related("session__department", "session__doctor").get(
            pk=self.slot_ids[-1 - n % len(self.slot_ids)]
        )

    def _appointment(self, n: int, *, focus: str = "any") -> tuple[User, Appointment] | None:
        """The n-th appointment of anyone (newest first), with the patient's account. ``focus``
        narrows the choice to waitlist offers on hold ("offer") or to places someone is queueing
        for ("line"), else to live appointments, so the machine reaches those states often;
        "any" chooses among all, ended ones too. Walk-ins are only chosen for a "visit" (check-in,
        finishing) until their cancellation is fixed."""
        appointments = list(Appointment.objects.select_related("member__account", "dependant").order_by("-pk"))
        if not WALK_IN_CANCELLATION_FIXED and focus != "visit":
            appointments = [a for a in appointments if a.source != AppointmentSource.WALK_IN]
        if not appointments:
            return None
        waiting = set(
            WaitlistEntry.objects.filter(status=WaitlistStatus.WAITING).values_list(
                "department_id", "date", "session_id"
            )
        )

        def wanted(a: Appointment) -> bool:
            if focus == "offer":
                return a.is_live and a.hold_expires_at is not None
            if focus == "line":
                return a.is_live and bool(
                    {(a.department_id, a.date, a.session_id), (a.department_id, a.date, None)} & waiting
                )
            return False

        candidates = [a for a in appointments if wanted(a)] or [a for a in appointments if a.is_live] or appointments
        if focus == "any":
            candidates = appointments  # ended ones too: refusing them is part of the game
        appointment = candidates[n % len(candidates)]
        assert appointment.member.account is not None
        return appointment.member.account, appointment

    def _attempt(self, name: str, call: Callable[[], object]) -> None:
        """Run one service call. A refusal (``ApplicationError``) is a fine outcome when it left
        everything as it was; any other exception fails the machine."""
        before = self.last or Snapshot.take()
        try:
            call()
        except ApplicationError as error:
            OUTCOMES[f"{name}: {error.code}"] += 1
            after = Snapshot.take()
            assert after == before, f"{name} was refused ({error.code}) but changed the database"
        else:
            OUTCOMES[f"{name}: ok"] += 1

    # --- the steps ------------------------------------------------------------------------------

    @initialize()
    def fill_internal_medicine_on_day_one(self) -> None:
        """Patients 2-4 take 内科's three places on day 1 and patient 0 queues for any of them,
        so the first cancellation there makes a waitlist offer."""
        for who, slot in ((2, 0), (3, 1), (4, 2)):
            user, member = self.patients[who]
            appointment_book(actor=Actor.of(user), member=member, slot=self._slot_in_order(slot))
        user, member = self.patients[0]
        department, date, _ = self.lines[0]
        waitlist_join(actor=Actor.of(user), member=member, department=department, date=date)

    # Hypothesis tries rules with fewer arguments first and shrinks towards the first one, so
    # booking takes a single argument (who and which slot) and comes first.
    @rule(choice=st.integers(min_value=0, max_value=PATIENTS * 6 - 1))
    def book(self, choice: int) -> None:
        who, slot = divmod(choice, 6)
        user, member = self.patients[who % PATIENTS]
        target = self._slot(slot)
        self._attempt("book", lambda: appointment_book(actor=Actor.of(user), member=member, slot=target))

    @rule(n=index, focus=st.sampled_from(["line", "offer", "any"]))
    def cancel(self, n: int, focus: str) -> None:
        if found := self._appointment(n, focus=focus):
            user, appointment = found
            self._attempt("cancel", lambda: appointment_cancel(actor=Actor.of(user), appointment=appointment))

    @rule(n=index, slot=index, focus=st.sampled_from(["offer", "line", "any"]))
    def reschedule(self, n: int, slot: int, focus: str) -> None:
        if found := self._appointment(n, focus=focus):
            user, appointment = found
            target = self._slot(slot)
            self._attempt(
                "reschedule",
                lambda: appointment_reschedule(actor=Actor.of(user), appointment=appointment, new_slot=target),
            )

    @rule(n=index)
    def join_waitlist(self, n: int) -> None:
        """Someone with neither an appointment nor a place in line for that day queues."""
        busy = {
            (key, department, date)
            for key, department, date in Appointment.objects.filter(status__in=LIVE_STATUSES).values_list(
                "person_key", "department_id", "date"
            )
        } | {
            (key, department, date)
            for key, department, date in WaitlistEntry.objects.filter(status__in=OPEN_ENTRY).values_list(
                "person_key", "department_id", "date"
            )
        }
        candidates = [
            (user, member, line)
            for line in self.lines
            for user, member in self.patients
            if (f"m:{member.pk}", line[0].pk, line[1]) not in busy
        ]
        if not candidates:
            return
        user, member, (department, date, session) = candidates[n % len(candidates)]

        def join() -> object:
            return waitlist_join(actor=Actor.of(user), member=member, department=department, date=date, session=session)

        self._attempt("join", join)

    @rule(n=index)
    def leave_waitlist(self, n: int) -> None:
        entries = list(WaitlistEntry.objects.select_related("member__account").order_by("pk"))
        if entries:
            entry = entries[n % len(entries)]
            assert entry.member.account is not None
            self._attempt("leave", lambda: waitlist_leave(actor=Actor.of(entry.member.account), entry=entry))

    @rule(n=index)
    def confirm_offer(self, n: int) -> None:
        if found := self._appointment(n, focus="offer"):
            user, appointment = found
            self._attempt("confirm", lambda: waitlist_offer_confirm(actor=Actor.of(user), appointment=appointment))

    @rule(n=index)
    def pay(self, n: int) -> None:
        if found := self._appointment(n, focus="offer"):
            _, appointment = found
            self._attempt("pay", lambda: appointment_mark_paid(actor=Actor.system(), appointment=appointment))

    @rule(who=st.integers(min_value=0, max_value=PATIENTS - 1))
    def walk_in(self, who: int) -> None:
        _, member = self.patients[who]
        session = self.sessions[WALK_IN_SESSION]
        self._attempt("walk_in", lambda: walk_in_register(actor=Actor.system(), member=member, session=session))

    @rule(n=index)
    def check_in(self, n: int) -> None:
        if found := self._appointment(n, focus="visit"):
            _, appointment = found
            self._attempt("check_in", lambda: appointment_mark_arrived(actor=Actor.system(), appointment=appointment))

    @rule(n=index)
    def finish_visit(self, n: int) -> None:
        if (found := self._appointment(n, focus="visit")) and found[1].checked_in_at is not None:
            _, appointment = found
            self._attempt("finish", lambda: appointment_complete(actor=Actor.system(), appointment=appointment))

    @rule(minutes=st.sampled_from([31, 90, 240, 600, 5, 25]), run_jobs=st.booleans())
    def advance(self, minutes: int, run_jobs: bool) -> None:
        """Time passes; the worker's periodic jobs run then, unless the worker is down."""
        self._traveller.shift(dt.timedelta(minutes=minutes))
        if not run_jobs:
            OUTCOMES["advance, worker down"] += 1
            return
        expired = waitlist_offers_expire(actor=Actor.system(reason="waitlist_job"))
        recorded = no_shows_mark(actor=Actor.system(reason="no_show_job"))
        OUTCOMES[f"advance: {expired} offers expired, {recorded} no-shows"] += 1

    # --- what must always hold -----------------------------------------------------------------

    @invariant()
    def the_rules_hold(self) -> None:
        state = Snapshot.take()
        self.last = state
        appointments = [dict(zip(APPOINTMENT_FIELDS, row, strict=True)) for row in state.appointments]
        live = [a for a in appointments if a["status"] in LIVE_STATUSES]

        # each slot's count is exactly the places its appointments hold, never above capacity
        held = Counter(
            a["slot_id"]
            for a in appointments
            if a["status"] in HOLDS_A_PLACE and a["source"] != AppointmentSource.WALK_IN
        )
        for slot_id, booked, capacity in state.slots:
            assert booked <= capacity, f"slot {slot_id} overbooked: {booked}/{capacity}"
            assert booked == held[slot_id], f"slot {slot_id}: booked={booked} but places held={held[slot_id]}"

        # one live appointment per person, department and day
        per_day = Counter((a["person_key"], a["department_id"], a["date"]) for a in live)
        assert max(per_day.values(), default=0) <= 1, per_day

        # each person's quota counts their live appointments, within the limit
        per_person = Counter(a["person_key"] for a in live)
        quotas = {key: count for key, count, _ in state.quotas}
        for person_key in set(per_person) | set(quotas):
            assert quotas.get(person_key, 0) == per_person[person_key], (person_key, quotas, per_person)
            assert per_person[person_key] <= django_settings.BOOKING_MAX_LIVE_APPOINTMENTS

        # one open waitlist entry per person, department and day
        entries = [dict(zip(ENTRY_FIELDS, row, strict=True)) for row in state.entries]
        open_lines = Counter(
            (e["person_key"], e["department_id"], e["date"]) for e in entries if e["status"] in OPEN_ENTRY
        )
        assert max(open_lines.values(), default=0) <= 1, open_lines

        # an offer is a live appointment on hold, and a hold is an offer
        by_pk = {a["pk"]: a for a in appointments}
        offered = {e["appointment_id"]: e for e in entries if e["status"] == WaitlistStatus.OFFERED}
        for appointment_id, entry in offered.items():
            offer = by_pk.get(appointment_id)
            assert offer is not None, f"offered entry {entry['pk']} has no appointment"
            if OFFERED_ENTRIES_CLOSE_WITH_THEIR_APPOINTMENT or offer["status"] in LIVE_STATUSES:
                assert offer["status"] in LIVE_STATUSES, f"offered entry {entry['pk']}: appointment {offer['status']}"
                assert offer["hold_expires_at"] is not None, f"offered entry {entry['pk']}: appointment not on hold"
        for a in live:
            if a["hold_expires_at"] is not None:
                assert a["status"] == AppointmentStatus.BOOKED and a["source"] == AppointmentSource.WAITLIST, a
                assert a["pk"] in offered, f"appointment {a['pk']} is on hold but no entry offers it"

        # appointments only move forward
        statuses = {a["pk"]: a["status"] for a in appointments}
        for pk, status in statuses.items():
            before = self.statuses.get(pk)
            if before is None:
                assert status in LIVE_STATUSES, f"appointment {pk} was created {status}"
            elif before != status:
                assert status in ALLOWED_MOVES.get(before, set()), f"appointment {pk}: {before} -> {status}"
        assert set(self.statuses) <= set(statuses), "an appointment disappeared"
        self.statuses = statuses


APPOINTMENT_FIELDS = (
    "pk",
    "status",
    "slot_id",
    "source",
    "person_key",
    "department_id",
    "date",
    "hold_expires_at",
    "checked_in_at",
)
ENTRY_FIELDS = ("pk", "status", "person_key", "department_id", "date", "appointment_id")


@pytest.mark.django_db
def test_booking_rules_hold_whatever_patients_and_the_clock_do() -> None:
    OUTCOMES.clear()
    with override_settings(BOOKING_MAX_LIVE_APPOINTMENTS=MAX_LIVE, WAITLIST_CONFIRM_MINUTES=CONFIRM_MINUTES):
        run_state_machine_as_test(
            BookingMachine,
            settings=settings(
                max_examples=30,
                stateful_step_count=30,
                deadline=None,
                derandomize=True,
                database=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
                print_blob=False,
            ),
        )
    print("\n".join(f"{count:5d}  {outcome}" for outcome, count in sorted(OUTCOMES.items())))
    # the machine reached the interesting places, not only refusals
    for outcome in ("book: ok", "cancel: ok", "reschedule: ok", "join: ok", "pay: ok", "walk_in: ok"):
        assert OUTCOMES[outcome] > 0, outcome
    assert OUTCOMES["waitlist offers made"] > 0
