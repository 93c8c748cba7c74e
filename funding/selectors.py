"""Reads of the start-up fund, each scoped to what the user may see. Fixed query counts per page."""

from django.db.models import Count, Prefetch, Q, QuerySet
from django.http import Http404
from django.utils import timezone

from funding.models import Application, ApplicationEvent, ExpertReview, FundUseReport, RecoveryOrder, SubVenueBudget
from funding.workflow import QUEUES, REPORT_QUEUES
from valley.core import calendar, roles, scoping

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


# ------------------------------------------------------------------ the grant after the money: staff


def _reports_in_staff_scope(user) -> QuerySet[FundUseReport]:
    """The fund-use reports of the grants being paid out in the staff member's sub-venues (all for auditors)."""
    if not user.is_authenticated or not (roles.is_staff_member(user) or roles.is_auditor(user)):
        return FundUseReport.objects.none()
    reports = FundUseReport.objects.filter(application__state=S.DISBURSEMENT)
    return scoping.in_scope(reports, user, via="application__sub_venue")


def _report_queue_condition(queue: str, today) -> Q:
    _label, _role, states, overdue_only = REPORT_QUEUES[queue]
    return Q(state__in=states, due_on__lt=today) if overdue_only else Q(state__in=states)


def report_queue(*, user, queue: str, today=None) -> QuerySet[FundUseReport]:
    """The fund-use reports waiting in a report queue (workflow.REPORT_QUEUES), oldest first: the reports to
    review by when they were submitted, the overdue ones by their due date. The grant, its entity and
    sub-venue and the instalment come in the same query; days late come from `with_days_late`."""
    today = today or timezone.localdate()
    overdue_only = REPORT_QUEUES[queue][3]
    return (
        _reports_in_staff_scope(user)
        .filter(_report_queue_condition(queue, today))
        .select_related("instalment", "application__entity", "application__sub_venue")
        .order_by(*(("due_on", "pk") if overdue_only else ("submitted_at", "pk")))
    )


def report_queue_counts(*, user, today=None) -> dict[str, int]:
    """How many reports wait in each report queue: one query."""
    today = today or timezone.localdate()
    return _reports_in_staff_scope(user).aggregate(
        **{key: Count("pk", filter=_report_queue_condition(key, today)) for key in REPORT_QUEUES}
    )


def with_days_late(reports, today=None) -> list[FundUseReport]:
    """The reports, each with `days_late`: the working days (valley.core.calendar) since its due date while it
    is not accepted, else 0. One query for the lot, none when nothing is past due."""
    today = today or timezone.localdate()
    reports = list(reports)
    open_dues = [r.due_on for r in reports if r.state != FundUseReport.State.ACCEPTED]
    late = calendar.working_days_late(open_dues, today) if open_dues else {}
    for report in reports:
        report.days_late = late.get(report.due_on, 0) if report.state != FundUseReport.State.ACCEPTED else 0
    return reports


def grant_reports(*, application: Application, today=None) -> list[FundUseReport]:
    """The fund-use reports of a grant in the order they fall due, with their instalments and `days_late`:
    at most two queries."""
    reports = FundUseReport.objects.filter(application=application).select_related("instalment")
    return with_days_late(reports.order_by("due_on", "pk"), today)


def grant_recovery(*, application: Application) -> RecoveryOrder | None:
    """The grant's recovery order with its repayments, or None: two queries (one when there is none)."""
    return RecoveryOrder.objects.filter(application=application).prefetch_related("repayments").first()
