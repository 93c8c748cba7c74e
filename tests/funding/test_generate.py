"""The histories the province generator writes are walks of the fund's workflow table, and the grants' lives
after the money follow the rules of the plan (no database; tests/valley/test_generator.py checks the rows)."""

import datetime
import random
from decimal import Decimal

import pytest

from funding.generate import (
    AFTER_THE_MONEY,
    ENDED,
    LOOP,
    OPEN_BEFORE_DECISION,
    OPEN_GRANTED,
    after_the_money,
    path_to,
)
from funding.models import Application, FundUseReport
from funding.services import instalment_split
from funding.workflow import HISTORY_ACTIONS as ACTIONS
from funding.workflow import REPORT_WORKFLOW, WORKFLOW, history_action

S = Application.State
TRANSITION_OF = {f"{WORKFLOW.name}.{name}": name for name in WORKFLOW.transitions} | {
    code: name for name, code in ACTIONS.items()
}


def _assert_walk(steps, start, end):
    state = start
    for action, source, target in steps:
        transition = WORKFLOW[TRANSITION_OF[action]]
        assert source == state, f"{action} leaves from {source}, but the walk is in {state}"
        assert source in transition.sources and target == transition.target, f"{action}: {source} → {target}"
        state = target
    assert state == end


@pytest.mark.parametrize("state", S.values)
def test_each_state_is_reached_by_a_walk_of_the_workflow(state):
    """After the money, path_to stops at the verified registration; each grant's story walks on from there."""
    if state in AFTER_THE_MONEY:
        _assert_walk(path_to(state), WORKFLOW.initial, S.DISBURSEMENT)
    else:
        _assert_walk(path_to(state), WORKFLOW.initial, state)


def test_a_round_of_changes_leaves_the_formal_review_and_comes_back_to_it():
    _assert_walk(LOOP, S.FORMAL_REVIEW, S.FORMAL_REVIEW)
    assert [action.rpartition(".")[2] for action, _s, _t in LOOP] == [
        "return_for_changes",
        "submit",
        "start_formal_review",
    ]


SHARES = (Decimal("20.00"), Decimal("50.00"), Decimal("30.00"))
VERIFIED = datetime.datetime(2025, 3, 1, 10, tzinfo=datetime.UTC)


def stories(count=600, seed=3):
    rnd = random.Random(seed)
    for index in range(count):
        state = AFTER_THE_MONEY[index % len(AFTER_THE_MONEY)]
        approved = Decimal(rnd.randrange(300000, 1000001)) + Decimal("0.33")
        yield state, approved, after_the_money(rnd, state, approved, SHARES, VERIFIED, 90)


def test_each_grant_s_story_walks_the_workflow_from_the_verified_registration_to_its_state():
    for state, _approved, story in stories():
        _assert_walk([step[:3] for step in story.steps], S.DISBURSEMENT, state)
        moments = [step[4] for step in story.steps]
        assert moments == sorted(moments)
        # The portal itself closes a grant (with its last instalment, or its last repayment); staff do the rest.
        for action, _source, _target, by_portal, _at in story.steps:
            assert by_portal == (action in (history_action("close"), history_action("complete_recovery")))


def test_the_instalments_are_the_plan_s_each_released_on_the_accepted_report_before_it():
    seen = set()
    for state, approved, story in stories():
        assert story.plan == instalment_split(approved, SHARES) and sum(story.plan) == approved
        numbers = [number for number, _a, _on in story.instalments]
        assert numbers == list(range(1, len(numbers) + 1))
        assert [amount for _n, amount, _on in story.instalments] == story.plan[: len(numbers)]
        reports = {report.number: report for report in story.reports}
        # A report on every instalment but the last of the plan; each one that released the next is accepted.
        assert sorted(reports) == [n for n in numbers if n < len(story.plan)]
        for number in numbers[1:]:
            assert reports[number - 1].state == FundUseReport.State.ACCEPTED
        if len(numbers) == len(story.plan):
            assert state == S.CLOSED and story.acceptance[0] == "passed" and story.recovery is None
            assert [step[0] for step in story.steps][-3:] == [
                "funding.acceptance.recorded",
                "funding.disbursement.recorded",
                "funding.application.close",
            ]
        seen.add((state, len(numbers), story.reports[-1].state if numbers[-1] < 3 else "last"))
    # Every step after the money is generated somewhere.
    for state in (S.DISBURSEMENT, S.RECOVERY):
        for paid in (1, 2):
            assert {s for st, n, s in seen if (st, n) == (state, paid)} == set(FundUseReport.State.values)
    assert (S.CLOSED, 3, "last") in seen


def test_the_reports_add_up_and_follow_their_own_workflow():
    moves = {(source, t.target, f"{REPORT_WORKFLOW.name}.{t.name}") for t in REPORT_WORKFLOW.transitions.values()
             for source in t.sources}  # fmt: skip
    for _state, _approved, story in stories():
        for report in story.reports:
            assert report.disbursed == sum(
                amount for number, amount, _on in story.instalments if number <= report.number
            )
            paid_on = story.instalments[report.number - 1][2]
            assert report.due_on == paid_on + datetime.timedelta(days=90)
            assert 0 <= report.spent <= report.disbursed
            assert sum(amount for _c, amount in report.lines) == report.spent
            assert all(amount > 0 for _c, amount in report.lines)
            assert len({category for category, _a in report.lines}) == len(report.lines)
            state = FundUseReport.State.DRAFT
            for action, source, target, _by_owner, _at in report.events:
                assert (source, target, action) in moves and source == state
                state = target
            assert state == report.state
            assert (report.submitted_at is None) == (report.state == FundUseReport.State.DRAFT)


def test_a_recovery_is_at_most_what_was_paid_and_only_a_complete_one_closes_the_grant():
    reasons = set()
    for state, _approved, story in stories():
        order = story.recovery
        if order is None:
            assert state != S.RECOVERY
            continue
        reasons.add(order.reason)
        assert 0 < order.amount <= order.disbursed_when_opened == story.disbursed
        assert story.reserve_released == sum(story.plan) - story.disbursed
        if state == S.CLOSED:
            assert order.recovered == order.amount and order.completed_at is not None
        else:
            assert order.recovered < order.amount and order.completed_at is None
        if order.reason == "failed_acceptance":
            assert story.acceptance[0] == "failed"
        else:
            assert story.acceptance is None
    assert reasons == {"misuse", "fraud", "failed_acceptance"}


def test_withdrawals_follow_a_submission_and_rejections_a_decision():
    assert path_to(S.WITHDRAWN)[-1][1] == S.SUBMITTED
    assert path_to(S.REJECTED)[-1][1] == S.AWAITING_DECISION


def test_the_generated_states_cover_the_workflow():
    assert set(ENDED) | set(OPEN_BEFORE_DECISION) | set(OPEN_GRANTED) | {S.CLOSED} == set(S.values)
