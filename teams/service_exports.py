"""The service requests as a CSV export for auditors (valley.exports.engine): one row per request, with what the
service figures are computed from (dates, the time limit's due date, whether it was met, the rating)."""

from django.db.models import BooleanField, Case, F, Q, Value, When
from django.utils.translation import gettext_lazy as _

from teams import service_selectors as selectors
from teams.service_api import ServiceRequestFilter
from teams.service_models import ServiceRequest
from valley.exports.engine import Column, Export


def _rows(user):
    return selectors.service_requests_for_user(user).annotate(
        within_limit=Case(
            When(resolved_on__isnull=True, then=Value(None)),
            When(Q(resolved_on__lte=F("due_on")), then=Value(True)),
            default=Value(False),
            output_field=BooleanField(null=True),
        )
    )


SERVICE_REQUESTS = Export(
    name="service-requests",
    label=_("Service requests"),
    queryset=_rows,
    filterset_class=ServiceRequestFilter,
    columns=[
        Column("id", _("service request"), "id", "number"),
        Column("line", _("service line"), "line__code"),
        Column("sub_venue", _("sub-venue"), "sub_venue__code"),
        Column("entity_id", _("entity"), "entity_id", "number"),
        Column("subject", _("subject"), "subject"),
        Column("state", _("state"), "state", choices=dict(ServiceRequest.State.choices)),
        Column("handler", _("handler"), "handler__email"),
        Column("submitted_on", _("submitted on"), "submitted_on", "date"),
        Column("due_on", _("due on"), "due_on", "date"),
        Column("resolved_on", _("resolved on"), "resolved_on", "date"),
        Column("within_limit", _("resolved within the time limit"), "within_limit", "bool"),
        Column("rating", _("rating"), "rating", "number"),
        Column("rating_comment", _("rating comment"), "rating_comment"),
        Column("overdue_notified_at", _("lead told it is overdue at"), "overdue_notified_at", "datetime"),
    ],
)

EXPORTS = [SERVICE_REQUESTS]
