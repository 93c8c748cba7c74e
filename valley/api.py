"""The REST API's front door, mounted at /api/: one router for every app, the OpenAPI schema and its docs page.

Each app keeps its serializers, filters and viewsets; this module only registers them. A new viewset
registered here is picked up by the schema, by schemathesis and by the test that every write answers
an auditor 403."""

from django.urls import include, path, re_path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView
from rest_framework.exceptions import NotFound
from rest_framework.permissions import AllowAny
from rest_framework.routers import DefaultRouter
from rest_framework.views import APIView

from funding import api as funding_api
from teams import api as teams_api
from tolerance import api as tolerance_api
from valley import api_views as valley_api

router = DefaultRouter()
router.register("valley", valley_api.ValleyViewSet, basename="valley")
router.register("sub-venues", valley_api.SubVenueViewSet, basename="sub-venue")
router.register("institutions", valley_api.InstitutionViewSet, basename="institution")
router.register("focus-areas", valley_api.FocusAreaViewSet, basename="focus-area")
router.register("service-lines", valley_api.ServiceLineViewSet, basename="service-line")
router.register("targets", valley_api.TargetViewSet, basename="target")
router.register("entities", teams_api.EntityViewSet, basename="entity")
router.register("members", teams_api.MemberViewSet, basename="member")
router.register("residencies", teams_api.ResidencyViewSet, basename="residency")
router.register("achievements", teams_api.AchievementViewSet, basename="achievement")
router.register(
    "achievement-stage-changes", teams_api.AchievementStageChangeViewSet, basename="achievement-stage-change"
)
router.register("registrations", teams_api.RegistrationViewSet, basename="registration")
router.register("documents", teams_api.DocumentViewSet, basename="document")
router.register("applications", funding_api.ApplicationViewSet, basename="application")
router.register("application-events", funding_api.ApplicationEventViewSet, basename="application-event")
router.register("expert-reviews", funding_api.ExpertReviewViewSet, basename="expert-review")
router.register("disbursements", funding_api.DisbursementViewSet, basename="disbursement")
router.register("budgets", funding_api.BudgetViewSet, basename="budget")
router.register("fund-policies", funding_api.FundPolicyViewSet, basename="fund-policy")
router.register("funds", tolerance_api.FundViewSet, basename="fund")
router.register("investments", tolerance_api.InvestmentViewSet, basename="investment")
router.register("investment-parties", tolerance_api.InvestmentPartyViewSet, basename="investment-party")
router.register("compliance-reports", tolerance_api.ComplianceReportViewSet, basename="compliance-report")
router.register("exemptions", tolerance_api.ExemptionDeterminationViewSet, basename="exemption")

app_name = "api"


class NoSuchEndpoint(APIView):
    """Any other URL under /api/ (an id that is not a number, a misspelt resource) answers 404 in JSON, like
    the rest of the API, rather than with the site's HTML page."""

    authentication_classes: list = []
    permission_classes = [AllowAny]
    schema = None

    def http_method_not_allowed(self, request, *args, **kwargs):
        raise NotFound

    def get(self, request, *args, **kwargs):
        raise NotFound

    post = put = patch = delete = get


urlpatterns = [
    # The schema describes endpoints, not data: it and its docs page are open, the endpoints are not.
    path("schema/", SpectacularAPIView.as_view(permission_classes=[AllowAny]), name="schema"),
    path(
        "docs/",
        SpectacularSwaggerView.as_view(url_name="api:schema", permission_classes=[AllowAny]),
        name="docs",
    ),
    path("", include(router.urls)),
    # Only URLs ending in a slash: the others still get Django's redirect to the slash-ended form.
    re_path(r"^[\s\S]*/$", NoSuchEndpoint.as_view()),  # [\s\S]: "." would stop at a newline
]
