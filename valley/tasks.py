import logging

from celery import shared_task
from django.utils import timezone

logger = logging.getLogger(__name__)


@shared_task
def heartbeat() -> str:
    """Scheduled by beat so the log shows the scheduler and a worker are alive."""
    now = timezone.localtime().isoformat(timespec="seconds")
    logger.info("valley heartbeat at %s", now)
    return now


@shared_task
def echo(value: str) -> str:
    """Returns its argument; used to check a worker is consuming from the broker."""
    return value
