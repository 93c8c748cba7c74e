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


@shared_task(bind=True, autoretry_for=(OSError,), retry_backoff=True, max_retries=5)
def send_mail_task(self, *, recipients: list[str], subject: str, body: str) -> int:
    """Send one plain-text mail; retried with back-off when the mail server is unreachable."""
    from django.conf import settings
    from django.core.mail import send_mail

    return send_mail(subject, body, settings.DEFAULT_FROM_EMAIL, recipients)
