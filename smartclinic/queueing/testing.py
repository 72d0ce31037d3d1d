"""A clinic morning in full swing, at the real time of day, for tests that drive real servers or
browsers (which share no frozen clock): two departments, doctors with rooms, sessions running
now, paid and checked-in patients, a waiting-room screen."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from django.contrib.auth.models import Group
from django.utils import timezone

from smartclinic.booking.choices import AppointmentStatus
from smartclinic.booking.models import Appointment, person_key_for
from smartclinic.core.actor import Actor
from smartclinic.identity.choices import MemberKind, Role
from smartclinic.identity.models import Member, User
from smartclinic.identity.services import token_issue
from smartclinic.queueing import screens, services
from smartclinic.queueing.models import Ticket
from smartclinic.scheduling.models import ClinicSession, Department, Doctor, Slot
from smartclinic.scheduling.services import session_create_one_off

PATIENTS = ("张小明", "李华", "王芳芳", "赵强", "欧阳娜娜", "刘洋", "陈静", "杨帆")


@dataclass
class ClinicNow:
    department: Department
    doctors: list[Doctor]
    sessions: list[ClinicSession]
    tickets: list[Ticket]
    screen_token: str
    doctor_token: str
    extra: dict[str, Any] = field(default_factory=dict)


def _user(username: str, role: str) -> User:
    user = User.objects.create_user(username=username, password="pw-Secret-123")
    user.groups.add(Group.objects.get(name=role))
    return user


def _session_window() -> tuple[dt.time, dt.time]:
    now = timezone.localtime()
    start = (now - dt.timedelta(minutes=30)).replace(minute=0, second=0, microsecond=0)
    if start.date() != now.date():
        start = now.replace(hour=0, minute=0, second=0, microsecond=0)
    end = min(now + dt.timedelta(hours=2), now.replace(hour=23, minute=59, second=0, microsecond=0))
    return start.time(), end.time().replace(second=0, microsecond=0)


def clinic_now(*, patients_per_doctor: int = 4, check_in: int = 3, prefix: str = "t") -> ClinicNow:
    """内科 with two doctors (rooms 3 and 5) consulting now; each has ``patients_per_doctor``
    paid tickets, the first ``check_in`` of them checked in."""
    actor = Actor.system(reason="test")
    start, end = _session_window()
    today = timezone.localdate()
    department = Department.objects.create(code="NK", name="内科", location="门诊楼一层")
    doctors, sessions, tickets = [], [], []
    names = iter(PATIENTS * 4)
    for index, (name, room) in enumerate((("王医生", "3"), ("李医生", "5"))):
        doctor = Doctor.objects.create(
            user=_user(f"{prefix}doctor{index}", Role.DOCTOR), name=name, title="attending", room=room
        )
        doctor.departments.set([department])
        session = session_create_one_off(
            actor=actor,
            doctor=doctor,
            department=department,
            date=today,
            period="morning",
            start=start,
            end=end,
            slot_minutes=15,
            per_slot=patients_per_doctor,
            walkin_percent=20,
        )
        # Booked for the slots from now on (two a slot), so the checked-in ones are on time.
        now = timezone.now()
        slots = list(Slot.objects.filter(session=session).order_by("starts_at"))
        upcoming = [s for s in slots if s.starts_at >= now - dt.timedelta(minutes=5)] or slots[-1:]
        for n in range(patients_per_doctor):
            slot = upcoming[min(n // 2, len(upcoming) - 1)]
            member = Member.objects.create(
                number=f"2024{index}{n:03d}{prefix}",
                kind=MemberKind.STUDENT,
                name=next(names),
                card_number=f"C{index}{n:03d}{prefix}",
            )
            appointment = Appointment.objects.create(
                member=member,
                person_key=person_key_for(member=member, dependant=None),
                booked_by=doctor.user,
                slot=slot,
                session=session,
                department=department,
                doctor=doctor,
                date=today,
                status=AppointmentStatus.PAID,
                fee=session.fee,
            )
            ticket = services.ticket_issue(actor=actor, appointment=appointment)
            if n < check_in:
                ticket = services.ticket_check_in(actor=actor, ticket=ticket)
            tickets.append(ticket)
        doctors.append(doctor)
        sessions.append(session)
    key = screens.screen_create(actor=actor, name="内科候诊区", departments=[department])
    return ClinicNow(
        department=department,
        doctors=doctors,
        sessions=sessions,
        tickets=tickets,
        screen_token=key.token,
        doctor_token=token_issue(actor=actor, user=doctors[0].user).raw,
    )
