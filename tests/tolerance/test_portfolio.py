"""The portfolio's services (tolerance/portfolio.py): each write, its rules, and the audit entry it records itself;
and the admin, which writes through them."""

import datetime
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import translation

from tests.factories import FundFactory, InvestmentFactory, StartupFactory, checklist_confirmer
from tolerance import portfolio, selectors
from tolerance.models import ComplianceReport, Fund, Investment, InvestmentParty
from tolerance.services import compliance_check_run
from valley.core import roles
from valley.core.errors import DomainError, Forbidden, WrongState
from valley.models import AuditEntry

S = Investment.State
K = Investment.FailureKind


@pytest.fixture
def manager(make_user):
    return make_user(roles.PORTFOLIO_MANAGER, email="pm@example.cn")


def entries(action: str, record) -> list[AuditEntry]:
    return list(
        AuditEntry.objects.filter(action=action, object_type=record._meta.label_lower, object_id=str(record.pk))
    )


def only_entry(action: str, record) -> AuditEntry:
    [entry] = entries(action, record)
    return entry


FUND = {
    "name_zh": "山西省测试基金",
    "name_en": "Shanxi Test Fund",
    "manager": "山西省创新投资管理有限公司",
    "entrusted_institution": "山西省科技成果转化服务中心",
    "size": Decimal("100000000.00"),
}


# ------------------------------------------------------------------------------------------------ funds


def test_a_fund_is_created_and_changed_with_its_entries(db, manager):
    fund = portfolio.fund_create(by=manager, **FUND)

    created = only_entry("tolerance.fund.created", fund)
    assert created.actor == manager
    assert created.after["name_en"] == "Shanxi Test Fund" and created.after["tolerance_threshold"] == "80.00"

    portfolio.fund_update(fund=fund, by=manager, changes={"warning_level": Decimal("75.00"), "manager": "新管理人"})
    changed = only_entry("tolerance.fund.changed", fund)
    assert changed.before == {"manager": "山西省创新投资管理有限公司", "warning_level": "70.00"}
    assert changed.after == {"manager": "新管理人", "warning_level": "75.00"}
    fund.refresh_from_db()
    assert fund.warning_level == Decimal("75.00")


def test_a_fund_policy_that_breaks_the_rules_is_refused_with_a_message_and_nothing_recorded(db, manager):
    fund = portfolio.fund_create(by=manager, **FUND)
    with pytest.raises(portfolio.InvalidRecord) as refused:
        portfolio.fund_update(fund=fund, by=manager, changes={"warning_level": Decimal("85.00")})
    assert isinstance(refused.value, DomainError)
    assert "warning_level" in refused.value.errors
    with pytest.raises(portfolio.InvalidRecord) as clash:
        portfolio.fund_create(by=manager, **{**FUND, "name_zh": "另一个基金"})
    assert "name_en" in clash.value.errors
    assert not entries("tolerance.fund.changed", fund)
    assert Fund.objects.get(pk=fund.pk).warning_level == Decimal("70.00")


def test_only_portfolio_managers_keep_the_portfolio(db, make_user):
    auditor, staff = make_user(roles.AUDITOR), make_user(roles.PROVINCIAL_STAFF)
    fund = FundFactory()
    for user in (auditor, staff):
        with pytest.raises(Forbidden):
            portfolio.fund_create(by=user, **FUND)
        with pytest.raises(Forbidden):
            portfolio.fund_update(fund=fund, by=user, changes={"manager": "x"})
        with pytest.raises(Forbidden):
            portfolio.investment_create(
                by=user,
                fund=fund,
                startup=StartupFactory(),
                invested_on=datetime.date(2025, 1, 1),
                principal=Decimal("1000.00"),
                stake=Decimal("1.00"),
            )
    assert not AuditEntry.objects.filter(action__startswith="tolerance.").exists()


# ------------------------------------------------------------------------------------------ investments


def new_investment(manager, **checklist) -> Investment:
    return portfolio.investment_create(
        by=manager,
        fund=FundFactory(),
        startup=StartupFactory(),
        invested_on=datetime.date(2025, 3, 1),
        principal=Decimal("2000000.00"),
        stake=Decimal("10.00"),
        checklist=checklist,
    )


def test_an_investment_is_created_active_with_its_entry(db, manager):
    investment = new_investment(manager, no_fraud=True, no_fraud_evidence="审计意见", no_fraud_confirmed_by=manager)
    assert investment.state == S.ACTIVE and investment.no_fraud and not investment.meets_standards
    created = only_entry("tolerance.investment.created", investment)
    assert created.actor == manager
    assert created.after["principal"] == "2000000.00" and created.after["no_fraud_confirmed_by_id"] == manager.pk


