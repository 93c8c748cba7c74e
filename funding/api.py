"""REST API of the start-up fund: thin doors to funding.selectors (reads) and funding.services (writes).

Visibility is the web pages' own: funding.selectors.applications_visible_to and budgets_visible_to. An
application another user may not see answers 404 on every URL, for reads and writes alike. Writes call
the same service as the matching web page; a service's refusal answers 403 (role), 409 (state) or 400
(a rule of the fund), with its translated message as {"detail": ...}. Auditors are refused every write
before any service runs (valley.web.api.AuditorsReadOnly)."""

from django.http import Http404
from django.urls import reverse
from django.utils.translation import gettext_lazy as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import PermissionDenied
from rest_framework.exceptions import ValidationError as InputError
from rest_framework.response import Response

from funding import post_award, selectors, services
from funding.filters import (
    ApplicationEventFilter,
    ApplicationFilter,
    BudgetFilter,
    DisbursementFilter,
    ExpertReviewFilter,
    FinalAcceptanceFilter,
    FundingAgreementFilter,
    FundPolicyFilter,
    FundUseReportFilter,
    RecoveryOrderFilter,
)
from funding.models import ApplicationEvent, Disbursement, ExpertReview, FinalAcceptance, FundPolicy, Repayment
from funding.serializers import (
    AcceptanceRecordSerializer,
    ApplicationCreateSerializer,
    ApplicationEventSerializer,
    ApplicationSerializer,
    ApplicationUpdateSerializer,
    ApproveSerializer,
    BudgetSerializer,
    DisbursementCreateSerializer,
    DisbursementSerializer,
    ExpertReviewSerializer,
    FinalAcceptanceSerializer,
    FundingAgreementSerializer,
    FundPolicySerializer,
    FundUseReportSerializer,
    RecoveryOpenSerializer,
    RecoveryOrderSerializer,
    RegistrationVerificationSerializer,
    RepaymentCreateSerializer,
    RepaymentSerializer,
    ReportCommentSerializer,
    ReportDetachSerializer,
    ReportDocumentSerializer,
    ReportReturnSerializer,
    ReportSaveSerializer,
    ReviseAmountSerializer,
    TransitionSerializer,
)
from funding.workflow import MOVES_MONEY
from teams.serializers import DocumentSerializer
from valley.accounts import reauth
from valley.web.api import sees_staff_fields

_TRANSITION_NAME = OpenApiParameter(
    "name",
    OpenApiTypes.STR,
    OpenApiParameter.PATH,
    enum=list(services.COMMENT_ONLY_TRANSITIONS),
    description=_("A transition that takes only a comment (and an internal note)."),
)


class _ServiceDoor:
    """What the viewsets whose actions call services share: input checked by a serializer (field errors answer
    400 before any service runs), and the record answered as the list shows it after the service wrote it."""

    def _answer(self, obj, code=status.HTTP_200_OK):
        fresh = self.get_queryset().get(pk=obj.pk)
        return Response(self.get_serializer(fresh).data, status=code)

    def _input(self, serializer_class, **kwargs):
        serializer = serializer_class(data=self.request.data, context=self.get_serializer_context(), **kwargs)
        serializer.is_valid(raise_exception=True)
        return serializer.validated_data


