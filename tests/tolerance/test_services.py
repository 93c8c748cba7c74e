"""The compliance check: the 80% boundary, the standards, the governing basis, idempotency, alerts, query count."""

import datetime
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import translation

from tests.factories import FundFactory, InvestmentFactory
from tolerance import selectors, services
from tolerance.models import (
    CaseEvent,
    ComplianceReport,
    ExemptionCase,
    ExemptionDetermination,
    GoverningBasis,
    Investment,
    Verdict,
)
from tolerance.services import (
    compliance_check_run,
    compliance_check_run_all,
    compliance_check_run_many,
    failure_rate,
    verdict_for,
)
from valley.core import roles

AS_OF = datetime.date(2026, 6, 30)


def portfolio(fund, *, active=0, failed=0, principal="1000000.00", **failed_fields):
    for _ in range(active):
        InvestmentFactory(fund=fund, principal=Decimal(principal))
    for _ in range(failed):
        InvestmentFactory(fund=fund, failed=True, principal=Decimal(principal), **failed_fields)


def test_failure_rate_is_shown_rounded_half_up_to_the_hundredth():
    assert failure_rate(part=4, whole=5) == Decimal("80.00")
    assert failure_rate(part=5, whole=6) == Decimal("83.33")
    assert failure_rate(part=2, whole=3) == Decimal("66.67")
    assert failure_rate(part=1, whole=3) == Decimal("33.33")
    assert failure_rate(part=1, whole=800) == Decimal("0.13")  # 0.125: half goes up
    assert failure_rate(part=1, whole=1600) == Decimal("0.06")  # 0.0625
    assert failure_rate(part=Decimal("800000.01"), whole=Decimal("1000000.00")) == Decimal("80.00")
    assert failure_rate(part=0, whole=0) is None  # no data, not 0.00%


def test_verdicts_compare_exact_fractions_never_a_rounded_rate():
    t, w = Decimal("80.00"), Decimal("70.00")

    def verdict(part, whole):
        return verdict_for(part=part, whole=whole, threshold=t, warning_level=w)

    assert verdict(4, 5) == Verdict.WARNING  # exactly 80%: within the tolerance, past the warning level
    assert verdict(5, 6) == Verdict.BREACH
    assert verdict(4001, 5001) == Verdict.BREACH  # 80.0039...%, shown as 80.00%
    assert verdict(Decimal("800000.01"), Decimal("1000000.00")) == Verdict.BREACH  # 80.000001%
    assert verdict(7, 10) == Verdict.WARNING  # exactly the warning level
    assert verdict(Decimal("699999.99"), Decimal("1000000.00")) == Verdict.WITHIN  # 69.999999%, shown as 70.00%
    assert verdict(0, 5) == Verdict.WITHIN
    assert verdict(0, 0) == Verdict.NO_DATA
    assert verdict(Decimal("0.00"), Decimal("0.00")) == Verdict.NO_DATA


def test_exactly_80_percent_by_count_is_within_tolerance_and_cases_are_opened_deciding_nothing(db):
    fund = FundFactory()
    portfolio(fund, active=1, failed=4)

    report = compliance_check_run(fund=fund, as_of=AS_OF)

    assert report.rate_by_count == Decimal("80.00")
    assert report.verdict == Verdict.WARNING  # within tolerance, and past the 70% warning level
    assert report.verdict != Verdict.BREACH
    opened = ExemptionCase.objects.filter(report=report)
    assert opened.count() == 4  # one case for each of the four failed projects
    assert all(c.governing_rate == Decimal("80.00") and c.opened_by_check for c in opened)
    assert set(opened.values_list("investment__state", flat=True)) == {Investment.State.FAILED}
    assert not ExemptionDetermination.objects.exists()  # nobody is exempt before the determination