def test_a_bare_tick_and_a_team_that_is_not_a_startup_are_refused(db, manager, entity_factory):
    with pytest.raises(portfolio.InvalidRecord) as refused:
        new_investment(manager, no_fraud=True)
    assert set(refused.value.errors) == {"no_fraud_evidence", "no_fraud_confirmed_by"}
    with translation.override("en"), pytest.raises(portfolio.InvalidRecord, match="startups only"):
        portfolio.investment_create(
            by=manager,
            fund=FundFactory(),
            startup=entity_factory(),
            invested_on=datetime.date(2025, 3, 1),
            principal=Decimal("1000.00"),
            stake=Decimal("1.00"),
        )
    assert not Investment.objects.exists()
    assert not AuditEntry.objects.filter(action__startswith="tolerance.investment").exists()


def test_an_update_records_only_what_changed_and_moves_the_dashboards_cache_key(db, manager):
    investment = InvestmentFactory()
    stamp = selectors.fund_with_dashboard_stamp(fund_id=investment.fund_id).dashboard_stamp

    updated = portfolio.investment_update(
        investment=investment,
        by=manager,
        changes={"principal": Decimal("1500000.00"), "no_fraud": False, "no_fraud_evidence": ""},
    )

    assert updated.meets_standards is False  # read back from the database's computed column
    changed = only_entry("tolerance.investment.changed", investment)
    assert changed.before == {
        "principal": "1000000.00",
        "no_fraud": True,
        "no_fraud_evidence": "档案 no_fraud",
        "meets_standards": True,
    }
    assert changed.after == {
        "principal": "1500000.00",
        "no_fraud": False,
        "no_fraud_evidence": "",
        "meets_standards": False,
    }
    assert selectors.fund_with_dashboard_stamp(fund_id=investment.fund_id).dashboard_stamp != stamp


def test_the_state_does_not_change_by_update(db, manager):
    with pytest.raises(ValueError, match="state"):
        portfolio.investment_update(investment=InvestmentFactory(), by=manager, changes={"state": S.FAILED})


def test_an_exit_records_its_proceeds_and_its_transition(db, manager):
    investment = InvestmentFactory()
    stamp = selectors.fund_with_dashboard_stamp(fund_id=investment.fund_id).dashboard_stamp

    exited = portfolio.investment_record_exit(investment=investment, by=manager, proceeds=Decimal("3100000.00"))

    assert (exited.state, exited.recovered) == (S.EXITED, Decimal("3100000.00"))
    entry = only_entry("tolerance.investment.exited", investment)
    assert entry.actor == manager
    assert entry.before == {"state": "active", "recovered": "0.00"}
    assert entry.after == {"state": "exited", "recovered": "3100000.00", "transition": "record_exit"}
    assert selectors.fund_with_dashboard_stamp(fund_id=investment.fund_id).dashboard_stamp != stamp


def test_a_failure_records_how_when_and_what_was_recovered(db, manager):
    investment = InvestmentFactory()
    failed = portfolio.investment_record_failure(
        investment=investment,
        by=manager,
        kind=K.LIQUIDATED,
        failed_on=datetime.date(2025, 12, 1),
        recovered=Decimal("200000.00"),
    )
    assert (failed.state, failed.failure_kind, failed.failed_on) == (S.FAILED, K.LIQUIDATED, datetime.date(2025, 12, 1))
    entry = only_entry("tolerance.investment.failed", investment)
    assert entry.before == {"state": "active", "failure_kind": "", "failed_on": None, "recovered": "0.00"}
    assert entry.after["state"] == "failed" and entry.after["failed_on"] == "2025-12-01"


def test_a_failure_recovering_more_than_its_principal_is_refused_and_leaves_no_trace(db, manager):
    investment = InvestmentFactory(principal=Decimal("1000.00"))
    with pytest.raises(portfolio.InvalidRecord) as refused:
        portfolio.investment_record_failure(
            investment=investment,
            by=manager,
            kind=K.BANKRUPT,
            failed_on=datetime.date(2025, 12, 1),
            recovered=Decimal("1000.01"),
        )
    assert "recovered" in refused.value.errors
    investment.refresh_from_db()
    assert investment.state == S.ACTIVE
    assert not entries("tolerance.investment.failed", investment)


