"""Thin doors to funding.services: validate input, call one service, show the result or the reason."""

from dataclasses import dataclass
from functools import wraps

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from funding import post_award, selectors, services
from funding.filters import ApplicationFilter
from funding.forms import (
    AcceptanceForm,
    ApplicationForm,
    ApproveForm,
    AssignLeadForm,
    AssignReviewerForm,
    CommentForm,
    DisbursementForm,
    ExpenseLineFormSet,
    FundUseReportForm,
    ObjectionForm,
    ReasonForm,
    RecoveryOpenForm,
    RegistrationVerificationForm,
    RepaymentForm,
    ReportDecisionForm,
    ReviewForm,
    ReviseAmountForm,
)
from funding.models import Application, FundUseReport, RecoveryOrder
from funding.workflow import (
    APPLICANT_STATE_LABELS,
    EDITABLE_STATES,
    MOVES_MONEY,
    QUEUES,
    REPORT_EDITABLE_STATES,
    REPORT_QUEUES,
    REPORT_WORKFLOW,
    WORKFLOW,
)
from teams.forms import DocumentForm
from teams.models import Entity
from valley.accounts import reauth
from valley.core import roles
from valley.core.errors import DomainError
from valley.core.money import parse_yuan
from valley.core.workflow import TransitionNotAllowed
from valley.web.listing import Listing

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


# The columns a list of applications may be sorted by (a whitelist: any other `sort` is ignored).
APPLICATION_SORTS = {
    "number": ("pk",),
    "entity": ("entity__name_zh",),
    "sub_venue": ("sub_venue__name_zh",),
    "amount": ("amount",),
    "state": ("state",),
    "submitted": ("submitted_at",),
    "created": ("created_at",),
}


@login_required
def my_applications(request):
    listing = Listing(
        request,
        selectors.applications_of_applicant(request.user),
        filterset_class=ApplicationFilter,
        shown=("q", "sub_venue", "created_at"),
        sorts=APPLICATION_SORTS,
        default_order=("-created_at", "-pk"),
        page_size=PAGE_SIZE,
    )
    return render(
        request,
        "funding/my_applications.html",
        {"listing": listing, "page": listing.page, "state_labels": APPLICANT_STATE_LABELS},
    )


def _own_entities(user):
    return Entity.objects.filter(owner=user).order_by("name_zh")


