"""The portfolio in the staff admin: who edits, who only views, the run-now action and the alert banner."""

import datetime

import pytest
from django.urls import reverse

from tests.factories import FundFactory, InvestmentFactory, StartupFactory
from tolerance.models import ComplianceReport, Investment, Verdict
from tolerance.services import compliance_check_run
from valley.core import roles

MODELS = ["fund", "investment", "investmentparty", "investmentdocument"]
COMPUTED = ["compliancereport", "exemptiondetermination"]


@pytest.fixture
def portfolio_manager(make_user):
    return make_user(roles.PORTFOLIO_MANAGER, email="pm@example.cn")


@pytest.fixture
def breach_fund(db):
    fund = FundFactory(name_en="Breach Fund")
    InvestmentFactory(fund=fund)
    for _ in range(5):
        InvestmentFactory(fund=fund, failed=True)
    compliance_check_run(fund=fund, as_of=datetime.date(2026, 6, 30))
    return fund


def test_every_changelist_opens_for_managers_and_auditors(client, breach_fund, portfolio_manager, auditor):
    for user in (portfolio_manager, auditor):
        client.force_login(user)
        for model in MODELS + COMPUTED:
            response = client.get(reverse(f"admin:tolerance_{model}_changelist"))
            assert response.status_code == 200, (user, model)


def test_portfolio_managers_add_and_change_auditors_only_view(client, breach_fund, portfolio_manager, auditor):
    investment = Investment.objects.filter(fund=breach_fund).first()
    client.force_login(portfolio_manager)
    assert client.get(reverse("admin:tolerance_fund_add")).status_code == 200
    assert client.get(reverse("admin:tolerance_investment_change", args=[investment.pk])).status_code == 200
    client.force_login(auditor)
    assert client.get(reverse("admin:tolerance_fund_add")).status_code == 403
    response = client.post(
        reverse("admin:tolerance_fund_change", args=[breach_fund.pk]), {"name_en": "Renamed by an auditor"}
    )
    assert response.status_code == 403
    breach_fund.refresh_from_db()
    assert breach_fund.name_en == "Breach Fund"


def test_nobody_writes_reports_or_exemptions_by_hand(client, breach_fund, portfolio_manager):
    client.force_login(portfolio_manager)
    report = ComplianceReport.objects.get(fund=breach_fund)
    assert client.get(reverse("admin:tolerance_compliancereport_add")).status_code == 403
    response = client.post(reverse("admin:tolerance_compliancereport_change", args=[report.pk]), {"verdict": "within"})
    assert response.status_code == 403
    report.refresh_from_db()
    assert report.verdict == Verdict.BREACH


