"""The demo seed (``smartclinic.demo.seed``) and its command ``seed_demo``."""

from __future__ import annotations

import io
import json
import re
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth.models import Group
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import translation

from smartclinic.audit.models import AuditEntry
from smartclinic.booking.models import Appointment, PersonQuota
from smartclinic.core.crypto import lookup_hash
from smartclinic.demo.catalogue import CLINIC_DEPARTMENTS, COLLEGES
from smartclinic.demo.people import generate_clinicians, generate_staff, generate_students
from smartclinic.demo.schedule import PAST_VISITS
from smartclinic.identity.choices import Gender, MemberKind, MemberStatus, Role
from smartclinic.identity.models import Member, User
from smartclinic.identity.validators import is_valid_national_id
from smartclinic.scheduling.choices import DoctorTitle
from smartclinic.scheduling.models import ClinicSession, Department, Doctor, ScheduleException, ScheduleTemplate, Slot

STUDENTS, STAFF, SEED = 60, 20, 2026
DOCTORS = sum(len(department.doctors) for department in CLINIC_DEPARTMENTS)
PASSWORD = "smartclinic-demo"
EXPECTED_ROLES = {
    **{f"patient{n}": Role.PATIENT for n in range(1, 6)},
    "staff1": Role.PATIENT,
    **{f"doctor{n}": Role.DOCTOR for n in range(1, DOCTORS + 1)},
    "nurse1": Role.NURSE,
    "nurse2": Role.NURSE,
    "cashier1": Role.CASHIER,
    "manager1": Role.MANAGER,
    "admin": Role.ADMIN,
}


def seed(*extra: str, students: int = STUDENTS, staff: int = STAFF) -> str:
    out = io.StringIO()
    with translation.override("en"):
        call_command("seed_demo", "--students", str(students), "--staff", str(staff), *extra, stdout=out)
    return out.getvalue()


def table_counts() -> dict[str, int]:
    return {
        "members": Member.objects.count(),
        "users": User.objects.count(),
        "departments": Department.objects.count(),
        "doctors": Doctor.objects.count(),
        "doctor_departments": Doctor.departments.through.objects.count(),
        "group_memberships": User.groups.through.objects.count(),
        "bound": Member.objects.filter(account__isnull=False).count(),
        "templates": ScheduleTemplate.objects.count(),
        "days_off": ScheduleException.objects.count(),
        "sessions": ClinicSession.objects.count(),
        "slots": Slot.objects.count(),
        "places_booked": sum(Slot.objects.values_list("booked", flat=True)),
        "appointments": Appointment.objects.count(),
        "quotas": PersonQuota.objects.count(),
    }


@pytest.fixture
def accounts_json(tmp_path: Path) -> Path:
    return tmp_path / "accounts.json"


@pytest.fixture
def seeded(accounts_json: Path) -> str:
    return seed("--accounts-json", str(accounts_json))


# --- the roster --------------------------------------------------------------------------------


@pytest.mark.django_db
def test_seed_creates_the_students_staff_and_doctors_of_the_roster(seeded: str) -> None:
    assert Member.objects.filter(kind=MemberKind.STUDENT).count() == STUDENTS
    assert Member.objects.filter(kind=MemberKind.STAFF).count() == STAFF + DOCTORS
    assert seeded.startswith(
        f"Seed 2026: {STUDENTS + STAFF + DOCTORS} members, 8 departments, {DOCTORS} doctors and "
        f"{len(EXPECTED_ROLES)} accounts created in "
    )


@pytest.mark.django_db
def test_students_are_numbered_by_year_and_college_with_class_and_dormitory(seeded: str) -> None:
    colleges = {college.code: college for college in COLLEGES}
    for member in Member.objects.filter(kind=MemberKind.STUDENT):
        match = re.fullmatch(r"(2022|2023|2024|2025)(0[1-8])(\d{4})", member.number)
        assert match, member.number
        college = colleges[match[2]]
        assert member.enrolment_year == int(match[1])
        assert member.college == college.name
        major = next(major for major in college.majors if major.name == member.major)
        assert re.fullmatch(rf"{major.short}{member.enrolment_year % 100}\d\d", member.class_name)
        area = "东区" if member.gender == Gender.MALE else "西区"
        assert re.fullmatch(rf"{area}\d栋", member.dormitory_building)
        assert re.fullmatch(r"[1-6](0[1-9]|1\d|20)", member.dormitory_room)
        assert re.fullmatch(r"1[3-9]\d{9}", member.phone)
        assert 2 <= len(member.name) <= 4


