"""Forms only parse; the services decide."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from smartclinic.billing.choices import PaymentMethod, TopUpMethod

CASHIER_CHOICES = [
    (PaymentMethod.CASH, PaymentMethod.CASH.label),
    (PaymentMethod.BANK_CARD, PaymentMethod.BANK_CARD.label),
    (PaymentMethod.INSURANCE, PaymentMethod.INSURANCE.label),
    (PaymentMethod.CAMPUS_CARD, PaymentMethod.CAMPUS_CARD.label),
]


class PayForm(forms.Form):
    method = forms.ChoiceField(
        label=_("Pay with"),
        choices=[
            (PaymentMethod.CAMPUS_CARD, PaymentMethod.CAMPUS_CARD.label),
            (PaymentMethod.WECHAT, PaymentMethod.WECHAT.label),
        ],
        widget=forms.RadioSelect,
    )
    token = forms.CharField(widget=forms.HiddenInput, max_length=100)


class MemberSearchForm(forms.Form):
    q = forms.CharField(
        label=_("Number, card number, name or national ID"),
        max_length=100,
        required=False,
        widget=forms.TextInput(attrs={"type": "search", "autocomplete": "off", "autofocus": True}),
    )


class CashierPayForm(forms.Form):
    method = forms.ChoiceField(label=_("Paid by"), choices=CASHIER_CHOICES)
    reference = forms.CharField(
        label=_("Slip, terminal or claim number"),
        max_length=64,
        required=False,
        widget=forms.TextInput(attrs={"autocomplete": "off"}),
    )


class TopUpForm(forms.Form):
    amount = forms.DecimalField(
        label=_("Amount (yuan)"),
        min_value=Decimal("0.01"),
        max_digits=9,
        decimal_places=2,
        widget=forms.NumberInput(attrs={"step": "0.01", "inputmode": "decimal"}),
    )
    method = forms.ChoiceField(
        label=_("Paid in by"),
        choices=[(TopUpMethod.CASH, TopUpMethod.CASH.label), (TopUpMethod.BANK_CARD, TopUpMethod.BANK_CARD.label)],
    )
    token = forms.CharField(widget=forms.HiddenInput, max_length=100)

    def fen(self) -> int:
        return int(self.cleaned_data["amount"] * 100)


class RefundCompleteForm(forms.Form):
    reference = forms.CharField(label=_("Reference"), max_length=64, required=False)


class ReconcileForm(forms.Form):
    date = forms.DateField(label=_("Bill date"), widget=forms.DateInput(attrs={"type": "date"}))
    statement = forms.FileField(
        label=_("WeChat Pay trade bill (CSV)"),
        help_text=_("The ALL trade bill of that day, as downloaded from the merchant platform or the API."),
    )

    def clean_statement(self) -> str:
        upload: Any = self.cleaned_data["statement"]
        if upload.size > 10_000_000:
            raise forms.ValidationError(_("The file is too large."))
        try:
            return str(upload.read().decode("utf-8-sig"))
        except UnicodeDecodeError as exc:
            raise forms.ValidationError(_("The file is not UTF-8 text.")) from exc
