"""Fund figures: XIRR against published vectors, MOIC/DPI/TVPI against hand-computed values, the value
chart, and constant queries on the dashboard whatever the number of investments and marks."""

import datetime
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone, translation

from tests.factories import FundFactory, InvestmentFactory
from tolerance import figures, portfolio
from tolerance.figures import fund_figures, quarter_ends, value_chart, xirr
from tolerance.models import ValuationMethod
from tolerance.valuation import valuation_mark_record


@pytest.fixture(autouse=True)
def in_english(settings):
    """These tests read the services' messages; in English, the portal's second language."""
    settings.LANGUAGE_CODE = "en"
    with translation.override("en"):
        yield


d = datetime.date
M = ValuationMethod


def pct(rate: float) -> float:
    return rate * 100


def test_xirr_matches_the_spreadsheet_documentation_example():
    # Microsoft's XIRR documentation: 0.373362535, shown as 37.34%.
    flows = [
        (d(2008, 1, 1), -10000),
        (d(2008, 3, 1), 2750),
        (d(2008, 10, 30), 4250),
        (d(2009, 2, 15), 3250),
        (d(2009, 4, 1), 2750),
    ]
    assert pct(xirr(flows)) == pytest.approx(37.3362535, abs=0.01)


def test_xirr_matches_the_openoffice_documentation_example():
    # Apache OpenOffice wiki, Calc XIRR: -2750, 1000, 2000 on 2008-02-05, 2008-07-05, 2009-01-05 → "about 12.4%".
    flows = [(d(2008, 2, 5), -2750), (d(2008, 7, 5), 1000), (d(2009, 1, 5), 2000)]
    assert pct(xirr(flows)) == pytest.approx(12.363, abs=0.01)
    assert round(pct(xirr(flows)), 1) == 12.4


def test_xirr_of_closed_form_vectors():
    # 1000 grows to 1210 in two 365-day years: exactly 10% a year; half of it lost in a year: -50%.
    assert pct(xirr([(d(2021, 1, 1), -1000), (d(2023, 1, 1), 1210)])) == pytest.approx(10.0, abs=1e-6)
    assert pct(xirr([(d(2021, 1, 1), -1000), (d(2022, 1, 1), 500)])) == pytest.approx(-50.0, abs=1e-6)
    # The order of the flows does not matter, nor are flows of zero counted.
    assert xirr([(d(2023, 1, 1), 1210), (d(2021, 6, 1), 0), (d(2021, 1, 1), -1000)]) == pytest.approx(0.1)


def test_xirr_is_undefined_without_money_both_ways_or_without_time():
    assert xirr([]) is None
    assert xirr([(d(2021, 1, 1), -1000)]) is None
    assert xirr([(d(2021, 1, 1), -1000), (d(2022, 1, 1), -10)]) is None
    assert xirr([(d(2021, 1, 1), -1000), (d(2021, 1, 1), 1200)]) is None


def test_quarter_ends():
    assert quarter_ends(d(2024, 2, 20), d(2024, 12, 31)) == [
        d(2024, 3, 31),
        d(2024, 6, 30),
        d(2024, 9, 30),
        d(2024, 12, 31),
    ]
    assert quarter_ends(d(2024, 3, 31), d(2024, 6, 29)) == [d(2024, 3, 31)]
    assert len(quarter_ends(d(2010, 1, 1), d(2026, 1, 1))) == figures.CHART_QUARTERS


@pytest.fixture
def portfolio_fund(db):
    """Hand-computed: invested 1.0 + 0.5 + 0.8 + 0.7 = 3.0 million; realised 0.1 (failed) + 1.4 (exit) = 1.5;
    unrealised 2.0 (A's latest mark) + 0.5 (B at cost) = 2.5; total value 4.0.
    MOIC = TVPI = 4.0 / 3.0 = 1.33; DPI = 1.5 / 3.0 = 0.50."""
    fund = FundFactory()
    a = InvestmentFactory(fund=fund, invested_on=d(2024, 1, 1), principal=Decimal("1000000.00"))
    b = InvestmentFactory(fund=fund, invested_on=d(2024, 6, 1), principal=Decimal("500000.00"))
    c = InvestmentFactory(fund=fund, invested_on=d(2024, 3, 1), principal=Decimal("800000.00"))
    e = InvestmentFactory(fund=fund, invested_on=d(2024, 2, 1), principal=Decimal("700000.00"))
    mark = {"by": None, "evidence": "B 轮融资协议"}
    valuation_mark_record(
        investment=a, as_of=d(2024, 12, 31), fair_value=Decimal("1500000"), method=M.RECENT_ROUND, **mark
    )
    valuation_mark_record(investment=a, as_of=d(2025, 6, 30), fair_value=Decimal("2000000"), method=M.MULTIPLES, **mark)
    valuation_mark_record(
        investment=c, as_of=d(2024, 12, 31), fair_value=Decimal("200000"), method=M.WRITE_DOWN, **mark
    )
    portfolio.investment_record_failure(
        investment=c, by=None, kind="liquidated", failed_on=d(2025, 3, 31), recovered=Decimal("100000.00")
    )
    portfolio.investment_record_exit(investment=e, by=None, proceeds=Decimal("1400000.00"))
    return fund, {"a": a, "b": b, "c": c, "e": e}


