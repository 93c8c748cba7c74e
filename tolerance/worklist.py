"""What the failure-tolerance portfolio contributes to "my tasks" (valley.web.worklist; registered in
ToleranceConfig.ready).

Staff: the exemption cases at each step, for the role that takes the next step (tolerance.workflow.
CASE_NEXT_ROLES; provincial staff see them all, with the role that acts), and for portfolio managers the
quarterly company reports overdue or waiting for review. Applicants: their startups' quarterly reports to file.
"""

from django.db.models import Count, F, Q, Window
from django.db.models.functions import RowNumber
from django.urls import reverse
from django.utils.translation import gettext as _

from tolerance import monitoring_selectors
from tolerance.models import CaseState, CompanyReport, ExemptionCase
from tolerance.monitoring import TO_FILE_STATES
from tolerance.workflow import CASE_NEXT_ROLES
from valley.core import roles
from valley.web.worklist import TaskItem, TaskQueue, acts_on, local_date

# The case queues: the steps that wait for someone, and the role named as the one that acts.
CASE_QUEUES = {
    CaseState.OPENED: roles.PORTFOLIO_MANAGER,
    CaseState.EVIDENCE: roles.EXEMPTION_SUPERVISOR,
    CaseState.OPINION: roles.EXEMPTION_DECISION_MAKER,
    CaseState.DETERMINED: roles.PORTFOLIO_MANAGER,
}


def _case_acts(user, state) -> bool | None:
    answers = [acts_on(user, role) for role in CASE_NEXT_ROLES[state]]
    return True if True in answers else (False if False in answers else None)


def _acting_role(user, state) -> str:
    """The role named on a case queue: the user's own when they take the step, else the one that does."""
    held = CASE_NEXT_ROLES[state] & roles.role_codes(user)
    return CASE_QUEUES[state] if CASE_QUEUES[state] in held or not held else sorted(held)[0]


def _case_queues(user, *, limit: int) -> list[TaskQueue]:
    """The cases waiting at each step: one query for the counts, one for the oldest rows of every step."""
    shown = {state: _case_acts(user, state) for state in CASE_QUEUES}
    shown = {state: acts for state, acts in shown.items() if acts is not None}
    if not shown:
        return []
    counts = ExemptionCase.objects.aggregate(**{state: Count("pk", filter=Q(state=state)) for state in shown})
    rows = (
        ExemptionCase.objects.filter(state__in=list(shown))
        .select_related("investment__startup", "investment__fund")
        .annotate(rank=Window(RowNumber(), partition_by=[F("state")], order_by=[F("state_changed_at"), F("pk")]))
        .filter(rank__lte=limit)
        .order_by("state", "rank")
    )
    items = {state: [] for state in shown}
    for case in rows:
        items[case.state].append(
            TaskItem(
                label=f"{case.investment.startup.name} · {case.investment.fund.name}",
                url=reverse("tolerance:case_detail", args=[case.pk]),
                waiting_since=local_date(case.state_changed_at),
                state=case.get_state_display(),
            )
        )
    labels = {
        CaseState.OPENED: _("Exemption cases: gather the evidence"),
        CaseState.EVIDENCE: _("Exemption cases: give the supervisory opinion"),
        CaseState.OPINION: _("Exemption cases: determine"),
        CaseState.DETERMINED: _("Exemption cases: notify the parties"),
    }
    return [
        TaskQueue(
            key=f"tolerance.cases.{state}",
            label=labels[state],
            role=_acting_role(user, state),
            count=counts[state],
            items=items[state],
            url=reverse("tolerance:case_list") + f"?state={state}",
            acts=acts,
        )
        for state, acts in shown.items()
    ]


def _company_report_queues(user, *, today, limit: int) -> list[TaskQueue]:
    """Quarterly reports overdue and waiting for review (monitoring_selectors.report_queue: three queries)."""
    acts = acts_on(user, roles.PORTFOLIO_MANAGER)
    if acts is None:
        return []
    queue = monitoring_selectors.report_queue(today=today)
    labels = {"overdue": _("Quarterly company reports overdue"), "submitted": _("Quarterly company reports to review")}
    return [
        TaskQueue(
            key=f"tolerance.company_reports.{name}",
            label=label,
            role=roles.PORTFOLIO_MANAGER,
            count=queue.counts[name],
            items=[
                TaskItem(
                    label=f"{report.entity.name} · {report.year} Q{report.quarter}",
                    url=reverse("tolerance:report_detail", args=[report.pk]),
                    waiting_since=report.due_on if name == "overdue" else local_date(report.submitted_at),
                    due_on=report.due_on,
                    state=report.get_state_display(),
                )
                for report in getattr(queue, name)[:limit]
            ],
            url=reverse("tolerance:report_queue"),
            acts=acts,
        )
        for name, label in labels.items()
    ]


def _my_company_reports(user, *, limit: int) -> list[TaskQueue]:
    """The quarterly reports the applicant's startups have to file, by due date: two queries (count, rows)."""
    reports = CompanyReport.objects.filter(entity__owner=user, state__in=TO_FILE_STATES).select_related("entity")
    count = reports.count()
    if not count:
        return []  # only startups of the portfolio report; most applicants have none
    return [
        TaskQueue(
            key="tolerance.my_company_reports",
            label=_("Quarterly company reports to file"),
            role=roles.APPLICANT,
            count=count,
            items=[
                TaskItem(
                    label=f"{report.entity.name} · {report.year} Q{report.quarter}",
                    url=reverse("tolerance:my_report", args=[report.entity_id, report.pk]),
                    due_on=report.due_on,
                    state=report.get_state_display(),
                )
                for report in reports.order_by("due_on", "pk")[:limit]
            ],
        )
    ]


def task_queues(user, *, today, limit: int) -> list[TaskQueue]:
    queues = [*_case_queues(user, limit=limit), *_company_report_queues(user, today=today, limit=limit)]
    if roles.has_role(user, roles.APPLICANT) and not user.is_superuser:
        queues += _my_company_reports(user, limit=limit)
    return queues
