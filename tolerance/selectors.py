"""Reads for the portfolio: compliance figures, the fund list, a fund's dashboard, alerts.

Every function runs a fixed number of queries whatever the number of investments; the cost is
stated in each docstring.
"""

import datetime
from dataclasses import dataclass, field
from decimal import Decimal

from django.db.models import (
    Count,
    DecimalField,
    ExpressionWrapper,
    F,
    IntegerField,
    Max,
    OuterRef,
    Prefetch,
    Q,
    QuerySet,
    Subquery,
    Sum,
    Value,
)
from django.db.models.functions import Coalesce

from tolerance.models import (
    DECIDED_STATES,
    UNDECIDED_STATES,
    CaseState,
    ComplianceReport,
    ExemptionCase,
    ExemptionDetermination,
    Fund,
    Investment,
    InvestmentParty,
    Verdict,
    standing_determinations,
)
from tolerance.workflow import CASE_WORKFLOW
from valley.core import roles
from valley.core.calendar import CalendarWindow

ZERO = Decimal("0.00")
CHART_REPORTS = 120  # the most recent reports drawn in a fund's chart


def user_can_view_portfolio(user) -> bool:
    """Staff and auditors read the portfolio; applicants never do."""
    return roles.is_staff_member(user) or roles.is_auditor(user)


def user_can_run_checks(user) -> bool:
    """Any staff member may run a check now (it only applies the rule); auditors only read."""
    return roles.is_staff_member(user)


def portfolio_manager_emails() -> list[str]:
    """Addresses of active portfolio managers, who receive compliance alerts. One query."""
    return roles.emails_of(roles.PORTFOLIO_MANAGER)


@dataclass(frozen=True)
class ComplianceFigures:
    investment_count: int
    qualifying_count: int
    failed_count: int
    unqualified_failed_count: int
    qualifying_principal: Decimal
    qualifying_loss: Decimal
    # The last save of an investment counted (see last_investment_changes); not one of the figures.
    last_change: datetime.datetime | None = field(default=None, compare=False)


def _failed_by(as_of: datetime.date, prefix: str = "") -> Q:
    return Q(**{f"{prefix}state": Investment.State.FAILED, f"{prefix}failed_on__lte": as_of})


def _figure_aggregates(as_of: datetime.date, scope: Q) -> dict:
    """The aggregates of the compliance figures over the rows matching `scope`."""
    qualifying = scope & Q(meets_standards=True)
    failed = _failed_by(as_of)
    money = DecimalField(max_digits=16, decimal_places=2)
    return {
        "investment_count": Count("pk", filter=scope) if scope else Count("pk"),
        "qualifying_count": Count("pk", filter=qualifying),
        "failed_count": Count("pk", filter=qualifying & failed),
        "all_failed_count": Count("pk", filter=scope & failed),
        "qualifying_principal": Coalesce(Sum("principal", filter=qualifying), Value(ZERO), output_field=money),
        "qualifying_loss": Coalesce(
            Sum(ExpressionWrapper(F("principal") - F("recovered"), output_field=money), filter=qualifying & failed),
            Value(ZERO),
            output_field=money,
        ),
    }


def _figures(row: dict, last_change=None) -> ComplianceFigures:
    return ComplianceFigures(
        investment_count=row["investment_count"],
        qualifying_count=row["qualifying_count"],
        failed_count=row["failed_count"],
        unqualified_failed_count=row["all_failed_count"] - row["failed_count"],
        qualifying_principal=Decimal(row["qualifying_principal"]),
        qualifying_loss=Decimal(row["qualifying_loss"]),
        last_change=last_change,
    )


def fund_compliance_figures(*, fund_id: int, as_of: datetime.date, last_change=None) -> ComplianceFigures:
    """Counts and amounts of one fund's portfolio as of a date, aggregated by the database in ONE query.

    In scope: investments made on or before `as_of`. Failed: failed on or before `as_of` (a later
    failure does not count yet). Qualifying: all five standards met (the generated meets_standards column).
    Loss of a failed investment = principal - recovered. PostgreSQL reads the covering index alone.
    `last_change` is the caller's `last_investment_changes` of the fund, read before (under the fund's lock).
    """
    row = Investment.objects.filter(fund_id=fund_id, invested_on__lte=as_of).aggregate(**_figure_aggregates(as_of, Q()))
    return _figures(row, last_change=last_change)


