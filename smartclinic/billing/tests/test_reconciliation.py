"""Daily reconciliation against WeChat Pay's trade bill (CSV): what differs is listed and stored."""

from __future__ import annotations

import datetime as dt
from io import StringIO

import pytest
from django.core.management import call_command

from smartclinic.billing.errors import InvalidStatement
from smartclinic.billing.models import Payment, ReconciliationDifference, ReconciliationRun
from smartclinic.billing.reconciliation import parse_trade_bill, reconciliation_run
from smartclinic.billing.wechat_payments import order_sync_wechat
from smartclinic.booking.models import Appointment
from smartclinic.booking.services import appointment_cancel
from smartclinic.core import clock
from smartclinic.core.actor import Actor
from smartclinic.outbox.dispatcher import dispatch_until_idle

pytestmark = pytest.mark.django_db

SAMPLE = (
    "\ufeff交易时间,公众账号ID,商户号,特约商户号,设备号,微信订单号,商户订单号,用户标识,交易类型,交易状态,付款银行,"
    "货币种类,应结订单金额,代金券金额,微信退款单号,商户退款单号,退款金额,充值券退款金额,退款类型,退款状态,商品名称,"
    "商户数据包,手续费,费率,订单金额,申请退款金额,费率备注\r\n"
    "`2026-11-20 09:01:02,`wx1,`1900000109,`0,`,`4200000001,`R2026112000000001,`oA,`JSAPI,`SUCCESS,`OTHERS,`CNY,"
    "`10.00,`0.00,`0,`0,`0.00,`0.00,`,`,`挂号费,`,`0.06000,`0.60%,`10.00,`0.00,`\r\n"
    "`2026-11-20 10:11:12,`wx1,`1900000109,`0,`,`4200000001,`R2026112000000001,`oA,`JSAPI,`REFUND,`OTHERS,`CNY,"
    "`0.00,`0.00,`50300000001,`RF2026112000000001,`10.00,`0.00,`ORIGINAL,`SUCCESS,`挂号费,`,`0.00000,`0.60%,"
    "`0.00,`10.00,`\r\n"
    "总交易单数,应结订单总金额,退款总金额,充值券退款总金额,手续费总金额,订单总金额,申请退款总金额\r\n"
    "`2,`10.00,`10.00,`0.00,`0.06000,`10.00,`10.00\r\n"
)


def test_the_trade_bill_is_parsed_with_its_summary():
    statement = parse_trade_bill(SAMPLE)
    assert [
        (r.kind, r.out_trade_no, r.transaction_id, r.status, r.amount, r.out_refund_no, r.refund_status)
        for r in statement.rows
    ] == [
        ("payment", "R2026112000000001", "4200000001", "SUCCESS", 1000, "", ""),
        ("refund", "R2026112000000001", "4200000001", "REFUND", 1000, "RF2026112000000001", "SUCCESS"),
    ]
    assert statement.summary["总交易单数"] == "2" and statement.summary["订单总金额"] == "10.00"


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("", "empty"),
        ("a,b,c\r\n`1,`2,`3\r\n", "missing columns"),
        (SAMPLE.replace("`0.60%,`10.00,", "`0.60%,`10.001,", 1), "fen"),
    ],
)
def test_what_is_not_a_trade_bill_is_refused(text, reason):
    with pytest.raises(InvalidStatement) as caught:
        parse_trade_bill(text)
    assert reason in str(caught.value.detail)


def _pay(prepaid, standin, notify):
    user, _member, appointment, order = prepaid()
    standin.pay(order.out_trade_no)
    notify(*standin.payment_notification(order.out_trade_no))
    return user, appointment, order


