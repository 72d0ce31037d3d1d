"""Reading the other contexts defensively: the mapping of the visit record's shapes, and what the
export falls back to when a part is missing (test doubles stand in for the visits models)."""

from __future__ import annotations

import sys
import types
import uuid
from types import SimpleNamespace

import pytest

from smartclinic.interop import sources
from smartclinic.interop.sources import SourceMissing, optional_uuid, visit_facts

pytestmark = pytest.mark.django_db


class Related:
    def __init__(self, items):
        self.items = items

    def all(self):
        return list(self.items)


def code(value: str, name: str, clinical: str = "") -> SimpleNamespace:
    return SimpleNamespace(code=value, name_zh=name, clinical_code=clinical)


def test_diagnoses_through_a_link_row_rank_the_primary_first():
    encounter = SimpleNamespace(
        diagnoses=Related(
            [
                SimpleNamespace(code=code("J02.9", "急性咽炎"), primary=False, position=1),
                SimpleNamespace(code=code("J06.9", "急性上呼吸道感染", "J06.900"), primary=True, position=2),
                SimpleNamespace(code=None, primary=False, position=3),  # no code: skipped, logged
            ]
        )
    )
    found = sources._diagnoses(encounter)
    assert [(d.icd10_code, d.rank, d.clinical_code) for d in found] == [("J06.9", 1, "J06.900"), ("J02.9", 2, "")]


def test_diagnoses_as_codes_through_a_many_to_many_keep_their_order():
    encounter = SimpleNamespace(diagnoses=Related([code("K29.1", "急性胃炎"), code("R10.4", "腹痛")]))
    assert [(d.icd10_code, d.rank) for d in sources._diagnoses(encounter)] == [("K29.1", 1), ("R10.4", 2)]


def test_an_encounter_without_diagnoses_has_none():
    assert sources._diagnoses(SimpleNamespace()) == ()


@pytest.mark.parametrize("value", [None, "", "None", "null"])
def test_optional_ids_may_be_absent_in_any_spelling(value):
    assert optional_uuid(value) is None


def test_optional_ids_parse():
    value = uuid.uuid4()
    assert optional_uuid(str(value)) == value
    assert optional_uuid(value) == value


def test_without_a_visits_model_the_export_uses_what_the_ticket_holds(make_visit, monkeypatch):
    visit = make_visit()
    monkeypatch.setitem(sys.modules, "smartclinic.visits.models", types.ModuleType("smartclinic.visits.models"))

    facts = visit_facts(encounter_id=uuid.uuid4(), ticket_id=visit.ticket.public_id)

    assert facts is not None
    assert facts.patient.member_number == visit.member.number
    assert facts.practitioner.public_id == visit.doctor.public_id
    assert facts.started_at == visit.ticket.started_at
    assert facts.finished_at == visit.ticket.finished_at
    assert facts.diagnoses == ()
    assert facts.chief_complaint == ""
    assert facts.vitals is not None and facts.vitals.pulse_bpm == 92


def test_without_a_visits_model_the_read_api_finds_no_encounter(monkeypatch):
    monkeypatch.setitem(sys.modules, "smartclinic.visits.models", types.ModuleType("smartclinic.visits.models"))
    assert visit_facts(encounter_id=uuid.uuid4(), require_encounter=False) is None


def test_an_encounter_that_does_not_exist_is_missing_not_guessed(make_visit):
    visit = make_visit()
    with pytest.raises(SourceMissing):
        visit_facts(encounter_id=uuid.uuid4(), ticket_id=visit.ticket.public_id)


def test_a_vitals_snapshot_with_unknown_keys_falls_back_to_the_ticket(make_visit):
    visit = make_visit(vitals_snapshot={"temp": 37.0})
    facts = visit_facts(encounter_id=visit.encounter.public_id)
    assert facts is not None and facts.vitals is not None
    assert str(facts.vitals.temperature_c) == "38.2"
