"""The project's one state-machine mechanism: a plain table of transitions.

Every state machine of the portal (the fund application, residency, achievement stages, and those
that come after them) is a `Workflow`: its states are a Django `TextChoices` enum, and a list of
`Transition`s names, for each move, the states it leaves from, the state it goes to, the roles allowed
to take it and an optional guard. `Workflow.check` answers "may this user take this transition on this
object now?" and raises a domain error that says why not; the one service function per transition
calls it under a row lock, writes the history row and the audit entry, and queues mail after commit.

Wrong state (`TransitionNotAllowed`) and missing permission (`TransitionForbidden`) are different
errors everywhere. Generators, invariant checks and benchmarks read the table (`path_to`, `sources_of`)
instead of repeating it. We chose a table over django-fsm-style decorators so the whole workflow reads
in one place, and so the check is the same for web pages, admin actions, the API and Celery tasks
(which act as the system, `by=None`).
"""

from collections.abc import Callable
from dataclasses import dataclass

from django.utils.translation import gettext as _

from valley.core import roles
from valley.core.errors import DomainError, Forbidden, WrongState

OWNER = "owner"  # the applicant who owns the record
SYSTEM = "system"  # scheduled work: Celery beat, by=None


class WorkflowError(DomainError):
    """A workflow refused a transition; the message is shown to the user as it is (already translated)."""


class TransitionNotAllowed(WorkflowError, WrongState):
    """The object is not in a state this transition leaves from, or a guard refused it."""


class TransitionForbidden(WorkflowError, Forbidden):
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
    # What to say when the record is in none of `sources` (lazy translation); the engine's general
    # sentence ("… is not possible while the … is …") when unset.
    wrong_state: str | None = None


class Workflow:
    def __init__(
        self,
        transitions: list[Transition],
        *,
        name: str,
        states: type,
        initial: str,
        state_field: str = "state",
        owner_of=None,
        thing=None,
        actions=None,
    ):
        """`name` is the machine's code ("funding.application"), used in audit actions; `states` its
        TextChoices enum; `initial` the state a new record starts in; `thing` what its records are called
        in messages (the model's verbose name unless given); `actions` the (lazy) labels of the history
        actions that are not named `<name>.<transition>` (a record created, a document attached)."""
        self.name = name
        self.thing = thing
        self.actions = dict(actions or {})
        self.states = states
        self.initial = initial
        self.transitions = {t.name: t for t in transitions}
        self.state_field = state_field
        self.owner_of = owner_of or (lambda obj: None)
        unknown = {state for t in transitions for state in (*t.sources, t.target) if state not in states.values} | (
            {initial} - set(states.values)
        )
        if unknown:
            raise ValueError(f"{name}: states {sorted(unknown)} are not in {states.__name__}")

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
            if transition.wrong_state:
                raise TransitionNotAllowed(str(transition.wrong_state))
            raise TransitionNotAllowed(
                _("“%(action)s” is not possible while the %(thing)s is “%(state)s”.")
                % {
                    "action": transition.label,
                    "thing": self.thing or obj._meta.verbose_name,
                    "state": self.label_of(state),
                }
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

    def action_label(self, code: str) -> str:
        """A history row's action in the reader's language: history stores codes, people read words. A
        transition's label for `<name>.<transition>`; the code itself only for one nobody named."""
        label = self.actions.get(code)
        if label is None and code.startswith(f"{self.name}."):
            transition = self.transitions.get(code.removeprefix(f"{self.name}."))
            label = transition.label if transition else None
        return code if label is None else str(label)

    def label_of(self, state: str) -> str:
        """The state's name in the reader's language."""
        return str(self.states(state).label)

    def sources_of(self, target: str) -> frozenset[str]:
        """The states from which some transition leads to `target`."""
        return frozenset(s for t in self.transitions.values() if t.target == target for s in t.sources)

    def path_to(self, target: str, *, start: str | None = None) -> list[Transition]:
        """The shortest list of transitions from `start` (the initial state) to `target`: how a record
        reaches a state, for generators of realistic data. Raises ValueError when it cannot be reached."""
        start = self.initial if start is None else start
        paths: dict[str, list[Transition]] = {start: []}
        frontier = [start]
        while frontier:
            following = []
            for state in frontier:
                for t in self.transitions.values():
                    if state in t.sources and t.target not in paths:
                        paths[t.target] = [*paths[state], t]
                        following.append(t.target)
            frontier = following
        if target not in paths:
            raise ValueError(f"{self.name}: {target!r} cannot be reached from {start!r}")
        return paths[target]
