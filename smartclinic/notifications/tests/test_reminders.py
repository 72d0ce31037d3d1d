"""Reminders the evening before and an hour before, once each, held back by quiet hours."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from django.utils import timezone

from smartclinic.booking.services import appointment_cancel
from smartclinic.core.actor import Actor
from smartclinic.notifications.choices import Channel, DeliveryStatus, MessageKind
from smartclinic.notifications.models import Delivery, Message
from smartclinic.notifications.reminders import reminders_send_due
from smartclinic.notifications.tests.conftest import book, first_slot, run_outbox, send

pytestmark = pytest.mark.django_db

SHANGHAI = dt.timezone(dt.timedelta(hours=8))
MONDAY_10 = dt.datetime(2026, 11, 30, 10, 0, tzinfo=SHANGHAI)


def at(day: dt.datetime, hour: int, minute: int = 0) -> dt.datetime:
    return day.replace(hour=hour, minute=minute)


def remind() -> int:
    return reminders_send_due(actor=Actor.system(reason="test"))


def reminders(kind: str) -> list[Message]:
    return list(Message.objects.filter(kind=kind))


@pytest.fixture
def monday():
    """Monday 10:00 in Shanghai; time runs on and can be moved."""
    with time_machine.travel(MONDAY_10, tick=True) as traveller:
        yield traveller


@pytest.fixture
def tuesday_8am(monday, make_clinic_session):
    """A session on Tuesday 08:00–09:00, booked on Monday morning."""
    return make_clinic_session(days_ahead=1)


def test_the_evening_reminder_goes_out_after_19_00_once(monday, tuesday_8am, patient, wechat):
    user, member = patient(openid="o-1", language="en")
    appointment = book(user, member, first_slot(tuesday_8am))
    run_outbox()

    monday.move_to(at(MONDAY_10, 18, 59))
    assert remind() == 0
    monday.move_to(at(MONDAY_10, 19, 0))
    assert remind() == 1
    assert remind() == 0  # once per appointment, however often the job runs

    [message] = reminders(MessageKind.REMINDER_EVENING)
    assert message.recipient == user
    assert message.title == "Reminder: your visit tomorrow"
    assert "at 08:00: Internal Medicine, Dr 李华" in message.body
    assert message.source_key == f"appointment:{appointment.public_id}"
    assert send().sent == 2  # the confirmation and the reminder, on WeChat
    assert len(wechat.sent) == 2


def test_the_hour_reminder_goes_out_in_the_hour_before_once(monday, tuesday_8am, patient):
    user, member = patient(prefs={"quiet_start": None, "quiet_end": None})
    book(user, member, first_slot(tuesday_8am))
    run_outbox()
    tuesday = MONDAY_10 + dt.timedelta(days=1)

    monday.move_to(at(tuesday, 6, 59))
    remind()
    assert reminders(MessageKind.REMINDER_HOUR) == []
    monday.move_to(
        at(
            tuesday,
            7,
            0,
        )
        + dt.timedelta(seconds=1)
    )
    assert remind() == 1
    assert remind() == 0
    [message] = reminders(MessageKind.REMINDER_HOUR)
    assert message.title == "就诊提醒：即将开始"
    assert "将于今天 08:00 开始就诊" in message.body


def test_no_reminder_for_a_cancelled_appointment(monday, tuesday_8am, patient):
    user, member = patient()
    appointment = book(user, member, first_slot(tuesday_8am))
    appointment_cancel(actor=Actor.of(user), appointment=appointment)
    monday.move_to(at(MONDAY_10, 20, 0))
    assert remind() == 0


def test_a_booking_made_after_the_evening_reminder_time_gets_no_evening_reminder(monday, tuesday_8am, patient):
    monday.move_to(at(MONDAY_10, 21, 0))
    user, member = patient()
    book(user, member, first_slot(tuesday_8am))
    monday.move_to(at(MONDAY_10, 21, 5))
    assert remind() == 0


def test_quiet_hours_hold_back_a_reminder_until_they_end(monday, tuesday_8am, patient, wechat):
    """Quiet 06:00–07:30; the hour reminder for 08:00 is made at 07:05: it is in the inbox at
    once, and pushed to WeChat at 07:30, not dropped."""
    user, member = patient(openid="o-q", prefs={"quiet_start": dt.time(6, 0), "quiet_end": dt.time(7, 30)})
    book(user, member, first_slot(tuesday_8am))
    run_outbox()
    send()
    tuesday = MONDAY_10 + dt.timedelta(days=1)

    monday.move_to(at(tuesday, 7, 5))
    assert remind() == 1
    [message] = reminders(MessageKind.REMINDER_HOUR)
    push = Delivery.objects.get(message=message, channel=Channel.WECHAT)
    assert timezone.localtime(push.next_attempt_at).strftime("%H:%M") == "07:30"
    assert send().handled == 0
    assert len(wechat.sent) == 1  # only the confirmation, sent on Monday

    monday.move_to(at(tuesday, 7, 31))
    assert send().sent == 1
    push.refresh_from_db()
    assert push.status == DeliveryStatus.SENT
    assert wechat.sent[-1].data["first"] == {"value": "就诊提醒：即将开始"}


def test_quiet_hours_do_not_hold_back_other_messages(monday, make_clinic_session, patient, wechat):
    session = make_clinic_session(days_ahead=1)
    monday.move_to(at(MONDAY_10, 23, 0))  # inside the default quiet hours 22:00–07:00
    user, member = patient(openid="o-night")
    book(user, member, first_slot(session))
    run_outbox()
    assert send().sent == 1  # a booking confirmation is what they just asked for


@pytest.mark.parametrize(
    ("now", "quiet", "expected"),
    [
        (dt.time(23, 0), (dt.time(22, 0), dt.time(7, 0)), "next 07:00"),
        (dt.time(3, 0), (dt.time(22, 0), dt.time(7, 0)), "same 07:00"),
        (dt.time(7, 0), (dt.time(22, 0), dt.time(7, 0)), None),
        (dt.time(12, 0), (dt.time(22, 0), dt.time(7, 0)), None),
        (dt.time(13, 0), (dt.time(12, 0), dt.time(14, 0)), "same 14:00"),
        (dt.time(11, 59), (dt.time(12, 0), dt.time(14, 0)), None),
        (dt.time(13, 0), None, None),
    ],
)
def test_quiet_hours_end(now, quiet, expected):
    from smartclinic.notifications.services import quiet_hours_end

    moment = dt.datetime.combine(dt.date(2026, 11, 30), now, tzinfo=SHANGHAI)
    end = quiet_hours_end(now=moment, quiet=quiet)
    if expected is None:
        assert end is None
    else:
        day, clock_time = expected.split()
        local = timezone.localtime(end)
        assert local.strftime("%H:%M") == clock_time
        assert local.date() == moment.date() + dt.timedelta(days=1 if day == "next" else 0)
