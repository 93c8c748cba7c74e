"""Read-only API of the portfolio: staff and auditors read it all; applicants see empty lists (as the pages
answer them 404)."""

from django.db.models import Exists, OuterRef, Prefetch
from rest_framework import viewsets

from tolerance import selectors
from tolerance.filters import (
    ComplianceReportFilter,
    ExemptionCaseFilter,
    ExemptionFilter,
    FundFilter,
    InvestmentFilter,
    InvestmentPartyFilter,
)
from tolerance.models import (
    DECIDED_STATES,
    CaseEvent,
    ComplianceReport,
    ExemptionCase,
    ExemptionDetermination,
    Fund,
    Investment,
    InvestmentParty,
)
from tolerance.serializers import (
    ComplianceReportSerializer,
    ExemptionCaseSerializer,
    ExemptionDeterminationSerializer,
    FundSerializer,
    InvestmentPartySerializer,
    InvestmentSerializer,
)


class _PortfolioViewSet(viewsets.ReadOnlyModelViewSet):
    base_queryset = None

    def get_queryset(self):
        if not selectors.user_can_view_portfolio(self.request.user):
            return self.base_queryset.none()
        return self.base_queryset.all()


class FundViewSet(_PortfolioViewSet):
    serializer_class = FundSerializer
    filterset_class = FundFilter
    base_queryset = Fund.objects.order_by("name_zh", "pk")


class InvestmentViewSet(_PortfolioViewSet):
    serializer_class = InvestmentSerializer
    filterset_class = InvestmentFilter
    base_queryset = Investment.objects.order_by("pk")


class InvestmentPartyViewSet(_PortfolioViewSet):
    serializer_class = InvestmentPartySerializer
    filterset_class = InvestmentPartyFilter
    base_queryset = InvestmentParty.objects.order_by("pk")


class ComplianceReportViewSet(_PortfolioViewSet):
    serializer_class = ComplianceReportSerializer
    filterset_class = ComplianceReportFilter
    base_queryset = ComplianceReport.objects.select_related("computed_by").order_by("-as_of", "pk")


class ExemptionDeterminationViewSet(_PortfolioViewSet):
    """The determinations of decided cases only: nobody is exempt before the determination (the check's
    automatic rows from before cases are history in the admin and the case page, not determinations)."""

    serializer_class = ExemptionDeterminationSerializer
    filterset_class = ExemptionFilter
    base_queryset = (
        ExemptionDetermination.objects.filter(automatic=False, case__state__in=DECIDED_STATES)
        .annotate(superseded_flag=Exists(ExemptionDetermination.objects.filter(supersedes=OuterRef("pk"))))
        .order_by("pk")
    )


class ExemptionCaseViewSet(_PortfolioViewSet):
    serializer_class = ExemptionCaseSerializer
    filterset_class = ExemptionCaseFilter
    base_queryset = ExemptionCase.objects.prefetch_related(
        Prefetch("events", CaseEvent.objects.select_related("by").order_by("at", "pk"))
    ).order_by("pk")


# Registered with the one API router in ToleranceConfig.ready().
ROUTES = [
    ("funds", FundViewSet, "fund"),
    ("investments", InvestmentViewSet, "investment"),
    ("investment-parties", InvestmentPartyViewSet, "investment-party"),
    ("compliance-reports", ComplianceReportViewSet, "compliance-report"),
    ("exemptions", ExemptionDeterminationViewSet, "exemption"),
    ("exemption-cases", ExemptionCaseViewSet, "exemption-case"),
]
