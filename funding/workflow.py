"""The start-up fund's workflows, each one table (see valley.core.workflow for the mechanism).

The application: draft → submitted → formal review → expert review → awaiting decision → (approved:
public notice | rejected | returned for changes) → registration verification → disbursement → closed
(after the final acceptance has passed and the last instalment is paid), or disbursement → recovery →
closed (when the recovery is repaid). The applicant may withdraw before the decision.

The fund-use report (REPORT_WORKFLOW): to be filed → submitted → accepted, or returned for changes →
submitted again.
"""

from django.utils import formats, timezone
from django.utils.translation import gettext, pgettext_lazy
from django.utils.translation import gettext_lazy as _

from funding.models import Application, FundUseReport
from valley.core import roles
from valley.core.workflow import OWNER, SYSTEM, Transition, Workflow

S = Application.State


def _reviews_complete(application) -> str | None:
    reviews = list(application.reviews.all())
    if not reviews:
        return gettext("Assign at least one expert reviewer first.")
    pending = [review for review in reviews if review.submitted_at is None]
    if pending:
        return gettext("%(count)d expert review(s) are not submitted yet.") % {"count": len(pending)}
    return None


def _notice_over(application) -> str | None:
    if application.objection:
        return gettext("An objection was recorded during the public notice; clear or uphold it first.")
    if application.notice_ends_at:  # a demo policy's notice in minutes
        if application.notice_ends_at > timezone.now():
            return gettext("The public notice runs until %(time)s.") % {
                "time": formats.date_format(timezone.localtime(application.notice_ends_at), "DATETIME_FORMAT")
            }
        return None
    if application.notice_ends_on and application.notice_ends_on >= timezone.localdate():
        return gettext("The public notice runs until %(date)s.") % {"date": application.notice_ends_on}
    return None


def _fully_disbursed(application) -> str | None:
    if application.remaining_to_disburse > 0:
        return gettext("%(amount)s yuan of the approved amount is still to be disbursed.") % {
            "amount": application.remaining_to_disburse
        }
    acceptance = getattr(application, "final_acceptance", None)
    if acceptance is None or acceptance.result != acceptance.Result.PASSED:
        return gettext("The grant closes only after its final acceptance has passed.")
    return None


def _fully_recovered(application) -> str | None:
    order = getattr(application, "recovery", None)
    if order is None or order.outstanding > 0:
        return gettext("%(amount)s yuan of the recovery order is still to be repaid.") % {
            "amount": order.outstanding if order else "?"
        }
    return None


def _acceptance_due(application) -> str | None:
    """The final acceptance comes once every instalment but the last is paid and its report accepted."""
    if getattr(application, "final_acceptance", None) is not None:
        return gettext("The final acceptance has already been recorded.")
    agreement = getattr(application, "agreement", None)
    planned = agreement.instalments.count() if agreement else 0
    paid = application.disbursements.count()
    if paid < planned - 1:
        return gettext("Instalment %(number)s has not been released yet; the final acceptance comes after it.") % {
            "number": planned - 1
        }
    waiting = application.fund_use_reports.exclude(state=FundUseReport.State.ACCEPTED).count()
    if waiting:
        return gettext("%(count)d fund-use report(s) are not accepted yet.") % {"count": waiting}
    return None


BEFORE_DECISION = (S.DRAFT, S.SUBMITTED, S.FORMAL_REVIEW, S.EXPERT_REVIEW, S.AWAITING_DECISION, S.RETURNED)

