"""The grant after the money under concurrent staff, on PostgreSQL with real row locks: fund-use reports decided
twice at once, repayments racing on one recovery order, and a release racing with a recovery being opened.
Each call runs in its own thread on its own connection, released together by a barrier."""

import collections
from decimal import Decimal as D

import pytest
from django.utils import timezone

from funding import post_award, services
from funding.demo import file_report
from funding.invariants import check_invariants
from funding.models import Application, ApplicationEvent, FundUseReport, RecoveryOrder, Repayment, SubVenueBudget
from tests.funding.test_concurrency import run_at_once
from valley.core import roles

pytestmark = pytest.mark.postgres
S = Application.State
R = FundUseReport.State


def assert_invariants():
    report = check_invariants()
    assert report.ok, "\n".join(str(v) for v in report.violations)


def release(app, by, reference):
    return services.application_disburse(application=app, by=by, paid_on=timezone.localdate(), reference=reference)


def test_accepting_and_returning_one_report_at_once_leaves_one_decision(
    transactional_db, application_in, people, make_user, media_root
):
    app = application_in(S.DISBURSEMENT)
    report = file_report(app, people)  # submitted
    accepting, returning = people["finance"], make_user(roles.FINANCE_OFFICER)

    outcomes = run_at_once(
        [
            lambda: post_award.report_accept(report=report, by=accepting, comment="已核实。"),
            lambda: post_award.report_return(report=report, by=returning, comment="请补充合同。Add the contract."),
        ]
    )

    assert sorted(outcome == "ok" for outcome in outcomes) == [False, True], outcomes
    accepted = outcomes[0] == "ok"
    state, winner = (R.ACCEPTED, accepting) if accepted else (R.RETURNED, returning)
    loser = "“return the report for changes”" if accepted else "“accept the report”"
    refusal = next(outcome for outcome in outcomes if outcome != "ok")
    assert refusal == f"{loser} is not possible while the fund-use report is “{state.label}”."
    report.refresh_from_db()
    assert (report.state, report.decided_by) == (state, winner)
    # One decision in the history, and the history is one path: each row leaves from where the one before ended.
    events = list(report.events.order_by("at", "pk").values_list("action", "from_state", "to_state", "by"))
    decisions = [event for event in events if event[0].rsplit(".", 1)[-1] in ("accept", "return")]
    assert decisions == [
        (f"funding.fund_use_report.{'accept' if accepted else 'return'}", R.SUBMITTED, state, winner.pk)
    ]
    moves = [(source, target) for _action, source, target, _by in events if source != target]
    assert all(before[1] == after[0] for before, after in zip(moves, moves[1:], strict=False)), events
    assert moves[-1][1] == state
    # And the decision is what the release reads.
    if accepted:
        assert release(app, people["finance"], "P-2").number == 2
    else:
        with pytest.raises(services.FundingError, match="report on instalment 1 is accepted"):
            release(app, people["finance"], "P-2")
    assert_invariants()


def _recovering(application_in, people, amount):
    """A grant with instalment 1 (100,000) paid and a recovery order of `amount` open on it."""
    app = application_in(S.DISBURSEMENT)
    post_award.recovery_open(application=app, by=people["finance"], reason="misuse", explanation="挪用", amount=amount)
    return Application.objects.get(pk=app.pk)


def _repay_at_once(app, officers, amount):
    return run_at_once(
        [
            (
                lambda by=by, n=n: post_award.recovery_repay(
                    application=app, by=by, amount=amount, paid_on=timezone.localdate(), reference=f"R{n}"
                )
            )
            for n, by in enumerate(officers)
        ]
    )


def test_repayments_at_once_never_exceed_the_recovery_order(transactional_db, application_in, people, make_user):
    app = _recovering(application_in, people, D("100000.00"))
    budget_before = SubVenueBudget.objects.get(pk=app.budget_id)
    officers = [make_user(roles.FINANCE_OFFICER) for _ in range(6)]

    outcomes = _repay_at_once(app, officers, D("30000.00"))

    assert outcomes.count("ok") == 3, outcomes  # 3 × 30,000 fit in the order of 100,000; a fourth would not
    assert [o for o in outcomes if o != "ok"] == ["Only 10,000.00 yuan of the recovery order is outstanding."] * 3
    order = RecoveryOrder.objects.get(application=app)
    assert (order.recovered, order.state) == (D("90000.00"), RecoveryOrder.State.OPEN)
    assert sum(Repayment.objects.filter(order=order).values_list("amount", flat=True)) == D("90000.00")
    app.refresh_from_db()
    assert (app.state, app.recovered_total) == (S.RECOVERY, D("90000.00"))
    budget = SubVenueBudget.objects.get(pk=app.budget_id)
    assert budget.recovered - budget_before.recovered == D("90000.00")
    assert budget_before.reserved - budget.reserved == D("90000.00")
    assert ApplicationEvent.objects.filter(application=app, action="funding.repayment.recorded").count() == 3
    assert_invariants()


