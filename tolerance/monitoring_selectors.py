"""Reads of post-investment monitoring: the quarterly reports (the startup's own, the portfolio managers'
queue, a company's history, the fund dashboard's section) and the yearly performance evaluation (绩效评价).

Every function runs a fixed number of queries whatever the number of reports or investments; the cost is in
each docstring. Lateness is in working days (valley.core.calendar), read once per page (CalendarWindow).
"""

import datetime
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal

from django.db.models import (
    Case,
    CharField,
    Count,
    DecimalField,
    Exists,
    F,
    IntegerField,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Sum,
    Value,
    When,
    Window,
)
from django.db.models.functions import Coalesce, RowNumber
from django.utils import timezone

from teams.models import Entity
from tolerance.models import CompanyReport, Fund, Investment
from tolerance.monitoring import TO_FILE_STATES
from valley.core.calendar import CalendarWindow
from valley.models import FocusArea

R = CompanyReport.State
FILED_STATES = (R.SUBMITTED, R.ACCEPTED)  # the figures the evaluation counts (a returned report is being corrected)
QUEUE_ROWS = 200
ZERO = Decimal("0.00")
HUNDRED = Decimal("100")


def _percent(part, whole) -> Decimal | None:
    """part / whole as a percentage, rounded half-up to two decimals; None when there is no whole."""
    if not whole:
        return None
    return (Decimal(part) * HUNDRED / Decimal(whole)).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


def mark_lateness(reports: list[CompanyReport], *, today: datetime.date) -> list[CompanyReport]:
    """Set on each report `days_late` (working days after the due date up to its submission, or up to today
    while it is still to be filed), `is_overdue` (still to be filed after the due date) and `was_late`
    (submitted after it). One query for the calendar, none without reports."""
    if not reports:
        return reports
    first = min(report.due_on for report in reports)
    calendar = CalendarWindow(first, max(today, first))
    for report in reports:
        if report.submitted_at is not None and report.state not in TO_FILE_STATES:
            until = timezone.localtime(report.submitted_at).date()
        else:
            until = today
        report.days_late = calendar.working_days_between(report.due_on, until)
        report.is_overdue = report.state in TO_FILE_STATES and today > report.due_on
        report.was_late = report.state not in TO_FILE_STATES and report.days_late > 0
    return reports


# ---------------------------------------------------------------------------- the startup's own


def entity_of_owner(*, user, entity_id: int) -> Entity | None:
    """The startup `entity_id` if `user` keeps it (its owner), else None. One query."""
    if not getattr(user, "is_authenticated", False):
        return None
    return Entity.objects.filter(pk=entity_id, owner=user, kind=Entity.Kind.STARTUP).first()


def reports_of_entity(*, entity: Entity, today: datetime.date) -> list[CompanyReport]:
    """The startup's quarterly reports, newest quarter first, with their lateness. Two queries."""
    reports = list(CompanyReport.objects.filter(entity=entity).order_by("-year", "-quarter"))
    return mark_lateness(reports, today=today)


def company_reports_visible_to(user) -> QuerySet[CompanyReport]:
    """Portfolio readers (staff, auditors) see every report; an applicant those of the startups they keep."""
    from tolerance.selectors import user_can_view_portfolio

    queryset = CompanyReport.objects.select_related("entity")
    if not getattr(user, "is_authenticated", False):
        return queryset.none()
    if user_can_view_portfolio(user):
        return queryset
    return queryset.filter(entity__owner=user)


# ---------------------------------------------------------------------------- portfolio managers' queue

QUEUES = ("overdue", "to_file", "submitted")


@dataclass
class ReportQueue:
    overdue: list[CompanyReport]
    to_file: list[CompanyReport]
    submitted: list[CompanyReport]
    counts: dict[str, int]


