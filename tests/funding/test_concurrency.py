"""Money rules under concurrent requests, on PostgreSQL with real row locks."""

import threading
from decimal import Decimal

import pytest
from django.db import connection
from django.utils import translation

from funding import services
from funding.models import Application, ApplicationEvent, SubVenueBudget
from valley.core.workflow import WorkflowError

pytestmark = pytest.mark.postgres
S = Application.State


def run_at_once(calls):
    """Run each call in its own thread (its own database connection), released together by a barrier."""
    barrier = threading.Barrier(len(calls))
    outcomes = [None] * len(calls)

    def worker(index, call):
        try:
            translation.activate("en")  # thread-local: each thread chooses its language
            barrier.wait()
            call()
            outcomes[index] = "ok"
        except WorkflowError as error:
            outcomes[index] = error.message
        finally:
            connection.close()

    threads = [threading.Thread(target=worker, args=(i, call)) for i, call in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    return outcomes


def test_twenty_approvals_against_a_budget_for_seven(transactional_db, application_in, budget, people, make_user):
    SubVenueBudget.objects.filter(pk=budget.pk).update(amount=Decimal("3500000.00"))  # 7 × 500,000
    applications = [application_in(S.AWAITING_DECISION, amount=Decimal("500000.00")) for _ in range(20)]
    approvers = [make_user("approver") for _ in range(20)]

    outcomes = run_at_once(
        [
            (lambda app=app, by=by: services.application_approve(application=app, by=by))
            for app, by in zip(applications, approvers, strict=True)
        ]
    )

    assert outcomes.count("ok") == 7
    refused = [outcome for outcome in outcomes if outcome != "ok"]
    assert len(refused) == 13
    assert all("yuan left" in message for message in refused), refused
    assert Application.objects.filter(state=S.PUBLIC_NOTICE).count() == 7
    assert Application.objects.filter(state=S.AWAITING_DECISION).count() == 13
    budget.refresh_from_db()
    assert budget.reserved == Decimal("3500000.00") == budget.amount


def test_two_staff_approving_the_same_application_record_one_transition(
    transactional_db, application_in, budget, make_user
):
    application = application_in(S.AWAITING_DECISION, amount=Decimal("600000.00"))
    first, second = make_user("approver"), make_user("approver")

    outcomes = run_at_once(
        [
            lambda: services.application_approve(application=application, by=first),
            lambda: services.application_approve(application=application, by=second),
        ]
    )

    assert sorted(outcome == "ok" for outcome in outcomes) == [False, True]
    assert "not possible while" in next(outcome for outcome in outcomes if outcome != "ok")
    assert ApplicationEvent.objects.filter(application=application, action="funding.application.approve").count() == 1
    budget.refresh_from_db()
    assert budget.reserved == Decimal("600000.00")


def test_five_officers_releasing_on_one_accepted_report_pay_one_instalment(
    transactional_db, application_in, people, make_user
):
    """Instalment 2 is released by the accepted report on instalment 1, once: the others are told the next one
    waits for its own report, and the budget records one payment."""
    from django.utils import timezone

    from funding.demo import file_report

    paying = application_in(S.DISBURSEMENT, amount=Decimal("800000.00"))  # instalment 1: 160,000 paid
    file_report(paying, people, accept=True)
    officers = [make_user("finance_officer") for _ in range(5)]
    outcomes = run_at_once(
        [
            (
                lambda by=by, n=n: services.application_disburse(
                    application=paying, by=by, paid_on=timezone.localdate(), reference=f"P{n}"
                )
            )
            for n, by in enumerate(officers)
        ]
    )
    paying.refresh_from_db()
    assert outcomes.count("ok") == 1
    refused = [outcome for outcome in outcomes if outcome != "ok"]
    assert all("once the fund-use report on instalment 2 is accepted" in message for message in refused), refused
    assert paying.disbursed_total == Decimal("560000.00")  # 20% + 50% of 800,000
    assert paying.disbursements.count() == 2
    budget = SubVenueBudget.objects.get(pk=paying.budget_id)
    assert budget.disbursed == Decimal("560000.00")
    assert ApplicationEvent.objects.filter(application=paying, action="funding.disbursement.recorded").count() == 2


def test_two_repayments_at_once_never_recover_more_than_the_order(transactional_db, application_in, make_user):
    """Two repayments of 60,000 against an order of 100,000: one is recorded, the other is told what is still
    outstanding; the budget gets the money back once."""
    from django.utils import timezone

    from funding import post_award

    recovering = application_in(S.RECOVERY, amount=Decimal("500000.00"))  # an order for the 100,000 paid
    budget = SubVenueBudget.objects.get(pk=recovering.budget_id)
    officers = [make_user("finance_officer") for _ in range(2)]
    outcomes = run_at_once(
        [
            (
                lambda by=by, n=n: post_award.recovery_repay(
                    application=recovering,
                    by=by,
                    amount=Decimal("60000.00"),
                    paid_on=timezone.localdate(),
                    reference=f"R{n}",
                )
            )
            for n, by in enumerate(officers)
        ]
    )
    assert sorted(outcomes) == ["Only 40,000.00 yuan of the recovery order is outstanding.", "ok"]
    recovering.refresh_from_db()
    assert (recovering.state, recovering.recovered_total) == (S.RECOVERY, Decimal("60000.00"))
    after = SubVenueBudget.objects.get(pk=budget.pk)
    assert (after.recovered, after.reserved) == (Decimal("60000.00"), budget.reserved - Decimal("60000.00"))


def test_two_submissions_for_one_entity_leave_one_open_application(transactional_db, resident_entity, applicant):
    entity = resident_entity()
    drafts = []

    def create():
        drafts.append(
            services.application_create(entity=entity, by=applicant, amount=Decimal("400000"), purpose="x", plan="y")
        )

    outcomes = run_at_once([create, create, create])
    assert outcomes.count("ok") == 1
    assert all("already has an open application" in o for o in outcomes if o != "ok")
    assert Application.objects.filter(entity=entity).count() == 1


def _locking_statements(call) -> list[str]:
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as captured:
        call()
    return [query["sql"] for query in captured.captured_queries if "FOR UPDATE" in query["sql"]]


def test_the_money_services_lock_only_their_own_rows(db, application_in, people):
    """A FOR UPDATE over a join locks the joined rows too. Approving once locked the sub-venue's row that way
    (the budget's default ordering joins it), and deadlocked under load with a submission in that sub-venue,
    which holds the audit chain's head and checks its foreign key to the sub-venue at commit."""
    from django.utils import timezone

    from funding import post_award
    from funding.demo import file_report

    awaiting, paying = application_in(S.AWAITING_DECISION), application_in(S.DISBURSEMENT)
    recovering = application_in(S.DISBURSEMENT)
    notice = application_in(S.PUBLIC_NOTICE)
    draft = application_in(S.DRAFT)
    statements = []
    statements += _locking_statements(lambda: services.application_approve(application=awaiting, by=people["approver"]))
    file_report(paying, people, accept=True)
    statements += _locking_statements(
        lambda: services.application_disburse(
            application=paying, by=people["finance"], paid_on=timezone.localdate(), reference="L1"
        )
    )
    statements += _locking_statements(
        lambda: post_award.recovery_open(
            application=recovering, by=people["finance"], reason="misuse", explanation="挪用。", amount="50000"
        )
    )
    statements += _locking_statements(
        lambda: post_award.recovery_repay(
            application=recovering,
            by=people["finance"],
            amount="50000",
            paid_on=timezone.localdate(),
            reference="R1",
        )
    )
    statements += _locking_statements(
        lambda: services.application_revoke(application=notice, by=people["approver"], comment="异议成立。")
    )
    statements += _locking_statements(lambda: services.application_submit(application=draft, by=people["applicant"]))

    assert len(statements) >= 12
    too_wide = [sql for sql in statements if " JOIN " in sql and "FOR UPDATE OF" not in sql]
    assert too_wide == []
