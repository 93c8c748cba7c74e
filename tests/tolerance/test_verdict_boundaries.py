"""Verdicts at their boundaries, as each door shows them: fund pages, admin, API, CSV and the alert mail.

4 of 5 failed is 80.00% and within the tolerance; 5 of 6 is 83.33% and a breach; a loss of 80.004% shows as
80.00% but is a breach, and says so; a fund with no qualifying investment has "no data", never "within".
"""

import csv
import datetime
import io
import re
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import translation
from rest_framework.test import APIClient

from tests.factories import FundFactory, InvestmentFactory
from tolerance.models import ComplianceReport, GoverningBasis, Verdict
from tolerance.services import compliance_check_run
from valley.core import roles
from valley.messaging.mail import MAIL_TASK
from valley.models import OutboxMessage

AS_OF = datetime.date(2026, 6, 30)
ZERO_RATE = re.compile(r"(?<![\d.,])0\.00%")  # a rate of 0.00% (not the end of 80.00%)


def portfolio(fund, *, active=0, failed=0, principal="1000000.00", **fields):
    for _ in range(active):
        InvestmentFactory(fund=fund, principal=Decimal(principal), **fields)
    for _ in range(failed):
        InvestmentFactory(fund=fund, failed=True, principal=Decimal(principal), **fields)


def mails() -> list[dict]:
    return [m.kwargs for m in OutboxMessage.objects.filter(task=MAIL_TASK).order_by("pk")]


def page(client, name, *args, language="en") -> str:
    response = client.get(reverse(name, args=args), HTTP_ACCEPT_LANGUAGE=language)
    assert response.status_code == 200
    return response.content.decode()


def api_report(user, fund) -> dict:
    api = APIClient()
    api.force_authenticate(user)
    response = api.get("/api/compliance-reports/", {"fund": fund.pk})
    assert response.status_code == 200
    [row] = response.json()["results"]
    return row


def csv_rows(user, fund) -> list[dict]:
    """The compliance-reports export as the download builds it in Python (the COPY path: test_csv_paths_agree)."""
    from valley.exports import engine

    export = engine.catalogue()["compliance-reports"]
    with translation.override("en"):
        body = "".join(engine.stream(export, export.queryset(user).filter(fund=fund)))
    return list(csv.DictReader(io.StringIO(body.lstrip("\ufeff"))))


@pytest.fixture
def manager(make_user, settings):
    """A portfolio manager, who receives the alerts; the alerts in English (the portal's language) for reading."""
    settings.LANGUAGE_CODE = "en"
    return make_user(roles.PORTFOLIO_MANAGER, email="pm@example.cn")


def test_4_of_5_failed_is_80_00_and_within_the_tolerance(db, client, auditor, manager):
    fund = FundFactory(name_en="Four of Five")
    portfolio(fund, active=1, failed=4)
    report = compliance_check_run(fund=fund, as_of=AS_OF)

    assert (report.rate_by_count, report.verdict) == (Decimal("80.00"), Verdict.WARNING)  # within, past 70%
    # Within the tolerance: a case per failed project, and nobody exempt before people determine it.
    assert report.cases.count() == 4 and report.exemptions.count() == 0
    client.force_login(auditor)
    body = page(client, "tolerance:fund_dashboard", fund.pk)
    assert 'data-figure="rate-by-count">80.00%<' in body and "(rounded;" not in body
    assert 'data-verdict="warning"' in body
    assert api_report(auditor, fund)["rate_by_count_rounding"] is None


def test_5_of_6_failed_shows_83_33_and_is_a_breach(db, client, auditor, manager):
    fund = FundFactory(name_en="Five of Six")
    portfolio(fund, active=1, failed=5)
    report = compliance_check_run(fund=fund, as_of=AS_OF)

    assert (report.rate_by_count, report.verdict) == (Decimal("83.33"), Verdict.BREACH)
    assert report.exemptions.count() == 0
    client.force_login(auditor)
    row = page(client, "tolerance:fund_list").split(f'data-fund="{fund.pk}"')[1].split("</tr>")[0]
    assert 'data-figure="rate-by-count">83.33%<' in row and 'data-verdict="breach"' in row
    [mail] = mails()
    assert "Failure rate by count: 83.33%" in mail["body"]
    assert csv_rows(auditor, fund)[0]["failure rate by count (%)"] == "83.33"