@pytest.mark.django_db
def test_staff_have_a_workplace_and_no_class_or_dormitory(seeded: str) -> None:
    staff = Member.objects.filter(kind=MemberKind.STAFF)
    assert all(m.college and not m.class_name and not m.dormitory_building and m.enrolment_year is None for m in staff)
    assert sorted(staff.filter(number__startswith="T0").values_list("number", flat=True)) == [
        f"T{n:05d}" for n in range(1, STAFF + 1)
    ]


@pytest.mark.django_db
def test_every_national_id_is_valid_and_matches_gender_and_birth_date(seeded: str) -> None:
    members = list(Member.objects.all())
    assert len({member.national_id for member in members}) == len(members)
    for member in members:
        assert is_valid_national_id(member.national_id), member.national_id
        assert member.national_id[6:14] == member.birth_date.strftime("%Y%m%d")
        assert (int(member.national_id[16]) % 2 == 1) == (member.gender == Gender.MALE)
        assert member.national_id_hash == lookup_hash(member.national_id)


@pytest.mark.django_db
def test_card_numbers_are_unique_eight_digits(seeded: str) -> None:
    cards = list(Member.objects.values_list("card_number", flat=True))
    assert len(set(cards)) == len(cards)
    assert all(re.fullmatch(r"[123]\d{7}", card) for card in cards)


@pytest.mark.django_db
def test_the_demo_patients_are_active_and_some_other_students_may_be_on_leave(seeded: str) -> None:
    demo_numbers = [person.number for person in generate_students(seed=SEED, count=5)]
    assert set(Member.objects.filter(number__in=demo_numbers).values_list("status", flat=True)) == {"active"}
    assert set(Member.objects.values_list("status", flat=True)) <= {MemberStatus.ACTIVE, MemberStatus.SUSPENDED}


# --- the clinic ------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_the_clinic_departments_are_described(seeded: str) -> None:
    departments = list(Department.objects.order_by("sort_order"))
    assert [(d.code, d.name) for d in departments] == [
        ("NK", "内科"),
        ("WK", "外科"),
        ("KQ", "口腔科"),
        ("YK", "眼科"),
        ("EBH", "耳鼻喉科"),
        ("PF", "皮肤科"),
        ("ZY", "中医科"),
        ("XL", "心理咨询"),
    ]
    assert all(d.name_en and d.description and d.location and d.opening_hours and d.active for d in departments)
    assert Department.objects.get(code="XL").name_en == "Psychological Counselling"


@pytest.mark.django_db
def test_every_doctor_has_a_doctor_row_departments_and_a_bound_staff_member(seeded: str) -> None:
    catalogue = {department.code: department for department in CLINIC_DEPARTMENTS}
    doctors = Doctor.objects.select_related("user__member").prefetch_related("departments", "user__groups")
    assert doctors.count() == DOCTORS
    for doctor in doctors:
        codes = [department.code for department in doctor.departments.all()]
        assert codes, doctor.name
        assert set(doctor.specialties) <= {tag for code in codes for tag in catalogue[code].specialties}
        assert 3 <= len(doctor.specialties) <= 4
        assert doctor.name in doctor.biography and doctor.room.endswith("诊室")
        assert [group.name for group in doctor.user.groups.all()] == [Role.DOCTOR]
        member = doctor.user.member
        assert (member.kind, member.college, member.name, member.status) == ("staff", "校医院", doctor.name, "active")
        assert member.bound_at is not None
        assert doctor.user.display_name == doctor.name
    assert set(doctors.values_list("title", flat=True)) == set(DoctorTitle.values)
    assert Doctor.objects.get(user__username="doctor1").title == DoctorTitle.CHIEF
    in_two = [d for d in doctors if d.departments.count() == 2]
    assert [sorted(dep.code for dep in d.departments.all()) for d in in_two] == [["PF", "WK"]]
    assert Department.objects.get(code="NK").doctors.count() == 5


# --- the accounts ----------------------------------------------------------------------------------


