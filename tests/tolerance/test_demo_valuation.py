"""The demo's valuation marks: three years of quarterly marks, a write-down before a failure, and fund
figures and a value chart that show on the dashboards with no number of more than two decimals."""

import re

import pytest
from django.core.management import call_command
from django.urls import reverse

from tolerance.models import Fund, Investment, ValuationMark, ValuationMethod


@pytest.fixture
def demo(db, settings):
    settings.DEBUG = True
    call_command("seed_demo", verbosity=0)


def visible_text(body: str) -> str:
    body = re.sub(r"<(script|style)\b.*?</\1>", " ", body, flags=re.S)
    return re.sub(r"<[^>]+>", " ", body)


def test_every_demo_investment_has_quarterly_marks_and_failures_are_written_down_first(demo):
    for investment in Investment.objects.all():
        days = list(investment.valuation_marks.order_by("as_of").values_list("as_of", flat=True))
        assert days, investment
        assert all(day.month in (3, 6, 9, 12) for day in days)
        if investment.state == Investment.State.FAILED:
            assert investment.valuation_marks.order_by("-as_of").first().method == ValuationMethod.WRITE_DOWN
            assert days[-1] <= investment.failed_on
    longest = max(Investment.objects.all(), key=lambda i: i.valuation_marks.count())
    assert longest.valuation_marks.count() >= 10  # 2024 Q1 to 2026 Q3
    count = ValuationMark.objects.count()
    call_command("seed_demo", verbosity=0)
    assert ValuationMark.objects.count() == count  # idempotent


def test_the_dashboards_show_figures_and_the_value_chart_with_at_most_two_decimals(demo, client, auditor):
    client.force_login(auditor)
    invested = Fund.objects.filter(investments__isnull=False).distinct()
    empty = Fund.objects.get(name_en="Lüliang Seed Fund")
    body = client.get(reverse("tolerance:fund_dashboard", args=[empty.pk]), HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert re.search(r'data-figure="moic">—<', body) and "no investments yet" in body
    for fund, language in ((fund, language) for fund in invested for language in ("en", "zh-hans")):
        body = client.get(reverse("tolerance:fund_dashboard", args=[fund.pk]), HTTP_ACCEPT_LANGUAGE=language)
        body = body.content.decode()
        for figure in ("invested", "realised", "unrealised", "moic", "dpi", "tvpi", "irr"):
            shown = re.search(rf'data-figure="{figure}">([^<]*)<', body).group(1)
            assert shown and shown != "—", (fund.name_en, figure)
        assert len(re.findall(r'class="point" data-as-of=', body)) >= 10
        text = visible_text(body)
        assert not re.search(r"\d\.\d{3,}", text), re.search(r".{40}\d\.\d{3,}.{20}", text)
        assert not re.search(r'data-(?:invested|unrealised|total)="[\d-]+\.\d{3,}"', body)
