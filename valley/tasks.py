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
    """Send one plain-text mail; retried with back-off when the mail server is unreachable.

    Queued through the outbox (valley.notifications.queue_mail): a message delivered twice sends once.
    """
    from django.conf import settings
    from django.core.mail import send_mail

    from valley import outbox

    sent = outbox.run_once(
        self.request.id, lambda: send_mail(subject, body, settings.DEFAULT_FROM_EMAIL, recipients)
    )
    return sent or 0


@shared_task
def outbox_sweep() -> int:
    """Beat, every OUTBOX_SWEEP_SECONDS: publish the queued tasks the broker could not take when queued."""
    from valley import outbox

    return outbox.sweep()
