"""Reads of the start-up fund, each scoped to what the user may see. Fixed query counts per page."""

import datetime
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal

from django.db.models import Count, F, Prefetch, Q, QuerySet
from django.http import Http404
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from funding.models import (
    AgreementMilestone,
    Application,
    ApplicationEvent,
    Disbursement,
    ExpertReview,
    FinalAcceptance,
    FundingAgreement,
    FundPolicy,
    FundUseReport,
    FundUseReportEvent,
    MilestoneProgress,
    PlannedInstalment,
    RecoveryOrder,
    Repayment,
    SubVenueBudget,
)
from funding.workflow import PUBLIC_STEPS, QUEUES, REPORT_QUEUES, STAFF_ONLY_ACTIONS
from valley.core import roles, scoping
from valley.core.calendar import CalendarWindow, add_working_days
from valley.guides import FUND
from valley.models import Guide

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
    # The agreement (joined, no query of its own) says whether the row links to the grant's page.
    return Application.objects.filter(entity__owner=user).select_related("entity", "sub_venue", "agreement")


def events_for(user, events: QuerySet[ApplicationEvent] | None = None) -> QuerySet[ApplicationEvent]:
    """The history rows `user` may read: staff and auditors every row; the applicant those that concern them,
    which are the steps that moved the application and the rows that say something to them. The handling
    among staff (STAFF_ONLY_ACTIONS) and rows with nothing but an internal note are left out."""
    events = ApplicationEvent.objects.all() if events is None else events
    if roles.is_staff_member(user) or roles.is_auditor(user):
        return events
    return events.exclude(action__in=STAFF_ONLY_ACTIONS).exclude(
        Q(from_state=F("to_state")) & Q(comment="") & Q(message="")
    )


def application_detail(*, user, pk: int) -> Application:
    """The application with its timeline (the rows `user` may read, events_for), reviews and instalments, or
    404 if the user may not see it."""
    events = events_for(user, ApplicationEvent.objects.select_related("by").order_by("at", "pk"))
    try:
        return (
            applications_visible_to(user)
            .select_related("entity__owner", "policy", "budget", "decided_by", "agreement", "lead")
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
    "lead__email",
)


def work_queue(*, user, queue: str) -> QuerySet[Application]:
    """The applications waiting in a queue, oldest first, with only the columns the queue page shows."""
    _label, _role, states = QUEUES[queue]
    return (
        applications_visible_to(user)
        .filter(state__in=states)
        .select_related("lead")
        .only(*QUEUE_COLUMNS)
        .order_by("submitted_at", "pk")
    )


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


# The columns the public notice of grants may show: what the policy names (PRIVACY_PUBLIC_NOTICE_FIELDS) is shown,
# in that order. None of them is personal data: the notice names the entity, never its people.
NOTICE_COLUMNS = {
    "entity": _("Team or startup"),
    "institution": _("Institution"),
    "sub_venue": _("Sub-venue"),
    "approved_amount": _("Grant"),
    "notice_ends_on": _("Notice ends on"),
}


def public_notice_columns() -> list[dict]:
    from django.conf import settings

    return [
        {"name": name, "label": NOTICE_COLUMNS[name], "num": name == "approved_amount"}
        for name in settings.PRIVACY_PUBLIC_NOTICE_FIELDS
    ]


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


# ------------------------------------------------------------------ the grant after the money: applicant


def grant_detail(*, user, pk: int) -> Application:
    """The grant of application `pk` for its page: the agreement with its milestones and plan, the paid
    instalments, the fund-use reports, the final acceptance, the recovery order with its repayments, and the
    comments of its history newest first (in `.history_comments`). 404 if the user may not see the application
    or it has no agreement yet. One query for the application and one per list (at most seven), whatever
    their lengths."""
    reports = FundUseReport.objects.select_related("instalment").order_by("instalment__number", "pk")
    comments = events_for(user, ApplicationEvent.objects.exclude(comment="", message="").order_by("-at", "-pk"))
    try:
        return (
            applications_visible_to(user)
            .filter(agreement__isnull=False)
            .select_related("entity__owner", "agreement", "final_acceptance", "recovery")
            .prefetch_related(
                Prefetch("agreement__milestones", queryset=AgreementMilestone.objects.order_by("order")),
                Prefetch("agreement__instalments", queryset=PlannedInstalment.objects.order_by("number")),
                Prefetch("disbursements", queryset=Disbursement.objects.order_by("number")),
                Prefetch("fund_use_reports", queryset=reports),
                Prefetch("recovery__repayments", queryset=Repayment.objects.order_by("paid_on", "pk")),
                Prefetch("events", queryset=comments, to_attr="history_comments"),
            )
            .get(pk=pk)
        )
    except Application.DoesNotExist:
        raise Http404 from None


