"""Rates are shown rounded half-up; exact fractions decide; a shown rate that hides its side of a line says so."""

import datetime
from decimal import Decimal

import pytest
from django.utils import translation

from tests.factories import FundFactory
from tolerance import rates
from tolerance.models import ComplianceReport, GoverningBasis, Verdict
from tolerance.rates import Rounding

T, W = Decimal("80.00"), Decimal("70.00")


def test_exact_fractions_compare_without_rounding():
    assert not rates.exceeds(part=4, whole=5, level=T)  # exactly 80%
    assert rates.exceeds(part=4001, whole=5001, level=T)  # 80.0039...%
    assert rates.exceeds(part=Decimal("800000.01"), whole=Decimal("1000000.00"), level=T)
    assert rates.reaches(part=7, whole=10, level=W)
    assert not rates.reaches(part=Decimal("699999.99"), whole=Decimal("1000000.00"), level=W)


@pytest.mark.parametrize(
    ("part", "whole", "shown", "note"),
    [
        (4, 5, "80.00", ""),  # exactly the threshold: within, nothing hidden
        (5, 6, "83.33", ""),
        (4001, 5001, "80.00", Rounding.ABOVE_THRESHOLD),
        (Decimal("800040.00"), Decimal("1000000.00"), "80.00", Rounding.ABOVE_THRESHOLD),  # 80.004%
        (Decimal("799960.00"), Decimal("1000000.00"), "80.00", ""),  # 79.996%: within either way
        (Decimal("699960.00"), Decimal("1000000.00"), "70.00", Rounding.BELOW_WARNING),  # 69.996%
        (Decimal("700040.00"), Decimal("1000000.00"), "70.00", ""),  # 70.004%: a warning either way
        (7, 10, "70.00", ""),
        (0, 0, None, ""),
    ],
)
def test_the_rounding_note_appears_only_where_the_shown_rate_hides_the_verdict(part, whole, shown, note):
    assert rates.shown_rate(part=part, whole=whole) == (Decimal(shown) if shown else None)
    assert rates.rounding(part=part, whole=whole, threshold=T, warning_level=W) == note


def test_a_rate_reads_with_its_note_in_both_languages():
    with translation.override("en"):
        assert rates.describe(rate=Decimal("83.33"), rounding="", threshold=T, warning_level=W) == "83.33%"
        assert (
            rates.describe(rate=Decimal("80.00"), rounding=Rounding.ABOVE_THRESHOLD, threshold=T, warning_level=W)
            == "80.00% (rounded; exceeds 80.00%)"
        )
        assert (
            rates.describe(rate=Decimal("70.00"), rounding=Rounding.BELOW_WARNING, threshold=T, warning_level=W)
            == "70.00% (rounded; below the warning level of 70.00%)"
        )
        assert rates.describe(rate=None, rounding="", threshold=T, warning_level=W) == "—"


def _report(fund, day, *, failed, qualifying, loss, principal, basis=GoverningBasis.COUNT):
    rate_by_count = rates.shown_rate(part=failed, whole=qualifying)
    rate_by_amount = rates.shown_rate(part=loss, whole=principal)
    return ComplianceReport.objects.create(
        fund=fund,
        as_of=datetime.date(2026, 1, 1) + datetime.timedelta(days=day),
        investment_count=qualifying,
        qualifying_count=qualifying,
        failed_count=failed,
        qualifying_principal=principal,
        qualifying_loss=loss,
        rate_by_count=rate_by_count,
        rate_by_amount=rate_by_amount,
        governing_basis=basis,
        tolerance_threshold=T,
        warning_level=W,
        verdict=Verdict.NO_DATA if not qualifying else Verdict.WITHIN,
        computed_at=datetime.datetime(2026, 1, 1, tzinfo=datetime.UTC),
    )


def test_the_query_twin_of_the_rule_gives_the_same_notes_as_python(db):
    """The CSV export computes the notes in SQL (rates.rounding_sql); they must be the notes the pages show."""
    fund = FundFactory()
    cases = [
        (4, 5, Decimal("800040.00"), Decimal("1000000.00")),
        (4001, 5001, Decimal("699960.00"), Decimal("1000000.00")),
        (5, 6, Decimal("799960.00"), Decimal("1000000.00")),
        (7, 10, Decimal("700040.00"), Decimal("1000000.00")),
        (6999, 10000, Decimal("0.00"), Decimal("1000000.00")),  # 69.99%: no note
        (69996, 100000, Decimal("800000.01"), Decimal("1000000.00")),
        (0, 0, Decimal("0.00"), Decimal("0.00")),
    ]
    for day, (failed, qualifying, loss, principal) in enumerate(cases):
        _report(fund, day, failed=failed, qualifying=qualifying, loss=loss, principal=principal)
    annotated = ComplianceReport.objects.filter(fund=fund).annotate(
        count_code=rates.rounding_sql(part="failed_count", whole="qualifying_count", rate="rate_by_count"),
        amount_code=rates.rounding_sql(part="qualifying_loss", whole="qualifying_principal", rate="rate_by_amount"),
    )
    seen = [(r.count_code, r.amount_code) for r in annotated.order_by("as_of")]
    assert seen == [(r.count_rounding, r.amount_rounding) for r in ComplianceReport.objects.order_by("as_of")]
    assert seen == [
        ("", Rounding.ABOVE_THRESHOLD),
        (Rounding.ABOVE_THRESHOLD, Rounding.BELOW_WARNING),
        ("", ""),
        ("", ""),
        ("", ""),
        (Rounding.BELOW_WARNING, Rounding.ABOVE_THRESHOLD),
        ("", ""),
    ]
