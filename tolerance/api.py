"""Read-only API of the portfolio: staff and auditors read it all; applicants see empty lists (as the pages
answer them 404)."""

from rest_framework import viewsets

from tolerance import documents, selectors
from tolerance.filters import (
    ComplianceReportFilter,
    ExemptionFilter,
    FundFilter,
    InvestmentDocumentFilter,
    InvestmentFilter,
    InvestmentPartyFilter,
)
from tolerance.models import ComplianceReport, ExemptionDetermination, Fund, Investment, InvestmentParty
from tolerance.serializers import (
    ComplianceReportSerializer,
    ExemptionDeterminationSerializer,
    FundSerializer,
    InvestmentDocumentSerializer,
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


class InvestmentDocumentViewSet(viewsets.ReadOnlyModelViewSet):
    """The investments' documents: portfolio managers, provincial staff and auditors read them (other users
    see an empty list); the file is downloaded from `download_url`, which checks the same."""

    serializer_class = InvestmentDocumentSerializer
    filterset_class = InvestmentDocumentFilter

    def get_queryset(self):
        return documents.documents_for_user(self.request.user)


class ComplianceReportViewSet(_PortfolioViewSet):
    serializer_class = ComplianceReportSerializer
    filterset_class = ComplianceReportFilter
    base_queryset = ComplianceReport.objects.select_related("computed_by").order_by("-as_of", "pk")


class ExemptionDeterminationViewSet(_PortfolioViewSet):
    serializer_class = ExemptionDeterminationSerializer
    filterset_class = ExemptionFilter
    base_queryset = ExemptionDetermination.objects.order_by("pk")


# Registered with the one API router in ToleranceConfig.ready().
ROUTES = [
    ("funds", FundViewSet, "fund"),
    ("investments", InvestmentViewSet, "investment"),
    ("investment-parties", InvestmentPartyViewSet, "investment-party"),
    ("investment-documents", InvestmentDocumentViewSet, "investment-document"),
    ("compliance-reports", ComplianceReportViewSet, "compliance-report"),
    ("exemptions", ExemptionDeterminationViewSet, "exemption"),
]
