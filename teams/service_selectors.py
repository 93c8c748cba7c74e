"""Reads of residents' service requests, always scoped to the person asking.

Who sees a request: the applicant who keeps its entity; the staff of its service line (User.service_lines);
provincial staff and auditors (every line). Anyone else gets nothing, so another's request is a 404 at every
door. A request's age and due date come with each row; "overdue" means open with its due date passed.
"""

import datetime
import statistics
from dataclasses import dataclass

from django.db.models import Avg, Count, F, Prefetch, Q, QuerySet
from django.utils import timezone
from django.utils.translation import get_language

from teams.service_models import ServiceRequest, ServiceRequestAttachment, ServiceRequestMessage
from teams.service_requests import line_ids_of, works_every_line
from valley.core import roles, scoping
from valley.core.calendar import CalendarWindow
from valley.models import ServiceLine

S = ServiceRequest.State


def _base() -> QuerySet[ServiceRequest]:
    return ServiceRequest.objects.select_related("entity", "line", "sub_venue", "handler")


def _sees_every_line(user) -> bool:
    return works_every_line(user) or roles.is_auditor(user)


def _is_reader_staff(user) -> bool:
    return getattr(user, "is_superuser", False) or roles.is_staff_member(user) or roles.is_auditor(user)


def service_requests_for_user(user) -> QuerySet[ServiceRequest]:
    """Every request `user` may read: as its applicant; as staff of its line (service-line staff: their lines
    only); as other staff, scoped to their sub-venues like every record (valley.core.scoping: operators their
    sub-venues', provincial staff, auditors and the other staff roles all)."""
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return ServiceRequest.objects.none()
    if _sees_every_line(user):
        return _base()
    own = Q(entity__owner=user)
    if roles.has_role(user, roles.SERVICE_LINE_STAFF):
        return _base().filter(own | Q(line__in=line_ids_of(user)))
    if _is_reader_staff(user):
        return scoping.in_scope(_base(), user, also=own)
    return _base().filter(own)


def service_requests_of_applicant(user) -> QuerySet[ServiceRequest]:
    """The applicant's own requests (their entities'), newest first."""
    if not getattr(user, "is_authenticated", False):
        return ServiceRequest.objects.none()
    return _base().filter(entity__owner=user).order_by("-submitted_at", "-pk")


def may_see_queue(user) -> bool:
    return getattr(user, "is_authenticated", False) and (_is_reader_staff(user) or works_every_line(user))


def service_queue_for_staff(user) -> QuerySet[ServiceRequest]:
    """The requests a member of staff sees in the queue, oldest first: service-line staff their lines', other
    staff as service_requests_for_user. Nothing for applicants."""
    if not may_see_queue(user):
        return ServiceRequest.objects.none()
    queryset = _base().order_by("submitted_at", "pk")
    if roles.has_role(user, roles.SERVICE_LINE_STAFF) and not _sees_every_line(user):
        return queryset.filter(line__in=line_ids_of(user))
    return service_requests_for_user(user).order_by("submitted_at", "pk")


def filter_queue(queryset: QuerySet, *, line: str = "", state: str = "", overdue: bool = False, today=None) -> QuerySet:
    """The queue's filters (pages, admin and API alike): a line's code, a state, only the overdue."""
    if line:
        queryset = queryset.filter(line__code=line)
    if state:
        queryset = queryset.filter(state=state)
    if overdue:
        queryset = queryset.filter(overdue_q(today))
    return queryset


def overdue_q(today=None) -> Q:
    return Q(state__in=ServiceRequest.OPEN_STATES, due_on__lt=today or timezone.localdate())


def service_lines_for_staff(user) -> QuerySet[ServiceLine]:
    if roles.has_role(user, roles.SERVICE_LINE_STAFF) and not _sees_every_line(user):
        return ServiceLine.objects.filter(pk__in=line_ids_of(user))
    return ServiceLine.objects.all()


def annotate_age(requests, *, today: datetime.date | None = None) -> list[ServiceRequest]:
    """Each request with `age_working_days` (since submission) and `is_overdue`, from one calendar read."""
    requests = list(requests)
    today = today or timezone.localdate()
    if not requests:
        return requests
    window = CalendarWindow(min(r.submitted_on for r in requests), today)
    for request in requests:
        end = request.resolved_on or today
        request.age_working_days = window.working_days_between(request.submitted_on, end)
        request.is_overdue = request.is_open and request.due_on < today
    return requests


