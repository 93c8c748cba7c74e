"""Celery task names outlive the modules that define them: outbox rows and beat's schedule store the name.

The valley's tasks moved out of valley/tasks.py (into valley/messaging/tasks.py and valley/ops/tasks.py);
rows queued before the move name "valley.tasks.…" and must still be delivered."""

import pytest
from celery import current_app
from django.conf import settings

from tests.valley.test_outbox import eager_tasks
from valley.messaging import outbox
from valley.models import OutboxMessage

NAMES_STORED_BEFORE_THE_MOVE = [
    "valley.tasks.send_mail_task",
    "valley.tasks.outbox_sweep",
    "valley.tasks.heartbeat",
    "valley.tasks.echo",
]


@pytest.mark.parametrize("name", NAMES_STORED_BEFORE_THE_MOVE)
def test_each_old_task_name_is_still_registered(name):
    assert name in current_app.tasks


def test_every_task_in_beats_schedule_is_registered():
    current_app.loader.import_default_modules()  # what a worker does at start: autodiscover the apps' tasks
    schedule = settings.CELERY_BEAT_SCHEDULE.values()
    unknown = [entry["task"] for entry in schedule if entry["task"] not in current_app.tasks]
    assert unknown == []


def test_a_mail_queued_under_the_old_name_is_delivered(db, settings, mailoutbox):
    message = OutboxMessage.objects.create(
        task="valley.tasks.send_mail_task",
        kwargs={"recipients": ["team@example.cn"], "subject": "审批结果", "body": "已获批准。"},
    )
    with eager_tasks(settings):
        outbox.publish([message.pk])
    message.refresh_from_db()
    assert [mail.to for mail in mailoutbox] == [["team@example.cn"]]
    assert message.published_at is not None and message.done_at is not None