def test_exactly_80_percent_by_amount_is_within_and_80_01_is_a_breach_with_no_case(db):
    within = FundFactory(governing_basis=GoverningBasis.AMOUNT)
    portfolio(within, active=1, principal="2000.00")
    portfolio(within, failed=1, principal="8000.00")  # loss 8,000 of 10,000 = 80.00%
    report = compliance_check_run(fund=within, as_of=AS_OF)
    assert (report.rate_by_amount, report.verdict) == (Decimal("80.00"), Verdict.WARNING)
    assert report.cases.count() == 1

    breach = FundFactory(governing_basis=GoverningBasis.AMOUNT)
    portfolio(breach, active=1, principal="1999.00")
    portfolio(breach, failed=1, principal="8001.00")  # loss 8,001 of 10,000 = 80.01%
    report = compliance_check_run(fund=breach, as_of=AS_OF)
    assert (report.rate_by_amount, report.verdict) == (Decimal("80.01"), Verdict.BREACH)
    assert report.cases.count() == 0
    assert not ExemptionCase.objects.filter(investment__fund=breach).exists()


def test_a_rate_a_hair_above_80_percent_shows_as_80_00_and_says_it_is_a_breach(db):
    fund = FundFactory(governing_basis=GoverningBasis.AMOUNT)
    portfolio(fund, active=1, principal="199999.99")
    portfolio(fund, failed=1, principal="800000.01")  # 80.000001%
    report = compliance_check_run(fund=fund, as_of=AS_OF)
    assert (report.rate_by_amount, report.verdict) == (Decimal("80.00"), Verdict.BREACH)
    assert report.amount_rounding == "above_threshold"
    with translation.override("en"):
        assert report.shown_rate_by_amount == "80.00% (rounded; exceeds 80.00%)"
        assert report.shown_rate_by_count == "50.00%"  # 1 of 2: nothing to say
    assert report.cases.count() == 0


def test_a_failed_project_whose_checklist_is_incomplete_never_gets_a_case(db):
    fund = FundFactory()
    portfolio(fund, active=8, failed=1)
    gap = InvestmentFactory(fund=fund, failed=True, checklist={"no_conflict": False})
    missing = InvestmentFactory(fund=fund, failed=True, checklist=False)

    report = compliance_check_run(fund=fund, as_of=AS_OF)

    assert report.qualifying_count == 9 and report.failed_count == 1
    assert report.unqualified_failed_count == 2
    assert report.rate_by_count == Decimal("11.11")
    assert report.verdict == Verdict.WITHIN
    assert report.cases.count() == 1
    assert not ExemptionCase.objects.filter(investment__in=[gap, missing]).exists()


def test_when_count_and_amount_disagree_the_funds_basis_decides(db):
    def crafted(basis):
        # 1 of 5 failed by count (20%), but it was the big one: 9,000 of 13,000 lost (69.23% by amount)
        fund = FundFactory(governing_basis=basis, tolerance_threshold=Decimal("50.00"), warning_level=Decimal("40.00"))
        portfolio(fund, active=4, principal="1000.00")
        portfolio(fund, failed=1, principal="9000.00")
        return compliance_check_run(fund=fund, as_of=AS_OF)

    by_count = crafted(GoverningBasis.COUNT)
    by_amount = crafted(GoverningBasis.AMOUNT)
    for report in (by_count, by_amount):
        assert (report.rate_by_count, report.rate_by_amount) == (Decimal("20.00"), Decimal("69.23"))
    assert by_count.verdict == Verdict.WITHIN and by_count.cases.count() == 1
    assert by_amount.verdict == Verdict.BREACH and by_amount.cases.count() == 0


def test_loss_is_principal_minus_what_was_recovered(db):
    fund = FundFactory(governing_basis=GoverningBasis.AMOUNT)
    portfolio(fund, active=1, principal="5000.00")
    portfolio(fund, failed=1, principal="5000.00", recovered=Decimal("1000.00"))
    report = compliance_check_run(fund=fund, as_of=AS_OF)
    assert report.qualifying_loss == Decimal("4000.00")
    assert report.rate_by_amount == Decimal("40.00")