def service_request_page(user, pk: int) -> ServiceRequest | None:
    """One request with its history, messages and attachments, for its page (a fixed number of queries)."""
    return (
        service_requests_for_user(user)
        .prefetch_related(
            "events__by",
            Prefetch(
                "messages",
                queryset=ServiceRequestMessage.objects.select_related("author").prefetch_related("attachments"),
            ),
            Prefetch("attachments", queryset=ServiceRequestAttachment.objects.filter(message__isnull=True)),
        )
        .filter(pk=pk)
        .first()
    )


def attachments_for_user(user) -> QuerySet[ServiceRequestAttachment]:
    return ServiceRequestAttachment.objects.filter(request__in=service_requests_for_user(user).values("pk"))


# --- figures ---------------------------------------------------------------------------------------


@dataclass
class ServiceFigure:
    line: str
    sub_venue: str
    received: int
    resolved: int
    resolved_within_limit: int
    median_working_days: float | None
    average_rating: float | None
    overdue: int


def service_figures(*, today: datetime.date | None = None) -> list[ServiceFigure]:
    """Per service line and sub-venue: requests received, resolved, resolved within the limit, the median
    working days to resolve, the average rating and how many are overdue now. Three queries whatever the size
    (the counts, the resolution dates, the calendar)."""
    today = today or timezone.localdate()
    rows = (
        ServiceRequest.objects.values("line_id", "line__name_zh", "line__name_en", "sub_venue_id")
        .annotate(
            received=Count("pk"),
            resolved=Count("pk", filter=Q(resolved_on__isnull=False)),
            within=Count("pk", filter=Q(resolved_on__isnull=False, resolved_on__lte=F("due_on"))),
            rating=Avg("rating"),
            overdue=Count("pk", filter=overdue_q(today)),
        )
        .values(
            "line_id",
            "line__code",
            "line__name_zh",
            "line__name_en",
            "sub_venue_id",
            "sub_venue__name_zh",
            "sub_venue__name_en",
            "received",
            "resolved",
            "within",
            "rating",
            "overdue",
        )
        .order_by("line__code", "sub_venue__code")
    )
    rows = list(rows)
    resolutions = list(
        ServiceRequest.objects.filter(resolved_on__isnull=False).values_list(
            "line_id", "sub_venue_id", "submitted_on", "resolved_on"
        )
    )
    durations: dict[tuple[int, int], list[int]] = {}
    if resolutions:
        window = CalendarWindow(min(r[2] for r in resolutions), max(r[3] for r in resolutions))
        for line_id, sub_venue_id, submitted_on, resolved_on in resolutions:
            durations.setdefault((line_id, sub_venue_id), []).append(
                window.working_days_between(submitted_on, resolved_on)
            )
    chinese = (get_language() or "zh").startswith("zh")
    figures = []
    for row in rows:
        days = durations.get((row["line_id"], row["sub_venue_id"]))
        figures.append(
            ServiceFigure(
                line=row["line__name_zh"] if chinese else row["line__name_en"],
                sub_venue=row["sub_venue__name_zh"] if chinese else row["sub_venue__name_en"],
                received=row["received"],
                resolved=row["resolved"],
                resolved_within_limit=row["within"],
                median_working_days=statistics.median(days) if days else None,
                average_rating=round(row["rating"], 2) if row["rating"] is not None else None,
                overdue=row["overdue"],
            )
        )
    return figures


def resident_entities_of(user) -> QuerySet:
    """The applicant's entities that hold an active residency: those that may request services."""
    from teams.models import Entity, Residency

    if not getattr(user, "is_authenticated", False):
        return Entity.objects.none()
    return (
        Entity.objects.filter(owner=user, residencies__status__in=Residency.ACTIVE_STATUSES)
        .distinct()
        .order_by("name_zh", "pk")
    )


@dataclass
class LineCount:
    line: str
    received: int
    resolved_within_limit: int
    overdue: int
    average_rating: float | None


def service_counts_for_home() -> list[LineCount]:
    """Per service line (every line, also one without requests): received, resolved within the limit, overdue
    now, average rating, for the home dashboard's block (registered with valley.selectors). One query."""
    today = timezone.localdate()
    lines = ServiceLine.objects.annotate(
        received=Count("requests"),
        within=Count(
            "requests", filter=Q(requests__resolved_on__isnull=False, requests__resolved_on__lte=F("requests__due_on"))
        ),
        overdue=Count(
            "requests",
            filter=Q(requests__state__in=ServiceRequest.OPEN_STATES, requests__due_on__lt=today),
        ),
        rating=Avg("requests__rating"),
    ).order_by("code")
    return [
        LineCount(
            line=line.name,
            received=line.received,
            resolved_within_limit=line.within,
            overdue=line.overdue,
            average_rating=round(line.rating, 2) if line.rating is not None else None,
        )
        for line in lines
    ]
