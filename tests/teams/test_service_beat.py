"""The overdue check of the service system on a real Celery worker and Celery beat (issue 16): beat, on a short
schedule (SERVICE_OVERDUE_CHECK_SECONDS), queues teams.tasks.flag_overdue_service_requests every second; the
worker flags the overdue request and mails its line's lead once, however many runs follow."""

import datetime
import email
import re
import time

import pytest
from django.urls import reverse
from django.utils import timezone

from teams import service_requests as services
from teams.service_models import ServiceRequest
from tests.conftest import wait_for
from valley.models import AuditEntry

pytestmark = [pytest.mark.postgres, pytest.mark.redis]

LEAD = "finance-lead@example.cn"


def _mails(mail_dir) -> list[tuple[email.message.Message, str]]:
    """Each mail the worker wrote: (its headers, its text as written)."""
    found = []
    for path in mail_dir.iterdir():
        for text in path.read_text().split("-" * 79):
            if text.strip():
                found.append((email.message_from_string(text.strip()), text))
    return found


def _mails_to_lead(mail_dir, request) -> list[str]:
    link = reverse("teams:service_request_detail", args=[request.pk])
    return [text for message, text in _mails(mail_dir) if LEAD in message["To"] and link in text]


def _overdue_mails_to_lead(mail_dir, request) -> list[str]:
    return [text for text in _mails_to_lead(mail_dir, request) if "was due on" in text]


def _runs(worker) -> int:
    pattern = r"teams\.tasks\.flag_overdue_service_requests\[[^\]]+\] succeeded"
    return len(re.findall(pattern, worker.log_path.read_text()))


def test_a_real_worker_and_beat_flag_an_overdue_request_and_mail_the_lead_exactly_once(
    celery_worker_process, start_celery_beat, mail_dir, submit, resident, finance_line, finance_lead, finance_staff
):
    late = submit(resident, finance_line, subject="融资对接（逾期）")
    services.service_request_accept(request=late, by=finance_staff, handler=finance_staff)
    services.service_request_start(request=late, by=finance_staff)
    on_time = submit(resident, finance_line, subject="按时")
    today = timezone.localdate()
    ServiceRequest.objects.filter(pk=late.pk).update(
        submitted_on=today - datetime.timedelta(days=12), due_on=today - datetime.timedelta(days=2)
    )

    def flagged_at():
        return ServiceRequest.objects.values_list("overdue_notified_at", flat=True).get(pk=late.pk)

    start_celery_beat(SERVICE_OVERDUE_CHECK_SECONDS=1)
    first = wait_for(flagged_at, timeout=90, what="the worker to flag the overdue request")
    wait_for(lambda: _overdue_mails_to_lead(mail_dir, late), timeout=60, what="the lead's mail")
    # Beat keeps queuing the check every second: let it run several more times, then give any mail time to arrive.
    runs = _runs(celery_worker_process)
    wait_for(lambda: _runs(celery_worker_process) >= runs + 4, timeout=60, what="beat to run the check again")
    time.sleep(3)

    (mail,) = _overdue_mails_to_lead(mail_dir, late)
    assert "融资对接（逾期）" in mail
    assert flagged_at() == first, "flagged once: the later runs left the flag as it was"
    overdue_entries = AuditEntry.objects.filter(action="teams.service_request.overdue", object_id=str(late.pk))
    assert overdue_entries.count() == 1
    late.refresh_from_db()
    assert late.state == ServiceRequest.State.IN_PROGRESS  # flagged, not moved
    assert ServiceRequest.objects.get(pk=on_time.pk).overdue_notified_at is None
    assert _mails_to_lead(mail_dir, on_time) == []
