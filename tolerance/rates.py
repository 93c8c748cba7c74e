"""Failure rates: exact fractions decide, rounded figures are only shown.

A verdict compares part / whole with a percentage level as exact fractions (part × 100 against
level × whole), never a rounded rate: 80.004% is above 80% although it shows as 80.00%. A rate is
shown rounded half-up to two decimals (5 of 6 failed is 83.33%), and where the rounding hides which
side of a line the exact figure lies on (shown 80.00% but above the 80% threshold; shown 70.00% but
below the 70% warning level), the report says so: `rounding` gives the code of that note.

Nothing here reads the database. `rounding_sql` is the same rule as `rounding` for a query (the CSV
export annotates it); tests/tolerance/test_rates.py holds the two to the same answers.
"""

import decimal
from decimal import ROUND_HALF_UP, Decimal

from django.db import models
from django.db.models import Case, ExpressionWrapper, F, Q, Value, When
from django.db.models.lookups import Exact, GreaterThan, LessThan
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from valley.templatetags.valley_format import percent

HUNDREDTH = Decimal("0.01")


class Rounding(models.TextChoices):
    """Where a shown (rounded) rate sits on a line its exact value does not: the note shown beside it."""

    ABOVE_THRESHOLD = "above_threshold", _("rounded; exceeds the threshold")
    BELOW_WARNING = "below_warning", _("rounded; below the warning level")


def _exact(value) -> Decimal:
    return value if isinstance(value, Decimal) else Decimal(value)


def exceeds(*, part, whole, level) -> bool:
    """part / whole > level %, as exact fractions: part × 100 > level × whole."""
    return _exact(part) * 100 > _exact(level) * _exact(whole)


def reaches(*, part, whole, level) -> bool:
    """part / whole >= level %, as exact fractions: part × 100 >= level × whole."""
    return _exact(part) * 100 >= _exact(level) * _exact(whole)


def shown_rate(*, part, whole) -> Decimal | None:
    """part / whole as a percentage rounded half-up to two decimals, for showing; None when whole is 0."""
    if not whole:
        return None
    with decimal.localcontext() as context:
        context.prec = 40  # exact enough for any sum that fits DecimalField(14, 2)
        return (_exact(part) * 100 / _exact(whole)).quantize(HUNDREDTH, rounding=ROUND_HALF_UP)


def rounding(*, part, whole, threshold, warning_level) -> str:
    """The Rounding code for the rate part / whole against a policy, or "" when the shown rate tells no lie."""
    rate = shown_rate(part=part, whole=whole)
    if rate is None:
        return ""
    if rate == threshold and exceeds(part=part, whole=whole, level=threshold):
        return Rounding.ABOVE_THRESHOLD
    if rate == warning_level and not reaches(part=part, whole=whole, level=warning_level):
        return Rounding.BELOW_WARNING
    return ""


def rounding_sql(*, part: str, whole: str, rate: str) -> Case:
    """`rounding` as a query expression over a compliance report's columns (its stored, half-up rate,
    the figures it was computed from, and the policy copied into the report)."""
    exact = models.DecimalField(max_digits=30, decimal_places=4)

    def times(left, right):
        return ExpressionWrapper(left * right, output_field=exact)

    hundred_parts = times(F(part), Value(100))
    return Case(
        When(
            Q(Exact(F(rate), F("tolerance_threshold")))
            & Q(GreaterThan(hundred_parts, times(F("tolerance_threshold"), F(whole)))),
            then=Value(Rounding.ABOVE_THRESHOLD.value),
        ),
        When(
            Q(Exact(F(rate), F("warning_level"))) & Q(LessThan(hundred_parts, times(F("warning_level"), F(whole)))),
            then=Value(Rounding.BELOW_WARNING.value),
        ),
        default=Value(""),
        output_field=models.CharField(),
    )


def describe(*, rate, rounding: str, threshold, warning_level) -> str:
    """A shown rate with its note, in the active language: "83.33%", "80.00% (rounded; exceeds 80.00%)",
    "70.00% (rounded; below the warning level of 70.00%)", or "—" when there is no rate (no data)."""
    facts = {"rate": percent(rate), "threshold": percent(threshold), "warning": percent(warning_level)}
    if rounding == Rounding.ABOVE_THRESHOLD:
        return gettext("%(rate)s (rounded; exceeds %(threshold)s)") % facts
    if rounding == Rounding.BELOW_WARNING:
        return gettext("%(rate)s (rounded; below the warning level of %(warning)s)") % facts
    return facts["rate"]
