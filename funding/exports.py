"""The fund's CSV exports (format: valley.exports.engine). Rows are scoped like the pages: funding.selectors."""

from django.db.models import F, FilteredRelation, Q
from django.utils.translation import gettext_lazy as _

from funding import selectors
from funding.filters import (
    ApplicationEventFilter,
    ApplicationFilter,
    BudgetFilter,
    DisbursementFilter,
    ExpertReviewFilter,
    FundingAgreementFilter,
    FundUseReportFilter,
    PlannedInstalmentFilter,
    RecoveryOrderFilter,
)
from funding.models import (
    EXPENSE_CATEGORIES,
    Application,
    ApplicationEvent,
    Disbursement,
    ExpertReview,
    FinalAcceptance,
    FundingAgreement,
    FundUseReport,
    PlannedInstalment,
    RecoveryOrder,
)
from valley.exports.engine import Column, Export

STATES = dict(Application.State.choices)

APPLICATIONS = Export(
    name="applications",
    label=_("Fund applications and decisions"),
    queryset=selectors.applications_visible_to,
    filterset_class=ApplicationFilter,
    columns=[
        Column("id", _("application"), "id", "number"),
        Column("entity_id", _("entity id"), "entity_id", "number"),
        Column("entity_zh", _("entity (Chinese)"), "entity__name_zh"),
        Column("entity_en", _("entity (English)"), "entity__name_en"),
        Column("sub_venue", _("sub-venue"), "sub_venue__code"),
        Column("state", _("state"), "state", choices=STATES),
        Column("amount", _("amount requested (yuan)"), "amount", "money"),
        Column("purpose", _("purpose"), "purpose"),
        Column("submitted_at", _("submitted at"), "submitted_at", "datetime"),
        Column("approved_amount", _("approved amount (yuan)"), "approved_amount", "money"),
        Column("decided_at", _("decided at"), "decided_at", "datetime"),
        Column("decided_by", _("decided by"), "decided_by__email"),
        Column("notice_ends_on", _("public notice ends on"), "notice_ends_on", "date"),
        Column("paid_in_capital", _("verified paid-in capital (yuan)"), "paid_in_capital", "money"),
        Column("disbursed_total", _("disbursed so far (yuan)"), "disbursed_total", "money"),
    ],
)

HISTORY = Export(
    name="application-history",
    label=_("Application history (every transition)"),
    queryset=lambda user: ApplicationEvent.objects.filter(application__in=selectors.applications_visible_to(user)),
    filterset_class=ApplicationEventFilter,
    columns=[
        Column("id", _("event"), "id", "number"),
        Column("application_id", _("application"), "application_id", "number"),
        Column("at", _("at"), "at", "datetime"),
        Column("action", _("action"), "action"),
        Column("from_state", _("from state"), "from_state", choices=STATES),
        Column("to_state", _("to state"), "to_state", choices=STATES),
        Column("by", _("by"), "by__email"),
        Column("comment", _("comment"), "comment"),
        Column("internal_note", _("internal note"), "internal_note"),
    ],
)

REVIEWS = Export(
    name="expert-reviews",
    label=_("Expert reviews"),
    queryset=lambda user: ExpertReview.objects.filter(application__in=selectors.applications_visible_to(user)),
    filterset_class=ExpertReviewFilter,
    columns=[
        Column("id", _("review"), "id", "number"),
        Column("application_id", _("application"), "application_id", "number"),
        Column("reviewer", _("reviewer"), "reviewer__email"),
        Column("score", _("score (0–100)"), "score", "number"),
        Column(
            "recommendation", _("recommendation"), "recommendation", choices=dict(ExpertReview.Recommendation.choices)
        ),
        Column("opinion", _("opinion"), "opinion"),
        Column("submitted_at", _("submitted at"), "submitted_at", "datetime"),
    ],
)

