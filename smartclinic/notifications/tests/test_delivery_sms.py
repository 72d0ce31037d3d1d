"""The SMS adapter slot: a provider class named by SMS_PROVIDER; "console" logs and sends nothing."""

from __future__ import annotations

import pytest

from smartclinic.notifications.channels import PermanentFailure, TemporaryFailure
from smartclinic.notifications.choices import Channel, DeliveryStatus
from smartclinic.notifications.models import Delivery
from smartclinic.notifications.tests.conftest import book, first_slot, run_outbox, send

pytestmark = pytest.mark.django_db


class RecordingProvider:
    """A provider adapter as a clinic would write one (here: records, fails on request)."""

    name = "recording"
    sent: list[dict[str, str]] = []
    fail_next: list[Exception] = []

    def send(self, *, phone: str, text: str, idempotency_key: str) -> str:
        if RecordingProvider.fail_next:
            raise RecordingProvider.fail_next.pop(0)
        RecordingProvider.sent.append({"phone": phone, "text": text, "key": idempotency_key})
        return f"sms-{len(RecordingProvider.sent)}"


@pytest.fixture
def provider(settings):
    settings.SMS_PROVIDER = f"{__name__}.RecordingProvider"
    RecordingProvider.sent = []
    RecordingProvider.fail_next = []
    return RecordingProvider


def sms_deliveries():
    return Delivery.objects.filter(channel=Channel.SMS)


def test_sms_goes_through_the_configured_provider_with_an_idempotency_key(patient, session, provider):
    user, member = patient(prefs={"sms": True})
    book(user, member, first_slot(session))
    run_outbox()
    delivery = sms_deliveries().get()

    assert send().sent == 1

    [sms] = provider.sent
    assert sms["phone"] == "13800138000"
    assert sms["text"].startswith("预约成功：张小明，您已预约")
    assert sms["key"] == delivery.public_id.hex
    delivery.refresh_from_db()
    assert (delivery.status, delivery.provider_message_id, delivery.address) == (
        DeliveryStatus.SENT,
        "sms-1",
        "138****8000",
    )


def test_sms_is_off_unless_the_person_chooses_it(patient, session, provider):
    user, member = patient()
    book(user, member, first_slot(session))
    run_outbox()
    assert not sms_deliveries().exists()


def test_a_provider_failure_is_retried_and_a_dead_number_skipped(patient, session, provider):
    user, member = patient(prefs={"sms": True})
    book(user, member, first_slot(session))
    run_outbox()
    provider.fail_next = [TemporaryFailure("gateway timeout", channel_down=True)]
    assert send().retried == 1
    delivery = sms_deliveries().get()
    assert (delivery.status, delivery.last_error) == (DeliveryStatus.PENDING, "gateway timeout")

    other, other_member = patient(prefs={"sms": True})
    book(other, other_member, first_slot(session))
    run_outbox()
    from smartclinic.notifications.dispatcher import _resume_channel

    _resume_channel(Channel.SMS)
    provider.fail_next = [PermanentFailure("number out of service")]
    report = send()
    assert report.skipped == 1
    assert sms_deliveries().filter(status=DeliveryStatus.SKIPPED).count() == 1


def test_the_console_provider_is_for_development_and_says_so(patient, session, settings, caplog):
    settings.SMS_PROVIDER = "console"
    user, member = patient(prefs={"sms": True})
    book(user, member, first_slot(session))
    run_outbox()

    assert send().sent == 1
    assert "SMS NOT SENT (console provider, development only) to 138****8000" in caplog.text
    assert sms_deliveries().get().provider_message_id.startswith("console-")
