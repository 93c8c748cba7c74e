"""The teams app's two state machines, as tables of the one engine (valley.core.workflow).

RESIDENCY: selected → entered → graduated, or exited from selected or entered. A residency is born
selected by `residency_select` (no transition leads there: a new row, by DECIDERS); graduated and
exited are final, and the entity may then be selected again as a new residency.

ACHIEVEMENT: lab → pilot-scale → incubation → transformed. Anyone who may edit the entity (its owner,
provincial staff, the operators of its sub-venue) moves an achievement forward, skipping stages if it
went faster; only staff move one back, to correct a stage recorded by mistake. Which entity a person may
edit is the selectors' question (teams.selectors.user_may_edit_entity); the table says what their role
may do to its stages.

Dates (an entry before the selection, a stage change in the future) are the services' inputs, not states,
so the services check them after the table.
"""

from django.utils.translation import gettext_lazy as _

from teams.models import Achievement, Residency
from valley.core import roles
from valley.core.workflow import OWNER, Transition, Workflow

R = Residency.Status
A = Achievement.Stage

# Residency decisions: the roles that valley/core/roles.py lets add and change residencies (operators
# only in their own sub-venues: the services add that scope check).
DECIDERS = frozenset({roles.PROVINCIAL_STAFF, roles.SUB_VENUE_OPERATOR})

RESIDENCY_TRANSITIONS = [
    Transition(
        "enter",
        (R.SELECTED,),
        R.ENTERED,
        DECIDERS,
        _("mark as entered"),
        wrong_state=_("Only a selected entity can enter."),
    ),
    Transition(
        "graduate",
        (R.ENTERED,),
        R.GRADUATED,
        DECIDERS,
        _("mark as graduated"),
        wrong_state=_("Only an entity that entered the sub-venue can graduate."),
    ),
    Transition(
        "exit",
        (R.SELECTED, R.ENTERED),
        R.EXITED,
        DECIDERS,
        _("mark as exited"),
        wrong_state=_("This residency has already ended."),
    ),
]

RESIDENCY = Workflow(
    RESIDENCY_TRANSITIONS,
    name="teams.residency",
    states=R,
    initial=R.SELECTED,
    state_field="status",
    thing=_("residency"),
)

# How a residency ends (residency_end's `status`): the transition that leads there.
ENDINGS = {R.GRADUATED: "graduate", R.EXITED: "exit"}


# Staff who edit teams: the roles valley/core/roles.py grants teams.change_entity and teams.change_achievement.
STAGE_STAFF = frozenset({roles.PROVINCIAL_STAFF, roles.SUB_VENUE_OPERATOR})
FORWARD = frozenset({OWNER}) | STAGE_STAFF
FORWARD_ONLY = _("Stages only move forward. Ask valley staff if a stage was recorded by mistake.")

ACHIEVEMENT_TRANSITIONS = [
    Transition("advance_to_pilot", (A.LAB,), A.PILOT, FORWARD, _("move to pilot-scale"), wrong_state=FORWARD_ONLY),
    Transition(
        "advance_to_incubation",
        (A.LAB, A.PILOT),
        A.INCUBATION,
        FORWARD,
        _("move to incubation"),
        wrong_state=FORWARD_ONLY,
    ),
    Transition(
        "advance_to_transformed",
        (A.LAB, A.PILOT, A.INCUBATION),
        A.TRANSFORMED,
        FORWARD,
        _("mark as transformed"),
        wrong_state=FORWARD_ONLY,
    ),
    # Corrections: back to an earlier stage, by staff only.
    Transition(
        "correct_to_lab",
        (A.PILOT, A.INCUBATION, A.TRANSFORMED),
        A.LAB,
        STAGE_STAFF,
        _("correct the stage back to laboratory"),
    ),
    Transition(
        "correct_to_pilot",
        (A.INCUBATION, A.TRANSFORMED),
        A.PILOT,
        STAGE_STAFF,
        _("correct the stage back to pilot-scale"),
    ),
    Transition(
        "correct_to_incubation",
        (A.TRANSFORMED,),
        A.INCUBATION,
        STAGE_STAFF,
        _("correct the stage back to incubation"),
    ),
]

ACHIEVEMENT = Workflow(
    ACHIEVEMENT_TRANSITIONS,
    name="teams.achievement",
    states=A,
    initial=A.LAB,
    state_field="stage",
    owner_of=lambda achievement: achievement.entity.owner_id,
    thing=_("achievement"),
)


def stage_move(from_stage: str, to_stage: str) -> str:
    """The name of the ACHIEVEMENT transition from one stage to another (exactly one for any two
    different stages: a move forward or a correction back)."""
    (name,) = (t.name for t in ACHIEVEMENT.transitions.values() if t.target == to_stage and from_stage in t.sources)
    return name
