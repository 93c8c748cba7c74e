"""Outgoing mail: written to the outbox in the caller's transaction, sent by a Celery worker after commit.

Services call `queue_mail`; a rolled-back transaction sends nothing, a slow mail server never holds up a
page, and a broker that is down delays the mail instead of losing it (valley.messaging.outbox).
"""

from valley.messaging import outbox

MAIL_TASK = "valley.tasks.send_mail_task"


def queue_mail(*, to: list[str] | str, subject: str, body: str) -> None:
    recipients = [to] if isinstance(to, str) else [address for address in to if address]
    if not recipients:
        return
    outbox.enqueue(MAIL_TASK, recipients=recipients, subject=str(subject), body=str(body))
