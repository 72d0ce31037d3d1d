"""The people of the demo campus, generated without touching the database.

Each part (students, staff, clinicians, accounts) draws from its own random stream: a Faker and a
``random.Random`` seeded with ``"<seed>/<part>"``. Person *i* depends only on the draws for the
persons before it, so the first students (the demo patients) are the same people whatever the
number of students asked for, and nothing depends on today's date.
"""

from __future__ import annotations

import datetime as dt
import random
from collections import Counter
from dataclasses import dataclass, fields
from typing import Any

from faker import Faker
from faker.providers.ssn.zh_CN import Provider as ChineseSsnProvider

from smartclinic.demo.catalogue import (
    ADMINISTRATIVE_OFFICES,
    CLINIC_DEPARTMENTS,
    CLINIC_WORKPLACE,
    COLLEGES,
    DORMITORIES_FEMALE,
    DORMITORIES_MALE,
    ENROLMENT_YEARS,
    STUDENTS_PER_CLASS,
    TITLE_AGES,
    TITLE_NAMES_ZH,
    ClinicDepartment,
    DoctorPlan,
)
from smartclinic.identity.choices import Gender, MemberKind, MemberStatus

DEMO_PATIENTS = 5  # patient1..patient5 are the first five students
REFERENCE_YEAR = 2026  # ages are counted from here, never from today, so a seed gives the same people any day
SUSPENDED_SHARE = 0.01  # some students are on leave (休学); never a demo patient

# County-level codes of the mainland (not the province/city totals ending in 00, not Taiwan/HK/Macau).
_AREA_CODES = tuple(code for code in ChineseSsnProvider.area_codes if not code.endswith("00") and code[0] not in "78")
_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK = "10X98765432"
_MEDICAL_SCHOOLS = (
    "北京大学医学部",
    "复旦大学上海医学院",
    "中山大学中山医学院",
    "四川大学华西临床医学院",
    "浙江大学医学院",
    "中南大学湘雅医学院",
    "武汉大学医学部",
    "南京医科大学",
)


@dataclass(frozen=True)
class Person:
    """One generated roster row; the fields are those of ``identity.Member``."""

    number: str
    kind: str
    name: str
    gender: str
    birth_date: dt.date
    national_id: str
    phone: str
    card_number: str
    college: str
    major: str = ""
    class_name: str = ""
    enrolment_year: int | None = None
    dormitory_building: str = ""
    dormitory_room: str = ""
    status: str = MemberStatus.ACTIVE

    def member_fields(self) -> dict[str, Any]:
        return {item.name: getattr(self, item.name) for item in fields(self)}


class Stream:
    """The random sources of one part of the demo."""

    def __init__(self, seed: int, part: str) -> None:
        key = f"{seed}/{part}"
        self.fake = Faker("zh_CN")
        self.fake.seed_instance(key)
        self.rng = random.Random(key)  # noqa: S311 - reproducible demo data, not secrets
        self.national_ids: set[str] = set()
        self.cards: set[str] = set()

    def gender(self, male_share: float) -> str:
        return Gender.MALE if self.rng.random() < male_share else Gender.FEMALE

    def name(self, gender: str) -> str:
        return str(self.fake.name_male() if gender == Gender.MALE else self.fake.name_female())

    def phone(self) -> str:
        return str(self.fake.phone_number())

    def national_id(self, *, birth_date: dt.date, gender: str) -> str:
        """A valid 18-character ID (GB 11643-1999) whose birth date and sex digit match."""
        while True:
            sequence = self.rng.randrange(100)
            sex_digit = self.rng.choice("13579" if gender == Gender.MALE else "02468")
            body = f"{self.rng.choice(_AREA_CODES)}{birth_date:%Y%m%d}{sequence:02d}{sex_digit}"
            check = _ID_CHECK[sum(int(d) * w for d, w in zip(body, _ID_WEIGHTS, strict=True)) % 11]
            if body + check not in self.national_ids:
                self.national_ids.add(body + check)
                return body + check

    def card_number(self, prefix: str) -> str:
        """An 8-digit campus card number, unique within this stream."""
        while True:
            card = f"{prefix}{self.rng.randrange(10**7):07d}"
            if card not in self.cards:
                self.cards.add(card)
                return card

    def birth_date_for_age(self, low: int, high: int) -> dt.date:
        year = REFERENCE_YEAR - self.rng.randint(low, high)
        return dt.date(year, 1, 1) + dt.timedelta(days=self.rng.randrange(365))


