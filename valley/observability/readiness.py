"""/readyz: may this process take traffic? Each dependency a page or a task needs is tried for real.

/healthz stays what it was (the database answers: the process is alive); /readyz adds the broker, the cache and
the storage, for a load balancer or an orchestrator that should hold traffic back until all of them answer.
"""

import uuid
from collections.abc import Callable

from django.core.cache import cache
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import connection


def check_database() -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")


def check_broker() -> None:
    from celery import current_app

    # connect() tries once (no back-off), within the transport's socket_connect_timeout (3 s on Redis).
    with current_app.connection_for_write() as broker:
        broker.connect()


def check_cache() -> None:
    key = f"valley:readyz:{uuid.uuid4().hex}"
    cache.set(key, "ok", timeout=10)
    if cache.get(key) != "ok":
        raise RuntimeError("the cache did not return what was just written")
    cache.delete(key)


def check_storage() -> None:
    # Written and removed, so a read-only or full volume (or revoked bucket credentials) shows as not ready.
    name = default_storage.save(f"readyz/{uuid.uuid4().hex}.txt", ContentFile(b"ok"))
    default_storage.delete(name)


CHECKS: dict[str, Callable[[], None]] = {
    "database": check_database,
    "broker": check_broker,
    "cache": check_cache,
    "storage": check_storage,
}


def run_checks() -> dict[str, str | None]:
    """{check: None when it passed, else the error's class name}. Only the class: no URL or password leaks."""
    results: dict[str, str | None] = {}
    for name, check in CHECKS.items():
        try:
            check()
        except Exception as error:  # whatever a dependency raises means "not ready", never a 500
            results[name] = type(error).__name__
        else:
            results[name] = None
    return results
