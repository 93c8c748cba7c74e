"""Read-only API of the portfolio: staff and auditors read it all; applicants see empty lists (as the pages
answer them 404). Valuation marks are the one write: portfolio managers record them."""

from django.db.models import Exists, OuterRef, Prefetch
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import PermissionDenied
from rest_framework.response import Response

from tolerance import case_inputs, cases, documents, monitoring, monitoring_selectors, selectors
from tolerance.filters import (
    CompanyReportFilter,
    ComplianceReportFilter,
    ExemptionCaseFilter,
    ExemptionFilter,
    FundFilter,
    InvestmentDocumentFilter,
    InvestmentFilter,
    InvestmentPartyFilter,
    ValuationMarkFilter,
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
    ValuationMark,
)
from tolerance.serializers import (
    CompanyReportCommentSerializer,
    CompanyReportSaveSerializer,
    CompanyReportSerializer,
    ComplianceReportSerializer,
    ExemptionCaseSerializer,
    ExemptionDeterminationSerializer,
    FundSerializer,
    InvestmentDocumentSerializer,
    InvestmentPartySerializer,
    InvestmentSerializer,
    ValuationMarkCreateSerializer,
    ValuationMarkSerializer,
)
from tolerance.valuation import user_can_record_marks, valuation_mark_record


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


class CompanyReportViewSet(viewsets.ReadOnlyModelViewSet):
    """Quarterly company reports: the startup's owner sees and files its own; staff and auditors read all;
    portfolio managers accept or return submitted ones."""

    serializer_class = CompanyReportSerializer
    filterset_class = CompanyReportFilter

    def get_queryset(self):
        return monitoring_selectors.company_reports_visible_to(self.request.user).order_by("pk")

    def _answer(self, report):
        return Response(self.get_serializer(self.get_queryset().get(pk=report.pk)).data, status=status.HTTP_200_OK)

    def _input(self, serializer_class):
        serializer = serializer_class(data=self.request.data, context=self.get_serializer_context())
        serializer.is_valid(raise_exception=True)
        return serializer.validated_data

    @extend_schema(request=CompanyReportSaveSerializer, responses={200: CompanyReportSerializer})
    @action(detail=True, methods=["post"])
    def save(self, request, pk=None):
        report = self.get_object()
        monitoring.company_report_save(report=report, by=request.user, **self._input(CompanyReportSaveSerializer))
        return self._answer(report)

    @extend_schema(request=CompanyReportCommentSerializer, responses={200: CompanyReportSerializer})
    @action(detail=True, methods=["post"])
    def submit(self, request, pk=None):
        report = self.get_object()
        monitoring.company_report_submit(report=report, by=request.user, **self._input(CompanyReportCommentSerializer))
        return self._answer(report)

    @extend_schema(request=CompanyReportCommentSerializer, responses={200: CompanyReportSerializer})
    @action(detail=True, methods=["post"])
    def accept(self, request, pk=None):
        report = self.get_object()
        monitoring.company_report_accept(report=report, by=request.user, **self._input(CompanyReportCommentSerializer))
        return self._answer(report)

    @extend_schema(request=CompanyReportCommentSerializer, responses={200: CompanyReportSerializer})
    @action(detail=True, methods=["post"], url_path="return", url_name="return")
    def return_for_changes(self, request, pk=None):
        report = self.get_object()
        monitoring.company_report_return(report=report, by=request.user, **self._input(CompanyReportCommentSerializer))
        return self._answer(report)


@extend_schema_view(
    create=extend_schema(request=ValuationMarkCreateSerializer, responses={201: ValuationMarkSerializer})
)
class ValuationMarkViewSet(
    mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.CreateModelMixin, viewsets.GenericViewSet
):
    """Portfolio readers list and read the marks; portfolio managers record new ones (POST), through
    tolerance.valuation like the page. Marks are never changed or deleted, so there is no PUT, PATCH or DELETE."""

    serializer_class = ValuationMarkSerializer
    filterset_class = ValuationMarkFilter

    def get_queryset(self):
        if not selectors.user_can_view_portfolio(self.request.user):
            return ValuationMark.objects.none()
        return ValuationMark.objects.select_related("recorded_by").order_by("-as_of", "-recorded_at", "-id")

    def create(self, request, *args, **kwargs):
        if not user_can_record_marks(request.user):
            raise PermissionDenied(_("Only portfolio managers record valuation marks."))
        data = ValuationMarkCreateSerializer(data=request.data, context=self.get_serializer_context())
        data.is_valid(raise_exception=True)
        mark = valuation_mark_record(by=request.user, **data.validated_data)
        return Response(self.get_serializer(self.get_queryset().get(pk=mark.pk)).data, status=status.HTTP_201_CREATED)


# Registered with the one API router in ToleranceConfig.ready().
ROUTES = [
    ("funds", FundViewSet, "fund"),
    ("investments", InvestmentViewSet, "investment"),
    ("investment-parties", InvestmentPartyViewSet, "investment-party"),
    ("investment-documents", InvestmentDocumentViewSet, "investment-document"),
    ("compliance-reports", ComplianceReportViewSet, "compliance-report"),
    ("exemptions", ExemptionDeterminationViewSet, "exemption"),
    ("exemption-cases", ExemptionCaseViewSet, "exemption-case"),
    ("company-reports", CompanyReportViewSet, "company-report"),
    ("valuation-marks", ValuationMarkViewSet, "valuation-mark"),
]