def test_the_workflow_refuses_a_second_exit_and_a_role_that_may_not_move_it(db, manager, make_user):
    exited = portfolio.investment_record_exit(investment=InvestmentFactory(), by=manager, proceeds=Decimal("1.00"))
    with pytest.raises(WrongState):
        portfolio.investment_record_failure(
            investment=exited, by=manager, kind=K.BANKRUPT, failed_on=datetime.date(2025, 12, 1)
        )
    with pytest.raises(Forbidden):
        portfolio.investment_record_exit(
            investment=InvestmentFactory(), by=make_user(roles.APPROVER), proceeds=Decimal("1.00")
        )


def test_a_failure_recorded_in_error_is_reopened_with_a_reason(db, manager):
    investment = InvestmentFactory(failed=True, recovered=Decimal("5000.00"))
    with pytest.raises(portfolio.InvalidRecord):
        portfolio.investment_reopen(investment=investment, by=manager, reason="  ")
    reopened = portfolio.investment_reopen(investment=investment, by=manager, reason="误录：项目仍在经营")
    assert (reopened.state, reopened.failure_kind, reopened.failed_on, reopened.recovered) == (
        S.ACTIVE,
        "",
        None,
        Decimal("0.00"),
    )
    entry = only_entry("tolerance.investment.reopened", investment)
    assert entry.before == {
        "state": "failed",
        "failure_kind": "liquidated",
        "failed_on": "2025-06-30",
        "recovered": "5000.00",
    }
    assert entry.after["reason"] == "误录：项目仍在经营" and entry.after["state"] == "active"


def test_saving_a_model_directly_records_nothing_the_services_do(db):
    """No save() signal audits the portfolio any more: an entry is the service's, or there is none."""
    investment = InvestmentFactory()
    investment.note = "直接保存"
    investment.save()
    assert not AuditEntry.objects.filter(action__startswith="tolerance.").exists()


# ------------------------------------------------------------------------------------- accountable parties


def test_parties_are_added_corrected_and_removed_with_their_entries(db, manager):
    investment = InvestmentFactory(parties=0)
    party = portfolio.party_add(
        investment=investment, by=manager, role=InvestmentParty.Role.PRACTITIONER, person="王建国"
    )
    assert only_entry("tolerance.party.created", party).after["person"] == "王建国"
    portfolio.party_update(party=party, by=manager, changes={"position": "投资经理"})
    assert only_entry("tolerance.party.changed", party).after == {"position": "投资经理"}
    with pytest.raises(portfolio.InvalidRecord):
        portfolio.party_add(investment=investment, by=manager, role=InvestmentParty.Role.PRACTITIONER, person="王建国")
    with pytest.raises(portfolio.InvalidRecord):
        portfolio.party_add(investment=investment, by=manager, role=InvestmentParty.Role.PRACTITIONER)
    party_pk = party.pk
    portfolio.party_remove(party=party, by=manager)
    assert not InvestmentParty.objects.filter(pk=party_pk).exists()
    removed = AuditEntry.objects.get(action="tolerance.party.deleted", object_id=str(party_pk))
    assert removed.before["person"] == "王建国" and removed.actor == manager


def test_a_party_whose_statement_is_in_a_case_stays_even_once_the_failure_is_reopened(db, manager):
    from tolerance import cases
    from tolerance.models import ExemptionCase

    fund = FundFactory()
    InvestmentFactory(fund=fund)
    failed = InvestmentFactory(fund=fund, failed=True)
    as_of = datetime.date(2026, 6, 30)
    compliance_check_run(fund=fund, as_of=as_of)
    party = failed.parties.first()
    cases.case_add_statement(
        case=ExemptionCase.objects.get(), by=manager, party=party, text="情况说明", made_on=datetime.date(2026, 7, 1)
    )
    portfolio.investment_reopen(investment=failed, by=manager, reason="误录")
    compliance_check_run(fund=fund, as_of=as_of)  # the case stays: people decide it
    with translation.override("en"), pytest.raises(portfolio.PortfolioError, match="rests on this party"):
        portfolio.party_remove(party=party, by=manager)
    assert InvestmentParty.objects.filter(pk=party.pk).exists()
    with translation.override("en"), pytest.raises(portfolio.PortfolioError, match="exemption case rests"):
        portfolio.investment_delete(investment=failed, by=manager)


# --------------------------------------------------------------------------------- the admin writes through them


