"""The investment's workflow table: its moves, who takes them, and the paths the admin derives from it."""

from tolerance.models import Investment
from tolerance.workflow import ACTIONS, WORKFLOW
from valley.core import roles
from valley.core.workflow import SYSTEM

S = Investment.State


def test_an_investment_exits_or_fails_from_active_and_is_reopened_only_with_a_reason():
    assert {name: (set(t.sources), t.target) for name, t in WORKFLOW.transitions.items()} == {
        "record_exit": ({S.ACTIVE}, S.EXITED),
        "record_failure": ({S.ACTIVE}, S.FAILED),
        "reopen": ({S.EXITED, S.FAILED}, S.ACTIVE),
    }
    assert WORKFLOW.initial == S.ACTIVE
    assert [t.name for t in WORKFLOW.transitions.values() if t.needs_comment] == ["reopen"]
    assert set(ACTIONS.values()) == {
        "tolerance.investment.exited",
        "tolerance.investment.failed",
        "tolerance.investment.reopened",
    }


def test_portfolio_managers_and_the_system_take_every_move():
    for transition in WORKFLOW.transitions.values():
        assert transition.allowed == {roles.PORTFOLIO_MANAGER, SYSTEM}


def test_a_change_of_state_in_a_form_is_a_path_through_the_table():
    assert [t.name for t in WORKFLOW.path_to(S.FAILED)] == ["record_failure"]
    assert [t.name for t in WORKFLOW.path_to(S.EXITED, start=S.FAILED)] == ["reopen", "record_exit"]
    assert [t.name for t in WORKFLOW.path_to(S.ACTIVE, start=S.EXITED)] == ["reopen"]
