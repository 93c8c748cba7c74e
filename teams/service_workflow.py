"""The service request's state machine, a table of the one engine (valley.core.workflow).

submitted → accepted (a handler of the line assigned) | rejected (a reason required) → in progress (the
line's first message, or on purpose) → resolved → closed: by the applicant's rating (好差评, once) or, when
they do not rate it, on schedule SERVICE_AUTO_CLOSE_WORKING_DAYS working days after the resolution.

The table says which roles may act; which line a member of staff works for is the services' question
(teams.service_requests: service-line staff act only on their own lines' requests).
"""

from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from teams.service_models import ServiceRequest
from valley.core import roles
from valley.core.workflow import OWNER, SYSTEM, Transition, Workflow

S = ServiceRequest.State

# Who works a request: the line's staff, and provincial staff on every line.
LINE_STAFF = frozenset({roles.PROVINCIAL_STAFF, roles.SERVICE_LINE_STAFF})

TRANSITIONS = [
    Transition(
        "accept",
        (S.SUBMITTED,),
        S.ACCEPTED,
        LINE_STAFF,
        _("accept and assign a handler"),
        wrong_state=_("Only a submitted request can be accepted."),
    ),
    Transition(
        "reject",
        (S.SUBMITTED,),
        S.REJECTED,
        LINE_STAFF,
        pgettext_lazy("service request", "reject"),
        needs_comment=True,
        wrong_state=_("Only a submitted request can be rejected."),
    ),
    Transition(
        "start",
        (S.ACCEPTED,),
        S.IN_PROGRESS,
        LINE_STAFF,
        _("start work"),
        wrong_state=_("Only an accepted request can be started."),
    ),
    Transition(
        "resolve",
        (S.ACCEPTED, S.IN_PROGRESS),
        S.RESOLVED,
        LINE_STAFF,
        _("mark as resolved"),
        needs_comment=True,
        wrong_state=_("Only a request that is being worked on can be resolved."),
    ),
    Transition(
        "rate",
        (S.RESOLVED,),
        S.CLOSED,
        frozenset({OWNER}),
        _("rate the service"),
        wrong_state=_("A request can be rated once, after it has been resolved."),
    ),
    Transition(
        "auto_close",
        (S.RESOLVED,),
        S.CLOSED,
        frozenset({SYSTEM}),
        _("close without a rating"),
    ),
]

SERVICE_REQUEST = Workflow(
    TRANSITIONS,
    name="teams.service_request",
    states=S,
    initial=S.SUBMITTED,
    owner_of=lambda request: request.entity.owner_id,
    thing=_("service request"),
    actions={
        "teams.service_request.submitted": _("request submitted"),
        "teams.service_request.message": _("message"),
        "teams.service_request.overdue": _("overdue: line lead told"),
    },
)
