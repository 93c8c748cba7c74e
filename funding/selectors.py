"""Reads of the start-up fund, each scoped to what the user may see. Fixed query counts per page."""

import datetime
from collections.abc import Iterable

from django.db.models import Count, Prefetch, Q, QuerySet
from django.http import Http404
from django.utils import timezone

from funding.models import (
    Application,
    ApplicationEvent,
    Disbursement,
    ExpertReview,
    FinalAcceptance,
    FundingAgreement,
    FundUseReport,
    FundUseReportEvent,
    RecoveryOrder,
    Repayment,
    SubVenueBudget,
)
from funding.workflow import QUEUES
from valley.core import roles, scoping
from valley.core.calendar import CalendarWindow

S = Application.State


def applications_visible_to(user) -> QuerySet[Application]:
    """Applicants see their own entities' applications; staff their sub-venues'; auditors all."""
    base = Application.objects.select_related("entity", "sub_venue")
    if not user.is_authenticated:
        return base.none()
    if roles.is_staff_member(user) or roles.is_auditor(user):
        return scoping.in_scope(base, user, also=Q(entity__owner=user))
    return base.filter(entity__owner=user)


def applications_of_applicant(user) -> QuerySet[Application]:
    return Application.objects.filter(entity__owner=user).select_related("entity", "sub_venue")


def application_detail(*, user, pk: int) -> Application:
    """The application with its timeline, reviews and instalments, or 404 if the user may not see it."""
    events = ApplicationEvent.objects.select_related("by").order_by("at", "pk")
    try:
        return (
            applications_visible_to(user)
            .select_related("entity__owner", "policy", "budget", "decided_by")
            .prefetch_related(
                Prefetch("events", queryset=events),
                Prefetch("reviews", queryset=ExpertReview.objects.select_related("reviewer")),
                "disbursements",
                "documents",
            )
            .get(pk=pk)
        )
    except Application.DoesNotExist:
        raise Http404 from None


QUEUE_COLUMNS = (
    "pk",
    "state",
    "amount",
    "submitted_at",
    "entity__name_zh",
    "entity__name_en",
    "sub_venue__name_zh",
    "sub_venue__name_en",
)


def work_queue(*, user, queue: str) -> QuerySet[Application]:
    """The applications waiting in a queue, oldest first, with only the columns the queue page shows."""
    _label, _role, states = QUEUES[queue]
    return applications_visible_to(user).filter(state__in=states).only(*QUEUE_COLUMNS).order_by("submitted_at", "pk")


def queue_counts(*, user) -> dict[str, int]:
    """How many applications wait in each queue: one query."""
    counts = applications_visible_to(user).aggregate(
        **{key: Count("pk", filter=Q(state__in=states)) for key, (_l, _r, states) in QUEUES.items()}
    )
    return counts


def budgets_visible_to(user) -> QuerySet[SubVenueBudget]:
    budgets = SubVenueBudget.objects.select_related("sub_venue").order_by("-year", "sub_venue__code")
    if not user.is_authenticated:
        return budgets.none()
    return scoping.in_scope(budgets, user)


def public_notices() -> QuerySet[Application]:
    return (
        Application.objects.filter(state=S.PUBLIC_NOTICE, notice_ends_on__gte=timezone.localdate())
        .select_related("entity__institution", "sub_venue")
        .order_by("notice_ends_on", "pk")
    )


def reviewers_for_assignment():
    from django.contrib.auth import get_user_model

    return get_user_model().objects.filter(is_active=True, groups__name=roles.REVIEWER).order_by("email")


# ---------------------------------------------------------------------------- after the grant

# A report is overdue while it is still the applicant's to file (to be filed, or returned for changes) and its
# due date has passed; a submitted report waits on staff, not on the applicant.
REPORT_OVERDUE_STATES = (FundUseReport.State.DRAFT, FundUseReport.State.RETURNED)


def report_overdue_q(today=None) -> Q:
    """The condition "overdue" on FundUseReport rows, as of `today` (the local date by default)."""
    return Q(state__in=REPORT_OVERDUE_STATES, due_on__lt=today or timezone.localdate())


