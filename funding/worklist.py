"""What the start-up fund contributes to "my tasks" (valley.web.worklist; registered in FundingConfig.ready).

Staff: the work queues of funding.workflow.QUEUES and REPORT_QUEUES their roles act on (provincial staff see
every queue, with the role that acts), in their sub-venues, and the applications they lead. Applicants: their
applications with what each needs next, and the fund-use reports they have to file.
"""

from django.db.models import Case, CharField, Count, F, Q, Value, When, Window
from django.db.models.functions import RowNumber
from django.urls import reverse
from django.utils.translation import gettext as _

from funding import selectors
from funding.models import Application, FundUseReport
from funding.services import LEAD_ROLES
from funding.workflow import APPLICANT_STATE_LABELS, QUEUES, REPORT_QUEUES
from valley.core import roles
from valley.web.worklist import TaskItem, TaskQueue, acts_on, local_date

S = Application.State
R = FundUseReport.State
OPEN = ~Q(state=S.DRAFT) & ~Q(state__in=Application.ENDED_STATES)


def _application_item(application: Application, *, state: str | None = None, note: str = "") -> TaskItem:
    return TaskItem(
        label=f"#{application.pk} {application.entity.name}",
        url=reverse("funding:detail", args=[application.pk]),
        waiting_since=local_date(application.submitted_at),
        due_on=application.notice_ends_on if application.state == S.PUBLIC_NOTICE else None,
        state=state if state is not None else application.get_state_display(),
        lead=application.lead.email if application.lead_id else "",
        note=note,
    )


def _report_item(report: FundUseReport, *, by_due_date: bool) -> TaskItem:
    return TaskItem(
        label=_("Fund-use report on instalment %(number)s · %(entity)s")
        % {"number": report.instalment.number, "entity": report.application.entity.name},
        url=reverse("funding:report", args=[report.pk]),
        waiting_since=report.due_on if by_due_date else local_date(report.submitted_at),
        due_on=report.due_on,
        state=report.get_state_display(),
    )


def _application_queues(user, *, limit: int) -> list[TaskQueue]:
    """The application queues `user` acts on or oversees: one query for the counts, one for the oldest rows of
    every queue (a window over the queues, whose states do not overlap)."""
    shown = {key: acts_on(user, role) for key, (_label, role, _states) in QUEUES.items()}
    shown = {key: acts for key, acts in shown.items() if acts is not None}
    if not shown:
        return []
    counts = selectors.queue_counts(user=user)
    queue_of = Case(
        *(When(state__in=QUEUES[key][2], then=Value(key)) for key in shown), default=Value(""), output_field=CharField()
    )
    rows = (
        selectors.applications_visible_to(user)
        .filter(state__in=[state for key in shown for state in QUEUES[key][2]])
        .select_related("lead")
        .annotate(queue=queue_of)
        .annotate(
            rank=Window(RowNumber(), partition_by=[F("queue")], order_by=[F("submitted_at").asc(), F("pk").asc()])
        )
        .filter(rank__lte=limit)
        .order_by("queue", "rank")
    )
    items: dict[str, list[TaskItem]] = {key: [] for key in shown}
    for application in rows:
        items[application.queue].append(_application_item(application))
    return [
        TaskQueue(
            key=f"funding.{key}",
            label=str(QUEUES[key][0]),
            role=QUEUES[key][1],
            count=counts[key],
            items=items[key],
            url=reverse("funding:queue", args=[key]),
            acts=acts,
        )
        for key, acts in shown.items()
    ]


