"""The fund's CSV exports (format: valley.exports.engine). Rows are scoped like the pages: funding.selectors."""

from django.utils.translation import gettext_lazy as _

from funding import selectors
from funding.filters import (
    ApplicationEventFilter,
    ApplicationFilter,
    BudgetFilter,
    DisbursementFilter,
    ExpertReviewFilter,
)
from funding.models import Application, ApplicationEvent, Disbursement, ExpertReview
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
    ],
)

EXPORTS = [APPLICATIONS, HISTORY, REVIEWS, DISBURSEMENTS, BUDGETS]