def report_is_overdue(report: FundUseReport, today=None) -> bool:
    """report_overdue_q for one report already read: no query."""
    return report.state in REPORT_OVERDUE_STATES and report.due_on < (today or timezone.localdate())


def of_visible_applications(queryset: QuerySet, user) -> QuerySet:
    """The rows of `queryset` (a model with an `application`) whose application `user` may see."""
    return queryset.filter(application__in=applications_visible_to(user).values("pk"))


def agreements_visible_to(user) -> QuerySet[FundingAgreement]:
    """Agreements with their milestones, planned instalments and the instalments paid: five queries a page."""
    paid = Disbursement.objects.select_related("recorded_by").order_by("number")
    return of_visible_applications(
        FundingAgreement.objects.select_related("application", "recorded_by").prefetch_related(
            "milestones", "instalments", Prefetch("application__disbursements", queryset=paid)
        ),
        user,
    ).order_by("-recorded_at", "-pk")


def fund_use_reports_visible_to(user) -> QuerySet[FundUseReport]:
    """Reports with their lines, progress, history and documents (ids): six queries a page."""
    events = FundUseReportEvent.objects.select_related("by").order_by("at", "pk")
    return of_visible_applications(
        FundUseReport.objects.select_related(
            "application__entity", "instalment", "decided_by", "released_instalment"
        ).prefetch_related("lines", "progress", Prefetch("events", queryset=events), "documents"),
        user,
    ).order_by("due_on", "pk")


def final_acceptances_visible_to(user) -> QuerySet[FinalAcceptance]:
    return of_visible_applications(FinalAcceptance.objects.select_related("recorded_by"), user).order_by(
        "-recorded_at", "-pk"
    )


def recovery_orders_visible_to(user) -> QuerySet[RecoveryOrder]:
    """Recovery orders with their repayments: two queries a page."""
    repayments = Repayment.objects.select_related("recorded_by").order_by("paid_on", "pk")
    return of_visible_applications(
        RecoveryOrder.objects.select_related("opened_by").prefetch_related(Prefetch("repayments", queryset=repayments)),
        user,
    ).order_by("-opened_at", "-pk")


# ---------------------------------------------------------------------------- fund-use reports: lateness


def report_filed_on(report: FundUseReport) -> datetime.date | None:
    """The day the report was (last) submitted, when it stands submitted or accepted; None while the applicant
    still has to file it (to be filed, or returned for changes)."""
    if report.state in (FundUseReport.State.SUBMITTED, FundUseReport.State.ACCEPTED) and report.submitted_at:
        return timezone.localdate(report.submitted_at)
    return None


def working_days_late(
    report: FundUseReport, today: datetime.date | None = None, *, calendar: CalendarWindow | None = None
) -> int:
    """How many working days late the fund-use report is, or was: from its due date (`report.due_on`) to the
    day it was filed (submitted or accepted: its last submission) or, while the applicant still has to file
    it (to be filed, returned for changes), to `today` (default: today in Asia/Shanghai). 0 when on time.

    Working days come from the calendar (valley.core.calendar): one query, or none when `calendar` (a
    CalendarWindow) is given. For a list use reports_with_working_days_late: one query for all its rows.
    Reads only `due_on`, `state` and `submitted_at`."""
    end = report_filed_on(report) or today or timezone.localdate()
    if end <= report.due_on:
        return 0
    if calendar is None:
        calendar = CalendarWindow(report.due_on, end)
    return calendar.working_days_between(report.due_on, end)


def reports_with_working_days_late(
    reports: Iterable[FundUseReport], today: datetime.date | None = None
) -> list[FundUseReport]:
    """The reports (a page of them: a list or a sliced queryset), each with `working_days_late` set as
    working_days_late() counts it; one query for the calendar, however many rows (plus the queryset's own)."""
    reports = list(reports)
    today = today or timezone.localdate()
    late = [report for report in reports if (report_filed_on(report) or today) > report.due_on]
    calendar = None
    if late:
        calendar = CalendarWindow(min(r.due_on for r in late), max(report_filed_on(r) or today for r in late))
    for report in reports:
        # Without a calendar every report is on time, and is answered without a query.
        report.working_days_late = working_days_late(report, today, calendar=calendar)
    return reports
