"""The account deletion request's states, a table of the one workflow engine (valley.core.workflow)."""

from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from valley.core.workflow import OWNER, SYSTEM, Transition, Workflow
from valley.models import DeletionRequest

S = DeletionRequest.State


def _grace_over(request) -> str | None:
    if request.due_on > timezone.localdate():
        return str(_("The grace period has not ended yet."))
    return None


DELETION = Workflow(
    [
        Transition(
            "cancel",
            (S.REQUESTED,),
            S.CANCELLED,
            frozenset({OWNER}),
            _("cancel the deletion"),
            wrong_state=_("This deletion request is no longer open: it was cancelled or carried out."),
        ),
        Transition("anonymise", (S.REQUESTED,), S.ANONYMISED, frozenset({SYSTEM}), _("anonymise"), guard=_grace_over),
    ],
    name="valley.deletion_request",
    states=S,
    initial=S.REQUESTED,
    owner_of=lambda request: request.user_id,
    thing=_("deletion request"),
)
