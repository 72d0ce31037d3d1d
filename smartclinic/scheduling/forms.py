"""Forms of the staff scheduling pages: they only parse; the services decide."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from smartclinic.scheduling.models import Department
from smartclinic.scheduling.selectors import department_list_active


class SessionDayForm(forms.Form):
    """``?date=&department=`` of the day's session list; both optional."""

    date = forms.DateField(label=_("Date"), required=False, widget=forms.DateInput(attrs={"type": "date"}))
    department: forms.ModelChoiceField[Department] = forms.ModelChoiceField(
        label=_("Department"),
        queryset=Department.objects.none(),
        to_field_name="code",
        required=False,
        empty_label=_("All departments"),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        department = self.fields["department"]
        assert isinstance(department, forms.ModelChoiceField)
        department.queryset = department_list_active()


class SuspendForm(forms.Form):
    """停诊: the reason is shown to every patient whose appointment it cancels."""

    reason = forms.CharField(
        label=_("Reason for the suspension"),
        max_length=200,
        widget=forms.TextInput(attrs={"autocomplete": "off"}),
    )
    return_department = forms.CharField(max_length=10, required=False, widget=forms.HiddenInput)

    def clean_reason(self) -> str:
        reason: str = self.cleaned_data["reason"].strip()
        if not reason:
            raise forms.ValidationError(_("Give a reason."))
        return reason
