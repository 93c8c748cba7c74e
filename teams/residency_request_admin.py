"""Staff admin of residency requests: a scoped list with filters, and decisions through the services.

Nothing here writes a request directly: applicants submit from their team's page, and a decision (select, or
decline with a reason) is taken on the change page or by the list's action, both through
teams.residency_requests, so they leave the same history rows, audit entries and mail as the pages.
"""

from django import forms
from django.contrib import admin, messages
from django.utils.formats import date_format
from django.utils.html import format_html_join
from django.utils.safestring import mark_safe
from django.utils.timezone import localtime
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from teams import residency_requests as service
from teams.residency_request_models import ResidencyRequest
from valley.core import scoping
from valley.core.errors import DomainError
from valley.web.admin_services import ServiceErrorsAsMessagesMixin

FIELDS = [
    "entity",
    "sub_venue",
    "status",
    "reason",
    "needs",
    "needs_detail",
    "submitted_by",
    "submitted_at",
    "decided_by",
    "decided_at",
    "decision_reason",
    "residency",
]


class DecisionForm(forms.ModelForm):
    decision = forms.ChoiceField(
        label=_("decision"),
        required=False,
        choices=[("", "—"), ("select", _("select for residency")), ("decline", _("decline the request"))],
    )
    # Not "reason": that is the request's own field (why the team asks), shown read-only above.
    decision_note = forms.CharField(
        label=_("reason for the applicant"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("Required to decline; a note when selecting. The applicant reads it in the mail."),
    )

    class Meta:
        model = ResidencyRequest
        fields = []

    def clean(self):
        data = super().clean()
        if data.get("decision") == "decline" and not (data.get("decision_note") or "").strip():
            self.add_error(
                "decision_note", _("Write the reason for the applicant: it says why the request is declined.")
            )
        return data


@admin.register(ResidencyRequest)
class ResidencyRequestAdmin(ServiceErrorsAsMessagesMixin, admin.ModelAdmin):
    form = DecisionForm
    list_display = ["__str__", "entity", "sub_venue", "status", "submitted_at", "decided_at"]
    list_filter = ["status", "sub_venue"]
    list_select_related = ["entity", "sub_venue"]
    search_fields = ["entity__name_zh", "entity__name_en"]
    date_hierarchy = "submitted_at"
    readonly_fields = [*FIELDS, "history"]
    actions = ["select_requests"]

    def get_queryset(self, request):
        # Operators see the requests to their own sub-venues; everyone else who reaches the admin, all.
        return scoping.in_scope(super().get_queryset(request).select_related("entity", "sub_venue"), request.user)

    def get_fields(self, request, obj=None):
        if (
            obj is not None
            and obj.status == ResidencyRequest.Status.SUBMITTED
            and self.has_change_permission(request, obj)
        ):
            return [*FIELDS, "history", "decision", "decision_note"]
        return [*FIELDS, "history"]

    def has_add_permission(self, request):
        return False  # applicants submit from their team's page (documents checked there)

    def has_delete_permission(self, request, obj=None):
        return False  # a decision is history

    def save_model(self, request, obj, form, change):
        decision, reason = form.cleaned_data.get("decision"), form.cleaned_data.get("decision_note") or ""
        if decision == "select":
            service.residency_request_select(request=obj, by=request.user, note=reason)
        elif decision == "decline":
            service.residency_request_decline(request=obj, by=request.user, reason=reason)
        obj.refresh_from_db()

    def save_related(self, request, form, formsets, change):
        pass  # nothing related is edited here

    @admin.display(description=_("history"))
    def history(self, obj):
        # The append-only rows, read here rather than in an inline: nobody edits them.
        events = obj.events.select_related("by").order_by("at", "pk")
        return format_html_join(
            mark_safe("<br>"),
            "{}: {} {} {}",
            ((date_format(localtime(e.at), "SHORT_DATETIME_FORMAT"), e, e.by or "", e.comment) for e in events),
        )

    @admin.action(description=_("Select for residency"), permissions=["change"])
    def select_requests(self, request, queryset):
        done = 0
        for row in queryset:
            try:
                service.residency_request_select(request=row, by=request.user)
            except DomainError as error:
                self.message_user(request, f"{row}: {error.message}", messages.WARNING)
            else:
                done += 1
        if done:
            self.message_user(request, gettext("%(count)d requests selected.") % {"count": done}, messages.SUCCESS)