def test_repayments_at_once_complete_the_recovery_once(transactional_db, application_in, people, make_user):
    app = _recovering(application_in, people, D("100000.00"))
    officers = [make_user(roles.FINANCE_OFFICER) for _ in range(8)]

    outcomes = _repay_at_once(app, officers, D("25000.00"))

    assert outcomes.count("ok") == 4, outcomes
    # The four too late find the order repaid and the grant closed by the one that completed it.
    assert [o for o in outcomes if o != "ok"] == [
        "“record a repayment” is not possible while the application is “closed”."
    ] * 4
    order = RecoveryOrder.objects.get(application=app)
    assert (order.recovered, order.state) == (D("100000.00"), RecoveryOrder.State.COMPLETED)
    app.refresh_from_db()
    assert (app.state, app.recovered_total) == (S.CLOSED, D("100000.00"))
    assert ApplicationEvent.objects.filter(application=app, action="funding.application.complete_recovery").count() == 1
    assert SubVenueBudget.objects.get(pk=app.budget_id).recovered == D("100000.00")
    assert_invariants()


def _ready_for(application_in, people, number):
    """A grant of 500,000 (plan 100,000 / 250,000 / 150,000) whose instalment `number` (2 or 3) may be released."""
    app = application_in(S.DISBURSEMENT)
    file_report(app, people, accept=True)
    if number == 3:
        release(app, people["finance"], "P-2")
        file_report(Application.objects.get(pk=app.pk), people, accept=True)
        post_award.acceptance_record(
            application=app,
            by=people["approver"],
            result="passed",
            reasons="验收通过",
            accepted_on=timezone.localdate(),
        )
    return Application.objects.get(pk=app.pk)


@pytest.mark.parametrize("number", [2, 3])
def test_a_release_racing_a_recovery_keeps_the_budget_whole(
    transactional_db, application_in, people, make_user, media_root, number
):
    """Four grants, each with its next instalment released by one officer while another opens a recovery of
    100,000 on it. Either the instalment is paid first (and the recovery releases only the reserve still
    unpaid, or, for the last instalment, the grant is closed and the recovery refused), or the recovery comes
    first and the release is refused; the budget's counters agree in every outcome."""
    apps = [_ready_for(application_in, people, number) for _ in range(4)]
    paid_before = {app.pk: app.disbursed_total for app in apps}
    planned = {app.pk: app.agreement.instalments.get(number=number).amount for app in apps}
    calls = []
    for index, app in enumerate(apps):
        finance, approver = make_user(roles.FINANCE_OFFICER), make_user(roles.APPROVER)
        pay = lambda app=app, by=finance: release(app, by, f"P-{app.pk}-{number}")  # noqa: E731
        recover = lambda app=app, by=approver: post_award.recovery_open(  # noqa: E731
            application=app, by=by, reason="fraud", explanation="虚报", amount=D("100000.00")
        )
        calls += [pay, recover] if index % 2 else [recover, pay]

    outcomes = run_at_once(calls)

    seen = collections.Counter()
    for index, app in enumerate(apps):
        pay, recover = outcomes[2 * index : 2 * index + 2][:: 1 if index % 2 else -1]
        app.refresh_from_db()
        order = RecoveryOrder.objects.filter(application=app).first()
        if pay == "ok" and recover == "ok":
            seen["paid, then recovery"] += 1
            assert number == 2
            assert app.disbursed_total == paid_before[app.pk] + planned[app.pk]
            assert order.disbursed_when_opened == app.disbursed_total
            # Only what was still unpaid after the release leaves the reserve.
            assert app.reserve_released == app.approved_amount - app.disbursed_total == D("150000.00")
        elif pay == "ok":
            seen["paid and closed, recovery refused"] += 1
            assert number == 3 and order is None and app.state == S.CLOSED
            assert recover == "“open a recovery order” is not possible while the application is “closed”."
            assert app.disbursed_total == app.approved_amount
        else:
            seen["recovery, release refused"] += 1
            assert recover == "ok", outcomes
            assert pay == "“record an instalment” is not possible while the application is “recovery”."
            assert app.disbursements.count() == number - 1
            assert app.disbursed_total == paid_before[app.pk]
            assert order.disbursed_when_opened == app.disbursed_total
            assert app.reserve_released == app.approved_amount - app.disbursed_total
    print(dict(seen))
    assert sum(seen.values()) == len(apps)
    budget = SubVenueBudget.objects.get(pk=apps[0].budget_id)
    fresh = Application.objects.filter(pk__in=[app.pk for app in apps])
    assert budget.disbursed == sum(app.disbursed_total for app in fresh)
    assert budget.reserved == sum(app.approved_amount - app.reserve_released for app in fresh)
    assert_invariants()
