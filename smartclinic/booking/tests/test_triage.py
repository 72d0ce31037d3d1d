"""Department recommendation from a complaint: accuracy on a labelled set, and the matching rules.

Pure tests, no database. Run with ``-s`` to see the accuracy report.
"""

from __future__ import annotations

import csv
import dataclasses
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from smartclinic.booking.triage import (
    PICKED_WEIGHT,
    SYMPTOMS,
    DepartmentScore,
    UnknownSymptom,
    normalize_english,
    rank_departments,
    rank_doctors_by_specialty,
)
from smartclinic.booking.triage_table import DEPARTMENTS, TABLE, check_table

DATA = Path(__file__).parent / "data" / "labelled_complaints.csv"
CJK = re.compile(r"[\u4e00-\u9fff]")


@dataclass(frozen=True)
class Labelled:
    complaint: str
    language: str
    expected: str
    acceptable: tuple[str, ...]
    portion: str


def _load() -> list[Labelled]:
    with DATA.open(encoding="utf-8", newline="") as f:
        return [
            Labelled(
                complaint=row["complaint"],
                language=row["language"],
                expected=row["expected_department"],
                acceptable=tuple(code for code in row["acceptable_departments"].split(";") if code),
                portion=row.get("portion") or "dev",
            )
            for row in csv.DictReader(f)
        ]


LABELLED = _load()


def _hits(item: Labelled) -> tuple[bool, bool]:
    """(top-1, top-2): top-2 is the expected department in the first two, or an acceptable one first."""
    ranked = rank_departments(complaint=item.complaint, language="en" if item.language == "en" else "zh-hans")
    codes = [score.department_code for score in ranked]
    top1 = codes[:1] == [item.expected]
    return top1, item.expected in codes[:2] or (bool(codes) and codes[0] in item.acceptable)


def _accuracy(items: Sequence[Labelled]) -> tuple[float, float]:
    hits = [_hits(item) for item in items]
    return sum(t1 for t1, _ in hits) / len(hits), sum(t2 for _, t2 in hits) / len(hits)


# --- the labelled set ---------------------------------------------------------------------------


def test_labelled_set_is_big_mixed_and_uses_known_departments():
    assert len(LABELLED) >= 80
    share_zh = sum(item.language == "zh" for item in LABELLED) / len(LABELLED)
    assert 0.5 <= share_zh <= 0.7
    for item in LABELLED:
        assert item.language in {"zh", "en"}
        assert {item.expected, *item.acceptable} <= set(DEPARTMENTS), item
        assert item.expected not in item.acceptable, item
        assert item.portion in {"dev", "holdout"}, item
    assert {item.expected for item in LABELLED} == set(DEPARTMENTS)


def test_accuracy_on_the_labelled_set():
    groups = {
        "all": LABELLED,
        "zh": [i for i in LABELLED if i.language == "zh"],
        "en": [i for i in LABELLED if i.language == "en"],
        "dev": [i for i in LABELLED if i.portion == "dev"],
        "holdout": [i for i in LABELLED if i.portion == "holdout"],
    }
    report = {name: _accuracy(items) for name, items in groups.items() if items}
    print("\ntriage accuracy (top-1, top-2):")
    for name, (top1, top2) in report.items():
        print(f"  {name:8} n={len(groups[name]):3}  top-1 {top1:.3f}  top-2 {top2:.3f}")
    top1, top2 = report["all"]
    assert top1 >= 0.85
    assert top2 >= 0.95


# --- matching rules -----------------------------------------------------------------------------


def _codes(ranked: list[DepartmentScore]) -> list[str]:
    return [score.department_code for score in ranked]


@pytest.mark.parametrize(
    ("complaint", "department"),
    [
        ("嗓子疼", "EBH"),
        ("拉肚子", "NK"),
        ("长痘", "PF"),
        ("睡不着", "XL"),
        ("牙疼", "KQ"),
        ("眼睛红", "YK"),
        ("流鼻涕", "EBH"),
        ("崴脚", "WK"),
        ("想做针灸", "ZY"),
    ],
)
def test_colloquial_chinese_goes_to_the_owning_department(complaint, department):
    assert _codes(rank_departments(complaint=complaint))[0] == department


