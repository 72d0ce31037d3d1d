"""``manage.py rush_scenario``: a fresh booking rush for a benchmark or a load test.

Creates, in bulk, N bound and active students, each with an API token, and M slots that all open
at the same instant (now + ``--opens-in``), spread over ``--departments`` departments and
``--days`` days (one doctor's session per department and day, more when a session would not
hold its share of slots). Writes the base facts as JSON: the raw tokens (the file is created
with mode 0600) and the slot ids with their department and day; each student is given one
department and day, so the one-per-department-per-day rule never turns away a student who
books only once. Every run uses its own tag in names and codes, so runs can share a database;
meant for a benchmark database, never a production one.

    python manage.py rush_scenario --students 10000 --slots 600 --opens-in 20 --out scenario.json
    python bench/rush.py --scenario scenario.json --url http://127.0.0.1:8000 --concurrency 256
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import math
import os
import secrets
import time
from pathlib import Path
from typing import Any

from django.conf import settings
from django.contrib.auth.hashers import make_password
from django.contrib.auth.models import Group
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction
from django.utils import timezone

from smartclinic.audit.services import audit_record
from smartclinic.core import clock
from smartclinic.core.actor import Actor
from smartclinic.identity.choices import MemberKind, MemberStatus, Role
from smartclinic.identity.models import ApiToken, Member, User
from smartclinic.identity.services import TOKEN_PREFIX
from smartclinic.scheduling.choices import DEFAULT_FEE_BY_TITLE, DoctorTitle, Period
from smartclinic.scheduling.models import ClinicSession, Department, Doctor, Slot

BATCH = 2000
SLOT_MINUTES = 5
MAX_SLOTS_PER_SESSION = 12 * 60 // SLOT_MINUTES  # 08:00 to 20:00
DEPARTMENT_NAMES = ["内科", "外科", "口腔科", "眼科", "耳鼻喉科", "皮肤科", "中医科", "心理咨询"]


def _share(total: int, parts: int) -> list[int]:
    """``total`` split into ``parts`` near-equal whole shares."""
    base, extra = divmod(total, parts)
    return [base + (1 if i < extra else 0) for i in range(parts)]


class Command(BaseCommand):
    help = "Create a booking rush (students with API tokens, slots that open together) and write it as JSON."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--students", type=int, default=10_000)
        parser.add_argument("--slots", type=int, default=600)
        parser.add_argument("--capacity", type=int, default=1, help="places per slot (default 1)")
        parser.add_argument("--departments", type=int, default=3)
        parser.add_argument("--days", type=int, default=5, help="consecutive days from tomorrow")
        parser.add_argument("--opens-in", type=float, default=20.0, help="seconds from now to the release")
        parser.add_argument("--out", required=True, help="the scenario JSON to write")
        parser.add_argument("--tag", default="", help="names this run (default: random)")

    def handle(self, *args: Any, **options: Any) -> None:
        students, slots, capacity = options["students"], options["slots"], options["capacity"]
        departments, days = options["departments"], options["days"]
        if students < 1 or capacity < 1 or not 1 <= departments <= 99 or not 1 <= days <= 60:
            raise CommandError("need --students >= 1, --capacity >= 1, 1..99 departments and 1..60 days")
        if slots < departments * days:
            raise CommandError(f"--slots must be at least departments x days ({departments * days})")
        tag = (options["tag"] or secrets.token_hex(3)).lower()
        if not tag.isalnum() or len(tag) > 6:
            raise CommandError("--tag: at most 6 letters or digits")
        started = time.monotonic()
        opens_at = clock.now() + dt.timedelta(seconds=options["opens_in"])
        with transaction.atomic():
            combos, slot_facts = self._clinic(tag, departments, days, slots, capacity, opens_at)
            student_facts = self._students(tag, students, combos)
            audit_record(
                actor=Actor.system(reason="rush_scenario"),
                action="booking.rush_scenario_created",
                subject_type="booking.rush",
                subject_id=tag,
                new={"students": students, "slots": slots, "capacity": capacity, "opens_at": opens_at},
            )
        facts = {
            "version": 1,
            "tag": tag,
            "created_at": clock.now().isoformat(),
            "opens_at": opens_at.isoformat(),
            "opens_at_epoch": opens_at.timestamp(),
            "api": "/api/v1",
            "capacity_total": slots * capacity,
            "departments": sorted({c[0] for c in combos}),
            "slots": slot_facts,
            "students": student_facts,
        }
        out = Path(options["out"])
        out.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(out, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)  # raw tokens inside
        with os.fdopen(fd, "w") as handle:
            json.dump(facts, handle, ensure_ascii=False)
        self.stdout.write(
            f"rush {tag}: {students} students, {slots} slots x {capacity} over {departments} departments x "
            f"{days} days, opening at {timezone.localtime(opens_at):%H:%M:%S}; "
            f"written to {out} in {time.monotonic() - started:.1f} s"
        )

    def _clinic(
        self, tag: str, departments: int, days: int, slots: int, capacity: int, opens_at: dt.datetime
    ) -> tuple[list[tuple[str, str]], list[dict[str, Any]]]:
        today = clock.today()
        per_combo = _share(slots, departments * days)
        sessions_per_combo = math.ceil(max(per_combo) / MAX_SLOTS_PER_SESSION)
        password = make_password(None)  # doctors never sign in here
        depts, doctors = [], []
        for d in range(departments):
            code = f"R{tag.upper()}{d:02d}"  # department codes are upper case (looked up so)
            depts.append(
                Department(
                    code=code,
                    name=f"{DEPARTMENT_NAMES[d % len(DEPARTMENT_NAMES)]}{d + 1}",
                    name_en=f"Rush department {d + 1}",
                    sort_order=900 + d,
                )
            )
        Department.objects.bulk_create(depts)
        users = User.objects.bulk_create(
            [
                User(username=f"rush{tag}-doctor-{d}-{k}", password=password, display_name=f"医生{d}-{k}")
                for d in range(departments)
                for k in range(sessions_per_combo)
            ]
        )
        for i, user in enumerate(users):
            d = i // sessions_per_combo
            doctors.append(Doctor(user=user, name=user.display_name, title=DoctorTitle.ATTENDING, room=f"{d}0{i}"))
        Doctor.objects.bulk_create(doctors)
        Doctor.departments.through.objects.bulk_create(
            [
                Doctor.departments.through(doctor_id=doctor.pk, department_id=depts[i // sessions_per_combo].pk)
                for i, doctor in enumerate(doctors)
            ]
        )
        sessions: list[ClinicSession] = []
        session_slots: list[int] = []
        for d, dept in enumerate(depts):
            for day in range(days):
                date = today + dt.timedelta(days=1 + day)
                count = per_combo[d * days + day]
                for k, share in enumerate(_share(count, sessions_per_combo)):
                    if share == 0:
                        continue
                    start = timezone.make_aware(dt.datetime.combine(date, dt.time(8, 0)))
                    sessions.append(
                        ClinicSession(
                            doctor=doctors[d * sessions_per_combo + k],
                            department=dept,
                            date=date,
                            period=Period.MORNING,
                            starts_at=start,
                            ends_at=start + dt.timedelta(minutes=SLOT_MINUTES * share),
                            room=doctors[d * sessions_per_combo + k].room,
                            fee=DEFAULT_FEE_BY_TITLE[DoctorTitle.ATTENDING],
                            opens_at=opens_at,
                        )
                    )
                    session_slots.append(share)
        ClinicSession.objects.bulk_create(sessions)
        slot_rows = [
            Slot(
                session=session,
                starts_at=session.starts_at + dt.timedelta(minutes=SLOT_MINUTES * i),
                ends_at=session.starts_at + dt.timedelta(minutes=SLOT_MINUTES * (i + 1)),
                capacity=capacity,
            )
            for session, share in zip(sessions, session_slots, strict=True)
            for i in range(share)
        ]
        Slot.objects.bulk_create(slot_rows, batch_size=BATCH)
        facts = [
            {
                "id": str(slot.public_id),
                "department": slot.session.department.code,
                "date": slot.session.date.isoformat(),
                "starts_at": slot.starts_at.isoformat(),
                "capacity": capacity,
            }
            for slot in slot_rows
        ]
        combos = [
            (dept.code, (today + dt.timedelta(days=1 + day)).isoformat()) for dept in depts for day in range(days)
        ]
        return combos, facts

    def _students(self, tag: str, count: int, combos: list[tuple[str, str]]) -> list[dict[str, Any]]:
        now = clock.now()
        password = make_password(secrets.token_urlsafe(24))  # one hash for all: nobody signs in with it
        users = User.objects.bulk_create(
            [User(username=f"rush{tag}-{i:06d}", password=password, display_name=f"学生{i}") for i in range(count)],
            batch_size=BATCH,
        )
        patients = Group.objects.filter(name=Role.PATIENT).first()
        if patients is not None:
            User.groups.through.objects.bulk_create(
                [User.groups.through(user_id=user.pk, group_id=patients.pk) for user in users], batch_size=BATCH
            )
        Member.objects.bulk_create(
            [
                Member(
                    number=f"R{tag}{i:06d}",
                    kind=MemberKind.STUDENT,
                    name=f"学生{i}",
                    card_number=f"RC{tag}{i:06d}",
                    status=MemberStatus.ACTIVE,
                    account=user,
                    bound_at=now,
                    synced_at=now,
                )
                for i, user in enumerate(users)
            ],
            batch_size=BATCH,
        )
        raws = [TOKEN_PREFIX + secrets.token_urlsafe(32) for _ in users]
        expires = now + dt.timedelta(hours=settings.API_TOKEN_TTL_HOURS)
        # Students have just signed in (and looked at the slots) before the release: the token's
        # coarse last-use stamp is fresh, as it would be for a student waiting on the page.
        ApiToken.objects.bulk_create(
            [
                ApiToken(
                    user=user,
                    key_hash=hashlib.sha256(raw.encode()).hexdigest(),
                    expires_at=expires,
                    last_used_at=now,
                )
                for user, raw in zip(users, raws, strict=True)
            ],
            batch_size=BATCH,
        )
        return [
            {
                "token": raw,
                "member": f"R{tag}{i:06d}",
                "department": combos[i % len(combos)][0],
                "date": combos[i % len(combos)][1],
            }
            for i, raw in enumerate(raws)
        ]
