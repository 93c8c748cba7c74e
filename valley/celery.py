"""The Celery app. Tasks are autodiscovered in each installed app's tasks.py."""

import logging
import os

from celery import Celery
from celery.signals import worker_ready

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