@pytest.mark.django_db
def test_demo_accounts_exist_in_their_role_group_with_the_password(seeded: str) -> None:
    users = {user.username: user for user in User.objects.prefetch_related("groups")}
    assert set(users) == set(EXPECTED_ROLES)
    for username, role in EXPECTED_ROLES.items():
        user = users[username]
        assert [group.name for group in user.groups.all()] == [role], username
        assert user.check_password(PASSWORD), username
        assert user.is_active and user.display_name, username
    assert len({user.password for user in users.values()}) == 1  # hashed once
    flags = {name: (users[name].is_staff, users[name].is_superuser) for name in ("nurse1", "manager1", "admin")}
    assert flags == {"nurse1": (False, False), "manager1": (True, False), "admin": (True, True)}
    assert not any(users[name].is_staff for name in ("patient1", "staff1", "doctor1", "cashier1"))


@pytest.mark.django_db
def test_patient1_is_bound_to_the_first_student_and_patient2_to_5_are_not(seeded: str) -> None:
    first = generate_students(seed=SEED, count=5)
    patient1 = User.objects.get(username="patient1")
    member = Member.objects.get(number=first[0].number)
    assert member.account == patient1
    assert member.bound_at is not None
    assert patient1.display_name == member.name == first[0].name
    for n, person in enumerate(first[1:], start=2):
        user = User.objects.get(username=f"patient{n}")
        assert not Member.objects.filter(account=user).exists()
        assert Member.objects.get(number=person.number).account is None
        assert user.display_name == person.name


@pytest.mark.django_db
def test_staff1_is_bound_to_the_first_staff_member(seeded: str) -> None:
    member = Member.objects.get(number="T00001")
    assert member.account == User.objects.get(username="staff1")
    assert (member.kind, member.status) == ("staff", "active")


@pytest.mark.django_db
def test_accounts_json_lists_every_demo_account(seeded: str, accounts_json: Path) -> None:
    accounts = json.loads(accounts_json.read_text(encoding="utf-8"))
    first = generate_students(seed=SEED, count=1)[0]
    patient1 = Member.objects.get(number=first.number)
    assert [a["username"] for a in accounts] == list(EXPECTED_ROLES)
    assert accounts[0] == {
        "username": "patient1",
        "password": PASSWORD,
        "role": "patient",
        "name": patient1.name,
        "member_number": patient1.number,
        "card_number": patient1.card_number,
        "bound": True,
    }
    assert accounts[1]["bound"] is False
    assert accounts[1]["member_number"] == generate_students(seed=SEED, count=2)[1].number
    by_name = {a["username"]: a for a in accounts}
    assert by_name["staff1"]["member_number"] == "T00001"
    assert by_name["staff1"]["bound"] is True
    assert by_name["doctor1"]["member_number"] == "T90001"
    nurse = by_name["nurse1"]
    assert (nurse["member_number"], nurse["card_number"], nurse["bound"]) == (None, None, False)
    assert nurse["name"] == User.objects.get(username="nurse1").display_name
    assert {a["role"] for a in accounts} == set(Role.values)


@pytest.mark.django_db
def test_the_printed_table_shows_the_accounts(seeded: str) -> None:
    lines = seeded.splitlines()
    assert re.fullmatch(r"username\s+password\s+role\s+name\s+member number\s+card number\s+bound", lines[1]), lines[1]
    patient1 = Member.objects.get(account__username="patient1")
    assert lines[3].split() == [
        "patient1",
        PASSWORD,
        "patient",
        patient1.name,
        patient1.number,
        patient1.card_number,
        "yes",
    ]
    assert lines[4].split()[-1] == "no"
    assert lines[-1].startswith("Accounts written to ")
    assert re.fullmatch(
        r"doctor1 \(.+, 内科\) has sessions today, \d{4}-\d\d-\d\d: 08:00-11:30, 14:00-17:00, 18:30-20:30\.", lines[-2]
    ), lines[-2]
    assert re.fullmatch(
        r"Timetable \S+ to \S+: \d+ weekly templates, \d+ days off, \d+ sessions and 4 past visits created\.", lines[-3]
    ), lines[-3]
    assert lines[-4].split() == ["admin", PASSWORD, "admin", User.objects.get(username="admin").display_name]


