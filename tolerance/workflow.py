"""An investment's life, as one table (see valley.core.workflow for the mechanism).

active → exited (with its proceeds) | failed (how, when, and what was recovered). An exit or a failure
recorded in error is reopened (back to active, with a reason), never edited away. Portfolio managers
take every move; SYSTEM is the demo seeds and management commands (by=None).

The services in tolerance/portfolio.py take these transitions; the admin derives the moves a change of
the state field means from the table (`path_to`).
"""

from django.utils.translation import gettext_lazy as _

from tolerance.models import InvestmentState
from valley.core import roles
from valley.core.workflow import SYSTEM, Transition, Workflow

S = InvestmentState
MANAGERS = frozenset({roles.PORTFOLIO_MANAGER, SYSTEM})

TRANSITIONS = [
    Transition("record_exit", (S.ACTIVE,), S.EXITED, MANAGERS, _("record the exit")),
    Transition("record_failure", (S.ACTIVE,), S.FAILED, MANAGERS, _("record the failure")),
    Transition(
        "reopen",
        (S.EXITED, S.FAILED),
        S.ACTIVE,
        MANAGERS,
        _("reopen (the exit or failure was recorded in error)"),
        needs_comment=True,
    ),
]

WORKFLOW = Workflow(
    TRANSITIONS,
    name="tolerance.investment",
    states=InvestmentState,
    initial=S.ACTIVE,
    thing=_("investment"),
)

# The audit action of each transition: the machine's name and what happened.
ACTIONS = {
    "record_exit": f"{WORKFLOW.name}.exited",
    "record_failure": f"{WORKFLOW.name}.failed",
    "reopen": f"{WORKFLOW.name}.reopened",
}