def generate_students(*, seed: int, count: int) -> list[Person]:
    """Students of the colleges, enrolled 2022-2025, numbered year + college code + sequence."""
    stream = Stream(seed, "students")
    rng = stream.rng
    weights = [college.weight for college in COLLEGES]
    in_college: Counter[tuple[int, str]] = Counter()
    in_major: Counter[tuple[int, str]] = Counter()
    people = []
    for index in range(count):
        college = rng.choices(COLLEGES, weights)[0]
        major = rng.choice(college.majors)
        year = rng.choice(ENROLMENT_YEARS)
        gender = stream.gender(college.male_share)
        # Most enrol at 18 (born Sept..Aug before); one in ten a year older.
        born_from = dt.date(year - (20 if rng.random() < 0.1 else 19), 9, 1)
        birth_date = born_from + dt.timedelta(days=rng.randrange(365))
        in_college[(year, college.code)] += 1
        in_major[(year, major.short)] += 1
        class_no = (in_major[(year, major.short)] - 1) // STUDENTS_PER_CLASS + 1
        on_leave = rng.random() < SUSPENDED_SHARE
        people.append(
            Person(
                number=f"{year}{college.code}{in_college[(year, college.code)]:04d}",
                kind=MemberKind.STUDENT,
                name=stream.name(gender),
                gender=gender,
                birth_date=birth_date,
                national_id=stream.national_id(birth_date=birth_date, gender=gender),
                phone=stream.phone(),
                card_number=stream.card_number("1"),
                college=college.name,
                major=major.name,
                class_name=f"{major.short}{year % 100:02d}{class_no:02d}",
                enrolment_year=year,
                dormitory_building=rng.choice(DORMITORIES_MALE if gender == Gender.MALE else DORMITORIES_FEMALE),
                dormitory_room=f"{rng.randint(1, 6)}{rng.randint(1, 20):02d}",
                status=MemberStatus.SUSPENDED if on_leave and index >= DEMO_PATIENTS else MemberStatus.ACTIVE,
            )
        )
    return people


def generate_staff(*, seed: int, count: int) -> list[Person]:
    """Teaching and administrative staff (no class or dormitory), numbered T00001..."""
    stream = Stream(seed, "staff")
    rng = stream.rng
    weights = [college.weight for college in COLLEGES]
    people = []
    for index in range(count):
        teaching = rng.random() < 0.7
        workplace = rng.choices(COLLEGES, weights)[0].name if teaching else rng.choice(ADMINISTRATIVE_OFFICES)
        gender = stream.gender(0.55)
        birth_date = stream.birth_date_for_age(24, 60)
        people.append(
            Person(
                number=f"T{index + 1:05d}",
                kind=MemberKind.STAFF,
                name=stream.name(gender),
                gender=gender,
                birth_date=birth_date,
                national_id=stream.national_id(birth_date=birth_date, gender=gender),
                phone=stream.phone(),
                card_number=stream.card_number("2"),
                college=workplace,
            )
        )
    return people


@dataclass(frozen=True)
class ClinicianPlan:
    department: ClinicDepartment
    plan: DoctorPlan
    person: Person
    specialties: list[str]
    biography: str
    room: str


def generate_clinicians(*, seed: int) -> list[ClinicianPlan]:
    """The clinic's doctors, in catalogue order; they are staff of the roster, numbered T90001..."""
    stream = Stream(seed, "clinicians")
    rng = stream.rng
    plans: list[ClinicianPlan] = []
    for department in CLINIC_DEPARTMENTS:
        for position, plan in enumerate(department.doctors):
            gender = stream.gender(0.5)
            birth_date = stream.birth_date_for_age(*TITLE_AGES[plan.title])
            person = Person(
                number=f"T9{len(plans) + 1:04d}",
                kind=MemberKind.STAFF,
                name=stream.name(gender),
                gender=gender,
                birth_date=birth_date,
                national_id=stream.national_id(birth_date=birth_date, gender=gender),
                phone=stream.phone(),
                card_number=stream.card_number("3"),
                college=CLINIC_WORKPLACE,
            )
            specialties = rng.sample(department.specialties, k=rng.randint(3, 4))
            years = max(2, REFERENCE_YEAR - birth_date.year - 25)
            biography = (
                f"{TITLE_NAMES_ZH[plan.title]}，毕业于{rng.choice(_MEDICAL_SCHOOLS)}，"
                f"从事{department.name}临床工作{years}年，擅长{'、'.join(specialties)}等的诊治。"
            )
            room = f"{department.first_room + position}诊室"
            plans.append(ClinicianPlan(department, plan, person, specialties, biography, room))
    return plans
