"""The outbox's tasks: sending one mail, and publishing what the broker could not take."""

from celery import shared_task


# Task names are stored in outbox rows and in beat's schedule: they keep the name they had when this module
# was valley/tasks.py.
@shared_task(name="valley.tasks.send_mail_task", bind=True, autoretry_for=(OSError,), retry_backoff=True, max_retries=5)
def send_mail_task(self, *, recipients: list[str], subject: str, body: str) -> int:
    """Send one plain-text mail; retried with back-off when the mail server is unreachable.

    Queued through the outbox (valley.messaging.mail.queue_mail): a message delivered twice sends once.
    """
    from django.conf import settings
    from django.core.mail import send_mail

    from valley.messaging import outbox

    sent = outbox.run_once(self.request.id, lambda: send_mail(subject, body, settings.DEFAULT_FROM_EMAIL, recipients))
    return sent or 0


@shared_task(name="valley.tasks.outbox_sweep")
def outbox_sweep() -> int:
    """Beat, every OUTBOX_SWEEP_SECONDS: publish the queued tasks the broker could not take when queued."""
    from valley.messaging import outbox

    return outbox.sweep()
