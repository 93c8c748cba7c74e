"""The teams app's two tables (teams/workflow.py): each transition's sources, target and roles, the paths
through them, and wrong state kept apart from a role that may not act."""

import datetime

import pytest

from teams import workflow
from teams.models import Achievement, Residency
from tests.factories import AchievementFactory, ResidencyFactory
from valley.core import roles
from valley.core.workflow import OWNER, SYSTEM, TransitionForbidden, TransitionNotAllowed

R = Residency.Status
A = Achievement.Stage
STAFF = {roles.PROVINCIAL_STAFF, roles.SUB_VENUE_OPERATOR}


@pytest.fixture(autouse=True)
def in_english():
    from django.utils import translation

    with translation.override("en"):
        yield


def _table(machine):
    return {name: (set(t.sources), t.target, set(t.allowed)) for name, t in machine.transitions.items()}


# --- residency ---------------------------------------------------------------------------------------


def test_the_residency_table():
    assert _table(workflow.RESIDENCY) == {
        "enter": ({R.SELECTED}, R.ENTERED, STAFF),
        "graduate": ({R.ENTERED}, R.GRADUATED, STAFF),
        "exit": ({R.SELECTED, R.ENTERED}, R.EXITED, STAFF),
    }
    assert workflow.RESIDENCY.initial == R.SELECTED
    assert workflow.DECIDERS == STAFF
    assert workflow.ENDINGS == {R.GRADUATED: "graduate", R.EXITED: "exit"}


def test_residency_decisions_are_the_roles_that_may_add_and_change_residencies():
    """The table's roles and valley/core/roles.py's model permissions (the admin's door) agree."""
    assert roles.roles_granting("teams.change_residency") == workflow.DECIDERS
    assert roles.roles_granting("teams.add_residency") == workflow.DECIDERS
    assert roles.roles_granting("teams.change_achievement") == workflow.STAGE_STAFF


def test_the_active_statuses_are_those_with_a_way_out():
    leaving = {state for t in workflow.RESIDENCY.transitions.values() for state in t.sources}
    assert leaving == set(Residency.ACTIVE_STATUSES)


def test_residency_paths():
    assert [t.name for t in workflow.RESIDENCY.path_to(R.GRADUATED)] == ["enter", "graduate"]
    assert [t.name for t in workflow.RESIDENCY.path_to(R.EXITED)] == ["exit"]
    assert [t.name for t in workflow.RESIDENCY.path_to(R.EXITED, start=R.ENTERED)] == ["exit"]
    assert workflow.RESIDENCY.sources_of(R.GRADUATED) == {R.ENTERED}
    with pytest.raises(ValueError, match="cannot be reached"):
        workflow.RESIDENCY.path_to(R.SELECTED, start=R.GRADUATED)


@pytest.mark.django_db
def test_residency_wrong_state_and_forbidden_are_different_errors(provincial_staff, applicant, role_user):
    graduated = ResidencyFactory(status=R.GRADUATED, ended_on=datetime.date(2025, 6, 30))
    with pytest.raises(TransitionNotAllowed, match="Only an entity that entered"):
        workflow.RESIDENCY.check("graduate", graduated, provincial_staff)
    with pytest.raises(TransitionNotAllowed, match="already ended"):
        workflow.RESIDENCY.check("exit", graduated, provincial_staff)
    selected = ResidencyFactory(status=R.SELECTED, entered_on=None)
    for intruder in (applicant, role_user(roles.REVIEWER), role_user(roles.AUDITOR), None):
        with pytest.raises(TransitionForbidden):
            workflow.RESIDENCY.check("enter", selected, intruder)
    # Forbidden comes first: a role that may not act is not told the state.
    with pytest.raises(TransitionForbidden):
        workflow.RESIDENCY.check("graduate", graduated, applicant)
    assert workflow.RESIDENCY.check("enter", selected, role_user(roles.SUB_VENUE_OPERATOR)).target == R.ENTERED
    assert [t.name for t in workflow.RESIDENCY.available(selected, provincial_staff)] == ["enter", "exit"]
    assert workflow.RESIDENCY.available(selected, applicant) == []


# --- achievement stages --------------------------------------------------------------------------------


def test_the_achievement_table():
    forward = STAFF | {OWNER}
    assert _table(workflow.ACHIEVEMENT) == {
        "advance_to_pilot": ({A.LAB}, A.PILOT, forward),
        "advance_to_incubation": ({A.LAB, A.PILOT}, A.INCUBATION, forward),
        "advance_to_transformed": ({A.LAB, A.PILOT, A.INCUBATION}, A.TRANSFORMED, forward),
        "correct_to_lab": ({A.PILOT, A.INCUBATION, A.TRANSFORMED}, A.LAB, STAFF),
        "correct_to_pilot": ({A.INCUBATION, A.TRANSFORMED}, A.PILOT, STAFF),
        "correct_to_incubation": ({A.TRANSFORMED}, A.INCUBATION, STAFF),
    }
    assert workflow.ACHIEVEMENT.initial == A.LAB
    assert not any(SYSTEM in t.allowed for t in workflow.ACHIEVEMENT.transitions.values())


def test_forward_moves_follow_the_stage_order_and_corrections_go_back():
    order = list(A.values)
    for t in workflow.ACHIEVEMENT.transitions.values():
        later = [order.index(s) < order.index(t.target) for s in t.sources]
        assert all(later) if t.name.startswith("advance") else not any(later), t.name


def test_there_is_exactly_one_move_between_any_two_stages():
    for start in A.values:
        for end in A.values:
            if start != end:
                name = workflow.stage_move(start, end)
                assert workflow.ACHIEVEMENT[name].target == end and start in workflow.ACHIEVEMENT[name].sources


def test_achievement_paths():
    assert [t.name for t in workflow.ACHIEVEMENT.path_to(A.TRANSFORMED)] == ["advance_to_transformed"]
    assert [t.name for t in workflow.ACHIEVEMENT.path_to(A.LAB, start=A.TRANSFORMED)] == ["correct_to_lab"]
    assert workflow.ACHIEVEMENT.sources_of(A.PILOT) == {A.LAB, A.INCUBATION, A.TRANSFORMED}


@pytest.mark.django_db
def test_achievement_wrong_state_and_forbidden_are_different_errors(applicant, other_applicant, provincial_staff):
    achievement = AchievementFactory(entity__owner=applicant, stage=A.INCUBATION)
    with pytest.raises(TransitionNotAllowed, match="Stages only move forward"):
        workflow.ACHIEVEMENT.check("advance_to_pilot", achievement, applicant)
    with pytest.raises(TransitionForbidden):
        workflow.ACHIEVEMENT.check("correct_to_pilot", achievement, applicant)
    with pytest.raises(TransitionForbidden):
        workflow.ACHIEVEMENT.check("advance_to_transformed", achievement, other_applicant)
    assert workflow.ACHIEVEMENT.check("advance_to_transformed", achievement, applicant).target == A.TRANSFORMED
    assert workflow.ACHIEVEMENT.check("correct_to_pilot", achievement, provincial_staff).target == A.PILOT
    assert [t.name for t in workflow.ACHIEVEMENT.available(achievement, applicant)] == ["advance_to_transformed"]
