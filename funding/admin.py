"""Staff work on the fund in the admin through the same services as the web pages: no field that carries
money or state is editable here, and every action takes a comment."""

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.shortcuts import render
from django.urls import reverse
from django.utils.html import format_html_join
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from funding import post_award, selectors, services
from funding.forms import CommentForm
from funding.models import (
    AgreementMilestone,
    Application,
    ApplicationEvent,
    Disbursement,
    ExpenseLine,
    ExpertReview,
    FinalAcceptance,
    FundingAgreement,
    FundPolicy,
    FundUseReport,
    FundUseReportEvent,
    MilestoneAmendment,
    MilestoneProgress,
    PlannedInstalment,
    RecoveryOrder,
    Repayment,
    SubVenueBudget,
)
from funding.workflow import MOVES_MONEY, QUEUES, REPORT_WORKFLOW, WORKFLOW, history_action
from valley.accounts import reauth
from valley.core import roles, scoping
from valley.core.errors import DomainError
from valley.templatetags.valley_format import yuan
from valley.web.admin_format import NumbersAdminMixin, action_column
from valley.web.admin_initial import ValidInitialMixin
from valley.web.admin_lists import LargeTableAdminMixin, year_filter
from valley.web.admin_services import adopt_saved


class _ServiceCheckedForm(forms.ModelForm):
    """An admin form whose `service_check()` asks the service for its reason to refuse, so that the reason
    stands on the form instead of the save failing after it (the admin passes the person as `by`)."""

    by = None

    def service_check(self, data: dict) -> None:
        raise NotImplementedError

    def clean(self):
        data = super().clean()
        if not self.errors:
            try:
                self.service_check(data)
            except DomainError as error:
                raise ValidationError(error.message) from None
        return data


POLICY_LIMITS = ("min_amount", "max_amount", "max_paid_in_share", "notice_days")
POLICY_PLAN = ("first_share", "second_share", "third_share", "report_due_days")


def _policy_values(data: dict) -> dict:
    """The form's values as policy_check / policy_change take them. A plan or report days left empty are
    passed as None: the new version keeps the current version's."""
    shares = tuple(data.get(name) for name in ("first_share", "second_share", "third_share"))
    return {
        **{name: data[name] for name in POLICY_LIMITS},
        "instalment_shares": None if None in shares else shares,
        "report_due_days": data.get("report_due_days"),
    }


