"""The staff form for a valuation mark. It repeats the service's rules only to put the message beside the
field; tolerance/valuation.py decides."""

from decimal import Decimal

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from tolerance.models import InvestmentDocument, ValuationMethod
from valley.core.money import parse_yuan


class YuanField(forms.Field):
    """An amount of yuan typed by a person (valley.core.money.parse_yuan: 1000000, 1,000,000.00)."""

    widget = forms.TextInput

    def __init__(self, **kwargs):
        kwargs.setdefault("help_text", _("In yuan, for example 2500000 or 2,500,000.00."))
        super().__init__(**kwargs)
        self.widget.attrs.update({"inputmode": "decimal", "maxlength": "40", "autocomplete": "off"})

    def to_python(self, value):
        if value in self.empty_values:
            return None
        try:
            return parse_yuan(value)
        except ValidationError as error:
            # A holding written down to nothing is marked at 0; parse_yuan refuses zero for payments.
            if error.code == "not_positive":
                return Decimal("0.00")
            if error.code == "negative":
                raise ValidationError(
                    _("A fair value cannot be negative; a worthless holding is marked at 0."), code="negative"
                ) from None
            raise


class ValuationMarkForm(forms.Form):
    as_of = forms.DateField(label=_("Valuation date"), widget=forms.DateInput(attrs={"type": "date"}))
    fair_value = YuanField(label=_("Fair value (yuan)"))
    method = forms.ChoiceField(label=_("Valuation method"), choices=ValuationMethod.choices)
    evidence = forms.CharField(
        label=_("Evidence"),
        max_length=4000,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text=_("What the value rests on: the round and its lead investor, the peers and multiple, the model."),
    )
    document = forms.ModelChoiceField(
        label=_("Supporting document"),
        queryset=InvestmentDocument.objects.none(),
        required=False,
        help_text=_("Optional: one of the investment's documents on record."),
    )

    def __init__(self, *args, investment, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["document"].queryset = InvestmentDocument.objects.filter(investment=investment).order_by(
            "-uploaded_at"
        )