def test_the_as_of_date_decides_what_has_been_invested_and_what_has_failed(db):
    fund = FundFactory()
    InvestmentFactory(fund=fund, invested_on=datetime.date(2024, 1, 1))
    InvestmentFactory(
        fund=fund, failed=True, invested_on=datetime.date(2024, 1, 1), failed_on=datetime.date(2025, 1, 1)
    )
    InvestmentFactory(fund=fund, invested_on=datetime.date(2025, 6, 1))

    early = compliance_check_run(fund=fund, as_of=datetime.date(2024, 12, 31))
    assert (early.investment_count, early.failed_count, early.rate_by_count) == (2, 0, Decimal("0.00"))
    late = compliance_check_run(fund=fund, as_of=datetime.date(2025, 12, 31))
    assert (late.investment_count, late.failed_count, late.rate_by_count) == (3, 1, Decimal("33.33"))


def test_running_twice_for_the_same_fund_and_date_leaves_one_report_and_the_same_cases(db):
    fund = FundFactory()
    portfolio(fund, active=3, failed=1)
    first = compliance_check_run(fund=fund, as_of=AS_OF)
    second = compliance_check_run(fund=fund, as_of=AS_OF)
    assert first.pk == second.pk
    assert ComplianceReport.objects.filter(fund=fund).count() == 1
    assert ExemptionCase.objects.filter(investment__fund=fund).count() == 1


def test_a_rerun_after_the_portfolio_changes_updates_the_report_and_leaves_the_case_to_people(db):
    fund = FundFactory()
    portfolio(fund, active=1, failed=1)
    assert compliance_check_run(fund=fund, as_of=AS_OF).cases.count() == 1
    InvestmentFactory(fund=fund, failed=True)
    InvestmentFactory(fund=fund, failed=True)  # 3 of 4 failed: 75% warning
    InvestmentFactory(fund=fund, failed=True)  # 4 of 5: 80% still within
    InvestmentFactory(fund=fund, failed=True)  # 5 of 6: 83.34% breach
    report = compliance_check_run(fund=fund, as_of=AS_OF)
    assert report.verdict == Verdict.BREACH
    assert ComplianceReport.objects.filter(fund=fund).count() == 1
    assert ExemptionCase.objects.filter(investment__fund=fund).count() == 1  # open, as it was: people decide
    assert not ExemptionDetermination.objects.exists()


def test_warnings_and_breaches_mail_portfolio_managers_once(
    db, make_user, mailoutbox, django_capture_on_commit_callbacks, settings
):
    settings.CELERY_TASK_ALWAYS_EAGER = True
    from valley.celery import app

    app.conf.task_always_eager = True
    try:
        manager = make_user(roles.PORTFOLIO_MANAGER, email="pm@example.cn")
        make_user(roles.PROVINCIAL_STAFF, email="someone-else@example.cn")
        fund = FundFactory(name_en="Breach Fund")
        portfolio(fund, active=1, failed=5)
        with django_capture_on_commit_callbacks(execute=True):
            compliance_check_run(fund=fund, as_of=AS_OF)
        with django_capture_on_commit_callbacks(execute=True):
            compliance_check_run(fund=fund, as_of=AS_OF)  # same outcome: no second mail
        with django_capture_on_commit_callbacks(execute=True):
            compliance_check_run(fund=fund, as_of=AS_OF + datetime.timedelta(days=1))  # a quiet night: none
        InvestmentFactory(fund=fund, failed=True)  # a new failure: a new alert
        with django_capture_on_commit_callbacks(execute=True):
            compliance_check_run(fund=fund, as_of=AS_OF + datetime.timedelta(days=2))
    finally:
        app.conf.task_always_eager = False
    assert len(mailoutbox) == 2
    assert mailoutbox[0].to == [manager.email]
    assert "83.33%" in mailoutbox[0].body  # 5 of 6
    assert "85.71%" in mailoutbox[1].body  # 6 of 7


def test_within_tolerance_with_every_project_qualifying_mails_only_the_cases_it_opens(
    db, make_user, django_capture_on_commit_callbacks
):
    make_user(roles.PORTFOLIO_MANAGER)
    fund = FundFactory()
    portfolio(fund, active=9, failed=1)
    with django_capture_on_commit_callbacks() as callbacks:
        compliance_check_run(fund=fund, as_of=AS_OF)  # a case for the portfolio managers to work on
    assert len(callbacks) == 1
    with django_capture_on_commit_callbacks() as callbacks:
        compliance_check_run(fund=fund, as_of=AS_OF + datetime.timedelta(days=1))  # nothing new
    assert callbacks == []