def admin_form(investment, **changes):
    data = {
        "fund": investment.fund_id,
        "startup": investment.startup_id,
        "invested_on": investment.invested_on.isoformat(),
        "principal": str(investment.principal),
        "stake": str(investment.stake),
        "state": investment.state,
        "recovered": str(investment.recovered),
        "failure_kind": investment.failure_kind,
        "failed_on": investment.failed_on.isoformat() if investment.failed_on else "",
        "note": investment.note,
        "state_change_reason": "",
        "documents-TOTAL_FORMS": "0",
        "documents-INITIAL_FORMS": "0",
    }
    parties = list(investment.parties.order_by("pk")) if investment.pk else []
    data.update({"parties-TOTAL_FORMS": str(len(parties)), "parties-INITIAL_FORMS": str(len(parties))})
    for index, party in enumerate(parties):
        prefix = f"parties-{index}-"
        data.update(
            {
                f"{prefix}id": party.pk,
                f"{prefix}investment": investment.pk,
                f"{prefix}role": party.role,
                f"{prefix}organisation": party.organisation,
                f"{prefix}person": party.person,
                f"{prefix}position": party.position,
            }
        )
    for code in ("decision_procedure", "due_diligence", "risks_disclosed", "no_conflict", "no_fraud"):
        if getattr(investment, code):
            data[code] = "on"
        data[f"{code}_evidence"] = getattr(investment, f"{code}_evidence")
        data[f"{code}_confirmed_by"] = getattr(investment, f"{code}_confirmed_by_id") or ""
    data.update(changes)
    return data


def test_an_admin_add_writes_the_investment_and_its_party_through_the_services(client, manager):
    fund, startup = FundFactory(), StartupFactory()
    client.force_login(manager)
    data = admin_form(
        Investment(
            fund=fund,
            startup=startup,
            invested_on=datetime.date(2025, 3, 1),
            principal=Decimal("2000000.00"),
            stake=Decimal("10.00"),
        ),
        **{"parties-TOTAL_FORMS": "1", "parties-0-role": "decision_body", "parties-0-organisation": "投资决策委员会"},
    )
    response = client.post(reverse("admin:tolerance_investment_add"), data)
    assert response.status_code == 302
    investment = Investment.objects.get()
    assert only_entry("tolerance.investment.created", investment).actor == manager
    assert only_entry("tolerance.party.created", investment.parties.get()).actor == manager


def test_an_admin_add_of_a_failed_investment_creates_it_then_records_the_failure(client, manager):
    fund, startup = FundFactory(), StartupFactory()
    client.force_login(manager)
    data = admin_form(
        Investment(
            fund=fund,
            startup=startup,
            invested_on=datetime.date(2025, 3, 1),
            principal=Decimal("2000000.00"),
            stake=Decimal("10.00"),
        ),
        state="failed",
        failure_kind="bankrupt",
        failed_on="2025-09-01",
        recovered="1000.00",
    )
    assert client.post(reverse("admin:tolerance_investment_add"), data).status_code == 302
    investment = Investment.objects.get()
    assert (investment.state, investment.recovered) == (S.FAILED, Decimal("1000.00"))
    assert only_entry("tolerance.investment.created", investment).after["state"] == "active"
    assert only_entry("tolerance.investment.failed", investment).after["recovered"] == "1000.00"


