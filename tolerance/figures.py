"""Reads of a fund's money: valuation marks, the fund figures (invested, realised, unrealised, MOIC, DPI,
TVPI, IRR) and the value-over-time chart. Every function runs a fixed number of queries whatever the
number of investments or marks; each docstring says how many.

The rules, as the dashboard states them:

- Invested: the principal of every investment made on or before the as-of date.
- Realised: the proceeds of exited investments and the recovered amounts of failed ones (the field
  `Investment.recovered`, "proceeds or recovered amount").
- Unrealised: for each active investment its latest valuation mark on or before the as-of date; an
  active investment without a mark counts at cost (its principal). An investment that failed or exited
  after the as-of date was still held then, and counts the same way.
- MOIC = (realised + unrealised) / invested; DPI = realised / invested; TVPI = (realised + unrealised) /
  paid-in. The portal records what the fund put into companies, not what its partners paid into the fund,
  so paid-in is taken as invested and TVPI equals MOIC here. They differ when paid-in is not invested
  (fees, uninvested calls): TVPI and DPI divide by paid-in, MOIC by invested.
- IRR: the annual rate at which the dated cash flows are worth nothing today (XIRR, 365-day years):
  each principal out on its investment date, each realised amount in on its failure date or, for an
  exit, on the day the exit was recorded (the investment has no exit-date field; the exit's audit entry
  gives the day; see `_exit_day`), and the unrealised value in on the as-of date, as the terminal value.
  The sums per date are the database's; solving for the rate is the one step done in Python (`xirr`).

Ratios and rates are rounded half-up to two decimals; each is None with a reason when undefined.
"""

import datetime
import math
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal

from django.db.models import (
    Case,
    CharField,
    Count,
    DateField,
    DecimalField,
    F,
    IntegerField,
    Min,
    OuterRef,
    Q,
    Subquery,
    Sum,
    Value,
    When,
)
from django.db.models.functions import Cast, Coalesce, TruncDate
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from tolerance.models import Fund, Investment, ValuationMark, ValuationMethod
from tolerance.workflow import ACTIONS
from valley.models import AuditEntry

S = Investment.State
ZERO = Decimal("0.00")
CENT = Decimal("0.01")
MONEY = DecimalField(max_digits=18, decimal_places=2)
MARK_ROWS = 50  # investments listed with their latest mark on the dashboard; the total is always shown
CHART_QUARTERS = 16  # quarter ends drawn in the value chart (four years), besides the as-of date
METHOD_LABELS = dict(ValuationMethod.choices)


# ------------------------------------------------------------------------------------------ expressions


def _latest_mark(field_name: str, *, as_of: datetime.date, outer: str = "pk"):
    """The investment's latest mark on or before `as_of` (the last recorded for that date): one lookup
    in valuation_latest_idx."""
    return Subquery(
        ValuationMark.objects.filter(investment=OuterRef(outer), as_of__lte=as_of)
        .order_by("-as_of", "-recorded_at", "-id")
        .values(field_name)[:1]
    )


def _exit_day():
    """The day an exited investment's exit was recorded: the date of its latest `exited` audit entry.

    The investment model keeps no exit date (an exit is recorded with its proceeds only), so this is the
    best date the portal has. An exit written without an audit entry (the bench generator's bulk rows)
    has none; the callers then take the as-of date."""
    return Subquery(
        AuditEntry.objects.filter(
            object_type=Investment._meta.label_lower,
            object_id=Cast(OuterRef("pk"), CharField()),
            action=ACTIONS["record_exit"],
        )
        .order_by("-at")
        .values(day=TruncDate("at"))[:1],
        output_field=DateField(),
    )


def _realised_by(day: datetime.date) -> Q:
    """Investments whose outcome is known on `day`: failed by then, or exited by then (needs `exit_day`)."""
    return Q(state=S.FAILED, failed_on__lte=day) | Q(state=S.EXITED, exit_day__lte=day)


def _with_exit_day(queryset, *, as_of: datetime.date):
    return queryset.annotate(exit_day=Coalesce(_exit_day(), Value(as_of), output_field=DateField()))


def _held_value(*, as_of: datetime.date):
    return Coalesce(_latest_mark("fair_value", as_of=as_of), F("principal"), output_field=MONEY)


# ------------------------------------------------------------------------------------------------ XIRR