def test_the_check_runs_the_same_number_of_queries_for_10_or_200_investments(db, django_assert_max_num_queries):
    small, large = FundFactory(), FundFactory()
    portfolio(small, active=8, failed=2)
    portfolio(large, active=150, failed=50)
    with django_assert_max_num_queries(20) as counted:
        compliance_check_run(fund=small, as_of=AS_OF)
    with django_assert_max_num_queries(len(counted.captured_queries)):
        report = compliance_check_run(fund=large, as_of=AS_OF)
    assert report.cases.count() == 50


def test_each_project_gets_one_case_from_the_first_report_that_finds_it(db):
    fund = FundFactory()
    portfolio(fund, active=3, failed=1)
    first = compliance_check_run(fund=fund, as_of=datetime.date(2025, 12, 31))
    later = compliance_check_run(fund=fund, as_of=AS_OF)
    assert (first.cases_opened, later.cases_opened) == (1, 0)
    assert set(ExemptionCase.objects.values_list("report", flat=True)) == {first.pk}


def test_a_rerun_leaves_the_case_of_a_project_whose_checklist_was_reopened_to_people(db):
    fund = FundFactory()
    portfolio(fund, active=3)
    failed = InvestmentFactory(fund=fund, failed=True)
    compliance_check_run(fund=fund, as_of=AS_OF)
    Investment.objects.filter(pk=failed.pk).update(no_fraud=False, no_fraud_evidence="", no_fraud_confirmed_by=None)
    report = compliance_check_run(fund=fund, as_of=AS_OF)
    assert report.unqualified_failed_count == 1
    assert ExemptionCase.objects.get().state == "opened"  # the evidence step will show the gap
    assert not ExemptionDetermination.objects.exists()


REPORT_FIELDS = (
    "investment_count",
    "qualifying_count",
    "failed_count",
    "unqualified_failed_count",
    "qualifying_principal",
    "qualifying_loss",
    "rate_by_count",
    "rate_by_amount",
    "verdict",
)


def test_checking_many_funds_at_once_gives_each_the_report_its_own_check_gives(db):
    breach, warning, within = FundFactory(), FundFactory(), FundFactory(governing_basis=GoverningBasis.AMOUNT)
    empty, unqualified = FundFactory(), FundFactory()
    portfolio(breach, active=1, failed=9)
    portfolio(warning, active=1, failed=4)
    portfolio(within, active=3, principal="5000.00")
    portfolio(within, failed=1, principal="2000.00", recovered=Decimal("500.00"))
    portfolio(unqualified, active=2)
    portfolio(unqualified, failed=1, no_fraud=False, no_fraud_evidence="", no_fraud_confirmed_by=None)
    funds = [breach, warning, within, empty, unqualified]

    together = compliance_check_run_many(funds=reversed(funds), as_of=AS_OF)
    assert [report.fund_id for report in together] == sorted(fund.pk for fund in funds)
    opened = {report.fund_id: report.cases.count() for report in together}
    CaseEvent.objects.all().delete()
    ExemptionCase.objects.all().delete()
    ComplianceReport.objects.all().delete()
    one_by_one = [compliance_check_run(fund=fund, as_of=AS_OF) for fund in sorted(funds, key=lambda f: f.pk)]

    assert [[getattr(r, name) for name in REPORT_FIELDS] for r in together] == [
        [getattr(r, name) for name in REPORT_FIELDS] for r in one_by_one
    ]
    assert opened == {breach.pk: 0, warning.pk: 4, within.pk: 1, empty.pk: 0, unqualified.pk: 0}
    by_fund = {r.fund_id: r for r in together}
    assert by_fund[empty.pk].investment_count == 0 and by_fund[empty.pk].verdict == Verdict.NO_DATA
    assert by_fund[within.pk].qualifying_loss == Decimal("1500.00")
    assert by_fund[unqualified.pk].unqualified_failed_count == 1


