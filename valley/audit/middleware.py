"""Attributes what a request changes to the person who made the request."""

from valley.audit.chain import acting_as


class AuditActorMiddleware:
    """Attributes changes made while serving a request (admin edits included) to the signed-in user."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        with acting_as(getattr(request, "user", None)):
            return self.get_response(request)
