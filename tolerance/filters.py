"""django-filter FilterSets of the portfolio, shared by the API and the CSV exports. Related records are
filtered by id, dates by bounded ranges (valley.web.filters), so no typed value can overflow the database."""

import django_filters
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from tolerance.models import (
    CaseKind,
    CaseState,
    CompanyReport,
    ComplianceReport,
    ExemptionCase,
    ExemptionDetermination,
    Fund,
    Investment,
    InvestmentDocument,
    InvestmentParty,
    ValuationMark,
    ValuationMethod,
    Verdict,
)
from tolerance.monitoring import TO_FILE_STATES
from valley.web.filters import DateRangeFilter, IdFilter, NamedChoiceFilter, PortalFilterSet, SearchFilter, YesNoSelect

STARTUP_SEARCH = ("startup__name_zh", "startup__name_en", "startup__registration__uscc")


def fund_filter(field_name: str = "fund") -> NamedChoiceFilter:
    """A fund chosen by its name in either language, or by its id as programs give it."""
    return NamedChoiceFilter(
        field_name=field_name,
        queryset=Fund.objects.order_by("name_zh"),
        name_fields=("name_zh", "name_en"),
        label=_("fund"),
    )


class FundFilter(PortalFilterSet):
    # The fund list's search box: the fund's name in either language, its manager or entrusted institution.
    q = SearchFilter(fields=("name_zh", "name_en", "manager", "entrusted_institution"))

    class Meta:
        model = Fund
        fields = ["q", "governing_basis"]


class InvestmentFilter(PortalFilterSet):
    q = SearchFilter(fields=STARTUP_SEARCH)
    fund = IdFilter(label=_("fund"))
    startup = IdFilter(label=_("startup"))
    state = django_filters.MultipleChoiceFilter(choices=Investment.State.choices, label=_("state"))
    invested_on = DateRangeFilter(label=_("invested between"))
    failed_on = DateRangeFilter(label=_("failed between"))
    meets_standards = django_filters.BooleanFilter(label=_("meets the standards"))

    class Meta:
        model = Investment
        fields = ["q", "fund", "startup", "state", "invested_on", "failed_on", "meets_standards"]


class InvestmentPartyFilter(PortalFilterSet):
    investment = IdFilter(label=_("investment"))
    fund = IdFilter(field_name="investment__fund", label=_("fund"))

    class Meta:
        model = InvestmentParty
        fields = ["investment", "fund", "role"]


class InvestmentDocumentFilter(PortalFilterSet):
    investment = IdFilter(label=_("investment"))
    fund = IdFilter(field_name="investment__fund", label=_("fund"))
    kind = django_filters.MultipleChoiceFilter(choices=InvestmentDocument.Kind.choices, label=_("kind of document"))

    class Meta:
        model = InvestmentDocument
        fields = ["investment", "fund", "kind"]


class ComplianceReportFilter(PortalFilterSet):
    fund = IdFilter(label=_("fund"))
    as_of = DateRangeFilter(label=_("as of between"))
    verdict = django_filters.MultipleChoiceFilter(choices=Verdict.choices, label=_("verdict"))

    class Meta:
        model = ComplianceReport
        fields = ["fund", "as_of", "verdict"]


class ExemptionFilter(PortalFilterSet):
    fund = IdFilter(field_name="investment__fund", label=_("fund"))
    case = IdFilter(label=_("case"))
    report = IdFilter(label=_("compliance report"))
    investment = IdFilter(label=_("investment"))
    determined_at = DateRangeFilter(label=_("determined between"))

    class Meta:
        model = ExemptionDetermination
        fields = ["fund", "case", "report", "investment", "exempt", "determined_at"]


class ExemptionCaseFilter(PortalFilterSet):
    q = SearchFilter(fields=tuple(f"investment__{name}" for name in STARTUP_SEARCH))
    fund = fund_filter("investment__fund")
    investment = IdFilter(label=_("investment"))
    state = django_filters.MultipleChoiceFilter(choices=CaseState.choices, label=_("step"))
    kind = django_filters.ChoiceFilter(choices=CaseKind.choices, label=_("kind"))
    opened_at = DateRangeFilter(label=_("opened between"))

    class Meta:
        model = ExemptionCase
        fields = ["q", "fund", "investment", "state", "kind", "opened_by_check", "opened_at"]


class CompanyReportFilter(PortalFilterSet):
    q = SearchFilter(fields=("entity__name_zh", "entity__name_en", "entity__registration__uscc"))
    entity = IdFilter(label=_("startup"))
    year = django_filters.NumberFilter(label=_("year"), min_value=2000, max_value=2100)
    quarter = django_filters.NumberFilter(label=_("quarter"), min_value=1, max_value=4)
    state = django_filters.MultipleChoiceFilter(choices=CompanyReport.State.choices, label=_("state"))
    due_on = DateRangeFilter(label=_("due between"))
    overdue = django_filters.BooleanFilter(
        method="filter_overdue",
        label=_("overdue"),
        widget=YesNoSelect,
        help_text=_("Past its due date and still to be filed (or returned for changes)."),
    )

    class Meta:
        model = CompanyReport
        fields = ["q", "entity", "year", "quarter", "state", "due_on", "overdue"]

    def filter_overdue(self, queryset, name, value: bool):
        condition = Q(state__in=TO_FILE_STATES, due_on__lt=timezone.localdate())
        return queryset.filter(condition) if value else queryset.exclude(condition)


class ValuationMarkFilter(PortalFilterSet):
    fund = IdFilter(field_name="investment__fund", label=_("fund"))
    investment = IdFilter(label=_("investment"))
    method = django_filters.MultipleChoiceFilter(choices=ValuationMethod.choices, label=_("valuation method"))
    as_of = DateRangeFilter(label=_("valued between"))
    recorded_at = DateRangeFilter(label=_("recorded between"))

    class Meta:
        model = ValuationMark
        fields = ["fund", "investment", "method", "as_of", "recorded_at"]