TRANSITIONS = [
    Transition("submit", (S.DRAFT, S.RETURNED), S.SUBMITTED, frozenset({OWNER}), _("submit")),
    Transition("withdraw", BEFORE_DECISION, S.WITHDRAWN, frozenset({OWNER}), _("withdraw")),
    Transition(
        "start_formal_review",
        (S.SUBMITTED,),
        S.FORMAL_REVIEW,
        frozenset({roles.REVIEWER}),
        _("start the formal review"),
    ),
    Transition(
        "pass_formal_review",
        (S.FORMAL_REVIEW,),
        S.EXPERT_REVIEW,
        frozenset({roles.REVIEWER}),
        _("pass the formal review"),
    ),
    Transition(
        "return_for_changes",
        (S.FORMAL_REVIEW, S.AWAITING_DECISION),
        S.RETURNED,
        frozenset({roles.REVIEWER, roles.APPROVER}),
        _("return for changes"),
        needs_comment=True,
    ),
    Transition(
        "complete_expert_review",
        (S.EXPERT_REVIEW,),
        S.AWAITING_DECISION,
        frozenset({roles.REVIEWER}),
        _("complete the expert review"),
        guard=_reviews_complete,
    ),
    Transition("approve", (S.AWAITING_DECISION,), S.PUBLIC_NOTICE, frozenset({roles.APPROVER}), _("approve")),
    Transition(
        "reject",
        (S.FORMAL_REVIEW, S.AWAITING_DECISION),
        S.REJECTED,
        frozenset({roles.APPROVER}),
        _("reject"),
        needs_comment=True,
    ),
    # When the verified paid-in capital allows less than the fund's minimum, no revision helps: the grant ends.
    Transition(
        "reject_at_registration",
        (S.REGISTRATION,),
        S.REJECTED,
        frozenset({roles.APPROVER}),
        _("reject: the paid-in capital does not allow the minimum grant"),
        needs_comment=True,
    ),
    Transition(
        "revise_amount",
        (S.REGISTRATION,),
        S.REGISTRATION,
        frozenset({roles.APPROVER, roles.REGISTRATION_OFFICER}),
        _("revise the approved amount down"),
        needs_comment=True,
    ),
    Transition(
        "revoke",
        (S.PUBLIC_NOTICE,),
        S.REJECTED,
        frozenset({roles.APPROVER}),
        _("revoke the approval after an objection"),
        needs_comment=True,
    ),
    Transition(
        "end_notice",
        (S.PUBLIC_NOTICE,),
        S.REGISTRATION,
        frozenset({SYSTEM, roles.APPROVER}),
        _("end the public notice"),
        guard=_notice_over,
    ),
    Transition(
        "verify_registration",
        (S.REGISTRATION,),
        S.DISBURSEMENT,
        frozenset({roles.REGISTRATION_OFFICER}),
        _("verify the company registration"),
    ),
    Transition(
        "disburse", (S.DISBURSEMENT,), S.DISBURSEMENT, frozenset({roles.FINANCE_OFFICER}), _("record an instalment")
    ),
    Transition(
        "record_acceptance",
        (S.DISBURSEMENT,),
        S.DISBURSEMENT,
        frozenset({roles.REVIEWER, roles.APPROVER}),
        _("record the final acceptance"),
        needs_comment=True,
        guard=_acceptance_due,
    ),
    Transition(
        "close",
        (S.DISBURSEMENT,),
        S.CLOSED,
        frozenset({roles.FINANCE_OFFICER, SYSTEM}),
        _("close"),
        guard=_fully_disbursed,
    ),
    Transition(
        "open_recovery",
        (S.DISBURSEMENT,),
        S.RECOVERY,
        frozenset({roles.FINANCE_OFFICER, roles.APPROVER}),
        _("open a recovery order"),
        needs_comment=True,
    ),
    Transition(
        "record_repayment",
        (S.RECOVERY,),
        S.RECOVERY,
        frozenset({roles.FINANCE_OFFICER}),
        _("record a repayment"),
    ),
    Transition(
        "complete_recovery",
        (S.RECOVERY,),
        S.CLOSED,
        frozenset({roles.FINANCE_OFFICER, SYSTEM}),
        _("complete the recovery"),
        guard=_fully_recovered,
    ),
]

# The history row a transition writes is named funding.application.<name>, except where the row records
# something more specific than the move (an instalment stays in the disbursement state).
HISTORY_ACTIONS = {
    "disburse": "funding.disbursement.recorded",
    "record_repayment": "funding.repayment.recorded",
    "revise_amount": "funding.application.amount_revised",
    "record_acceptance": "funding.acceptance.recorded",
}


WORKFLOW = Workflow(
    TRANSITIONS,
    name="funding.application",
    states=Application.State,
    initial=S.DRAFT,
    owner_of=lambda application: application.entity.owner_id,
    thing=_("application"),
    actions={
        **{HISTORY_ACTIONS[t.name]: t.label for t in TRANSITIONS if t.name in HISTORY_ACTIONS},
        "funding.application.created": _("application created"),
        "funding.application.document_attached": _("document attached"),
        "funding.application.document_detached": _("document removed"),
        "funding.application.objection_recorded": _("objection recorded"),
        "funding.application.objection_cleared": _("objection cleared"),
        "funding.application.lead_claimed": _("lead claimed"),
        "funding.application.lead_assigned": _("lead assigned"),
        "funding.review.assigned": _("expert reviewer assigned"),
        "funding.review.submitted": _("expert review submitted"),
    },
)


# History rows about the handling among staff: who leads, who reviews, what the reviewers scored, objections
# received during the notice. The applicant's timeline leaves them out (funding.selectors.events_for);
# staff and auditors see every row.
STAFF_ONLY_ACTIONS = frozenset(
    {
        "funding.application.lead_claimed",
        "funding.application.lead_assigned",
        "funding.application.objection_recorded",
        "funding.application.objection_cleared",
        "funding.review.assigned",
        "funding.review.submitted",
    }
)


def history_action(name: str) -> str:
    """The action code of the history row (and its audit entry) that transition `name` writes."""
    WORKFLOW[name]  # a KeyError for a name that is not a transition of the table
    return HISTORY_ACTIONS.get(name, f"{WORKFLOW.name}.{name}")


