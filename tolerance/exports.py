"""The portfolio's CSV exports (format: valley.exports.engine): investments, compliance reports, exemption
determinations (of decided cases), exemption cases, quarterly company reports and valuation marks (every
mark, superseded ones too: the auditors' history)."""

from django.utils.translation import gettext_lazy as _

from tolerance import selectors
from tolerance.filters import (
    CompanyReportFilter,
    ComplianceReportFilter,
    ExemptionCaseFilter,
    ExemptionFilter,
    InvestmentFilter,
    ValuationMarkFilter,
)
from tolerance.models import (
    DECIDED_STATES,
    CaseKind,
    CaseState,
    CompanyReport,
    ComplianceReport,
    ExemptionCase,
    ExemptionDetermination,
    GoverningBasis,
    Investment,
    InvestmentParty,
    ValuationMark,
    ValuationMethod,
    Verdict,
)
from tolerance.rates import Rounding, rounding_sql
from valley.exports.engine import Column, Export


def _readable(queryset):
    """Staff and auditors read the whole portfolio; anyone else gets nothing."""
    return lambda user: queryset if selectors.user_can_view_portfolio(user) else queryset.none()


INVESTMENTS = Export(
    name="investments",
    label=_("Equity investments"),
    queryset=lambda user: _readable(Investment.objects.all())(user),
    filterset_class=InvestmentFilter,
    columns=[
        Column("id", _("investment"), "id", "number"),
        Column("fund", _("fund"), "fund__name_zh"),
        Column("startup_id", _("startup id"), "startup_id", "number"),
        Column("startup", _("startup"), "startup__name_zh"),
        Column("invested_on", _("investment date"), "invested_on", "date"),
        Column("principal", _("principal (yuan)"), "principal", "money"),
        Column("co_investment", _("co-investment (yuan)"), "co_investment", "money"),
        Column("stake", _("stake (%)"), "stake", "money"),
        Column("state", _("state"), "state", choices=dict(Investment.State.choices)),
        Column("recovered", _("recovered (yuan)"), "recovered", "money"),
        Column("failure_kind", _("failure kind"), "failure_kind", choices=dict(Investment.FailureKind.choices)),
        Column("failed_on", _("failure date"), "failed_on", "date"),
        Column("meets_standards", _("meets the standards"), "meets_standards", "bool"),
    ],
)


def _reports_with_rounding():
    """Reports with the rounding note of each rate (a rates.Rounding code, "" for none), computed in SQL."""
    return ComplianceReport.objects.annotate(
        count_rounding_code=rounding_sql(part="failed_count", whole="qualifying_count", rate="rate_by_count"),
        amount_rounding_code=rounding_sql(part="qualifying_loss", whole="qualifying_principal", rate="rate_by_amount"),
    )


# Rates are rounded half-up to two decimals and empty when no investment qualified (the verdict says
# "no data"); where a rounded rate equals a line its exact value is not on, the note beside it says so.
REPORTS = Export(
    name="compliance-reports",
    label=_("Compliance reports"),
    queryset=lambda user: _readable(_reports_with_rounding())(user),
    filterset_class=ComplianceReportFilter,
    order_by=("fund_id", "as_of"),
    columns=[
        Column("id", _("report"), "id", "number"),
        Column("fund", _("fund"), "fund__name_zh"),
        Column("as_of", _("as of"), "as_of", "date"),
        Column("investment_count", _("investments"), "investment_count", "number"),
        Column("qualifying_count", _("qualifying investments"), "qualifying_count", "number"),
        Column("failed_count", _("failed qualifying investments"), "failed_count", "number"),
        Column("qualifying_principal", _("qualifying principal (yuan)"), "qualifying_principal", "money"),
        Column("qualifying_loss", _("losses on failed qualifying investments (yuan)"), "qualifying_loss", "money"),
        Column("rate_by_count", _("failure rate by count (%)"), "rate_by_count", "money"),
        Column(
            "rate_by_count_rounding",
            _("note on the rate by count"),
            "count_rounding_code",
            choices=dict(Rounding.choices),
        ),
        Column("rate_by_amount", _("failure rate by amount (%)"), "rate_by_amount", "money"),
        Column(
            "rate_by_amount_rounding",
            _("note on the rate by amount"),
            "amount_rounding_code",
            choices=dict(Rounding.choices),
        ),
        Column("governing_basis", _("governing basis"), "governing_basis", choices=dict(GoverningBasis.choices)),
        Column("tolerance_threshold", _("threshold (%)"), "tolerance_threshold", "money"),
        Column("warning_level", _("warning level (%)"), "warning_level", "money"),
        Column("verdict", _("verdict"), "verdict", choices=dict(Verdict.choices)),
        Column("computed_at", _("computed at"), "computed_at", "datetime"),
    ],
)

