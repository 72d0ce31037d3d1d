"""The roster import (``identity.roster``) and its management command ``roster_import``."""

from __future__ import annotations

import datetime as dt
import io
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import time_machine
from django.conf import settings
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import translation

from smartclinic.audit.models import AuditEntry
from smartclinic.core.crypto import lookup_hash
from smartclinic.identity.choices import MemberStatus
from smartclinic.identity.models import Member
from smartclinic.identity.roster import ROSTER_COLUMNS, RejectedRow, roster_import_csv
from smartclinic.outbox.models import OutboxMessage

NOW = dt.datetime(2026, 3, 2, 9, 30, tzinfo=dt.UTC)
LATER = NOW + dt.timedelta(days=1)


def national_id(area: str, birth: str, sequence: str) -> str:
    """A valid 18-character ID from its parts: area code, YYYYMMDD, 3-digit sequence."""
    body = area + birth + sequence
    weights = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
    return body + "10X98765432"[sum(int(d) * w for d, w in zip(body, weights, strict=True)) % 11]


ID_WANG = national_id("110105", "20050314", "123")  # male: odd sequence digit
ID_LI = national_id("310104", "20040721", "242")  # female
ID_ZHAO = national_id("440305", "19800102", "031")
BAD_CHECK_DIGIT = ID_WANG[:-1] + next(c for c in "0123456789X" if c != ID_WANG[-1])


def row(**values: Any) -> dict[str, str]:
    base = {
        "number": "2023010001",
        "kind": "student",
        "name": "王小明",
        "gender": "male",
        "birth_date": "2005-03-14",
        "college": "计算机科学与技术学院",
        "major": "软件工程",
        "class_name": "软件2301",
        "enrolment_year": "2023",
        "dormitory_building": "东区1栋",
        "dormitory_room": "305",
        "phone": "13800138000",
        "national_id": ID_WANG,
        "card_number": "10000001",
        "status": "active",
    }
    base.update({key: str(value) for key, value in values.items()})
    return base


WANG = row()
LI = row(
    number="2024040007",
    name="李静",
    gender="female",
    birth_date="2004-07-21",
    college="经济管理学院",
    major="会计学",
    class_name="会计2401",
    enrolment_year="2024",
    dormitory_building="西区2栋",
    dormitory_room="512",
    phone="13900139000",
    national_id=ID_LI,
    card_number="10000002",
)
ZHAO = row(
    number="T00001",
    kind="staff",
    name="赵建国",
    birth_date="1980-01-02",
    college="教务处",
    major="",
    class_name="",
    enrolment_year="",
    dormitory_building="",
    dormitory_room="",
    phone="13700137000",
    national_id=ID_ZHAO,
    card_number="20000001",
)


def csv_text(*rows: dict[str, str], columns: tuple[str, ...] = ROSTER_COLUMNS) -> str:
    buffer = io.StringIO()
    buffer.write(",".join(columns) + "\n")
    for values in rows:
        buffer.write(",".join(values.get(column, "") for column in columns) + "\n")
    return buffer.getvalue()


def csv_bytes(*rows: dict[str, str], columns: tuple[str, ...] = ROSTER_COLUMNS, bom: bool = False) -> io.BytesIO:
    return io.BytesIO((b"\xef\xbb\xbf" if bom else b"") + csv_text(*rows, columns=columns).encode("utf-8"))


def run_import(
    *rows: dict[str, str],
    system_actor: Any,
    full_sync: bool = False,
    at: dt.datetime = NOW,
    columns: tuple[str, ...] = ROSTER_COLUMNS,
) -> Any:
    with time_machine.travel(at, tick=False):
        return roster_import_csv(actor=system_actor, stream=csv_bytes(*rows, columns=columns), full_sync=full_sync)


def audit_text() -> str:
    return json.dumps([[entry.old_values, entry.new_values] for entry in AuditEntry.objects.all()], ensure_ascii=False)


@pytest.fixture(autouse=True)
def _english() -> Any:
    with translation.override("en"):
        yield


