"""Daily reconciliation: our WeChat Pay payments and refunds of a day against WeChat Pay's trade
bill of that day (the ALL bill, CSV), listing every difference.

The bill: a header row, then one row per payment (by its success time) and per refund (by the
time WeChat Pay accepted it), every field prefixed with a backtick (so spreadsheets keep long
numbers), amounts in yuan; then a summary header and one summary row. Columns are read by their
header names, not their positions.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

from django.db import transaction
from django.utils import timezone

from smartclinic.audit.services import audit_record
from smartclinic.billing.choices import DifferenceKind, PaymentMethod, RefundStatus
from smartclinic.billing.errors import InvalidStatement
from smartclinic.billing.models import Payment, ReconciliationDifference, ReconciliationRun, Refund
from smartclinic.core.actor import Actor

SUMMARY_FIRST_COLUMN = "总交易单数"
REQUIRED_COLUMNS = ("交易时间", "微信订单号", "商户订单号", "交易状态")


@dataclass(frozen=True)
class StatementRow:
    line: int
    kind: str  # "payment" | "refund"
    trade_time: str
    out_trade_no: str
    transaction_id: str
    status: str
    amount: int
    out_refund_no: str = ""
    refund_status: str = ""


@dataclass
class Statement:
    rows: list[StatementRow]
    summary: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Difference:
    kind: str
    record: str
    out_trade_no: str = ""
    transaction_id: str = ""
    out_refund_no: str = ""
    our_amount: int | None = None
    their_amount: int | None = None
    our_status: str = ""
    their_status: str = ""
    note: str = ""


@dataclass(frozen=True)
class ReconciliationReport:
    run: ReconciliationRun
    differences: list[Difference]

    @property
    def clean(self) -> bool:
        return not self.differences


def _field(value: str) -> str:
    value = value.strip()
    return value[1:] if value.startswith("`") else value


def to_fen(value: str, *, line: int) -> int:
    try:
        fen = Decimal(value or "0") * 100
    except InvalidOperation as exc:
        raise InvalidStatement(InvalidStatement.message % {"reason": f"line {line}: {value!r}"}) from exc
    if fen != fen.to_integral_value():
        raise InvalidStatement(InvalidStatement.message % {"reason": f"line {line}: {value!r} is not in fen"})
    return int(fen)


def parse_trade_bill(text: str) -> Statement:
    """Rows and summary of a WeChat Pay trade bill; ``InvalidStatement`` if it is not one."""
    text = text.lstrip("\ufeff")
    records = [(number, row) for number, row in enumerate(csv.reader(io.StringIO(text)), start=1) if any(row)]
    if not records:
        raise InvalidStatement(InvalidStatement.message % {"reason": "empty"})
    header = [_field(name) for name in records[0][1]]
    missing = [name for name in REQUIRED_COLUMNS if name not in header]
    if missing:
        raise InvalidStatement(InvalidStatement.message % {"reason": "missing columns " + ", ".join(missing)})
    rows: list[StatementRow] = []
    summary: dict[str, str] = {}
    index = 1
    while index < len(records):
        number, raw = records[index]
        values = [_field(value) for value in raw]
        if values[0] == SUMMARY_FIRST_COLUMN:
            if index + 1 < len(records):
                summary = dict(zip(values, [_field(v) for v in records[index + 1][1]], strict=False))
            break
        if len(values) != len(header):
            raise InvalidStatement(
                InvalidStatement.message % {"reason": f"line {number} has {len(values)} fields, not {len(header)}"}
            )
        record = dict(zip(header, values, strict=True))
        status = record["交易状态"]
        if status == "REFUND":
            amount_text = record.get("申请退款金额") or record.get("退款金额", "0")
            rows.append(
                StatementRow(
                    line=number,
                    kind="refund",
                    trade_time=record["交易时间"],
                    out_trade_no=record["商户订单号"],
                    transaction_id=record["微信订单号"],
                    status=status,
                    amount=to_fen(amount_text, line=number),
                    out_refund_no=record.get("商户退款单号", ""),
                    refund_status=record.get("退款状态", ""),
                )
            )
        else:
            amount_text = record.get("订单金额") or record.get("应结订单金额", "0")
            rows.append(
                StatementRow(
                    line=number,
                    kind="payment",
                    trade_time=record["交易时间"],
                    out_trade_no=record["商户订单号"],
                    transaction_id=record["微信订单号"],
                    status=status,
                    amount=to_fen(amount_text, line=number),
                )
            )
        index += 1
    return Statement(rows=rows, summary=summary)


def _summary_differences(statement: Statement) -> list[Difference]:
    if not statement.summary:
        return [Difference(kind=DifferenceKind.SUMMARY, record="summary", note="the statement has no summary")]
    differences = []
    count = statement.summary.get("总交易单数", "")
    if count and count.isdigit() and int(count) != len(statement.rows):
        differences.append(
            Difference(
                kind=DifferenceKind.SUMMARY,
                record="summary",
                note=f"summary counts {count} rows, the statement has {len(statement.rows)}",
            )
        )
    paid = sum(row.amount for row in statement.rows if row.kind == "payment" and row.status == "SUCCESS")
    total = statement.summary.get("订单总金额") or statement.summary.get("应结订单总金额")
    if total and to_fen(total, line=0) != paid:
        differences.append(
            Difference(
                kind=DifferenceKind.SUMMARY,
                record="summary",
                our_amount=paid,
                their_amount=to_fen(total, line=0),
                note="summary total differs from the sum of the payment rows",
            )
        )
    refunded = sum(row.amount for row in statement.rows if row.kind == "refund")
    refund_total = statement.summary.get("申请退款总金额") or statement.summary.get("退款总金额")
    if refund_total and to_fen(refund_total, line=0) != refunded:
        differences.append(
            Difference(
                kind=DifferenceKind.SUMMARY,
                record="summary",
                our_amount=refunded,
                their_amount=to_fen(refund_total, line=0),
                note="summary refund total differs from the sum of the refund rows",
            )
        )
    return differences


def _day_bounds(date: dt.date) -> tuple[dt.datetime, dt.datetime]:
    start = timezone.make_aware(dt.datetime.combine(date, dt.time.min))
    return start, start + dt.timedelta(days=1)


_REFUND_STATE = {
    RefundStatus.SUCCEEDED: "SUCCESS",
    RefundStatus.PROCESSING: "PROCESSING",
    RefundStatus.FAILED: "FAILED",
    RefundStatus.REQUESTED: "REQUESTED",
}


def _compare_payments(rows: Iterable[StatementRow], day: list[Payment]) -> tuple[list[Difference], int]:
    rows = list(rows)
    ours_today = {payment.order.out_trade_no: payment for payment in day}
    others = {
        payment.order.out_trade_no: payment
        for payment in Payment.objects.filter(
            method=PaymentMethod.WECHAT, order__out_trade_no__in=[row.out_trade_no for row in rows]
        ).select_related("order")
    }
    differences: list[Difference] = []
    matched = 0
    seen: set[str] = set()
    for row in rows:
        ours = ours_today.get(row.out_trade_no) or others.get(row.out_trade_no)
        if ours is None:
            differences.append(
                Difference(
                    kind=DifferenceKind.MISSING_OURS,
                    record="payment",
                    out_trade_no=row.out_trade_no,
                    transaction_id=row.transaction_id,
                    their_amount=row.amount,
                    their_status=row.status,
                    note="WeChat Pay took this payment; we have no record of it (query the order)",
                )
            )
            continue
        seen.add(row.out_trade_no)
        found = []
        if (ours.provider_transaction_id or "") != row.transaction_id:
            found.append(
                Difference(
                    kind=DifferenceKind.TRANSACTION_ID,
                    record="payment",
                    out_trade_no=row.out_trade_no,
                    transaction_id=row.transaction_id,
                    note=f"ours: {ours.provider_transaction_id or '—'}",
                )
            )
        if ours.amount != row.amount:
            found.append(
                Difference(
                    kind=DifferenceKind.AMOUNT,
                    record="payment",
                    out_trade_no=row.out_trade_no,
                    transaction_id=row.transaction_id,
                    our_amount=ours.amount,
                    their_amount=row.amount,
                )
            )
        if row.status != "SUCCESS":
            found.append(
                Difference(
                    kind=DifferenceKind.STATUS,
                    record="payment",
                    out_trade_no=row.out_trade_no,
                    transaction_id=row.transaction_id,
                    our_status=ours.status,
                    their_status=row.status,
                )
            )
        differences += found
        matched += not found
    for out_trade_no, ours in ours_today.items():
        if out_trade_no not in seen:
            differences.append(
                Difference(
                    kind=DifferenceKind.MISSING_THEIRS,
                    record="payment",
                    out_trade_no=out_trade_no,
                    transaction_id=ours.provider_transaction_id or "",
                    our_amount=ours.amount,
                    our_status=ours.status,
                    note="we recorded this payment; the statement does not list it",
                )
            )
    return differences, matched


def _compare_refunds(rows: Iterable[StatementRow], day: list[Refund]) -> tuple[list[Difference], int]:
    rows = list(rows)
    ours_today = {refund.out_refund_no: refund for refund in day}
    others = {
        refund.out_refund_no: refund
        for refund in Refund.objects.filter(out_refund_no__in=[row.out_refund_no for row in rows]).select_related(
            "order"
        )
    }
    differences: list[Difference] = []
    matched = 0
    seen: set[str] = set()
    for row in rows:
        ours = ours_today.get(row.out_refund_no) or others.get(row.out_refund_no)
        if ours is None:
            differences.append(
                Difference(
                    kind=DifferenceKind.MISSING_OURS,
                    record="refund",
                    out_trade_no=row.out_trade_no,
                    transaction_id=row.transaction_id,
                    out_refund_no=row.out_refund_no,
                    their_amount=row.amount,
                    their_status=row.refund_status,
                    note="WeChat Pay lists a refund we did not ask for",
                )
            )
            continue
        seen.add(row.out_refund_no)
        found = []
        if ours.amount != row.amount:
            found.append(
                Difference(
                    kind=DifferenceKind.AMOUNT,
                    record="refund",
                    out_trade_no=row.out_trade_no,
                    out_refund_no=row.out_refund_no,
                    our_amount=ours.amount,
                    their_amount=row.amount,
                )
            )
        ours_state = _REFUND_STATE.get(RefundStatus(ours.status), ours.status)
        # The bill is a snapshot taken when the refund was accepted: PROCESSING there is no news.
        if row.refund_status != "PROCESSING" and (row.refund_status == "SUCCESS") != (ours_state == "SUCCESS"):
            found.append(
                Difference(
                    kind=DifferenceKind.STATUS,
                    record="refund",
                    out_trade_no=row.out_trade_no,
                    out_refund_no=row.out_refund_no,
                    our_status=ours_state,
                    their_status=row.refund_status,
                )
            )
        differences += found
        matched += not found
    for out_refund_no, ours in ours_today.items():
        if out_refund_no not in seen:
            differences.append(
                Difference(
                    kind=DifferenceKind.MISSING_THEIRS,
                    record="refund",
                    out_trade_no=ours.order.out_trade_no,
                    out_refund_no=out_refund_no,
                    our_amount=ours.amount,
                    our_status=_REFUND_STATE.get(RefundStatus(ours.status), ours.status),
                    note="we submitted this refund; the statement does not list it",
                )
            )
    return differences, matched


@transaction.atomic
def reconciliation_run(*, actor: Actor, date: dt.date, statement_csv: str) -> ReconciliationReport:
    """Compare the day and store the run with its differences (each run is kept; running a day
    again adds a new run)."""
    statement = parse_trade_bill(statement_csv)
    start, end = _day_bounds(date)
    payments = list(
        Payment.objects.filter(method=PaymentMethod.WECHAT, paid_at__gte=start, paid_at__lt=end).select_related("order")
    )
    refunds = list(
        Refund.objects.filter(
            method=PaymentMethod.WECHAT, submitted_at__gte=start, submitted_at__lt=end
        ).select_related("order")
    )
    payment_rows = [row for row in statement.rows if row.kind == "payment"]
    refund_rows = [row for row in statement.rows if row.kind == "refund"]
    payment_differences, payments_matched = _compare_payments(payment_rows, payments)
    refund_differences, refunds_matched = _compare_refunds(refund_rows, refunds)
    differences = _summary_differences(statement) + payment_differences + refund_differences
    run = ReconciliationRun.objects.create(
        date=date,
        provider=PaymentMethod.WECHAT,
        statement_sha256=hashlib.sha256(statement_csv.encode()).hexdigest(),
        created_by=actor.user,
        their_rows=len(statement.rows),
        our_rows=len(payments) + len(refunds),
        matched=payments_matched + refunds_matched,
        their_total=sum(row.amount for row in payment_rows if row.status == "SUCCESS"),
        our_total=sum(payment.amount for payment in payments),
        summary=statement.summary,
    )
    ReconciliationDifference.objects.bulk_create(
        ReconciliationDifference(
            run=run,
            kind=d.kind,
            record=d.record,
            out_trade_no=d.out_trade_no,
            transaction_id=d.transaction_id,
            out_refund_no=d.out_refund_no,
            our_amount=d.our_amount,
            their_amount=d.their_amount,
            our_status=d.our_status,
            their_status=d.their_status,
            note=d.note,
        )
        for d in differences
    )
    audit_record(
        actor=actor,
        action="billing.reconciliation_run",
        subject=run,
        new={"date": date, "their_rows": run.their_rows, "our_rows": run.our_rows, "differences": len(differences)},
    )
    return ReconciliationReport(run=run, differences=differences)
