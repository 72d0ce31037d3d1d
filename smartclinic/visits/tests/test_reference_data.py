"""The shipped ICD-10 table and price list: well-formed, complete enough for a campus clinic,
loaded into every database, and searchable by code, Chinese name and English name."""

from __future__ import annotations

import re
from collections import Counter

import pytest
from django.apps import apps

from smartclinic.visits.models import Icd10Code, PriceItem
from smartclinic.visits.reference_data import ensure_reference_data, icd10_rows, price_list_rows
from smartclinic.visits.selectors import icd10_search

WHO_CODE = re.compile(r"^[A-Z][0-9]{2}(\.[0-9])?$")
CLINICAL_CODE = re.compile(r"^[A-Z][0-9]{2}\.([0-9]00|x00)$")
CJK = re.compile(r"[\u4e00-\u9fff]")
# ICD-10 chapters by the first three characters of the code (WHO 2019).
CHAPTERS = [
    ("I", "A00", "B99"), ("II", "C00", "D48"), ("III", "D50", "D89"), ("IV", "E00", "E90"),
    ("V", "F00", "F99"), ("VI", "G00", "G99"), ("VII", "H00", "H59"), ("VIII", "H60", "H95"),
    ("IX", "I00", "I99"), ("X", "J00", "J99"), ("XI", "K00", "K93"), ("XII", "L00", "L99"),
    ("XIII", "M00", "M99"), ("XIV", "N00", "N99"), ("XV", "O00", "O99"), ("XVI", "P00", "P96"),
    ("XVII", "Q00", "Q99"), ("XVIII", "R00", "R99"), ("XIX", "S00", "T98"), ("XX", "V01", "Y98"),
    ("XXI", "Z00", "Z99"), ("XXII", "U00", "U85"),
]  # fmt: skip
# What a campus clinic sees every week, per the issue and docs/icd10.md.
CAMPUS_CODES = {
    "J00", "J02.9", "J03.9", "J06.9", "J20.9", "J30.4", "J32.9", "J45.9", "J11.1",
    "A09.9", "K29.7", "K30", "K52.9", "K59.0",
    "L70.0", "L20.9", "L23.9", "L30.9", "L50.9", "B35.3", "B36.0", "B02.9", "B01.9",
    "H10.3", "H52.1", "H65.9", "H66.9", "H00.0",
    "K02.9", "K04.0", "K05.2", "K12.0",
    "S93.4", "S60.2", "S61.0", "T14.0", "T14.1", "T67.0",
    "F32.9", "F41.1", "F41.9", "F43.2", "F51.0", "G43.9",
    "N94.6", "N39.0", "M54.5",
    "R50.9", "R51", "R10.4", "R11", "R05", "R42",
    "Z00.0", "Z01.0", "Z02.7", "Z48.0", "U07.1",
}  # fmt: skip


def chapter_of(code: str) -> str:
    category = code[:3]
    return next(roman for roman, low, high in CHAPTERS if low <= category <= high)


def test_the_icd10_table_has_at_least_300_well_formed_unique_codes():
    rows = icd10_rows()

    assert len(rows) >= 300
    assert [c for c, n in Counter(r["code"] for r in rows).items() if n > 1] == []
    assert [c for c, n in Counter(r["clinical_code"] for r in rows).items() if n > 1] == []
    for row in rows:
        assert WHO_CODE.match(row["code"]), row
        assert CLINICAL_CODE.match(row["clinical_code"]), row
        expected = row["code"] + "00" if "." in row["code"] else row["code"] + ".x00"
        assert row["clinical_code"] == expected, row
        assert row["chapter"] == chapter_of(row["code"]), row
        assert CJK.search(row["name_zh"]), row
        assert row["name_en"].strip(), row
        assert "," not in row["aliases"], row  # search terms are separated by ";"


def test_the_table_covers_what_a_campus_clinic_sees():
    codes = {row["code"] for row in icd10_rows()}

    assert CAMPUS_CODES - codes == set()
    assert sum(1 for row in icd10_rows() if row["common"]) >= 40
    by_code = {row["code"]: row for row in icd10_rows()}
    assert by_code["J06.9"]["name_zh"] == "急性上呼吸道感染"
    assert by_code["J00"]["name_zh"] == "急性鼻咽炎[感冒]"
    assert by_code["L70.0"]["name_zh"] == "寻常痤疮"
    assert by_code["S93.4"]["name_zh"] == "踝扭伤和劳损"
    assert by_code["N94.6"]["name_zh"] == "痛经"
    assert by_code["U07.1"]["chapter"] == "XXII"


@pytest.mark.django_db
def test_every_database_has_the_table_and_the_price_list():
    assert Icd10Code.objects.count() == len(icd10_rows())
    assert PriceItem.objects.filter(active=True).count() == len(price_list_rows())


@pytest.mark.django_db
def test_the_reference_tables_come_back_when_emptied_and_edited_prices_stay():
    PriceItem.objects.filter(code="LAB-CBC").update(unit_price=2200)
    Icd10Code.objects.all().delete()

    ensure_reference_data(apps=apps)

    assert Icd10Code.objects.count() == len(icd10_rows())
    assert PriceItem.objects.get(code="LAB-CBC").unit_price == 2200


def test_the_price_list_is_a_campus_clinics():
    rows = price_list_rows()
    names = {row["name"] for row in rows}

    assert len(rows) >= 40
    assert {"test", "medicine", "procedure"} == {row["kind"] for row in rows}
    assert all(isinstance(row["unit_price"], int) and 0 < row["unit_price"] < 100_000 for row in rows)
    assert len({row["code"] for row in rows}) == len(rows)
    expected = {"血常规(五分类)", "尿常规", "胸部X线摄影(正位)", "布洛芬缓释胶囊", "阿莫西林胶囊", "清创缝合术(小)"}
    assert expected <= names


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("query", "first"),
    [
        ("上呼吸道", "J06.9"),
        ("J06.9", "J06.9"),
        ("j06.900", "J06.9"),
        ("感冒", "J00"),
        ("痛经", "N94.6"),
        ("acne vulgaris", "L70.0"),
        ("青春痘", "L70.0"),
        ("S93", "S93.4"),  # the common one first
    ],
)
def test_icd10_search_finds_by_code_chinese_name_search_term_and_english(query, first):
    results = icd10_search(query=query)

    assert results, query
    assert results[0].code == first


@pytest.mark.django_db
def test_icd10_search_by_code_prefix_lists_the_category():
    codes = [c.code for c in icd10_search(query="J06")]

    assert codes == ["J06.9", "J06.0", "J06.8"]  # the common one first


@pytest.mark.django_db
def test_an_empty_query_gives_the_common_codes_and_nonsense_gives_nothing():
    common = icd10_search(query="", limit=50)

    assert common and all(code.common for code in common)
    assert icd10_search(query="zzz不存在的病") == []


@pytest.mark.django_db
def test_the_reference_tables_come_back_after_a_flush_which_passes_no_apps():
    Icd10Code.objects.all().delete()
    PriceItem.objects.all().delete()

    ensure_reference_data()  # what ``flush`` (a transactional test's teardown) sends

    assert Icd10Code.objects.count() == len(icd10_rows())
    assert PriceItem.objects.count() == len(price_list_rows())
