"""The service requests in the Django admin: per-line queues with list filters, and actions that call the
services (teams.service_requests). Nothing is edited here: every change is a step of the workflow."""

from django.contrib import admin, messages
from django.shortcuts import render
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from teams import service_requests as services
from teams import service_selectors as selectors
from teams.service_forms import ReasonForm, ResolveForm
from teams.service_models import ServiceRequest, ServiceRequestEvent, ServiceRequestMessage
from teams.service_workflow import SERVICE_REQUEST
from valley.core.errors import DomainError
from valley.web.admin_format import action_column
from valley.web.admin_services import ServiceErrorsAsMessagesMixin


class OverdueFilter(admin.SimpleListFilter):
    title = _("overdue")
    parameter_name = "overdue"

    def lookups(self, request, model_admin):
        return [("1", _("overdue")), ("0", _("not overdue"))]

    def queryset(self, request, queryset):
        if self.value() == "1":
            return queryset.filter(selectors.overdue_q())
        if self.value() == "0":
            return queryset.exclude(selectors.overdue_q())
        return queryset


class EventInline(admin.TabularInline):
    model = ServiceRequestEvent
    fields = ["at", "action_shown", "from_state", "to_state", "by", "comment"]
    readonly_fields = fields
    extra = 0
    can_delete = False
    action_shown = action_column(SERVICE_REQUEST)  # in words, not its stored code

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


class MessageInline(admin.TabularInline):
    model = ServiceRequestMessage
    fields = ["sent_at", "author", "from_staff", "body"]
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(ServiceRequest)
class ServiceRequestAdmin(ServiceErrorsAsMessagesMixin, admin.ModelAdmin):
    list_display = ["subject", "line", "entity", "sub_venue", "state", "handler", "submitted_on", "due_on", "rating"]
    list_filter = ["line", "state", OverdueFilter, "sub_venue"]
    list_select_related = ["line", "entity", "sub_venue", "handler"]
    search_fields = ["subject", "entity__name_zh", "entity__name_en"]
    ordering = ["submitted_at", "pk"]  # oldest first, as the queue
    date_hierarchy = "submitted_on"
    inlines = [EventInline, MessageInline]
    actions = ["accept_and_assign_to_me", "start_work", "reject_with_reason", "resolve_with_resolution"]
    readonly_fields = [field.name for field in ServiceRequest._meta.fields]

    def get_queryset(self, request):
        return selectors.service_requests_for_user(request.user)

    def has_add_permission(self, request):
        return False  # residents ask on their pages

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def has_work_permission(self, request):
        return services.is_line_staff(request.user)

    def _run(self, request, queryset, call, done: str):
        count = 0
        for found in queryset:
            try:
                call(found)
            except DomainError as error:
                self.message_user(request, f"{found}: {error.message}", messages.WARNING)
            else:
                count += 1
        if count:
            self.message_user(request, done % {"count": count}, messages.SUCCESS)

    @admin.action(description=_("Accept and assign to me"), permissions=["work"])
    def accept_and_assign_to_me(self, request, queryset):
        self._run(
            request,
            queryset,
            lambda found: services.service_request_accept(request=found, by=request.user, handler=request.user),
            gettext("%(count)d requests accepted."),
        )

    @admin.action(description=_("Start work"), permissions=["work"])
    def start_work(self, request, queryset):
        self._run(
            request,
            queryset,
            lambda found: services.service_request_start(request=found, by=request.user),
            gettext("%(count)d requests in progress."),
        )

    def _with_text(self, request, queryset, *, action: str, name: str, form_class, call, done: str):
        """An action that needs text first (a reason, a resolution): the selection goes to an intermediate page
        with the form; once it is filled in, `call(found, text)` runs the service for each selected request,
        each in its own transaction, so a refused request is left exactly as it was and shown as a message."""
        if not queryset.exists():
            # The selection is filtered by the requests this person works on (get_queryset): nothing left.
            self.message_user(request, gettext("None of the selected requests is one you work on."), messages.ERROR)
            return None
        form = form_class(request.POST if "apply" in request.POST else None)
        if "apply" not in request.POST or not form.is_valid():
            return render(
                request,
                "admin/teams/servicerequest/text_action.html",
                {
                    **self.admin_site.each_context(request),
                    "title": SERVICE_REQUEST[name].label,
                    "form": form,
                    "service_requests": queryset.select_related("line", "entity"),
                    "action": action,
                    "opts": self.model._meta,
                },
            )
        (text,) = form.cleaned_data.values()  # the one field: the reason, or the resolution
        self._run(request, queryset, lambda found: call(found, text), done)
        return None

    @admin.action(description=_("Reject, with a reason…"), permissions=["work"])
    def reject_with_reason(self, request, queryset):
        return self._with_text(
            request,
            queryset,
            action="reject_with_reason",
            name="reject",
            form_class=ReasonForm,
            call=lambda found, reason: services.service_request_reject(request=found, by=request.user, reason=reason),
            done=gettext("%(count)d requests rejected."),
        )

    @admin.action(description=_("Mark as resolved, with the resolution…"), permissions=["work"])
    def resolve_with_resolution(self, request, queryset):
        return self._with_text(
            request,
            queryset,
            action="resolve_with_resolution",
            name="resolve",
            form_class=ResolveForm,
            call=lambda found, resolution: services.service_request_resolve(
                request=found, by=request.user, resolution=resolution
            ),
            done=gettext("%(count)d requests resolved."),
        )
