"""WeChat Pay notifications, against the stand-in's real signatures and encryption: applied
exactly once however often and in whatever order they come; forged ones change nothing and are
logged."""

from __future__ import annotations

import datetime as dt
import time

import pytest

from smartclinic.billing.choices import OrderStatus
from smartclinic.billing.models import Order, Payment, WechatNotificationLog
from smartclinic.billing.wechat_payments import order_sync_wechat
from smartclinic.billing.wechat_standin import _private
from smartclinic.booking.models import Appointment
from smartclinic.core.actor import Actor

pytestmark = pytest.mark.django_db


def _paid_events(log):
    return [payload for name, payload in log.events() if name == "billing.order_paid"]


def test_a_signed_notification_pays_the_order(prepaid, standin, notify, ledger):
    _user, member, appointment, order = prepaid()
    trade = standin.pay(order.out_trade_no)
    log = ledger()

    response = notify(*standin.payment_notification(order.out_trade_no))

    assert response.status_code == 204
    order.refresh_from_db()
    assert (order.status, order.paid_method) == (OrderStatus.PAID, "wechat")
    payment = Payment.objects.get()
    assert (payment.method, payment.amount, payment.provider_transaction_id) == ("wechat", 1000, trade.transaction_id)
    assert payment.paid_at == dt.datetime.fromisoformat(trade.success_time)
    assert Appointment.objects.get(pk=appointment.pk).status == "paid"
    assert log.audit() == ["booking.appointment_paid", "billing.order_paid"]
    assert _paid_events(log) == [
        {
            "order_id": str(order.public_id),
            "appointment_id": str(appointment.public_id),
            "member_id": str(member.public_id),
            "kind": "registration",
            "method": "wechat",
            "amount": "1000",
        }
    ]
    entry = WechatNotificationLog.objects.get()
    assert (entry.verified, entry.outcome, entry.event_type) == (True, "applied", "TRANSACTION.SUCCESS")
    assert (entry.out_trade_no, entry.transaction_id) == (order.out_trade_no, trade.transaction_id)
    assert entry.headers["Wechatpay-Serial"] == standin.keys.public_key_id


def test_the_same_notification_ten_times_is_applied_once(prepaid, standin, notify, ledger):
    _, _, _, order = prepaid()
    standin.pay(order.out_trade_no)
    headers, body = standin.payment_notification(order.out_trade_no)
    log = ledger()

    statuses = [notify(headers, body).status_code for _ in range(10)]

    assert statuses == [204] * 10
    assert Payment.objects.count() == 1
    assert Order.objects.get(pk=order.pk).status == OrderStatus.PAID
    assert len(_paid_events(log)) == 1
    assert log.audit() == ["booking.appointment_paid", "billing.order_paid"]
    outcomes = list(WechatNotificationLog.objects.order_by("id").values_list("outcome", flat=True))
    assert outcomes == ["applied"] + ["duplicate"] * 9


def test_a_notification_after_the_query_applied_the_payment_changes_nothing(prepaid, standin, notify, ledger):
    _user, _, _, order = prepaid()
    standin.pay(order.out_trade_no)
    log = ledger()

    order_sync_wechat(actor=Actor.system(reason="test"), order=order)  # no notification came: we asked
    late = notify(*standin.payment_notification(order.out_trade_no))

    assert late.status_code == 204
    assert Payment.objects.count() == 1
    assert len(_paid_events(log)) == 1
    assert WechatNotificationLog.objects.get().outcome == "duplicate"
    assert Order.objects.get(pk=order.pk).status == OrderStatus.PAID


def test_query_of_an_unpaid_order_changes_nothing(prepaid, standin):
    _, _, _, order = prepaid()
    order_sync_wechat(actor=Actor.system(reason="test"), order=order)
    order.refresh_from_db()
    assert order.status == OrderStatus.PENDING and order.wechat_checked_at is not None
    assert not Payment.objects.exists()


