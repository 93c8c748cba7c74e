"""The request id in Celery: written into the headers of each task sent during a request, and set again in the
worker for the time the task runs, so the worker's log lines name the request that asked for the work.

Connected from valley/celery.py, so the web processes (which publish) and the worker (which runs) both have it.
A task sent outside any request (beat, the outbox sweeper) carries no id; its lines show "-".
"""

import logging

from celery.signals import after_setup_logger, after_setup_task_logger, before_task_publish, task_postrun, task_prerun

from valley.observability.logs import NO_REQUEST, current_request_id, use_json_formatter

HEADER = "valley_request_id"
_tokens: dict[str, object] = {}


@before_task_publish.connect
def _send_the_request_id(sender=None, headers=None, **kwargs):
    request_id = current_request_id.get()
    if headers is not None and request_id != NO_REQUEST:
        headers.setdefault(HEADER, request_id)


@task_prerun.connect
def _take_the_request_id(sender=None, task_id=None, task=None, **kwargs):
    # Custom message headers become attributes of the task's request. A task run eagerly (tests) is never
    # published and runs inside the request, whose id is already current.
    request_id = getattr(task.request, HEADER, None) if task is not None else None
    if request_id and task_id:
        _tokens[task_id] = current_request_id.set(str(request_id))


@task_postrun.connect
def _drop_the_request_id(sender=None, task_id=None, **kwargs):
    token = _tokens.pop(task_id, None)
    if token is not None:
        current_request_id.reset(token)


@after_setup_logger.connect
@after_setup_task_logger.connect
def _worker_logs_as_json(sender=None, logger=None, **kwargs):
    from django.conf import settings

    if settings.LOG_FORMAT == "json" and isinstance(logger, logging.Logger):
        use_json_formatter(logger)
