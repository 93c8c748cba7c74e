"""Reading amounts of yuan typed by people.

Accepted: plain digits with up to two decimals (`1000000`, `1000000.00`) and correctly grouped
thousands (`1,000,000`). Full-width digits and punctuation (`１０００００`, typed with a Chinese
input method) are normalised to their ASCII forms first (NFKC), because refusing what a Chinese
keyboard produces would only annoy. Refused with a message: exponents (`1e6`), letters, empty
input, more than two decimals, zero and negative amounts.
"""

import re
import unicodedata
from decimal import Decimal, InvalidOperation

from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

_PLAIN = re.compile(r"^\d+(\.\d{1,2})?$")
_GROUPED = re.compile(r"^\d{1,3}(,\d{3})+(\.\d{1,2})?$")


def parse_yuan(raw) -> Decimal:
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        raise ValidationError(_("Enter an amount in yuan, for example 500000 or 500,000.00."), code="required")
    if isinstance(raw, Decimal | int):
        text = str(raw)
    else:
        text = unicodedata.normalize("NFKC", str(raw)).strip().replace("，", ",").replace("¥", "").replace("￥", "")
        text = text.removesuffix("元").strip()
    if text.startswith("-"):
        raise ValidationError(_("The amount must be more than zero."), code="negative")
    if _GROUPED.match(text):
        text = text.replace(",", "")
    elif not _PLAIN.match(text):
        if re.search(r"\.\d{3,}$", text):
            raise ValidationError(_("Use at most two decimals (fen)."), code="decimals")
        raise ValidationError(
            _(
                "“%(value)s” is not an amount. Use digits, optionally with thousands commas and two decimals, "
                "for example 500,000.00."
            ),
            code="invalid",
            params={"value": str(raw)[:40]},
        )
    try:
        amount = Decimal(text).quantize(Decimal("0.01"))
    except InvalidOperation:
        raise ValidationError(_("The amount is too large."), code="invalid") from None
    if amount <= 0:
        raise ValidationError(_("The amount must be more than zero."), code="not_positive")
    if amount >= Decimal("1000000000000"):
        raise ValidationError(_("The amount is too large."), code="too_large")
    return amount
