import hmac
import logging

from django.conf import settings
from django.http import HttpResponse, JsonResponse
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from prometheus_client import CONTENT_TYPE_LATEST

from valley.observability import metrics
from valley.observability.readiness import run_checks

logger = logging.getLogger(__name__)


@never_cache
def readyz(request):
    """200 when the database, the broker, the cache and the storage all answer; 503 naming those that do not."""
    results = run_checks()
    failing = [name for name, error in results.items() if error is not None]
    checks = {name: ("ok" if error is None else f"failed: {error}") for name, error in results.items()}
    if failing:
        logger.warning("readyz: not ready: %s", ", ".join(f"{name} ({results[name]})" for name in failing))
        return JsonResponse({"status": "unavailable", "failing": failing, "checks": checks}, status=503)
    return JsonResponse({"status": "ok", "checks": checks})


def _bearer_token_matches(request) -> bool:
    expected = settings.METRICS_TOKEN
    scheme, _space, given = request.headers.get("Authorization", "").partition(" ")
    return bool(expected) and scheme.lower() == "bearer" and hmac.compare_digest(given.strip(), expected)


@never_cache
def metrics_view(request):
    """Prometheus' text format, for the scraper sending `Authorization: Bearer <METRICS_TOKEN>`, or for a
    signed-in superuser looking by hand. Nobody else: the figures say how busy and how behind the portal is."""
    if not _bearer_token_matches(request):
        if not request.user.is_authenticated:
            response = HttpResponse(_("Send the metrics token as a bearer token."), status=401)
            response["WWW-Authenticate"] = 'Bearer realm="metrics"'
            return response
        if not request.user.is_superuser:
            return HttpResponse(_("Only the metrics scraper and superusers may read the metrics."), status=403)
    return HttpResponse(metrics.render(), content_type=CONTENT_TYPE_LATEST)
