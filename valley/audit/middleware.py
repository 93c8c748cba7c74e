"""Attributes what a request changes to the person who made the request, and to where it came from."""

from django.core.exceptions import PermissionDenied

from valley.audit.chain import acting_as, acting_from, record
from valley.web.addresses import client_address


class AuditActorMiddleware:
    """Attributes changes made while serving a request (admin edits included) to the signed-in user, and
    records the client's address (valley.web.addresses: TRUSTED_PROXIES) and User-Agent with each entry."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        agent = request.META.get("HTTP_USER_AGENT", "")
        if "\x00" in agent:
            # PostgreSQL cannot store NUL: the audit entry, and django-axes' login records after it, would end
            # in a 500. The agent is the client's text anyway; what follows sees it with NUL replaced.
            agent = request.META["HTTP_USER_AGENT"] = agent.replace("\x00", "\ufffd")
        source = acting_from(address=client_address(request), agent=agent)
        with source, acting_as(getattr(request, "user", None)):
            return self.get_response(request)

    def process_exception(self, request, exception):
        """A permission refused (PermissionDenied, answered with 403) is recorded as a refused access to
        the path. Django calls this inside __call__'s block (the actor and source are set); the view's
        transaction, if any, is already rolled back, and this entry is written after it."""
        if isinstance(exception, PermissionDenied):
            record(
                action="access.refused",
                object_type="path",
                object_id=request.path[:40],
                after={"method": request.method, "path": request.path[:500]},
                outcome="refused",
            )
        return None
