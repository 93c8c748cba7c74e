"""The base of every domain error: a rule refused an action, and `message` (translated) says why."""


class DomainError(Exception):
    def __init__(self, message: str):
        super().__init__(message)
        self.message = message
