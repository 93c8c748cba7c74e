"""django-filter FilterSets for the portfolio's exports (and, later, its API)."""

import django_filters
from django.utils.translation import gettext_lazy as _

from tolerance.models import ComplianceReport, ExemptionDetermination, Fund, Investment, Verdict


class InvestmentFilter(django_filters.FilterSet):
    fund = django_filters.ModelChoiceFilter(queryset=Fund.objects.all(), label=_("fund"))
    state = django_filters.MultipleChoiceFilter(choices=Investment.State.choices, label=_("state"))
    invested_on = django_filters.DateFromToRangeFilter(label=_("invested between"))
    failed_on = django_filters.DateFromToRangeFilter(label=_("failed between"))
    meets_standards = django_filters.BooleanFilter(label=_("meets the standards"))

    class Meta:
        model = Investment
        fields = ["fund", "state", "invested_on", "failed_on", "meets_standards"]


class ComplianceReportFilter(django_filters.FilterSet):
    fund = django_filters.ModelChoiceFilter(queryset=Fund.objects.all(), label=_("fund"))
    as_of = django_filters.DateFromToRangeFilter(label=_("as of between"))
    verdict = django_filters.MultipleChoiceFilter(choices=Verdict.choices, label=_("verdict"))

    class Meta:
        model = ComplianceReport
        fields = ["fund", "as_of", "verdict"]


class ExemptionFilter(django_filters.FilterSet):
    fund = django_filters.ModelChoiceFilter(field_name="report__fund", queryset=Fund.objects.all(), label=_("fund"))
    determined_at = django_filters.IsoDateTimeFromToRangeFilter(label=_("determined between"))

    class Meta:
        model = ExemptionDetermination
        fields = ["fund", "exempt", "determined_at"]
