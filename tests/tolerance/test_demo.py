"""The demo portfolio: three funds (within, warning, breach) whose dashboards chart the right rates."""

import datetime
import re

import pytest
from django.core.management import call_command
from django.urls import reverse

from tolerance.models import (
    CaseKind,
    CaseState,
    ComplianceReport,
    ExemptionCase,
    ExemptionDetermination,
    Fund,
    Investment,
    Verdict,
)


@pytest.fixture
def demo(db, settings):
    settings.DEBUG = True
    call_command("seed_demo", verbosity=0)


def chart_points(body: str) -> list[tuple[str, str, str]]:
    return re.findall(r'data-as-of="([\d-]+)" data-rate-count="([\d.]+)" data-rate-amount="([\d.]+)"', body)


def test_three_funds_one_within_one_in_warning_one_in_breach(demo):
    latest = {fund.name_en: fund.reports.order_by("-as_of").first() for fund in Fund.objects.all()}
    assert {name: report.verdict for name, report in latest.items()} == {
        "Shanxi Provincial Angel Investment Fund": Verdict.WITHIN,
        "Shanxi Achievement Transformation Guidance Fund": Verdict.WARNING,
        "Jinchuanggu Venture Capital Fund": Verdict.BREACH,
    }
    assert not Investment.objects.exclude(startup__kind="startup").exists()
    assert ComplianceReport.objects.count() == 12
    breach = latest["Jinchuanggu Venture Capital Fund"]
    assert not ExemptionCase.objects.filter(report=breach, kind=CaseKind.ORIGINAL).exists()
    # A case at every step, and the venture fund's decided exemption re-examined after its breach.
    steps = set(ExemptionCase.objects.values_list("state", flat=True))
    assert steps == set(CaseState.values)
    reexam = ExemptionCase.objects.get(kind=CaseKind.REEXAMINATION)
    assert reexam.reexamines.state == CaseState.NOTIFIED and reexam.investment.fund == breach.fund
    angel = latest["Shanxi Provincial Angel Investment Fund"].fund
    # Two failed projects, one case each, opened by the reports that first saw them fail.
    assert set(ExemptionCase.objects.filter(investment__fund=angel).values_list("report__as_of", flat=True)) == {
        datetime.date(2025, 6, 30),
        datetime.date(2025, 12, 31),
    }
    assert ExemptionDetermination.objects.filter(investment__fund=angel, exempt=True).count() == 5  # one decided


def test_the_dashboard_charts_show_the_demo_rates(demo, client, auditor):
    client.force_login(auditor)
    # Worked by hand from tolerance/demo.py, rounding up to the hundredth. E.g. the venture fund by
    # amount at 2026-06-30: losses 7.5 + 6.0 + 4.7 = 18.2 million of 22 million qualifying = 82.727...% -> 82.73.
    expected = {
        "Shanxi Provincial Angel Investment Fund": [
            ("2024-12-31", "0.00", "0.00"),
            ("2025-06-30", "11.12", "10.20"),
            ("2025-12-31", "22.23", "18.94"),
            ("2026-06-30", "22.23", "18.94"),
        ],
        "Shanxi Achievement Transformation Guidance Fund": [
            ("2024-12-31", "14.29", "17.26"),
            ("2025-06-30", "42.86", "45.30"),
            ("2025-12-31", "57.15", "62.95"),
            ("2026-06-30", "71.43", "73.93"),
        ],
        "Jinchuanggu Venture Capital Fund": [
            ("2024-12-31", "0.00", "0.00"),
            ("2025-06-30", "16.67", "34.10"),
            ("2025-12-31", "33.34", "61.37"),
            ("2026-06-30", "50.00", "82.73"),
        ],
    }
    for fund in Fund.objects.all():
        body = client.get(reverse("tolerance:fund_dashboard", args=[fund.pk])).content.decode()
        assert chart_points(body) == expected[fund.name_en], fund.name_en
        assert 'class="threshold-line"' in body and 'data-rate="80.00"' in body
