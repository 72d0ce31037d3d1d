"""``manage.py seed_demo``: seed the demo campus and print its accounts.

Deterministic for a seed and idempotent: run it again to top the roster up or to reset the demo
accounts' passwords. The demo accounts (a superuser among them) share a known password: never
run it against a production database.
"""

from __future__ import annotations

import json
import time
import unicodedata
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import pgettext

from smartclinic.core.actor import Actor
from smartclinic.demo.people import DEMO_PATIENTS
from smartclinic.demo.seed import (
    DEFAULT_PASSWORD,
    DEFAULT_SEED,
    DEFAULT_STAFF,
    DEFAULT_STUDENTS,
    DemoAccount,
    SeedReport,
    seed_demo,
)


def _width(text: str) -> int:
    """Columns the text takes in a terminal (CJK characters take two)."""
    return sum(2 if unicodedata.east_asian_width(char) in "WF" else 1 for char in text)


def _pad(text: str, width: int) -> str:
    return text + " " * (width - _width(text))


class Command(BaseCommand):
    help = (
        "Seed the demo campus (roster, clinic departments and doctors, demo accounts, the next two weeks' "
        "timetable) and print the accounts."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--students", type=int, default=DEFAULT_STUDENTS, help="number of students")
        parser.add_argument("--staff", type=int, default=DEFAULT_STAFF, help="number of staff (besides the doctors)")
        parser.add_argument(
            "--seed", type=int, default=DEFAULT_SEED, help="random seed: the same seed, the same campus"
        )
        parser.add_argument("--password", default=DEFAULT_PASSWORD, help="password of every demo account")
        parser.add_argument("--accounts-json", metavar="FILE", help="also write the demo accounts to this JSON file")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["students"] < DEMO_PATIENTS or options["staff"] < 1:
            raise CommandError(
                _("The demo needs at least %(students)d students and 1 staff member.") % {"students": DEMO_PATIENTS}
            )
        started = time.monotonic()
        report = seed_demo(
            actor=Actor.system(reason="seed_demo"),
            students=options["students"],
            staff=options["staff"],
            seed=options["seed"],
            password=options["password"],
        )
        elapsed = time.monotonic() - started
        self.stdout.write(
            _(
                "Seed %(seed)d: %(members)d members, %(departments)d departments, %(doctors)d doctors and "
                "%(accounts)d accounts created in %(seconds).1f s."
            )
            % {
                "seed": report.seed,
                "members": report.members_created,
                "departments": report.departments_created,
                "doctors": report.doctors_created,
                "accounts": report.accounts_created,
                "seconds": elapsed,
            }
        )
        self.write_table(report.accounts)
        self.write_schedule(report)
        if options["accounts_json"]:
            path = Path(options["accounts_json"])
            path.write_text(
                json.dumps([account.as_dict() for account in report.accounts], ensure_ascii=False, indent=2) + "\n",
                encoding="utf-8",
            )
            self.stdout.write(_("Accounts written to %(path)s") % {"path": path})

    def write_table(self, accounts: list[DemoAccount]) -> None:
        yes, no = pgettext("demo accounts", "yes"), pgettext("demo accounts", "no")
        header = [
            pgettext("demo accounts", "username"),
            pgettext("demo accounts", "password"),
            pgettext("demo accounts", "role"),
            pgettext("demo accounts", "name"),
            pgettext("demo accounts", "member number"),
            pgettext("demo accounts", "card number"),
            pgettext("demo accounts", "bound"),
        ]
        rows = [
            [
                account.username,
                account.password,
                account.role,
                account.name,
                account.member_number or "",
                account.card_number or "",
                (yes if account.bound else no) if account.member_number else "",
            ]
            for account in accounts
        ]
        widths = [max(_width(row[column]) for row in [header, *rows]) for column in range(len(header))]
        for row in [header, ["-" * width for width in widths], *rows]:
            self.stdout.write("  ".join(_pad(cell, width) for cell, width in zip(row, widths, strict=True)).rstrip())

    def write_schedule(self, report: SeedReport) -> None:
        schedule = report.schedule
        if schedule.horizon is not None:
            self.stdout.write(
                _(
                    "Timetable %(start)s to %(end)s: %(templates)d weekly templates, %(days_off)d days off, "
                    "%(sessions)d sessions and %(visits)d past visits created."
                )
                % {
                    "start": schedule.horizon[0].isoformat(),
                    "end": schedule.horizon[1].isoformat(),
                    "templates": schedule.templates_created,
                    "days_off": schedule.days_off_created,
                    "sessions": schedule.sessions_created,
                    "visits": schedule.past_visits_created,
                }
            )
        sessions = report.demo_doctor_today
        if not sessions:
            return
        periods = ", ".join(
            f"{timezone.localtime(s.starts_at):%H:%M}-{timezone.localtime(s.ends_at):%H:%M}" for s in sessions
        )
        self.stdout.write(
            _("doctor1 (%(name)s, %(department)s) has sessions today, %(date)s: %(periods)s.")
            % {
                "name": sessions[0].doctor.name,
                "department": sessions[0].department.name,
                "date": sessions[0].date.isoformat(),
                "periods": periods,
            }
        )
