"""Valuation marks: the service's rules, lock and audit entry; the append-only history; every door (page,
API, admin) letting portfolio managers record and everyone else who reads the portfolio only read."""

import datetime
from decimal import Decimal

import pytest
from django.db import IntegrityError, connection, transaction
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone, translation

from tests.api_support import results, token_client
from tests.factories import FundFactory, InvestmentFactory
from tolerance.models import InvestmentDocument, ValuationMark, ValuationMethod
from tolerance.portfolio import InvalidRecord, NotPortfolioManager, PortfolioError, investment_delete
from tolerance.valuation import valuation_mark_record
from valley.core import roles
from valley.models import AuditEntry


@pytest.fixture(autouse=True)
def in_english(settings):
    """These tests read the services' messages; in English, the portal's second language."""
    settings.LANGUAGE_CODE = "en"
    with translation.override("en"):
        yield


d = datetime.date
M = ValuationMethod


@pytest.fixture
def portfolio_manager(make_user):
    return make_user(roles.PORTFOLIO_MANAGER, email="pm@example.cn")


@pytest.fixture
def investment(db):
    return InvestmentFactory(fund=FundFactory(), invested_on=d(2024, 3, 1), principal=Decimal("1000000.00"))


def record(investment, by, **changes):
    values = {"as_of": d(2024, 12, 31), "fair_value": Decimal("1500000.00"), "method": M.RECENT_ROUND}
    return valuation_mark_record(investment=investment, by=by, **{"evidence": "A 轮投资协议", **values, **changes})


def test_a_manager_records_a_mark_with_its_audit_entry_under_the_investment_lock(investment, portfolio_manager):
    before = investment.updated_at
    with CaptureQueriesContext(connection) as queries:
        mark = record(investment, portfolio_manager)
    assert any("FOR UPDATE" in q["sql"] and "tolerance_investment" in q["sql"] for q in queries.captured_queries)
    assert (mark.fair_value, mark.method, mark.recorded_by) == (
        Decimal("1500000.00"),
        M.RECENT_ROUND,
        portfolio_manager,
    )
    entry = AuditEntry.objects.get(action="tolerance.valuation.recorded")
    assert entry.actor == portfolio_manager and entry.object_id == str(mark.pk)
    investment.refresh_from_db()
    assert investment.updated_at > before  # the dashboard's cache key moves


def test_only_portfolio_managers_record_marks(investment, auditor, provincial_staff):
    for user in (auditor, provincial_staff):
        with pytest.raises(NotPortfolioManager):
            record(investment, user)
    assert not ValuationMark.objects.exists()


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"as_of": d(2024, 2, 29)}, "as_of"),  # before the investment
        ({"as_of": None}, "as_of"),
        ({"fair_value": Decimal("-1.00")}, "fair_value"),
        ({"fair_value": Decimal("1.005")}, "fair_value"),
        ({"fair_value": Decimal("1e13")}, "fair_value"),
        ({"method": "guess"}, "method"),
        ({"evidence": "   "}, "evidence"),
    ],
)
def test_bad_values_are_refused_beside_their_field(investment, portfolio_manager, changes, field):
    with pytest.raises(InvalidRecord) as refused:
        record(investment, portfolio_manager, **changes)
    assert list(refused.value.errors) == [field]
    assert not ValuationMark.objects.exists()


def test_no_mark_in_the_future_or_after_the_failure_and_zero_is_a_fair_value(portfolio_manager, db):
    failed = InvestmentFactory(failed=True, invested_on=d(2024, 3, 1))  # failed on 2025-06-30
    tomorrow = timezone.localdate() + datetime.timedelta(days=1)
    with pytest.raises(InvalidRecord, match="future"):
        record(failed, portfolio_manager, as_of=tomorrow)
    with pytest.raises(InvalidRecord, match="2025-06-30"):
        record(failed, portfolio_manager, as_of=d(2025, 9, 30))
    mark = record(failed, portfolio_manager, as_of=d(2025, 3, 31), fair_value=Decimal("0"), method=M.WRITE_DOWN)
    assert mark.fair_value == Decimal("0.00")