@extend_schema_view(
    create=extend_schema(request=ApplicationCreateSerializer, responses={201: ApplicationSerializer}),
    partial_update=extend_schema(request=ApplicationUpdateSerializer, responses={200: ApplicationSerializer}),
)
class ApplicationViewSet(
    _ServiceDoor, mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.CreateModelMixin, viewsets.GenericViewSet
):
    serializer_class = ApplicationSerializer
    filterset_class = ApplicationFilter
    http_method_names = ["get", "post", "patch", "head", "options"]

    def get_queryset(self):
        return selectors.applications_visible_to(self.request.user).select_related("created_by", "decided_by")

    def create(self, request, *args, **kwargs):
        data = self._input(ApplicationCreateSerializer)
        application = services.application_create(by=request.user, **data)
        return self._answer(application, status.HTTP_201_CREATED)

    def partial_update(self, request, *args, **kwargs):
        application = self.get_object()
        data = self._input(ApplicationUpdateSerializer, partial=True)
        current = {"amount": application.amount, "purpose": application.purpose, "plan": application.plan}
        services.application_update(application=application, by=request.user, **{**current, **data})
        return self._answer(application)

    @extend_schema(request=TransitionSerializer, responses={200: ApplicationSerializer}, parameters=[_TRANSITION_NAME])
    @action(detail=True, methods=["post"], url_path=r"transitions/(?P<name>[a-z_]+)")
    def transitions(self, request, pk=None, name=None):
        if name not in services.COMMENT_ONLY_TRANSITIONS:
            raise Http404
        application = self.get_object()
        data = self._input(TransitionSerializer)
        services.application_take(application=application, name=name, by=request.user, **data)
        return self._answer(application)

    @extend_schema(request=ApproveSerializer, responses={200: ApplicationSerializer})
    @action(detail=True, methods=["post"])
    def approve(self, request, pk=None):
        application = self.get_object()
        _require_recent_reauth(request, "approve")
        services.application_approve(application=application, by=request.user, **self._input(ApproveSerializer))
        return self._answer(application)

    @extend_schema(request=RegistrationVerificationSerializer, responses={200: ApplicationSerializer})
    @action(detail=True, methods=["post"], url_path="verify-registration")
    def verify_registration(self, request, pk=None):
        application = self.get_object()
        data = self._input(RegistrationVerificationSerializer)
        services.application_verify_registration(application=application, by=request.user, **data)
        return self._answer(application)

    @extend_schema(
        request=DisbursementCreateSerializer,
        responses={201: DisbursementSerializer},
        description=_(
            "Release the next instalment of the agreement's plan. Each after the first needs the fund-use report on "
            "the one before accepted, the last also the passed final acceptance; otherwise 400 says which."
        ),
    )
    @action(detail=True, methods=["post"])
    def disburse(self, request, pk=None):
        application = self.get_object()
        _require_recent_reauth(request, "disburse")
        data = self._input(DisbursementCreateSerializer)
        disbursement = services.application_disburse(application=application, by=request.user, **data)
        disbursement = Disbursement.objects.select_related("recorded_by").get(pk=disbursement.pk)
        return Response(DisbursementSerializer(disbursement).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=ReviseAmountSerializer, responses={200: ApplicationSerializer})
    @action(detail=True, methods=["post"], url_path="revise-amount")
    def revise_amount(self, request, pk=None):
        application = self.get_object()
        _require_recent_reauth(request, "revise_amount")
        services.application_revise_amount(
            application=application, by=request.user, **self._input(ReviseAmountSerializer)
        )
        return self._answer(application)

    @extend_schema(request=AcceptanceRecordSerializer, responses={201: FinalAcceptanceSerializer})
    @action(detail=True, methods=["post"], url_path="record-acceptance")
    def record_acceptance(self, request, pk=None):
        application = self.get_object()
        data = self._input(AcceptanceRecordSerializer)
        acceptance = post_award.acceptance_record(application=application, by=request.user, **data)
        acceptance = FinalAcceptance.objects.select_related("recorded_by").get(pk=acceptance.pk)
        return Response(
            FinalAcceptanceSerializer(acceptance, context=self.get_serializer_context()).data,
            status=status.HTTP_201_CREATED,
        )

    @extend_schema(request=RecoveryOpenSerializer, responses={201: RecoveryOrderSerializer})
    @action(detail=True, methods=["post"], url_path="open-recovery")
    def open_recovery(self, request, pk=None):
        application = self.get_object()
        _require_recent_reauth(request, "open_recovery")
        data = self._input(RecoveryOpenSerializer)
        order = post_award.recovery_open(application=application, by=request.user, **data)
        order = selectors.recovery_orders_visible_to(request.user).get(pk=order.pk)
        return Response(
            RecoveryOrderSerializer(order, context=self.get_serializer_context()).data, status=status.HTTP_201_CREATED
        )

    @extend_schema(request=RepaymentCreateSerializer, responses={201: RepaymentSerializer})
    @action(detail=True, methods=["post"])
    def repay(self, request, pk=None):
        application = self.get_object()
        _require_recent_reauth(request, "record_repayment")
        data = self._input(RepaymentCreateSerializer)
        repayment = post_award.recovery_repay(application=application, by=request.user, **data)
        repayment = Repayment.objects.select_related("recorded_by").get(pk=repayment.pk)
        return Response(
            RepaymentSerializer(repayment, context=self.get_serializer_context()).data, status=status.HTTP_201_CREATED
        )


