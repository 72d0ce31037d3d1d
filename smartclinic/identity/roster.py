"""Import and re-sync of the campus roster (the student and staff databases) from CSV.

An upsert keyed by member number. Each row is applied in its own savepoint: a bad row is
rejected with its reason and never aborts the rest, and no row is ever half-written.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import IO, Any

from django.db import IntegrityError, transaction
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from smartclinic.audit.services import audit_record, changes_between
from smartclinic.core import clock
from smartclinic.core.actor import Actor
from smartclinic.core.crypto import lookup_hash
from smartclinic.identity.choices import Gender, MemberKind, MemberStatus
from smartclinic.identity.events import MemberDeactivated
from smartclinic.identity.models import Member
from smartclinic.identity.validators import is_valid_national_id, normalize_national_id
from smartclinic.outbox.services import outbox_publish

ROSTER_COLUMNS = (
    "number",
    "kind",
    "name",
    "gender",
    "birth_date",
    "college",
    "major",
    "class_name",
    "enrolment_year",
    "dormitory_building",
    "dormitory_room",
    "phone",
    "national_id",
    "card_number",
    "status",
)
REQUIRED_COLUMNS = ("number", "kind", "name", "card_number")
# Compared to detect a change; the national ID is compared by its keyed hash, never in clear.
_COMPARED_FIELDS = (*(c for c in ROSTER_COLUMNS if c not in ("number", "national_id")), "national_id_hash")


class RowRejected(Exception):
    def __init__(self, reason: str | Promise) -> None:
        self.reason = reason
        super().__init__(str(reason))


@dataclass
class RejectedRow:
    line: int
    number: str
    reason: str


@dataclass
class RosterImportReport:
    added: int = 0
    changed: int = 0
    unchanged: int = 0
    deactivated: int = 0
    rejected: list[RejectedRow] = field(default_factory=list)

    def summary(self) -> dict[str, Any]:
        return {
            "added": self.added,
            "changed": self.changed,
            "unchanged": self.unchanged,
            "deactivated": self.deactivated,
            "rejected": len(self.rejected),
        }


def roster_rows_from_csv(stream: IO[bytes] | IO[str]) -> Iterator[tuple[int, dict[str, str]]]:
    """(line number, row) pairs from a UTF-8 CSV (a BOM, as Excel writes it, is accepted)."""
    raw = stream.read()
    text = raw.decode("utf-8-sig") if isinstance(raw, bytes) else raw.lstrip("\ufeff")
    reader = csv.DictReader(io.StringIO(text))
    missing = [c for c in REQUIRED_COLUMNS if c not in (reader.fieldnames or [])]
    if missing:
        raise RowRejected(_("The file lacks the columns: %(columns)s") % {"columns": ", ".join(missing)})
    for row in reader:
        yield reader.line_num, {key: (value or "").strip() for key, value in row.items() if key}


def _choice(value: str, choices: type[Any], *, default: str, label: str) -> str:
    value = value.lower() or default
    if value not in choices.values:
        raise RowRejected(
            _("%(label)s %(value)r is not one of %(allowed)s")
            % {"label": label, "value": value, "allowed": ", ".join(choices.values)}
        )
    return value


def _clean_row(row: dict[str, str]) -> dict[str, Any]:
    for column in REQUIRED_COLUMNS:
        if not row.get(column):
            raise RowRejected(_("%(column)s is empty") % {"column": column})
    cleaned: dict[str, Any] = {column: row.get(column, "") for column in ROSTER_COLUMNS}
    cleaned["kind"] = _choice(row["kind"], MemberKind, default="", label="kind")
    cleaned["status"] = _choice(row.get("status", ""), MemberStatus, default=MemberStatus.ACTIVE, label="status")
    cleaned["gender"] = _choice(row.get("gender", ""), Gender, default="", label="gender") if row.get("gender") else ""
    if row.get("birth_date"):
        try:
            cleaned["birth_date"] = dt.date.fromisoformat(row["birth_date"])
        except ValueError as exc:
            raise RowRejected(
                _("birth_date %(value)r is not a date (YYYY-MM-DD)") % {"value": row["birth_date"]}
            ) from exc
    else:
        cleaned["birth_date"] = None
    if row.get("enrolment_year"):
        if not row["enrolment_year"].isdigit() or not 1950 <= int(row["enrolment_year"]) <= 2100:
            raise RowRejected(_("enrolment_year %(value)r is not a year") % {"value": row["enrolment_year"]})
        cleaned["enrolment_year"] = int(row["enrolment_year"])
    else:
        cleaned["enrolment_year"] = None
    national_id = normalize_national_id(row.get("national_id", ""))
    if national_id and not is_valid_national_id(national_id):
        raise RowRejected(_("national_id is not a valid 18-character ID number"))
    cleaned["national_id"] = national_id
    cleaned["national_id_hash"] = lookup_hash(national_id) if national_id else ""
    for column in ROSTER_COLUMNS:
        max_length = getattr(Member._meta.get_field(column), "max_length", None)
        if max_length is not None and isinstance(cleaned[column], str) and len(cleaned[column]) > max_length:
            # Checked here: PostgreSQL would otherwise abort the whole import with a DataError.
            raise RowRejected(
                _("%(column)s is longer than %(max_length)d characters") % {"column": column, "max_length": max_length}
            )
    # A column the file does not have is left as it is (a new member gets the model's default):
    # a file of a few columns must not erase the others or reactivate members.
    present = {column for column in ROSTER_COLUMNS if column in row}
    if "national_id" in present:
        present.add("national_id_hash")
    return {name: value for name, value in cleaned.items() if name in present}


def _snapshot(member: Member) -> dict[str, Any]:
    return {name: getattr(member, name) for name in _COMPARED_FIELDS}


def _apply_row(*, actor: Actor, cleaned: dict[str, Any], now: dt.datetime, report: RosterImportReport) -> None:
    member = Member.objects.filter(number=cleaned["number"]).first()
    if member is None:
        member = Member(**cleaned, synced_at=now)
        member.save()
        audit_record(
            actor=actor,
            action="identity.member_imported",
            subject=member,
            new=_snapshot(member) | {"national_id_hash": bool(member.national_id_hash)},
        )
        report.added += 1
        return
    before = _snapshot(member)
    for name, value in cleaned.items():
        setattr(member, name, value)
    after = _snapshot(member)
    if before == after:
        Member.objects.filter(pk=member.pk).update(synced_at=now)
        report.unchanged += 1
        return
    member.synced_at = now
    member.save()
    old, new = changes_between(before, after)
    if "national_id_hash" in new:  # record that it changed, never the value or its hash
        old["national_id_hash"], new["national_id_hash"] = "changed", "changed"
    audit_record(actor=actor, action="identity.member_updated", subject=member, old=old, new=new)
    report.changed += 1
    if before["status"] == MemberStatus.ACTIVE and member.status != MemberStatus.ACTIVE:
        report.deactivated += 1
        outbox_publish(MemberDeactivated(member_id=member.public_id, status=member.status))


def roster_import(
    *, actor: Actor, rows: Iterable[tuple[int, dict[str, str]]], full_sync: bool = False
) -> RosterImportReport:
    """Upsert the rows. With ``full_sync`` the file is the whole roster: active members missing
    from it are marked as having left."""
    report = RosterImportReport()
    now = clock.now()
    seen: set[str] = set()
    mentioned: set[str] = set()  # a rejected row still keeps its member out of the full-sync sweep
    for line, row in rows:
        number = row.get("number", "")
        try:
            mentioned.add(number)
            if number in seen:
                raise RowRejected(_("the member number appears twice in the file"))
            cleaned = _clean_row(row)
            with transaction.atomic():
                _apply_row(actor=actor, cleaned=cleaned, now=now, report=report)
            seen.add(number)
        except RowRejected as exc:
            report.rejected.append(RejectedRow(line=line, number=number, reason=str(exc.reason)))
        except IntegrityError:
            report.rejected.append(
                RejectedRow(line=line, number=number, reason=str(_("the card number belongs to another member")))
            )
    if full_sync:
        _deactivate_missing(actor=actor, seen=mentioned, report=report)
    return report


def _deactivate_missing(*, actor: Actor, seen: set[str], report: RosterImportReport) -> None:
    """Mark active members absent from a full roster as having left. Refused when the file had
    no acceptable row at all: an empty or broken export must not empty the roster."""
    if report.added + report.changed + report.unchanged == 0:
        report.rejected.append(
            RejectedRow(line=0, number="", reason=str(_("full sync skipped: the file contained no valid row")))
        )
        return
    active = Member.objects.filter(status=MemberStatus.ACTIVE).values_list("pk", "number")
    missing_ids = [pk for pk, number in active if number not in seen]
    for start in range(0, len(missing_ids), 500):
        for member in Member.objects.filter(pk__in=missing_ids[start : start + 500]):
            _mark_left(actor=actor, member=member, report=report)


def _mark_left(*, actor: Actor, member: Member, report: RosterImportReport) -> None:
    with transaction.atomic():
        updated = Member.objects.filter(pk=member.pk, status=MemberStatus.ACTIVE).update(
            status=MemberStatus.LEFT, updated_at=clock.now()
        )
        if not updated:
            return
        audit_record(
            actor=actor,
            action="identity.member_updated",
            subject=member,
            old={"status": MemberStatus.ACTIVE},
            new={"status": MemberStatus.LEFT, "reason": "missing from full roster sync"},
        )
        outbox_publish(MemberDeactivated(member_id=member.public_id, status=MemberStatus.LEFT))
    report.deactivated += 1


def roster_import_csv(*, actor: Actor, stream: IO[bytes] | IO[str], full_sync: bool = False) -> RosterImportReport:
    try:
        rows = list(roster_rows_from_csv(stream))
    except RowRejected as exc:
        report = RosterImportReport()
        report.rejected.append(RejectedRow(line=1, number="", reason=str(exc.reason)))
        return report
    except (UnicodeDecodeError, csv.Error) as exc:
        report = RosterImportReport()
        report.rejected.append(
            RejectedRow(
                line=0, number="", reason=str(_("The file is not a UTF-8 CSV file: %(error)s") % {"error": exc})
            )
        )
        return report
    return roster_import(actor=actor, rows=rows, full_sync=full_sync)