def test_checking_every_fund_runs_one_grouped_aggregate_not_one_per_fund(db):
    for _ in range(5):
        portfolio(FundFactory(), active=2, failed=1)
    with CaptureQueriesContext(connection) as queries:
        reports = compliance_check_run_all(as_of=AS_OF)
    assert len(reports) == 5
    aggregates = [q["sql"] for q in queries.captured_queries if 'FROM "tolerance_investment"' in q["sql"]]
    aggregates = [sql for sql in aggregates if "COUNT(" in sql and "GROUP BY" in sql]
    assert len(aggregates) == 1


def test_checking_many_funds_costs_the_same_queries_for_two_funds_as_for_six(db):
    """The nightly check over a hundred funds is one batch of statements, not a transaction of a dozen
    queries per fund: its query count does not grow with the number of funds, and a rerun or a quiet night
    costs a handful (here 15, four of which seal the audit entries, which tests do inside the transaction)."""

    def counts(n: int) -> list[int]:
        funds = [FundFactory() for _ in range(n)]
        for fund in funds:
            portfolio(fund, active=3, failed=1)  # 25%: within tolerance, one case each the first night
        runs = []
        for as_of in (AS_OF, AS_OF, AS_OF + datetime.timedelta(days=1)):
            with CaptureQueriesContext(connection) as queries:
                compliance_check_run_many(funds=funds, as_of=as_of)
            runs.append(len(queries.captured_queries))
        assert ExemptionCase.objects.filter(investment__fund__in=funds).count() == n  # nothing opened twice
        assert ComplianceReport.objects.filter(fund__in=funds).count() == 2 * n
        return runs

    two, six = counts(2), counts(6)
    assert six == two
    first, rerun, next_night = six
    assert rerun <= 15 and next_night <= 15


def case_inserts(queries) -> int:
    return sum(1 for q in queries.captured_queries if 'INSERT INTO "tolerance_exemptioncase"' in q["sql"])


def test_a_quiet_rerun_does_not_look_for_cases_again_but_a_saved_investment_makes_it(db):
    fund = FundFactory()
    portfolio(fund, active=3, failed=1)
    compliance_check_run_many(funds=[fund], as_of=AS_OF)
    for as_of in (AS_OF, AS_OF + datetime.timedelta(days=1)):  # a rerun, and the next night
        with CaptureQueriesContext(connection) as queries:
            [report] = compliance_check_run_many(funds=[fund], as_of=as_of)
        assert case_inserts(queries) == 0 and report.cases_opened == 0

    investment = Investment.objects.filter(fund=fund, state=Investment.State.ACTIVE).first()
    investment.state, investment.failure_kind = Investment.State.FAILED, Investment.FailureKind.LIQUIDATED
    investment.failed_on = AS_OF
    investment.save()
    report = compliance_check_run(fund=fund, as_of=AS_OF + datetime.timedelta(days=1))
    assert report.cases_opened == 1
    assert ExemptionCase.objects.filter(investment=investment, report=report).exists()


def test_a_failure_swapped_for_another_opens_the_new_projects_case(db):
    """As many failures as before, but not the same: the saves since the last report make the check look."""
    fund = FundFactory()
    portfolio(fund, active=3, failed=1)
    compliance_check_run_many(funds=[fund], as_of=AS_OF)
    recovered = Investment.objects.get(fund=fund, state=Investment.State.FAILED)
    recovered.state, recovered.failure_kind, recovered.failed_on = Investment.State.ACTIVE, "", None
    recovered.save()
    failing = Investment.objects.filter(fund=fund, state=Investment.State.ACTIVE).exclude(pk=recovered.pk).first()
    failing.state, failing.failure_kind = Investment.State.FAILED, Investment.FailureKind.LIQUIDATED
    failing.failed_on = AS_OF
    failing.save()
    [report] = compliance_check_run_many(funds=[fund], as_of=AS_OF)
    assert report.failed_count == 1 and report.cases_opened == 1
    assert ExemptionCase.objects.filter(investment=failing).exists()


