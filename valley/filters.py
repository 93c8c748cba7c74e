"""List filters for the valley's reference data, shared by the API and (later) the CSV exports."""

import django_filters

from valley.models import Institution, SubVenue, Target


class SubVenueFilter(django_filters.FilterSet):
    opened_on = django_filters.DateFromToRangeFilter()

    class Meta:
        model = SubVenue
        fields = ["status", "code", "opened_on"]


class InstitutionFilter(django_filters.FilterSet):
    class Meta:
        model = Institution
        fields = ["kind"]


class TargetFilter(django_filters.FilterSet):
    class Meta:
        model = Target
        fields = ["measure"]
