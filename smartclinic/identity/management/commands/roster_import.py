"""``manage.py roster_import FILE [--full-sync]``: import the campus roster from a CSV file.

A rejected row is reported with its line, member number and reason and does not fail the
command (exit code 0); only a file that cannot be opened does (exit code 1).
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils.translation import gettext as _
from django.utils.translation import pgettext

from smartclinic.core.actor import Actor
from smartclinic.identity.roster import RosterImportReport, roster_import_csv


class Command(BaseCommand):
    help = "Import the campus roster (students and staff) from a UTF-8 CSV file, upserting by member number."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", help="path of the CSV file (UTF-8, a BOM is accepted)")
        parser.add_argument(
            "--full-sync",
            action="store_true",
            help="the file is the whole roster: active members missing from it are marked as having left",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        path = options["file"]
        try:
            stream = open(path, "rb")  # noqa: SIM115 - closed below, after the import read it
        except OSError as exc:
            raise CommandError(_("Cannot open %(path)s: %(error)s") % {"path": path, "error": exc.strerror}) from exc
        with stream:
            report = roster_import_csv(
                actor=Actor.system(reason="roster_import"), stream=stream, full_sync=options["full_sync"]
            )
        self.write_report(report)

    def write_report(self, report: RosterImportReport) -> None:
        counts = report.summary()
        labels = {
            "added": pgettext("roster import", "added"),
            "changed": pgettext("roster import", "changed"),
            "unchanged": pgettext("roster import", "unchanged"),
            "deactivated": pgettext("roster import", "deactivated"),
            "rejected": pgettext("roster import", "rejected"),
        }
        for key, label in labels.items():
            self.stdout.write(f"{label}: {counts[key]}")
        if report.rejected:
            self.stdout.write(_("Rejected rows:"))
            for row in report.rejected:
                self.stdout.write(
                    _("line %(line)d, number %(number)s: %(reason)s")
                    % {"line": row.line, "number": row.number or "-", "reason": row.reason}
                )
