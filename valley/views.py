from django.db import connection
from django.http import JsonResponse
from django.shortcuts import render
from django.views.decorators.cache import never_cache

from valley import selectors
from valley.models import ServiceLine


def home(request):
    return render(
        request,
        "valley/home.html",
        {
            "figures": selectors.valley_figures(),
            "sub_venues": selectors.sub_venue_list(),
            "focus_areas": selectors.focus_area_list(),
            "service_lines": ServiceLine.objects.all(),
        },
    )


@never_cache
def healthz(request):
    """For load balancers and the run script: answers 200 when the database answers."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return JsonResponse({"status": "ok", "database": connection.vendor})
