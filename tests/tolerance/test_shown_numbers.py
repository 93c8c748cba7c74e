"""No page of the portfolio shows a number with more than two decimals, and counts show none.

Rendered from a realistic portfolio (the demo's three funds, with four reports each) plus a fund with no
investment, a fund whose only investments miss a standard ("no data"), and a fund whose rate sits a hair
above its threshold; in both languages. The fund list once printed `22.2300000000000%` and `10.00`
investments (a subquery's decimals on SQLite, and counts through the amount filter).
"""

import datetime
import re
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.urls import reverse

from tests.factories import FundFactory, InvestmentFactory
from tolerance.models import Fund, GoverningBasis
from tolerance.services import compliance_check_run
from valley.templatetags.valley_format import percent

LANGUAGES = ["en", "zh-hans"]
MORE_THAN_TWO_DECIMALS = re.compile(r"\d\.\d{3,}")
COUNT = re.compile(r"^\d{1,3}(,\d{3})*$")
# What is not a shown number: scripts, styles, link targets and SVG geometry (path data, the view box).
NOT_SHOWN = [
    re.compile(r"<script\b.*?</script>", re.S),
    re.compile(r"<style\b.*?</style>", re.S),
    re.compile(r'\s(?:href|src|action|d|viewBox|points|transform)="[^"]*"'),
]


@pytest.fixture
def portfolio(db, settings):
    settings.DEBUG = True
    call_command("seed_demo", verbosity=0)
    FundFactory(name_en="Fund With No Investment")
    unqualified = FundFactory(name_en="Fund Without Qualifying Investments")
    InvestmentFactory(fund=unqualified, checklist={"no_fraud": False})
    InvestmentFactory(fund=unqualified, failed=True, checklist=False)
    close = FundFactory(name_en="Fund A Hair Above", governing_basis=GoverningBasis.AMOUNT)
    InvestmentFactory(fund=close, principal=Decimal("199960.00"))
    InvestmentFactory(fund=close, failed=True, principal=Decimal("800040.00"))
    for fund in (unqualified, close, *Fund.objects.filter(name_en="Fund With No Investment")):
        for as_of in (datetime.date(2025, 12, 31), datetime.date(2026, 6, 30)):
            compliance_check_run(fund=fund, as_of=as_of)
    return list(Fund.objects.order_by("pk"))


def shown(body: str) -> str:
    for pattern in NOT_SHOWN:
        body = pattern.sub("", body)
    return body


def test_the_percent_helper_rounds_half_up_to_two_decimals_whatever_it_is_given():
    assert percent(Decimal("22.2300000000000")) == "22.23%"  # what SQLite hands back for a subquery
    assert percent(22.23) == "22.23%"
    assert percent(Decimal("83.333")) == "83.33%"
    assert percent(Decimal("0.125")) == "0.13%"
    assert percent(None) == "—"


def test_no_portfolio_page_shows_more_than_two_decimals_and_counts_show_none(portfolio, client, auditor):
    client.force_login(auditor)
    pages = [reverse("home"), reverse("tolerance:fund_list")]
    pages += [reverse("tolerance:fund_dashboard", args=[fund.pk]) for fund in portfolio]
    pages += [reverse("admin:tolerance_fund_changelist"), reverse("admin:tolerance_compliancereport_changelist")]
    assert len(portfolio) == 7  # the four demo funds (one with no investment yet) and the three made here
    seen_rates = seen_counts = 0
    for language in LANGUAGES:
        for url in pages:
            response = client.get(url, HTTP_ACCEPT_LANGUAGE=language)
            assert response.status_code == 200, url
            body = shown(response.content.decode())
            assert not MORE_THAN_TWO_DECIMALS.findall(body), (language, url, MORE_THAN_TWO_DECIMALS.findall(body))
            # Every rate shown has exactly two decimals (or is "—" for no data).
            for rate in re.findall(r'data-figure="rate-by-(?:count|amount)">([^<]*)<', body):
                assert re.match(r"^(—|\d{1,3}\.\d{2}%)", rate), (language, url, rate)
                seen_rates += 1
            for failed, qualifying in re.findall(r'data-count="failed-of-qualifying">([^<]*) / ([^<]*)<', body):
                assert COUNT.match(failed) and COUNT.match(qualifying), (language, url, failed, qualifying)
                seen_counts += 1

        listing = client.get(reverse("tolerance:fund_list"), HTTP_ACCEPT_LANGUAGE=language).content.decode()
        counts = re.findall(r'data-count="investments">([^<]*)<', listing)
        assert len(counts) == len(portfolio)
        assert all(COUNT.match(count) for count in counts), counts
        assert sorted(counts) == sorted(str(fund.investments.count()) for fund in portfolio)
        assert "80.00%" in listing and "—" in listing  # the hair above the line, and no data
    # Each language: two rates on the list for each fund, and on each checked fund's dashboard.
    funds = len(portfolio)
    assert seen_rates == 2 * (2 * funds + 2 * funds) and seen_counts == 2 * funds