def test_a_loss_just_above_80_percent_shows_as_80_00_and_says_it_is_a_breach(db, client, auditor, manager):
    fund = FundFactory(name_en="Hair Above", governing_basis=GoverningBasis.AMOUNT)
    portfolio(fund, active=1, principal="199960.00")
    portfolio(fund, failed=1, principal="800040.00")  # 800,040 of 1,000,000 lost: 80.004%
    report = compliance_check_run(fund=fund, as_of=AS_OF)

    assert (report.rate_by_amount, report.verdict) == (Decimal("80.00"), Verdict.BREACH)
    assert report.exemptions.count() == 0
    note = "80.00% (rounded; exceeds 80.00%)"
    client.force_login(auditor)
    assert f'data-figure="rate-by-amount">{note}<' in page(client, "tolerance:fund_dashboard", fund.pk)
    assert f'data-figure="rate-by-amount">{note}<' in page(client, "tolerance:fund_list")
    assert note in page(client, "admin:tolerance_compliancereport_changelist")
    assert "governing failure rate 80.00% (rounded; exceeds 80.00%) against 80.00%" in page(
        client, "admin:tolerance_fund_changelist"
    )
    row = api_report(auditor, fund)
    assert (row["rate_by_amount"], row["rate_by_amount_rounding"], row["verdict"]) == (
        "80.00",
        "above_threshold",
        "breach",
    )
    assert row["rate_by_count_rounding"] is None  # 1 of 2 failed: 50.00%, nothing hidden
    [line] = csv_rows(auditor, fund)
    assert (line["failure rate by amount (%)"], line["note on the rate by amount"], line["verdict"]) == (
        "80.00",
        "rounded; exceeds the threshold",
        "breach",
    )
    [mail] = mails()
    assert f"by amount: {note}" in mail["body"]


def test_a_loss_just_below_the_warning_level_shows_as_70_00_and_says_it_is_below(db, client, auditor):
    fund = FundFactory(governing_basis=GoverningBasis.AMOUNT)
    portfolio(fund, active=1, principal="300040.00")
    portfolio(fund, failed=1, principal="699960.00")  # 69.996%
    report = compliance_check_run(fund=fund, as_of=AS_OF)
    assert (report.rate_by_amount, report.verdict) == (Decimal("70.00"), Verdict.WITHIN)
    client.force_login(auditor)
    body = page(client, "tolerance:fund_dashboard", fund.pk)
    assert "70.00% (rounded; below the warning level of 70.00%)" in body
    assert 'data-verdict="within"' in body