def test_picked_symptoms_outweigh_free_text():
    ranked = rank_departments(complaint="牙疼", symptom_codes=["sore_throat"])

    scores = {score.department_code: score.score for score in ranked}
    assert _codes(ranked)[0] == "EBH"
    assert scores["EBH"] == PICKED_WEIGHT * 1.0
    assert scores["KQ"] == 1.0


def test_a_symptom_counts_once_even_if_both_picked_and_written():
    once = rank_departments(complaint="", symptom_codes=["toothache"])
    twice = rank_departments(complaint="牙疼，牙痛，牙齿疼", symptom_codes=["toothache", "toothache"])

    assert [(s.department_code, s.score, s.matched) for s in twice] == [("KQ", 2.0, ["toothache"])]
    assert [(s.department_code, s.score) for s in once] == [("KQ", 2.0)]


def test_longest_chinese_match_wins():
    ranked = rank_departments(complaint="最近牙龈出血")

    assert _codes(ranked) == ["KQ"]  # not 外科 for "出血", and the "牙" cue is consumed too
    assert ranked[0].matched == ["gum_bleeding"]
    assert ranked[0].reasons == ["“牙龈出血”提示口腔牙齿问题 → 口腔科"]


def test_short_keyword_still_matches_on_its_own():
    assert rank_departments(complaint="手上出血了")[0].matched == ["cut"]


def test_english_is_matched_case_insensitively_with_plurals_and_punctuation():
    assert normalize_english("My EYES, Teeth's & NOSEBLEEDS!") == ["my", "eye", "teeth", "nosebleed"]
    assert normalize_english("allergies glasses sinus") == ["allergy", "glass", "sinus"]

    assert _codes(rank_departments(complaint="Frequent NOSEBLEEDS!!", language="en"))[0] == "EBH"
    assert rank_departments(complaint="SORE THROATS", language="en")[0].matched == ["sore_throat"]
    assert _codes(rank_departments(complaint="Athletes foot", language="en")) == ["PF"]


def test_english_matches_whole_words_only():
    # "ear" is a cue for ENT, but not inside "earlier" or "year".
    assert rank_departments(complaint="earlier this year", language="en") == []


def test_mixed_language_complaint_matches_both():
    ranked = rank_departments(complaint="嗓子疼 and a fever")

    matched = {code for score in ranked for code in score.matched}
    assert {"sore_throat", "fever"} <= matched


def test_specific_symptom_replaces_its_generic_form():
    ranked = rank_departments(complaint="肚子疼，右下腹最疼")

    assert _codes(ranked)[0] == "WK"
    assert all("abdominal_pain" not in score.matched for score in ranked)


def test_insomnia_goes_to_counselling_and_tcm():
    assert _codes(rank_departments(complaint="失眠"))[:2] == ["XL", "ZY"]


@pytest.mark.parametrize("complaint", ["", "   ", "今天天气不错", "hello there", "？？？"])
def test_nothing_recognised_gives_an_empty_list(complaint):
    assert rank_departments(complaint=complaint) == []


def test_unknown_picked_symptom_is_rejected():
    with pytest.raises(UnknownSymptom) as raised:
        rank_departments(complaint="", symptom_codes=["fever", "no_such_thing"])

    assert raised.value.extra == {"codes": ["no_such_thing"]}
    assert raised.value.code == "booking.unknown_symptom"


# --- reasons ------------------------------------------------------------------------------------


def test_reasons_in_chinese():
    ranked = rank_departments(complaint="嗓子疼", symptom_codes=["fever"])

    assert ranked[0].department_code == "NK"
    assert ranked[0].reasons[0] == "您选择了“发热” → 内科"
    ent = next(score for score in ranked if score.department_code == "EBH")
    assert ent.reasons == ["“嗓子疼”提示咽喉问题 → 耳鼻喉科"]