def _report_queues(user, *, today, limit: int) -> list[TaskQueue]:
    """The fund-use report queues: one query for the counts and one per queue for its oldest rows."""
    shown = {key: acts_on(user, entry[1]) for key, entry in REPORT_QUEUES.items()}
    shown = {key: acts for key, acts in shown.items() if acts is not None}
    if not shown:
        return []
    counts = selectors.report_queue_counts(user=user, today=today)
    queues = []
    for key, acts in shown.items():
        label, role, _states, overdue_only = REPORT_QUEUES[key]
        reports = selectors.report_queue(user=user, queue=key, today=today)[:limit]
        queues.append(
            TaskQueue(
                key=f"funding.{key}",
                label=str(label),
                role=role,
                count=counts[key],
                items=[_report_item(report, by_due_date=overdue_only) for report in reports],
                url=reverse("funding:queue", args=[key]),
                acts=acts,
            )
        )
    return queues


def _led_by_me(user, *, limit: int) -> list[TaskQueue]:
    """The open applications `user` leads, oldest first: two queries (count and rows)."""
    if not roles.has_role(user, *LEAD_ROLES) or user.is_superuser:
        return []
    led = selectors.applications_visible_to(user).filter(OPEN, lead=user).select_related("lead")
    return [
        TaskQueue(
            key="funding.led",
            label=_("Applications you lead"),
            role=next(code for code in LEAD_ROLES if code in roles.role_codes(user)),
            count=led.count(),
            items=[_application_item(a) for a in led.order_by("submitted_at", "pk")[:limit]],
        )
    ]


def _next_step(application: Application, report: FundUseReport | None) -> str:
    """What the applicant should do next about the application, in words ("" when it waits on staff)."""
    if application.state in (S.DRAFT, S.RETURNED):
        if not application.document_count:
            return _("Attach the documents (business plan, budget, proof of the achievement), then submit.")
        if application.state == S.RETURNED:
            return _("Returned for changes: edit it as staff ask, then submit it again.")
        return _("Check the draft, then submit it.")
    if report is not None:
        return _("File the fund-use report on instalment %(number)s.") % {"number": report.instalment.number}
    return ""


def _applicant_queues(user, *, limit: int) -> list[TaskQueue]:
    """The applicant's applications (not ended) with their next step, and the fund-use reports they have to file:
    four queries (two counts, two lists)."""
    mine = (
        selectors.applications_of_applicant(user)
        .exclude(state__in=Application.ENDED_STATES)
        .annotate(document_count=Count("documents"))
        .order_by("created_at", "pk")
    )
    reports = (
        FundUseReport.objects.filter(application__entity__owner=user, state__in=selectors.REPORT_OVERDUE_STATES)
        .select_related("instalment", "application__entity")
        .order_by("due_on", "pk")
    )
    report_rows = list(reports[:limit])
    next_report = {}
    for report in report_rows:
        next_report.setdefault(report.application_id, report)
    applications = [
        TaskItem(
            label=f"#{application.pk} {application.entity.name}",
            url=reverse("funding:detail", args=[application.pk]),
            waiting_since=local_date(application.submitted_at or application.created_at),
            due_on=next_report[application.pk].due_on if application.pk in next_report else None,
            state=str(APPLICANT_STATE_LABELS.get(application.state, application.get_state_display())),
            note=_next_step(application, next_report.get(application.pk)),
        )
        for application in mine[:limit]
    ]
    return [
        TaskQueue(
            key="funding.mine",
            label=_("My fund applications"),
            role=roles.APPLICANT,
            count=mine.count(),
            items=applications,
            url=reverse("funding:mine"),
        ),
        TaskQueue(
            key="funding.my_reports",
            label=_("Fund-use reports to file"),
            role=roles.APPLICANT,
            count=reports.count(),
            items=[_report_item(report, by_due_date=True) for report in report_rows],
        ),
    ]


def task_queues(user, *, today, limit: int) -> list[TaskQueue]:
    queues = [
        *_application_queues(user, limit=limit),
        *_report_queues(user, today=today, limit=limit),
        *_led_by_me(user, limit=limit),
    ]
    if roles.has_role(user, roles.APPLICANT) and not user.is_superuser:
        queues += _applicant_queues(user, limit=limit)
    return queues