def release_problem(app: Application, amount: Decimal | None = None):
    """Why the next instalment of `app` may not be released now (a translated reason), or None; with the
    planned instalment and the report that releases it. Called under the application's row lock by
    application_disburse, and by the pages and the API to say so before anyone fills in a form."""
    if app.state != S.DISBURSEMENT:
        return gettext("Instalments are released only while the grant is being paid out."), None, None
    agreement = FundingAgreement.objects.filter(application=app).first()
    if agreement is None:
        return gettext("This grant has no funding agreement yet; verify the registration first."), None, None
    planned = list(agreement.instalments.order_by("number"))
    paid = list(app.disbursements.order_by("number"))
    if len(paid) >= len(planned):
        return (
            gettext("All %(count)d instalments of the plan have been released.") % {"count": len(planned)},
            None,
            None,
        )
    next_planned = planned[len(paid)]
    if amount is not None and amount != next_planned.amount:
        return (
            gettext("Instalment %(number)s of the plan is %(amount)s yuan; release exactly that.")
            % {"number": next_planned.number, "amount": f"{next_planned.amount:,.2f}"},
            next_planned,
            None,
        )
    report = None
    if paid:
        report = FundUseReport.objects.filter(instalment=paid[-1]).first()
        if report is None or report.state != FundUseReport.State.ACCEPTED:
            state = report.get_state_display() if report else gettext("not filed")
            return (
                gettext(
                    "Instalment %(number)s is released once the fund-use report on instalment %(previous)s is "
                    "accepted; that report is “%(state)s”."
                )
                % {"number": next_planned.number, "previous": paid[-1].number, "state": state},
                next_planned,
                None,
            )
    if next_planned.number == len(planned) and len(planned) > 1:
        acceptance = FinalAcceptance.objects.filter(application=app).first()
        if acceptance is None or acceptance.result != FinalAcceptance.Result.PASSED:
            return (
                gettext("The last instalment is released once the final acceptance has passed."),
                next_planned,
                report,
            )
    return None, next_planned, report


@dataclass(frozen=True)
class InstalmentStep:
    """One instalment of the plan as the grant's page shows it: paid (with its payment), the next one, or
    waiting; `reason` says what it waits for ("" when paid, or when the next one may be released now)."""

    planned: PlannedInstalment
    paid: Disbursement | None
    is_next: bool
    reason: str


def grant_instalments(application: Application) -> list[InstalmentStep]:
    """The plan of a grant from grant_detail, step by step. The reason of the next instalment is
    release_problem's, the one the release itself gives (its own few queries, a fixed number)."""
    planned = list(application.agreement.instalments.all())
    paid = {d.number: d for d in application.disbursements.all()}
    problem, next_planned, _report = release_problem(application)
    last = planned[-1].number if planned else None
    steps = []
    for step in planned:
        if step.number in paid:
            steps.append(InstalmentStep(step, paid[step.number], False, ""))
            continue
        is_next = next_planned is not None and step.number == next_planned.number
        if is_next or application.state != S.DISBURSEMENT:
            reason = problem or ""
        elif step.number == last and len(planned) > 1:
            reason = gettext(
                "Waiting for the fund-use report on instalment %(number)s to be accepted and for the final acceptance."
            ) % {"number": step.number - 1}
        else:
            reason = gettext("Waiting for the fund-use report on instalment %(number)s to be accepted.") % {
                "number": step.number - 1
            }
        steps.append(InstalmentStep(step, None, is_next, reason))
    return steps