def report_queue(*, today: datetime.date) -> ReportQueue:
    """The reports that need someone: overdue (still to be filed after the due date), to be filed (not due
    yet), submitted (waiting for a portfolio manager), each at most QUEUE_ROWS, oldest due date first, with
    the counts of each. Three queries: the counts, the rows, the calendar."""
    overdue_q = Q(state__in=TO_FILE_STATES, due_on__lt=today)
    to_file_q = Q(state__in=TO_FILE_STATES, due_on__gte=today)
    submitted_q = Q(state=R.SUBMITTED)
    counts = CompanyReport.objects.aggregate(
        overdue=Count("pk", filter=overdue_q),
        to_file=Count("pk", filter=to_file_q),
        submitted=Count("pk", filter=submitted_q),
    )
    rows = {name: [] for name in QUEUES}
    base = CompanyReport.objects.select_related("entity").order_by("due_on", "pk")
    # One query for the three lists: each list's first QUEUE_ROWS by a window over its queue.
    queue = Case(
        When(overdue_q, then=Value("overdue")),
        When(to_file_q, then=Value("to_file")),
        When(submitted_q, then=Value("submitted")),
        output_field=CharField(),
    )
    ranked = (
        base.filter(overdue_q | to_file_q | submitted_q)
        .annotate(queue=queue)
        .annotate(rank=Window(RowNumber(), partition_by=[F("queue")], order_by=[F("due_on").asc(), F("pk").asc()]))
    )
    reports = list(ranked.filter(rank__lte=QUEUE_ROWS))
    mark_lateness(reports, today=today)
    for report in reports:
        rows[report.queue].append(report)
    return ReportQueue(**rows, counts=counts)


def company_history(*, entity_id: int, today: datetime.date) -> tuple[Entity, list[Investment], list[CompanyReport]]:
    """A portfolio startup, its investments and every quarterly report, newest first. Four queries; raises
    Entity.DoesNotExist for an entity that is not a startup of the portfolio."""
    entity = Entity.objects.select_related("focus_area").filter(investments__isnull=False).distinct().get(pk=entity_id)
    investments = list(Investment.objects.filter(startup=entity).select_related("fund").order_by("invested_on", "pk"))
    return entity, investments, reports_of_entity(entity=entity, today=today)


# ---------------------------------------------------------------------------- the fund dashboard's section


@dataclass
class FundMonitoring:
    companies: list[Entity]
    overdue_total: int
    submitted_total: int


def fund_monitoring(*, fund: Fund, today: datetime.date) -> FundMonitoring:
    """The fund's portfolio startups, each with its latest filed quarter, its reports overdue and submitted
    (waiting for a decision). One query."""
    reports = CompanyReport.objects.filter(entity=OuterRef("pk")).order_by()
    latest = reports.filter(state__in=FILED_STATES).order_by("-year", "-quarter")
    counted = reports.values("entity")
    companies = list(
        Entity.objects.filter(Exists(Investment.objects.filter(fund=fund, startup=OuterRef("pk"))))
        .annotate(
            latest_year=Subquery(latest.values("year")[:1]),
            latest_quarter=Subquery(latest.values("quarter")[:1]),
            overdue=Coalesce(
                Subquery(
                    counted.filter(state__in=TO_FILE_STATES, due_on__lt=today).annotate(n=Count("pk")).values("n"),
                    output_field=IntegerField(),
                ),
                Value(0),
            ),
            submitted=Coalesce(
                Subquery(
                    counted.filter(state=R.SUBMITTED).annotate(n=Count("pk")).values("n"), output_field=IntegerField()
                ),
                Value(0),
            ),
        )
        .order_by("name_zh", "pk")
    )
    return FundMonitoring(
        companies=companies,
        overdue_total=sum(company.overdue for company in companies),
        submitted_total=sum(company.submitted for company in companies),
    )


# ---------------------------------------------------------------------------- yearly performance evaluation


@dataclass
class FocusShare:
    code: str
    name: str
    principal: Decimal
    share: Decimal | None  # % of the principal, two decimals


@dataclass
class ShareChart:
    """Geometry of the focus-area bar chart, drawn by the template as inline SVG (no script)."""

    width: int = 560
    bar_height: int = 22
    gap: int = 12
    label_width: int = 170
    value_width: int = 70
    bars: list[dict] = field(default_factory=list)

    @property
    def height(self) -> int:
        return max(1, len(self.bars)) * (self.bar_height + self.gap) + self.gap

    @property
    def plot_width(self) -> int:
        return self.width - self.label_width - self.value_width


def share_chart(shares: list[FocusShare]) -> ShareChart:
    chart = ShareChart()
    for index, share in enumerate(shares):
        y = chart.gap + index * (chart.bar_height + chart.gap)
        length = round(chart.plot_width * float(share.share or 0) / 100, 1)
        chart.bars.append(
            {
                "share": share,
                "y": y,
                "text_y": y + chart.bar_height / 2,
                "length": length,
                "value_x": chart.label_width + length + 6,
            }
        )
    return chart


