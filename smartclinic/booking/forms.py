"""Forms of the booking pages: they only parse; the services decide."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from smartclinic.booking.recommendation import symptom_choices

SELF = "self"


class RecommendForm(forms.Form):
    """ "Help me choose": a free-text complaint, symptoms ticked from the list, or both."""

    complaint = forms.CharField(
        label=_("What is bothering you?"),
        max_length=500,
        required=False,
        help_text=_("In your own words, e.g. “sore throat and a cough for two days”."),
        widget=forms.Textarea(attrs={"rows": 3, "autocomplete": "off"}),
    )
    symptoms = forms.MultipleChoiceField(
        label=_("Symptoms"),
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )

    def __init__(self, *args: Any, language: str, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        symptoms = self.fields["symptoms"]
        assert isinstance(symptoms, forms.MultipleChoiceField)
        symptoms.choices = [(s["code"], s["label"]) for s in symptom_choices(language=language)]

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        if not (cleaned.get("complaint") or "").strip() and not cleaned.get("symptoms"):
            raise forms.ValidationError(_("Describe how you feel or tick at least one symptom."))
        return cleaned


class DayForm(forms.Form):
    """``?date=`` of the slot lists; anything outside the booking horizon counts as no choice."""

    date = forms.DateField(required=False)

    def __init__(self, *args: Any, days: list[dt.date], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.days = days

    def clean_date(self) -> dt.date | None:
        date: dt.date | None = self.cleaned_data.get("date")
        return date if date in self.days else None


class BookForm(forms.Form):
    """The confirm page: who the visit is for, and the token that makes a double submit harmless."""

    token = forms.CharField(max_length=100, widget=forms.HiddenInput)
    patient = forms.ChoiceField(label=_("Who is the visit for?"), widget=forms.RadioSelect, initial=SELF)

    def __init__(self, *args: Any, member_name: str, dependants: list[Any], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        patient = self.fields["patient"]
        assert isinstance(patient, forms.ChoiceField)
        patient.choices = [
            (SELF, _("Myself (%(name)s)") % {"name": member_name}),
            *[(str(d.public_id), f"{d.name} · {d.get_relation_display()}") for d in dependants],
        ]
        self.dependants = {str(d.public_id): d for d in dependants}

    def dependant(self) -> Any:
        return self.dependants.get(self.cleaned_data["patient"])


class WaitlistJoinForm(forms.Form):
    """Posted from a slot list: the department and day, and the session when the patient waits
    for one doctor rather than any."""

    department = forms.CharField(max_length=40)
    date = forms.DateField()
    session = forms.UUIDField(required=False)
    next = forms.CharField(max_length=300, required=False)