def test_the_document_must_be_the_investments_own(investment, portfolio_manager):
    other = InvestmentFactory()
    document = InvestmentDocument.objects.create(
        investment=other, title="别家的尽调报告", file="tolerance/x.pdf", content_type="application/pdf", size=1
    )
    with pytest.raises(InvalidRecord) as refused:
        record(investment, portfolio_manager, document=document)
    assert list(refused.value.errors) == ["document"]
    own = InvestmentDocument.objects.create(
        investment=investment, title="估值报告", file="tolerance/y.pdf", content_type="application/pdf", size=1
    )
    assert record(investment, portfolio_manager, document=own).document == own


def test_the_database_refuses_a_negative_value_and_a_mark_without_evidence(investment):
    base = {"investment": investment, "as_of": d(2024, 12, 31), "method": M.MULTIPLES, "recorded_at": timezone.now()}
    with pytest.raises(IntegrityError, match="valuation_fair_value_not_negative"), transaction.atomic():
        ValuationMark.objects.create(**base, fair_value=Decimal("-1"), evidence="x")
    with pytest.raises(IntegrityError, match="valuation_has_evidence"), transaction.atomic():
        ValuationMark.objects.create(**base, fair_value=Decimal("1"), evidence="")
    with pytest.raises(IntegrityError, match="valuation_method_valid"), transaction.atomic():
        ValuationMark.objects.create(**{**base, "method": "guess"}, fair_value=Decimal("1"), evidence="x")


def test_an_investment_with_marks_is_not_removed(investment, portfolio_manager):
    record(investment, portfolio_manager)
    with pytest.raises(PortfolioError, match="history"):
        investment_delete(investment=investment, by=portfolio_manager)


# ----------------------------------------------------------------------------------------------- the page