def test_a_failure_dated_the_next_day_gets_its_case_the_next_night_without_any_save(db):
    fund = FundFactory()
    portfolio(fund, active=3, failed=1)
    later = Investment.objects.filter(fund=fund, state=Investment.State.ACTIVE).first()
    later.state, later.failure_kind = Investment.State.FAILED, Investment.FailureKind.LIQUIDATED
    later.failed_on = AS_OF + datetime.timedelta(days=1)
    later.save()
    [first] = compliance_check_run_many(funds=[fund], as_of=AS_OF)
    assert first.cases_opened == 1  # the failure of the next day does not count yet
    [report] = compliance_check_run_many(funds=[fund], as_of=AS_OF + datetime.timedelta(days=1))
    assert report.failed_count == 2 and report.cases_opened == 1
    assert ExemptionCase.objects.filter(investment=later, report=report).exists()


def test_reports_kept_from_before_the_stamp_make_the_check_look_for_missing_cases(db):
    fund = FundFactory()
    portfolio(fund, active=3, failed=1)
    compliance_check_run_many(funds=[fund], as_of=AS_OF)
    [case] = ExemptionCase.objects.filter(investment__fund=fund)
    CaseEvent.objects.filter(case=case).delete()
    case.delete()  # as if an earlier version of the check had not opened it
    ComplianceReport.objects.update(figures_changed_at=None)  # reports made before the stamp was kept
    [report] = compliance_check_run_many(funds=[fund], as_of=AS_OF)
    assert report.cases_opened == 1


def test_an_investment_saved_while_many_funds_are_checked_is_counted(db, monkeypatch):
    fund = FundFactory()
    portfolio(fund, active=4)
    real = selectors.compliance_figures_by_fund

    def then_a_failure_is_saved(**kwargs):
        figures = real(**kwargs)
        investment = Investment.objects.filter(fund=fund).first()
        investment.state, investment.failure_kind = Investment.State.FAILED, Investment.FailureKind.LIQUIDATED
        investment.failed_on = datetime.date(2026, 1, 31)
        investment.save()
        return figures

    monkeypatch.setattr(selectors, "compliance_figures_by_fund", then_a_failure_is_saved)
    [report] = compliance_check_run_many(funds=[fund], as_of=AS_OF)
    assert (report.failed_count, report.rate_by_count) == (1, Decimal("25.00"))
    assert report.cases.count() == 1


def test_a_fund_whose_check_fails_rolls_back_its_batch_and_keeps_the_reports_of_earlier_batches(db, monkeypatch):
    first, second, third = (FundFactory() for _ in range(3))
    for fund in (first, second, third):
        portfolio(fund, active=2)
    real = services._record_checks

    def failing(*, funds, **kwargs):
        if any(fund.pk == second.pk for fund in funds):
            raise RuntimeError("the disk is full")
        return real(funds=funds, **kwargs)

    monkeypatch.setattr(services, "_record_checks", failing)
    monkeypatch.setattr(services, "CHECK_BATCH", 1)
    with pytest.raises(RuntimeError, match="disk is full"):
        compliance_check_run_many(funds=[first, second, third], as_of=AS_OF)
    assert list(ComplianceReport.objects.values_list("fund_id", flat=True)) == [first.pk]

    monkeypatch.setattr(services, "CHECK_BATCH", 3)
    ComplianceReport.objects.all().delete()
    with pytest.raises(RuntimeError, match="disk is full"):
        compliance_check_run_many(funds=[first, second, third], as_of=AS_OF)
    assert not ComplianceReport.objects.exists()  # one batch: nothing half-written


# ------------------------------------------------------------ the audit of reports and the cases the check opens


def listed(action: str) -> dict[int, int]:
    """{case id: investment id} from the bulk audit entries of `action`; each id in one entry only."""
    from valley.models import AuditEntry

    rows: dict[int, int] = {}
    for entry in AuditEntry.objects.filter(action=action):
        assert entry.object_type == "tolerance.compliancereport"
        assert entry.after["columns"] == ["id", "investment_id"]
        for pk, investment in entry.after["cases"]:
            assert pk not in rows, f"case {pk} is in two {action} entries"
            rows[pk] = investment
    return rows