def test_an_admin_edit_leaves_the_services_entries(client, manager):
    investment = InvestmentFactory()
    party = investment.parties.order_by("pk").first()
    client.force_login(manager)
    url = reverse("admin:tolerance_investment_change", args=[investment.pk])
    response = client.post(
        url,
        admin_form(
            investment,
            note="已清算",
            state="failed",
            failure_kind="liquidated",
            failed_on="2025-11-30",
            **{"parties-0-position": "主任委员"},
        ),
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    changed = only_entry("tolerance.investment.changed", investment)
    assert changed.actor == manager and changed.after == {"note": "已清算"}
    assert only_entry("tolerance.investment.failed", investment).after["failure_kind"] == "liquidated"
    assert only_entry("tolerance.party.changed", party).after == {"position": "主任委员"}


def test_undoing_a_failure_in_the_admin_needs_a_reason_and_is_a_reopening(client, manager):
    investment = InvestmentFactory(failed=True)
    client.force_login(manager)
    url = reverse("admin:tolerance_investment_change", args=[investment.pk])
    back = {"state": "active", "failure_kind": "", "failed_on": ""}
    response = client.post(url, admin_form(investment, **back), HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 200
    assert "Say why the exit or failure is undone." in response.content.decode()
    response = client.post(url, admin_form(investment, **back, state_change_reason="误录"))
    assert response.status_code == 302
    assert only_entry("tolerance.investment.reopened", investment).after["reason"] == "误录"

    # failed → exited is no move of the table, but a path through it: reopened, then the exit.
    investment = InvestmentFactory(failed=True)
    url = reverse("admin:tolerance_investment_change", args=[investment.pk])
    response = client.post(
        url,
        admin_form(
            investment, state="exited", failure_kind="", failed_on="", recovered="9.00", state_change_reason="实为退出"
        ),
    )
    assert response.status_code == 302
    investment.refresh_from_db()
    assert (investment.state, investment.recovered) == (S.EXITED, Decimal("9.00"))
    assert [
        e.action for e in AuditEntry.objects.filter(object_id=str(investment.pk), object_type="tolerance.investment")
    ] == [
        "tolerance.investment.reopened",
        "tolerance.investment.exited",
    ]


def test_an_admin_fund_edit_and_party_delete_go_through_the_services(client, manager):
    fund = FundFactory()
    client.force_login(manager)
    data = {
        "name_zh": fund.name_zh,
        "name_en": fund.name_en,
        "manager": "新的基金管理人",
        "entrusted_institution": fund.entrusted_institution,
        "size": str(fund.size),
        "tolerance_threshold": "80.00",
        "warning_level": "70.00",
        "governing_basis": "count",
    }
    assert client.post(reverse("admin:tolerance_fund_change", args=[fund.pk]), data).status_code == 302
    assert only_entry("tolerance.fund.changed", fund).after == {"manager": "新的基金管理人"}

    party = InvestmentFactory(fund=fund).parties.first()
    client.post(reverse("admin:tolerance_investmentparty_delete", args=[party.pk]), {"post": "yes"})
    assert not InvestmentParty.objects.filter(pk=party.pk).exists()
    assert AuditEntry.objects.get(action="tolerance.party.deleted", object_id=str(party.pk)).actor == manager


def test_a_checklist_confirmed_in_the_admin_is_one_changed_entry(client, manager):
    investment = InvestmentFactory(checklist=False)
    client.force_login(manager)
    url = reverse("admin:tolerance_investment_change", args=[investment.pk])
    confirmer = checklist_confirmer()
    response = client.post(
        url, admin_form(investment, no_fraud="on", no_fraud_evidence="审计意见", no_fraud_confirmed_by=confirmer.pk)
    )
    assert response.status_code == 302
    changed = only_entry("tolerance.investment.changed", investment)
    assert changed.after == {
        "no_fraud": True,
        "no_fraud_evidence": "审计意见",
        "no_fraud_confirmed_by_id": confirmer.pk,
    }


def test_a_superuser_removing_a_report_in_the_admin_leaves_an_entry_but_not_one_a_case_relies_on(
    client, django_user_model
):
    root = django_user_model.objects.create_superuser(email="root@example.cn", password="pw-Valley-2026!")
    fund = FundFactory()
    InvestmentFactory(fund=fund)
    InvestmentFactory(fund=fund, failed=True)
    relied_on = compliance_check_run(fund=fund, as_of=datetime.date(2026, 6, 30))  # opens the case
    report = compliance_check_run(fund=fund, as_of=datetime.date(2026, 7, 31))  # opens nothing
    client.force_login(root)

    response = client.post(reverse("admin:tolerance_compliancereport_delete", args=[report.pk]), {"post": "yes"})

    assert response.status_code == 302
    removed = AuditEntry.objects.get(action="tolerance.report.deleted", object_id=str(report.pk))
    assert removed.actor == root and removed.before["verdict"] == "within"
    client.post(reverse("admin:tolerance_compliancereport_delete", args=[relied_on.pk]), {"post": "yes"})
    assert ComplianceReport.objects.filter(pk=relied_on.pk).exists()  # the case relies on it


def test_only_a_superuser_removes_compliance_records_and_never_one_a_case_relies_on(db, manager, django_user_model):
    from tolerance.services import report_delete

    root = django_user_model.objects.create_superuser(email="root@example.cn", password="pw-Valley-2026!")
    fund = FundFactory()
    InvestmentFactory(fund=fund, failed=True)
    InvestmentFactory(fund=fund)
    report = compliance_check_run(fund=fund, as_of=datetime.date(2026, 6, 30))
    with pytest.raises(Forbidden):
        report_delete(report=report, by=manager)
    with translation.override("en"), pytest.raises(Forbidden, match="Exemption cases rely on this report"):
        report_delete(report=report, by=root)
    assert report.cases.count() == 1
