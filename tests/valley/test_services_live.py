"""The real services: the database the suite runs on, and a Celery worker consuming from the broker."""

import pytest
from django.db import connection

from tests.conftest import wait_for
from valley.ops.tasks import echo


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


def test_mail_is_queued_after_commit_and_sent_by_the_worker(celery_worker_process, mail_dir):
    from django.db import transaction

    from valley.messaging.mail import queue_mail

    with transaction.atomic():
        queue_mail(to="team@example.cn", subject="审批结果", body="您的申请已获批准。")
        assert not list(mail_dir.iterdir())  # nothing leaves before the commit
    sent = wait_for(lambda: list(mail_dir.iterdir()), what="the mail file")
    text = sent[0].read_text()
    assert "team@example.cn" in text


def test_mail_is_not_sent_when_the_transaction_rolls_back(db, django_capture_on_commit_callbacks):
    from django.db import transaction

    from valley.messaging.mail import queue_mail

    with django_capture_on_commit_callbacks() as callbacks:
        try:
            with transaction.atomic():
                queue_mail(to="team@example.cn", subject="x", body="y")
                raise RuntimeError("rolled back")
        except RuntimeError:
            pass
    assert callbacks == []
