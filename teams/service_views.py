"""The service system's pages: the applicant's requests (new, list, page with messages and rating), the line
staff's queue and actions, the service figures. Thin doors over teams.service_selectors / service_requests:
a request the user may not read is a 404 at every URL."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from teams import service_requests as services
from teams import service_selectors as selectors
from teams.service_api import ServiceRequestFilter
from teams.service_charts import figures_chart
from teams.service_forms import AcceptForm, MessageForm, RatingForm, ReasonForm, ResolveForm, ServiceRequestForm
from teams.service_models import ServiceRequest
from teams.service_workflow import SERVICE_REQUEST
from valley.core.documents import download_response
from valley.core.errors import DomainError
from valley.web.listing import Listing

PAGE_SIZE = 20


def _readable(request, pk) -> ServiceRequest:
    found = selectors.service_request_page(request.user, pk)
    if found is None:
        raise Http404(_("No such service request."))
    return found


# The columns the service lists may be sorted by (any other `sort` is ignored).
SERVICE_SORTS = {
    "subject": ("subject",),
    "line": ("line__code",),
    "entity": ("entity__name_zh",),
    "state": ("state",),
    "submitted": ("submitted_on", "submitted_at"),
    "due": ("due_on",),
}


@login_required
def service_request_list(request):
    listing = Listing(
        request,
        selectors.service_requests_of_applicant(request.user),
        filterset_class=ServiceRequestFilter,
        shown=("q", "line", "state", "submitted_on"),
        sorts=SERVICE_SORTS,
        default_order=("-submitted_at", "-pk"),
        page_size=PAGE_SIZE,
    )
    page = listing.page
    page.object_list = selectors.annotate_age(page.object_list)
    return render(
        request,
        "teams/service_requests/list.html",
        {"listing": listing, "page": page, "may_ask": selectors.resident_entities_of(request.user).exists()},
    )


@login_required
def service_request_create(request):
    entities = selectors.resident_entities_of(request.user)
    form = ServiceRequestForm(request.POST or None, request.FILES or None, entities=entities)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            created = services.service_request_submit(
                entity=data["entity"],
                line=data["line"],
                by=request.user,
                subject=data["subject"],
                details=data["details"],
                preferred_contact=data["preferred_contact"],
                uploads=data["attachments"],
            )
        except DomainError as error:
            form.add_error(None, error.message)
        else:
            messages.success(
                request,
                _("Your request was sent. The line answers by %(due)s.") % {"due": created.due_on.isoformat()},
            )
            return redirect(created)
    return render(request, "teams/service_requests/form.html", {"form": form, "may_ask": entities.exists()})


@login_required
def service_request_detail(request, pk):
    found = _readable(request, pk)
    selectors.annotate_age([found])
    is_owner = found.entity.owner_id == request.user.pk
    staff_may_act = services.is_line_staff(request.user) and services.may_work_on_line(request.user, found.line_id)
    context = {
        "req": found,
        "is_owner": is_owner,
        "history": [(event, SERVICE_REQUEST.action_label(event.action)) for event in found.events.all()],
        "may_message": (is_owner or staff_may_act) and found.state in services.MESSAGE_STATES,
        "message_form": MessageForm(),
        "rating_form": RatingForm() if is_owner and found.state == ServiceRequest.State.RESOLVED else None,
        "accept_form": None,
        "reject_form": None,
        "resolve_form": None,
    }
    if staff_may_act:
        if found.state == ServiceRequest.State.SUBMITTED:
            context["accept_form"] = AcceptForm(handlers=services.line_handlers(found.line_id))
            context["reject_form"] = ReasonForm()
        if found.state in (ServiceRequest.State.ACCEPTED, ServiceRequest.State.IN_PROGRESS):
            context["resolve_form"] = ResolveForm()
    return render(request, "teams/service_requests/detail.html", context)


def _act(request, found, form, call, done: str):
    """Run one service for a POSTed form; a bad form or a refused step comes back as a message."""
    if not form.is_valid():
        for errors in form.errors.values():
            for error in errors:
                messages.error(request, error)
        return redirect(found)
    try:
        call(form.cleaned_data)
    except DomainError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, done)
    return redirect(found)


@require_POST
@login_required
def service_request_message(request, pk):
    found = _readable(request, pk)
    form = MessageForm(request.POST, request.FILES)
    return _act(
        request,
        found,
        form,
        lambda data: services.service_request_message(
            request=found, by=request.user, body=data["body"], uploads=data["attachments"]
        ),
        _("Message sent."),
    )


@require_POST
@login_required
def service_request_rate(request, pk):
    found = _readable(request, pk)
    return _act(
        request,
        found,
        RatingForm(request.POST),
        lambda data: services.service_request_rate(
            request=found, by=request.user, rating=data["rating"], comment=data["comment"]
        ),
        _("Thank you for your rating."),
    )


@require_POST
@login_required
def service_request_accept(request, pk):
    found = _readable(request, pk)
    form = AcceptForm(request.POST, handlers=services.line_handlers(found.line_id))
    return _act(
        request,
        found,
        form,
        lambda data: services.service_request_accept(request=found, by=request.user, handler=data["handler"]),
        _("Accepted; the handler is assigned."),
    )


@require_POST
@login_required
def service_request_reject(request, pk):
    found = _readable(request, pk)
    return _act(
        request,
        found,
        ReasonForm(request.POST),
        lambda data: services.service_request_reject(request=found, by=request.user, reason=data["reason"]),
        _("Rejected; the applicant is told why."),
    )


@require_POST
@login_required
def service_request_resolve(request, pk):
    found = _readable(request, pk)
    return _act(
        request,
        found,
        ResolveForm(request.POST),
        lambda data: services.service_request_resolve(request=found, by=request.user, resolution=data["resolution"]),
        _("Resolved; the applicant may now rate the service."),
    )


@login_required
def service_attachment_download(request, attachment_pk):
    attachment = get_object_or_404(selectors.attachments_for_user(request.user), pk=attachment_pk)
    return download_response(attachment.file, content_type=attachment.content_type, filename=attachment.original_name)


@login_required
def service_queue(request):
    """The line staff's queue: their lines only, oldest first, with age and due date; filter by line, state,
    overdue."""
    if not selectors.may_see_queue(request.user):
        raise Http404(_("No such page."))
    base = selectors.service_queue_for_staff(request.user)
    today = timezone.localdate()
    listing = Listing(
        request,
        base,
        filterset_class=ServiceRequestFilter,
        shown=("q", "line", "sub_venue", "state", "overdue", "submitted_on"),
        sorts=SERVICE_SORTS,
        default_order=("submitted_at", "pk"),
        export="service-requests",
        page_size=PAGE_SIZE,
    )
    page = listing.page
    page.object_list = selectors.annotate_age(page.object_list, today=today)
    return render(
        request,
        "teams/service_requests/queue.html",
        {
            "listing": listing,
            "page": page,
            "overdue_count": base.filter(selectors.overdue_q(today)).count(),
        },
    )


@login_required
def service_figures(request):
    figures = selectors.service_figures()
    return render(request, "teams/service_requests/figures.html", {"figures": figures, "chart": figures_chart(figures)})
