"""Pages of residency requests: the applicant's form and list, the staff queue and the decision panel.

Every request is found through teams.residency_requests.residency_requests_visible_to, so another applicant's
request, or one in a sub-venue an operator does not run, is a 404 at every URL.
"""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from teams import residency_requests as service
from teams.filters import ResidencyRequestFilter
from teams.models import Entity
from teams.residency_request_forms import DeclineForm, ResidencyRequestForm, SelectForm
from valley.core import roles
from valley.core.documents import download_response
from valley.core.errors import DomainError
from valley.web.listing import Listing

PAGE_SIZE = 50


def _own_entity(request, pk) -> Entity:
    # Only the profile's keeper applies for it: staff record residencies directly (teams.services).
    return get_object_or_404(Entity.objects.filter(owner=request.user), pk=pk)


def _visible(request, pk):
    return get_object_or_404(service.residency_requests_visible_to(request.user), pk=pk)


REQUEST_SORTS = {
    "number": ("pk",),
    "entity": ("entity__name_zh",),
    "institution": ("entity__institution__name_zh",),
    "sub_venue": ("sub_venue__name_zh",),
    "status": ("status",),
    "submitted": ("submitted_at",),
}


@login_required
def my_requests(request):
    """The applicant's residency requests, and the teams that may ask for residency now."""
    entities = list(Entity.objects.filter(owner=request.user).order_by("name_zh", "pk"))
    requests = service.residency_requests_visible_to(request.user).filter(entity__owner=request.user)
    listing = Listing(
        request,
        requests,
        filterset_class=ResidencyRequestFilter,
        shown=("q", "sub_venue", "status", "submitted_at"),
        sorts=REQUEST_SORTS,
        default_order=("-submitted_at", "-pk"),
        page_size=PAGE_SIZE,
    )
    return render(
        request, "teams/residency_requests.html", {"listing": listing, "page": listing.page, "entities": entities}
    )


@login_required
def request_new(request, pk):
    entity = _own_entity(request, pk)
    problem = service.entity_may_request(entity)
    form = ResidencyRequestForm(request.POST or None, request.FILES or None, entity=entity)
    if request.method == "POST" and not problem and form.is_valid():
        data = form.cleaned_data
        try:
            created = service.residency_request_submit(
                entity=entity,
                by=request.user,
                sub_venue=data["sub_venue"],
                reason=data["reason"],
                needs=data["needs"],
                needs_detail=data["needs_detail"],
                documents=list(data["documents"]),
                upload=data["file"],
                upload_title=data["file_title"],
            )
        except DomainError as error:
            form.add_error(None, error.message)
        else:
            messages.success(request, _("Your residency request is submitted. Staff of the sub-venue will decide."))
            return redirect(created)
    return render(request, "teams/residency_request_form.html", {"form": form, "entity": entity, "problem": problem})


def _detail_page(request, residency_request, *, decline_form=None, select_form=None, status=200):
    user = request.user
    may = {t.name for t in service.RESIDENCY_REQUEST.available(residency_request, user)}
    return render(
        request,
        "teams/residency_request_detail.html",
        {
            "req": residency_request,
            "events": residency_request.events.select_related("by").order_by("at", "pk"),
            "documents": residency_request.documents.order_by("-uploaded_at", "-pk"),
            "may_decide": bool(may & {"select", "decline"}),
            "may_withdraw": "withdraw" in may,
            "decline_form": decline_form or DeclineForm(),
            "select_form": select_form or SelectForm(),
        },
        status=status,
    )


@login_required
def request_detail(request, request_pk):
    return _detail_page(request, _visible(request, request_pk))


def _decide(request, request_pk, form_class, call, done, form_key):
    residency_request = _visible(request, request_pk)
    form = form_class(request.POST)
    if form.is_valid():
        try:
            call(residency_request, form.cleaned_data)
        except DomainError as error:
            form.add_error(None, error.message)
        else:
            messages.success(request, done)
            return redirect(residency_request)
    return _detail_page(request, residency_request, **{form_key: form})


@require_POST
@login_required
def request_select(request, request_pk):
    return _decide(
        request,
        request_pk,
        SelectForm,
        lambda req, data: service.residency_request_select(request=req, by=request.user, note=data["note"]),
        _("The request is selected: the residency has started and the applicant is told."),
        "select_form",
    )


@require_POST
@login_required
def request_decline(request, request_pk):
    return _decide(
        request,
        request_pk,
        DeclineForm,
        lambda req, data: service.residency_request_decline(request=req, by=request.user, reason=data["reason"]),
        _("The request is declined and the applicant is told why."),
        "decline_form",
    )


@require_POST
@login_required
def request_withdraw(request, request_pk):
    residency_request = _visible(request, request_pk)
    try:
        service.residency_request_withdraw(request=residency_request, by=request.user)
    except DomainError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, _("Your residency request is withdrawn."))
    return redirect(residency_request)


@login_required
def request_document(request, request_pk, document_pk):
    """A document attached to a request, for those who see the request (staff deciding it may not see the
    entity's other documents: it is not resident with them yet)."""
    residency_request = _visible(request, request_pk)
    document = get_object_or_404(residency_request.documents.all(), pk=document_pk)
    return download_response(document.file, content_type=document.content_type, filename=document.original_name)


@login_required
def queue(request):
    if not (roles.is_staff_member(request.user) or roles.is_auditor(request.user) or request.user.is_superuser):
        raise Http404
    listing = Listing(
        request,
        service.residency_request_queue(request.user),
        filterset_class=ResidencyRequestFilter,
        shown=("q", "sub_venue", "institution", "submitted_at"),
        sorts=REQUEST_SORTS,
        default_order=("submitted_at", "pk"),
        page_size=PAGE_SIZE,
    )
    return render(request, "teams/residency_queue.html", {"listing": listing, "page": listing.page})