def fund_use_report_detail(*, user, pk: int) -> FundUseReport:
    """A fund-use report with what its page shows (lines, progress, documents, history, the agreement's
    milestones), or 404 if the user may not see its application. A fixed number of queries."""
    events = FundUseReportEvent.objects.select_related("by").order_by("at", "pk")
    milestones = AgreementMilestone.objects.order_by("order")
    try:
        return (
            FundUseReport.objects.filter(application__in=applications_visible_to(user).values("pk"))
            .select_related(
                "application__entity__owner", "application__sub_venue", "application__agreement", "instalment"
            )
            .prefetch_related(
                "lines",
                Prefetch("progress", queryset=MilestoneProgress.objects.order_by("order")),
                "documents",
                Prefetch("events", queryset=events),
                Prefetch("application__agreement__milestones", queryset=milestones),
            )
            .get(pk=pk)
        )
    except FundUseReport.DoesNotExist:
        raise Http404 from None


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
    """The reports, each with `days_late` as working_days_late counts it (late until filed): one calendar query
    for the lot (reports_with_working_days_late), none when nothing is past due."""
    reports = reports_with_working_days_late(reports, today)
    for report in reports:
        report.days_late = report.working_days_late
    return reports


def grant_reports(*, application: Application, today=None) -> list[FundUseReport]:
    """The fund-use reports of a grant in the order they fall due, with their instalments and `days_late`:
    at most two queries."""
    reports = FundUseReport.objects.filter(application=application).select_related("instalment")
    return with_days_late(reports.order_by("due_on", "pk"), today)


def grant_recovery(*, application: Application) -> RecoveryOrder | None:
    """The grant's recovery order with its repayments, or None: two queries (one when there is none)."""
    return RecoveryOrder.objects.filter(application=application).prefetch_related("repayments").first()


# ---------------------------------------------------------------------------- who may apply (eligibility)


@dataclass(frozen=True)
class Condition:
    """One condition of the fund (DOMAIN.md): `met` or not, what to say when not, and the page that fixes it."""

    code: str
    met: bool
    label: str
    problem: str
    fix_url: str = ""
    fix_label: str = ""


# The conditions on the entity that application_create / application_submit enforce, in the order they say so.
ENTITY_CONDITIONS = ("resident", "never_granted", "no_open_application")


def _eligibility_annotated(entities: QuerySet, exclude_application: int | None) -> QuerySet:
    from django.db.models import Exists, OuterRef

    from teams.models import Residency

    others = Application.objects.filter(entity=OuterRef("pk")).exclude(pk=exclude_application)
    return entities.annotate(
        _is_resident=Exists(Residency.objects.filter(entity=OuterRef("pk"), status__in=Residency.ACTIVE_STATUSES)),
        _was_granted=Exists(others.filter(state__in=Application.GRANTED_STATES)),
        _has_open=Exists(others.exclude(state__in=Application.ENDED_STATES)),
    )


def eligibility(*, user, entities: QuerySet, exclude_application: int | None = None) -> dict:
    """Whether `user` and each of `entities` meet the fund's conditions: {"user": [Condition],
    entity: [Condition], ...}. One query for all the entities, whatever their number. The services'
    checks (services.entity_eligibility_problem) read the entity conditions from here, so the guide's
    pre-check and the refusal of a submission always agree. `exclude_application` is the application being
    submitted (it does not count as "another open application")."""
    from django.urls import reverse

    confirmed = getattr(user, "email_confirmed_at", None) is not None
    answer = {
        "user": [
            Condition(
                "email_confirmed",
                confirmed,
                gettext("Your e-mail address is confirmed."),
                gettext("Confirm your e-mail address first: open the link in the mail we sent you, then try again."),
                reverse("teams:entity_list"),
                gettext("Send the confirmation mail again"),
            )
        ]
    }
    for entity in _eligibility_annotated(entities, exclude_application):
        what = {"entity": entity}
        answer[entity] = [
            Condition(
                "resident",
                entity._is_resident,
                gettext("Resident in a sub-venue (selected or entered)."),
                gettext("%(entity)s must be resident in a sub-venue (selected or entered) to apply.") % what,
                reverse("teams:residency_request_new", args=[entity.pk]),
                gettext("Ask for residency"),
            ),
            Condition(
                "never_granted",
                not entity._was_granted,
                gettext("Never granted the start-up fund before."),
                gettext("%(entity)s has already been granted the start-up fund; it is granted once only.") % what,
            ),
            Condition(
                "no_open_application",
                not entity._has_open,
                gettext("No other application open."),
                gettext("%(entity)s already has an open application; finish or withdraw it first.") % what,
                reverse("funding:mine"),
                gettext("My applications"),
            ),
        ]
    return answer