# --- adding --------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_import_adds_new_members_with_every_column(system_actor: Any) -> None:
    report = run_import(WANG, ZHAO, system_actor=system_actor)

    assert report.summary() == {"added": 2, "changed": 0, "unchanged": 0, "deactivated": 0, "rejected": 0}
    assert report.rejected == []
    wang = Member.objects.get(number="2023010001")
    assert {
        "kind": wang.kind,
        "name": wang.name,
        "gender": wang.gender,
        "birth_date": wang.birth_date,
        "college": wang.college,
        "major": wang.major,
        "class_name": wang.class_name,
        "enrolment_year": wang.enrolment_year,
        "dormitory_building": wang.dormitory_building,
        "dormitory_room": wang.dormitory_room,
        "phone": wang.phone,
        "national_id": wang.national_id,
        "national_id_hash": wang.national_id_hash,
        "card_number": wang.card_number,
        "status": wang.status,
        "account": wang.account,
        "synced_at": wang.synced_at,
    } == {
        "kind": "student",
        "name": "王小明",
        "gender": "male",
        "birth_date": dt.date(2005, 3, 14),
        "college": "计算机科学与技术学院",
        "major": "软件工程",
        "class_name": "软件2301",
        "enrolment_year": 2023,
        "dormitory_building": "东区1栋",
        "dormitory_room": "305",
        "phone": "13800138000",
        "national_id": ID_WANG,
        "national_id_hash": lookup_hash(ID_WANG),
        "card_number": "10000001",
        "status": "active",
        "account": None,
        "synced_at": NOW,
    }
    zhao = Member.objects.get(number="T00001")
    assert (zhao.kind, zhao.college, zhao.enrolment_year, zhao.class_name) == ("staff", "教务处", None, "")


@pytest.mark.django_db
def test_import_audits_each_added_member_without_the_national_id(system_actor: Any) -> None:
    run_import(WANG, system_actor=system_actor)

    wang = Member.objects.get(number="2023010001")
    entry = AuditEntry.objects.get()
    assert (entry.action, entry.actor_label, entry.subject_type, entry.subject_id) == (
        "identity.member_imported",
        "system",
        "identity.member",
        str(wang.public_id),
    )
    assert entry.old_values == {}
    assert entry.new_values == {
        "kind": "student",
        "name": "王小明",
        "gender": "male",
        "birth_date": "2005-03-14",
        "college": "计算机科学与技术学院",
        "major": "软件工程",
        "class_name": "软件2301",
        "enrolment_year": 2023,
        "dormitory_building": "东区1栋",
        "dormitory_room": "305",
        "phone": "13800138000",
        "card_number": "10000001",
        "status": "active",
        "national_id_hash": True,
    }
    assert ID_WANG not in audit_text()
    assert lookup_hash(ID_WANG) not in audit_text()


@pytest.mark.django_db
def test_import_accepts_a_utf8_bom_as_excel_writes_it(system_actor: Any) -> None:
    report = roster_import_csv(actor=system_actor, stream=csv_bytes(WANG, bom=True))

    assert report.summary()["added"] == 1
    assert report.rejected == []
    assert Member.objects.get().number == "2023010001"


@pytest.mark.django_db
def test_import_accepts_a_text_stream_with_a_bom(system_actor: Any) -> None:
    report = roster_import_csv(actor=system_actor, stream=io.StringIO("\ufeff" + csv_text(WANG)))

    assert report.summary()["added"] == 1
    assert Member.objects.get().name == "王小明"


# --- upserting -----------------------------------------------------------------------------------


@pytest.mark.django_db
def test_reimporting_the_same_rows_counts_them_unchanged_and_audits_nothing(system_actor: Any) -> None:
    run_import(WANG, LI, system_actor=system_actor)

    report = run_import(WANG, LI, system_actor=system_actor, at=LATER)

    assert report.summary() == {"added": 0, "changed": 0, "unchanged": 2, "deactivated": 0, "rejected": 0}
    assert AuditEntry.objects.count() == 2  # the two imports of the first run only
    assert set(Member.objects.values_list("synced_at", flat=True)) == {LATER}


@pytest.mark.django_db
def test_a_changed_row_updates_the_member_and_audits_old_and_new_values(system_actor: Any) -> None:
    run_import(WANG, LI, system_actor=system_actor)
    new_id = national_id("110105", "20050314", "155")

    report = run_import(
        row(dormitory_building="东区3栋", dormitory_room="101", phone="13811112222", national_id=new_id),
        LI,
        system_actor=system_actor,
        at=LATER,
    )

    assert report.summary() == {"added": 0, "changed": 1, "unchanged": 1, "deactivated": 0, "rejected": 0}
    wang = Member.objects.get(number="2023010001")
    assert (wang.dormitory_building, wang.dormitory_room, wang.phone) == ("东区3栋", "101", "13811112222")
    assert (wang.national_id, wang.national_id_hash, wang.synced_at) == (new_id, lookup_hash(new_id), LATER)
    entry = AuditEntry.objects.get(action="identity.member_updated")
    assert entry.subject_id == str(wang.public_id)
    assert entry.old_values == {
        "dormitory_building": "东区1栋",
        "dormitory_room": "305",
        "phone": "13800138000",
        "national_id_hash": "changed",
    }
    assert entry.new_values == {
        "dormitory_building": "东区3栋",
        "dormitory_room": "101",
        "phone": "13811112222",
        "national_id_hash": "changed",
    }
    text = audit_text()
    for secret in (ID_WANG, new_id, lookup_hash(ID_WANG), lookup_hash(new_id)):
        assert secret not in text
    assert OutboxMessage.objects.count() == 0


