"""Forms only parse; the services decide."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from smartclinic.notifications.choices import Channel, DeliveryStatus, Language, MessageKind
from smartclinic.notifications.models import MessageTemplate
from smartclinic.notifications.rendering import validate_template_source


class PreferenceForm(forms.Form):
    language = forms.ChoiceField(label=_("Language of my messages"), choices=Language.choices, widget=forms.RadioSelect)
    wechat = forms.BooleanField(label=_("WeChat messages"), required=False)
    email = forms.BooleanField(label=_("E-mail"), required=False)
    sms = forms.BooleanField(label=_("Text messages (SMS)"), required=False)
    quiet_start = forms.TimeField(
        label=_("Quiet hours from"),
        required=False,
        widget=forms.TimeInput(attrs={"type": "time"}, format="%H:%M"),
    )
    quiet_end = forms.TimeField(
        label=_("Quiet hours until"),
        required=False,
        widget=forms.TimeInput(attrs={"type": "time"}, format="%H:%M"),
        help_text=_("Reminders that fall in your quiet hours are sent when they end. Leave both empty for none."),
    )

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        if (cleaned.get("quiet_start") is None) != (cleaned.get("quiet_end") is None):
            raise forms.ValidationError(_("Give both ends of the quiet hours, or leave both empty."))
        return cleaned


def _with_any(choices: list[tuple[str, Any]]) -> list[tuple[str, Any]]:
    return [("", _("any")), *choices]


class DeliverySearchForm(forms.Form):
    q = forms.CharField(
        label=_("Member number, account or name"),
        max_length=100,
        required=False,
        widget=forms.TextInput(attrs={"type": "search", "autocomplete": "off", "spellcheck": "false"}),
    )
    kind = forms.ChoiceField(label=_("Kind"), choices=_with_any(MessageKind.choices), required=False)
    channel = forms.ChoiceField(label=_("Channel"), choices=_with_any(Channel.choices), required=False)
    status = forms.ChoiceField(label=_("Status"), choices=_with_any(DeliveryStatus.choices), required=False)
    date_from = forms.DateField(label=_("From"), required=False, widget=forms.DateInput(attrs={"type": "date"}))
    date_to = forms.DateField(label=_("Until"), required=False, widget=forms.DateInput(attrs={"type": "date"}))


class MessageTemplateForm(forms.ModelForm[MessageTemplate]):
    """The admin's editor: only texts that render safely are saved."""

    class Meta:
        model = MessageTemplate
        fields = ["title", "body"]
        widgets = {"body": forms.Textarea(attrs={"rows": 8, "cols": 90})}

    def clean_title(self) -> str:
        title: str = self.cleaned_data["title"]
        validate_template_source(title)
        return title

    def clean_body(self) -> str:
        body: str = self.cleaned_data["body"]
        validate_template_source(body)
        return body
