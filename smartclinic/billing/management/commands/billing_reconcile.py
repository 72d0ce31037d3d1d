from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from smartclinic.billing.errors import InvalidStatement
from smartclinic.billing.reconciliation import reconciliation_run
from smartclinic.core.actor import Actor


class Command(BaseCommand):
    help = "Reconcile a day's WeChat Pay payments and refunds against WeChat Pay's trade bill (CSV)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--date", required=True, help="the bill's date, YYYY-MM-DD")
        parser.add_argument("file", help="the trade bill (ALL), as downloaded from WeChat Pay")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            date = dt.date.fromisoformat(options["date"])
        except ValueError as exc:
            raise CommandError("--date must be YYYY-MM-DD") from exc
        try:
            text = Path(options["file"]).read_text(encoding="utf-8-sig")
        except OSError as exc:
            raise CommandError(f"cannot read {options['file']}: {exc}") from exc
        try:
            report = reconciliation_run(actor=Actor.system(reason="billing_reconcile"), date=date, statement_csv=text)
        except InvalidStatement as exc:
            raise CommandError(str(exc.detail)) from exc
        run = report.run
        self.stdout.write(
            f"{date}: {run.their_rows} rows in the bill, {run.our_rows} of ours, {run.matched} matched, "
            f"{len(report.differences)} differences (run {run.public_id})"
        )
        for d in report.differences:
            self.stdout.write(
                f"  {d.kind:15} {d.record:8} {d.out_trade_no or '-':26} {d.out_refund_no or '-':26} "
                f"ours={d.our_amount if d.our_amount is not None else '-'} "
                f"theirs={d.their_amount if d.their_amount is not None else '-'} {d.note}"
            )