@login_required
def application_new(request):
    entities = _own_entities(request.user)
    # From the guide's pre-check: the team it found ready is chosen already (one of the user's own, or none).
    chosen = request.GET.get("entity", "")
    known = chosen.isascii() and chosen.isdigit() and len(chosen) <= 12  # an id, not a number PostgreSQL refuses
    initial = {"entity": int(chosen)} if known and entities.filter(pk=int(chosen)).exists() else {}
    form = ApplicationForm(request.POST or None, entities=entities, initial=initial)
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
    # The comment-only steps are buttons of one form; those whose guard refuses them now are shown disabled with
    # what they wait for (the notice's end date, the pending reviews, the amount still to pay); the steps with
    # their own form page come from _grant_context.
    steps = _comment_only_steps(application, user)
    context = {
        "application": application,
        "is_owner": is_owner,
        "is_staff_view": roles.is_staff_member(user) or roles.is_auditor(user),
        "state_label": APPLICANT_STATE_LABELS.get(application.state, application.get_state_display())
        if is_owner
        else application.get_state_display(),
        "steps": steps,
        # "return for changes, reject" in English, "退回修改、不予批准" in Chinese: the separator is translated.
        "steps_need_comment": _(", ").join(
            str(step.transition.label) for step in steps if step.transition.needs_comment
        ),
        "can": {
            name: WORKFLOW.may_act(WORKFLOW[name], application, user) and application.state in WORKFLOW[name].sources
            for name in ("approve", "verify_registration")
        },
        **_grant_context(application, user),
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
    # Each timeline row is titled with the state it moved to: in the applicant's words for the applicant
    # ("under review"), in the workflow's for staff and auditors.
    for event in application.events.all():
        event.title = (
            event.get_to_state_display()
            if context["is_staff_view"]
            else APPLICANT_STATE_LABELS.get(event.to_state, event.get_to_state_display())
        )
    context["may_claim"] = (
        roles.has_role(user, *services.LEAD_ROLES)
        and application.lead_id != user.pk
        and application.state != application.State.DRAFT
        and application.state not in application.ENDED_STATES
    )
    context["may_assign_lead"] = roles.has_role(user, *services.LEAD_ASSIGNERS) and (
        application.state != application.State.DRAFT and application.state not in application.ENDED_STATES
    )
    if context["may_assign_lead"]:
        context["lead_form"] = AssignLeadForm(
            candidates=services.lead_candidates(), initial={"lead": application.lead_id}
        )
    # The applicant's steps, in their words, with the dates to expect and what comes next (shown to staff too,
    # so that they see what the applicant sees).
    context["progress"] = selectors.application_progress(
        application, reports=context.get("reports", ()), recovery=context.get("recovery")
    )
    if context["may_assign"]:
        context["assign_form"] = AssignReviewerForm(reviewers=selectors.reviewers_for_assignment())
    if context["my_review"] and application.state == application.State.EXPERT_REVIEW:
        context["review_form"] = ReviewForm(instance=context["my_review"])
    return render(request, "funding/application_detail.html", context)


# How a step's button looks, and which steps are confirmed on a page of their own first: a step that ends the
# application or sends it back is not taken by one slip of the finger. Primary steps move the application on.
STEP_TONES = {"reject": "danger", "revoke": "danger", "withdraw": "secondary", "return_for_changes": "secondary"}
CONFIRM_FIRST = {
    "reject": gettext_lazy("Reject this application? The applicant is told, and the application goes no further."),
    "return_for_changes": gettext_lazy(
        "Return this application for changes? The applicant is told what to change and may submit it again."
    ),
    "revoke": gettext_lazy("Revoke the approval? The applicant is told, and no grant follows."),
    "withdraw": gettext_lazy("Withdraw your application? It goes no further; you may start a new one later."),
}
TONE_ORDER = {"primary": 0, "secondary": 1, "danger": 2}


@dataclass(frozen=True)
class Step:
    transition: object
    tone: str  # primary, secondary or danger: the button's class
    confirm: bool  # asks on a page of its own first
    reason: str | None  # why it is not possible yet (shown beside the disabled button), None when it is

    @property
    def name(self) -> str:
        return self.transition.name


def _comment_only_steps(application, user) -> list[Step]:
    steps = [
        Step(
            transition=t,
            tone=STEP_TONES.get(t.name, "primary"),
            confirm=t.name in CONFIRM_FIRST,
            reason=t.guard(application) if t.guard else None,
        )
        for t in WORKFLOW.available(application, user)
        if t.name in services.COMMENT_ONLY_TRANSITIONS
    ]
    # Possible steps first, the way forward before the way back; sorted() keeps the workflow's order within.
    return sorted(steps, key=lambda step: (step.reason is not None, TONE_ORDER[step.tone]))


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
    if name in CONFIRM_FIRST:
        application = selectors.application_detail(user=request.user, pk=pk)
        transition = WORKFLOW[name]
        confirmed = request.POST.get("confirmed") == "yes"
        if WORKFLOW.may_act(transition, application, request.user) and application.state in transition.sources:
            if confirmed and transition.needs_comment and not data["comment"].strip():
                form.add_error("comment", _("Say why: the applicant reads this comment."))
            if not confirmed or form.errors:
                return render(
                    request,
                    "funding/confirm_step.html",
                    {
                        "application": application,
                        "step": Step(transition, STEP_TONES.get(name, "primary"), True, None),
                        "question": CONFIRM_FIRST[name],
                        "form": form,
                        "is_staff_view": roles.is_staff_member(request.user),
                    },
                )
        # Otherwise the service says why not, as for every other step.
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


@require_POST
@login_required
def lead_claim(request, pk):
    return _act_on_lead(request, pk, lambda app: services.application_claim(application=app, by=request.user))


@require_POST
@login_required
def lead_assign(request, pk):
    selectors.application_detail(user=request.user, pk=pk)  # 404 for someone who may not see it, before any form
    form = AssignLeadForm(request.POST, candidates=services.lead_candidates())
    if not form.is_valid():
        messages.error(request, _("Choose a staff member from the list."))
        return redirect("funding:detail", pk=pk)
    lead = form.cleaned_data["lead"]
    return _act_on_lead(
        request, pk, lambda app: services.application_assign_lead(application=app, lead=lead, by=request.user)
    )


def _act_on_lead(request, pk, do):
    application = selectors.application_detail(user=request.user, pk=pk)
    try:
        changed = do(application)
    except DomainError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, _("%(user)s now leads this application.") % {"user": changed.lead})
    return redirect("funding:detail", pk=pk)


