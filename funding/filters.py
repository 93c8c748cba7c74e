"""django-filter FilterSets for the fund's lists, exports and API: one definition for every door."""

import django_filters
from django.utils.translation import gettext_lazy as _

from funding.models import Application, ApplicationEvent, Disbursement, ExpertReview, SubVenueBudget
from valley.models import SubVenue


class ApplicationFilter(django_filters.FilterSet):
    state = django_filters.MultipleChoiceFilter(choices=Application.State.choices, label=_("state"))
    sub_venue = django_filters.ModelChoiceFilter(queryset=SubVenue.objects.all(), label=_("sub-venue"))
    submitted_at = django_filters.IsoDateTimeFromToRangeFilter(label=_("submitted between"))
    decided_at = django_filters.IsoDateTimeFromToRangeFilter(label=_("decided between"))
    entity = django_filters.NumberFilter(label=_("entity id"))

    class Meta:
        model = Application
        fields = ["state", "sub_venue", "submitted_at", "decided_at", "entity"]


class ApplicationEventFilter(django_filters.FilterSet):
    at = django_filters.IsoDateTimeFromToRangeFilter(label=_("between"))
    action = django_filters.CharFilter(lookup_expr="startswith", label=_("action starts with"))
    to_state = django_filters.MultipleChoiceFilter(choices=Application.State.choices, label=_("to state"))
    sub_venue = django_filters.ModelChoiceFilter(
        field_name="application__sub_venue", queryset=SubVenue.objects.all(), label=_("sub-venue")
    )
    application = django_filters.NumberFilter(label=_("application id"))

    class Meta:
        model = ApplicationEvent
        fields = ["at", "action", "to_state", "sub_venue", "application"]


class ExpertReviewFilter(django_filters.FilterSet):
    submitted_at = django_filters.IsoDateTimeFromToRangeFilter(label=_("submitted between"))
    sub_venue = django_filters.ModelChoiceFilter(
        field_name="application__sub_venue", queryset=SubVenue.objects.all(), label=_("sub-venue")
    )

    class Meta:
        model = ExpertReview
        fields = ["submitted_at", "recommendation", "sub_venue"]


class DisbursementFilter(django_filters.FilterSet):
    paid_on = django_filters.DateFromToRangeFilter(label=_("paid between"))
    sub_venue = django_filters.ModelChoiceFilter(
        field_name="application__sub_venue", queryset=SubVenue.objects.all(), label=_("sub-venue")
    )

    class Meta:
        model = Disbursement
        fields = ["paid_on", "sub_venue", "application"]


class BudgetFilter(django_filters.FilterSet):
    class Meta:
        model = SubVenueBudget
        fields = ["year", "sub_venue"]
