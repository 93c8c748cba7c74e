"""The case list and the case page: one form per step the user may take now, errors next to the fields."""

import datetime

import pytest
from django.urls import reverse

from tests.factories import FundFactory, InvestmentFactory
from tolerance import cases
from tolerance.models import STANDARDS, CaseState, ExemptionCase, ExemptionDetermination
from tolerance.services import compliance_check_run
from valley.core import roles

AS_OF = datetime.date(2026, 6, 30)
DAY = datetime.date(2026, 7, 15)


@pytest.fixture
def manager(make_user):
    return make_user(roles.PORTFOLIO_MANAGER, email="pm@example.cn")


@pytest.fixture
def supervisor(make_user):
    return make_user(roles.EXEMPTION_SUPERVISOR, email="supervisor@example.cn")


@pytest.fixture
def decider(make_user):
    return make_user(roles.EXEMPTION_DECISION_MAKER, email="decider@example.cn")


@pytest.fixture
def case(db):
    fund = FundFactory()
    for _ in range(3):
        InvestmentFactory(fund=fund)
    InvestmentFactory(fund=fund, failed=True)
    compliance_check_run(fund=fund, as_of=AS_OF)
    return ExemptionCase.objects.get()


def page(client, case):
    return client.get(reverse("tolerance:case_detail", args=[case.pk]), HTTP_ACCEPT_LANGUAGE="en")


def post(client, case, step, **fields):
    data = {"step": step, **{f"{step}-{name}": value for name, value in fields.items()}}
    return client.post(reverse("tolerance:case_detail", args=[case.pk]), data, HTTP_ACCEPT_LANGUAGE="en")


def test_only_the_steps_the_user_may_take_now_are_offered(client, case, manager, supervisor, auditor):
    client.force_login(manager)
    body = page(client, case).content.decode()
    assert 'data-step-form="evidence"' in body and 'data-step-form="gather"' in body
    assert 'data-step-form="opinion"' not in body and 'data-step-form="determine"' not in body
    client.force_login(supervisor)
    assert "data-step-form=" not in page(client, case).content.decode()  # the opinion waits for the evidence
    client.force_login(auditor)
    assert "data-step-form=" not in page(client, case).content.decode()
    assert post(client, case, "evidence", standard="no_fraud", note="x").status_code == 403
    assert not case.evidence.exists()


def test_a_manager_adds_evidence_and_bad_input_is_shown_next_to_the_field(client, case, manager):
    client.force_login(manager)
    response = post(client, case, "evidence", standard="no_fraud", note="")
    assert response.status_code == 200 and "This field is required." in response.content.decode()
    response = post(client, case, "gather")
    assert "Evidence is still missing on" in response.content.decode()  # the service's reason, on the form
    assert post(client, case, "evidence", standard="no_fraud", note="审计意见").status_code == 302
    assert list(case.evidence.values_list("standard", "confirmed_by")) == [("no_fraud", manager.pk)]
    assert post(client, case, "opinion", text="x", given_on="2026-07-01").status_code == 400  # not offered


def test_the_whole_case_through_its_pages(client, case, manager, supervisor, decider):
    client.force_login(manager)
    for code, _label in STANDARDS:
        assert post(client, case, "evidence", standard=code, note="纪要").status_code == 302
    assert post(client, case, "gather", comment="").status_code == 302
    client.force_login(supervisor)
    assert post(client, case, "opinion", text="建议免责", given_on=DAY.isoformat()).status_code == 302
    client.force_login(decider)
    body = page(client, case).content.decode()
    assert 'data-step-form="determine"' in body
    parties = list(case.investment.parties.order_by("pk"))
    fields = {"meeting_date": DAY.isoformat(), "document_number": "晋投决〔2026〕3号"}
    for party in parties:
        fields[f"exempt_{party.pk}"] = "yes"
        fields[f"reason_{party.pk}"] = "勤勉尽责"
    missing_reason = {**fields, f"reason_{parties[0].pk}": ""}
    assert post(client, case, "determine", **missing_reason).status_code == 200
    assert not ExemptionDetermination.objects.exists()
    assert post(client, case, "determine", **fields).status_code == 302
    assert post(client, case, "notify", notified_on=DAY.isoformat(), how="书面通知").status_code == 302
    case.refresh_from_db()
    assert case.state == CaseState.NOTIFIED
    body = page(client, case).content.decode()
    assert body.count('data-exempt="yes"') == len(parties) and "晋投决〔2026〕3号" in body
    assert body.count("data-event=") == 5 + 1 + 4  # opened, five evidence, gathered, opinion, determined, notified


def test_the_case_list_filters_by_fund_and_step_in_a_constant_number_of_queries(
    client, case, manager, auditor, django_assert_max_num_queries
):
    other = FundFactory()
    InvestmentFactory(fund=other)
    InvestmentFactory(fund=other, failed=True)
    compliance_check_run(fund=other, as_of=AS_OF)
    cases.case_add_evidence(case=case, by=manager, standard="no_fraud", note="x")
    client.force_login(auditor)
    url = reverse("tolerance:case_list")
    with django_assert_max_num_queries(11):  # the page's count (it has pages now) is one more
        body = client.get(url).content.decode()
    assert body.count("data-case=") == 2
    assert client.get(url, {"fund": case.investment.fund_id}).content.decode().count("data-case=") == 1
    assert client.get(url, {"state": "determined"}).content.decode().count("data-case=") == 0
    assert client.get(url, {"fund": "x"}).status_code == 200  # a bad filter shows every case, never a 500


def test_the_case_page_runs_a_constant_number_of_queries(client, case, manager, django_assert_max_num_queries):
    client.force_login(manager)
    cases.case_add_evidence(case=case, by=manager, standard="no_fraud", note="纪要")
    with django_assert_max_num_queries(25) as before:
        page(client, case)
    for code, _label in STANDARDS:
        cases.case_add_evidence(case=case, by=manager, standard=code, note="纪要")
        cases.case_add_evidence(case=case, by=manager, standard=code, note="补充")
    with django_assert_max_num_queries(len(before.captured_queries)):
        page(client, case)


def test_applicants_cannot_reach_cases(client, case, applicant):
    client.force_login(applicant)
    assert page(client, case).status_code == 403
    assert client.get(reverse("tolerance:case_list")).status_code == 403
