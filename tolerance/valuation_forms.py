"""The staff form for a valuation mark. It repeats the service's rules only to put the message beside the
field; tolerance/valuation.py decides."""

from django import forms
from django.utils.translation import gettext_lazy as _

from tolerance.models import InvestmentDocument, ValuationMethod
from valley.web.fields import YuanField


def fair_value_field() -> YuanField:
    """The fair value as the page and the admin take it: a holding written down to nothing is marked at 0
    (parse_yuan refuses zero for payments), and a negative one is refused in these words."""
    return YuanField(
        label=_("Fair value (yuan)"),
        allow_zero=True,
        negative_message=_("A fair value cannot be negative; a worthless holding is marked at 0."),
        help_text=_("In yuan, for example 2500000 or 2,500,000.00."),
    )


class ValuationMarkForm(forms.Form):
    as_of = forms.DateField(label=_("Valuation date"), widget=forms.DateInput(attrs={"type": "date"}))
    fair_value = fair_value_field()
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
