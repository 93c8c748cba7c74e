"""Log records that carry the request id, and the JSON formatter.

The id is kept in a context variable, set by the request middleware and by the Celery worker for each task. A
log record factory (not a handler filter) copies it into every record, so every handler sees it: the console,
Celery's own handlers in the worker and pytest's caplog alike.
"""

import contextvars
import logging

from pythonjsonlogger.json import JsonFormatter

NO_REQUEST = "-"  # what a record written outside any request or task carries
current_request_id: contextvars.ContextVar[str] = contextvars.ContextVar("valley_request_id", default=NO_REQUEST)


def _install_record_factory() -> None:
    previous = logging.getLogRecordFactory()
    if getattr(previous, "adds_request_id", False):
        return

    def factory(*args, **kwargs):
        record = previous(*args, **kwargs)
        record.request_id = current_request_id.get()
        return record

    factory.adds_request_id = True
    logging.setLogRecordFactory(factory)


_install_record_factory()


class ValleyJsonFormatter(JsonFormatter):
    """One JSON object per line: time, level, logger, message, request_id, and the task's name and id in the
    worker; anything passed in `extra=` is added as its own key."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("rename_fields", {"asctime": "time", "levelname": "level", "name": "logger"})
        kwargs.setdefault("json_ensure_ascii", False)  # Chinese stays readable in the log
        super().__init__("%(asctime)s %(levelname)s %(name)s %(message)s %(request_id)s", *args, **kwargs)

    def add_fields(self, log_data, record, message_dict):
        super().add_fields(log_data, record, message_dict)
        # In the worker, the task the line was written in (Celery's own TaskFormatter adds this to plain lines).
        from celery._state import get_current_task

        task = get_current_task()
        if task is not None and task.request.id:
            log_data["task_id"] = task.request.id
            log_data["task_name"] = task.name


def use_json_formatter(logger: logging.Logger) -> None:
    """Give every handler of `logger` the JSON formatter (Celery sets up its worker's handlers itself)."""
    for handler in logger.handlers:
        handler.setFormatter(ValleyJsonFormatter())
