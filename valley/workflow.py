"""The project's one state-machine mechanism: a plain table of transitions.

A workflow is a list of `Transition`s. Each names the states it leaves from, the state it goes to,
the roles allowed to take it and an optional guard. `Workflow.check` answers "may this user take
this transition on this object now?" and raises a domain error that says why not; the services that
carry out transitions call it under a row lock, write the history row and queue mail. We chose a
table over django-fsm-style decorators so the whole workflow reads in one place, and so the check is
the same for web pages, admin actions, the API and Celery tasks (which act as the system, `by=None`).
"""

from collections.abc import Callable
from dataclasses import dataclass

from django.utils.translation import gettext as _

from valley import roles
from valley.errors import DomainError

OWNER = "owner"  # the applicant who owns the record
SYSTEM = "system"  # scheduled work: Celery beat, by=None


class WorkflowError(DomainError):
    """A workflow refused a transition; the message is shown to the user as it is (already translated)."""


class TransitionNotAllowed(WorkflowError):
    """The object is not in a state this transition leaves from, or a guard refused it."""


class TransitionForbidden(WorkflowError):
    """The user's role may not take this transition."""


@dataclass(frozen=True)
class Transition:
    name: str
    sources: tuple[str, ...]
    target: str
    allowed: frozenset[str]  # role codes, OWNER and/or SYSTEM
    label: str  # lazy translation
    # guard(obj) returns None when the transition may go ahead, or a translated reason why not.
    guard: Callable[[object], str | None] | None = None
    needs_comment: bool = False


class Workflow:
    def __init__(self, transitions: list[Transition], *, state_field: str = "state", owner_of=None):
        self.transitions = {t.name: t for t in transitions}
        self.state_field = state_field
        self.owner_of = owner_of or (lambda obj: None)

    def __getitem__(self, name: str) -> Transition:
        return self.transitions[name]

    def may_act(self, transition: Transition, obj, user) -> bool:
        if user is None:
            return SYSTEM in transition.allowed
        if OWNER in transition.allowed and user.pk is not None and self.owner_of(obj) == user.pk:
            return True
        staff_roles = transition.allowed - {OWNER, SYSTEM}
        return bool(staff_roles) and roles.has_role(user, *staff_roles)

    def check(self, name: str, obj, user) -> Transition:
        """Return the transition if `user` may take it on `obj` now; otherwise raise with the reason."""
        transition = self.transitions[name]
        if not self.may_act(transition, obj, user):
            raise TransitionForbidden(_("Your role may not “%(action)s”.") % {"action": transition.label})
        state = getattr(obj, self.state_field)
        if state not in transition.sources:
            raise TransitionNotAllowed(
                _("“%(action)s” is not possible while the application is “%(state)s”.")
                % {"action": transition.label, "state": obj.get_state_display()}
            )
        if transition.guard is not None:
            reason = transition.guard(obj)
            if reason:
                raise TransitionNotAllowed(reason)
        return transition

    def available(self, obj, user) -> list[Transition]:
        """Transitions `user` could take from the object's current state (guards not evaluated)."""
        state = getattr(obj, self.state_field)
        return [t for t in self.transitions.values() if state in t.sources and self.may_act(t, obj, user)]