def test_a_day_with_differences(prepaid, standin, notify, clinic, make_user):
    # Matched: paid and notified.
    _, _, matched = _pay(prepaid, standin, notify)
    # Refunded on the same day: payment and refund rows both match.
    user, appointment, refunded = _pay(lambda: prepaid(slot_index=1), standin, notify)
    appointment_cancel(actor=Actor.of(user), appointment=Appointment.objects.get(pk=appointment.pk))
    dispatch_until_idle()
    from smartclinic.billing.jobs import process_refunds

    process_refunds()
    # Missing on our side: WeChat Pay took it, no notification, nobody queried.
    _, _, _, lost = prepaid(slot_index=2)
    standin.pay(lost.out_trade_no)
    # Missing on theirs: we recorded a payment the bill does not list.
    _, _, _, phantom = prepaid(slot_index=3)
    standin.pay(phantom.out_trade_no)
    order_sync_wechat(actor=Actor.system(reason="t"), order=phantom)
    bill = standin.trade_bill(clock.today())
    phantom_tx = Payment.objects.get(order=phantom).provider_transaction_id
    bill = "\r\n".join(line for line in bill.split("\r\n") if phantom_tx not in line)
    # An amount that differs: the bill says 9.99 for the matched order.
    matched_tx = Payment.objects.get(order=matched).provider_transaction_id
    bill = "\r\n".join(
        line.replace("`10.00,`0.00,`0,`0,", "`9.99,`0.00,`0,`0,").replace("`0.60%,`10.00,", "`0.60%,`9.99,")
        if matched_tx in line
        else line
        for line in bill.split("\r\n")
    )
    manager = make_user("manager")

    report = reconciliation_run(actor=Actor.of(manager), date=clock.today(), statement_csv=bill)

    found = sorted(
        ((d.kind, d.record, d.out_trade_no, d.our_amount, d.their_amount) for d in report.differences), key=repr
    )
    assert found == sorted(
        [
            ("summary", "summary", "", None, None),  # the summary counts 5 rows; the phantom's row was cut out
            ("summary", "summary", "", 2999, 4000),  # the payment rows add up to 29.99, the summary says 40.00
            ("amount", "payment", matched.out_trade_no, 1000, 999),
            ("missing_ours", "payment", lost.out_trade_no, None, 1000),
            ("missing_theirs", "payment", phantom.out_trade_no, 1000, None),
        ],
        key=repr,
    ), report.differences
    run = ReconciliationRun.objects.get()
    assert (run.date, run.their_rows, run.our_rows, run.matched, run.created_by_id) == (
        clock.today(),
        4,
        4,
        2,
        manager.pk,
    )
    assert ReconciliationDifference.objects.filter(run=run).count() == 5
    assert refunded.out_trade_no not in {d.out_trade_no for d in report.differences}


def test_a_clean_day(prepaid, standin, notify, make_user):
    _pay(prepaid, standin, notify)
    report = reconciliation_run(
        actor=Actor.of(make_user("manager")), date=clock.today(), statement_csv=standin.trade_bill(clock.today())
    )
    assert report.clean and report.run.matched == 1 and report.run.their_total == report.run.our_total == 1000


def test_the_management_command(prepaid, standin, notify, tmp_path):
    _pay(prepaid, standin, notify)
    path = tmp_path / "bill.csv"
    path.write_text(standin.trade_bill(clock.today()), encoding="utf-8")
    out = StringIO()
    call_command("billing_reconcile", "--date", clock.today().isoformat(), str(path), stdout=out)
    assert "0 differences" in out.getvalue()
    assert ReconciliationRun.objects.get().matched == 1


def test_yesterday_s_payment_listed_today_is_not_missing(prepaid, standin, notify, make_user):
    _, _, _order = _pay(prepaid, standin, notify)
    yesterday = clock.today() - dt.timedelta(days=1)
    bill = standin.trade_bill(clock.today()).replace(f"`{clock.today():%Y-%m-%d}", f"`{yesterday:%Y-%m-%d}")
    report = reconciliation_run(actor=Actor.of(make_user("manager")), date=yesterday, statement_csv=bill)
    assert report.clean, report.differences