@pytest.mark.django_db
def test_graduation_counts_as_deactivated_and_publishes_member_deactivated(system_actor: Any) -> None:
    run_import(WANG, LI, system_actor=system_actor)

    report = run_import(row(status="graduated"), LI, system_actor=system_actor, at=LATER)

    # A status change is a change; leaving the active roster is also counted as a deactivation.
    assert report.summary() == {"added": 0, "changed": 1, "unchanged": 1, "deactivated": 1, "rejected": 0}
    wang = Member.objects.get(number="2023010001")
    assert wang.status == MemberStatus.GRADUATED
    entry = AuditEntry.objects.get(action="identity.member_updated")
    assert (entry.old_values, entry.new_values) == ({"status": "active"}, {"status": "graduated"})
    message = OutboxMessage.objects.get()
    assert message.name == "identity.member_deactivated"
    assert message.payload == {"member_id": str(wang.public_id), "status": "graduated"}


@pytest.mark.django_db
def test_a_member_already_inactive_is_not_deactivated_again(system_actor: Any) -> None:
    run_import(row(status="graduated"), system_actor=system_actor)

    report = run_import(row(status="left"), system_actor=system_actor, at=LATER)

    assert report.summary() == {"added": 0, "changed": 1, "unchanged": 0, "deactivated": 0, "rejected": 0}
    assert OutboxMessage.objects.count() == 0


@pytest.mark.django_db
def test_columns_absent_from_the_file_leave_those_fields_untouched(system_actor: Any) -> None:
    run_import(row(status="graduated"), system_actor=system_actor)

    report = run_import(
        row(phone="13811112222"),
        system_actor=system_actor,
        at=LATER,
        columns=("number", "kind", "name", "card_number", "phone"),
    )

    assert report.summary() == {"added": 0, "changed": 1, "unchanged": 0, "deactivated": 0, "rejected": 0}
    wang = Member.objects.get()
    assert (wang.phone, wang.status, wang.national_id, wang.birth_date, wang.college, wang.dormitory_room) == (
        "13811112222",
        "graduated",  # not reactivated by a file without a status column
        ID_WANG,
        dt.date(2005, 3, 14),
        "计算机科学与技术学院",
        "305",
    )
    entry = AuditEntry.objects.get(action="identity.member_updated")
    assert (entry.old_values, entry.new_values) == ({"phone": "13800138000"}, {"phone": "13811112222"})


@pytest.mark.django_db
def test_a_new_member_from_a_file_of_the_required_columns_only_gets_the_defaults(system_actor: Any) -> None:
    report = run_import(WANG, system_actor=system_actor, columns=("number", "kind", "name", "card_number"))

    assert report.summary()["added"] == 1
    wang = Member.objects.get()
    assert (wang.status, wang.national_id, wang.national_id_hash, wang.birth_date, wang.enrolment_year) == (
        "active",
        "",
        "",
        None,
        None,
    )
    assert AuditEntry.objects.get().new_values["national_id_hash"] is False


@pytest.mark.django_db
def test_a_value_longer_than_its_column_is_rejected_and_the_rest_imported(system_actor: Any) -> None:
    # On PostgreSQL an over-long value used to abort the whole import with a DataError.
    report = run_import(row(phone="1" * 21), LI, system_actor=system_actor)

    assert report.summary() == {"added": 1, "changed": 0, "unchanged": 0, "deactivated": 0, "rejected": 1}
    assert report.rejected == [RejectedRow(line=2, number="2023010001", reason="phone is longer than 20 characters")]
    assert list(Member.objects.values_list("number", flat=True)) == ["2024040007"]


# --- full sync -----------------------------------------------------------------------------------