def entity_eligibility_problem(entity, *, codes=ENTITY_CONDITIONS, exclude_application: int | None = None):
    """The first of the entity conditions `codes` that `entity` does not meet, as its message; None when all
    are met. What application_create and application_submit refuse with."""
    from teams.models import Entity

    found = eligibility(
        user=None, entities=Entity.objects.filter(pk=entity.pk), exclude_application=exclude_application
    )
    conditions = next((value for key, value in found.items() if key != "user"), [])
    for condition in conditions:
        if condition.code in codes and not condition.met:
            return condition.problem
    return None


def guide_precheck(user) -> list:
    """The fund guide's pre-check (registered with valley.guides in FundingConfig.ready): the account's
    condition, then each of the user's own teams with the entity conditions."""
    from django.utils.translation import gettext as _

    from teams.models import Entity
    from valley.guides import Check, PrecheckGroup

    def checks(conditions):
        return [Check(c.label, c.met, c.fix_url, c.fix_label) for c in conditions]

    from django.urls import reverse

    found = eligibility(user=user, entities=Entity.objects.filter(owner=user).order_by("name_zh", "pk"))
    account = PrecheckGroup(_("Your account"), checks(found.pop("user")))
    groups = [account]
    for entity, conditions in found.items():
        group = PrecheckGroup(entity.name, checks(conditions))
        if account.all_met and group.all_met:  # nothing stands in the way: the form, with this team chosen
            go_url, go_label = f"{reverse('funding:new')}?entity={entity.pk}", _("Apply for the start-up fund")
            group = PrecheckGroup(group.title, group.checks, go_url=go_url, go_label=go_label)
        groups.append(group)
    if len(groups) == 1:
        groups.append(
            PrecheckGroup(
                _("Your team or startup"),
                [
                    Check(
                        _("A team or startup profile."), False, reverse("teams:entity_create"), _("Create its profile")
                    )
                ],
            )
        )
    return groups


# ------------------------------------------------------------------ the applicant's step bar


@dataclass(frozen=True)
class PublicStep:
    """One step of the applicant's step bar: its words, where the application is on it ("done", "current",
    "ended" where it stopped, "upcoming" or "not_reached" after an end), the day it was reached, and what
    is expected of it: by a date (`expected_on`) or, before there is a date to count from, a span (`hint`)."""

    code: str
    label: str
    status: str
    reached_on: datetime.date | None = None
    expected_on: datetime.date | None = None
    hint: str = ""

    @property
    def is_current(self) -> bool:
        return self.status in ("current", "ended")


@dataclass(frozen=True)
class Progress:
    steps: list[PublicStep]
    # What comes next: "you" when the applicant must act, "valley" when they wait, "" when it is over.
    next_by: str
    next_text: str
    expected_on: datetime.date | None = None


def _stopped_from(events, state: str) -> str:
    """The state the application left for `state` (its last move there), or draft."""
    for event in reversed(events):
        if event.to_state == state and event.from_state and event.from_state != state:
            return event.from_state
    return S.DRAFT