class FundPolicyForm(_ServiceCheckedForm):
    class Meta:
        model = FundPolicy
        fields = [*POLICY_LIMITS, *POLICY_PLAN, "reason"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # Filled in with the current version's plan; a form posted without them keeps that plan.
        for name in POLICY_PLAN:
            if name in self.fields:  # the read-only view of a version has no fields
                self.fields[name].required = False
        if "max_paid_in_share" in self.fields:  # a share is read with at most two decimals everywhere
            self.fields["max_paid_in_share"].help_text = gettext_lazy(
                "0.5 means the grant may be at most 50% of the registered company's paid-in capital."
            )

    def service_check(self, data):
        services.policy_check(by=self.by, **_policy_values(data))


class _ServiceAdmin(NumbersAdminMixin, admin.ModelAdmin):
    """Saves through a service: the form's instance stays unsaved (save_form's commit=False), and `save_model`
    calls `save_through_service` instead of instance.save()."""

    def get_form(self, request, obj=None, change=False, **kwargs):
        form = super().get_form(request, obj, change, **kwargs)
        return type(form.__name__, (form,), {"by": request.user})

    def save_model(self, request, obj, form, change):
        saved = self.save_through_service(request, obj, form.cleaned_data, change)
        # The admin's log entry and messages read the object it passed in: give it the row the service wrote.
        adopt_saved(obj, saved)

    def save_through_service(self, request, obj, data: dict, change: bool):
        raise NotImplementedError


@admin.register(FundPolicy)
class FundPolicyAdmin(_ServiceAdmin):
    """Versions are added, never edited, so each application keeps the rules it was judged by. A version is
    added by services.policy_change, as everywhere."""

    form = FundPolicyForm
    share_fields = ("max_paid_in_share",)
    list_display = [
        "effective_from",
        "min_amount",
        "max_amount",
        "max_paid_in_share",
        "notice",
        "first_share",
        "second_share",
        "third_share",
        "report_due_days",
        "is_demo",
        "changed_by",
    ]
    fields = [*POLICY_LIMITS, *POLICY_PLAN, "reason"]

    @admin.display(description=gettext_lazy("public notice"))
    def notice(self, policy):
        return policy.notice_label

    def get_fields(self, request, obj=None):
        # A version added here is never a demo one (policy_change); a demo version (seed_demo) says so when read.
        if obj is not None and obj.is_demo:
            return [*self.fields, "is_demo", "notice_minutes"]
        return self.fields

    def has_change_permission(self, request, obj=None):
        return obj is None and super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        return False

    def save_through_service(self, request, obj, data, change):
        return services.policy_change(by=request.user, reason=data["reason"], **_policy_values(data))

    def get_changeform_initial_data(self, request):
        # The form posted before the re-authentication below comes back filled in, to be checked and saved.
        current = services.policy_current()
        plan = {name: getattr(current, name) for name in POLICY_PLAN}
        return {**super().get_changeform_initial_data(request), **plan, **(reauth.take_pending(request) or {})}

    def add_view(self, request, form_url="", extra_context=None):
        # Changing the fund policy needs a recent re-authentication (valley.accounts.reauth), as moving money does.
        if self.has_add_permission(request):
            asked = reauth.required(
                request, message=_("Nothing was saved yet: confirm it is you, then check the form and save it.")
            )
            if asked:
                return asked
        return super().add_view(request, form_url, extra_context)


class SubVenueBudgetForm(_ServiceCheckedForm):
    class Meta:
        model = SubVenueBudget
        fields = ["sub_venue", "year", "amount"]

    def service_check(self, data):
        budget = self.instance if self.instance.pk else None
        sub_venue_id = budget.sub_venue_id if budget else data["sub_venue"].pk
        services.budget_check(by=self.by, sub_venue_id=sub_venue_id, amount=data["amount"], budget=budget)


@admin.register(SubVenueBudget)
class SubVenueBudgetAdmin(ValidInitialMixin, _ServiceAdmin):
    """Budgets are added and changed through services.budget_create / budget_change (audited, scoped); the
    counters move only with approvals, instalments and recoveries, and a budget stays with its sub-venue and year."""

    form = SubVenueBudgetForm
    list_display = ["sub_venue", "year", "amount", "reserved", "disbursed", "recovered", "remaining"]
    list_filter = ["year", "sub_venue"]
    list_select_related = ["sub_venue"]
    autocomplete_fields = ["sub_venue"]

    @admin.display(description=gettext_lazy("remaining"))
    def remaining(self, budget):
        return yuan(budget.remaining)

    def get_readonly_fields(self, request, obj=None):
        counters = ["reserved", "disbursed", "recovered"]
        return ["sub_venue", "year", *counters] if obj is not None else counters

    def get_queryset(self, request):
        return scoping.in_scope(super().get_queryset(request), request.user)

    def save_through_service(self, request, obj, data, change):
        if change:
            return services.budget_change(budget=obj, by=request.user, amount=data["amount"])
        return services.budget_create(
            by=request.user, sub_venue=data["sub_venue"], year=data["year"], amount=data["amount"]
        )

    def delete_model(self, request, obj):
        services.budget_delete(budget=obj, by=request.user)

    def delete_queryset(self, request, queryset):
        for budget in queryset:
            services.budget_delete(budget=budget, by=request.user)


class EventInline(admin.TabularInline):
    model = ApplicationEvent
    extra = 0
    can_delete = False
    fields = ["at", "action_shown", "from_state", "to_state", "by", "text_shown", "internal_note"]
    readonly_fields = fields
    action_shown = action_column(WORKFLOW)

    @admin.display(description=gettext_lazy("comment"))
    def text_shown(self, event):
        # The portal's message in the reader's language, then what staff typed (ApplicationEvent.text).
        return event.text

    def has_add_permission(self, request, obj=None):
        return False


class DisbursementInline(admin.TabularInline):
    model = Disbursement
    extra = 0
    can_delete = False
    readonly_fields = ["number", "amount", "paid_on", "reference", "recorded_by", "recorded_at"]
    fields = readonly_fields

    def has_add_permission(self, request, obj=None):
        return False


def _instalments_table(agreement):
    return format_html_join(
        mark_safe("<br>"),
        "{}. {}% — {} {}",
        ((i.number, i.share, f"{i.amount:,.2f}", _("yuan")) for i in agreement.instalments.all()),
    )


def _milestones_table(agreement):
    return format_html_join(
        mark_safe("<br>"), "{}. {} — {}", ((m.order, m.title, m.due_on) for m in agreement.milestones.all())
    ) or _("none recorded")


class AgreementInline(admin.StackedInline):
    """The funding agreement on the application's page, read-only: it is recorded at registration
    verification and its milestones are amended by services.agreement_amend_milestones."""

    model = FundingAgreement
    extra = 0
    can_delete = False
    fields = ["amount", "purpose", "policy", "recorded_by", "recorded_at", "planned_instalments", "agreed_milestones"]
    readonly_fields = fields

    @admin.display(description=gettext_lazy("planned instalments"))
    def planned_instalments(self, agreement):
        return _instalments_table(agreement)

    @admin.display(description=gettext_lazy("milestones"))
    def agreed_milestones(self, agreement):
        return _milestones_table(agreement)

    def has_add_permission(self, request, obj=None):
        return False


def _transition_action(name: str):
    """An admin action for the transition `name`: the service the pages call, and the same re-authentication
    rule (funding.workflow.MOVES_MONEY, valley.accounts.reauth.required)."""
    transition = WORKFLOW[name]

    def action(modeladmin, request, queryset):
        if name in MOVES_MONEY:
            asked = reauth.required(
                request,
                keep_form=False,  # the selection is not a form the changelist fills in again
                message=_(
                    "Approving money needs you to confirm it is you first. Nothing was changed: select the "
                    "applications and run the action again."
                ),
            )
            if asked:
                return asked
        form = CommentForm(request.POST if "apply" in request.POST else None)
        if "apply" not in request.POST or not form.is_valid():
            return render(
                request,
                "admin/funding/transition_confirm.html",
                {
                    **modeladmin.admin_site.each_context(request),
                    "title": transition.label,
                    "form": form,
                    "applications": queryset,
                    "action": f"do_{name}",
                    "opts": modeladmin.model._meta,
                },
            )
        done = 0
        for application in queryset:
            try:
                if name == "approve":  # the requested amount; the page's form may approve less
                    services.application_approve(application=application, by=request.user, **form.cleaned_data)
                else:
                    services.application_take(application=application, name=name, by=request.user, **form.cleaned_data)
                done += 1
            except DomainError as error:
                modeladmin.message_user(request, f"#{application.pk}: {error.message}", messages.ERROR)
        if done:
            modeladmin.message_user(
                request,
                _("%(count)d application(s): %(action)s.") % {"count": done, "action": transition.label},
                messages.SUCCESS,
            )
        return None

    action.__name__ = f"do_{name}"
    action.short_description = transition.label
    return action


class QueueFilter(admin.SimpleListFilter):
    """The staff work queues, as in the web pages: which role's desk an application is on."""

    title = gettext_lazy("work queue")
    parameter_name = "queue"

    def lookups(self, request, model_admin):
        return [(key, label) for key, (label, _role, _states) in QUEUES.items()]

    def queryset(self, request, queryset):
        if self.value() in QUEUES:
            return queryset.filter(state__in=QUEUES[self.value()][2])
        return queryset


class ActionFilter(admin.SimpleListFilter):
    """The history's action codes from the workflow table: a plain `list_filter = ["action"]` would
    find them with SELECT DISTINCT over every history row."""

    title = gettext_lazy("action")
    parameter_name = "action"

    def lookups(self, request, model_admin):
        codes = [
            "funding.application.created",
            *(history_action(name) for name in WORKFLOW.transitions),
            "funding.application.document_attached",
            "funding.application.document_detached",
            "funding.application.objection_recorded",
            "funding.application.objection_cleared",
            "funding.review.assigned",
            "funding.review.submitted",
        ]
        return [(code, WORKFLOW.action_label(code)) for code in dict.fromkeys(codes)]

    def queryset(self, request, queryset):
        return queryset.filter(action=self.value()) if self.value() else queryset


@admin.register(Application)
class ApplicationAdmin(NumbersAdminMixin, LargeTableAdminMixin, admin.ModelAdmin):
    share_fields = ("max_paid_in_share",)  # the policy's, kept with the application: 50.00%, not 0.500
    list_display = [
        "pk",
        "entity",
        "sub_venue",
        "state",
        "amount",
        "approved_amount",
        "disbursed_total",
        "submitted_at",
        "lead",
    ]
    list_filter = [QueueFilter, "state", "sub_venue", year_filter("submitted_at", gettext_lazy("year submitted"))]
    list_select_related = ["entity", "sub_venue", "lead"]
    # Sorting is offered only by indexed columns (see Application.Meta.indexes).
    sortable_by = ["pk", "state", "submitted_at"]
    search_fields = ["=id", "entity__name_zh", "entity__name_en", "purpose"]
    inlines = [AgreementInline, EventInline, DisbursementInline]
    actions = [
        _transition_action(name)
        for name in (
            "start_formal_review",
            "pass_formal_review",
            "complete_expert_review",
            "return_for_changes",
            "approve",
            "reject",
            "close",
        )
    ]

    def get_readonly_fields(self, request, obj=None):
        return [field.name for field in Application._meta.fields]

    def view_on_site(self, obj):
        # The application's page holds the forms for its next step (registration, instalments).
        return reverse("funding:detail", args=[obj.pk])

    def has_add_permission(self, request):
        return False  # applications come from applicants' forms

    def has_delete_permission(self, request, obj=None):
        return False

    def get_queryset(self, request):
        return scoping.in_scope(super().get_queryset(request), request.user)

    def get_actions(self, request):
        actions = super().get_actions(request)
        if roles.is_auditor(request.user):
            return {}
        return actions


class ReadOnlyAdmin(NumbersAdminMixin, admin.ModelAdmin):
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(ApplicationEvent)
class ApplicationEventAdmin(LargeTableAdminMixin, ReadOnlyAdmin):
    list_display = ["at", "application", "action_shown", "from_state", "to_state", "by"]
    # The change page too shows the action in words, not its stored code.
    fields = ["application", "action_shown", "from_state", "to_state", "by", "at", "comment", "internal_note"]
    action_shown = action_column(WORKFLOW)
    list_filter = [ActionFilter, "to_state"]
    list_select_related = ["application__entity", "by"]
    sortable_by = ["at"]  # indexed; the other columns would sort a million rows
    search_fields = ["=application__id", "comment"]


@admin.register(ExpertReview)
class ExpertReviewAdmin(ReadOnlyAdmin):
    list_display = ["application", "reviewer", "score", "recommendation", "submitted_at"]
    list_filter = ["recommendation"]
    list_select_related = ["application__entity", "reviewer"]


@admin.register(Disbursement)
class DisbursementAdmin(LargeTableAdminMixin, ReadOnlyAdmin):
    """Instalments, read-only: they are paid by services.application_disburse, never entered here."""

    list_display = ["application", "number", "amount", "paid_on", "reference", "recorded_by", "released_by_report"]
    list_select_related = ["application__entity", "recorded_by", "released_by_report__instalment"]
    search_fields = ["reference", "=application__id"]

    def get_queryset(self, request):
        return scoping.in_scope(super().get_queryset(request), request.user, via="application__sub_venue")


class _ReadOnlyInline(NumbersAdminMixin, admin.TabularInline):
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


class PlannedInstalmentInline(_ReadOnlyInline):
    model = PlannedInstalment
    fields = readonly_fields = ["number", "share", "amount"]


class MilestoneInline(_ReadOnlyInline):
    model = AgreementMilestone
    fields = readonly_fields = ["order", "title", "due_on"]


class MilestoneAmendmentInline(_ReadOnlyInline):
    model = MilestoneAmendment
    fields = readonly_fields = ["at", "by", "reason", "old_milestones", "new_milestones"]


@admin.register(FundingAgreement)
class FundingAgreementAdmin(ReadOnlyAdmin):
    """The agreements, read-only, within the staff member's sub-venues (auditors see all)."""

    list_display = ["application", "amount", "policy", "recorded_by", "recorded_at"]
    list_select_related = ["application__entity", "policy", "recorded_by"]
    search_fields = ["=application__id", "purpose"]
    inlines = [PlannedInstalmentInline, MilestoneInline, MilestoneAmendmentInline]

    def get_queryset(self, request):
        return scoping.in_scope(super().get_queryset(request), request.user, via="application__sub_venue")


# ---------------------------------------------------------------------------- after the grant


class ExpenseLineInline(_ReadOnlyInline):
    model = ExpenseLine
    fields = readonly_fields = ["category", "amount", "description"]


class MilestoneProgressInline(_ReadOnlyInline):
    model = MilestoneProgress
    fields = readonly_fields = ["order", "milestone", "due_on", "progress"]


class FundUseReportEventInline(_ReadOnlyInline):
    model = FundUseReportEvent
    fields = readonly_fields = ["at", "action_shown", "from_state", "to_state", "by", "comment"]
    action_shown = action_column(REPORT_WORKFLOW)

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("by")


class ReportCommentForm(CommentForm):
    """The comment of a decision on a report (reports keep no internal notes)."""

    internal_note = None


class OverdueFilter(admin.SimpleListFilter):
    """Reports past their due date that the grant holder has not submitted (funding.selectors)."""

    title = gettext_lazy("overdue")
    parameter_name = "overdue"

    def lookups(self, request, model_admin):
        return [("yes", _("Yes")), ("no", _("No"))]

    def queryset(self, request, queryset):
        if self.value() == "yes":
            return queryset.filter(selectors.report_overdue_q())
        if self.value() == "no":
            return queryset.exclude(selectors.report_overdue_q())
        return queryset


def _report_action(name: str, service):
    """An admin action for the report transition `name` (accept, return): a comment first, then `service` for
    each selected report; a refusal is shown as a message and leaves that report as it was."""
    transition = REPORT_WORKFLOW[name]

    def action(modeladmin, request, queryset):
        form = ReportCommentForm(request.POST if "apply" in request.POST else None)
        if "apply" not in request.POST or not form.is_valid():
            return render(
                request,
                "admin/funding/report_action_confirm.html",
                {
                    **modeladmin.admin_site.each_context(request),
                    "title": transition.label,
                    "form": form,
                    "reports": queryset,
                    "action": f"do_report_{name}",
                    "opts": modeladmin.model._meta,
                },
            )
        done = 0
        for report in queryset:
            try:
                service(report=report, by=request.user, comment=form.cleaned_data["comment"])
                done += 1
            except DomainError as error:
                modeladmin.message_user(request, f"#{report.pk}: {error.message}", messages.ERROR)
        if done:
            modeladmin.message_user(
                request,
                _("%(count)d fund-use report(s): %(action)s.") % {"count": done, "action": transition.label},
                messages.SUCCESS,
            )
        return None

    action.__name__ = f"do_report_{name}"
    action.short_description = transition.label
    return action


@admin.register(FundUseReport)
class FundUseReportAdmin(LargeTableAdminMixin, ReadOnlyAdmin):
    """Fund-use reports, read-only, within the staff member's sub-venues (auditors see all). Finance officers
    accept or return submitted ones with the actions, through funding.post_award as on the pages."""

    list_display = ["pk", "application", "instalment_number", "state", "due_on", "overdue", "disbursed", "spent"]
    list_filter = ["state", OverdueFilter]
    list_select_related = ["application__entity", "instalment"]
    sortable_by = ["pk", "state", "due_on"]  # the state and due date are indexed together
    search_fields = ["=id", "=application__id"]
    inlines = [ExpenseLineInline, MilestoneProgressInline, FundUseReportEventInline]
    actions = [
        _report_action("accept", post_award.report_accept),
        _report_action("return", post_award.report_return),
    ]

    @admin.display(description=gettext_lazy("instalment"), ordering="instalment__number")
    def instalment_number(self, report):
        return report.instalment.number

    @admin.display(description=gettext_lazy("overdue"), boolean=True)
    def overdue(self, report):
        return selectors.report_is_overdue(report)

    def get_queryset(self, request):
        return scoping.in_scope(super().get_queryset(request), request.user, via="application__sub_venue")

    def get_actions(self, request):
        # The report's deciders only (finance officers; superusers hold every role): others see no action.
        deciders = REPORT_WORKFLOW["accept"].allowed | REPORT_WORKFLOW["return"].allowed
        if roles.is_auditor(request.user) or not roles.has_role(request.user, *deciders):
            return {}
        return super().get_actions(request)


@admin.register(FinalAcceptance)
class FinalAcceptanceAdmin(ReadOnlyAdmin):
    """Final acceptances, read-only: recorded by post_award.acceptance_record."""

    list_display = ["application", "result", "accepted_on", "recorded_by", "recorded_at"]
    list_filter = ["result"]
    list_select_related = ["application__entity", "recorded_by"]
    search_fields = ["=application__id"]

    def get_queryset(self, request):
        return scoping.in_scope(super().get_queryset(request), request.user, via="application__sub_venue")


class RepaymentInline(_ReadOnlyInline):
    model = Repayment
    fields = readonly_fields = ["amount", "paid_on", "reference", "recorded_by", "recorded_at"]

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("recorded_by")


@admin.register(RecoveryOrder)
class RecoveryOrderAdmin(ReadOnlyAdmin):
    """Recovery orders and their repayments, read-only: opened and repaid through funding.post_award, where
    the money goes back to the budget."""

    list_display = ["application", "reason", "state", "amount", "recovered", "outstanding", "opened_at"]
    list_filter = ["state", "reason"]
    list_select_related = ["application__entity"]
    search_fields = ["=application__id"]
    inlines = [RepaymentInline]

    @admin.display(description=gettext_lazy("outstanding (yuan)"))
    def outstanding(self, order):
        return yuan(order.outstanding)

    def get_queryset(self, request):
        return scoping.in_scope(super().get_queryset(request), request.user, via="application__sub_venue")