@pytest.mark.django_db
def test_full_sync_marks_active_members_missing_from_the_file_as_left(system_actor: Any, make_member: Any) -> None:
    run_import(WANG, system_actor=system_actor)
    missing = make_member(number="2022050009", card_number="10000009")
    already_graduated = make_member(number="2021050001", card_number="10000010", status=MemberStatus.GRADUATED)
    rejected = make_member(number="2024040007", card_number="10000002")
    entries_before = AuditEntry.objects.count()

    report = run_import(WANG, row(**{**LI, "birth_date": "2004-13-01"}), system_actor=system_actor, full_sync=True)

    assert report.summary() == {"added": 0, "changed": 0, "unchanged": 1, "deactivated": 1, "rejected": 1}
    assert report.rejected == [
        RejectedRow(line=3, number="2024040007", reason="birth_date '2004-13-01' is not a date (YYYY-MM-DD)")
    ]
    statuses = dict(Member.objects.values_list("number", "status"))
    assert statuses == {
        "2023010001": "active",
        missing.number: "left",
        already_graduated.number: "graduated",
        rejected.number: "active",  # its row was rejected, not missing: it stays
    }
    entry = AuditEntry.objects.order_by("id")[entries_before:].get()
    assert (entry.action, entry.subject_id) == ("identity.member_updated", str(missing.public_id))
    assert (entry.old_values, entry.new_values) == (
        {"status": "active"},
        {"status": "left", "reason": "missing from full roster sync"},
    )
    message = OutboxMessage.objects.get()
    assert (message.name, message.payload) == (
        "identity.member_deactivated",
        {"member_id": str(missing.public_id), "status": "left"},
    )


@pytest.mark.django_db
def test_full_sync_of_a_file_without_any_valid_row_deactivates_nobody(system_actor: Any, make_member: Any) -> None:
    member = make_member(number="2022050009", card_number="10000009")

    report = run_import(row(**{**WANG, "kind": "alien"}), system_actor=system_actor, full_sync=True)

    assert report.summary()["deactivated"] == 0
    assert report.rejected[-1].reason == "full sync skipped: the file contained no valid row"
    assert Member.objects.get(pk=member.pk).status == MemberStatus.ACTIVE
    assert not OutboxMessage.objects.exists()


@pytest.mark.django_db
def test_without_full_sync_missing_members_stay_active(system_actor: Any, make_member: Any) -> None:
    other = make_member(number="2022050009", card_number="10000009")

    report = run_import(WANG, system_actor=system_actor)

    assert report.summary()["deactivated"] == 0
    other.refresh_from_db()
    assert other.status == MemberStatus.ACTIVE


# --- rejections ----------------------------------------------------------------------------------


@pytest.mark.django_db
def test_bad_rows_are_rejected_with_their_reason_and_the_good_rows_imported(
    system_actor: Any, make_member: Any
) -> None:
    make_member(number="2020990001", card_number="99990001")
    rows = [
        WANG,  # line 2
        row(number="2023010002", name="", card_number="10000003"),  # line 3
        row(number="2023010003", kind="teacher", card_number="10000004"),  # line 4
        row(number="2023010004", birth_date="2005-02-30", card_number="10000005"),  # line 5
        row(number="2023010005", national_id=BAD_CHECK_DIGIT, card_number="10000006"),  # line 6
        row(name="王小明（重复）", card_number="10000007"),  # line 7: number of line 2 again
        row(number="2023010006", card_number="99990001"),  # line 8: another member's card
        row(number="2023010007", card_number=""),  # line 9
        row(number="2023010008", enrolment_year="23", card_number="10000008"),  # line 10
        LI,  # line 11
    ]

    report = run_import(*rows, system_actor=system_actor)

    assert report.summary() == {"added": 2, "changed": 0, "unchanged": 0, "deactivated": 0, "rejected": 8}
    assert report.rejected == [
        RejectedRow(line=3, number="2023010002", reason="name is empty"),
        RejectedRow(line=4, number="2023010003", reason="kind 'teacher' is not one of student, staff"),
        RejectedRow(line=5, number="2023010004", reason="birth_date '2005-02-30' is not a date (YYYY-MM-DD)"),
        RejectedRow(line=6, number="2023010005", reason="national_id is not a valid 18-character ID number"),
        RejectedRow(line=7, number="2023010001", reason="the member number appears twice in the file"),
        RejectedRow(line=8, number="2023010006", reason="the card number belongs to another member"),
        RejectedRow(line=9, number="2023010007", reason="card_number is empty"),
        RejectedRow(line=10, number="2023010008", reason="enrolment_year '23' is not a year"),
    ]
    assert sorted(Member.objects.values_list("number", flat=True)) == ["2020990001", "2023010001", "2024040007"]
    assert Member.objects.get(number="2023010001").name == "王小明"  # the duplicate did not overwrite it
    assert AuditEntry.objects.filter(action="identity.member_imported").count() == 2


@pytest.mark.django_db
def test_a_row_with_a_missing_number_is_rejected(system_actor: Any) -> None:
    report = run_import(row(number=""), system_actor=system_actor)

    assert report.rejected == [RejectedRow(line=2, number="", reason="number is empty")]
    assert Member.objects.count() == 0


