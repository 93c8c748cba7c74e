"""Thin doors to funding.services: validate input, call one service, show the result or the reason."""

from functools import wraps

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from funding import selectors, services
from funding.forms import (
    ApplicationForm,
    ApproveForm,
    AssignReviewerForm,
    CommentForm,
    DisbursementForm,
    ObjectionForm,
    RegistrationVerificationForm,
    ReviewForm,
)
from funding.models import Application
from funding.workflow import APPLICANT_STATE_LABELS, EDITABLE_STATES, MOVES_MONEY, QUEUES, WORKFLOW
from teams.forms import DocumentForm
from teams.models import Entity
from valley.accounts import reauth
from valley.core import roles
from valley.core.errors import DomainError

PAGE_SIZE = 50


def staff_or_auditor_required(view):
    @wraps(view)
    @login_required
    def wrapper(request, *args, **kwargs):
        if not (roles.is_staff_member(request.user) or roles.is_auditor(request.user)):
            raise Http404
        return view(request, *args, **kwargs)

    return wrapper


def _page(request, queryset):
    return Paginator(queryset, PAGE_SIZE).get_page(request.GET.get("page"))


# ------------------------------------------------------------------ applicant


@login_required
def my_applications(request):
    applications = selectors.applications_of_applicant(request.user)
    return render(
        request,
        "funding/my_applications.html",
        {"page": _page(request, applications), "state_labels": APPLICANT_STATE_LABELS},
    )


def _own_entities(user):
    return Entity.objects.filter(owner=user).order_by("name_zh")


@login_required
def application_new(request):
    entities = _own_entities(request.user)
    form = ApplicationForm(request.POST or None, entities=entities)
    if request.method == "POST" and form.is_valid():
        try:
            application = services.application_create(by=request.user, **form.cleaned_data)
        except DomainError as error:
            form.add_error(None, error.message)
        else:
            messages.success(request, _("The draft is saved. Check it, then submit it when it is complete."))
            return redirect("funding:detail", pk=application.pk)
    return render(request, "funding/application_form.html", {"form": form, "has_entities": entities.exists()})


@login_required
def application_edit(request, pk):
    application = selectors.application_detail(user=request.user, pk=pk)
    if application.entity.owner_id != request.user.pk:
        raise Http404
    form = ApplicationForm(request.POST or None, instance=application, entities=_own_entities(request.user))
    if request.method == "POST" and form.is_valid():
        data = {key: form.cleaned_data[key] for key in ("amount", "purpose", "plan")}
        try:
            services.application_update(application=application, by=request.user, **data)
        except DomainError as error:
            form.add_error(None, error.message)
        else:
            messages.success(request, _("Your changes are saved."))
            return redirect("funding:detail", pk=pk)
    return render(
        request, "funding/application_form.html", {"form": form, "application": application, "has_entities": True}
    )


# ------------------------------------------------------------------ everyone who may see the application