@pytest.mark.django_db
def test_seed_writes_one_audit_entry_with_the_counts(seeded: str) -> None:
    entry = AuditEntry.objects.get(action="demo.seeded")
    assert (entry.action, entry.actor_label, entry.subject_type, entry.subject_id) == (
        "demo.seeded",
        "system",
        "demo.seed",
        "2026",
    )
    assert entry.request_id.startswith("seed_demo:")
    assert entry.new_values == {
        "seed": SEED,
        "students": STUDENTS,
        "staff": STAFF,
        "members_created": STUDENTS + STAFF + DOCTORS,
        "departments_created": 8,
        "doctors_created": DOCTORS,
        "accounts_created": len(EXPECTED_ROLES),
        "templates_created": ScheduleTemplate.objects.count(),
        "days_off_created": ScheduleException.objects.count(),
        "sessions_created": ClinicSession.objects.count() - len(PAST_VISITS),
        "past_visits_created": len(PAST_VISITS),
    }


# --- idempotence and determinism -------------------------------------------------------------------


@pytest.mark.django_db
def test_a_second_run_adds_nothing(seeded: str) -> None:
    before = table_counts()

    output = seed()

    assert table_counts() == before
    assert output.startswith("Seed 2026: 0 members, 0 departments, 0 doctors and 0 accounts created in ")
    assert "0 weekly templates, 0 days off, 0 sessions and 0 past visits created." in output
    seeded_entries = AuditEntry.objects.filter(action="demo.seeded").order_by("id")
    assert list(seeded_entries.values_list("new_values__members_created", flat=True)) == [
        STUDENTS + STAFF + DOCTORS,
        0,
    ]


@pytest.mark.django_db
def test_a_second_run_resets_the_demo_passwords(seeded: str) -> None:
    patient1 = User.objects.get(username="patient1")
    patient1.set_password("changed-by-the-tester")
    patient1.save()

    seed("--password", "another-demo-pass")

    assert User.objects.get(username="patient1").check_password("another-demo-pass")
    assert User.objects.get(username="admin").check_password("another-demo-pass")


@pytest.mark.django_db
def test_a_larger_second_run_tops_the_roster_up_and_keeps_the_demo_people(seeded: str) -> None:
    patient1_member = Member.objects.get(account__username="patient1")

    seed(students=STUDENTS + 15, staff=STAFF + 5)

    assert Member.objects.count() == STUDENTS + 15 + STAFF + 5 + DOCTORS
    assert Member.objects.get(account__username="patient1") == patient1_member


@pytest.mark.django_db
def test_the_same_seed_gives_the_same_people(seeded: str) -> None:
    students = generate_students(seed=SEED, count=STUDENTS)
    staff = generate_staff(seed=SEED, count=STAFF)
    in_db = dict(Member.objects.values_list("number", "name"))
    assert {p.number: p.name for p in [*students, *staff]}.items() <= in_db.items()
    assert generate_students(seed=SEED, count=STUDENTS) == students
    assert generate_clinicians(seed=SEED) == generate_clinicians(seed=SEED)
    # Person i depends only on the persons before it: the demo patients do not change with the size.
    assert generate_students(seed=SEED, count=5) == students[:5]
    other = generate_students(seed=SEED + 1, count=STUDENTS)
    assert [p.name for p in other] != [p.name for p in students]


@pytest.mark.django_db
def test_a_card_number_already_held_by_another_member_is_replaced(make_member: Any) -> None:
    first = generate_students(seed=SEED, count=1)[0]
    make_member(number="2019990001", card_number=first.card_number)

    seed()

    member = Member.objects.get(number=first.number)
    assert member.card_number != first.card_number
    assert re.fullmatch(r"9\d{7}", member.card_number)
    assert Member.objects.count() == STUDENTS + STAFF + DOCTORS + 1


@pytest.mark.django_db
def test_an_existing_member_number_is_kept_as_it_is(make_member: Any) -> None:
    first = generate_students(seed=SEED, count=1)[0]
    existing = make_member(number=first.number, name="已存在", card_number="55550001")

    seed()

    member = Member.objects.get(number=first.number)
    assert (member.pk, member.name, member.card_number) == (existing.pk, "已存在", "55550001")
    assert member.account == User.objects.get(username="patient1")
    assert User.objects.get(username="patient1").display_name == "已存在"


@pytest.mark.django_db
def test_seed_needs_five_students_and_one_staff_member() -> None:
    with pytest.raises(CommandError):
        seed(students=4)
    assert Member.objects.count() == 0
    assert not Group.objects.filter(user__isnull=False).exists()