@pytest.mark.django_db
def test_a_file_missing_required_columns_is_rejected_whole(system_actor: Any, make_member: Any) -> None:
    member = make_member(number="2022050009", card_number="10000009")
    columns = tuple(column for column in ROSTER_COLUMNS if column not in ("kind", "card_number"))

    with time_machine.travel(NOW, tick=False):
        report = roster_import_csv(actor=system_actor, stream=csv_bytes(WANG, LI, columns=columns), full_sync=True)

    assert report.summary() == {"added": 0, "changed": 0, "unchanged": 0, "deactivated": 0, "rejected": 1}
    assert report.rejected == [RejectedRow(line=1, number="", reason="The file lacks the columns: kind, card_number")]
    assert list(Member.objects.values_list("number", "status")) == [(member.number, "active")]
    assert AuditEntry.objects.count() == 0
    assert OutboxMessage.objects.count() == 0


@pytest.mark.django_db
def test_a_file_that_is_not_utf8_is_rejected_whole(system_actor: Any) -> None:
    stream = io.BytesIO(csv_text(WANG).encode("gbk"))

    report = roster_import_csv(actor=system_actor, stream=stream)

    assert report.summary()["rejected"] == 1
    assert report.rejected[0].line == 0
    assert report.rejected[0].reason.startswith("The file is not a UTF-8 CSV file: ")
    assert Member.objects.count() == 0


# --- the management command ----------------------------------------------------------------------


def write_csv(tmp_path: Path, *rows: dict[str, str]) -> Path:
    path = tmp_path / "roster.csv"
    path.write_bytes(csv_bytes(*rows, bom=True).getvalue())
    return path


@pytest.mark.django_db
def test_command_prints_the_counts_and_every_rejected_row(tmp_path: Path) -> None:
    path = write_csv(tmp_path, WANG, row(number="2023010002", kind="teacher", card_number="10000003"), LI, ZHAO)
    out = io.StringIO()

    call_command("roster_import", str(path), stdout=out)

    assert out.getvalue() == (
        "added: 3\n"
        "changed: 0\n"
        "unchanged: 0\n"
        "deactivated: 0\n"
        "rejected: 1\n"
        "Rejected rows:\n"
        "line 3, number 2023010002: kind 'teacher' is not one of student, staff\n"
    )
    assert Member.objects.count() == 3
    entry = AuditEntry.objects.filter(action="identity.member_imported").first()
    assert entry is not None
    assert entry.actor_label == "system"
    assert entry.request_id.startswith("roster_import:")


@pytest.mark.django_db
def test_command_full_sync_marks_missing_members_as_left(tmp_path: Path, make_member: Any) -> None:
    missing = make_member(number="2022050009", card_number="10000009")
    out = io.StringIO()

    call_command("roster_import", str(write_csv(tmp_path, WANG)), "--full-sync", stdout=out)

    assert out.getvalue() == "added: 1\nchanged: 0\nunchanged: 0\ndeactivated: 1\nrejected: 0\n"
    missing.refresh_from_db()
    assert missing.status == MemberStatus.LEFT


@pytest.mark.django_db
def test_command_reports_a_file_rejected_whole_without_a_number(tmp_path: Path) -> None:
    path = tmp_path / "roster.csv"
    path.write_text("number,name\n2023010001,王小明\n", encoding="utf-8")
    out = io.StringIO()

    call_command("roster_import", str(path), stdout=out)

    assert out.getvalue().endswith(
        "rejected: 1\nRejected rows:\nline 1, number -: The file lacks the columns: kind, card_number\n"
    )
    assert Member.objects.count() == 0


@pytest.mark.django_db
def test_command_fails_with_exit_code_1_when_the_file_cannot_be_opened(tmp_path: Path) -> None:
    with pytest.raises(CommandError) as raised:
        call_command("roster_import", str(tmp_path / "missing.csv"), stdout=io.StringIO())

    assert raised.value.returncode == 1
    assert str(raised.value) == f"Cannot open {tmp_path / 'missing.csv'}: No such file or directory"


def test_command_exit_codes_from_the_shell(tmp_path: Path) -> None:
    """The real process: 1 and a message on stderr for a file that cannot be opened."""
    env = {**os.environ, "SMARTCLINIC_TESTING": "1", "DJANGO_SETTINGS_MODULE": "config.settings"}
    result = subprocess.run(
        [sys.executable, "manage.py", "roster_import", str(tmp_path / "missing.csv")],
        cwd=settings.BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )

    assert result.returncode == 1
    assert "missing.csv" in result.stderr
    assert result.stdout == ""