def xirr(flows: list[tuple[datetime.date, float]]) -> float | None:
    """The annual rate r with sum(amount / (1 + r) ** (days / 365)) = 0, days counted from the first date
    (the spreadsheets' XIRR). Amounts: negative out, positive in. None when no rate exists: without both
    a flow out and a flow in, when every flow is on one date, or when no rate in (-100%, 10^9 %) solves it.

    Newton's method from 10% (as the spreadsheets start), and if it strays, bisection over the bracket
    where the sum changes sign (the sum falls as the rate rises when the money goes out first). No query.
    """
    flows = [(day, float(amount)) for day, amount in flows if amount]
    if not any(a < 0 for _d, a in flows) or not any(a > 0 for _d, a in flows):
        return None
    start = min(day for day, _a in flows)
    terms = [((day - start).days / 365.0, amount) for day, amount in flows]
    if all(t == 0 for t, _a in terms):
        return None

    def npv(rate: float) -> float:
        return sum(amount * (1.0 + rate) ** -t for t, amount in terms)

    def slope(rate: float) -> float:
        return sum(-t * amount * (1.0 + rate) ** (-t - 1.0) for t, amount in terms)

    rate = 0.1
    for _step in range(100):
        try:
            value, derivative = npv(rate), slope(rate)
        except (OverflowError, ZeroDivisionError):
            break
        if derivative == 0 or not math.isfinite(value):
            break
        following = rate - value / derivative
        if following <= -1 or not math.isfinite(following):
            break
        if abs(following - rate) < 1e-12:
            return following
        rate = following

    low, high = -0.999999999, 1.0
    try:
        low_value = npv(low)
        while npv(high) * low_value > 0:
            high *= 10
            if high > 1e7:
                return None
    except OverflowError:
        return None
    for _step in range(300):
        middle = (low + high) / 2
        value = npv(middle)
        if value == 0 or (high - low) < 1e-14:
            return middle
        if value * low_value > 0:
            low, low_value = middle, value
        else:
            high = middle
    return (low + high) / 2


# --------------------------------------------------------------------------------------------- figures


def _ratio(part: Decimal, whole: Decimal) -> Decimal:
    return (part / whole).quantize(CENT, rounding=ROUND_HALF_UP)


@dataclass
class FundFigures:
    as_of: datetime.date
    investment_count: int
    invested: Decimal
    realised: Decimal
    unrealised: Decimal
    at_cost_count: int  # active investments without a mark, counted at cost
    first_invested_on: datetime.date | None = None
    moic: Decimal | None = None
    dpi: Decimal | None = None
    tvpi: Decimal | None = None
    irr: Decimal | None = None  # percent, two decimals
    ratio_reason: str = ""  # why MOIC, DPI and TVPI are not shown
    irr_reason: str = ""
    cash_flows: list[tuple[datetime.date, Decimal]] = field(default_factory=list)

    @property
    def total_value(self) -> Decimal:
        return self.realised + self.unrealised


def _cash_flows(fund: Fund, *, as_of: datetime.date, unrealised: Decimal) -> list[tuple[datetime.date, Decimal]]:
    """The fund's dated cash flows, summed per date by the database in ONE query (a UNION of two
    GROUP BYs), plus the terminal value on `as_of`. Oldest first; out negative, in positive."""
    scope = Investment.objects.filter(fund=fund, invested_on__lte=as_of).order_by()
    out = scope.values(day=F("invested_on")).annotate(amount=Sum(F("principal") * -1, output_field=MONEY))
    realised = (
        _with_exit_day(scope, as_of=as_of)
        .filter(_realised_by(as_of), recovered__gt=0)
        .values(day=Case(When(state=S.FAILED, then=F("failed_on")), default=F("exit_day"), output_field=DateField()))
        .annotate(amount=Sum("recovered", output_field=MONEY))
    )
    sums: dict[datetime.date, Decimal] = {}
    for day, amount in out.values_list("day", "amount").union(realised.values_list("day", "amount"), all=True):
        sums[day] = sums.get(day, ZERO) + Decimal(amount)
    if unrealised > 0:
        sums[as_of] = sums.get(as_of, ZERO) + unrealised
    return sorted(sums.items())


