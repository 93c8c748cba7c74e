"""What the registry of entities contributes to "my tasks" (valley.web.worklist; registered in TeamsConfig.ready).

Staff who select and admit residents (provincial staff, and sub-venue operators in their sub-venues): the
residencies selected but not yet entered. Applicants: their teams and startups, and which still need a
residency before they may apply for the fund.
"""

from django.db.models import Exists, OuterRef, Subquery
from django.urls import reverse
from django.utils.translation import gettext as _

from teams.models import Entity, Residency, ResidencyStatus
from teams.workflow import DECIDERS
from valley.core import roles, scoping
from valley.web.worklist import TaskItem, TaskQueue


def _residencies_to_enter(user, *, limit: int) -> list[TaskQueue]:
    """Selected residencies that have not entered yet, oldest selection first: two queries (count, rows)."""
    codes = roles.role_codes(user)
    if not (user.is_superuser or codes & DECIDERS):
        return []
    selected = scoping.in_scope(Residency.objects.filter(status=Residency.Status.SELECTED), user).select_related(
        "entity", "sub_venue"
    )
    rows = selected.order_by("selected_on", "pk")[:limit]
    return [
        TaskQueue(
            key="teams.residencies_to_enter",
            label=_("Residencies selected, not yet entered"),
            role=roles.PROVINCIAL_STAFF if roles.PROVINCIAL_STAFF in codes else roles.SUB_VENUE_OPERATOR,
            count=selected.count(),
            items=[
                TaskItem(
                    label=f"{residency.entity.name} · {residency.sub_venue.name}",
                    url=reverse("teams:entity_detail", args=[residency.entity_id]),
                    waiting_since=residency.selected_on,
                    state=residency.get_status_display(),
                )
                for residency in rows
            ],
            url=reverse("admin:teams_residency_changelist") + "?status__exact=selected",
        )
    ]


def _my_entities(user, *, limit: int) -> list[TaskQueue]:
    """The applicant's teams and startups, each saying whether it still needs a residency: two queries."""
    active = Residency.objects.filter(entity=OuterRef("pk"), status__in=Residency.ACTIVE_STATUSES)
    entities = (
        Entity.objects.filter(owner=user)
        .annotate(resident=Exists(active), residency_status=Subquery(active.values("status")[:1]))
        .order_by("name_zh", "pk")
    )
    return [
        TaskQueue(
            key="teams.mine",
            label=_("My teams and startups"),
            role=roles.APPLICANT,
            count=entities.count(),
            items=[
                TaskItem(
                    label=entity.name,
                    url=reverse("teams:entity_detail", args=[entity.pk]),
                    # Where it stands in the valley (selected, entered), which decides what it may ask for.
                    state=ResidencyStatus(entity.residency_status).label if entity.resident else _("not resident"),
                    note=""
                    if entity.resident
                    else _("Residency needed: staff select it into a sub-venue before it may apply for the fund."),
                )
                for entity in entities[:limit]
            ],
            url=reverse("teams:entity_list"),
        )
    ]


def task_queues(user, *, today, limit: int) -> list[TaskQueue]:
    queues = _residencies_to_enter(user, limit=limit)
    if roles.has_role(user, roles.APPLICANT) and not user.is_superuser:
        queues += _my_entities(user, limit=limit)
    return queues