def _form_page(
    request, pk, form_class, template, do, *, transition=None, form_for=None, done=None, refused=None, **form_kwargs
):
    """A staff action with its own form page, so that errors stand next to their fields.

    With `transition`, the page is only for the roles that may take it: anyone else who can see the
    application (its applicant, an auditor, another staff role) gets 403 rather than a form that can only fail.
    When the step cannot be taken now (the application's state, the transition's guard, for an instalment the
    plan: `_step_problem`), the page says why and offers no form; a form posted anyway, or after the state
    changed meanwhile, goes to the service, which refuses it with its reason above the form.
    A transition that moves money (funding.workflow.MOVES_MONEY) needs a recent re-authentication
    (valley.accounts.reauth.required); a form posted before that comes back filled in.

    `form_for(application)` gives more keyword arguments for the form (its `initial` is merged with the
    pending one); `done(application)` the address to go to once saved (the application's page by default);
    `refused(application, form)` more context for the page when the service refused."""
    application = selectors.application_detail(user=request.user, pk=pk)
    page = {"application": application, "step": WORKFLOW[transition].label if transition else None}
    if transition:
        _may_take(application, request.user, transition)
        if request.method != "POST" and (reason := _step_problem(application, transition, request.user)):
            return render(request, template, {**page, "reason": reason})
    if transition in MOVES_MONEY and (asked := reauth.required(request)):
        return asked
    if form_for:
        form_kwargs = {**form_kwargs, **form_for(application)}
    pending = reauth.take_pending(request)
    if pending:
        form_kwargs["initial"] = {**form_kwargs.get("initial", {}), **pending}
    form = form_class(request.POST or None, **form_kwargs)
    extra = {}
    if request.method == "POST" and form.is_valid():
        try:
            do(application, form.cleaned_data)
        except DomainError as error:
            form.add_error(None, error.message)
            if refused:
                extra = refused(application, form)
        else:
            _report_done(request, pk)
            return redirect(done(application) if done else reverse("funding:detail", args=[pk]))
    return render(request, template, {**page, "form": form, **extra})


def _may_take(application, user, name) -> None:
    if not WORKFLOW.may_act(WORKFLOW[name], application, user):
        raise PermissionDenied(_("Your role may not “%(action)s”.") % {"action": WORKFLOW[name].label})


def _step_problem(application, name, user) -> str | None:
    """Why `user` cannot take the transition `name` on the application now, or None: its state or its guard
    (valley.core.workflow), and for an instalment the agreement's plan (services.release_problem). The services
    check the same again under the row lock."""
    try:
        WORKFLOW.check(name, application, user)
    except TransitionNotAllowed as error:
        return error.message
    if name == "disburse":
        return _next_instalment(application)[0]
    return None


def _next_instalment(application):
    """services.release_problem for the application, read once per request: (reason, planned, report)."""
    if not hasattr(application, "_release_problem"):
        application._release_problem = services.release_problem(application)
    return application._release_problem


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


REGISTRATION_DRAFT_KEY = "funding_registration_draft"