def compliance_figures_by_fund(*, fund_ids: list[int], as_of: datetime.date) -> dict[int, ComplianceFigures]:
    """`fund_compliance_figures` of several funds at once: ONE query grouped by fund (one scan of the table,
    over the same rows and with the same WHERE as a hand-written GROUP BY), after ONE query of the funds'
    `last_investment_changes`.

    Every id asked for is in the result (a fund without investments in scope gets zeros), each with
    `last_change`, the last save of any of the fund's investments, to compare with
    `last_investment_changes` under the lock. It is read BEFORE the aggregate: a save committed in between
    is counted and only makes the check recount; a save after both is seen under the lock. Reading it
    inside the aggregate (max(updated_at)) made the scan visit every row of the table for a column no
    index covers.
    """
    changes = last_investment_changes(fund_ids=fund_ids)
    rows = (
        Investment.objects.filter(fund_id__in=fund_ids, invested_on__lte=as_of)
        .order_by()
        .values("fund_id")
        .annotate(**_figure_aggregates(as_of, Q()))
    )
    figures = {pk: ComplianceFigures(0, 0, 0, 0, ZERO, ZERO, last_change=changes.get(pk)) for pk in fund_ids}
    for row in rows:
        figures[row["fund_id"]] = _figures(row, last_change=changes.get(row["fund_id"]))
    return figures


def last_investment_changes(*, fund_ids: list[int]) -> dict[int, datetime.datetime | None]:
    """When any investment of each fund was last saved (`updated_at`), in ONE query of one index lookup per
    fund (investment_fund_changed_idx). The check compares it with its figures' `last_change`."""
    last = Investment.objects.filter(fund=OuterRef("pk")).order_by("-updated_at").values("updated_at")[:1]
    return dict(Fund.objects.filter(pk__in=fund_ids).annotate(last=Subquery(last)).values_list("pk", "last"))


def failed_qualifying_investments(*, as_of: datetime.date, fund_id: int | None = None, fund_ids=None) -> QuerySet:
    """The failed qualifying investments of a fund (or of the funds `fund_ids`) as of a date: those an
    exemption case is opened for (lazy: the check uses it inside SQL; PostgreSQL reads the covering index)."""
    funds = Q(fund_id=fund_id) if fund_ids is None else Q(fund_id__in=fund_ids)
    return Investment.objects.filter(funds & Q(invested_on__lte=as_of, meets_standards=True) & _failed_by(as_of))


def latest_reports_up_to(*, fund_ids: list[int], as_of: datetime.date) -> dict[int, ComplianceReport]:
    """Each fund's last report on or before `as_of` (the one a check for that date follows, or its own
    earlier run), in ONE query (one lookup of report_one_per_fund_and_date per fund)."""
    latest = (
        ComplianceReport.objects.filter(fund=OuterRef("fund"), as_of__lte=as_of).order_by("-as_of").values("pk")[:1]
    )
    reports = ComplianceReport.objects.filter(fund_id__in=fund_ids, pk=Subquery(latest))
    return {report.fund_id: report for report in reports}


def _latest_report(field_name: str):
    return Subquery(ComplianceReport.objects.filter(fund=OuterRef("pk")).order_by("-as_of").values(field_name)[:1])


def _latest_reports() -> QuerySet:
    """Each fund's latest report (for a Prefetch over funds)."""
    latest = ComplianceReport.objects.filter(fund=OuterRef("fund")).order_by("-as_of").values("pk")[:1]
    return ComplianceReport.objects.filter(pk=Subquery(latest))


def fund_list() -> QuerySet:
    """Funds with their investment count, their latest report's date and verdict (annotations, for
    ordering), and the latest report itself in `latest_reports` (a list of at most one, so that its
    rates show with their rounding notes). Two queries: the funds, and their latest reports."""
    investments = (
        Investment.objects.filter(fund=OuterRef("pk")).order_by().values("fund").annotate(n=Count("pk")).values("n")
    )
    return (
        Fund.objects.annotate(
            investment_total=Coalesce(Subquery(investments, output_field=IntegerField()), Value(0)),
            latest_as_of=_latest_report("as_of"),
            latest_verdict=_latest_report("verdict"),
        )
        .prefetch_related(Prefetch("reports", queryset=_latest_reports(), to_attr="latest_reports"))
        .order_by("name_zh")
    )


