"""Form fields every app's pages and admin share."""

from decimal import Decimal

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from valley.core.money import parse_yuan


class YuanField(forms.Field):
    """An amount of yuan typed by a person: valley.core.money.parse_yuan says what is accepted (500000,
    500,000.00, ¥500,000, full-width digits). Shown back grouped (500,000.00), which it accepts again.

    `allow_zero` for an amount that may be nothing (a holding written down to nothing, money not yet
    recovered); `negative_message` then says why a negative one is refused in the field's own words."""

    widget = forms.TextInput

    def __init__(self, *, allow_zero: bool = False, negative_message=None, **kwargs):
        kwargs.setdefault("help_text", _("In yuan, for example 500000 or 500,000.00."))
        self.allow_zero, self.negative_message = allow_zero, negative_message
        super().__init__(**kwargs)
        self.widget.attrs.update({"inputmode": "decimal", "maxlength": "40", "autocomplete": "off"})

    def prepare_value(self, value):
        if isinstance(value, Decimal | int) and not isinstance(value, bool):
            return f"{Decimal(value):,.2f}"
        return value

    def to_python(self, value):
        if value in self.empty_values:
            return None
        try:
            return parse_yuan(value)
        except ValidationError as error:
            if self.allow_zero and error.code == "not_positive":
                return Decimal("0.00")
            if error.code == "negative" and self.negative_message:
                raise ValidationError(self.negative_message, code="negative") from None
            raise

    def validate(self, value):
        if value is None and self.required:
            parse_yuan("")  # raises the "enter an amount" message
