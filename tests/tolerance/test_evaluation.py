"""The yearly performance evaluation (tolerance.monitoring_selectors.fund_evaluation) against figures worked
out by hand on a small portfolio, its page, CSV and query count."""

import datetime
from decimal import Decimal

import pytest
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone

from tests.factories import FocusAreaFactory, FundFactory, InvestmentFactory, StartupFactory
from tolerance.models import CompanyReport, Investment
from tolerance.monitoring_selectors import fund_evaluation
from valley.core import roles

D = datetime.date
R = CompanyReport.State


def _report(entity, year, quarter, *, employees, follow_on="0", state=R.ACCEPTED):
    filed = state != R.DRAFT
    figures = {"revenue": 1, "rd_spend": 1, "patents_filed": 0, "patents_granted": 0} if filed else {}
    return CompanyReport.objects.create(
        entity=entity,
        year=year,
        quarter=quarter,
        due_on=D(year, 12, 31),
        state=state,
        submitted_at=timezone.now() if filed else None,
        employees=employees,
        follow_on_funding=Decimal(follow_on),
        **figures,
    )


@pytest.fixture
def portfolio(db):
    """Fund F, as worked out for 2025:
    - A: startup a (advanced manufacturing), 1 Mar 2025, 1,000,000 + co-investors 500,000, active;
    - B: startup b (semiconductors), 1 Jun 2025, 3,000,000, failed 30 Sep 2025;
    - C: startup c (semiconductors), 1 May 2024, 2,000,000 + 1,000,000, failed 1 Dec 2024 (before 2025 began);
    - D: startup d (energy), 1 Feb 2026: after the year, out of scope; and a's investment by another fund.
    In scope 3, principal 6,000,000, co-investment 1,500,000: leverage 7,500,000 / 6,000,000 = 1.25.
    Shares: manufacturing 1/6 = 16.67%, semiconductors 5/6 = 83.33%, energy and materials 0.
    Survived the year: A only (B and C failed by 31 Dec): 1/3 = 33.33%.
    The year's startups: a and b (c failed before 2025). Follow-on: a (Q4) → 1/2 = 50.00%.
    Jobs: a 18 − 10 = 8 (its returned Q3 and its 2024 report do not count), b 15 − 20 = −5: 3."""
    areas = {
        code: FocusAreaFactory(code=code, name_zh=zh, name_en=en)
        for code, zh, en in [
            ("advanced-manufacturing", "先进制造", "Advanced manufacturing"),
            ("energy", "能源与新能源", "Energy and new energy"),
            ("semiconductors", "半导体", "Semiconductors"),
            ("new-materials", "新材料", "New materials"),
        ]
    }
    a, b, c, d = (
        StartupFactory(focus_area=areas[code])
        for code in ("advanced-manufacturing", "semiconductors", "semiconductors", "energy")
    )
    fund = FundFactory()
    failed = {"state": Investment.State.FAILED, "failure_kind": Investment.FailureKind.LIQUIDATED}
    InvestmentFactory(fund=fund, startup=a, invested_on=D(2025, 3, 1), principal=1_000_000, co_investment=500_000)
    InvestmentFactory(
        fund=fund, startup=b, invested_on=D(2025, 6, 1), principal=3_000_000, failed_on=D(2025, 9, 30), **failed
    )
    InvestmentFactory(
        fund=fund,
        startup=c,
        invested_on=D(2024, 5, 1),
        principal=2_000_000,
        co_investment=1_000_000,
        failed_on=D(2024, 12, 1),
        **failed,
    )
    InvestmentFactory(fund=fund, startup=d, invested_on=D(2026, 2, 1), principal=5_000_000)
    InvestmentFactory(startup=a, invested_on=D(2025, 1, 5), principal=9_000_000, co_investment=9_000_000)
    _report(a, 2024, 4, employees=1, follow_on="100")
    _report(a, 2025, 1, employees=10)
    _report(a, 2025, 2, employees=14)
    _report(a, 2025, 3, employees=100, follow_on="50", state=R.RETURNED)
    _report(a, 2025, 4, employees=18, follow_on="2000000", state=R.SUBMITTED)
    _report(b, 2025, 2, employees=20)
    _report(b, 2025, 3, employees=15)
    _report(b, 2025, 4, employees=None, follow_on="700", state=R.DRAFT)
    _report(c, 2025, 1, employees=3, follow_on="1000000")
    return fund


def test_the_evaluation_matches_the_figures_worked_out_by_hand(portfolio, django_assert_max_num_queries):
    with django_assert_max_num_queries(3):
        e = fund_evaluation(fund=portfolio, year=2025)
    assert (e.investment_count, e.principal, e.co_investment) == (3, Decimal("6000000.00"), Decimal("1500000.00"))
    assert e.leverage == Decimal("1.25")
    assert {s.code: s.share for s in e.shares} == {
        "advanced-manufacturing": Decimal("16.67"),
        "energy": Decimal("0.00"),
        "new-materials": Decimal("0.00"),
        "semiconductors": Decimal("83.33"),
    }
    assert (e.survived_count, e.survival_rate) == (1, Decimal("33.33"))
    assert (e.startup_count, e.follow_on_count, e.follow_on_rate) == (2, 1, Decimal("50.00"))
    assert e.jobs_created == 3


def test_a_year_before_any_investment_has_no_data(portfolio):
    e = fund_evaluation(fund=portfolio, year=2023)
    assert e.investment_count == 0 and e.leverage is None and e.survival_rate is None and e.follow_on_rate is None
    assert e.jobs_created == 0 and all(s.share is None for s in e.shares)


def test_co_investment_is_never_negative(portfolio):
    with pytest.raises(IntegrityError), transaction.atomic():
        Investment.objects.filter(fund=portfolio).update(co_investment=-1)


def test_the_page_draws_the_chart_and_the_csv_has_the_figures(
    client, portfolio, make_user, django_assert_max_num_queries
):
    client.force_login(make_user(roles.AUDITOR))
    url = reverse("tolerance:fund_evaluation", args=[portfolio.pk, 2025])
    with django_assert_max_num_queries(12):
        page = client.get(url, HTTP_ACCEPT_LANGUAGE="en")
    html = page.content.decode()
    assert page.status_code == 200
    assert 'data-area="semiconductors" data-share="83.33"' in html and "<svg" in html
    assert 'data-figure="leverage">1.25×' in html and 'data-figure="jobs-created">3<' in html
    assert "cdn" not in html.lower()
    csv_body = client.get(reverse("tolerance:fund_evaluation_csv", args=[portfolio.pk, 2025])).content.decode(
        "utf-8-sig"
    )
    lines = dict(line.split(",")[0:3:2] for line in csv_body.splitlines()[1:])
    assert lines["leverage"] == "1.25" and lines["survival_rate"] == "33.33" and lines["jobs_created"] == "3"
    assert lines["focus_share_semiconductors"] == "83.33" and lines["follow_on_rate"] == "50.00"


def test_the_page_is_for_portfolio_readers_only(client, portfolio, applicant):
    client.force_login(applicant)
    assert client.get(reverse("tolerance:fund_evaluation", args=[portfolio.pk, 2025])).status_code == 403
    assert client.get(reverse("tolerance:fund_evaluation_csv", args=[portfolio.pk, 2025])).status_code == 403