@login_required
def registration_verify(request, pk):
    """Verify the company registration. When the verified paid-in capital allows less than the approved amount,
    the page offers what can be done (`_paid_in_offer`) and keeps what was typed for the next try."""
    drafts = request.session.get(REGISTRATION_DRAFT_KEY, {})

    def form_for(application):
        draft = drafts.get(str(application.pk)) if request.method == "GET" else None
        return {"initial": draft} if draft else {}

    def do(app, data):
        services.application_verify_registration(application=app, by=request.user, **data)
        if str(pk) in drafts:
            del drafts[str(pk)]
            request.session.modified = True

    def refused(application, form):
        offer = _paid_in_offer(application, request.user, form.cleaned_data["paid_in_capital"])
        if offer:
            kept = {key: value for key, value in request.POST.items() if key != "csrfmiddlewaretoken"}
            request.session[REGISTRATION_DRAFT_KEY] = {**drafts, str(application.pk): kept}
        return {"offer": offer}

    return _form_page(
        request,
        pk,
        RegistrationVerificationForm,
        "funding/registration_form.html",
        do,
        transition="verify_registration",
        form_for=form_for,
        refused=refused,
    )


def _paid_in_offer(application, user, paid_in) -> dict | None:
    """What the registration page offers when `paid_in` allows less than the approved amount: revising it down
    to at most services.paid_in_limit (approvers, registration officers) or, when that is below the fund's
    minimum, rejecting at registration (approvers). None when the paid-in capital is not the problem."""
    limit = services.paid_in_limit(application, paid_in)
    if application.approved_amount is None or application.approved_amount <= limit:
        return None
    if limit >= application.min_amount:
        may = WORKFLOW.may_act(WORKFLOW["revise_amount"], application, user)
        url = reverse("funding:revise_amount", args=[application.pk]) + f"?paid_in={paid_in}"
    else:
        may = WORKFLOW.may_act(WORKFLOW["reject_at_registration"], application, user)
        url = reverse("funding:reject_at_registration", args=[application.pk])
    return {
        "paid_in": paid_in,
        "limit": limit,
        "minimum": application.min_amount,
        "share": f"{application.max_paid_in_share * 100:.0f}",
        "revise": limit >= application.min_amount,
        "may": may,
        "url": url,
    }


@login_required
def disburse(request, pk):
    """Release the plan's next instalment: its amount is the plan's; before anyone fills anything in, the page
    says why it cannot be released yet (services.release_problem) and offers no form."""
    return _form_page(
        request,
        pk,
        DisbursementForm,
        "funding/disburse_form.html",
        lambda app, data: services.application_disburse(application=app, by=request.user, **data),
        transition="disburse",
        form_for=lambda app: {"planned": _next_instalment(app)[1]},
    )


# ------------------------------------------------------------------ staff pages


@staff_or_auditor_required
def queues(request):
    counts = selectors.queue_counts(user=request.user)
    items = [(key, label, counts[key]) for key, (label, _role, _states) in QUEUES.items()]
    report_counts = selectors.report_queue_counts(user=request.user)
    items += [(key, label, report_counts[key]) for key, (label, *_rest) in REPORT_QUEUES.items()]
    return render(request, "funding/queues.html", {"queues": items})


@staff_or_auditor_required
def queue(request, queue):
    if queue in REPORT_QUEUES:
        return _report_queue(request, queue)
    if queue not in QUEUES:
        raise Http404
    label, _role, states = QUEUES[queue]
    listing = Listing(
        request,
        selectors.work_queue(user=request.user, queue=queue),
        filterset_class=ApplicationFilter,
        shown=("q", "sub_venue", "submitted_at"),
        sorts=APPLICATION_SORTS,
        default_order=("submitted_at", "pk"),
        page_size=PAGE_SIZE,
        # "Export this view": the applications export, in this queue's states and with the filters set here.
        export="applications",
        fixed={"state": list(states)},
    )
    return render(
        request, "funding/queue.html", {"label": label, "listing": listing, "page": listing.page, "queue": queue}
    )


@staff_or_auditor_required
def budgets(request):
    return render(request, "funding/budgets.html", {"budgets": selectors.budgets_visible_to(request.user)})


def notices(request):
    context = {"page": _page(request, selectors.public_notices()), "columns": selectors.public_notice_columns()}
    return render(request, "funding/notices.html", context)


# ------ the grant after the money: applicant