def test_the_changelist_shows_a_banner_for_a_fund_in_breach(client, breach_fund, portfolio_manager):
    client.force_login(portfolio_manager)
    body = client.get(reverse("admin:tolerance_fund_changelist"), HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "Breach Fund" in body
    assert "breach, governing failure rate 83.33% against 80.00%" in body  # 5 of 6


def test_the_admin_action_runs_the_check_for_the_selected_funds(client, portfolio_manager):
    funds = FundFactory.create_batch(2)
    for fund in funds:
        InvestmentFactory(fund=fund)
    client.force_login(portfolio_manager)
    response = client.post(
        reverse("admin:tolerance_fund_changelist"),
        {"action": "run_compliance_check", "_selected_action": [f.pk for f in funds]},
        follow=True,
        HTTP_ACCEPT_LANGUAGE="en",
    )
    assert response.status_code == 200
    assert ComplianceReport.objects.filter(fund__in=funds, computed_by=portfolio_manager).count() == 2
    assert "Checked 2 funds" in response.content.decode()


def test_auditors_cannot_run_the_admin_action(client, auditor):
    fund = FundFactory()
    client.force_login(auditor)
    changelist = client.get(reverse("admin:tolerance_fund_changelist")).content.decode()
    assert "run_compliance_check" not in changelist
    client.post(
        reverse("admin:tolerance_fund_changelist"),
        {"action": "run_compliance_check", "_selected_action": [fund.pk]},
    )
    assert not ComplianceReport.objects.exists()


def test_startup_autocomplete_offers_only_startups(client, portfolio_manager, entity_factory):
    StartupFactory(name_en="Graphene Films Co.")
    entity_factory(name_en="Graphene Research Team")
    client.force_login(portfolio_manager)
    response = client.get(
        reverse("admin:autocomplete"),
        {"term": "Graphene", "app_label": "tolerance", "model_name": "investment", "field_name": "startup"},
    )
    assert response.status_code == 200
    names = [item["text"] for item in response.json()["results"]]
    assert len(names) == 1


def investment_form(fund, startup, **changes):
    data = {
        "fund": fund.pk,
        "startup": startup.pk,
        "invested_on": "2025-03-01",
        "principal": "2000000.00",
        "stake": "10.00",
        "state": "active",
        "recovered": "0.00",
        "failure_kind": "",
        "failed_on": "",
        "note": "",
        "parties-TOTAL_FORMS": "1",
        "parties-INITIAL_FORMS": "0",
        "parties-0-role": "decision_body",
        "parties-0-organisation": "投资决策委员会",
        "documents-TOTAL_FORMS": "0",
        "documents-INITIAL_FORMS": "0",
    }
    data.update(changes)
    return data


def test_a_manager_records_an_investment_and_a_bare_tick_is_refused_with_a_message(client, portfolio_manager):
    fund, startup = FundFactory(), StartupFactory()
    client.force_login(portfolio_manager)
    url = reverse("admin:tolerance_investment_add")
    response = client.post(url, investment_form(fund, startup, no_fraud="on"), HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 200
    assert "Say what shows that “no fraud” holds." in response.content.decode()
    assert not Investment.objects.exists()

    response = client.post(
        url,
        investment_form(
            fund, startup, no_fraud="on", no_fraud_evidence="审计意见", no_fraud_confirmed_by=portfolio_manager.pk
        ),
    )
    assert response.status_code == 302
    investment = Investment.objects.get()
    assert investment.no_fraud and not investment.meets_standards
    assert investment.parties.count() == 1


def test_a_failed_investment_without_its_failure_facts_is_refused_with_a_message(client, portfolio_manager):
    fund, startup = FundFactory(), StartupFactory()
    client.force_login(portfolio_manager)
    response = client.post(
        reverse("admin:tolerance_investment_add"),
        investment_form(fund, startup, state="failed"),
        HTTP_ACCEPT_LANGUAGE="en",
    )
    assert response.status_code == 200
    assert "A failed investment needs its failure date." in response.content.decode()
    assert not Investment.objects.exists()


def test_managers_remove_a_wrong_party_but_not_one_a_case_rests_on(client, portfolio_manager, auditor):
    from tolerance import cases
    from tolerance.models import ExemptionCase, InvestmentParty

    fund = FundFactory()
    InvestmentFactory(fund=fund)
    failed = InvestmentFactory(fund=fund, failed=True)
    compliance_check_run(fund=fund, as_of=datetime.date(2026, 6, 30))
    wrong = InvestmentParty.objects.create(investment=failed, role="practitioner", person="误录人员")
    exempt_party = failed.parties.exclude(pk=wrong.pk).first()
    cases.case_add_statement(
        case=ExemptionCase.objects.get(),
        by=portfolio_manager,
        party=exempt_party,
        text="说明",
        made_on=datetime.date(2026, 7, 1),
    )

    client.force_login(auditor)
    assert (
        client.post(reverse("admin:tolerance_investmentparty_delete", args=[wrong.pk]), {"post": "yes"}).status_code
        == 403
    )
    client.force_login(portfolio_manager)
    client.post(reverse("admin:tolerance_investmentparty_delete", args=[exempt_party.pk]), {"post": "yes"})
    assert InvestmentParty.objects.filter(pk=exempt_party.pk).exists()  # protected by its statement
    client.post(reverse("admin:tolerance_investmentparty_delete", args=[wrong.pk]), {"post": "yes"})
    assert not InvestmentParty.objects.filter(pk=wrong.pk).exists()


def test_an_uploaded_document_keeps_its_name_and_an_oversized_one_is_refused(
    client, portfolio_manager, settings, tmp_path
):
    from django.core.files.uploadedfile import SimpleUploadedFile

    from tolerance.models import InvestmentDocument

    settings.MEDIA_ROOT = tmp_path
    settings.DOCUMENT_MAX_BYTES = 1000
    investment = InvestmentFactory()
    client.force_login(portfolio_manager)
    url = reverse("admin:tolerance_investmentdocument_add")
    big = SimpleUploadedFile("尽调报告.pdf", b"x" * 1001, content_type="application/pdf")
    response = client.post(
        url, {"investment": investment.pk, "title": "尽职调查报告", "file": big}, HTTP_ACCEPT_LANGUAGE="en"
    )
    assert response.status_code == 200
    assert "files may be at most" in response.content.decode()
    assert not InvestmentDocument.objects.exists()

    small = SimpleUploadedFile("尽调报告.pdf", b"%PDF-1.4 demo", content_type="application/pdf")
    response = client.post(
        url, {"investment": investment.pk, "kind": "due_diligence", "title": "尽职调查报告", "file": small}
    )
    assert response.status_code == 302
    document = InvestmentDocument.objects.get()
    assert document.original_name == "尽调报告.pdf"
    assert document.file.name.startswith("tolerance/") and "尽调" not in document.file.name