def test_figures_against_hand_computed_values(portfolio_fund):
    fund, _investments = portfolio_fund
    f = fund_figures(fund=fund)
    assert (f.invested, f.realised, f.unrealised) == (
        Decimal("3000000.00"),
        Decimal("1500000.00"),
        Decimal("2500000.00"),
    )
    assert f.at_cost_count == 1
    assert (f.moic, f.dpi, f.tvpi) == (Decimal("1.33"), Decimal("0.50"), Decimal("1.33"))
    today = timezone.localdate()
    expected_flows = [
        (d(2024, 1, 1), Decimal("-1000000.00")),
        (d(2024, 2, 1), Decimal("-700000.00")),
        (d(2024, 3, 1), Decimal("-800000.00")),
        (d(2024, 6, 1), Decimal("-500000.00")),
        (d(2025, 3, 31), Decimal("100000.00")),
        (today, Decimal("3900000.00")),  # the exit, recorded today, and the terminal value 2.5 million
    ]
    assert f.cash_flows == expected_flows
    assert f.irr == (Decimal(repr(xirr(expected_flows))) * 100).quantize(Decimal("0.01"))
    assert f.irr > 0


def test_figures_as_of_an_earlier_date_hold_what_was_held_then(portfolio_fund):
    fund, _investments = portfolio_fund
    f = fund_figures(fund=fund, as_of=d(2024, 12, 31))
    # All four held: A at its 1.5 million mark, B at cost, C written down to 0.2, E (exited later) at cost.
    assert (f.invested, f.realised, f.unrealised) == (Decimal("3000000.00"), Decimal("0.00"), Decimal("2900000.00"))
    assert f.dpi == Decimal("0.00") and f.moic == Decimal("0.97")


def test_a_later_correction_for_the_same_date_counts(portfolio_fund):
    fund, investments = portfolio_fund
    valuation_mark_record(
        investment=investments["a"],
        by=None,
        as_of=d(2025, 6, 30),
        fair_value=Decimal("1800000"),
        method=M.MULTIPLES,
        evidence="更正：可比公司倍数取 8 倍",
    )
    assert fund_figures(fund=fund).unrealised == Decimal("2300000.00")
    marks = figures.investment_marks(investment=investments["a"])
    assert [(m.fair_value, m.superseded) for m in marks] == [
        (Decimal("1800000.00"), False),
        (Decimal("2000000.00"), True),
        (Decimal("1500000.00"), False),
    ]


def test_undefined_figures_say_why(db):
    empty = fund_figures(fund=FundFactory())
    assert (empty.moic, empty.dpi, empty.tvpi, empty.irr) == (None, None, None, None)
    assert empty.ratio_reason == empty.irr_reason == "no investments yet"
    lost = FundFactory()
    InvestmentFactory(fund=lost, failed=True)  # liquidated, nothing recovered
    f = fund_figures(fund=lost)
    assert (f.moic, f.dpi) == (Decimal("0.00"), Decimal("0.00"))
    assert f.irr is None and f.irr_reason.startswith("no cash flow in")


def test_value_chart_draws_each_quarter_end(portfolio_fund):
    fund, _investments = portfolio_fund
    chart = value_chart(fund=fund, as_of=d(2025, 6, 30))
    by_day = {p.as_of: p for p in chart.points}
    assert list(by_day) == [
        d(2024, 3, 31),
        d(2024, 6, 30),
        d(2024, 9, 30),
        d(2024, 12, 31),
        d(2025, 3, 31),
        d(2025, 6, 30),
    ]
    assert by_day[d(2024, 3, 31)].invested == Decimal("2500000.00")  # A, E and C; B came in June
    assert by_day[d(2024, 12, 31)].unrealised == Decimal("2900000.00")
    # After C failed: its recovered 0.1 is realised; A 1.5 → 2.0 at the June mark.
    assert (by_day[d(2025, 6, 30)].realised, by_day[d(2025, 6, 30)].unrealised) == (
        Decimal("100000.00"),
        Decimal("3200000.00"),
    )
    assert all(chart.top <= p.y_total <= chart.baseline for p in chart.points)


def _marks(fund, investments: int, marks_each: int):
    for i in range(investments):
        investment = InvestmentFactory(fund=fund, invested_on=d(2023, 1, 1) + datetime.timedelta(days=i))
        for q in range(marks_each):
            valuation_mark_record(
                investment=investment,
                by=None,
                as_of=d(2023, 6, 30) + datetime.timedelta(days=91 * q),
                fair_value=Decimal(1000000 + 1000 * q),
                method=M.MULTIPLES,
                evidence="倍数法",
            )


def test_the_dashboard_runs_a_constant_number_of_queries(client, auditor, django_assert_max_num_queries):
    fund = FundFactory()
    _marks(fund, 2, 1)
    client.force_login(auditor)
    url = reverse("tolerance:fund_dashboard", args=[fund.pk])
    with django_assert_max_num_queries(20) as small:
        assert client.get(url).status_code == 200
    _marks(fund, 60, 6)  # more investments than the list shows, and many marks each
    InvestmentFactory(fund=fund, failed=True)
    with django_assert_max_num_queries(len(small.captured_queries) + 1):  # + the total, with more than 50 rows
        body = client.get(url).content.decode()
    assert body.count("data-latest-mark=") == figures.MARK_ROWS
