"""The audit-log check page for auditors and provincial staff."""

from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import render
from django.views.decorators.http import require_GET

from valley import audit
from valley.core import roles


@login_required
@require_GET
def audit_check(request):
    if not (roles.is_auditor(request.user) or roles.has_role(request.user, roles.PROVINCIAL_STAFF)):
        raise Http404
    return render(request, "valley/audit_check.html", {"check": audit.verify_chain()})
