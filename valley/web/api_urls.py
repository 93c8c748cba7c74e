"""The REST API's front door, mounted at /api/: the one router, the OpenAPI schema and its docs page.

Each app keeps its serializers, filters and viewsets and registers its routes with the router in its
AppConfig.ready() (valley.web.api_router). A registered viewset is picked up by the schema, by
schemathesis and by the test that every write answers an auditor 403."""

from django.urls import include, path, re_path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView
from rest_framework.exceptions import NotFound
from rest_framework.permissions import AllowAny
from rest_framework.views import APIView

from valley.web.api_router import router

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
        # The split view serves the page's script from this URL (?script=) instead of inline, for the CSP.
        SpectacularSwaggerSplitView.as_view(
            url_name="api:schema", permission_classes=[AllowAny], template_name="valley/api_docs.html"
        ),
        name="docs",
    ),
    path("", include(router.urls)),
    # Only URLs ending in a slash: the others still get Django's redirect to the slash-ended form.
    re_path(r"^[\s\S]*/$", NoSuchEndpoint.as_view()),  # [\s\S]: "." would stop at a newline
]
