"""Liveness tasks: beat's heartbeat and an echo to see that a worker consumes (names kept from valley/tasks.py)."""

import logging

from celery import shared_task
from django.utils import timezone

logger = logging.getLogger(__name__)


@shared_task(name="valley.tasks.heartbeat")
def heartbeat() -> str:
    """Scheduled by beat so the log shows the scheduler and a worker are alive."""
    now = timezone.localtime().isoformat(timespec="seconds")
    logger.info("valley heartbeat at %s", now)
    return now


@shared_task(name="valley.tasks.echo")
def echo(value: str) -> str:
    """Returns its argument; used to check a worker is consuming from the broker."""
    return value