def _require_recent_reauth(request, transition: str) -> None:
    """Money moves (funding.workflow.MOVES_MONEY) through a browser session only after a recent re-authentication
    (valley.accounts.reauth), as on the pages; an API token is a credential of its own."""
    if transition in MOVES_MONEY and request.auth is None and not reauth.recently_reauthenticated(request):
        raise PermissionDenied(
            _("Approving or paying out money needs a recent re-authentication: confirm it is you at %(url)s first.")
            % {"url": reverse("reauthenticate")}
        )


_of_visible_applications = selectors.of_visible_applications


class ApplicationEventViewSet(viewsets.ReadOnlyModelViewSet):
    """The append-only history of the applications you may see. Applicants see no names or internal notes."""

    serializer_class = ApplicationEventSerializer
    filterset_class = ApplicationEventFilter

    def get_queryset(self):
        events = ApplicationEvent.objects.select_related("by").order_by("at", "pk")
        return _of_visible_applications(events, self.request.user)


class ExpertReviewViewSet(viewsets.ReadOnlyModelViewSet):
    """Expert reviews, as on the staff pages: applicants see none."""

    serializer_class = ExpertReviewSerializer
    filterset_class = ExpertReviewFilter

    def get_queryset(self):
        if not sees_staff_fields(self.request):
            return ExpertReview.objects.none()
        reviews = ExpertReview.objects.select_related("reviewer", "assigned_by").order_by("assigned_at", "pk")
        return _of_visible_applications(reviews, self.request.user)


class DisbursementViewSet(viewsets.ReadOnlyModelViewSet):
    serializer_class = DisbursementSerializer
    filterset_class = DisbursementFilter

    def get_queryset(self):
        disbursements = Disbursement.objects.select_related("recorded_by").order_by("application_id", "number")
        return _of_visible_applications(disbursements, self.request.user)


class BudgetViewSet(viewsets.ReadOnlyModelViewSet):
    """Sub-venue budgets, as on the budgets page: staff (operators: their sub-venues) and auditors."""

    serializer_class = BudgetSerializer
    filterset_class = BudgetFilter

    def get_queryset(self):
        if not sees_staff_fields(self.request):
            return selectors.budgets_visible_to(self.request.user).none()
        return selectors.budgets_visible_to(self.request.user)


class FundPolicyViewSet(viewsets.ReadOnlyModelViewSet):
    """The fund's rules, every version: public, since applicants need the limits."""

    serializer_class = FundPolicySerializer
    filterset_class = FundPolicyFilter

    def get_queryset(self):
        return FundPolicy.objects.select_related("changed_by").order_by("-effective_from", "-pk")


class FundingAgreementViewSet(viewsets.ReadOnlyModelViewSet):
    """The funding agreements of the applications you may see, with their milestones and instalment plan (each
    planned instalment with the instalment as paid, once it is)."""

    serializer_class = FundingAgreementSerializer
    filterset_class = FundingAgreementFilter

    def get_queryset(self):
        return selectors.agreements_visible_to(self.request.user)


_REPORT_DOOR = _("Through a browser session or a token alike; the report's own rules answer 400, 403 or 409.")