def test_a_manager_records_a_mark_on_the_page_and_a_bad_value_comes_back_beside_its_field(
    client, investment, portfolio_manager
):
    client.force_login(portfolio_manager)
    url = reverse("tolerance:investment_marks", args=[investment.pk])
    form = {"as_of": "2024-12-31", "fair_value": "1,500,000.00", "method": "recent_round", "evidence": "A 轮协议"}
    refused = client.post(url, {**form, "fair_value": "-5"}, HTTP_ACCEPT_LANGUAGE="en")
    assert refused.status_code == 200
    assert "A fair value cannot be negative" in refused.content.decode()
    early = client.post(url, {**form, "as_of": "2024-01-01"}, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "cannot be before the investment date (2024-03-01)" in early
    assert not ValuationMark.objects.exists()

    response = client.post(url, form, HTTP_ACCEPT_LANGUAGE="en", follow=True)
    assert response.redirect_chain[-1][0] == url
    page = response.content.decode()
    assert "The fair value as of 2024-12-31 is recorded." in page
    assert 'data-mark="' in page and "1,500,000.00" in page and "price of a recent financing round" in page

    client.post(url, {**form, "fair_value": "1400000"})  # a correction for the same date
    page = client.get(url, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert page.count('data-mark="') == 2 and page.count("data-superseded") == 1


def test_auditors_read_the_history_without_a_form_and_cannot_post(client, investment, auditor, applicant):
    record(investment, None)
    url = reverse("tolerance:investment_marks", args=[investment.pk])
    client.force_login(auditor)
    page = client.get(url, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert 'data-mark="' in page and "Record the mark" not in page
    assert client.post(url, {"as_of": "2024-12-31"}).status_code == 403
    client.force_login(applicant)
    assert client.get(url).status_code == 403
    client.force_login(auditor)
    assert client.get(reverse("tolerance:investment_marks", args=[investment.pk + 999])).status_code == 404


def test_the_dashboard_shows_each_investments_latest_mark(client, investment, auditor):
    record(investment, None)
    record(investment, None, as_of=d(2025, 6, 30), fair_value=Decimal("2000000"), method=M.MULTIPLES)
    InvestmentFactory(fund=investment.fund)  # no mark: at cost
    client.force_login(auditor)
    page = client.get(reverse("tolerance:fund_dashboard", args=[investment.fund_id]), HTTP_ACCEPT_LANGUAGE="en")
    body = page.content.decode()
    row = body[body.index(f'data-latest-mark="{investment.pk}"') :].split("</tr>")[0]
    assert "2025-06-30" in row and "2,000,000.00" in row and "market multiples" in row
    assert "no mark yet: counted at cost" in body
    assert reverse("tolerance:investment_marks", args=[investment.pk]) in body


# ------------------------------------------------------------------------------------------------ the API


def test_the_api_lists_marks_to_readers_and_lets_managers_record(investment, portfolio_manager, auditor, applicant):
    url = "/api/valuation-marks/"
    body = {
        "investment": investment.pk,
        "as_of": "2024-12-31",
        "fair_value": "1,500,000.00",
        "method": "multiples",
        "evidence": "可比公司倍数",
    }
    created = token_client(portfolio_manager).post(url, body, format="json")
    assert created.status_code == 201, created.content
    assert created.json()["fair_value"] == "1500000.00" and created.json()["recorded_by"] == "pm@example.cn"
    zero = token_client(portfolio_manager).post(url, {**body, "fair_value": "0", "method": "write_down"}, format="json")
    assert zero.status_code == 201 and zero.json()["fair_value"] == "0.00"

    refused = token_client(portfolio_manager).post(url, {**body, "as_of": "2023-01-01"}, format="json")
    assert refused.status_code == 400 and "investment date" in refused.json()["detail"]
    assert token_client(auditor).post(url, body, format="json").status_code == 403
    assert token_client(applicant).post(url, body, format="json").status_code == 403

    assert len(results(token_client(auditor).get(url, {"investment": investment.pk, "method": "multiples"}))) == 1
    assert len(results(token_client(auditor).get(url, {"fund": investment.fund_id}))) == 2
    assert results(token_client(applicant).get(url)) == []
    mark = ValuationMark.objects.order_by("pk").first()
    assert token_client(applicant).get(f"{url}{mark.pk}/").status_code == 404
    for method in ("put", "patch", "delete"):
        assert getattr(token_client(portfolio_manager), method)(f"{url}{mark.pk}/").status_code == 405


# ---------------------------------------------------------------------------------------------- the admin


def test_the_admin_adds_through_the_service_and_never_changes_or_deletes(client, investment, portfolio_manager):
    client.force_login(portfolio_manager)
    add = reverse("admin:tolerance_valuationmark_add")
    form = {
        "investment": investment.pk,
        "as_of": "2024-12-31",
        "fair_value": "1500000.00",
        "method": "dcf",
        "evidence": "现金流折现",
    }
    refused = client.post(add, {**form, "fair_value": "-1"}, HTTP_ACCEPT_LANGUAGE="en")
    assert refused.status_code == 200 and "cannot be negative" in refused.content.decode()
    assert client.post(add, form).status_code == 302
    mark = ValuationMark.objects.get()
    assert mark.recorded_by == portfolio_manager
    assert AuditEntry.objects.filter(action="tolerance.valuation.recorded", object_id=str(mark.pk)).exists()
    change = reverse("admin:tolerance_valuationmark_change", args=[mark.pk])
    client.post(change, {**form, "fair_value": "1"})
    mark.refresh_from_db()
    assert mark.fair_value == Decimal("1500000.00")
    client.post(reverse("admin:tolerance_valuationmark_delete", args=[mark.pk]), {"post": "yes"})
    assert ValuationMark.objects.filter(pk=mark.pk).exists()
    assert client.get(reverse("admin:tolerance_valuationmark_changelist"), {"method__exact": "dcf"}).status_code == 200
