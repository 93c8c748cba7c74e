"""Prometheus metrics (prometheus_client): the requests and their latency, counted as they are served, and what
is read at scrape time: the Celery queue's depth, the outbox backlog and what the apps above register (the
failure-tolerance app registers the age of the last compliance check).

With several gunicorn workers, each process counts its own requests; set PROMETHEUS_MULTIPROC_DIR (an empty
folder, emptied at every start) and prometheus_client adds them up across processes (its multiprocess mode).
"""

import logging
import os
from collections.abc import Callable
from dataclasses import dataclass

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.multiprocess import MultiProcessCollector

logger = logging.getLogger(__name__)

# Labelled by the URL's name, never its path: an object's id in the path would make a series per object.
REQUESTS = Counter(
    "valley_http_requests",
    "HTTP requests served, by method, URL name and status.",
    ["method", "view", "status"],
    registry=None,
)
LATENCY = Histogram(
    "valley_http_request_duration_seconds",
    "Time to answer an HTTP request, by method and URL name.",
    ["method", "view"],
    buckets=(0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0),
    registry=None,
)


_counting_failed = False


def observe_request(request, status: int, seconds: float) -> None:
    """Counts one answered request. Never raises: a page is not refused because it could not be counted
    (the multiprocess folder gone, say); the first failure in a process is logged."""
    global _counting_failed
    match = getattr(request, "resolver_match", None)
    view = match.view_name if match is not None else "unmatched"
    try:
        REQUESTS.labels(request.method, view, str(status)).inc()
        LATENCY.labels(request.method, view).observe(seconds)
    except Exception:
        if not _counting_failed:
            _counting_failed = True
            logger.exception("metrics: counting requests failed; pages are served, but not counted")


@dataclass(frozen=True)
class ScrapeGauge:
    name: str
    documentation: str
    read: Callable[[], float | None]  # None: nothing to report (the series is left out)


_gauges: dict[str, ScrapeGauge] = {}


def register_gauge(name: str, documentation: str, read: Callable[[], float | None]) -> None:
    """An app's gauge, read at every scrape (called from its AppConfig.ready(); the ground floor names no app)."""
    _gauges[name] = ScrapeGauge(name, documentation, read)


def _queue_depth() -> float:
    """Messages waiting in all the portal's queues, asked of the broker (Redis or the filesystem transport)."""
    from celery import current_app
    from django.conf import settings

    with current_app.connection_for_read() as connection:
        connection.connect()
        # Not passive: Redis keeps no key for an empty queue, and a passive declare calls that "no such queue".
        return float(
            sum(
                connection.default_channel.queue_declare(name).message_count
                for name in settings.CELERY_QUEUES_BY_KIND.values()
            )
        )


def _outbox_backlog() -> float:
    from valley.models import OutboxMessage

    return float(OutboxMessage.objects.filter(published_at__isnull=True).count())


def _outbox_oldest_age() -> float | None:
    from django.db.models import Min
    from django.utils import timezone

    from valley.models import OutboxMessage

    oldest = OutboxMessage.objects.filter(published_at__isnull=True).aggregate(at=Min("created_at"))["at"]
    return None if oldest is None else (timezone.now() - oldest).total_seconds()


def _ground_floor_gauges() -> list[ScrapeGauge]:
    return [
        ScrapeGauge("valley_celery_queue_depth", "Tasks waiting in the Celery queues for a worker.", _queue_depth),
        ScrapeGauge("valley_outbox_backlog", "Outbox messages not yet handed to the broker.", _outbox_backlog),
        ScrapeGauge(
            "valley_outbox_oldest_unpublished_age_seconds",
            "Age of the oldest outbox message not yet handed to the broker.",
            _outbox_oldest_age,
        ),
    ]


class ScrapeTimeCollector:
    """Reads each gauge when scraped. One that fails (the broker is down) is left out and counted in
    valley_scrape_errors{gauge=...}, so the rest still reach Prometheus and the failure can be alerted on."""

    def collect(self):
        errors = GaugeMetricFamily(
            "valley_scrape_errors", "1 when reading the gauge failed at this scrape.", labels=["gauge"]
        )
        for gauge in [*_ground_floor_gauges(), *_gauges.values()]:
            try:
                value = gauge.read()
            except Exception as error:  # one unreadable source never fails the whole scrape
                logger.warning("metrics: reading %s failed: %s: %s", gauge.name, type(error).__name__, error)
                errors.add_metric([gauge.name], 1.0)
                continue
            errors.add_metric([gauge.name], 0.0)
            if value is not None:
                yield GaugeMetricFamily(gauge.name, gauge.documentation, value=value)
        yield errors


def render() -> bytes:
    """The metrics in Prometheus' text format."""
    registry = CollectorRegistry()  # no auto_describe: it would read every gauge twice per scrape
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        MultiProcessCollector(registry)
    else:
        registry.register(REQUESTS)
        registry.register(LATENCY)
    registry.register(ScrapeTimeCollector())
    return generate_latest(registry)