@login_required
def grant(request, pk):
    """The grant as its holder follows it: the agreement, the plan and what each instalment waits for, what is
    due next, the fund-use reports, the final acceptance, any recovery and the messages. Staff and auditors
    who may see the application see the same page."""
    application = selectors.grant_detail(user=request.user, pk=pk)
    today = timezone.localdate()
    reports = list(application.fund_use_reports.all())
    due = next((r for r in reports if r.state != FundUseReport.State.ACCEPTED), None)
    steps = selectors.grant_instalments(application)
    context = {
        "application": application,
        "agreement": application.agreement,
        "is_owner": application.entity.owner_id == request.user.pk,
        "steps": steps,
        "next_step": next((step for step in steps if step.is_next), None),
        "reports": reports,
        "due": due,
        "due_days_late": selectors.working_days_late(due, today) if due else 0,
        "acceptance": getattr(application, "final_acceptance", None),
        "recovery": getattr(application, "recovery", None),
    }
    return render(request, "funding/grant.html", context)


def _report_forms_from(report):
    """The report's form and lines as saved: a few empty rows after the saved lines."""
    form = FundUseReportForm(
        report=report,
        milestones=report.application.agreement.milestones.all(),
        initial={
            "spent": report.spent or "",
            "summary": report.summary,
            **{f"progress_{row.order}": row.progress for row in report.progress.all()},
        },
    )
    lines = [
        {"category": line.category, "amount": line.amount, "description": line.description}
        for line in report.lines.all()
    ]
    return form, ExpenseLineFormSet(prefix="lines", initial=lines)


def _report_forms_with_a_row_more(request, report):
    """What was typed, unchecked, with one empty row more (the "add a row" button: no JavaScript needed)."""
    typed = FundUseReportForm(request.POST, report=report, milestones=report.application.agreement.milestones.all())
    form = FundUseReportForm(
        report=report,
        milestones=typed.milestones,
        initial={name: typed[name].data for name in typed.fields},
    )
    rows = ExpenseLineFormSet(request.POST, prefix="lines")
    if not rows.management_form.is_valid():
        return form, ExpenseLineFormSet(prefix="lines")
    typed_rows = [
        {name: row[name].data for name in ("category", "amount", "description")}
        for row in rows.forms
        if not row.is_blank()
    ]
    lines = ExpenseLineFormSet(prefix="lines", initial=typed_rows)
    lines.extra = len(rows.forms) - len(typed_rows) + 1
    return form, lines


def _report_page(request, report, *, form=None, lines=None, document_form=None, decision_form=None, status=200):
    user = request.user
    is_owner = report.application.entity.owner_id == user.pk
    editable = is_owner and report.state in REPORT_EDITABLE_STATES
    if editable and form is None:
        form, lines = _report_forms_from(report)
    may_decide = report.state in REPORT_WORKFLOW["accept"].sources and REPORT_WORKFLOW.may_act(
        REPORT_WORKFLOW["accept"], report, user
    )
    context = {
        "report": report,
        "application": report.application,
        "is_owner": is_owner,
        "is_staff_view": roles.is_staff_member(user) or roles.is_auditor(user),
        "editable": editable,
        "form": form,
        "lines": lines,
        "document_form": document_form or (DocumentForm() if editable else None),
        "decision_form": decision_form or (ReportDecisionForm() if may_decide else None),
        "days_late": selectors.working_days_late(report),
        "return_comment": next(
            (e.comment for e in reversed(list(report.events.all())) if e.to_state == FundUseReport.State.RETURNED),
            "",
        )
        if report.state == FundUseReport.State.RETURNED
        else "",
    }
    return render(request, "funding/report.html", context, status=status)


def _owner_report(request, pk):
    """The report for one of its holder's steps: 404 to whoever may not see it, 403 to staff who only see it."""
    report = selectors.fund_use_report_detail(user=request.user, pk=pk)
    if report.application.entity.owner_id != request.user.pk:
        raise PermissionDenied(_("Only the grant holder files its fund-use reports."))
    return report


