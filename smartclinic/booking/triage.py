"""Rank departments (and doctors) for a patient's complaint: the "help me choose" part of booking.

Pure Python, no database: the booking service combines the result with slot availability, doctor
ratings and visit history. Knowledge lives in ``triage_table``; this module only matches and adds.

Matching
    Chinese keywords are found by substring, longest first, and a matched span is consumed, so
    "牙龈出血" wins over "出血" and over the "牙" location cue. English text is lower-cased,
    apostrophes and punctuation dropped, a plural "s" stripped (``normalize_english``), and keyword
    phrases are matched as whole-word sequences, longest first. Both run on every complaint, so
    mixed-language text works. There is no negation handling: "不发烧" still counts as fever.
Scoring
    A department's score is the sum over matched symptoms of the symptom's weight for it times
    ``PICKED_WEIGHT`` for symptoms picked from the list or ``TEXT_WEIGHT`` for those found in the
    text (a symptom counts once, at its stronger source; a generic symptom is not counted beside a
    specific form of it, see ``Symptom.refines``). Departments with score 0 are left out;
    no match at all gives ``[]`` and the caller suggests 内科 as general practice.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import ClassVar, Protocol, TypeVar

from django.utils.translation import gettext_lazy as _

from smartclinic.booking.triage_table import DEPARTMENTS, GROUPS, TABLE, Symptom
from smartclinic.core.errors import ApplicationError

PICKED_WEIGHT = 2.0
TEXT_WEIGHT = 1.0

_BY_CODE: dict[str, Symptom] = {s.code: s for s in TABLE}
_WORD = re.compile(r"[a-z0-9]+")


class UnknownSymptom(ApplicationError):
    code: ClassVar[str] = "booking.unknown_symptom"
    message = _("Unknown symptom.")


@dataclass(frozen=True, slots=True)
class SymptomOption:
    """One entry of the symptom picker."""

    code: str
    zh: str
    en: str


SYMPTOMS: list[SymptomOption] = [SymptomOption(s.code, s.zh, s.en) for s in TABLE if s.pickable]


@dataclass(frozen=True, slots=True)
class DepartmentScore:
    department_code: str
    score: float
    matched: list[str]
    reasons: list[str]


class DoctorLike(Protocol):
    """What doctor ranking needs; ``departments_codes`` is for the caller's filtering, not scored."""

    @property
    def specialties(self) -> Sequence[str]: ...

    @property
    def departments_codes(self) -> Sequence[str]: ...


D = TypeVar("D", bound=DoctorLike)


@dataclass(frozen=True, slots=True)
class SymptomMatch:
    symptom: Symptom
    keyword: str  # as written in the table; empty when the symptom was picked from the list
    weight: float


def normalize_english(text: str) -> list[str]:
    """Lower-case words without apostrophes or punctuation, plural "s" stripped: "Eyes!" → ["eye"]."""
    text = unicodedata.normalize("NFKC", text).lower().replace("'", "").replace("’", "")
    return [_singular(word) for word in _WORD.findall(text)]


def _singular(word: str) -> str:
    if len(word) <= 3 or word.endswith(("ss", "us", "is")):
        return word
    if word.endswith("ies"):
        return word[:-3] + "y"
    if word.endswith("sses"):
        return word[:-2]
    return word[:-1] if word.endswith("s") else word


def _build_zh_index() -> list[tuple[str, Symptom]]:
    pairs = [(k, s) for s in TABLE for k in s.zh_keywords]
    return sorted(pairs, key=lambda pair: -len(pair[0]))


def _build_en_index() -> list[tuple[tuple[str, ...], str, Symptom]]:
    index: dict[tuple[str, ...], tuple[str, Symptom]] = {}
    for symptom in TABLE:
        for keyword in symptom.en_keywords:
            words = tuple(normalize_english(keyword))
            if not words or words in index:
                raise ValueError(f"English keyword {keyword!r} of {symptom.code} is empty or a duplicate")
            index[words] = (keyword, symptom)
    ordered = sorted(index.items(), key=lambda item: (-len(item[0]), -len(" ".join(item[0]))))
    return [(words, keyword, symptom) for words, (keyword, symptom) in ordered]


_ZH_INDEX = _build_zh_index()
_EN_INDEX = _build_en_index()


def _match_chinese(text: str) -> list[tuple[str, Symptom]]:
    taken = [False] * len(text)
    found: list[tuple[str, Symptom]] = []
    for keyword, symptom in _ZH_INDEX:
        start = text.find(keyword)
        while start != -1:
            end = start + len(keyword)
            if not any(taken[start:end]):
                taken[start:end] = [True] * len(keyword)
                found.append((keyword, symptom))
            start = text.find(keyword, start + 1)
    return found


def _match_english(words: list[str]) -> list[tuple[str, Symptom]]:
    taken = [False] * len(words)
    found: list[tuple[str, Symptom]] = []
    for phrase, keyword, symptom in _EN_INDEX:
        size = len(phrase)
        for start in range(len(words) - size + 1):
            if tuple(words[start : start + size]) == phrase and not any(taken[start : start + size]):
                taken[start : start + size] = [True] * size
                found.append((keyword, symptom))
    return found


