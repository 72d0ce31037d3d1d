"""E-mail through Django's SMTP backend, against a local SMTP server (aiosmtpd)."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine

from smartclinic.core import clock
from smartclinic.notifications.choices import Channel, DeliveryStatus
from smartclinic.notifications.models import Delivery
from smartclinic.notifications.tests.conftest import book, first_slot, run_outbox, send

pytestmark = pytest.mark.django_db


def email_deliveries():
    return Delivery.objects.filter(channel=Channel.EMAIL).order_by("id")


def test_a_booking_is_mailed_once(patient, session, smtp):
    user, member = patient(email="xiaoming@example.edu", language="en")
    appointment = book(user, member, first_slot(session))
    run_outbox()
    delivery = email_deliveries().get()

    assert send().sent == 1

    [mail] = smtp.messages
    assert mail["To"] == "xiaoming@example.edu"
    assert mail["From"] == "SmartClinic <clinic@example.edu>"
    assert mail["Subject"] == "Appointment confirmed"
    assert mail["Message-ID"] == f"<{delivery.public_id.hex}@clinic.example.edu>"
    assert mail["X-SmartClinic-Message"] == str(delivery.message.public_id)
    text = mail.get_body(preferencelist=("plain",)).get_content()
    html = mail.get_body(preferencelist=("html",)).get_content()
    assert "your appointment is booked" in text
    assert f"https://clinic.example.edu/appointments/{appointment.public_id}/" in text
    assert f'href="https://clinic.example.edu/appointments/{appointment.public_id}/"' in html
    delivery.refresh_from_db()
    assert (delivery.status, delivery.address) == (DeliveryStatus.SENT, "x***@example.edu")
    assert delivery.provider_message_id == mail["Message-ID"]
    assert send().handled == 0 and len(smtp.messages) == 1


def test_a_chinese_subject_survives_the_trip(patient, session, smtp):
    user, member = patient(email="xm@example.edu")
    book(user, member, first_slot(session))
    run_outbox()
    send()
    [mail] = smtp.messages
    assert mail["Subject"] == "预约成功"
    assert "您已预约" in mail.get_body(preferencelist=("plain",)).get_content()


def test_no_mail_without_an_address_or_when_turned_off(patient, session, smtp):
    without, member = patient()
    book(without, member, first_slot(session))
    opted_out, other = patient(email="no@example.edu", prefs={"email": False})
    book(opted_out, other, first_slot(session))
    run_outbox()
    assert not email_deliveries().exists()


def test_the_mail_server_down_for_a_while_delays_the_mail_and_loses_none(patient, session, smtp):
    with time_machine.travel(clock.now(), tick=True) as traveller:
        user, member = patient(email="xm@example.edu")
        book(user, member, first_slot(session))
        run_outbox()
        smtp.stop()

        report = send()
        assert (report.sent, report.retried, report.paused) == (0, 1, [Channel.EMAIL])
        delivery = email_deliveries().get()
        assert delivery.status == DeliveryStatus.PENDING and delivery.attempts == 1

        smtp.start()
        traveller.shift(dt.timedelta(minutes=3))
        assert send().sent == 1

    assert len(smtp.messages) == 1
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts) == (DeliveryStatus.SENT, 2)


def test_an_address_the_server_refuses_is_skipped(patient, session, smtp):
    smtp.collector.refuse.add("gone@example.edu")
    user, member = patient(email="gone@example.edu")
    book(user, member, first_slot(session))
    run_outbox()

    report = send()

    assert report.skipped == 1
    delivery = email_deliveries().get()
    assert delivery.status == DeliveryStatus.SKIPPED and "550" in delivery.last_error
    assert smtp.messages == []
