from django.db import connection
from django.http import JsonResponse
from django.shortcuts import render
from django.views.decorators.cache import never_cache

from valley import selectors
from valley.models import ServiceLine


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
    """For load balancers and the run script: answers 200 when the database answers."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return JsonResponse({"status": "ok", "database": connection.vendor})