def fund_alerts() -> list[ComplianceReport]:
    """The latest report of every fund whose latest report is a warning or a breach, or names failed
    projects that did not meet the standards ("no data" alone is no alert). One query."""
    return list(
        _latest_reports()
        .filter(Q(verdict__in=[Verdict.WARNING, Verdict.BREACH]) | Q(unqualified_failed_count__gt=0))
        .select_related("fund")
        .order_by("fund__name_zh")
    )


@dataclass
class ChartPoint:
    as_of: datetime.date
    rate_by_count: Decimal
    rate_by_amount: Decimal
    verdict: str
    x: float
    y_count: float
    y_amount: float


@dataclass
class RateChart:
    """Geometry for the failure-rate chart, drawn by the template as inline SVG (no script)."""

    width: int = 640
    height: int = 260
    left: int = 48
    right: int = 16
    top: int = 16
    bottom: int = 40
    threshold: Decimal = Decimal("80.00")
    warning_level: Decimal = Decimal("70.00")
    points: list[ChartPoint] = field(default_factory=list)

    @property
    def plot_width(self) -> int:
        return self.width - self.left - self.right

    @property
    def plot_height(self) -> int:
        return self.height - self.top - self.bottom

    @property
    def baseline(self) -> int:
        return self.top + self.plot_height

    @property
    def x_end(self) -> int:
        return self.left + self.plot_width

    def y(self, rate: Decimal) -> float:
        return round(self.top + self.plot_height * (1 - float(rate) / 100), 1)

    @property
    def threshold_y(self) -> float:
        return self.y(self.threshold)

    @property
    def warning_y(self) -> float:
        return self.y(self.warning_level)

    @property
    def ticks(self) -> list[tuple[int, float]]:
        return [(value, self.y(Decimal(value))) for value in range(0, 101, 20)]

    @property
    def count_polyline(self) -> str:
        return " ".join(f"{p.x},{p.y_count}" for p in self.points)

    @property
    def amount_polyline(self) -> str:
        return " ".join(f"{p.x},{p.y_amount}" for p in self.points)

    @property
    def labelled_points(self) -> list[ChartPoint]:
        """Date labels under the axis: at most about eight, always the first and the last."""
        step = max(1, -(-len(self.points) // 8))
        return [p for i, p in enumerate(self.points) if i % step == 0 or i == len(self.points) - 1]


def rate_chart(*, fund: Fund, reports: list[ComplianceReport]) -> RateChart:
    """Place reports (oldest first) on the chart; evenly spaced, one point per report that has rates
    (a "no data" report has none). No queries."""
    chart = RateChart(threshold=fund.tolerance_threshold, warning_level=fund.warning_level)
    reports = [report for report in reports if report.verdict != Verdict.NO_DATA]
    count = len(reports)
    for index, report in enumerate(reports):
        x = chart.left + (chart.plot_width * (index / (count - 1)) if count > 1 else chart.plot_width / 2)
        chart.points.append(
            ChartPoint(
                as_of=report.as_of,
                rate_by_count=report.rate_by_count,
                rate_by_amount=report.rate_by_amount,
                verdict=report.verdict,
                x=round(x, 1),
                y_count=chart.y(report.rate_by_count),
                y_amount=chart.y(report.rate_by_amount),
            )
        )
    return chart


@dataclass
class FundDashboard:
    fund: Fund
    reports: list[ComplianceReport]
    latest: ComplianceReport | None
    chart: RateChart
    failed: list[Investment]
    failed_total: int
    gaps: list[Investment]
    gap_total: int
    has_investments: bool  # any at all: with none, "every investment met the standards" would say nothing true


LIST_ROWS = 50  # failed projects and checklist gaps listed on the page (the most recent); totals always shown


def fund_with_dashboard_stamp(*, fund_id: int) -> Fund:
    """The fund, with `dashboard_stamp`: a string that changes whenever what its dashboard shows changes.

    It is made of the time of the fund's last compliance check (a check writes its report and its
    exemption determinations together), the last change to any of its investments (`updated_at`,
    set by every save, hence every form and admin edit) and the policy's threshold and warning level.
    The fund page keys its cached sections on it. What it does not see (an UPDATE that bypasses
    save(), a deleted row, a renamed startup) shows once FUND_DASHBOARD_CACHE_SECONDS have passed.
    One query (two index lookups); raises Fund.DoesNotExist for an unknown id.
    """
    fund = Fund.objects.annotate(
        last_report_at=Subquery(
            ComplianceReport.objects.filter(fund=OuterRef("pk")).order_by("-computed_at").values("computed_at")[:1]
        ),
        last_investment_at=Subquery(
            Investment.objects.filter(fund=OuterRef("pk")).order_by("-updated_at").values("updated_at")[:1]
        ),
        last_case_step_at=Subquery(
            ExemptionCase.objects.filter(investment__fund=OuterRef("pk"))
            .order_by("-state_changed_at")
            .values("state_changed_at")[:1]
        ),
    ).get(pk=fund_id)
    fund.dashboard_stamp = "|".join(
        str(value)
        for value in (
            fund.last_report_at,
            fund.last_investment_at,
            fund.last_case_step_at,
            fund.tolerance_threshold,
            fund.warning_level,
        )
    )
    return fund


def fund_dashboard(*, fund_id: int | None = None, fund: Fund | None = None) -> FundDashboard:
    """Everything the fund page shows, in at most six queries whatever the number of investments or reports.

    Give the fund (then it is not read again) or its id; raises Fund.DoesNotExist for an unknown id.
    """
    if fund is None:
        fund = Fund.objects.get(pk=fund_id)
    reports = list(reversed(ComplianceReport.objects.filter(fund=fund).order_by("-as_of")[:CHART_REPORTS]))
    latest = reports[-1] if reports else None

    exempt_parties = (
        standing_determinations()
        .filter(investment=OuterRef("pk"), exempt=True)
        .order_by()
        .values("investment")
        .annotate(n=Count("pk"))
        .values("n")
    )
    decided_parties = (
        standing_determinations()
        .filter(investment=OuterRef("pk"))
        .order_by()
        .values("investment")
        .annotate(n=Count("pk"))
        .values("n")
    )
    party_count = (
        InvestmentParty.objects.filter(investment=OuterRef("pk"))
        .order_by()
        .values("investment")
        .annotate(n=Count("pk"))
        .values("n")
    )
    open_case = ExemptionCase.objects.filter(investment=OuterRef("pk"), state__in=UNDECIDED_STATES)
    all_failed = Investment.objects.filter(fund=fund, state=Investment.State.FAILED)
    failed = list(
        all_failed.select_related("startup")
        .annotate(
            exempt_parties=Coalesce(Subquery(exempt_parties, output_field=IntegerField()), Value(0)),
            decided_parties=Coalesce(Subquery(decided_parties, output_field=IntegerField()), Value(0)),
            party_total=Coalesce(Subquery(party_count, output_field=IntegerField()), Value(0)),
            open_case_id=Subquery(open_case.values("pk")[:1]),
            open_case_state=Subquery(open_case.values("state")[:1]),
            open_case_opened_at=Subquery(open_case.values("opened_at")[:1]),
        )
        .order_by("-failed_on", "pk")[:LIST_ROWS]
    )
    failed_total = len(failed) if len(failed) < LIST_ROWS else all_failed.count()
    ages = CaseAges()
    for investment in failed:
        investment.exemption_status = _exemption_status(investment, latest)
        if investment.open_case_id:
            investment.open_case_state_label = CaseState(investment.open_case_state).label
            investment.open_case_age = ages.of(investment.open_case_opened_at)

    incomplete = Investment.objects.filter(fund=fund, meets_standards=False)
    gaps = list(incomplete.select_related("startup").order_by("-invested_on", "pk")[:LIST_ROWS])
    gap_total = len(gaps) if len(gaps) < LIST_ROWS else incomplete.count()
    has_investments = bool(failed or gaps) or Investment.objects.filter(fund=fund).exists()
    return FundDashboard(
        fund=fund,
        reports=reports,
        latest=latest,
        chart=rate_chart(fund=fund, reports=reports),
        failed=failed,
        failed_total=failed_total,
        gaps=gaps,
        gap_total=gap_total,
        has_investments=has_investments,
    )


class ExemptionStatus:
    """What the dashboard, the CSV and the API say of a failed project. Only a decided case exempts."""

    EXEMPT = "exempt"
    NOT_EXEMPT = "not_exempt"
    TO_BE_DECIDED = "to_be_decided"
    STANDARDS_NOT_MET = "standards_not_met"
    ABOVE_TOLERANCE = "above_tolerance"
    NOT_CHECKED = "not_checked"


def _exemption_status(investment: Investment, latest: ComplianceReport | None) -> str:
    """From the annotations of `fund_dashboard` (exempt_parties, decided_parties, open_case_id); no query."""
    if not investment.meets_standards:
        return ExemptionStatus.STANDARDS_NOT_MET
    if investment.exempt_parties:
        return ExemptionStatus.EXEMPT  # a decided exemption stands, even while a re-examination is open
    if investment.open_case_id:
        return ExemptionStatus.TO_BE_DECIDED
    if investment.decided_parties:
        return ExemptionStatus.NOT_EXEMPT
    if latest is None or investment.failed_on > latest.as_of:
        return ExemptionStatus.NOT_CHECKED
    if latest.verdict == Verdict.BREACH:
        return ExemptionStatus.ABOVE_TOLERANCE
    return ExemptionStatus.NOT_CHECKED


def funds_without_report(*, as_of: datetime.date) -> list[int]:
    """Ids of the funds that have no compliance report for `as_of` (one query)."""
    return list(Fund.objects.exclude(reports__as_of=as_of).order_by("pk").values_list("pk", flat=True))


def last_compliance_check_age_seconds() -> float | None:
    """Seconds since the most recent compliance check of any fund was computed; None before the first.
    The metrics' gauge (registered in ToleranceConfig.ready): it grows past a day when the nightly run stops."""
    from django.utils import timezone

    last = ComplianceReport.objects.aggregate(at=Max("computed_at"))["at"]
    return None if last is None else max((timezone.now() - last).total_seconds(), 0.0)


# ---------------------------------------------------------------------------- exemption cases


class CaseAges:
    """How long cases have waited, in working days (from the one calendar, read once for the page) and days."""

    def __init__(self, today: datetime.date | None = None):
        from django.utils import timezone

        self.today = today or timezone.localdate()
        self._window = None

    def of(self, opened_at: datetime.datetime) -> dict:
        from django.utils import timezone

        opened_on = timezone.localdate(opened_at)
        if self._window is None:
            self._window = CalendarWindow(opened_on, self.today)
        return {
            "working_days": self._window.working_days_between(opened_on, self.today),
            "days": max((self.today - opened_on).days, 0),
        }


def user_can_work_on_cases(user) -> bool:
    return user_can_view_portfolio(user)


def case_list(*, fund_id: int | None = None, state: str | None = None) -> QuerySet:
    """Cases with their investment, startup and fund, oldest undecided first (the queue). One query."""
    cases = ExemptionCase.objects.select_related("investment__startup", "investment__fund", "report")
    if fund_id:
        cases = cases.filter(investment__fund_id=fund_id)
    if state:
        cases = cases.filter(state=state)
    return cases.order_by("state_changed_at", "pk")


def with_ages(cases) -> list[ExemptionCase]:
    """The cases as a list, each with `age` (working days and days since it was opened). One calendar query."""
    cases = list(cases)
    ages = CaseAges()
    for case in cases:
        case.age = ages.of(case.opened_at)
    return cases


def case_detail(*, case_id: int) -> ExemptionCase:
    """A case with everything its page shows, in a fixed number of queries (eight); raises DoesNotExist."""
    from django.db.models import Prefetch

    from tolerance.models import CaseEvent, CaseEvidence, CaseStatement

    case = (
        ExemptionCase.objects.select_related(
            "investment__startup",
            "investment__fund",
            "report",
            "reexamines",
            "opened_by",
            "opinion__given_by",
            "notification__recorded_by",
        )
        .prefetch_related(
            Prefetch("evidence", CaseEvidence.objects.select_related("confirmed_by").prefetch_related("documents")),
            Prefetch("statements", CaseStatement.objects.select_related("party", "recorded_by")),
            Prefetch(
                "determinations",
                ExemptionDetermination.objects.select_related("party", "determined_by", "supersedes").order_by("pk"),
            ),
            Prefetch("events", CaseEvent.objects.select_related("by").order_by("at", "pk")),
            Prefetch("investment__parties", InvestmentParty.objects.order_by("pk")),
            Prefetch("investment__documents"),
        )
        .get(pk=case_id)
    )
    case.age = CaseAges().of(case.opened_at)
    for event in case.events.all():
        event.label = CASE_WORKFLOW.action_label(event.action)
    return case


def case_is_decided(case: ExemptionCase) -> bool:
    return case.state in DECIDED_STATES
