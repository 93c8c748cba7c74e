"""List filters of the start-up fund, shared by the API and (later) the CSV exports.

Plain FilterSets: pass them a queryset from funding.selectors, so that filtering never widens what the
user may see. Related records are filtered by id (a number), never by a choice among all rows, so an
invalid id cannot tell that someone else's record exists; sub-venues, which everyone may know, by name."""

import django_filters
from django.utils.translation import gettext_lazy as _

from funding import selectors
from funding.models import (
    Application,
    ApplicationEvent,
    Disbursement,
    ExpertReview,
    FinalAcceptance,
    FundingAgreement,
    FundPolicy,
    FundUseReport,
    PlannedInstalment,
    RecoveryOrder,
    SubVenueBudget,
)
from valley.web.filters import DateRangeFilter, IdFilter, PortalFilterSet, SearchFilter, sub_venue_filter

ENTITY_SEARCH = ("entity__name_zh", "entity__name_en", "entity__registration__uscc")


class ApplicationFilter(PortalFilterSet):
    # The lists' search box: the team's name in either language, its company's USCC, or the application's number.
    q = SearchFilter(fields=ENTITY_SEARCH)
    state = django_filters.MultipleChoiceFilter(choices=Application.State.choices)
    sub_venue = sub_venue_filter()
    entity = IdFilter()
    created_at = DateRangeFilter()
    submitted_at = DateRangeFilter()
    decided_at = DateRangeFilter()

    class Meta:
        model = Application
        fields = ["q", "state", "sub_venue", "entity", "created_at", "submitted_at", "decided_at"]


class ApplicationEventFilter(PortalFilterSet):
    application = IdFilter()
    sub_venue = sub_venue_filter("application__sub_venue")
    action = django_filters.CharFilter()
    to_state = django_filters.MultipleChoiceFilter(choices=Application.State.choices)
    at = DateRangeFilter()

    class Meta:
        model = ApplicationEvent
        fields = ["application", "sub_venue", "action", "to_state", "at"]


class ExpertReviewFilter(PortalFilterSet):
    application = IdFilter()
    submitted = django_filters.BooleanFilter(
        field_name="submitted_at", lookup_expr="isnull", exclude=True, label=_("submitted")
    )

    class Meta:
        model = ExpertReview
        fields = ["application", "recommendation", "submitted"]


class DisbursementFilter(PortalFilterSet):
    application = IdFilter()
    sub_venue = sub_venue_filter("application__sub_venue")
    paid_on = DateRangeFilter()

    class Meta:
        model = Disbursement
        fields = ["application", "sub_venue", "paid_on"]


class BudgetFilter(PortalFilterSet):
    sub_venue = sub_venue_filter()

    class Meta:
        model = SubVenueBudget
        fields = ["sub_venue", "year"]


class FundPolicyFilter(PortalFilterSet):
    effective_from = DateRangeFilter()

    class Meta:
        model = FundPolicy
        fields = ["effective_from"]


class FundingAgreementFilter(PortalFilterSet):
    application = IdFilter()
    sub_venue = sub_venue_filter("application__sub_venue")
    recorded_at = DateRangeFilter()

    class Meta:
        model = FundingAgreement
        fields = ["application", "sub_venue", "recorded_at"]


class PlannedInstalmentFilter(PortalFilterSet):
    application = IdFilter(field_name="agreement__application", label=_("application"))
    sub_venue = sub_venue_filter("agreement__application__sub_venue")

    class Meta:
        model = PlannedInstalment
        fields = ["application", "sub_venue", "number"]


class FundUseReportFilter(PortalFilterSet):
    state = django_filters.MultipleChoiceFilter(choices=FundUseReport.State.choices)
    application = IdFilter()
    sub_venue = sub_venue_filter("application__sub_venue")
    overdue = django_filters.BooleanFilter(
        method="filter_overdue",
        label=_("overdue"),
        help_text=_("Past its due date and not yet submitted (to be filed, or returned for changes)."),
    )
    due_on = DateRangeFilter()

    class Meta:
        model = FundUseReport
        fields = ["state", "application", "sub_venue", "overdue", "due_on"]

    def filter_overdue(self, queryset, name, value: bool):
        condition = selectors.report_overdue_q()
        return queryset.filter(condition) if value else queryset.exclude(condition)


class FinalAcceptanceFilter(PortalFilterSet):
    application = IdFilter()
    sub_venue = sub_venue_filter("application__sub_venue")
    accepted_on = DateRangeFilter()

    class Meta:
        model = FinalAcceptance
        fields = ["application", "sub_venue", "result", "accepted_on"]


class RecoveryOrderFilter(PortalFilterSet):
    application = IdFilter()
    sub_venue = sub_venue_filter("application__sub_venue")
    opened_at = DateRangeFilter()

    class Meta:
        model = RecoveryOrder
        fields = ["application", "sub_venue", "state", "reason", "opened_at"]
