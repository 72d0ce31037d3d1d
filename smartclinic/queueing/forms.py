"""Forms only parse; every rule lives in the services."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from smartclinic.queueing.choices import Priority
from smartclinic.scheduling.models import Department


class SearchForm(forms.Form):
    q = forms.CharField(
        label=_("Name, member number, card number or scanned code"),
        max_length=300,
        required=False,
        widget=forms.TextInput(attrs={"type": "search", "autocomplete": "off", "autofocus": True}),
    )


class WalkInForm(forms.Form):
    member = forms.CharField(
        label=_("Member or card number"),
        max_length=32,
        widget=forms.TextInput(attrs={"autocomplete": "off", "inputmode": "numeric"}),
    )
    session = forms.ChoiceField(label=_("Doctor"))

    def __init__(self, *args: Any, sessions: list[tuple[str, str]] | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        session_field = self.fields["session"]
        assert isinstance(session_field, forms.ChoiceField)
        session_field.choices = sessions or []


class PriorityForm(forms.Form):
    priority = forms.TypedChoiceField(label=_("Priority"), choices=Priority.choices, coerce=int)
    reason = forms.CharField(label=_("Reason"), max_length=200, required=False)


class VitalsForm(forms.Form):
    temperature_c = forms.DecimalField(
        label=_("Temperature (°C)"), max_digits=4, decimal_places=1, required=False, min_value=Decimal("0")
    )
    systolic_mmhg = forms.IntegerField(label=_("Systolic (mmHg)"), required=False, min_value=0, max_value=1000)
    diastolic_mmhg = forms.IntegerField(label=_("Diastolic (mmHg)"), required=False, min_value=0, max_value=1000)
    pulse_bpm = forms.IntegerField(label=_("Pulse (/min)"), required=False, min_value=0, max_value=1000)
    weight_kg = forms.DecimalField(
        label=_("Weight (kg)"), max_digits=5, decimal_places=1, required=False, min_value=Decimal("0")
    )


class TransferForm(forms.Form):
    doctor = forms.UUIDField(label=_("To doctor"))


class ScreenForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=100)
    departments = forms.ModelMultipleChoiceField(
        label=_("Departments shown"),
        queryset=Department.objects.filter(active=True),
        widget=forms.CheckboxSelectMultiple,
    )
