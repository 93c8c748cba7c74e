"""The transactional outbox: queue a Celery task so that it is neither sent for a rolled-back change nor lost
when the broker (Redis) is down.

`enqueue` writes an OutboxMessage row in the caller's transaction and, after commit, tries to publish it at
once with a short retry (a page never waits long for a broker that is down). Whatever could not be published
stays in the table; `sweep` publishes it later: Celery beat queues `valley.messaging.tasks.outbox_sweep` every
OUTBOX_SWEEP_SECONDS and every worker sweeps when it starts. Delivery is at least once: tasks queued here
must be safe to run twice, and a task whose effect must happen once wraps it in `run_once` (the mail task does).

Hand-written rather than django-celery-outbox: that package is young (0.x), replaces the Celery app class
and needs its own relay daemon in every deployment; this is one table, after-commit publishing and the
beat we already run.
"""

import datetime
import logging
from collections.abc import Callable, Iterable
from contextlib import suppress

from celery import current_app
from django.conf import settings
from django.db import DatabaseError, transaction
from django.utils import timezone
from django.utils.module_loading import import_string

from valley.models import OutboxMessage
from valley.observability.celery_signals import HEADER as REQUEST_ID_HEADER
from valley.observability.logs import NO_REQUEST, current_request_id

logger = logging.getLogger(__name__)

# A broker that is down answers "connection refused" at once; a second try covers a pooled connection that
# went stale while the broker restarted. Never the default retries, which hold a page for seconds.
PUBLISH_RETRY_POLICY = {"max_retries": 1, "interval_start": 0, "interval_step": 0.2, "interval_max": 0.2}
SWEEP_BATCH = 500
KEEP_PUBLISHED = datetime.timedelta(days=7)  # then the sweeper deletes them (mail bodies hold sign-up links)


def _request_id() -> str:
    request_id = current_request_id.get()
    return "" if request_id == NO_REQUEST else request_id


def enqueue(task: str, **kwargs) -> OutboxMessage:
    """Queue `task` (its dotted name, e.g. "valley.tasks.send_mail_task") with keyword arguments, after commit.

    Call inside the transaction that makes the change the task is about; the arguments must be JSON-able.
    """
    message = OutboxMessage.objects.create(task=task, kwargs=kwargs, request_id=_request_id())
    transaction.on_commit(lambda: publish([message.pk]))
    return message


def enqueue_many(task: str, kwargs_list: Iterable[dict]) -> list[OutboxMessage]:
    """Queue one `task` per set of arguments, in one INSERT; published after commit."""
    request_id = _request_id()
    messages = OutboxMessage.objects.bulk_create(
        [OutboxMessage(task=task, kwargs=kwargs, request_id=request_id) for kwargs in kwargs_list]
    )
    ids = [message.pk for message in messages]
    if ids:
        transaction.on_commit(lambda: publish(ids))
    return messages


def _send(message: OutboxMessage) -> None:
    # Through the task object, not app.send_task, so that CELERY_TASK_ALWAYS_EAGER (tests) applies. The row
    # holds the task's registered name, which need not be its module path (tasks keep their names when
    # their modules move).
    # ignore_result: nobody waits for these results, and subscribing for one would touch the result backend.
    task = current_app.tasks.get(message.task) or import_string(message.task)
    # The id of the request that queued it, not of whoever publishes it (the sweeper, minutes later).
    headers = {"headers": {REQUEST_ID_HEADER: message.request_id}} if message.request_id else {}
    task.apply_async(
        kwargs=message.kwargs,
        task_id=str(message.task_id),
        ignore_result=True,
        retry=True,
        retry_policy=PUBLISH_RETRY_POLICY,
        **headers,
    )


def publish(ids: list[int] | None = None, *, older_than: datetime.timedelta | None = None) -> int:
    """Publish unpublished messages (these `ids`, or all of them); returns how many went out.

    Rows are locked with SKIP LOCKED, so the after-commit publisher and a sweeper never send the same row
    at once. The first broker error stops the batch: the rest wait for the next sweep.
    """
    published = 0
    try:
        with transaction.atomic():
            pending = OutboxMessage.objects.filter(published_at__isnull=True)
            if ids is not None:
                pending = pending.filter(pk__in=ids)
            if older_than is not None:
                pending = pending.filter(created_at__lte=timezone.now() - older_than)
            rows = list(pending.select_for_update(skip_locked=True).order_by("pk")[:SWEEP_BATCH])
            sent: list[OutboxMessage] = []
            for message in rows:
                try:
                    _send(message)
                except Exception as error:  # a broker error of any transport; the row stays for the sweeper
                    message.attempts += 1
                    message.last_error = f"{type(error).__name__}: {error}"[:2000]
                    message.save(update_fields=["attempts", "last_error"])
                    logger.warning(
                        "outbox: %s not published (%s); %s left for the sweeper",
                        message,
                        message.last_error,
                        len(rows) - len(sent),
                    )
                    break
                message.published_at = timezone.now()
                message.attempts += 1
                sent.append(message)
            OutboxMessage.objects.bulk_update(sent, ["published_at", "attempts"])
            published = len(sent)
    except DatabaseError:
        # After commit, in a request: the change is saved and the row is there; the sweeper will send it.
        logger.exception("outbox: could not mark messages as published; the sweeper will retry")
    return published


def sweep() -> int:
    """Publish what the after-commit publisher could not (the broker was down, or the process died)."""
    count = publish(older_than=datetime.timedelta(seconds=settings.OUTBOX_SWEEP_GRACE_SECONDS))
    OutboxMessage.objects.filter(published_at__lt=timezone.now() - KEEP_PUBLISHED).delete()
    if count:
        logger.info("outbox: the sweeper published %s queued task(s)", count)
    return count


def run_once(task_id: str | None, action: Callable[[], object]):
    """Run `action` once per outbox message: a message delivered twice (at-least-once) acts once.

    The row is locked while `action` runs, so two workers given the same message do not both act; `done_at`
    is committed with the action's own database writes. Without an outbox row (a task called directly),
    `action` simply runs. Returns `action`'s result, or None when it had already run.
    """
    message = None
    if task_id:
        with suppress(ValueError, OutboxMessage.DoesNotExist):  # not a UUID, or not from the outbox
            message = OutboxMessage.objects.only("pk").get(task_id=task_id)
    if message is None:
        return action()
    with transaction.atomic():
        message = OutboxMessage.objects.select_for_update().get(pk=message.pk)
        if message.done_at is not None:
            logger.info("outbox: %s already done at %s; not repeated", message, message.done_at)
            return None
        result = action()
        message.done_at = timezone.now()
        message.save(update_fields=["done_at"])
    return result