@dataclass
class Evaluation:
    fund: Fund
    year: int
    investment_count: int
    principal: Decimal
    co_investment: Decimal
    leverage: Decimal | None  # (principal + co-investment) / principal, two decimals
    shares: list[FocusShare]
    chart: ShareChart
    startup_count: int
    follow_on_count: int
    follow_on_rate: Decimal | None
    survived_count: int
    survival_rate: Decimal | None
    jobs_created: int
    reporting_startups: int


def fund_evaluation(*, fund: Fund, year: int) -> Evaluation:
    """The yearly performance evaluation (绩效评价) of a fund for `year`, three queries whatever its size:

    - in scope: the fund's investments made by the year's end (31 Dec);
    - focus-area share: each focus area's part of their principal (every focus area listed, also at zero);
    - leverage: (principal + co-investors' money beside it) / principal;
    - survival rate: the share of those investments that had not failed by the year's end (an exit survives);
    - the year's portfolio startups: those invested in by the year's end that had not failed before it began;
      follow-on rate: the share of them with a filed (submitted or accepted) report of that year reporting
      follow-on funding above zero; jobs created: for each of them, employees in its latest filed report of
      the year minus in its first (0 with fewer than two), summed (a loss of jobs counts negative).
    """
    year_end, year_start = datetime.date(year, 12, 31), datetime.date(year, 1, 1)
    money = DecimalField(max_digits=18, decimal_places=2)
    in_scope = Investment.objects.filter(fund=fund, invested_on__lte=year_end)
    failed_by_end = Q(state=Investment.State.FAILED, failed_on__lte=year_end)
    totals = in_scope.aggregate(
        n=Count("pk"),
        principal=Coalesce(Sum("principal"), Value(ZERO), output_field=money),
        co_investment=Coalesce(Sum("co_investment"), Value(ZERO), output_field=money),
        survived=Count("pk", filter=~failed_by_end),
    )
    by_area = Q(
        entities__investments__fund=fund,
        entities__investments__invested_on__lte=year_end,
    )
    areas = list(
        FocusArea.objects.annotate(
            principal=Coalesce(Sum("entities__investments__principal", filter=by_area), Value(ZERO), output_field=money)
        ).order_by("code")
    )
    shares = [
        FocusShare(area.code, area.name, Decimal(area.principal), _percent(area.principal, totals["principal"]))
        for area in areas
    ]

    alive = in_scope.filter(startup=OuterRef("pk")).exclude(state=Investment.State.FAILED, failed_on__lt=year_start)
    filed = CompanyReport.objects.filter(entity=OuterRef("pk"), year=year, state__in=FILED_STATES)
    first = filed.order_by("quarter").values("employees")[:1]
    last = filed.order_by("-quarter").values("employees")[:1]
    jobs = Coalesce(
        Subquery(last, output_field=IntegerField()) - Subquery(first, output_field=IntegerField()), Value(0)
    )
    startups = Entity.objects.filter(Exists(alive)).aggregate(
        n=Count("pk"),
        raised=Count("pk", filter=Q(Exists(filed.filter(follow_on_funding__gt=0)))),
        reported=Count("pk", filter=Q(Exists(filed))),
        jobs=Coalesce(Sum(jobs), Value(0)),
    )
    principal = Decimal(totals["principal"])
    co_investment = Decimal(totals["co_investment"])
    leverage = (
        ((principal + co_investment) / principal).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
        if principal
        else None
    )
    return Evaluation(
        fund=fund,
        year=year,
        investment_count=totals["n"],
        principal=principal,
        co_investment=co_investment,
        leverage=leverage,
        shares=shares,
        chart=share_chart(shares),
        startup_count=startups["n"],
        follow_on_count=startups["raised"],
        follow_on_rate=_percent(startups["raised"], startups["n"]),
        survived_count=totals["survived"],
        survival_rate=_percent(totals["survived"], totals["n"]),
        jobs_created=startups["jobs"],
        reporting_startups=startups["reported"],
    )


def evaluation_years(*, fund: Fund, today: datetime.date) -> list[int]:
    """The years a fund can be evaluated for: from its first investment's year to this one, newest first. One query."""
    first = Investment.objects.filter(fund=fund).order_by("invested_on").values_list("invested_on", flat=True).first()
    if first is None:
        return []
    return list(range(today.year, first.year - 1, -1))
