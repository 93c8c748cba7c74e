"""The portfolio's lists through valley.web.listing: the funds, the exemption cases, every company report.
Search, filter by name, sort both ways, pages that keep the filters, the export link, constant queries."""

import datetime
from urllib.parse import parse_qs, urlsplit

import pytest
from django.urls import reverse

from tests.factories import FundFactory, InvestmentFactory, StartupFactory
from tests.valley.test_export_links import export_links
from tolerance.models import CompanyReport, ExemptionCase
from tolerance.services import compliance_check_run
from valley.core import calendar, roles
from valley.models import CalendarDay

AS_OF = datetime.date(2026, 6, 30)
pytestmark = pytest.mark.django_db


def pks(client, url, **query):
    response = client.get(url, query, HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 200
    return [row.pk for row in response.context["page"].object_list]


@pytest.fixture
def manager(make_user):
    CalendarDay.objects.bulk_create(calendar.calendar_2026_days())
    return make_user(roles.PORTFOLIO_MANAGER, email="pm@example.cn")


@pytest.fixture
def two_funds(db):
    """Two funds (small 汾河, big 太行), each with a failed investment and so an exemption case."""
    fenhe = FundFactory(name_zh="汾河天使基金", name_en="Fenhe Angel Fund", size=100_000_000)
    taihang = FundFactory(name_zh="太行创投基金", name_en="Taihang Venture Fund", size=900_000_000)
    for fund, startup in ((fenhe, "晋光科技"), (taihang, "云冈材料")):
        InvestmentFactory(fund=fund)
        InvestmentFactory(fund=fund, failed=True, startup=StartupFactory(name_zh=startup, name_en=f"{startup} Co"))
        compliance_check_run(fund=fund, as_of=AS_OF)
    return fenhe, taihang


def test_the_fund_list_searches_and_sorts(client, manager, two_funds, monkeypatch):
    fenhe, taihang = two_funds
    client.force_login(manager)
    url = reverse("tolerance:fund_list")
    assert pks(client, url, q="太行") == [taihang.pk]
    assert pks(client, url, q="fenhe angel") == [fenhe.pk]
    assert pks(client, url, sort="size") == [fenhe.pk, taihang.pk]
    assert pks(client, url, sort="-size") == [taihang.pk, fenhe.pk]
    assert pks(client, url, sort="size; drop table") == pks(client, url)  # unknown: the default order
    monkeypatch.setattr("tolerance.views.PAGE_SIZE", 1)
    page = client.get(url, {"q": "基金", "sort": "-size"}).content.decode()
    assert 'href="?q=%E5%9F%BA%E9%87%91&amp;sort=-size&amp;page=2"' in page
    assert 'aria-sort="descending"' in page


def test_the_case_list_filters_by_fund_name_and_startup(client, manager, two_funds, monkeypatch):
    fenhe, taihang = two_funds
    fenhe_case = ExemptionCase.objects.get(investment__fund=fenhe)
    taihang_case = ExemptionCase.objects.get(investment__fund=taihang)
    client.force_login(manager)
    url = reverse("tolerance:case_list")
    assert pks(client, url, fund="太行创投基金") == [taihang_case.pk]
    assert pks(client, url, fund=str(fenhe.pk)) == [fenhe_case.pk]  # the id, as links and programs give it
    assert pks(client, url, q="晋光") == [fenhe_case.pk]
    assert pks(client, url, sort="fund") == [taihang_case.pk, fenhe_case.pk]  # 太 before 汾 in code points
    assert pks(client, url, sort="-fund") == [fenhe_case.pk, taihang_case.pk]
    response = client.get(url, {"opened_at_after": "2026-02-30"}, HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 200 and "Enter a valid date" in response.content.decode()
    monkeypatch.setattr("tolerance.views.PAGE_SIZE", 1)
    page = client.get(url, {"q": "Co", "sort": "-fund"}, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert 'href="?q=Co&amp;sort=-fund&amp;page=2"' in page
    query = parse_qs(urlsplit(export_links(page)["csv"]).query)
    assert query == {"q": ["Co"]}
    query = parse_qs(urlsplit(export_links(client.get(url, {"fund": "汾河天使基金"}).content.decode())["csv"]).query)
    assert query == {"fund": ["汾河天使基金"]}
    assert (
        client.get(export_links(client.get(url, {"fund": "汾河天使基金"}).content.decode())["csv"]).status_code == 200
    )


@pytest.fixture
def reports(two_funds):
    fenhe_startup = ExemptionCase.objects.get(investment__fund=two_funds[0]).investment.startup
    taihang_startup = ExemptionCase.objects.get(investment__fund=two_funds[1]).investment.startup
    return [
        CompanyReport.objects.create(entity=fenhe_startup, year=2026, quarter=1, due_on=datetime.date(2026, 4, 30)),
        CompanyReport.objects.create(entity=taihang_startup, year=2026, quarter=2, due_on=datetime.date(2026, 7, 31)),
    ]


def test_every_company_report_is_a_list_to_work_in(client, manager, reports, monkeypatch):
    first, second = reports
    client.force_login(manager)
    url = reverse("tolerance:report_queue")
    assert pks(client, url, q="云冈") == [second.pk]
    assert pks(client, url, quarter="1") == [first.pk]
    assert pks(client, url, due_on_after="2026-05-01") == [second.pk]
    assert pks(client, url, sort="due") == [first.pk, second.pk]
    assert pks(client, url, sort="-due") == [second.pk, first.pk]
    assert pks(client, url, quarter="9") == [first.pk, second.pk]  # out of range: explained, left out
    monkeypatch.setattr("tolerance.monitoring_views.REPORT_PAGE_SIZE", 1)
    page = client.get(url, {"year": "2026", "sort": "-due"}, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert 'href="?year=2026&amp;sort=-due&amp;page=2"' in page
    assert parse_qs(urlsplit(export_links(page)["xlsx"]).query) == {"year": ["2026"]}


@pytest.mark.parametrize("name", ["tolerance:fund_list", "tolerance:case_list", "tolerance:report_queue"])
def test_portfolio_lists_run_as_many_queries_with_more_rows(
    client, manager, reports, name, django_assert_max_num_queries
):
    def grow(count):
        fund = FundFactory(name_zh="a基金")
        for index in range(count):
            startup = StartupFactory(name_zh=f"a公司{index}")
            InvestmentFactory(fund=fund, failed=True, startup=startup)
            CompanyReport.objects.create(entity=startup, year=2026, quarter=1, due_on=datetime.date(2026, 4, 30))
        compliance_check_run(fund=fund, as_of=AS_OF)

    client.force_login(manager)
    query = {"q": "a", "sort": "-due"}
    grow(1)
    client.get(reverse(name), query)
    with django_assert_max_num_queries(25) as few:
        assert client.get(reverse(name), query).status_code == 200
    grow(4)
    with django_assert_max_num_queries(len(few)):
        assert client.get(reverse(name), query).status_code == 200


def test_the_fund_dashboard_lists_every_investment_to_work_in(client, manager, two_funds, monkeypatch):
    fenhe, taihang = two_funds
    failed = fenhe.investments.get(state="failed")
    active = fenhe.investments.exclude(pk=failed.pk).get()
    client.force_login(manager)
    url = reverse("tolerance:fund_dashboard", args=[fenhe.pk])
    assert sorted(pks(client, url)) == sorted([failed.pk, active.pk])  # this fund's only
    assert pks(client, url, q="晋光") == [failed.pk]
    assert pks(client, url, state="failed") == [failed.pk]
    assert pks(client, url, failed_on_after="2025-01-01") == [failed.pk]
    by_startup = pks(client, url, sort="startup")
    assert pks(client, url, sort="-startup") == list(reversed(by_startup))
    monkeypatch.setattr("tolerance.views.INVESTMENT_PAGE_SIZE", 1)
    page = client.get(url, {"state": "failed", "sort": "-startup", "page": "1"}, HTTP_ACCEPT_LANGUAGE="en").content
    query = parse_qs(urlsplit(export_links(page.decode())["csv"]).query)
    assert query == {"state": ["failed"], "fund": [str(fenhe.pk)]}
    page = client.get(url, {"q": "Co", "sort": "-startup"}, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert 'href="?q=Co&amp;sort=-startup&amp;page=2"' in page
