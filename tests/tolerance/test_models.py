"""The database guards the portfolio's invariants, whatever door the data comes through."""

import datetime
import threading
from decimal import Decimal

import pytest
from django.db import IntegrityError, connection, transaction

from tests.factories import FundFactory, InvestmentFactory, checklist_confirmer
from tolerance.models import ComplianceReport, ExemptionDetermination, Investment
from tolerance.services import compliance_check_run


def refused(make):
    with pytest.raises(IntegrityError), transaction.atomic():
        make()


def test_fund_policy_limits(db):
    refused(lambda: FundFactory(tolerance_threshold=Decimal("100.01")))
    refused(lambda: FundFactory(tolerance_threshold=Decimal("-1")))
    refused(lambda: FundFactory(tolerance_threshold=Decimal("60.00"), warning_level=Decimal("70.00")))
    refused(lambda: FundFactory(size=Decimal("0")))
    assert FundFactory(tolerance_threshold=Decimal("100.00"), warning_level=Decimal("100.00")).pk


def test_investment_amounts_and_failure_facts(db):
    fund = FundFactory()
    refused(lambda: InvestmentFactory(fund=fund, recovered=Decimal("-0.01")))
    refused(lambda: InvestmentFactory(fund=fund, principal=Decimal("0")))
    refused(lambda: InvestmentFactory(fund=fund, stake=Decimal("100.01")))
    refused(lambda: InvestmentFactory(fund=fund, state=Investment.State.FAILED))  # no kind, no date
    refused(lambda: InvestmentFactory(fund=fund, failure_kind=Investment.FailureKind.BANKRUPT))  # not failed
    refused(lambda: InvestmentFactory(fund=fund, failed=True, recovered=Decimal("1000000.01")))
    refused(lambda: InvestmentFactory(fund=fund, failed=True, failed_on=datetime.date(2024, 1, 1)))  # before investing
    assert InvestmentFactory(fund=fund, failed=True).pk


def test_a_checklist_item_is_met_only_with_evidence_and_a_confirmer(db):
    refused(lambda: InvestmentFactory(no_fraud=True, no_fraud_evidence="", no_fraud_confirmed_by=None))
    refused(lambda: InvestmentFactory(no_fraud=True, no_fraud_evidence="审计意见", no_fraud_confirmed_by=None))
    investment = InvestmentFactory(checklist=False)
    assert investment.meets_standards is False
    Investment.objects.filter(pk=investment.pk).update(
        no_fraud=True, no_fraud_evidence="审计意见", no_fraud_confirmed_by=checklist_confirmer()
    )
    investment.refresh_from_db()
    assert investment.meets_standards is False and len(investment.standards_gaps) == 4
    assert InvestmentFactory().meets_standards is True  # computed by the database, returned on insert


def test_one_report_per_fund_and_date_one_original_case_per_investment_and_one_determination_per_party(db):
    from tolerance.models import ExemptionCase

    investment = InvestmentFactory(failed=True)
    InvestmentFactory(fund=investment.fund)
    report = compliance_check_run(fund=investment.fund, as_of=datetime.date(2026, 6, 30))
    refused(
        lambda: ComplianceReport.objects.create(
            **{f.name: getattr(report, f.name) for f in ComplianceReport._meta.concrete_fields if f.name != "id"}
        )
    )
    case = ExemptionCase.objects.get(investment=investment)
    refused(
        lambda: ExemptionCase.objects.create(
            investment=investment, opened_by_check=True, opened_at=case.opened_at, state_changed_at=case.opened_at
        )
    )
    decided = {
        "case": case,
        "investment": investment,
        "party": investment.parties.first(),
        "reason": "勤勉尽责",
        "determined_at": report.computed_at,
        "meeting_date": datetime.date(2026, 7, 1),
        "document_number": "晋创投决〔2026〕1号",
        "determined_by": checklist_confirmer(),
    }
    ExemptionDetermination.objects.create(**decided)
    refused(lambda: ExemptionDetermination.objects.create(**decided))  # one per party and case
    refused(lambda: ExemptionDetermination.objects.create(**{**decided, "document_number": ""}))  # no 文号


@pytest.mark.postgres
def test_concurrent_checks_of_one_fund_and_date_leave_one_report(transactional_db):
    fund = FundFactory()
    for _ in range(3):
        InvestmentFactory(fund=fund)
    InvestmentFactory(fund=fund, failed=True)
    errors = []
    start = threading.Barrier(4)

    def check():
        try:
            start.wait()
            compliance_check_run(fund=fund, as_of=datetime.date(2026, 6, 30))
        except Exception as error:  # noqa: BLE001 - reported below
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=check) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert ComplianceReport.objects.filter(fund=fund).count() == 1
    assert fund.investments.filter(exemption_cases__isnull=False).count() == 1  # one case, not four


def test_a_report_has_rates_and_a_verdict_exactly_when_something_qualified(db):
    """A fund with no qualifying investment has no rate and the verdict "no data", never "within" at 0.00%."""
    empty = compliance_check_run(fund=FundFactory(), as_of=datetime.date(2026, 6, 30))
    checked = compliance_check_run(fund=InvestmentFactory().fund, as_of=datetime.date(2026, 6, 30))
    values = {f.name: getattr(empty, f.name) for f in ComplianceReport._meta.concrete_fields if f.name != "id"}
    day = datetime.date(2026, 7, 1)
    refused(lambda: ComplianceReport.objects.create(**{**values, "as_of": day, "verdict": "within"}))
    refused(lambda: ComplianceReport.objects.create(**{**values, "as_of": day, "rate_by_count": Decimal("0.00")}))
    refused(lambda: ComplianceReport.objects.filter(pk=checked.pk).update(verdict="no_data"))
    refused(lambda: ComplianceReport.objects.filter(pk=checked.pk).update(rate_by_amount=None))
    refused(lambda: ComplianceReport.objects.filter(pk=checked.pk).update(verdict="unknown"))
    assert ComplianceReport.objects.create(**{**values, "as_of": day}).verdict == "no_data"
