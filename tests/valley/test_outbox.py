"""The transactional outbox (valley/outbox.py), the catch-up of missed checks, and the 503 for a lost database.

The broker outages themselves are in tests/faults/ (real Redis stopped, real worker)."""

import datetime
import os
import subprocess
import sys
from contextlib import contextmanager

import pytest
from django.db import OperationalError, transaction
from django.test import RequestFactory
from django.utils import timezone

from tests.conftest import ROOT
from tests.factories import FundFactory, InvestmentFactory
from tolerance.models import ComplianceReport
from valley.messaging import outbox
from valley.messaging.mail import MAIL_TASK, queue_mail
from valley.messaging.tasks import send_mail_task
from valley.models import OutboxMessage
from valley.web.middleware import DatabaseUnavailableMiddleware


@contextmanager
def eager_tasks(settings):
    from valley.celery import app

    settings.CELERY_TASK_ALWAYS_EAGER = True
    app.conf.task_always_eager = True
    try:
        yield
    finally:
        app.conf.task_always_eager = False


def test_the_mail_is_a_row_written_with_the_change_and_none_for_a_rollback(db, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks() as callbacks, pytest.raises(RuntimeError), transaction.atomic():
        queue_mail(to="team@example.cn", subject="审批结果", body="已获批准。")
        raise RuntimeError("rolled back")
    assert not OutboxMessage.objects.exists() and callbacks == []

    with django_capture_on_commit_callbacks() as callbacks, transaction.atomic():
        queue_mail(to="team@example.cn", subject="审批结果", body="已获批准。")
    message = OutboxMessage.objects.get()
    assert (message.task, message.kwargs["recipients"], message.published_at) == (MAIL_TASK, ["team@example.cn"], None)
    assert len(callbacks) == 1  # publishing waits for the commit


def test_a_mail_delivered_twice_is_sent_once(db, mailoutbox):
    message = outbox.enqueue(MAIL_TASK, recipients=["team@example.cn"], subject="审批结果", body="已获批准。")
    for _ in range(2):  # at-least-once delivery: the same message, twice
        send_mail_task.apply(kwargs=message.kwargs, task_id=str(message.task_id))
    message.refresh_from_db()
    assert len(mailoutbox) == 1 and message.done_at is not None


def test_a_mail_sent_without_the_outbox_is_simply_sent(db, mailoutbox):
    send_mail_task.apply(kwargs={"recipients": ["a@example.cn"], "subject": "s", "body": "b"})
    send_mail_task.apply(kwargs={"recipients": ["a@example.cn"], "subject": "s", "body": "b"})
    assert len(mailoutbox) == 2


def test_the_sweeper_publishes_what_waited_and_forgets_old_rows(db, settings, mailoutbox):
    old = timezone.now() - datetime.timedelta(minutes=5)
    waiting = OutboxMessage.objects.create(
        task=MAIL_TASK, kwargs={"recipients": ["late@example.cn"], "subject": "s", "body": "b"}, created_at=old
    )
    fresh = OutboxMessage.objects.create(task=MAIL_TASK, kwargs={"recipients": ["x@example.cn"], "subject": "s"})
    ancient = OutboxMessage.objects.create(
        task=MAIL_TASK, kwargs={}, published_at=timezone.now() - datetime.timedelta(days=8)
    )
    with eager_tasks(settings):
        assert outbox.sweep() == 1
    waiting.refresh_from_db()
    fresh.refresh_from_db()
    assert waiting.published_at and waiting.done_at and waiting.attempts == 1
    assert fresh.published_at is None  # the after-commit publisher's, for OUTBOX_SWEEP_GRACE_SECONDS
    assert not OutboxMessage.objects.filter(pk=ancient.pk).exists()
    assert [mail.to for mail in mailoutbox] == [["late@example.cn"]]


def test_the_catch_up_checks_only_funds_without_todays_report(db, settings, django_capture_on_commit_callbacks):
    from tolerance.services import compliance_check_run
    from tolerance.tasks import catch_up_compliance_checks

    settings.TOLERANCE_CHECK_TIME = (0, 0)
    checked, missed = FundFactory(), FundFactory()
    for fund in (checked, missed):
        InvestmentFactory(fund=fund)
    earlier = compliance_check_run(fund=checked, as_of=timezone.localdate())
    with eager_tasks(settings), django_capture_on_commit_callbacks(execute=True):
        assert catch_up_compliance_checks() == 1
    assert ComplianceReport.objects.filter(fund=missed, as_of=timezone.localdate()).count() == 1
    assert ComplianceReport.objects.get(fund=checked).computed_at == earlier.computed_at  # not redone
    with django_capture_on_commit_callbacks(execute=True):
        assert catch_up_compliance_checks() == 0


def test_a_bad_check_time_stops_start_up():
    result = subprocess.run(
        [sys.executable, "manage.py", "check"],
        cwd=ROOT,
        env={**os.environ, "TOLERANCE_CHECK_TIME": "1.30"},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode != 0 and "TOLERANCE_CHECK_TIME" in result.stderr and "HH:MM" in result.stderr


@pytest.mark.parametrize(
    ("path", "accept", "expected"),
    [
        ("/", "text/html", "The database is unavailable"),
        ("/api/applications/", "*/*", '{"detail": "The database is unavailable'),
    ],
)
def test_a_lost_database_answers_503_saying_so(path, accept, expected):
    request = RequestFactory().get(path, HTTP_ACCEPT=accept)
    from django.utils import translation

    with translation.override("en"):
        response = DatabaseUnavailableMiddleware(lambda r: None).process_exception(
            request, OperationalError("connection refused")
        )
    assert response.status_code == 503 and response["Retry-After"] == "60"
    assert expected in response.content.decode() and "Traceback" not in response.content.decode()


def test_other_errors_are_left_to_the_500_page():
    request = RequestFactory().get("/")
    assert DatabaseUnavailableMiddleware(lambda r: None).process_exception(request, ValueError("x")) is None
