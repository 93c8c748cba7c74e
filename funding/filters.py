"""List filters of the start-up fund, shared by the API and (later) the CSV exports.

Plain FilterSets: pass them a queryset from funding.selectors, so that filtering never widens what the
user may see. Related records are filtered by id (a number), never by a choice among all rows, so an
invalid id cannot tell that someone else's record exists."""

import django_filters

from funding.models import Application, ApplicationEvent, Disbursement, ExpertReview, FundPolicy, SubVenueBudget
from valley.web.filters import DateRangeFilter, IdFilter


class ApplicationFilter(django_filters.FilterSet):
    state = django_filters.MultipleChoiceFilter(choices=Application.State.choices)
    sub_venue = IdFilter()
    entity = IdFilter()
    created_at = DateRangeFilter()
    submitted_at = DateRangeFilter()
    decided_at = DateRangeFilter()

    class Meta:
        model = Application
        fields = ["state", "sub_venue", "entity", "created_at", "submitted_at", "decided_at"]


class ApplicationEventFilter(django_filters.FilterSet):
    application = IdFilter()
    sub_venue = IdFilter(field_name="application__sub_venue")
    action = django_filters.CharFilter()
    to_state = django_filters.MultipleChoiceFilter(choices=Application.State.choices)
    at = DateRangeFilter()

    class Meta:
        model = ApplicationEvent
        fields = ["application", "sub_venue", "action", "to_state", "at"]


class ExpertReviewFilter(django_filters.FilterSet):
    application = IdFilter()
    submitted = django_filters.BooleanFilter(field_name="submitted_at", lookup_expr="isnull", exclude=True)

    class Meta:
        model = ExpertReview
        fields = ["application", "recommendation", "submitted"]


class DisbursementFilter(django_filters.FilterSet):
    application = IdFilter()
    sub_venue = IdFilter(field_name="application__sub_venue")
    paid_on = DateRangeFilter()

    class Meta:
        model = Disbursement
        fields = ["application", "sub_venue", "paid_on"]


class BudgetFilter(django_filters.FilterSet):
    sub_venue = IdFilter()

    class Meta:
        model = SubVenueBudget
        fields = ["sub_venue", "year"]


class FundPolicyFilter(django_filters.FilterSet):
    effective_from = DateRangeFilter()

    class Meta:
        model = FundPolicy
        fields = ["effective_from"]
