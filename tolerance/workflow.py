"""An investment's life, as one table (see valley.core.workflow for the mechanism).

active → exited (with its proceeds) | failed (how, when, and what was recovered). An exit or a failure
recorded in error is reopened (back to active, with a reason), never edited away. Portfolio managers
take every move; SYSTEM is the demo seeds and management commands (by=None).

The services in tolerance/portfolio.py take these transitions; the admin derives the moves a change of
the state field means from the table (`path_to`).
"""

from django.utils.translation import gettext_lazy as _

from tolerance.models import CaseState, CompanyReportState, InvestmentState
from valley.core import roles
from valley.core.workflow import OWNER, SYSTEM, Transition, Workflow

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


# ---------------------------------------------------------------------------- exemption cases (尽职免责)
# opened (by the check, or by a person for a re-examination) → evidence gathered (portfolio managers, once
# every standard has its evidence) → opinion given (the business supervisory department) → determined
# (the decision-making body, per party) → parties notified (closed). The services in tolerance/cases.py
# take these transitions; each also writes its step's own rows.

C = CaseState
GATHERERS = frozenset({roles.PORTFOLIO_MANAGER})
SUPERVISORS = frozenset({roles.EXEMPTION_SUPERVISOR})
DECIDERS = frozenset({roles.EXEMPTION_DECISION_MAKER})

CASE_TRANSITIONS = [
    Transition(
        "gather_evidence",
        (C.OPENED,),
        C.EVIDENCE,
        GATHERERS,
        _("close the gathering of evidence"),
        wrong_state=_("The evidence of this case has already been gathered."),
    ),
    Transition(
        "give_opinion",
        (C.EVIDENCE,),
        C.OPINION,
        SUPERVISORS,
        _("give the supervisory opinion"),
        wrong_state=_("The supervisory opinion is given once the evidence is gathered, and only once."),
    ),
    Transition(
        "determine",
        (C.OPINION,),
        C.DETERMINED,
        DECIDERS,
        _("record the determination"),
        wrong_state=_("The determination follows the supervisory opinion, and is made once per case."),
    ),
    Transition(
        "notify",
        (C.DETERMINED,),
        C.NOTIFIED,
        GATHERERS | DECIDERS,
        _("record that the parties were notified"),
        wrong_state=_("The parties are notified once the case is determined, and only once."),
    ),
]

CASE_WORKFLOW = Workflow(
    CASE_TRANSITIONS,
    name="tolerance.exemption_case",
    states=CaseState,
    initial=C.OPENED,
    thing=_("exemption case"),
    # What each history action is called on the case page and in the admin (codes are stored, words shown).
    actions={
        "tolerance.exemption_case.opened": _("opened"),
        "tolerance.exemption_case.reexamination_opened": _("re-examination opened"),
        "tolerance.exemption_case.evidence_added": _("evidence added"),
        "tolerance.exemption_case.statement_added": _("statement recorded"),
        "tolerance.exemption_case.evidence_gathered": _("evidence gathered"),
        "tolerance.exemption_case.opinion_given": _("opinion given"),
        "tolerance.exemption_case.determined": _("determined"),
        "tolerance.exemption_case.notified": _("parties notified"),
    },
)

# What each role does on a case while it is in a step (for the case page and the mail to the next actor).
CASE_NEXT_ROLES = {
    C.OPENED: GATHERERS,
    C.EVIDENCE: SUPERVISORS,
    C.OPINION: DECIDERS,
    C.DETERMINED: GATHERERS | DECIDERS,
    C.NOTIFIED: frozenset(),
}


# ---------------------------------------------------------------------------- quarterly company reports
#
# to be filed → submitted → accepted, or returned for changes → submitted again. The startup (the owner of
# its entity) submits; portfolio managers accept or return. SYSTEM is the demo seeds (by=None), which file
# and accept the demo startups' reports. Saving the figures is not a move: it is allowed
# in the states "submit" leaves from (REPORT_EDITABLE_STATES).

R = CompanyReportState

REPORT_TRANSITIONS = [
    Transition(
        "submit", (R.DRAFT, R.RETURNED), R.SUBMITTED, frozenset({OWNER, SYSTEM}), _("submit the quarterly report")
    ),
    Transition(
        "accept",
        (R.SUBMITTED,),
        R.ACCEPTED,
        frozenset({roles.PORTFOLIO_MANAGER, SYSTEM}),
        _("accept the quarterly report"),
    ),
    Transition(
        "return",
        (R.SUBMITTED,),
        R.RETURNED,
        frozenset({roles.PORTFOLIO_MANAGER}),
        _("return the quarterly report for changes"),
        needs_comment=True,
    ),
]

REPORT_WORKFLOW = Workflow(
    REPORT_TRANSITIONS,
    name="tolerance.company_report",
    states=CompanyReportState,
    initial=R.DRAFT,
    owner_of=lambda report: report.entity.owner_id,
    thing=_("quarterly report"),
    actions={"tolerance.company_report.opened": _("report opened")},
)

# What the startup may still change: what it will submit.
REPORT_EDITABLE_STATES = REPORT_WORKFLOW["submit"].sources
