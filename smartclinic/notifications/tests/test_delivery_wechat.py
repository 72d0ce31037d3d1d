"""Delivery over WeChat through the stand-in: sent once, retried with backoff while WeChat is
down (none lost, none doubled), skipped for people who unsubscribed, failed after the maximum and
sent again on request."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine

from smartclinic.audit.models import AuditEntry
from smartclinic.core import clock
from smartclinic.core.actor import Actor
from smartclinic.notifications.channels import WechatSender
from smartclinic.notifications.choices import Channel, DeliveryStatus
from smartclinic.notifications.dispatcher import backoff, channel_paused_until, deliveries_send_due, delivery_claim
from smartclinic.notifications.models import Delivery
from smartclinic.notifications.services import delivery_requeue
from smartclinic.notifications.tests.conftest import TEMPLATE, book, first_slot, free_port, run_outbox, send
from smartclinic.notifications.wechat import WechatClient

pytestmark = pytest.mark.django_db


def now_ticking():
    """Time that runs on from now and can be moved forward (the clinic's session is tomorrow)."""
    return time_machine.travel(clock.now(), tick=True)


def wechat_deliveries():
    return Delivery.objects.filter(channel=Channel.WECHAT).order_by("id")


def booked_by_wechat_users(patient, session, count: int = 1):
    users = []
    for n in range(count):
        user, member = patient(openid=f"o-wx-{n}")
        book(user, member, first_slot(session, n // 2))
        users.append(user)
    run_outbox()
    return users


def test_a_booking_reaches_the_wechat_user_once(patient, session, wechat):
    [_user] = booked_by_wechat_users(patient, session)
    delivery = wechat_deliveries().get()
    assert delivery.status == DeliveryStatus.PENDING

    report = send()

    assert (report.sent, report.retried, report.skipped) == (1, 0, 0)
    [sent] = wechat.sent
    message = delivery.message
    assert sent.touser == "o-wx-0" and sent.template_id == TEMPLATE
    assert sent.data["first"] == {"value": "预约成功"}
    assert sent.data["keyword1"]["value"] == message.body[:200]
    assert sent.url == f"https://clinic.example.edu{message.link}"
    assert sent.client_msg_id == delivery.public_id.hex
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.SENT
    assert delivery.provider_message_id == str(sent.msgid)
    assert delivery.address == "o-wx-0…"
    assert delivery.attempts == 1 and delivery.sent_at is not None
    assert send().handled == 0  # nothing left; never sent twice
    assert len(wechat.sent) == 1


def test_no_wechat_delivery_for_an_account_without_an_openid_or_who_opted_out(patient, session, wechat):
    user, member = patient()
    book(user, member, first_slot(session))
    other, other_member = patient(openid="o-opted-out", prefs={"wechat": False})
    book(other, other_member, first_slot(session))
    run_outbox()
    assert not wechat_deliveries().exists()


def test_wechat_busy_for_a_while_delays_and_then_sends_each_message_exactly_once(patient, session, wechat):
    with now_ticking() as traveller:
        booked_by_wechat_users(patient, session, count=3)
        wechat.fail_sends(3, errcode=-1)  # system busy, three times in a row
        rounds = []
        for _ in range(10):
            report = send()
            rounds.append((report.sent, report.retried))
            if report.retried and len(rounds) == 1:
                failed = wechat_deliveries().get(attempts=1)
                wait = (failed.next_attempt_at - failed.last_attempt_at).total_seconds()
                assert 24 <= wait <= 36  # backoff: 30 s ± 20 %
            if report.sent:
                break
            # While the channel is paused nothing is tried: an outage costs one attempt per pause.
            assert send().handled == 0
            traveller.shift(dt.timedelta(minutes=10))

    assert rounds == [(0, 1), (0, 1), (0, 1), (3, 0)]
    assert [d.status for d in wechat_deliveries()] == [DeliveryStatus.SENT] * 3
    assert sorted(s.touser for s in wechat.sent) == ["o-wx-0", "o-wx-1", "o-wx-2"]  # none lost, none doubled
    assert sum(d.attempts for d in wechat_deliveries()) == 6 == wechat.send_requests
    assert channel_paused_until(Channel.WECHAT) is None


def test_wechat_unreachable_keeps_messages_until_it_is_back(patient, session, wechat, settings):
    with now_ticking() as traveller:
        booked_by_wechat_users(patient, session, count=2)
        settings.WECHAT_API_BASE = f"http://127.0.0.1:{free_port()}"  # connection refused

        report = send()
        assert (report.sent, report.retried) == (0, 1)
        assert report.paused == [Channel.WECHAT]
        assert channel_paused_until(Channel.WECHAT) is not None
        down = wechat_deliveries().first()
        assert down.status == DeliveryStatus.PENDING and "Connection" in down.last_error

        traveller.shift(dt.timedelta(minutes=5))
        send()  # still down: one more probe
        settings.WECHAT_API_BASE = wechat.url
        traveller.shift(dt.timedelta(minutes=15))
        report = send()

        assert report.sent == 2
        assert [d.status for d in wechat_deliveries()] == [DeliveryStatus.SENT, DeliveryStatus.SENT]
        assert len(wechat.sent) == 2
        assert channel_paused_until(Channel.WECHAT) is None


def test_a_token_that_expires_mid_stream_is_refreshed_without_losing_a_message(patient, session, wechat):
    booked_by_wechat_users(patient, session, count=3)

    class TokenExpiresAfterFirstSend(WechatSender):
        def send(self, *, delivery, message):
            receipt = super().send(delivery=delivery, message=message)
            if len(wechat.sent) == 1:
                wechat.expire_tokens()
            return receipt

    report = deliveries_send_due(senders={Channel.WECHAT: TokenExpiresAfterFirstSend(WechatClient.from_settings())})

    assert report.sent == 3 and report.retried == 0
    assert wechat.token_requests == [False, False]  # the first token, then its replacement
    assert wechat.send_requests == 4  # one refused with 42001, retried at once
    assert len(wechat.sent) == 3
    assert [d.status for d in wechat_deliveries()] == [DeliveryStatus.SENT] * 3


def test_an_unsubscribed_user_is_skipped_and_not_retried(patient, session, wechat):
    booked_by_wechat_users(patient, session)
    wechat.unsubscribe("o-wx-0")

    report = send()

    assert (report.skipped, report.retried) == (1, 0)
    delivery = wechat_deliveries().get()
    assert delivery.status == DeliveryStatus.SKIPPED
    assert "43004" in delivery.last_error
    requests_before = wechat.send_requests
    send()
    assert wechat.send_requests == requests_before
    assert delivery.message.deliveries.get(channel=Channel.INBOX).status == DeliveryStatus.SENT  # still in the inbox


def test_after_the_maximum_attempts_a_delivery_fails_and_staff_can_send_it_again(patient, session, wechat, settings):
    settings.NOTIFICATIONS_RETRY = {"wechat": {"base_seconds": 1, "max_seconds": 1, "max_attempts": 2}}
    with now_ticking() as traveller:
        booked_by_wechat_users(patient, session)
        wechat.fail_sends(2, errcode=40037)  # a wrong template id: not the channel's fault
        send()
        traveller.shift(dt.timedelta(seconds=5))
        report = send()
        assert report.failed == 1
        delivery = wechat_deliveries().get()
        assert (delivery.status, delivery.attempts) == (DeliveryStatus.FAILED, 2)

        manager = Actor.system(reason="test")
        delivery_requeue(actor=manager, delivery=delivery)
        delivery.refresh_from_db()
        assert (delivery.status, delivery.attempts) == (DeliveryStatus.PENDING, 0)
        assert AuditEntry.objects.filter(action="notifications.delivery_requeued").count() == 1
        assert send().sent == 1
        assert len(wechat.sent) == 1


def test_a_worker_that_dies_after_sending_causes_no_visible_duplicate(patient, session, wechat):
    """The at-least-once edge: sent, but the worker died before marking it. The lease runs out,
    another worker sends it again with the same client_msg_id, and WeChat drops the copy."""
    with now_ticking() as traveller:
        booked_by_wechat_users(patient, session)
        delivery, _token = delivery_claim(pk=wechat_deliveries().get().pk, now=clock.now())
        sender = WechatSender(WechatClient.from_settings())
        sender.send(delivery=delivery, message=delivery.message)  # ... and the worker dies here

        assert send().handled == 0  # still leased to the dead worker
        traveller.shift(dt.timedelta(minutes=3))
        assert send().sent == 1

    assert len(wechat.sent) == 1 and wechat.duplicates_suppressed == 1
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts) == (DeliveryStatus.SENT, 2)


@pytest.mark.parametrize("attempts", [1, 2, 3, 8, 20])
def test_backoff_grows_exponentially_with_jitter_and_a_cap(attempts, settings):
    settings.NOTIFICATIONS_RETRY = {"wechat": {"base_seconds": 30, "max_seconds": 3600, "max_attempts": 12}}
    expected = min(30 * 2 ** (attempts - 1), 3600)
    for _ in range(20):
        seconds = backoff(channel="wechat", attempts=attempts).total_seconds()
        assert expected * 0.8 <= seconds <= expected * 1.2


def test_a_channel_turned_off_before_sending_is_skipped(patient, session, wechat):
    [user] = booked_by_wechat_users(patient, session)
    from smartclinic.notifications.models import NotificationPreference

    NotificationPreference.objects.create(user=user, wechat=False)

    assert send().skipped == 1
    assert wechat.sent == []
    assert wechat_deliveries().get().last_error == "the person turned this channel off"