@login_required
def application_detail(request, pk):
    application = selectors.application_detail(user=request.user, pk=pk)
    user = request.user
    is_owner = application.entity.owner_id == user.pk
    actions = [
        t for t in WORKFLOW.available(application, user) if t.name not in {"approve", "verify_registration", "disburse"}
    ]
    context = {
        "application": application,
        "is_owner": is_owner,
        "is_staff_view": roles.is_staff_member(user) or roles.is_auditor(user),
        "state_label": APPLICANT_STATE_LABELS.get(application.state, application.get_state_display())
        if is_owner
        else application.get_state_display(),
        "actions": actions,
        "can": {
            name: WORKFLOW.may_act(WORKFLOW[name], application, user) and application.state in WORKFLOW[name].sources
            for name in ("approve", "verify_registration", "disburse")
        },
        "comment_form": CommentForm(),
        "may_object": roles.has_role(user, roles.APPROVER, roles.PROVINCIAL_STAFF)
        and application.state == application.State.PUBLIC_NOTICE,
        "objection_form": ObjectionForm(),
        "may_assign": roles.has_role(user, roles.REVIEWER, roles.PROVINCIAL_STAFF)
        and application.state in (application.State.FORMAL_REVIEW, application.State.EXPERT_REVIEW),
        "my_review": next((r for r in application.reviews.all() if r.reviewer_id == user.pk), None),
        "may_edit": is_owner and application.state in EDITABLE_STATES,
        # What the applicant must change, at the top of the page rather than down in the timeline.
        "return_comment": next(
            (e.comment for e in reversed(list(application.events.all())) if e.to_state == application.State.RETURNED),
            "",
        )
        if application.state == application.State.RETURNED
        else "",
    }
    if context["may_assign"]:
        context["assign_form"] = AssignReviewerForm(reviewers=selectors.reviewers_for_assignment())
    if context["my_review"] and application.state == application.State.EXPERT_REVIEW:
        context["review_form"] = ReviewForm(instance=context["my_review"])
    return render(request, "funding/application_detail.html", context)


def _act(request, pk, do):
    """Run a service for the application and report the outcome as a message on the detail page."""
    application = selectors.application_detail(user=request.user, pk=pk)
    try:
        do(application)
    except DomainError as error:
        messages.error(request, error.message)
    else:
        _report_done(request, pk)
    return redirect("funding:detail", pk=pk)


def _report_done(request, pk):
    state = Application.objects.get(pk=pk).get_state_display()
    messages.success(request, _("Saved. The application is now “%(state)s”.") % {"state": state})


@require_POST
@login_required
def application_transition(request, pk, name):
    if name not in services.COMMENT_ONLY_TRANSITIONS:
        raise Http404
    form = CommentForm(request.POST)
    form.is_valid()
    data = {
        "comment": form.cleaned_data.get("comment", ""),
        "internal_note": form.cleaned_data.get("internal_note", ""),
    }
    return _act(request, pk, lambda app: services.application_take(application=app, name=name, by=request.user, **data))


@require_POST
@login_required
def application_object(request, pk):
    form = ObjectionForm(request.POST)
    objection = form.cleaned_data["objection"] if form.is_valid() else ""
    return _act(
        request,
        pk,
        lambda app: services.application_record_objection(application=app, by=request.user, objection=objection),
    )


@require_POST
@login_required
def application_clear_objection(request, pk):
    form = CommentForm(request.POST)
    form.is_valid()
    return _act(
        request,
        pk,
        lambda app: services.application_clear_objection(
            application=app, by=request.user, comment=form.cleaned_data.get("comment", "")
        ),
    )


@require_POST
@login_required
def review_assign(request, pk):
    selectors.application_detail(user=request.user, pk=pk)  # 404 for someone who may not see it, before any form
    form = AssignReviewerForm(request.POST, reviewers=selectors.reviewers_for_assignment())
    if not form.is_valid():
        messages.error(request, _("Choose a reviewer from the list."))
        return redirect("funding:detail", pk=pk)
    return _act(
        request,
        pk,
        lambda app: services.review_assign(application=app, reviewer=form.cleaned_data["reviewer"], by=request.user),
    )


def _form_page(request, pk, form_class, template, do, *, transition=None, **form_kwargs):
    """A staff action with its own form page, so that errors stand next to their fields.

    With `transition`, the page is only for the roles that may take it: anyone else who can see the
    application (its applicant, an auditor, another staff role) gets 403 rather than a form that can only fail.
    A transition that moves money (funding.workflow.MOVES_MONEY) needs a recent re-authentication
    (valley.accounts.reauth.required); a form posted before that comes back filled in."""
    application = selectors.application_detail(user=request.user, pk=pk)
    if transition and not WORKFLOW.may_act(WORKFLOW[transition], application, request.user):
        raise PermissionDenied(_("Your role may not “%(action)s”.") % {"action": WORKFLOW[transition].label})
    if transition in MOVES_MONEY and (asked := reauth.required(request)):
        return asked
    pending = reauth.take_pending(request)
    if pending:
        form_kwargs["initial"] = pending
    form = form_class(request.POST or None, **form_kwargs)
    if request.method == "POST" and form.is_valid():
        try:
            do(application, form.cleaned_data)
        except DomainError as error:
            form.add_error(None, error.message)
        else:
            _report_done(request, pk)
            return redirect("funding:detail", pk=pk)
    return render(request, template, {"form": form, "application": application})