def fund_figures(*, fund: Fund, as_of: datetime.date | None = None) -> FundFigures:
    """The fund's figures as of a date (today by default): the sums in ONE aggregate query, the cash flows
    in one more, then XIRR in Python. Two queries whatever the number of investments or marks."""
    as_of = as_of or timezone.localdate()
    scope = _with_exit_day(Investment.objects.filter(fund=fund, invested_on__lte=as_of), as_of=as_of)
    realised_now = _realised_by(as_of)
    scope = scope.annotate(
        held=_held_value(as_of=as_of),
        mark_day=_latest_mark("as_of", as_of=as_of),
    )
    row = scope.aggregate(
        investment_count=Count("pk"),
        invested=Coalesce(Sum("principal"), Value(ZERO), output_field=MONEY),
        realised=Coalesce(Sum("recovered", filter=realised_now), Value(ZERO), output_field=MONEY),
        unrealised=Coalesce(Sum("held", filter=~realised_now), Value(ZERO), output_field=MONEY),
        at_cost_count=Count("pk", filter=~realised_now & Q(mark_day__isnull=True)),
        first_invested_on=Min("invested_on"),
    )
    figures = FundFigures(
        as_of=as_of,
        investment_count=row["investment_count"],
        invested=Decimal(row["invested"]),
        realised=Decimal(row["realised"]),
        unrealised=Decimal(row["unrealised"]),
        at_cost_count=row["at_cost_count"],
        first_invested_on=row["first_invested_on"],
    )
    if not figures.invested:
        figures.ratio_reason = figures.irr_reason = str(_("no investments yet"))
        return figures
    figures.moic = figures.tvpi = _ratio(figures.total_value, figures.invested)
    figures.dpi = _ratio(figures.realised, figures.invested)
    if not figures.total_value:
        figures.irr_reason = str(_("no cash flow in yet: nothing realised and no value held"))
        return figures
    figures.cash_flows = _cash_flows(fund, as_of=as_of, unrealised=figures.unrealised)
    rate = xirr(figures.cash_flows)
    if rate is None:
        if len({day for day, _amount in figures.cash_flows}) < 2:
            figures.irr_reason = str(_("the cash flows span no time yet"))
        else:
            figures.irr_reason = str(_("no rate solves these cash flows"))
    else:
        figures.irr = (Decimal(repr(rate)) * 100).quantize(CENT, rounding=ROUND_HALF_UP)
    return figures


# ------------------------------------------------------------------------------------- marks on pages


def investments_with_latest_mark(*, fund: Fund, as_of: datetime.date | None = None, limit: int = MARK_ROWS):
    """(rows, total): the fund's investments, active first and then newest first, each with its latest mark
    on or before `as_of` (`mark_as_of`, `mark_value`, `mark_method`, `mark_method_label`; None without a
    mark), at most `limit` of them; and how many there are in all. Two queries (one when all fit)."""
    as_of = as_of or timezone.localdate()
    investments = Investment.objects.filter(fund=fund)
    rows = list(
        investments.select_related("startup")
        .annotate(
            mark_as_of=_latest_mark("as_of", as_of=as_of),
            mark_value=_latest_mark("fair_value", as_of=as_of),
            mark_method=_latest_mark("method", as_of=as_of),
            active_first=Case(When(state=S.ACTIVE, then=Value(0)), default=Value(1), output_field=IntegerField()),
        )
        .order_by("active_first", "-invested_on", "pk")[:limit]
    )
    for row in rows:
        row.mark_method_label = METHOD_LABELS.get(row.mark_method, "") if row.mark_method else ""
    total = len(rows) if len(rows) < limit else investments.count()
    return rows, total


def investment_marks(*, investment: Investment) -> list[ValuationMark]:
    """Every mark of the investment, newest first, each with `superseded` (a later-recorded mark for the
    same date counts instead). One query."""
    marks = list(
        ValuationMark.objects.filter(investment=investment)
        .select_related("recorded_by", "document")
        .order_by("-as_of", "-recorded_at", "-id")
    )
    seen: set[datetime.date] = set()
    for mark in marks:
        mark.superseded = mark.as_of in seen
        seen.add(mark.as_of)
    return marks


# ------------------------------------------------------------------------------------- value over time


def quarter_ends(first: datetime.date, last: datetime.date, *, most: int = CHART_QUARTERS) -> list[datetime.date]:
    """The quarter ends from the one on or after `first` up to `last`, the `most` latest of them. No query."""
    ends = []
    year, quarter = first.year, (first.month - 1) // 3 + 1
    while True:
        month = quarter * 3
        end = datetime.date(year, month, 31 if month in (3, 12) else 30)
        if end > last:
            break
        ends.append(end)
        year, quarter = (year + 1, 1) if quarter == 4 else (year, quarter + 1)
    return ends[-most:]


@dataclass
class ValuePoint:
    as_of: datetime.date
    invested: Decimal
    realised: Decimal
    unrealised: Decimal
    x: float = 0.0
    y_invested: float = 0.0
    y_unrealised: float = 0.0
    y_total: float = 0.0

    @property
    def total(self) -> Decimal:
        return self.realised + self.unrealised


