"""Forms of the visits pages: they only parse; the services decide."""

from __future__ import annotations

from typing import Any

from django import forms
from django.http import QueryDict
from django.utils.translation import gettext_lazy as _

from smartclinic.visits import selectors
from smartclinic.visits.choices import MAX_DIAGNOSES, MAX_ORDER_QUANTITY, TEXT_LIMITS, EncounterStatus
from smartclinic.visits.services import DiagnosisIn


def picked_codes(data: Any) -> list[str]:
    """The ``diagnosis`` values of a posted form (a QueryDict holds several)."""
    if isinstance(data, QueryDict):
        return data.getlist("diagnosis")
    value = data.get("diagnosis", [])
    return [value] if isinstance(value, str) else list(value)


class RecordForm(forms.Form):
    """The visit record at the doctor's station. Diagnoses arrive as ``diagnosis`` values (the
    script's picks) plus what is typed in the search box: a code, or a name that matches exactly
    one code, is taken without the script too."""

    chief_complaint = forms.CharField(
        label=_("Chief complaint"),
        required=False,
        max_length=TEXT_LIMITS["chief_complaint"],
        widget=forms.Textarea(attrs={"rows": 2}),
    )
    history = forms.CharField(
        label=_("History of present illness"),
        required=False,
        max_length=TEXT_LIMITS["history"],
        widget=forms.Textarea(attrs={"rows": 4}),
    )
    notes = forms.CharField(
        label=_("Examination and notes"),
        required=False,
        max_length=TEXT_LIMITS["notes"],
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("For the clinic only: not shown to the patient."),
    )
    advice = forms.CharField(
        label=_("Advice to the patient"),
        required=False,
        max_length=TEXT_LIMITS["advice"],
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_("Shown on the patient's visit summary."),
    )
    diagnosis_query = forms.CharField(label=_("Find a diagnosis"), required=False, max_length=50)
    primary = forms.CharField(required=False, max_length=20)
    item = forms.CharField(label=_("Item"), required=False, max_length=20)
    quantity = forms.IntegerField(
        label=_("Quantity"), required=False, min_value=1, max_value=MAX_ORDER_QUANTITY, initial=1
    )

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        codes = [code.strip() for code in picked_codes(self.data) if code.strip()][: MAX_DIAGNOSES + 1]
        query = (cleaned.get("diagnosis_query") or "").strip()
        if query:
            exact = selectors.icd10_by_codes(codes=[query]).get(query.upper())
            matches = [exact] if exact is not None else selectors.icd10_search(query=query, limit=6)
            named = [m for m in matches if m.name_zh == query]
            matches = named or matches
            if len(matches) == 1:
                codes.append(matches[0].code)
            else:
                shown = "、".join(f"{m.code} {m.name_zh}" for m in matches[:5])
                self.add_error(
                    "diagnosis_query",
                    _("Pick one diagnosis from the list (matches: %(matches)s).") % {"matches": shown}
                    if matches
                    else _("No diagnosis matches “%(query)s”.") % {"query": query},
                )
        primary = (cleaned.get("primary") or "").strip()
        cleaned["diagnoses"] = [DiagnosisIn(code=code, primary=code == primary) for code in codes]
        return cleaned


class TransferForm(forms.Form):
    to_doctor = forms.UUIDField(label=_("To doctor"))


class VisitLogFilterForm(forms.Form):
    date = forms.DateField(label=_("Date"), required=False, widget=forms.DateInput(attrs={"type": "date"}))
    department = forms.ChoiceField(label=_("Department"), required=False)
    doctor = forms.UUIDField(label=_("Doctor"), required=False, widget=forms.Select)
    status = forms.ChoiceField(label=_("Status"), required=False, choices=[("", _("All")), *EncounterStatus.choices])
    code = forms.CharField(
        label=_("Diagnosis code"), required=False, max_length=8, widget=forms.TextInput(attrs={"placeholder": "J06"})
    )

    def __init__(self, *args: Any, departments: list[tuple[str, str]], doctors: list[tuple[str, str]], **kwargs: Any):
        super().__init__(*args, **kwargs)
        department = self.fields["department"]
        assert isinstance(department, forms.ChoiceField)
        department.choices = [("", _("All departments")), *departments]
        self.fields["doctor"].widget.choices = [("", _("All doctors")), *doctors]
