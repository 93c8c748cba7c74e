"""The one REST API router. Apps add their routes in AppConfig.ready(), in the order of INSTALLED_APPS."""

from rest_framework.routers import DefaultRouter

router = DefaultRouter()


def register_routes(routes) -> None:
    """`routes`: (URL prefix, viewset, basename) triples, as each app's api.ROUTES lists them."""
    for prefix, viewset, basename in routes:
        router.register(prefix, viewset, basename=basename)
