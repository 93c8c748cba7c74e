"""The real services: the database the suite runs on, and a Celery worker consuming from the broker."""

import pytest
from django.db import connection

from tests.conftest import wait_for
from valley.tasks import echo


@pytest.mark.postgres
def test_the_suite_runs_on_postgresql(db):
    with connection.cursor() as cursor:
        cursor.execute("SELECT version()")
        version = cursor.fetchone()[0]
    print(f"\ndatabase vendor: {connection.vendor} ({version})")
    assert connection.vendor == "postgresql"


@pytest.mark.redis
def test_a_real_worker_finishes_a_task_sent_through_redis(celery_worker_process):
    result = echo.delay("晋创谷")
    assert result.get(timeout=60) == "晋创谷"
    wait_for(lambda: "succeeded" in celery_worker_process.log_path.read_text(), what="the worker's log line")


def test_a_real_worker_finishes_a_task_on_the_configured_broker(celery_worker_process):
    assert echo.delay("ping").get(timeout=60) == "ping"
