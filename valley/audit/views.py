"""The audit-log check page for auditors and provincial staff."""

from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import render
from django.views.decorators.http import require_GET

from valley import audit
from valley.audit import anchors


@login_required
@require_GET
def audit_check(request):
    if not audit.may_read_log(request.user):
        raise Http404
    return render(
        request,
        "valley/audit_check.html",
        {"check": audit.verify_chain(), "anchored": anchors.verify_anchors(), "anchor_dir": anchors.anchor_dir()},
    )