def assert_the_history_is_complete():
    """Every case the check opened is in an `opened` entry and has its opening event."""
    opened = ExemptionCase.objects.filter(opened_by_check=True, kind="original")
    assert listed("tolerance.exemption_case.opened") == {c.pk: c.investment_id for c in opened}
    assert all(c.events.filter(action="tolerance.exemption_case.opened").count() == 1 for c in opened)


def test_every_case_the_check_opens_in_bulk_is_listed_in_its_audit_entry(db, make_user):
    from valley import audit
    from valley.models import AuditEntry

    staff = make_user(roles.PROVINCIAL_STAFF)
    fund = FundFactory()
    portfolio(fund, active=3, failed=2)

    report = compliance_check_run(fund=fund, as_of=AS_OF, by=staff)

    [created] = AuditEntry.objects.filter(action="tolerance.report.created", object_id=str(report.pk))
    assert created.actor == staff and created.after["verdict"] == "within" and created.after["failed_count"] == 2
    [opened] = AuditEntry.objects.filter(action="tolerance.exemption_case.opened")
    assert opened.object_id == str(report.pk) and opened.actor == staff
    assert opened.after["governing_rate"] == "40.00"
    assert len(opened.after["cases"]) == report.cases_opened == 2
    assert_the_history_is_complete()
    assert audit.verify_chain().ok  # the bulk entries hash and verify like any other


def test_a_rerun_in_breach_leaves_the_open_cases_and_a_later_rerun_opens_only_new_ones(db, make_user):
    from tolerance import portfolio as portfolio_services
    from valley.models import AuditEntry

    manager = make_user(roles.PORTFOLIO_MANAGER)
    fund = FundFactory()
    portfolio(fund, active=1, failed=1)
    report = compliance_check_run(fund=fund, as_of=AS_OF)
    first = list(ExemptionCase.objects.values_list("pk", "state", "governing_rate"))
    late = [InvestmentFactory(fund=fund, failed=True) for _ in range(4)]  # 5 of 6 failed: a breach

    assert compliance_check_run(fund=fund, as_of=AS_OF).cases_opened == 0

    assert list(ExemptionCase.objects.values_list("pk", "state", "governing_rate")) == first  # left as it was
    [changed] = AuditEntry.objects.filter(action="tolerance.report.changed", object_id=str(report.pk))
    assert (changed.before["verdict"], changed.after["verdict"]) == ("within", "breach")

    for investment in late[:2]:  # two of the four failures were recorded in error: 3 of 4, within
        portfolio_services.investment_reopen(investment=investment, by=manager, reason="误录")
    again = compliance_check_run(fund=fund, as_of=AS_OF)

    assert again.cases_opened == 2  # the two still failed; the first project's case is not opened twice
    assert ExemptionCase.objects.count() == 3
    assert not ExemptionDetermination.objects.exists()
    assert_the_history_is_complete()


def test_a_rerun_at_a_new_rate_rewrites_no_case(db):
    fund = FundFactory()
    portfolio(fund, active=3, failed=1)  # 25%
    compliance_check_run(fund=fund, as_of=AS_OF)
    InvestmentFactory(fund=fund)  # 1 of 5: 20%

    report = compliance_check_run(fund=fund, as_of=AS_OF)

    assert report.cases_opened == 0
    [case] = ExemptionCase.objects.all()
    assert case.governing_rate == Decimal("25.00")  # what it relied on when it was opened
    assert_the_history_is_complete()


def test_a_rerun_that_opens_cases_runs_the_same_number_of_queries_for_10_or_200_investments(
    db, django_assert_max_num_queries
):
    small, large = FundFactory(), FundFactory()
    portfolio(small, active=8, failed=2)
    portfolio(large, active=150, failed=50)
    for fund in (small, large):
        compliance_check_run(fund=fund, as_of=AS_OF)
        portfolio(fund, failed=fund.investments.count() // 4)  # more failed, still within
    with django_assert_max_num_queries(30) as counted:
        compliance_check_run(fund=small, as_of=AS_OF)
    with django_assert_max_num_queries(len(counted.captured_queries)):
        report = compliance_check_run(fund=large, as_of=AS_OF)
    assert report.cases_opened == 50 and ExemptionCase.objects.filter(investment__fund=large).count() == 100
