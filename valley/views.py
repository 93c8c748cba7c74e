import sys

from django.db import DatabaseError, connection
from django.http import JsonResponse
from django.shortcuts import render
from django.views.decorators.cache import never_cache
from django.views.defaults import server_error as django_server_error

from valley import selectors
from valley.models import ServiceLine
from valley.web.middleware import DATABASE_ERRORS, database_unavailable_response


def home(request):
    figures = selectors.valley_figures_cached()
    return render(
        request,
        "valley/home.html",
        {
            "figures": figures,
            "sub_venues": figures.sub_venues,
            "focus_areas": figures.focus_areas,
            "service_lines": ServiceLine.objects.all(),
        },
    )


@never_cache
def healthz(request):
    """For load balancers and the run script: 200 when the database answers, 503 when it does not."""
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    except DatabaseError as error:
        return JsonResponse({"status": "unavailable", "database": "down", "error": type(error).__name__}, status=503)
    return JsonResponse({"status": "ok", "database": connection.vendor})


def server_error(request):
    """handler500: an unhandled database outage (in middleware, say) still answers a clean 503."""
    if isinstance(sys.exc_info()[1], DATABASE_ERRORS):
        return database_unavailable_response(request)
    return django_server_error(request)
