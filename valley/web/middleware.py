"""Middleware that answers broken requests and a lost database cleanly, never with a 500.

- DatabaseUnavailableMiddleware: when PostgreSQL is down or restarting, a clean 503 that says so.
  Django reconnects by itself once the database is back (CONN_HEALTH_CHECKS drops a dead persistent
  connection before the next request uses it), so nothing needs restarting.
- RefuseNulInQueryMiddleware: PostgreSQL cannot store or compare text containing NUL (0x00): a
  `?state=%00` that reached a filter, an admin list or the audit log's JSON would end in a database
  error. Forms already refuse NUL in what is typed (Django's ProhibitNullCharactersValidator); this
  covers the URL parameters of every page, export and API list in one place.
"""

import logging

from django.db import InterfaceError, OperationalError
from django.http import HttpResponse, JsonResponse
from django.shortcuts import render
from django.template.loader import render_to_string
from django.utils.translation import gettext as _

logger = logging.getLogger(__name__)

DATABASE_ERRORS = (OperationalError, InterfaceError)
RETRY_AFTER_SECONDS = 60


def database_unavailable_message() -> str:
    return _("The database is unavailable at the moment. Nothing was lost; please try again in a minute.")


def database_unavailable_response(request):
    """503 with Retry-After: JSON for the API (and clients that ask for JSON), a small page for people.

    The page is rendered without the request, so no context processor, session or user touches the database.
    """
    message = database_unavailable_message()
    wants_json = request.path.startswith("/api/") or "application/json" in request.headers.get("Accept", "")
    if wants_json:
        response = JsonResponse({"detail": message}, status=503)
    else:
        response = HttpResponse(render_to_string("503.html", {"message": message}), status=503)
    response["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return response


class DatabaseUnavailableMiddleware:
    """Turns a lost database connection in a view into a 503 (handler500 does it for errors elsewhere)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_exception(self, request, exception):
        if isinstance(exception, DATABASE_ERRORS):
            logger.error("database unavailable: %s %s: %s", request.method, request.path, exception)
            return database_unavailable_response(request)
        return None


class RefuseNulInQueryMiddleware:
    """A NUL character anywhere in the query string: 400 with a message, before any view sees it."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if any("\x00" in key or any("\x00" in value for value in values) for key, values in request.GET.lists()):
            message = _("The address contains a NUL character (%00), which no parameter may contain. Remove it.")
            if request.path.startswith("/api/"):
                return JsonResponse({"detail": message}, status=400)
            return render(request, "400.html", {"message": message}, status=400)
        return self.get_response(request)