DISBURSEMENTS = Export(
    name="disbursements",
    label=_("Disbursements (instalments)"),
    queryset=lambda user: Disbursement.objects.filter(application__in=selectors.applications_visible_to(user)),
    filterset_class=DisbursementFilter,
    columns=[
        Column("id", _("disbursement"), "id", "number"),
        Column("application_id", _("application"), "application_id", "number"),
        Column("number", _("instalment"), "number", "number"),
        Column("amount", _("amount (yuan)"), "amount", "money"),
        Column("paid_on", _("paid on"), "paid_on", "date"),
        Column("reference", _("payment reference"), "reference"),
        Column("recorded_by", _("recorded by"), "recorded_by__email"),
        Column("recorded_at", _("recorded at"), "recorded_at", "datetime"),
    ],
)

BUDGETS = Export(
    name="budgets",
    label=_("Sub-venue budgets"),
    queryset=selectors.budgets_visible_to,
    filterset_class=BudgetFilter,
    columns=[
        Column("sub_venue", _("sub-venue"), "sub_venue__code"),
        Column("year", _("year"), "year", "number"),
        Column("amount", _("budget (yuan)"), "amount", "money"),
        Column("reserved", _("reserved by approvals (yuan)"), "reserved", "money"),
        Column("disbursed", _("disbursed (yuan)"), "disbursed", "money"),
        Column("recovered", _("recovered (yuan)"), "recovered", "money"),
    ],
)

# ---------------------------------------------------------------------------- after the grant

REPORT_STATES = dict(FundUseReport.State.choices)


def _grant_columns(path: str) -> list[Column]:
    """The application a row belongs to, as the applications export names it; `path` leads to the application."""
    return [
        Column("application_id", _("application"), f"{path}_id", "number"),
        Column("entity_zh", _("entity (Chinese)"), f"{path}__entity__name_zh"),
        Column("entity_en", _("entity (English)"), f"{path}__entity__name_en"),
        Column("sub_venue", _("sub-venue"), f"{path}__sub_venue__code"),
    ]


AGREEMENTS = Export(
    name="funding-agreements",
    label=_("Funding agreements and final acceptances"),
    queryset=lambda user: selectors.of_visible_applications(FundingAgreement.objects.all(), user),
    filterset_class=FundingAgreementFilter,
    columns=[
        Column("id", _("funding agreement"), "id", "number"),
        *_grant_columns("application"),
        Column("amount", _("approved amount (yuan)"), "amount", "money"),
        Column("purpose", _("purpose"), "purpose"),
        Column("policy_id", _("policy the plan was taken from"), "policy_id", "number"),
        Column("recorded_at", _("recorded at"), "recorded_at", "datetime"),
        Column("recorded_by", _("recorded by"), "recorded_by__email"),
        Column("application_state", _("state"), "application__state", choices=STATES),
        Column("disbursed_total", _("disbursed so far (yuan)"), "application__disbursed_total", "money"),
        Column(
            "acceptance_result",
            _("final acceptance"),
            "application__final_acceptance__result",
            choices=dict(FinalAcceptance.Result.choices),
        ),
        Column("accepted_on", _("date of the acceptance"), "application__final_acceptance__accepted_on", "date"),
        Column("acceptance_reasons", _("reasons"), "application__final_acceptance__reasons"),
        Column(
            "acceptance_recorded_by", _("acceptance recorded by"), "application__final_acceptance__recorded_by__email"
        ),
    ],
)


def _instalments(user):
    """Every planned instalment with the instalment paid against it, if any (one row per planned instalment)."""
    planned = PlannedInstalment.objects.annotate(
        paid=FilteredRelation(
            "agreement__application__disbursements",
            condition=Q(agreement__application__disbursements__number=F("number")),
        )
    )
    return planned.filter(agreement__application__in=selectors.applications_visible_to(user).values("pk"))