@login_required
def document_attach(request, pk):
    application = selectors.application_detail(user=request.user, pk=pk)
    if application.entity.owner_id != request.user.pk:
        raise Http404
    form = DocumentForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.application_attach_document(
                application=application,
                by=request.user,
                title=form.cleaned_data["title"],
                upload=form.cleaned_data["file"],
            )
        except DomainError as error:
            form.add_error(None, error.message)
        else:
            messages.success(request, _("The document is attached."))
            return redirect("funding:detail", pk=pk)
    return render(request, "funding/action_form.html", {"form": form, "application": application, "multipart": True})


@require_POST
@login_required
def document_detach(request, pk, document_pk):
    application = selectors.application_detail(user=request.user, pk=pk)
    document = next((d for d in application.documents.all() if d.pk == document_pk), None)
    if document is None or application.entity.owner_id != request.user.pk:
        raise Http404
    return _act(
        request,
        pk,
        lambda app: services.application_detach_document(application=app, by=request.user, document=document),
    )


@login_required
def review_submit(request, pk):
    application = selectors.application_detail(user=request.user, pk=pk)
    review = next((r for r in application.reviews.all() if r.reviewer_id == request.user.pk), None)
    if review is None:
        raise Http404
    return _form_page(
        request,
        pk,
        ReviewForm,
        "funding/action_form.html",
        lambda app, data: services.review_submit(review=review, by=request.user, **data),
        instance=review,
    )


@login_required
def application_approve(request, pk):
    def do(app, data):
        services.application_approve(
            application=app,
            by=request.user,
            approved_amount=data["approved_amount"],
            comment=data["comment"],
            internal_note=data["internal_note"],
        )

    return _form_page(request, pk, ApproveForm, "funding/action_form.html", do, transition="approve")


@login_required
def registration_verify(request, pk):
    return _form_page(
        request,
        pk,
        RegistrationVerificationForm,
        "funding/action_form.html",
        lambda app, data: services.application_verify_registration(application=app, by=request.user, **data),
        transition="verify_registration",
    )


@login_required
def disburse(request, pk):
    return _form_page(
        request,
        pk,
        DisbursementForm,
        "funding/action_form.html",
        lambda app, data: services.application_disburse(application=app, by=request.user, **data),
        transition="disburse",
    )


# ------------------------------------------------------------------ staff pages


@staff_or_auditor_required
def queues(request):
    counts = selectors.queue_counts(user=request.user)
    items = [(key, label, counts[key]) for key, (label, _role, _states) in QUEUES.items()]
    return render(request, "funding/queues.html", {"queues": items})


@staff_or_auditor_required
def queue(request, queue):
    if queue not in QUEUES:
        raise Http404
    label, _role, _states = QUEUES[queue]
    page = _page(request, selectors.work_queue(user=request.user, queue=queue))
    return render(request, "funding/queue.html", {"label": label, "page": page, "queue": queue})


@staff_or_auditor_required
def budgets(request):
    return render(request, "funding/budgets.html", {"budgets": selectors.budgets_visible_to(request.user)})


def notices(request):
    return render(request, "funding/notices.html", {"page": _page(request, selectors.public_notices())})


@login_required
def report_detail(request, pk):
    """A fund-use report: the applicant files it, staff review it (pages built on funding.post_award)."""
    raise Http404
