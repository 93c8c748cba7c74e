"""The one vocabulary of domain errors, shared by every app.

A service raises one of these when a rule refuses an action; `message` (already translated) says why and
is shown to the user as it is. Doors turn them into answers: `Forbidden` → 403 / "you may not",
`WrongState` → 409 / "not now", any other `DomainError` → 400 / a message next to the field.
Wrong state and missing permission are always different errors.
"""


class DomainError(Exception):
    """A rule refused the action."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


class Forbidden(DomainError):
    """The person's role, ownership or sub-venue does not allow this action."""


class WrongState(DomainError):
    """The record is not in a state that allows this action now (a workflow table or a guard said no)."""