def application_progress(application: Application, *, events=None, reports=(), recovery=None, today=None) -> Progress:
    """Where `application` stands on the applicant's steps (funding.workflow.PUBLIC_STEPS), with the dates:
    the review ends with a decision within the fund guide's time limit in working days of the submission
    (valley.core.calendar), the public notice runs the policy's notice days after the decision. `events` are
    its history rows in order (the page's prefetched timeline: no query), `reports` and `recovery` what the
    page read of the grant. At most three queries: the guide, the calendar, the policy of a draft."""
    today = today or timezone.localdate()
    events = list(application.events.all() if events is None else events)
    state = application.state
    step_of = {s: index for index, (_code, _label, states) in enumerate(PUBLIC_STEPS) for s in states}
    index_of = {code: index for index, (code, _label, _states) in enumerate(PUBLIC_STEPS)}
    accepted = any(e.action == "funding.acceptance.recorded" for e in events)
    recovered = any(e.to_state == S.RECOVERY for e in events)

    ended = state in (S.REJECTED, S.WITHDRAWN) or (state == S.CLOSED and recovered)
    if state in (S.REJECTED, S.WITHDRAWN):
        current = step_of.get(_stopped_from(events, state), 0)
    elif state == S.CLOSED:
        current = index_of["acceptance"] if accepted or not recovered else index_of["disbursement"]
    elif state in (S.DISBURSEMENT, S.RECOVERY) and accepted:
        current = index_of["acceptance"]
    else:
        current = step_of.get(state, 0)
    finished = state == S.CLOSED and not recovered

    # The dates: the decision is due a time limit of working days after the submission, the notice ends the
    # policy's number of days after the decision (as application_approve sets it).
    guide = Guide.objects.filter(service=FUND).only("time_limit_working_days").first()
    limit = guide.time_limit_working_days if guide else None
    submitted_on = timezone.localdate(application.submitted_at) if application.submitted_at else None
    decision_due = None
    if limit and submitted_on and state != S.RETURNED:
        decision_due = add_working_days(submitted_on, limit)
    policy = application.policy if application.policy_id else FundPolicy.objects.latest()
    notice_ends = application.notice_ends_on
    if notice_ends is None and decision_due and current <= index_of["expert_review"] and not ended:
        notice_ends = decision_due + datetime.timedelta(days=policy.notice_days)
    reached: dict[int, datetime.date] = {}
    for event in events:
        if event.to_state in step_of and event.from_state != event.to_state:
            reached[step_of[event.to_state]] = timezone.localdate(event.at)
    if accepted:
        reached[index_of["acceptance"]] = next(
            timezone.localdate(e.at) for e in events if e.action == "funding.acceptance.recorded"
        )

    steps = []
    for index, (code, label, _states) in enumerate(PUBLIC_STEPS):
        if index < current or (finished and index == current):
            status = "done"
        elif index == current:
            status = "ended" if ended else "current"
        else:
            status = "not_reached" if ended else "upcoming"
        expected, hint = None, ""
        if status in ("current", "upcoming"):
            if code == "expert_review":
                expected = decision_due
                if not expected and limit:
                    hint = gettext("decision within %(days)s working days of the submission") % {"days": limit}
            elif code == "public_notice":
                expected = notice_ends
                if not expected:
                    hint = gettext("%(days)s days after the approval") % {"days": policy.notice_days}
        steps.append(
            PublicStep(
                code,
                str(label),
                status,
                reached.get(index) if status == "done" or index <= current else None,
                expected,
                hint,
            )
        )
    next_by, next_text, next_on = _next_step(application, state, decision_due, reports, recovery, accepted)
    return Progress(steps, next_by, next_text, next_on)


def _on(day) -> dict:
    return {"date": date_format(day, "DATE_FORMAT") if day else "—"}


def _next_step(application, state, decision_due, reports, recovery, accepted):
    """(who acts: "you", "valley" or "", what, by when) for the applicant."""
    if state == S.DRAFT:
        return "you", gettext("Complete the application, attach the documents and submit it."), None
    if state == S.RETURNED:
        return "you", gettext("Change the application as the staff ask above, then submit it again."), None
    if state in (S.SUBMITTED, S.FORMAL_REVIEW, S.EXPERT_REVIEW, S.AWAITING_DECISION):
        if decision_due:
            return (
                "valley",
                gettext("The valley reviews your application; a decision is expected by %(date)s.") % _on(decision_due),
                (decision_due),
            )
        return "valley", gettext("The valley reviews your application."), None
    if state == S.PUBLIC_NOTICE:
        return (
            "valley",
            gettext("Your approval is on public notice until %(date)s; then government staff register your company.")
            % _on(application.notice_ends_on),
            application.notice_ends_on,
        )
    if state == S.REGISTRATION:
        return (
            "valley",
            gettext(
                "Government staff register your company and record the funding agreement; they contact you "
                "for the papers they need."
            ),
            None,
        )
    if state == S.DISBURSEMENT:
        for report in reports:
            if report.state in (FundUseReport.State.DRAFT, FundUseReport.State.RETURNED):
                return (
                    "you",
                    gettext("File the fund-use report on instalment %(number)s by %(date)s.")
                    % {"number": report.instalment.number, **_on(report.due_on)},
                    report.due_on,
                )
        for report in reports:
            if report.state == FundUseReport.State.SUBMITTED:
                return (
                    "valley",
                    gettext("The valley reviews your fund-use report on instalment %(number)s.")
                    % {"number": report.instalment.number},
                    None,
                )
        if accepted:
            return "valley", gettext("The final acceptance is recorded; the last instalment follows."), None
        return "valley", gettext("The valley releases the next instalment of your grant."), None
    if state == S.RECOVERY and recovery is not None:
        return (
            "you",
            gettext("Repay the %(amount)s yuan outstanding on the recovery order.")
            % {"amount": f"{recovery.outstanding:,.2f}"},
            None,
        )
    return "", "", None
