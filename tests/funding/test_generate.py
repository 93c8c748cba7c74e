"""The histories the province generator writes are walks of the fund's workflow table (no database)."""

import pytest

from funding.generate import ENDED, LOOP, OPEN_BEFORE_DECISION, OPEN_GRANTED, path_to
from funding.models import Application
from funding.workflow import HISTORY_ACTIONS as ACTIONS
from funding.workflow import WORKFLOW

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
    _assert_walk(path_to(state), WORKFLOW.initial, state)


def test_a_round_of_changes_leaves_the_formal_review_and_comes_back_to_it():
    _assert_walk(LOOP, S.FORMAL_REVIEW, S.FORMAL_REVIEW)
    assert [action.rpartition(".")[2] for action, _s, _t in LOOP] == [
        "return_for_changes",
        "submit",
        "start_formal_review",
    ]


def test_a_closed_application_was_paid_before_it_closed():
    actions = [action for action, _s, _t in path_to(S.CLOSED)]
    assert actions[-2:] == ["funding.disbursement.recorded", "funding.application.close"]


def test_withdrawals_follow_a_submission_and_rejections_a_decision():
    assert path_to(S.WITHDRAWN)[-1][1] == S.SUBMITTED
    assert path_to(S.REJECTED)[-1][1] == S.AWAITING_DECISION


def test_the_generated_states_cover_the_workflow():
    assert set(ENDED) | set(OPEN_BEFORE_DECISION) | set(OPEN_GRANTED) | {S.CLOSED} == set(S.values)