def _forgeries(standin, other_keys, out_trade_no):
    """(name, headers, body, expected outcome, verified)"""
    good_headers, good_body = standin.payment_notification(out_trade_no)
    unsigned = {k: v for k, v in good_headers.items() if not k.startswith("Wechatpay-")}
    yield "unsigned", unsigned, good_body, "rejected_signature", False
    wrong_key = standin.payment_notification(out_trade_no, key=_private(other_keys.platform_private_pem))
    yield "signed with another key", *wrong_key, "rejected_signature", False
    unknown_serial = standin.payment_notification(out_trade_no, serial="PUB_KEY_ID_0000000000000000000000000001")
    yield "unknown key serial", *unknown_serial, "rejected_signature", False
    yield "tampered body", good_headers, good_body.replace(b'"summary"', b'"Summary"'), "rejected_signature", False
    stale = standin.payment_notification(out_trade_no, timestamp=int(time.time()) - 3600)
    yield "replayed after an hour", *stale, "rejected_stale", False
    undecryptable = standin.payment_notification(out_trade_no, apiv3_key=other_keys.apiv3_key)
    yield "encrypted with another APIv3 key", *undecryptable, "rejected_decrypt", False
    wrong_amount = standin.payment_notification(out_trade_no, resource={"amount": {"total": 1, "currency": "CNY"}})
    yield "wrong amount", *wrong_amount, "mismatch", True
    wrong_mchid = standin.payment_notification(out_trade_no, resource={"mchid": "1230000109"})
    yield "wrong mchid", *wrong_mchid, "mismatch", True
    wrong_appid = standin.payment_notification(out_trade_no, resource={"appid": "wx0000000000000000"})
    yield "wrong appid", *wrong_appid, "mismatch", True


def test_forged_notifications_change_nothing_and_are_logged(prepaid, standin, other_keys, notify, ledger):
    _, _, appointment, order = prepaid()
    standin.pay(order.out_trade_no)
    calls_before = len(standin.calls)
    log = ledger()

    results = []
    for name, headers, body, expected, verified in _forgeries(standin, other_keys, order.out_trade_no):
        response = notify(headers, body)
        entry = WechatNotificationLog.objects.order_by("-id").first()
        results.append((name, response.status_code, entry.outcome, entry.verified))
        assert entry.outcome == expected, name
        assert entry.verified is verified, name

    assert [status for _, status, _, _ in results] == [401, 401, 401, 401, 401, 400, 204, 204, 204]
    assert WechatNotificationLog.objects.count() == 9
    assert Order.objects.get(pk=order.pk).status == OrderStatus.PENDING
    assert not Payment.objects.exists()
    assert Appointment.objects.get(pk=appointment.pk).status == "booked"
    assert log.audit() == [] and log.events() == []
    assert len(standin.calls) == calls_before  # nothing made us call out (no certificate download)
    # After all that, the real one still pays, once.
    assert notify(*standin.payment_notification(order.out_trade_no)).status_code == 204
    assert Order.objects.get(pk=order.pk).status == OrderStatus.PAID
    assert len(_paid_events(log)) == 1


def test_forged_body_is_logged_as_received(prepaid, standin, notify):
    _, _, _, _order = prepaid()
    response = notify({"Wechatpay-Signature": "AAAA"}, b'{"not": "wechat"}')
    assert response.status_code == 401
    assert response.json()["code"] == "FAIL"
    entry = WechatNotificationLog.objects.get()
    assert (entry.body, entry.verified, entry.outcome) == ('{"not": "wechat"}', False, "rejected_signature")
    assert entry.detail == "signature headers missing"


def test_a_notification_for_an_unknown_order_is_acknowledged_and_logged(prepaid, standin, notify):
    _, _, _, order = prepaid()
    standin.pay(order.out_trade_no)
    headers, body = standin.payment_notification(order.out_trade_no, resource={"out_trade_no": "R20990101FFFF"})
    assert notify(headers, body).status_code == 204
    assert WechatNotificationLog.objects.get().outcome == "unknown_order"
    assert not Payment.objects.exists()


def test_without_wechat_pay_configured_every_notification_is_refused(booked, notify, settings):
    settings.WECHATPAY_MCHID = ""
    settings.WECHATPAY_STANDIN = False
    response = notify({"Wechatpay-Signature": "x"}, b"{}")
    assert response.status_code == 401
    assert WechatNotificationLog.objects.get().detail == "WeChat Pay is not configured"
