"""The guides' public pages: an index and one page per service, with the service's pre-check if one is registered."""

from django.shortcuts import get_object_or_404, render

from valley.guides import precheck_for
from valley.models import Guide


def guide_index(request):
    return render(request, "valley/guide_index.html", {"guides": Guide.objects.all()})


def guide_detail(request, code):
    guide = get_object_or_404(Guide, service=code)
    return render(
        request, "valley/guide_detail.html", {"guide": guide, "precheck": precheck_for(guide.service, request.user)}
    )