class FundUseReportViewSet(_ServiceDoor, viewsets.ReadOnlyModelViewSet):
    """The fund-use reports of the applications you may see, with their expense lines, progress on the milestones
    and history. The grant holder saves and submits them; finance officers accept them or return them."""

    serializer_class = FundUseReportSerializer
    filterset_class = FundUseReportFilter

    def get_queryset(self):
        return selectors.fund_use_reports_visible_to(self.request.user)

    @extend_schema(request=ReportSaveSerializer, responses={200: FundUseReportSerializer}, description=_REPORT_DOOR)
    @action(detail=True, methods=["post"])
    def save(self, request, pk=None):
        report = self.get_object()
        data = self._input(ReportSaveSerializer)
        current = {
            "spent": report.spent,
            "summary": report.summary,
            "lines": [
                {"category": line.category, "amount": line.amount, "description": line.description}
                for line in report.lines.all()
            ],
            "progress": {row.order: row.progress for row in report.progress.all()},
        }
        if "progress" in data:  # by milestone: those not sent keep what they say
            data["progress"] = {**current["progress"], **{row["order"]: row["progress"] for row in data["progress"]}}
        post_award.report_save(report=report, by=request.user, **{**current, **data})
        return self._answer(report)

    @extend_schema(request=ReportCommentSerializer, responses={200: FundUseReportSerializer})
    @action(detail=True, methods=["post"])
    def submit(self, request, pk=None):
        report = self.get_object()
        post_award.report_submit(report=report, by=request.user, **self._input(ReportCommentSerializer))
        return self._answer(report)

    @extend_schema(request=ReportCommentSerializer, responses={200: FundUseReportSerializer})
    @action(detail=True, methods=["post"])
    def accept(self, request, pk=None):
        report = self.get_object()
        post_award.report_accept(report=report, by=request.user, **self._input(ReportCommentSerializer))
        return self._answer(report)

    @extend_schema(request=ReportReturnSerializer, responses={200: FundUseReportSerializer})
    @action(detail=True, methods=["post"], url_path="return", url_name="return")
    def return_for_changes(self, request, pk=None):
        report = self.get_object()
        post_award.report_return(report=report, by=request.user, **self._input(ReportReturnSerializer))
        return self._answer(report)

    @extend_schema(request={"multipart/form-data": ReportDocumentSerializer}, responses={201: DocumentSerializer})
    @action(detail=True, methods=["post"], url_path="attach-document")
    def attach_document(self, request, pk=None):
        report = self.get_object()
        data = self._input(ReportDocumentSerializer)
        document = post_award.report_attach_document(
            report=report, by=request.user, title=data["title"], upload=data["file"]
        )
        return Response(DocumentSerializer(document).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=ReportDetachSerializer, responses={200: FundUseReportSerializer})
    @action(detail=True, methods=["post"], url_path="detach-document")
    def detach_document(self, request, pk=None):
        report = self.get_object()
        wanted = self._input(ReportDetachSerializer)["document"]
        document = next((d for d in report.documents.all() if d.pk == wanted), None)
        if document is None:
            raise InputError({"document": [_("No such document is attached to this report.")]})
        post_award.report_detach_document(report=report, by=request.user, document=document)
        return self._answer(report)


class FinalAcceptanceViewSet(viewsets.ReadOnlyModelViewSet):
    serializer_class = FinalAcceptanceSerializer
    filterset_class = FinalAcceptanceFilter

    def get_queryset(self):
        return selectors.final_acceptances_visible_to(self.request.user)


class RecoveryOrderViewSet(viewsets.ReadOnlyModelViewSet):
    """Recovery orders with their repayments."""

    serializer_class = RecoveryOrderSerializer
    filterset_class = RecoveryOrderFilter

    def get_queryset(self):
        return selectors.recovery_orders_visible_to(self.request.user)


# Registered with the one API router in FundingConfig.ready().
ROUTES = [
    ("applications", ApplicationViewSet, "application"),
    ("application-events", ApplicationEventViewSet, "application-event"),
    ("expert-reviews", ExpertReviewViewSet, "expert-review"),
    ("disbursements", DisbursementViewSet, "disbursement"),
    ("budgets", BudgetViewSet, "budget"),
    ("fund-policies", FundPolicyViewSet, "fund-policy"),
    ("funding-agreements", FundingAgreementViewSet, "funding-agreement"),
    ("fund-use-reports", FundUseReportViewSet, "fund-use-report"),
    ("final-acceptances", FinalAcceptanceViewSet, "final-acceptance"),
    ("recovery-orders", RecoveryOrderViewSet, "recovery-order"),
]
