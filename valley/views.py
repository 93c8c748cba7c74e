import sys

from django.contrib.auth.decorators import login_required
from django.db import DatabaseError, connection
from django.http import JsonResponse
from django.shortcuts import render
from django.views.decorators.cache import never_cache
from django.views.defaults import server_error as django_server_error

from valley import selectors
from valley.audit.anchors import latest_anchors
from valley.core import roles
from valley.models import ServiceLine
from valley.web import worklist
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


@login_required
def my_home(request):
    """Where a signed-in person lands: what waits for them. Staff see the queues their roles act on (in their
    sub-venues; provincial staff every queue, marked with the role that acts), applicants their own records
    and what is due, auditors the exports, the audit check and the latest anchors. A fixed number of queries
    (each task source's own, valley.web.worklist)."""
    user = request.user
    queues = worklist.queues_for(user)
    own = [queue for queue in queues if queue.role == roles.APPLICANT]
    staff = [queue for queue in queues if queue.role != roles.APPLICANT]
    is_auditor = roles.is_auditor(user)
    return render(
        request,
        "valley/my_home.html",
        {
            "mine": [queue for queue in staff if queue.acts],
            # Where provincial staff only oversee, the queues with work are shown in full, the empty ones in a line.
            "overseen": [queue for queue in staff if not queue.acts and queue.count],
            "overseen_empty": [queue for queue in staff if not queue.acts and not queue.count],
            "own": own,
            "is_staff_member": roles.is_staff_member(user) or user.is_superuser,
            "is_applicant": roles.has_role(user, roles.APPLICANT) and not user.is_superuser,
            "is_auditor": is_auditor,
            "anchors": latest_anchors() if is_auditor else [],
            "waiting_total": sum(queue.count for queue in staff if queue.acts) + sum(queue.count for queue in own),
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