@dataclass
class ValueChart:
    """Geometry for the value-over-time chart, drawn by the template as inline SVG (no script). Amounts
    are drawn in millions of yuan (the axis says so in both languages)."""

    width: int = 640
    height: int = 260
    left: int = 56
    right: int = 16
    top: int = 16
    bottom: int = 40
    scale: float = 1.0  # millions of yuan at the top of the plot
    points: list[ValuePoint] = field(default_factory=list)

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

    def y(self, yuan: Decimal) -> float:
        return round(self.top + self.plot_height * (1 - float(yuan) / 1_000_000 / self.scale), 1)

    @property
    def ticks(self) -> list[tuple[str, float]]:
        """Five gridlines from 0 to the top, labelled in millions of yuan (at most two decimals)."""
        step = self.scale / 4
        return [(f"{step * i:,.2f}".rstrip("0").rstrip("."), self.y(Decimal(step * i * 1_000_000))) for i in range(5)]

    def polyline(self, attribute: str) -> str:
        return " ".join(f"{p.x},{getattr(p, attribute)}" for p in self.points)

    @property
    def invested_polyline(self) -> str:
        return self.polyline("y_invested")

    @property
    def unrealised_polyline(self) -> str:
        return self.polyline("y_unrealised")

    @property
    def total_polyline(self) -> str:
        return self.polyline("y_total")

    @property
    def labelled_points(self) -> list[ValuePoint]:
        """Date labels under the axis: at most about six, always the first and the last."""
        step = max(1, -(-len(self.points) // 6))
        return [p for i, p in enumerate(self.points) if i % step == 0 or i == len(self.points) - 1]


def _nice_scale(top_yuan: Decimal) -> float:
    """The top of the axis in millions: the next of 1, 2, 2.5, 5 × 10^n above the largest value."""
    top = float(top_yuan) / 1_000_000
    if top <= 0:
        return 1.0
    power = 10 ** math.floor(math.log10(top))
    for factor in (1, 2, 2.5, 5, 10):
        if top <= factor * power:
            return factor * power
    return 10 * power


def value_chart(*, fund: Fund, as_of: datetime.date | None = None, first: datetime.date | None = None) -> ValueChart:
    """Invested, unrealised (fair value held) and total value (realised + unrealised) at each quarter end
    since the first investment (the CHART_QUARTERS latest) and on the as-of date, by the rules of the
    module docstring applied on each date. ONE aggregate query, and one more for the first investment date
    unless `first` gives it (the fund figures have it)."""
    as_of = as_of or timezone.localdate()
    chart = ValueChart()
    investments = Investment.objects.filter(fund=fund, invested_on__lte=as_of)
    if first is None:
        first = investments.order_by("invested_on").values_list("invested_on", flat=True).first()
    if first is None:
        return chart
    days = quarter_ends(first, as_of)
    if not days or days[-1] != as_of:
        days.append(as_of)
    scope = _with_exit_day(investments, as_of=as_of)
    aggregates = {}
    for i, day in enumerate(days):
        made = Q(invested_on__lte=day)
        done = _realised_by(day)
        aggregates[f"invested_{i}"] = Coalesce(Sum("principal", filter=made), Value(ZERO), output_field=MONEY)
        aggregates[f"realised_{i}"] = Coalesce(Sum("recovered", filter=made & done), Value(ZERO), output_field=MONEY)
        scope = scope.annotate(**{f"held_{i}": _held_value(as_of=day)})
        aggregates[f"unrealised_{i}"] = Coalesce(Sum(f"held_{i}", filter=made & ~done), Value(ZERO), output_field=MONEY)
    row = scope.aggregate(**aggregates)
    chart.points = [
        ValuePoint(
            as_of=day,
            invested=Decimal(row[f"invested_{i}"]),
            realised=Decimal(row[f"realised_{i}"]),
            unrealised=Decimal(row[f"unrealised_{i}"]),
        )
        for i, day in enumerate(days)
    ]
    chart.scale = _nice_scale(max(max(p.invested, p.total) for p in chart.points))
    span = (days[-1] - days[0]).days
    for point in chart.points:
        share = (point.as_of - days[0]).days / span if span else 0.5
        point.x = round(chart.left + chart.plot_width * share, 1)
        point.y_invested = chart.y(point.invested)
        point.y_unrealised = chart.y(point.unrealised)
        point.y_total = chart.y(point.total)
    return chart


@dataclass
class FundValuation:
    figures: FundFigures
    chart: ValueChart
    marks: list[Investment]
    mark_total: int


def fund_valuation(*, fund: Fund, as_of: datetime.date | None = None) -> FundValuation:
    """What the dashboard's valuation section shows: four queries (five with more than MARK_ROWS
    investments) whatever the number of investments or marks."""
    as_of = as_of or timezone.localdate()
    marks, total = investments_with_latest_mark(fund=fund, as_of=as_of)
    figures = fund_figures(fund=fund, as_of=as_of)
    return FundValuation(
        figures=figures,
        chart=value_chart(fund=fund, as_of=as_of, first=figures.first_invested_on),
        marks=marks,
        mark_total=total,
    )
