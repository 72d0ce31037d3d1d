"""Forms only parse; the services decide."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from smartclinic.identity.choices import Gender, Relation


class CardBindForm(forms.Form):
    member_number = forms.CharField(
        label=_("Student or staff number"),
        max_length=32,
        widget=forms.TextInput(attrs={"autocomplete": "off", "autocapitalize": "characters", "spellcheck": "false"}),
    )
    name = forms.CharField(label=_("Name"), max_length=100, widget=forms.TextInput(attrs={"autocomplete": "name"}))
    card_number = forms.CharField(
        label=_("Campus card number"),
        max_length=32,
        required=False,
        widget=forms.TextInput(attrs={"autocomplete": "off", "autocapitalize": "characters", "spellcheck": "false"}),
    )
    national_id_last6 = forms.CharField(
        label=_("Or the last 6 characters of your national ID"),
        max_length=6,
        min_length=6,
        required=False,
        widget=forms.TextInput(attrs={"autocomplete": "off", "autocapitalize": "characters", "spellcheck": "false"}),
    )

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        if not cleaned.get("card_number") and not cleaned.get("national_id_last6"):
            raise forms.ValidationError(_("Enter your card number or the last 6 characters of your national ID."))
        return cleaned


class DependantForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=100)
    relation = forms.ChoiceField(label=_("Relation"), choices=Relation.choices)
    gender = forms.ChoiceField(label=_("Gender"), choices=[("", "—"), *Gender.choices], required=False)
    birth_date = forms.DateField(label=_("Birth date"), required=False, widget=forms.DateInput(attrs={"type": "date"}))
    phone = forms.CharField(
        label=_("Phone"),
        max_length=20,
        required=False,
        widget=forms.TextInput(attrs={"type": "tel", "autocomplete": "off"}),
    )
    national_id = forms.CharField(label=_("National ID number"), max_length=18, required=False)


class MemberSearchForm(forms.Form):
    q = forms.CharField(
        label=_("Number, card, name or national ID"),
        max_length=40,
        required=False,
        widget=forms.TextInput(attrs={"type": "search", "autocomplete": "off", "spellcheck": "false"}),
    )


class RosterImportForm(forms.Form):
    file = forms.FileField(label=_("Roster CSV file (UTF-8)"))
    full_sync = forms.BooleanField(
        label=_("This file is the whole roster: mark members missing from it as having left"), required=False
    )