def test_reasons_in_english():
    ranked = rank_departments(complaint="I have a sore throat", symptom_codes=["fever"], language="en")

    assert ranked[0].reasons[0] == "you selected ‘fever’ → Internal Medicine"
    ent = next(score for score in ranked if score.department_code == "EBH")
    assert ent.reasons == ["‘sore throat’ suggests a throat problem → ENT"]
    assert not any(CJK.search(reason) for score in ranked for reason in score.reasons)


def test_department_scores_are_frozen():
    score = rank_departments(complaint="牙疼")[0]
    with pytest.raises(dataclasses.FrozenInstanceError):
        score.score = 9.0  # type: ignore[misc]


@given(st.text(max_size=80))
def test_any_text_gives_positive_scores_best_first(text):
    ranked = rank_departments(complaint=text)

    assert all(score.score > 0 and score.matched and score.reasons for score in ranked)
    assert [score.score for score in ranked] == sorted((score.score for score in ranked), reverse=True)
    assert len(_codes(ranked)) == len(set(_codes(ranked)))


# --- the table and the picker -------------------------------------------------------------------


def test_table_is_well_formed_and_covers_every_department():
    check_table()
    assert len(SYMPTOMS) >= 60
    assert len({option.code for option in SYMPTOMS}) == len(SYMPTOMS)
    assert all(option.zh and option.en for option in SYMPTOMS)
    owned = {d for symptom in TABLE for d, weight in symptom.departments.items() if weight == 1.0}
    assert owned == set(DEPARTMENTS)


def test_malformed_table_fails_loudly():
    fever = TABLE[0]
    with pytest.raises(ValueError, match="duplicate symptom codes"):
        check_table((fever, fever))
    with pytest.raises(ValueError, match="departments"):
        check_table((dataclasses.replace(fever, departments={"XX": 1.0}),))


# --- doctors ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class FakeDoctor:
    name: str
    specialties: list[str]
    departments_codes: list[str]


def test_doctor_whose_specialties_match_ranks_first():
    cold = FakeDoctor("cold", ["感冒", "发热"], ["NK"])
    stomach = FakeDoctor("stomach", ["胃炎", "慢性胃炎", "反酸"], ["NK"])
    skin = FakeDoctor("skin", ["痤疮"], ["PF"])
    matched = rank_departments(complaint="胃疼好几天了，还反酸")[0].matched

    ranked = rank_doctors_by_specialty(
        matched_symptoms=matched, complaint="胃疼好几天了，还反酸", doctors=[cold, skin, stomach]
    )

    assert [(doctor.name, score) for doctor, score, _ in ranked] == [("stomach", 3.0)]
    assert ranked[0][2] == [
        "擅长“胃炎”，与您的描述相符",
        "擅长“慢性胃炎”，与您的描述相符",
        "擅长“反酸”，与您的描述相符",
    ]


def test_doctor_tag_found_in_the_complaint_counts_and_ties_keep_order():
    first = FakeDoctor("first", ["熬夜"], ["ZY"])
    second = FakeDoctor("second", ["熬夜", "熬夜"], ["XL"])  # a repeated tag counts once

    ranked = rank_doctors_by_specialty(
        matched_symptoms=[], complaint="熬夜以后很累", doctors=[first, second], language="en"
    )

    assert [(doctor.name, score) for doctor, score, _ in ranked] == [("first", 1.0), ("second", 1.0)]
    assert ranked[0][2] == ["specialty ‘熬夜’ fits your complaint"]


def test_no_matching_doctor_gives_an_empty_list():
    doctor = FakeDoctor("eyes", ["近视"], ["YK"])

    assert rank_doctors_by_specialty(matched_symptoms=["toothache"], complaint="牙疼", doctors=[doctor]) == []