@login_required
def report_detail(request, pk):
    """A fund-use report: its holder fills it in (spend, expense lines, progress per milestone) and submits it
    (post_award.report_save, report_submit); staff and auditors who may see the grant read it, finance decides
    on it (report_decide). One form, so that a refusal stands next to its field and nothing typed is lost."""
    if request.method != "POST":
        return _report_page(request, selectors.fund_use_report_detail(user=request.user, pk=pk))
    report = _owner_report(request, pk)
    if report.state not in REPORT_EDITABLE_STATES:
        messages.error(request, _("The report is submitted; it can no longer be changed."))
        return redirect("funding:report", pk=pk)
    if "add_row" in request.POST:
        form, lines = _report_forms_with_a_row_more(request, report)
        return _report_page(request, report, form=form, lines=lines)
    milestones = report.application.agreement.milestones.all()
    form = FundUseReportForm(request.POST, report=report, milestones=milestones)
    spent = form.cleaned_data["spent"] if form.is_valid() else None
    lines = ExpenseLineFormSet(request.POST, prefix="lines", spent=spent, disbursed=report.disbursed)
    if form.is_valid() and lines.is_valid():
        try:
            post_award.report_save(
                report=report,
                by=request.user,
                spent=spent,
                summary=form.cleaned_data["summary"],
                lines=lines.lines(),
                progress=form.progress(),
            )
        except DomainError as error:
            form.add_error(None, error.message)
        else:
            if request.POST.get("action") != "submit":
                messages.success(request, _("The report is saved. Attach the invoices and contracts, then submit it."))
                return redirect("funding:report", pk=pk)
            try:
                post_award.report_submit(report=report, by=request.user)
            except DomainError as error:
                messages.error(request, _("Saved, but not submitted: %(reason)s") % {"reason": error.message})
            else:
                messages.success(request, _("The report is submitted. Finance will review it."))
            return redirect("funding:report", pk=pk)
    return _report_page(request, report, form=form, lines=lines)


@require_POST
@login_required
def report_attach_document(request, pk):
    report = _owner_report(request, pk)
    form = DocumentForm(request.POST, request.FILES)
    if form.is_valid():
        try:
            post_award.report_attach_document(
                report=report, by=request.user, title=form.cleaned_data["title"], upload=form.cleaned_data["file"]
            )
        except DomainError as error:
            form.add_error(None, error.message)
        else:
            messages.success(request, _("The document is attached."))
            return redirect("funding:report", pk=pk)
    return _report_page(request, report, document_form=form)


@require_POST
@login_required
def report_detach_document(request, pk, document_pk):
    report = _owner_report(request, pk)
    document = next((d for d in report.documents.all() if d.pk == document_pk), None)
    if document is None:
        raise Http404
    try:
        post_award.report_detach_document(report=report, by=request.user, document=document)
    except DomainError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, _("The document is removed from the report."))
    return redirect("funding:report", pk=pk)


@require_POST
@login_required
def report_decide(request, pk):
    """Finance accepts a submitted report or returns it for changes (with a comment for the applicant)."""
    report = selectors.fund_use_report_detail(user=request.user, pk=pk)
    accept = REPORT_WORKFLOW["accept"]
    if not REPORT_WORKFLOW.may_act(accept, report, request.user):
        raise PermissionDenied(_("Your role may not “%(action)s”.") % {"action": accept.label})
    form = ReportDecisionForm(request.POST)
    if form.is_valid():
        decide = post_award.report_accept if form.cleaned_data["decision"] == "accept" else post_award.report_return
        try:
            decided = decide(report=report, by=request.user, comment=form.cleaned_data["comment"])
        except DomainError as error:
            form.add_error(None, error.message)
        else:
            messages.success(
                request, _("Saved. The report is now “%(state)s”.") % {"state": decided.get_state_display()}
            )
            return redirect("funding:report", pk=pk)
    return _report_page(request, report, decision_form=form)
    """A fund-use report: the applicant files it, staff review it (pages built on funding.post_award)."""
    raise Http404


# ------------------------------------------------------------------ the grant after the money: staff

# The steps after the money that have their own form page, in the order the detail page offers them.
GRANT_STEPS = (
    ("disburse", "funding:disburse"),
    ("record_acceptance", "funding:acceptance"),
    ("open_recovery", "funding:recovery_open"),
    ("record_repayment", "funding:repayment"),
    ("revise_amount", "funding:revise_amount"),
    ("reject_at_registration", "funding:reject_at_registration"),
)
GRANT_STATES = (Application.State.DISBURSEMENT, Application.State.RECOVERY, Application.State.CLOSED)


