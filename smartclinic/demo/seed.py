"""The demo campus in the database: its roster, the clinic's departments and doctors, and the
demo accounts (the people themselves come from ``people.py``).

Seeding is idempotent: members are created only for numbers that do not exist yet, departments,
doctors and accounts are looked up by code or username, and a second run only resets the demo
accounts' passwords, names and role flags. The timetable (weekly templates, the next two weeks'
sessions, days off, doctor1's day today) and patient1's history come from ``schedule.py``; a
second run the same day adds none of them again, a run on a later day tops the horizon up.
"""

from __future__ import annotations

import random
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from django.contrib.auth.hashers import make_password
from django.contrib.auth.models import Group
from django.db import transaction

from smartclinic.audit.services import audit_record
from smartclinic.billing.demo import seed_card_balances
from smartclinic.core import clock
from smartclinic.core.actor import Actor
from smartclinic.core.crypto import lookup_hash
from smartclinic.demo.catalogue import CLINIC_DEPARTMENTS
from smartclinic.demo.people import (
    DEMO_PATIENTS,
    Person,
    Stream,
    generate_clinicians,
    generate_staff,
    generate_students,
)
from smartclinic.demo.schedule import ScheduleReport, seed_schedules
from smartclinic.identity.choices import Role
from smartclinic.identity.models import Member, User
from smartclinic.identity.roles import ensure_role_groups
from smartclinic.scheduling.models import ClinicSession, Department, Doctor

DEFAULT_SEED = 2026
DEFAULT_STUDENTS = 3000
DEFAULT_STAFF = 400
DEFAULT_PASSWORD = "smartclinic-demo"
BATCH_SIZE = 500


def _existing(field_name: str, values: Sequence[str]) -> set[str]:
    """Which of ``values`` some member already has in ``field_name`` (queried in batches)."""
    found: set[str] = set()
    for start in range(0, len(values), BATCH_SIZE):
        chunk = values[start : start + BATCH_SIZE]
        found.update(Member.objects.filter(**{f"{field_name}__in": chunk}).values_list(field_name, flat=True))
    return found


def _free_card_number(number: str, taken: set[str]) -> str:
    """A replacement card number for a member whose generated one another member already holds."""
    rng = random.Random(f"card/{number}")  # noqa: S311 - reproducible demo data
    while True:
        card = f"9{rng.randrange(10**7):07d}"
        if card not in taken and not Member.objects.filter(card_number=card).exists():
            taken.add(card)
            return card


def seed_roster(*, people: Iterable[Person]) -> list[Member]:
    """Create the members whose numbers do not exist yet (in batches); returns those created."""
    people = list(people)
    known = _existing("number", [person.number for person in people])
    new = [person for person in people if person.number not in known]
    taken = _existing("card_number", [person.card_number for person in new])
    now = clock.now()
    members = []
    for person in new:
        values = person.member_fields()
        if person.card_number in taken:
            values["card_number"] = _free_card_number(person.number, taken)
        members.append(Member(**values, national_id_hash=lookup_hash(person.national_id), synced_at=now))
    return Member.objects.bulk_create(members, batch_size=BATCH_SIZE)


@dataclass(frozen=True)
class DemoAccount:
    username: str
    password: str
    role: str
    name: str
    member_number: str | None
    card_number: str | None
    bound: bool

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class AccountBook:
    """Creates or resets the demo accounts, all with one password hash, and lists them."""

    password: str
    password_hash: str
    created: int = 0
    listed: list[DemoAccount] = field(default_factory=list)

    def ensure(
        self,
        *,
        username: str,
        role: str,
        name: str,
        member: Member | None = None,
        bind: bool = False,
        is_staff: bool = False,
        is_superuser: bool = False,
    ) -> User:
        """Create or reset one demo account, in its role group, optionally bound to ``member``."""
        values = {
            "display_name": name,
            "password": self.password_hash,
            "is_active": True,
            "is_staff": is_staff,
            "is_superuser": is_superuser,
        }
        user, created = User.objects.get_or_create(username=username, defaults=values)
        if created:
            self.created += 1
        else:
            for attribute, value in values.items():
                setattr(user, attribute, value)
            user.save(update_fields=list(values))
        user.groups.add(Group.objects.get(name=role))
        if member is not None and bind:
            _bind(member=member, user=user)
        self.listed.append(
            DemoAccount(
                username=username,
                password=self.password,
                role=role,
                name=name,
                member_number=member.number if member is not None else None,
                card_number=member.card_number if member is not None else None,
                bound=member is not None and member.account_id == user.pk,
            )
        )
        return user


def _bind(*, member: Member, user: User) -> None:
    """Bind the card, unless the member or the account is already bound (then leave both alone)."""
    if member.account_id is not None or Member.objects.filter(account=user).exists():
        return
    member.account = user
    member.bound_at = clock.now()
    member.save(update_fields=["account", "bound_at", "updated_at"])


@dataclass
class ClinicResult:
    departments: list[Department]
    doctors: list[Doctor]
    accounts: list[DemoAccount]
    departments_created: int
    doctors_created: int
    members_created: int


