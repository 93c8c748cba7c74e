"""Outgoing mail: queued for a Celery worker only once the surrounding transaction commits.

Services call `queue_mail`; a rolled-back transaction sends nothing, and a slow mail server never
holds up a page.
"""

from django.db import transaction

from valley.tasks import send_mail_task


def queue_mail(*, to: list[str] | str, subject: str, body: str) -> None:
    recipients = [to] if isinstance(to, str) else [address for address in to if address]
    if not recipients:
        return
    transaction.on_commit(lambda: send_mail_task.delay(recipients=recipients, subject=str(subject), body=str(body)))
