"""The Celery app. Tasks are autodiscovered in each installed app's tasks.py."""

import logging
import os

from celery import Celery
from celery.signals import task_postrun, task_prerun, worker_ready

from valley.observability import celery_signals  # noqa: F401  (the request id travels with the tasks)

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "valley.settings")

app = Celery("valley")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@worker_ready.connect
def _sweep_the_outbox_on_start(sender=None, **kwargs):
    """A worker that starts (after an outage, a deployment) sends what is waiting in the outbox at once."""
    from valley.messaging import outbox

    try:
        outbox.sweep()
    except Exception:  # never stop a worker from starting; beat's sweep tries again
        logging.getLogger(__name__).exception("outbox: the sweep at worker start failed")


_audit_sources: dict[str, object] = {}


@task_prerun.connect
def _audit_as_the_task(sender=None, task_id=None, task=None, **kwargs):
    """What a task writes to the audit log comes from no address, with agent "task:<its name>". A task run
    eagerly inside a request (tests) keeps the request's source."""
    from valley.audit.chain import Source, current_source, source_begins

    if task is None or task_id is None or current_source() != Source():
        return
    _audit_sources[task_id] = source_begins(agent=f"task:{task.name}")


@task_postrun.connect
def _audit_source_ends(sender=None, task_id=None, **kwargs):
    from valley.audit.chain import source_ends

    token = _audit_sources.pop(task_id, None)
    if token is not None:
        source_ends(token)