def match_symptoms(*, complaint: str, symptom_codes: Sequence[str] = ()) -> list[SymptomMatch]:
    """The symptoms a complaint and a pick refer to, each once, at its stronger source."""
    unknown = [code for code in symptom_codes if code not in _BY_CODE]
    if unknown:
        raise UnknownSymptom(codes=unknown)
    text = unicodedata.normalize("NFKC", complaint)
    matches: dict[str, SymptomMatch] = {}
    for code in symptom_codes:
        matches[code] = SymptomMatch(_BY_CODE[code], "", PICKED_WEIGHT)
    for keyword, symptom in [*_match_chinese(text), *_match_english(normalize_english(text))]:
        matches.setdefault(symptom.code, SymptomMatch(symptom, keyword, TEXT_WEIGHT))
    return [m for m in matches.values() if not _is_refined(m, matches)]


def _is_refined(match: SymptomMatch, matches: dict[str, SymptomMatch]) -> bool:
    """A generic symptom is dropped when a matched, at least as strong, specific form of it is there."""
    return any(match.symptom.code in m.symptom.refines and m.weight >= match.weight for m in matches.values())


def _is_english(language: str) -> bool:
    return language.lower().startswith("en")


def department_name(code: str, language: str = "zh-hans") -> str:
    zh, en = DEPARTMENTS[code]
    return en if _is_english(language) else zh


def _reason(match: SymptomMatch, department: str, language: str) -> str:
    symptom, name = match.symptom, department_name(department, language)
    group_zh, group_en = GROUPS[symptom.group]
    if _is_english(language):
        if not match.keyword:
            return f"you selected ‘{symptom.en}’ → {name}"
        return f"‘{match.keyword}’ suggests {group_en} → {name}"
    if not match.keyword:
        return f"您选择了“{symptom.zh}” → {name}"
    return f"“{match.keyword}”提示{group_zh} → {name}"


def rank_departments(
    *, complaint: str, symptom_codes: Sequence[str] = (), language: str = "zh-hans"
) -> list[DepartmentScore]:
    """Departments for a complaint, best first, each with its matched symptoms and reasons.

    Raises ``UnknownSymptom`` for a picked code that is not in the table.
    """
    contributions: dict[str, list[tuple[float, SymptomMatch]]] = {}
    for match in match_symptoms(complaint=complaint, symptom_codes=symptom_codes):
        for department, weight in match.symptom.departments.items():
            contributions.setdefault(department, []).append((weight * match.weight, match))
    order = list(DEPARTMENTS)
    scores = [_department_score(code, parts, language) for code, parts in contributions.items()]
    return sorted(scores, key=lambda s: (-s.score, order.index(s.department_code)))


def _department_score(code: str, parts: list[tuple[float, SymptomMatch]], language: str) -> DepartmentScore:
    parts = sorted(parts, key=lambda part: -part[0])
    return DepartmentScore(
        department_code=code,
        score=round(sum(value for value, _match in parts), 4),
        matched=[match.symptom.code for _value, match in parts],
        reasons=[_reason(match, code, language) for _value, match in parts],
    )


def _symptom_terms(codes: Iterable[str]) -> set[str]:
    terms: set[str] = set()
    for code in codes:
        symptom = _BY_CODE.get(code)
        if symptom is not None:
            terms.update({symptom.zh, symptom.en.lower(), *symptom.zh_keywords})
    return terms


def _tag_matches(tag: str, text: str, terms: set[str]) -> bool:
    if not tag:
        return False
    return tag in text or tag in terms or any(len(term) >= 2 and term in tag for term in terms)


def rank_doctors_by_specialty(
    *, matched_symptoms: Sequence[str], complaint: str, doctors: Sequence[D], language: str = "zh-hans"
) -> list[tuple[D, float, list[str]]]:
    """Doctors whose specialty tags fit, best first (ties keep the given order); others are left out.

    A doctor's score is the number of distinct specialty tags that appear in the complaint, equal a
    matched symptom's Chinese label or keyword, or contain such a keyword ("慢性胃炎" ⊃ "胃炎").
    """
    text = unicodedata.normalize("NFKC", complaint).lower()
    terms = _symptom_terms(matched_symptoms)
    ranked: list[tuple[D, float, list[str]]] = []
    for doctor in doctors:
        tags = dict.fromkeys(unicodedata.normalize("NFKC", t).strip().lower() for t in doctor.specialties)
        hits = [tag for tag in tags if _tag_matches(tag, text, terms)]
        if hits:
            ranked.append((doctor, float(len(hits)), [_doctor_reason(tag, language) for tag in hits]))
    return sorted(ranked, key=lambda item: -item[1])


def _doctor_reason(tag: str, language: str) -> str:
    if _is_english(language):
        return f"specialty ‘{tag}’ fits your complaint"
    return f"擅长“{tag}”，与您的描述相符"