def _grant_context(application, user) -> dict:
    """What the detail page shows of the steps after the money: the form pages the person may open now
    (`grant_steps`), those they could take but not yet, with the reason (`waiting`), the fund-use reports with
    their due dates and days late, the final acceptance and the recovery order."""
    steps, waiting = [], []
    for name, url_name in GRANT_STEPS:
        transition = WORKFLOW[name]
        if application.state not in transition.sources or not WORKFLOW.may_act(transition, application, user):
            continue
        reason = _step_problem(application, name, user)
        if reason:
            waiting.append((transition.label, reason))
        else:
            steps.append((reverse(url_name, args=[application.pk]), transition.label))
    context = {"grant_steps": steps, "waiting": waiting}
    if application.state in GRANT_STATES:
        context["reports"] = selectors.grant_reports(application=application)
        context["acceptance"] = getattr(application, "final_acceptance", None)
        context["recovery"] = selectors.grant_recovery(application=application)
    return context


def _report_queue(request, queue):
    label, *_rest = REPORT_QUEUES[queue]
    page = _page(request, selectors.report_queue(user=request.user, queue=queue))
    page.object_list = selectors.with_days_late(page.object_list)
    return render(
        request,
        "funding/report_queue.html",
        {"label": label, "page": page, "queue": queue, "overdue": REPORT_QUEUES[queue][3]},
    )


@login_required
def acceptance(request, pk):
    """Record the final acceptance (reviewers, approvers), once its guard allows (workflow._acceptance_due)."""
    return _form_page(
        request,
        pk,
        AcceptanceForm,
        "funding/action_form.html",
        lambda app, data: post_award.acceptance_record(application=app, by=request.user, **data),
        transition="record_acceptance",
        initial={"accepted_on": timezone.localdate()},
    )


@login_required
def recovery_open(request, pk):
    """Open a recovery order of at most what was disbursed (finance officers, approvers)."""
    return _form_page(
        request,
        pk,
        RecoveryOpenForm,
        "funding/action_form.html",
        lambda app, data: post_award.recovery_open(application=app, by=request.user, **data),
        transition="open_recovery",
        form_for=lambda app: {"application": app},
    )


@login_required
def repayment(request, pk):
    """Record a repayment against the recovery order (finance officers); the one that completes it closes the
    grant."""
    return _form_page(
        request,
        pk,
        RepaymentForm,
        "funding/repayment_form.html",
        lambda app, data: post_award.recovery_repay(application=app, by=request.user, **data),
        transition="record_repayment",
        form_for=lambda app: {"order": RecoveryOrder.objects.filter(application=app).first()},
    )


def _back_to_registration(application, user):
    if WORKFLOW.may_act(WORKFLOW["verify_registration"], application, user):
        return reverse("funding:verify_registration", args=[application.pk])
    return reverse("funding:detail", args=[application.pk])


@login_required
def revise_amount(request, pk):
    """Revise the approved amount down at registration (approvers, registration officers); opened from the
    registration page with ?paid_in=, the most that paid-in capital allows is filled in."""

    def form_for(app):
        initial = {}
        try:
            paid_in = parse_yuan(request.GET.get("paid_in", ""))
        except ValidationError:
            paid_in = None
        if paid_in is not None:
            initial = {"paid_in_capital": f"{paid_in:,.2f}", "amount": f"{services.paid_in_limit(app, paid_in):,.2f}"}
        return {"application": app, "initial": initial}

    return _form_page(
        request,
        pk,
        ReviseAmountForm,
        "funding/action_form.html",
        lambda app, data: services.application_revise_amount(
            application=app, by=request.user, amount=data["amount"], comment=data["comment"]
        ),
        transition="revise_amount",
        form_for=form_for,
        done=lambda app: _back_to_registration(app, request.user),
    )


@login_required
def reject_at_registration(request, pk):
    """Reject at registration (approvers): the paid-in capital does not allow even the fund's minimum."""
    return _form_page(
        request,
        pk,
        ReasonForm,
        "funding/action_form.html",
        lambda app, data: services.application_reject_at_registration(
            application=app, by=request.user, comment=data["comment"]
        ),
        transition="reject_at_registration",
    )