def test_a_fund_with_no_qualifying_investment_has_no_data_everywhere(db, client, auditor, manager):
    empty = FundFactory(name_en="Empty Fund")
    unqualified = FundFactory(name_en="Unqualified Fund")
    InvestmentFactory(fund=unqualified, checklist={"no_fraud": False})
    InvestmentFactory(fund=unqualified, failed=True, checklist={"due_diligence": False})
    reports = [compliance_check_run(fund=fund, as_of=AS_OF) for fund in (empty, unqualified)]

    for report in reports:
        assert (report.verdict, report.rate_by_count, report.rate_by_amount) == (Verdict.NO_DATA, None, None)
    assert ComplianceReport.objects.filter(verdict=Verdict.WITHIN).count() == 0

    client.force_login(auditor)
    listing = page(client, "tolerance:fund_list")
    for fund in (empty, unqualified):
        row = listing.split(f'data-fund="{fund.pk}"')[1].split("</tr>")[0]
        assert 'data-verdict="no_data"' in row and ">no data<" in row
        assert "within" not in row and not ZERO_RATE.search(row)
        assert 'data-figure="rate-by-count">—<' in row and 'data-figure="rate-by-amount">—<' in row
    dashboard = page(client, "tolerance:fund_dashboard", empty.pk)
    assert 'data-verdict="no_data"' in dashboard and "within tolerance" not in dashboard
    assert 'data-figure="rate-by-count">—<' in dashboard and not ZERO_RATE.search(dashboard)
    assert "its verdict is “no data”" in dashboard
    assert "Every investment has met all five standards." not in dashboard  # there is none
    assert "No investments yet." in dashboard
    chinese = page(client, "tolerance:fund_dashboard", empty.pk, language="zh-hans")
    assert "容错范围内" not in chinese and not ZERO_RATE.search(chinese)

    reports_admin = page(client, "admin:tolerance_compliancereport_changelist").split('id="result_list"')[1]
    reports_admin = reports_admin.split("</table>")[0]
    assert reports_admin.count("no data") == 2 and "within tolerance" not in reports_admin
    funds_admin = page(client, "admin:tolerance_fund_changelist")
    assert "Unqualified Fund, checked as of 2026-06-30: no data" in funds_admin
    assert "Empty Fund, checked" not in funds_admin  # no data alone is nothing to alert about

    for fund in (empty, unqualified):
        row = api_report(auditor, fund)
        assert (row["verdict"], row["rate_by_count"], row["rate_by_amount"]) == ("no_data", None, None)
        [line] = csv_rows(auditor, fund)
        assert (line["verdict"], line["failure rate by count (%)"], line["failure rate by amount (%)"]) == (
            "no data",
            "",
            "",
        )

    # The empty fund alerts nobody; the one whose failure missed a standard does, without a word of "within".
    [mail] = mails()
    assert unqualified.name in mail["subject"] and "has no qualifying investment" in mail["subject"]
    assert "no data" in mail["body"] and "1 failed project(s) did not meet the standards" in mail["body"]
    assert "within" not in (mail["subject"] + mail["body"]).lower()
    assert not ZERO_RATE.search(mail["body"])


def test_a_fund_that_loses_its_last_qualifying_investment_goes_from_within_to_no_data(db, manager):
    fund = FundFactory()
    investment = InvestmentFactory(fund=fund)
    assert compliance_check_run(fund=fund, as_of=AS_OF).verdict == Verdict.WITHIN
    investment.no_fraud = False
    investment.save()
    rerun = compliance_check_run(fund=fund, as_of=AS_OF)
    assert (rerun.verdict, rerun.rate_by_count) == (Verdict.NO_DATA, None)
    assert mails() == []  # nothing failed: nothing to alert about


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_csv_paths_agree_on_notes_and_no_data(client, auditor):
    """The download streams from PostgreSQL's COPY, which computes the notes in SQL: the same file as Python's."""
    from valley.exports import engine

    FundFactory(name_en="Empty Fund")
    close = FundFactory(governing_basis=GoverningBasis.AMOUNT)
    portfolio(close, active=1, principal="199960.00")
    portfolio(close, failed=1, principal="800040.00")
    for fund in (close, *FundFactory._meta.model.objects.exclude(pk=close.pk)):
        compliance_check_run(fund=fund, as_of=AS_OF)
    client.force_login(auditor)
    response = client.get(reverse("export_download", args=["compliance-reports"]), HTTP_ACCEPT_LANGUAGE="en")
    downloaded = b"".join(response.streaming_content).decode("utf-8-sig")
    export = engine.catalogue()["compliance-reports"]
    with translation.override("en"):
        assert downloaded == "".join(engine.stream(export, export.queryset(auditor))).lstrip("\ufeff")
    rows = {row["verdict"]: row for row in csv.DictReader(io.StringIO(downloaded))}
    assert rows["no data"]["failure rate by count (%)"] == "" and rows["no data"]["note on the rate by amount"] == ""
    assert rows["breach"]["note on the rate by amount"] == "rounded; exceeds the threshold"
