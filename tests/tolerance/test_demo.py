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


def test_funds_within_in_warning_in_breach_and_one_with_no_data(demo):
    latest = {fund.name_en: fund.reports.order_by("-as_of").first() for fund in Fund.objects.all()}
    assert {name: report.verdict for name, report in latest.items()} == {
        "Shanxi Provincial Angel Investment Fund": Verdict.WITHIN,
        "Shanxi Achievement Transformation Guidance Fund": Verdict.WARNING,
        "Jinchuanggu Venture Capital Fund": Verdict.BREACH,
        "Lüliang Seed Fund": Verdict.NO_DATA,
    }
    assert not Investment.objects.exclude(startup__kind="startup").exists()
    assert ComplianceReport.objects.count() == 16
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
    # Worked by hand from tolerance/demo.py, rounding half-up to the hundredth. E.g. the venture fund by
    # amount at 2026-06-30: losses 7.5 + 6.0 + 4.7 = 18.2 million of 22 million qualifying = 82.727...% -> 82.73;
    # the angel fund by count at 2025-12-31: 2 of 9 = 22.222...% -> 22.22.
    expected = {
        "Shanxi Provincial Angel Investment Fund": [
            ("2024-12-31", "0.00", "0.00"),
            ("2025-06-30", "11.11", "10.19"),
            ("2025-12-31", "22.22", "18.93"),
            ("2026-06-30", "22.22", "18.93"),
        ],
        "Shanxi Achievement Transformation Guidance Fund": [
            ("2024-12-31", "14.29", "17.25"),
            ("2025-06-30", "42.86", "45.29"),
            ("2025-12-31", "57.14", "62.94"),
            ("2026-06-30", "71.43", "73.92"),
        ],
        "Jinchuanggu Venture Capital Fund": [
            ("2024-12-31", "0.00", "0.00"),
            ("2025-06-30", "16.67", "34.09"),
            ("2025-12-31", "33.33", "61.36"),
            ("2026-06-30", "50.00", "82.73"),
        ],
        "Lüliang Seed Fund": [],  # no qualifying investment: no rate to plot
    }
    for fund in Fund.objects.all():
        body = client.get(reverse("tolerance:fund_dashboard", args=[fund.pk])).content.decode()
        assert chart_points(body) == expected[fund.name_en], fund.name_en
        assert 'class="threshold-line"' in body and 'data-rate="80.00"' in body


def test_three_years_of_quarterly_reports_some_late_one_overdue_one_to_be_filed(demo):
    from django.utils import timezone

    from tolerance.models import CompanyReport
    from tolerance.monitoring_selectors import fund_evaluation, mark_lateness

    reports = mark_lateness(list(CompanyReport.objects.all()), today=timezone.localdate())
    assert {report.year for report in reports} >= {2024, 2025, 2026}
    states = [report.state for report in reports]
    assert states.count("draft") == 2 and "submitted" in states and "accepted" in states
    assert sum(report.was_late for report in reports) >= 3
    assert any(report.is_overdue and report.year == 2025 for report in reports)
    angel = Fund.objects.get(name_en="Shanxi Provincial Angel Investment Fund")
    evaluation = fund_evaluation(fund=angel, year=2025)
    assert evaluation.follow_on_count > 0 and evaluation.jobs_created > 0 and evaluation.leverage > 1
    count = len(reports)
    call_command("seed_demo", verbosity=0)
    assert CompanyReport.objects.count() == count
    assert CompanyReport.objects.filter(state="draft").count() == 2


def test_every_demo_investment_has_its_papers_of_each_kind(media_root, demo, client, auditor):
    from tolerance.models import InvestmentDocument

    kinds = set(InvestmentDocument.Kind.values)
    for investment in Investment.objects.prefetch_related("documents"):
        papers = list(investment.documents.all())
        assert {paper.kind for paper in papers} == kinds, investment
        assert all(paper.content_type == "application/pdf" and paper.file.name.endswith(".pdf") for paper in papers)
    paper = InvestmentDocument.objects.first()
    client.force_login(auditor)
    response = client.get(reverse("tolerance:investment_document_download", args=[paper.pk]))
    assert response.status_code == 200 and b"".join(response.streaming_content).startswith(b"%PDF-1.4")