def seed_departments_and_doctors(*, seed: int, accounts: AccountBook) -> ClinicResult:
    """The clinic's departments, and its doctors: each a staff member of the roster bound to the
    account doctorN."""
    departments: dict[str, Department] = {}
    departments_created = 0
    for order, spec in enumerate(CLINIC_DEPARTMENTS):
        department, created = Department.objects.get_or_create(
            code=spec.code,
            defaults={
                "name": spec.name,
                "name_en": spec.name_en,
                "description": spec.description,
                "location": spec.location,
                "opening_hours": spec.opening_hours,
                "sort_order": (order + 1) * 10,
            },
        )
        departments[spec.code] = department
        departments_created += created
    plans = generate_clinicians(seed=seed)
    members_created = len(seed_roster(people=[plan.person for plan in plans]))
    members = Member.objects.defer("national_id").in_bulk([plan.person.number for plan in plans], field_name="number")
    first_listed = len(accounts.listed)
    doctors = []
    doctors_created = 0
    for index, plan in enumerate(plans, start=1):
        member = members[plan.person.number]
        user = accounts.ensure(username=f"doctor{index}", role=Role.DOCTOR, name=member.name, member=member, bind=True)
        doctor, created = Doctor.objects.get_or_create(
            user=user,
            defaults={
                "name": member.name,
                "title": plan.plan.title,
                "specialties": plan.specialties,
                "biography": f"{member.name}，{plan.biography}",
                "room": plan.room,
            },
        )
        doctor.departments.add(departments[plan.department.code], *(departments[c] for c in plan.plan.also_in))
        doctors.append(doctor)
        doctors_created += created
    return ClinicResult(
        departments=list(departments.values()),
        doctors=doctors,
        accounts=accounts.listed[first_listed:],
        departments_created=departments_created,
        doctors_created=doctors_created,
        members_created=members_created,
    )


def seed_accounts(
    *, seed: int, students: Sequence[Person], staff: Sequence[Person], accounts: AccountBook
) -> list[DemoAccount]:
    """patient1..5 (the first five students; only patient1 bound), staff1 (the first staff
    member, bound: staff book for their dependants), nurse1, nurse2, cashier1, manager1, admin."""
    first_listed = len(accounts.listed)
    members = Member.objects.defer("national_id").in_bulk(
        [person.number for person in (*students[:DEMO_PATIENTS], staff[0])], field_name="number"
    )
    for index, person in enumerate(students[:DEMO_PATIENTS], start=1):
        member = members[person.number]
        accounts.ensure(username=f"patient{index}", role=Role.PATIENT, name=member.name, member=member, bind=index == 1)
    member = members[staff[0].number]
    accounts.ensure(username="staff1", role=Role.PATIENT, name=member.name, member=member, bind=True)
    stream = Stream(seed, "accounts")
    for username, role in (("nurse1", Role.NURSE), ("nurse2", Role.NURSE), ("cashier1", Role.CASHIER)):
        accounts.ensure(username=username, role=role, name=stream.name(stream.gender(0.2)))
    # The manager imports the roster in the Django admin; the administrator is a superuser.
    accounts.ensure(username="manager1", role=Role.MANAGER, name=stream.name(stream.gender(0.5)), is_staff=True)
    accounts.ensure(
        username="admin", role=Role.ADMIN, name=stream.name(stream.gender(0.5)), is_staff=True, is_superuser=True
    )
    return accounts.listed[first_listed:]


@dataclass
class SeedReport:
    seed: int
    students: int
    staff: int
    members_created: int
    departments_created: int
    doctors_created: int
    accounts_created: int
    accounts: list[DemoAccount]
    schedule: ScheduleReport

    @property
    def demo_doctor_today(self) -> list[ClinicSession]:
        """doctor1's sessions today (the demo can book them at once)."""
        return self.schedule.demo_doctor_today

    def summary(self) -> dict[str, int]:
        return {
            "seed": self.seed,
            "students": self.students,
            "staff": self.staff,
            "members_created": self.members_created,
            "departments_created": self.departments_created,
            "doctors_created": self.doctors_created,
            "accounts_created": self.accounts_created,
            "templates_created": self.schedule.templates_created,
            "days_off_created": self.schedule.days_off_created,
            "sessions_created": self.schedule.sessions_created,
            "past_visits_created": self.schedule.past_visits_created,
        }


@transaction.atomic
def seed_demo(
    *,
    actor: Actor,
    students: int = DEFAULT_STUDENTS,
    staff: int = DEFAULT_STAFF,
    seed: int = DEFAULT_SEED,
    password: str = DEFAULT_PASSWORD,
) -> SeedReport:
    """Seed (or top up) the demo campus in one transaction, with one audit entry summing it up."""
    if students < DEMO_PATIENTS or staff < 1:
        raise ValueError(f"the demo needs at least {DEMO_PATIENTS} students and 1 staff member")
    if Group.objects.filter(name__in=Role.values).count() < len(Role.values):
        ensure_role_groups()
    # One hash for every demo account: hashing each one with argon2 would take seconds.
    accounts = AccountBook(password=password, password_hash=make_password(password))
    student_people = generate_students(seed=seed, count=students)
    staff_people = generate_staff(seed=seed, count=staff)
    members_created = len(seed_roster(people=[*student_people, *staff_people]))
    clinic = seed_departments_and_doctors(seed=seed, accounts=accounts)
    others = seed_accounts(seed=seed, students=student_people, staff=staff_people, accounts=accounts)
    patient1 = Member.objects.filter(account__username="patient1").first()
    schedule = seed_schedules(actor=actor, doctors=clinic.doctors, patient=patient1)
    patients = [account for account in others if account.role == Role.PATIENT]
    seed_card_balances(members=Member.objects.filter(number__in=[p.member_number for p in patients if p.member_number]))
    staff_accounts = [account for account in others if account.role != Role.PATIENT]
    report = SeedReport(
        seed=seed,
        students=students,
        staff=staff,
        members_created=members_created + clinic.members_created,
        departments_created=clinic.departments_created,
        doctors_created=clinic.doctors_created,
        accounts_created=accounts.created,
        accounts=[*patients, *clinic.accounts, *staff_accounts],
        schedule=schedule,
    )
    audit_record(
        actor=actor, action="demo.seeded", subject_type="demo.seed", subject_id=str(seed), new=report.summary()
    )
    return report