# What the applicant may still change (amount, purpose, plan, documents): what they will submit.
EDITABLE_STATES = WORKFLOW["submit"].sources

# Transitions that move money: through a browser session, whoever takes them must have re-authenticated
# recently (valley.accounts.reauth), on the pages, in the admin and in the API alike.
MOVES_MONEY = frozenset({"approve", "disburse", "revise_amount", "open_recovery", "record_repayment"})

# Friendlier names for the applicant where the staff name says more than they need.
APPLICANT_STATE_LABELS = {
    S.SUBMITTED: _("submitted, waiting for review"),
    S.FORMAL_REVIEW: _("under review"),
    S.EXPERT_REVIEW: _("under review"),
    S.AWAITING_DECISION: _("under review"),
    S.PUBLIC_NOTICE: _("approved (public notice)"),
    S.REGISTRATION: _("approved, company registration in progress"),
    S.DISBURSEMENT: _("approved, being paid out"),
    S.RECOVERY: _("funds being recovered"),
}

# The steps the applicant sees on their application's page (funding.selectors.application_progress): words
# an applicant understands, each grouping the states of the table above that it stands for. A state in no
# step (rejected, withdrawn, closed) ends the bar where the application stood; the final acceptance happens
# while the grant is being paid out, and is the current step from when it is recorded.
PUBLIC_STEPS = (
    ("draft", pgettext_lazy("applicant's step", "Draft"), (S.DRAFT, S.RETURNED)),
    ("submitted", pgettext_lazy("applicant's step", "Submitted"), (S.SUBMITTED,)),
    ("formal_review", pgettext_lazy("applicant's step", "Formal review"), (S.FORMAL_REVIEW,)),
    ("expert_review", pgettext_lazy("applicant's step", "Expert review"), (S.EXPERT_REVIEW, S.AWAITING_DECISION)),
    ("public_notice", pgettext_lazy("applicant's step", "Public notice"), (S.PUBLIC_NOTICE,)),
    ("agreement", pgettext_lazy("applicant's step", "Agreement"), (S.REGISTRATION,)),
    ("disbursement", pgettext_lazy("applicant's step", "Disbursement"), (S.DISBURSEMENT, S.RECOVERY)),
    ("acceptance", pgettext_lazy("applicant's step", "Final acceptance"), ()),
)

# Staff work queues: which states each role works on.
QUEUES = {
    "formal": (_("Formal review"), roles.REVIEWER, (S.SUBMITTED, S.FORMAL_REVIEW)),
    "expert": (_("Expert review"), roles.REVIEWER, (S.EXPERT_REVIEW,)),
    "decision": (_("Decision"), roles.APPROVER, (S.AWAITING_DECISION, S.PUBLIC_NOTICE)),
    "registration": (_("Registration verification"), roles.REGISTRATION_OFFICER, (S.REGISTRATION,)),
    "disbursement": (_("Disbursement"), roles.FINANCE_OFFICER, (S.DISBURSEMENT,)),
    "recovery": (_("Recoveries"), roles.FINANCE_OFFICER, (S.RECOVERY,)),
}

R = FundUseReport.State

REPORT_TRANSITIONS = [
    Transition("submit", (R.DRAFT, R.RETURNED), R.SUBMITTED, frozenset({OWNER}), _("submit the report")),
    Transition("accept", (R.SUBMITTED,), R.ACCEPTED, frozenset({roles.FINANCE_OFFICER}), _("accept the report")),
    Transition(
        "return",
        (R.SUBMITTED,),
        R.RETURNED,
        frozenset({roles.FINANCE_OFFICER}),
        _("return the report for changes"),
        needs_comment=True,
    ),
]

REPORT_WORKFLOW = Workflow(
    REPORT_TRANSITIONS,
    name="funding.fund_use_report",
    states=FundUseReport.State,
    initial=R.DRAFT,
    owner_of=lambda report: report.application.entity.owner_id,
    thing=_("fund-use report"),
    actions={
        "funding.fund_use_report.created": _("report created"),
        "funding.fund_use_report.changed": _("report changed"),
        "funding.fund_use_report.document_attached": _("document attached"),
        "funding.fund_use_report.document_detached": _("document removed"),
    },
)

# What the applicant may still change in a report: what they will submit.
REPORT_EDITABLE_STATES = REPORT_WORKFLOW["submit"].sources

# Staff work queues of fund-use reports (funding.selectors.report_queue), on grants being paid out: which
# report states each holds, and whether only the reports past their due date. Finance reviews the reports.
REPORT_QUEUES = {
    "reports": (_("Fund-use reports to review"), roles.FINANCE_OFFICER, (R.SUBMITTED,), False),
    "overdue-reports": (_("Overdue fund-use reports"), roles.FINANCE_OFFICER, (R.DRAFT, R.SUBMITTED, R.RETURNED), True),
}
