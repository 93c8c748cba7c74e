"""The fund list and dashboard: who may see them, who may run a check, what they show, and their query count."""

import datetime
import re
from decimal import Decimal

import pytest
from django.core.cache import cache
from django.urls import reverse

from tests.factories import FundFactory, InvestmentFactory
from tolerance.models import ComplianceReport, Investment, Verdict
from tolerance.services import compliance_check_run
from valley.core import roles


@pytest.fixture
def fund(db):
    fund = FundFactory(name_en="Angel Fund", name_zh="天使基金")
    for _ in range(3):
        InvestmentFactory(fund=fund)
    InvestmentFactory(fund=fund, failed=True)
    InvestmentFactory(fund=fund, failed=True, checklist={"due_diligence": False})
    return fund


@pytest.fixture
def portfolio_manager(make_user):
    return make_user(roles.PORTFOLIO_MANAGER, email="pm@example.cn")


def test_staff_and_auditors_read_the_list_and_the_dashboard(client, fund, provincial_staff, auditor):
    for user in (provincial_staff, auditor):
        client.force_login(user)
        assert client.get(reverse("tolerance:fund_list")).status_code == 200
        assert client.get(reverse("tolerance:fund_dashboard", args=[fund.pk])).status_code == 200


def test_applicants_are_refused_and_visitors_sent_to_log_in(client, fund, applicant):
    urls = [reverse("tolerance:fund_list"), reverse("tolerance:fund_dashboard", args=[fund.pk])]
    for url in urls:
        assert client.get(url).status_code == 302
    client.force_login(applicant)
    for url in urls:
        assert client.get(url).status_code == 403
    assert client.post(reverse("tolerance:fund_check_run", args=[fund.pk])).status_code == 403
    assert client.post(reverse("tolerance:fund_check_run_all")).status_code == 403


def test_an_unknown_fund_is_404(client, provincial_staff, db):
    client.force_login(provincial_staff)
    assert client.get(reverse("tolerance:fund_dashboard", args=[999999])).status_code == 404
    assert client.post(reverse("tolerance:fund_check_run", args=[999999])).status_code == 404