INSTALMENTS = Export(
    name="instalments",
    label=_("Instalments, planned and paid, with the report that released each"),
    queryset=_instalments,
    filterset_class=PlannedInstalmentFilter,
    order_by=("agreement__application_id", "number"),
    columns=[
        *_grant_columns("agreement__application"),
        Column("number", _("instalment"), "number", "number"),
        Column("share", _("share (%)"), "share", "number"),
        Column("planned_amount", _("planned amount (yuan)"), "amount", "money"),
        Column("disbursement_id", _("disbursement"), "paid__id", "number"),
        Column("paid_amount", _("paid amount (yuan)"), "paid__amount", "money"),
        Column("paid_on", _("paid on"), "paid__paid_on", "date"),
        Column("reference", _("payment reference"), "paid__reference"),
        Column("recorded_by", _("recorded by"), "paid__recorded_by__email"),
        Column("released_by_report", _("released on the report"), "paid__released_by_report_id", "number"),
        Column("report_accepted_at", _("report accepted at"), "paid__released_by_report__decided_at", "datetime"),
        Column("report_accepted_by", _("report accepted by"), "paid__released_by_report__decided_by__email"),
        Column(
            "released_before_reports", _("released before fund-use reports"), "paid__released_before_reports", "bool"
        ),
    ],
)

REPORTS = Export(
    name="fund-use-reports",
    label=_("Fund-use reports with their expense lines (one row per line)"),
    queryset=lambda user: selectors.of_visible_applications(FundUseReport.objects.all(), user),
    filterset_class=FundUseReportFilter,
    # A report without lines yet has one row, its line columns empty.
    order_by=("pk", "lines__id"),
    columns=[
        Column("id", _("fund-use report"), "id", "number"),
        *_grant_columns("application"),
        Column("instalment", _("on instalment"), "instalment__number", "number"),
        Column("state", _("state"), "state", choices=REPORT_STATES),
        Column("due_on", _("due on"), "due_on", "date"),
        Column("disbursed", _("disbursed so far (yuan)"), "disbursed", "money"),
        Column("spent", _("spent so far (yuan)"), "spent", "money"),
        Column("submitted_at", _("submitted at"), "submitted_at", "datetime"),
        Column("decided_at", _("decided at"), "decided_at", "datetime"),
        Column("decided_by", _("decided by"), "decided_by__email"),
        Column("summary", _("summary"), "summary"),
        Column("line_id", _("expense line"), "lines__id", "number"),
        Column("category", _("category"), "lines__category", choices=dict(EXPENSE_CATEGORIES)),
        Column("line_amount", _("amount (yuan)"), "lines__amount", "money"),
        Column("description", _("description"), "lines__description"),
    ],
)

RECOVERIES = Export(
    name="recoveries",
    label=_("Recovery orders with their repayments (one row per repayment)"),
    queryset=lambda user: selectors.of_visible_applications(RecoveryOrder.objects.all(), user),
    filterset_class=RecoveryOrderFilter,
    # An order with nothing repaid yet has one row, its repayment columns empty.
    order_by=("pk", "repayments__paid_on", "repayments__id"),
    columns=[
        Column("id", _("recovery order"), "id", "number"),
        *_grant_columns("application"),
        Column("reason", _("reason"), "reason", choices=dict(RecoveryOrder.Reason.choices)),
        Column("state", _("state"), "state", choices=dict(RecoveryOrder.State.choices)),
        Column("amount", _("amount to recover (yuan)"), "amount", "money"),
        Column("disbursed_when_opened", _("disbursed when opened (yuan)"), "disbursed_when_opened", "money"),
        Column("recovered", _("recovered (yuan)"), "recovered", "money"),
        Column("opened_at", _("opened at"), "opened_at", "datetime"),
        Column("opened_by", _("opened by"), "opened_by__email"),
        Column("completed_at", _("completed at"), "completed_at", "datetime"),
        Column("explanation", _("explanation"), "explanation"),
        Column("repayment_id", _("repayment"), "repayments__id", "number"),
        Column("repayment_amount", _("repaid (yuan)"), "repayments__amount", "money"),
        Column("paid_on", _("repaid on"), "repayments__paid_on", "date"),
        Column("reference", _("payment reference"), "repayments__reference"),
        Column("repayment_recorded_by", _("recorded by"), "repayments__recorded_by__email"),
        Column("repayment_recorded_at", _("recorded at"), "repayments__recorded_at", "datetime"),
    ],
)

EXPORTS = [APPLICATIONS, HISTORY, REVIEWS, DISBURSEMENTS, BUDGETS, AGREEMENTS, INSTALMENTS, REPORTS, RECOVERIES]
