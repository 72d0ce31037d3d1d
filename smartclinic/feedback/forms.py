"""Forms only parse; the services decide."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _
from django_stubs_ext import StrOrPromise

from smartclinic.feedback.choices import DIMENSION_LABELS, DIMENSIONS, TAGS, ComplaintStatus

SCORES = [(n, str(n)) for n in range(5, 0, -1)]


def _score_field(label: StrOrPromise) -> forms.TypedChoiceField:
    return forms.TypedChoiceField(label=label, choices=SCORES, coerce=int, widget=forms.RadioSelect)


class EvaluationForm(forms.Form):
    overall = _score_field(_("Overall"))
    comment = forms.CharField(
        label=_("Comment"), max_length=1000, required=False, widget=forms.Textarea(attrs={"rows": 3})
    )
    tags = forms.MultipleChoiceField(
        label=_("Tags"), choices=list(TAGS.items()), required=False, widget=forms.CheckboxSelectMultiple
    )
    anonymous = forms.BooleanField(label=_("Hide my name from the doctor"), required=False)
    complaint = forms.BooleanField(label=_("This is a complaint: I want the clinic to follow it up"), required=False)

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        for name in DIMENSIONS:
            self.fields[name] = _score_field(DIMENSION_LABELS[name])
        order = ["overall", *DIMENSIONS, "tags", "comment", "anonymous", "complaint"]
        self.order_fields(order)

    def dimension_fields(self) -> list[forms.BoundField]:
        return [self[name] for name in DIMENSIONS]


class ReplyForm(forms.Form):
    text = forms.CharField(label=_("Reply"), max_length=1000, widget=forms.Textarea(attrs={"rows": 2}))


class FollowUpForm(forms.Form):
    text = forms.CharField(label=_("What was done"), max_length=2000, widget=forms.Textarea(attrs={"rows": 3}))
    status = forms.ChoiceField(label=_("Status afterwards"), choices=ComplaintStatus.choices)