def test_auditors_cannot_run_the_check_and_see_no_button(client, fund, auditor):
    client.force_login(auditor)
    body = client.get(reverse("tolerance:fund_dashboard", args=[fund.pk]), HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "Run the check now" not in body
    assert client.post(reverse("tolerance:fund_check_run", args=[fund.pk])).status_code == 403
    assert client.post(reverse("tolerance:fund_check_run_all")).status_code == 403
    assert not ComplianceReport.objects.exists()


def test_run_now_is_post_only_and_keeps_csrf(fund, portfolio_manager):
    from django.test import Client

    client = Client(enforce_csrf_checks=True)
    client.force_login(portfolio_manager)
    url = reverse("tolerance:fund_check_run", args=[fund.pk])
    assert client.get(url).status_code == 405
    assert client.post(url).status_code == 403  # no CSRF token
    assert not ComplianceReport.objects.exists()


def test_staff_run_the_check_now_from_the_dashboard(client, fund, portfolio_manager):
    client.force_login(portfolio_manager)
    response = client.post(reverse("tolerance:fund_check_run", args=[fund.pk]), follow=True, HTTP_ACCEPT_LANGUAGE="en")
    report = ComplianceReport.objects.get(fund=fund)
    assert report.computed_by == portfolio_manager
    assert (report.rate_by_count, report.verdict) == (Decimal("25.00"), Verdict.WITHIN)
    body = response.content.decode()
    assert "by count 25.00%" in body
    assert 'data-figure="rate-by-count">25.00%<' in body


def test_staff_queue_every_funds_check(client, fund, provincial_staff, django_capture_on_commit_callbacks):
    client.force_login(provincial_staff)
    with django_capture_on_commit_callbacks() as callbacks:
        response = client.post(reverse("tolerance:fund_check_run_all"))
    assert response.status_code == 302
    assert len(callbacks) == 1  # the fan-out task, queued after commit


def test_dashboard_shows_exemption_status_and_checklist_gaps(client, fund, auditor):
    compliance_check_run(fund=fund, as_of=datetime.date(2026, 6, 30))
    client.force_login(auditor)
    body = client.get(reverse("tolerance:fund_dashboard", args=[fund.pk]), HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert body.count('data-exemption="to_be_decided"') == 1  # the check proposes; nobody is exempt yet
    assert body.count('data-exemption="exempt"') == 0
    assert body.count('data-exemption="standards_not_met"') == 1
    assert "to be decided" in body and "opened, 0 working days (0 days) open" in body
    assert body.count("data-gap=") == 1
    assert "due diligence on file" in body


def test_the_chart_plots_each_report_against_the_threshold_line(client, fund, auditor):
    compliance_check_run(fund=fund, as_of=datetime.date(2025, 1, 1))
    compliance_check_run(fund=fund, as_of=datetime.date(2026, 6, 30))
    client.force_login(auditor)
    body = client.get(reverse("tolerance:fund_dashboard", args=[fund.pk])).content.decode()
    # Drawn on the server: nothing in the page's content needs a script (the session warning's is outside it).
    main = body.split('<main id="main"', 1)[1].split("</main>", 1)[0]
    assert "<script" not in main
    assert 'class="threshold-line"' in body and 'data-rate="80.00"' in body
    points = re.findall(r'data-as-of="([\d-]+)" data-rate-count="([\d.]+)" data-rate-amount="([\d.]+)"', body)
    assert points == [("2025-01-01", "0.00", "0.00"), ("2026-06-30", "25.00", "25.00")]


def test_the_nav_links_the_funds_for_staff_and_auditors_only(client, db, auditor, applicant):
    client.force_login(auditor)
    assert reverse("tolerance:fund_list") in client.get(reverse("home")).content.decode()
    client.force_login(applicant)
    assert reverse("tolerance:fund_list") not in client.get(reverse("home")).content.decode()


def test_pages_run_a_constant_number_of_queries(client, auditor, django_assert_max_num_queries):
    fund = FundFactory()
    InvestmentFactory(fund=fund, failed=True)
    InvestmentFactory(fund=fund, checklist=False)
    compliance_check_run(fund=fund, as_of=datetime.date(2025, 1, 1))
    client.force_login(auditor)
    dashboard = reverse("tolerance:fund_dashboard", args=[fund.pk])
    # The dashboard's sections (figures, valuation, monitoring, cases, documents) each read with a fixed number.
    with django_assert_max_num_queries(25) as small_dashboard:
        client.get(dashboard)
    with django_assert_max_num_queries(15) as small_list:
        client.get(reverse("tolerance:fund_list"))

    for _ in range(15):
        InvestmentFactory(fund=fund, failed=True)
        InvestmentFactory(fund=fund, checklist={"no_fraud": False})
    FundFactory.create_batch(5)
    for day in range(1, 6):
        compliance_check_run(fund=fund, as_of=datetime.date(2025, 2, day))
    with django_assert_max_num_queries(len(small_dashboard.captured_queries)):
        client.get(dashboard)
    with django_assert_max_num_queries(len(small_list.captured_queries)):
        client.get(reverse("tolerance:fund_list"))


def test_the_cached_dashboard_shows_a_new_check_and_an_edited_investment_at_once(
    client, fund, portfolio_manager, auditor, settings, django_assert_max_num_queries
):
    settings.FUND_DASHBOARD_CACHE_SECONDS = 600
    cache.clear()
    client.force_login(portfolio_manager)
    dashboard = reverse("tolerance:fund_dashboard", args=[fund.pk])
    first = client.get(dashboard, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "This fund has not been checked yet." in first and first.count("data-gap=") == 1
    # Session, user, roles, fund and its stamp, and the list of every investment (its count and page: it follows the
    # query string, so it is not cached); no query of the cached sections.
    with django_assert_max_num_queries(8) as cached:
        again = client.get(dashboard, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert not any("tolerance_investment" in q["sql"] and "LIMIT 50" in q["sql"] for q in cached.captured_queries)
    assert again.count("data-gap=") == 1 and "Run the check now" in again

    client.post(reverse("tolerance:fund_check_run", args=[fund.pk]))  # the button: a report and its cases
    checked = client.get(dashboard, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "This fund has not been checked yet." not in checked
    assert 'data-exemption="to_be_decided"' in checked

    assert checked.count("data-investment=") == 2
    active = Investment.objects.filter(fund=fund, state=Investment.State.ACTIVE).first()
    active.state, active.failure_kind = Investment.State.FAILED, Investment.FailureKind.LIQUIDATED
    active.failed_on = datetime.date(2026, 7, 1)
    active.save()  # as the admin's form saves it
    edited = client.get(dashboard, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert edited.count("data-investment=") == 3

    client.force_login(auditor)  # the cached sections are shared; the button is not
    read_only = client.get(dashboard, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert read_only.count("data-investment=") == 3 and "Run the check now" not in read_only
    chinese = client.get(dashboard, HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    assert "Failed projects and their exemption status" not in chinese  # each language has its own copy
