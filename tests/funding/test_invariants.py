"""funding.invariants and `manage.py check_invariants`: silent on data the services wrote, and each check
finds the row broken on purpose (the database's own guard dropped first where it would refuse the row;
PostgreSQL rolls the DROP back with the test)."""

from decimal import Decimal

import pytest
from django.core.management import CommandError, call_command
from django.db import connection

from funding.invariants import CHECKS, check_invariants
from funding.models import (
    Application,
    ApplicationEvent,
    Disbursement,
    ExpenseLine,
    FinalAcceptance,
    FundUseReport,
    PlannedInstalment,
    Repayment,
    SubVenueBudget,
)
from valley.models import AuditEntry

S = Application.State


def drop_guard(name: str) -> None:
    """Drop a constraint or partial unique index inside the test's transaction (PostgreSQL rolls it back)."""
    with connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")  # ALTER TABLE refuses while deferred FK checks wait
        cursor.execute("SELECT conrelid::regclass::text FROM pg_constraint WHERE conname = %s", [name])
        row = cursor.fetchone()
        if row:
            cursor.execute(f'ALTER TABLE {row[0]} DROP CONSTRAINT "{name}"')
        else:
            cursor.execute(f'DROP INDEX "{name}"')


def violations(check: str) -> list[str]:
    return [f"{v.subject}: {v.detail}" for v in check_invariants().violations if v.check == check]


@pytest.fixture
def walked(application_in):
    """Applications in the states that touch money and history, walked there through the services."""
    return {
        state: application_in(state)
        for state in (
            S.DRAFT,
            S.RETURNED,
            S.WITHDRAWN,
            S.REJECTED,
            S.PUBLIC_NOTICE,
            S.DISBURSEMENT,
            S.RECOVERY,
            S.CLOSED,
        )
    }


def test_data_written_by_the_services_keeps_every_invariant(walked, people):
    from funding import services

    # A returned application submitted again, a revoked approval and a recovery partly repaid are valid paths too.
    services.application_submit(application=walked[S.RETURNED], by=people["applicant"])
    services.application_revoke(application=walked[S.PUBLIC_NOTICE], by=people["approver"], comment="异议成立。")
    _repay(walked[S.RECOVERY], people, "30000")

    report = check_invariants()

    assert report.ok, report.violations
    assert set(report.checked) == set(CHECKS)
    assert report.checked["history_path"] == ApplicationEvent.objects.count() > 8 * 2
    assert report.checked["instalments_within_approval"] == 8
    assert report.checked["budget_within_amount"] == 1
    # After the grant: instalments 2 and 3 of the closed grant; the plans and accepted reports of the three
    # grants paid so far (the closed one's two); the one recovery.
    assert report.checked["releases_follow_reports"] == 2
    assert report.checked["plan_adds_up"] == 3
    assert report.checked["report_lines_add_up"] == 2
    assert report.checked["recovery_matches_repayments"] == 1
    assert report.checked["audit_chain"] == AuditEntry.objects.count() > 0


@pytest.mark.postgres
def test_an_overspent_budget_is_found(walked):
    drop_guard("budget_never_overspent")
    budget = SubVenueBudget.objects.get()
    SubVenueBudget.objects.filter(pk=budget.pk).update(amount=budget.reserved - Decimal("0.01"))

    found = violations("budget_within_amount")

    assert len(found) == 1
    assert f"budget {budget.pk}" in found[0] and f"reserved {budget.reserved}" in found[0]


def test_a_budget_counter_that_disagrees_with_the_grants_is_found(walked):
    budget = SubVenueBudget.objects.get()
    SubVenueBudget.objects.filter(pk=budget.pk).update(reserved=budget.reserved - 1)

    found = violations("budget_counters_match")

    assert len(found) == 1
    assert f"grants approved {budget.reserved}" in found[0]


def test_instalments_that_do_not_add_up_are_found(walked):
    paying = walked[S.DISBURSEMENT]
    Disbursement.objects.filter(application=paying).update(amount=paying.approved_amount)  # more than paid

    found = violations("instalments_within_approval")

    assert len(found) == 1
    assert found[0].startswith(f"application {paying.pk}:")
    # The budget's disbursed counter no longer matches the instalments either.
    assert violations("budget_counters_match")


def _repay(application, people, amount):
    from django.utils import timezone

    from funding import post_award

    return post_award.recovery_repay(
        application=application, by=people["finance"], amount=amount, paid_on=timezone.localdate(), reference="R-1"
    )


def test_an_instalment_released_without_its_accepted_report_is_found(walked):
    closed = walked[S.CLOSED]
    FundUseReport.objects.filter(application=closed, instalment__number=1).update(state=FundUseReport.State.SUBMITTED)

    found = violations("releases_follow_reports")

    assert found == [
        f"application {closed.pk}, instalment 2: not released by the accepted report on the one before",
    ]


def test_a_last_instalment_without_a_passed_final_acceptance_is_found(walked):
    closed = walked[S.CLOSED]
    FinalAcceptance.objects.filter(application=closed).update(result=FinalAcceptance.Result.FAILED)

    found = violations("releases_follow_reports")

    assert found == [f"application {closed.pk}, instalment 3: the last instalment without a passed acceptance"]


def test_a_plan_that_does_not_add_up_is_found(walked):
    paying = walked[S.DISBURSEMENT]
    PlannedInstalment.objects.filter(agreement__application=paying, number=3).update(amount=Decimal("150000.01"))

    found = violations("plan_adds_up")

    assert found == [f"application {paying.pk}: agreement {paying.agreement.pk} of 500000.00 plans 500000.01"]