EXEMPTIONS = Export(
    name="exemptions",
    label=_("Accountability exemption determinations"),
    # Decided cases only: nobody is exempt before the determination.
    queryset=lambda user: _readable(
        ExemptionDetermination.objects.filter(automatic=False, case__state__in=DECIDED_STATES)
    )(user),
    filterset_class=ExemptionFilter,
    columns=[
        Column("id", _("determination"), "id", "number"),
        Column("case_id", _("case"), "case_id", "number"),
        Column("supersedes_id", _("supersedes"), "supersedes_id", "number"),
        Column("report_id", _("compliance report"), "report_id", "number"),
        Column("investment_id", _("failed investment"), "investment_id", "number"),
        Column("party_role", _("accountable party"), "party__role", choices=dict(InvestmentParty.Role.choices)),
        Column("party_organisation", _("organisation"), "party__organisation"),
        Column("party_person", _("person"), "party__person"),
        Column("exempt", _("exempt from accountability"), "exempt", "bool"),
        Column("reason", _("reasons"), "reason"),
        Column("meeting_date", _("meeting date"), "meeting_date", "date"),
        Column("document_number", _("document number"), "document_number"),
        Column("determined_at", _("determined at"), "determined_at", "datetime"),
    ],
)

CASES = Export(
    name="exemption-cases",
    label=_("Exemption cases"),
    queryset=lambda user: _readable(ExemptionCase.objects.all())(user),
    filterset_class=ExemptionCaseFilter,
    columns=[
        Column("id", _("case"), "id", "number"),
        Column("fund", _("fund"), "investment__fund__name_zh"),
        Column("investment_id", _("failed investment"), "investment_id", "number"),
        Column("kind", _("kind"), "kind", choices=dict(CaseKind.choices)),
        Column("reexamines_id", _("re-examines"), "reexamines_id", "number"),
        Column("report_id", _("compliance report relied on"), "report_id", "number"),
        Column("governing_rate", _("governing failure rate (%)"), "governing_rate", "money"),
        Column("opened_by_check", _("opened by the compliance check"), "opened_by_check", "bool"),
        Column("state", _("step"), "state", choices=dict(CaseState.choices)),
        Column("opened_at", _("opened at"), "opened_at", "datetime"),
        Column("state_changed_at", _("step reached at"), "state_changed_at", "datetime"),
    ],
)


COMPANY_REPORTS = Export(
    name="company-reports",
    label=_("Quarterly company reports"),
    queryset=lambda user: _readable(CompanyReport.objects.all())(user),
    filterset_class=CompanyReportFilter,
    order_by=("entity_id", "year", "quarter"),
    columns=[
        Column("id", _("report"), "id", "number"),
        Column("startup_id", _("startup id"), "entity_id", "number"),
        Column("startup", _("startup"), "entity__name_zh"),
        Column("year", _("year"), "year", "number"),
        Column("quarter", _("quarter"), "quarter", "number"),
        Column("state", _("state"), "state", choices=dict(CompanyReport.State.choices)),
        Column("due_on", _("due on"), "due_on", "date"),
        Column("submitted_at", _("submitted at"), "submitted_at", "datetime"),
        Column("revenue", _("revenue (yuan)"), "revenue", "money"),
        Column("employees", _("employees"), "employees", "number"),
        Column("rd_spend", _("R&D spend (yuan)"), "rd_spend", "money"),
        Column("patents_filed", _("patents filed"), "patents_filed", "number"),
        Column("patents_granted", _("patents granted"), "patents_granted", "number"),
        Column("follow_on_funding", _("follow-on funding raised (yuan)"), "follow_on_funding", "money"),
        Column("decided_at", _("decided at"), "decided_at", "datetime"),
    ],
)


VALUATION_MARKS = Export(
    name="valuation-marks",
    label=_("Valuation marks"),
    queryset=lambda user: _readable(ValuationMark.objects.all())(user),
    filterset_class=ValuationMarkFilter,
    order_by=("investment_id", "as_of", "recorded_at", "id"),
    columns=[
        Column("id", _("valuation mark"), "id", "number"),
        Column("fund", _("fund"), "investment__fund__name_zh"),
        Column("investment_id", _("investment"), "investment_id", "number"),
        Column("startup", _("startup"), "investment__startup__name_zh"),
        Column("as_of", _("valuation date"), "as_of", "date"),
        Column("fair_value", _("fair value (yuan)"), "fair_value", "money"),
        Column("method", _("valuation method"), "method", choices=dict(ValuationMethod.choices)),
        Column("evidence", _("evidence"), "evidence"),
        Column("document_id", _("supporting document"), "document_id", "number"),
        Column("recorded_by", _("recorded by"), "recorded_by__email"),
        Column("recorded_at", _("recorded at"), "recorded_at", "datetime"),
    ],
)

EXPORTS = [INVESTMENTS, REPORTS, EXEMPTIONS, CASES, COMPANY_REPORTS, VALUATION_MARKS]
