"""Read-only API of the portfolio: staff and auditors read it all; applicants see empty lists (as the pages
answer them 404)."""

from django.db.models import Exists, OuterRef, Prefetch
from drf_spectacular.utils import extend_schema
from rest_framework import viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from tolerance import case_inputs, cases, selectors
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
    """Exemption cases with their history; the steps are POST actions calling tolerance/cases.py, with the
    same rules as the case page (wrong step 409, wrong role 403, bad input 400)."""

    serializer_class = ExemptionCaseSerializer
    filterset_class = ExemptionCaseFilter
    base_queryset = ExemptionCase.objects.prefetch_related(
        Prefetch("events", CaseEvent.objects.select_related("by").order_by("at", "pk"))
    ).order_by("pk")

    def _input(self, serializer_class, case):
        serializer = serializer_class(data=self.request.data, context={"case": case})
        serializer.is_valid(raise_exception=True)
        return serializer.validated_data

    def _answer(self, case):
        return Response(self.get_serializer(self.get_queryset().get(pk=case.pk)).data)

    @extend_schema(request=case_inputs.EvidenceInput, responses={200: ExemptionCaseSerializer})
    @action(detail=True, methods=["post"])
    def evidence(self, request, pk=None):
        case = self.get_object()
        cases.case_add_evidence(case=case, by=request.user, **self._input(case_inputs.EvidenceInput, case))
        return self._answer(case)

    @extend_schema(request=case_inputs.StatementInput, responses={200: ExemptionCaseSerializer})
    @action(detail=True, methods=["post"])
    def statement(self, request, pk=None):
        case = self.get_object()
        cases.case_add_statement(case=case, by=request.user, **self._input(case_inputs.StatementInput, case))
        return self._answer(case)

    @extend_schema(request=case_inputs.CommentInput, responses={200: ExemptionCaseSerializer})
    @action(detail=True, methods=["post"], url_path="gather-evidence")
    def gather_evidence(self, request, pk=None):
        case = self.get_object()
        cases.case_gather_evidence(case=case, by=request.user, **self._input(case_inputs.CommentInput, case))
        return self._answer(case)

    @extend_schema(request=case_inputs.OpinionInput, responses={200: ExemptionCaseSerializer})
    @action(detail=True, methods=["post"])
    def opinion(self, request, pk=None):
        case = self.get_object()
        cases.case_give_opinion(case=case, by=request.user, **self._input(case_inputs.OpinionInput, case))
        return self._answer(case)

    @extend_schema(request=case_inputs.DeterminationInput, responses={200: ExemptionCaseSerializer})
    @action(detail=True, methods=["post"])
    def determine(self, request, pk=None):
        case = self.get_object()
        data = self._input(case_inputs.DeterminationInput, case)
        cases.case_determine(
            case=case,
            by=request.user,
            decisions={row["party"].pk: (row["exempt"], row["reason"]) for row in data["decisions"]},
            meeting_date=data["meeting_date"],
            document_number=data["document_number"],
        )
        return self._answer(case)

    @extend_schema(request=case_inputs.NotifyInput, responses={200: ExemptionCaseSerializer})
    @action(detail=True, methods=["post"])
    def notify(self, request, pk=None):
        case = self.get_object()
        cases.case_notify(case=case, by=request.user, **self._input(case_inputs.NotifyInput, case))
        return self._answer(case)

    @extend_schema(request=case_inputs.ReexamineInput, responses={200: ExemptionCaseSerializer})
    @action(detail=True, methods=["post"])
    def reexamine(self, request, pk=None):
        case = self.get_object()
        new = cases.case_reexamine(case=case, by=request.user, **self._input(case_inputs.ReexamineInput, case))
        return self._answer(new)


# Registered with the one API router in ToleranceConfig.ready().
ROUTES = [
    ("funds", FundViewSet, "fund"),
    ("investments", InvestmentViewSet, "investment"),
    ("investment-parties", InvestmentPartyViewSet, "investment-party"),
    ("compliance-reports", ComplianceReportViewSet, "compliance-report"),
    ("exemptions", ExemptionDeterminationViewSet, "exemption"),
    ("exemption-cases", ExemptionCaseViewSet, "exemption-case"),
]