def test_expense_lines_that_do_not_add_up_to_the_spend_are_found(walked):
    closed = walked[S.CLOSED]
    report = FundUseReport.objects.get(application=closed, instalment__number=2)
    line = report.lines.order_by("pk").first()
    ExpenseLine.objects.filter(pk=line.pk).update(amount=line.amount + 1)

    found = violations("report_lines_add_up")

    assert found == [
        f"application {closed.pk}, report {report.pk}: spent {report.spent} of {report.disbursed} disbursed, "
        f"lines add up to {report.spent + 1}"
    ]


def test_a_recovery_that_disagrees_with_its_repayments_is_found(walked, people):
    recovering = walked[S.RECOVERY]
    repayment = _repay(recovering, people, "30000")
    Repayment.objects.filter(pk=repayment.pk).update(amount=Decimal("20000.00"))

    found = violations("recovery_matches_repayments")

    assert found == [
        f"application {recovering.pk}, recovery {recovering.recovery.pk}: order of 100000.00 (disbursed 100000.00) "
        "says 30000.00 recovered, repayments add up to 20000.00, the application says 30000.00"
    ]
    # The budget's recovered counter no longer matches the repayments either.
    assert any("recovered 30000.00 but repayments add up to 20000.00" in v for v in violations("budget_counters_match"))


@pytest.mark.postgres
def test_a_second_grant_for_an_entity_is_found(walked):
    drop_guard("application_one_grant_per_entity")
    drop_guard("application_one_open_per_entity")
    first, second = walked[S.CLOSED], walked[S.DISBURSEMENT]
    Application.objects.filter(pk=second.pk).update(entity=first.entity)

    assert violations("one_grant_per_entity") == [f"entity {first.entity_id}: 2 granted applications"]


@pytest.mark.postgres
def test_a_second_open_application_for_an_entity_is_found(walked):
    drop_guard("application_one_open_per_entity")
    draft, returned = walked[S.DRAFT], walked[S.RETURNED]
    Application.objects.filter(pk=returned.pk).update(entity=draft.entity)

    assert violations("one_open_per_entity") == [f"entity {draft.entity_id}: 2 open applications"]
    assert violations("one_grant_per_entity") == []


def test_a_missing_history_row_is_found(walked):
    granted = walked[S.PUBLIC_NOTICE]
    ApplicationEvent.objects.filter(application=granted, action="funding.application.pass_formal_review").delete()

    found = violations("history_path")

    assert len(found) == 1
    assert "leaves from expert_review, but the row before reached formal_review" in found[0]


def test_a_state_change_that_is_no_transition_is_found(walked):
    draft = walked[S.DRAFT]
    ApplicationEvent.objects.create(
        application=draft, action="funding.application.hack", from_state=S.DRAFT, to_state=S.PUBLIC_NOTICE
    )
    Application.objects.filter(pk=draft.pk).update(
        state=S.PUBLIC_NOTICE,
        approved_amount=draft.amount,
        budget=SubVenueBudget.objects.get(),
        min_amount=1,
        max_amount=draft.amount,
        max_paid_in_share=Decimal("0.5"),
    )

    found = violations("history_path")

    assert len(found) == 1
    assert "goes draft → public_notice: no transition of the workflow" in found[0]
    assert violations("history_reaches_state") == []


def test_a_history_that_does_not_start_at_draft_is_found(walked):
    first = ApplicationEvent.objects.filter(application=walked[S.WITHDRAWN]).order_by("pk").first()
    ApplicationEvent.objects.filter(pk=first.pk).update(to_state=S.SUBMITTED)

    found = violations("history_path")

    assert any("is the first but goes - → submitted" in line for line in found), found


def test_a_state_the_history_never_reached_is_found(walked):
    rejected = walked[S.REJECTED]
    Application.objects.filter(pk=rejected.pk).update(state=S.WITHDRAWN)

    assert violations("history_reaches_state") == [
        f"application {rejected.pk}: is “withdrawn” but its last history row reached “rejected”"
    ]


def test_an_altered_audit_entry_is_found(walked, audit_maintenance):
    entry = AuditEntry.objects.order_by("id")[3]
    with audit_maintenance():  # as a database owner would, past the append-only triggers
        AuditEntry.objects.filter(pk=entry.pk).update(action="funding.application.nothing_to_see")

    found = violations("audit_chain")

    assert len(found) == 1 and found[0].startswith(f"audit entry {entry.pk}:")


def test_the_command_prints_the_counts_and_fails_on_a_violation(walked, capsys):
    call_command("check_invariants")
    out = capsys.readouterr().out
    assert "All invariants hold." in out
    events = ApplicationEvent.objects.count()
    assert any(line.startswith("history_path") and f"{events} checked" in line for line in out.splitlines()), out
    # Every check is reported, the ones after the grant too.
    for name in CHECKS:
        assert any(line.startswith(f"{name} ") and line.rstrip().endswith(")") for line in out.splitlines()), name
    assert any(line.startswith("releases_follow_reports") and " 2 checked  ok" in line for line in out.splitlines())

    rejected = walked[S.REJECTED]
    Application.objects.filter(pk=rejected.pk).update(state=S.WITHDRAWN)
    with pytest.raises(CommandError, match="1 invariant violation"):
        call_command("check_invariants", "--skip-audit")
    out = capsys.readouterr().out
    assert f"application {rejected.pk}: is “withdrawn”" in out
    assert "audit_chain" not in out
