"""Reminders of fund-use reports (funding/reminders.py, on valley/messaging/reminders.py): 14 and 3 working
days before the due date, on the day, weekly while overdue, each once; the finance officers hear of an
overdue report once. Then how late a report is, for the pages (funding.selectors.working_days_late).

The day is Monday 12 October 2026, after National Day (1–7 October) and its worked Saturday 10 October.
"""

import datetime
import email
import os
import re
import subprocess
import sys
import threading
import time

import pytest
from django.db import connection
from django.urls import reverse
from django.utils import timezone, translation
from kombu.exceptions import OperationalError

from funding import post_award, reminders, selectors, tasks
from funding.demo import file_report
from funding.models import Application, FundUseReport
from tests.conftest import ROOT, wait_for
from tests.valley.test_outbox import eager_tasks
from valley.core import calendar
from valley.messaging import outbox
from valley.messaging import reminders as mechanism
from valley.messaging.mail import MAIL_TASK
from valley.models import CalendarDay, OutboxMessage, ReminderSent

D = datetime.date
TODAY = D(2026, 10, 12)
R = FundUseReport.State


@pytest.fixture
def calendar_2026(db):
    CalendarDay.objects.bulk_create(calendar.calendar_2026_days())


@pytest.fixture
def report_due(application_in):
    """report_due(day) makes a grant in disbursement whose open fund-use report (on instalment 1) is due on
    `day`; its entity's contact address is team<application id>@example.cn."""

    def make(day: datetime.date, state: str = Application.State.DISBURSEMENT) -> FundUseReport:
        app = application_in(state)
        app.entity.contact_email = f"team{app.pk}@example.cn"
        app.entity.save(update_fields=["contact_email"])
        report = app.fund_use_reports.get()
        FundUseReport.objects.filter(pk=report.pk).update(due_on=day)
        report.refresh_from_db()
        return report

    return make


def reminder_mails(report=None) -> list[OutboxMessage]:
    """The reminder mails queued (about `report`): the mails that link to a report page."""
    link = reverse("funding:report", args=[report.pk]) if report else "/funding/reports/"
    return [m for m in OutboxMessage.objects.filter(task=MAIL_TASK).order_by("pk") if link in m.kwargs["body"]]


def test_each_open_report_gets_the_reminder_due_today_and_a_rerun_sends_nothing(
    calendar_2026, report_due, people, make_user
):
    due_today = report_due(TODAY)
    in_3 = report_due(D(2026, 10, 15))  # 3rd working day before it: 12 October
    in_14 = report_due(D(2026, 10, 30))  # 14th working day before it: 12 October
    overdue = report_due(D(2026, 10, 5))  # due in the holiday, a week ago
    too_early = report_due(D(2026, 11, 2))  # its 14th working day before is 13 October
    accepted = report_due(D(2026, 10, 5))
    file_report(accepted.application, people, accept=True)
    recovering = report_due(D(2026, 10, 5))
    post_award.recovery_open(
        application=recovering.application, by=people["finance"], reason="misuse", explanation="挪用", amount="1000"
    )
    OutboxMessage.objects.all().delete()  # the mail of the steps above

    sent = reminders.report_reminders_send(today=TODAY)

    assert sorted(sent) == sorted(
        [(due_today.pk, "due"), (in_3.pk, "before_3"), (in_14.pk, "before_14"), (overdue.pk, "overdue_1")]
    )
    for report in (too_early, accepted, recovering):
        assert reminder_mails(report) == []
    assert [m.kwargs["recipients"] for m in reminder_mails(due_today)] == [
        ["applicant-a@example.cn", f"team{due_today.application_id}@example.cn"]
    ]
    # The overdue report: the applicant, and once the finance officers.
    assert [m.kwargs["recipients"] for m in reminder_mails(overdue)] == [
        ["applicant-a@example.cn", f"team{overdue.application_id}@example.cn"],
        ["finance@example.cn"],
    ]
    queued = OutboxMessage.objects.count()

    for _ in range(3):
        assert reminders.report_reminders_send(today=TODAY) == []
    assert OutboxMessage.objects.count() == queued == 5
    assert ReminderSent.objects.filter(subject_type="funding.fundusereport").count() == 4


def test_weekly_while_overdue_and_the_finance_officers_only_with_the_first(calendar_2026, report_due, people):
    report = report_due(D(2026, 10, 5))
    for day in (D(2026, 10, 12), D(2026, 10, 13), D(2026, 10, 19), D(2026, 10, 19), D(2026, 10, 26)):
        reminders.report_reminders_send(today=day)
    kinds = ReminderSent.objects.filter(subject_id=str(report.pk)).order_by("sent_at").values_list("kind", flat=True)
    assert list(kinds) == ["overdue_1", "overdue_2", "overdue_3"]
    recipients = [m.kwargs["recipients"] for m in reminder_mails(report)]
    assert recipients.count(["finance@example.cn"]) == 1
    assert len(recipients) == 4

    # Accepted at last: no more reminders.
    file_report(report.application, people, accept=True)
    assert reminders.report_reminders_send(today=D(2026, 11, 2)) == []


def test_a_report_first_seen_late_gets_only_the_latest_reminder(calendar_2026, report_due):
    report = report_due(D(2026, 9, 14))  # the schedule was not running for weeks
    assert reminders.report_reminders_send(today=TODAY) == [(report.pk, "overdue_4")]
    # The first overdue reminder that goes out tells the finance officers, whichever week it is.
    assert ["finance@example.cn"] in [m.kwargs["recipients"] for m in reminder_mails(report)]


def test_the_mail_says_when_the_report_is_due_and_how_late_it_is_in_both_languages(calendar_2026, report_due):
    report = report_due(D(2026, 9, 30))
    reminders.report_reminders_send(today=TODAY)
    applicant, staff = reminder_mails(report)
    chinese, english = applicant.kwargs["body"].split("\n----\n")
    url = f"http://127.0.0.1:8000/funding/reports/{report.pk}/"
    # 30 September to 12 October: 8, 9, 10 (Saturday, worked) and 12 October.
    assert "was due on Sept. 30, 2026 and has not been accepted yet." in english
    assert "It is 4 working days late." in english and "State: to be filed." in english
    assert "Please file it in the portal." in english and url in english
    assert "2026年9月30日" in chinese and report.application.entity.name_zh in chinese and url in chinese
    assert "The applicant has been reminded; you are told once." in staff.kwargs["body"]
    assert str(report.application_id) in staff.kwargs["subject"]

    before = report_due(D(2026, 10, 15))
    reminders.report_reminders_send(today=TODAY)
    (mail,) = reminder_mails(before)
    assert "is due on Oct. 15, 2026." in mail.kwargs["body"]
    assert "That is 3 working days from today." in mail.kwargs["body"]


def test_a_submitted_report_waiting_for_review_is_not_reminded_but_a_returned_one_is(calendar_2026, report_due, people):
    report = report_due(D(2026, 10, 5))
    file_report(report.application, people)  # submitted: it waits on staff now, not on the applicant
    OutboxMessage.objects.all().delete()
    reminders.report_reminders_send(today=TODAY)
    assert reminder_mails(report) == []
    post_award.report_return(report=FundUseReport.objects.get(pk=report.pk), by=people["finance"], comment="补充发票")
    OutboxMessage.objects.all().delete()
    reminders.report_reminders_send(today=TODAY)
    body = reminder_mails(report)[0].kwargs["body"]
    assert "working days late" in body
    assert "waiting for review" not in body


def test_a_broker_outage_keeps_the_mail_and_a_rerun_does_not_add_a_second(
    calendar_2026, report_due, monkeypatch, settings, mailoutbox, django_capture_on_commit_callbacks
):
    report = report_due(TODAY)
    OutboxMessage.objects.all().delete()

    def broker_down(message):
        raise OperationalError("Error 111 connecting to 127.0.0.1:6379. Connection refused.")

    monkeypatch.setattr(outbox, "_send", broker_down)
    for _ in range(3):  # the schedule runs again while Redis is down
        with django_capture_on_commit_callbacks(execute=True):
            reminders.report_reminders_send(today=TODAY)
    (waiting,) = OutboxMessage.objects.all()
    assert waiting.published_at is None and "Connection refused" in waiting.last_error

    monkeypatch.undo()  # Redis is back: the sweeper sends what waited, once
    OutboxMessage.objects.filter(pk=waiting.pk).update(created_at=timezone.now() - datetime.timedelta(minutes=1))
    with eager_tasks(settings):
        assert outbox.sweep() == 1
        with django_capture_on_commit_callbacks(execute=True):
            assert reminders.report_reminders_send(today=TODAY) == []
        assert outbox.sweep() == 0
    assert [m.to for m in mailoutbox] == [["applicant-a@example.cn", f"team{report.application_id}@example.cn"]]


def test_a_run_reads_the_same_few_rows_however_many_reports_it_passes(
    calendar_2026, report_due, django_assert_num_queries
):
    def run_again_counts(count):
        for n in range(count):
            report_due(TODAY - datetime.timedelta(days=n))
        reminders.report_reminders_send(today=TODAY)
        with django_assert_num_queries(4) as captured:  # the horizon, the reports, the calendar, what was sent
            assert reminders.report_reminders_send(today=TODAY) == []
        return len(captured)

    assert run_again_counts(2) == run_again_counts(4)


def test_reports_with_no_reminder_today_cost_no_query(calendar_2026, report_due, django_assert_num_queries):
    report_due(TODAY)
    for day in (D(2026, 11, 20), D(2026, 12, 1), D(2026, 10, 14)):  # 14 October: its before_3 was on the 9th…
        report_due(day)
    ReminderSent.objects.create(
        subject_type="funding.fundusereport",
        subject_id=str(FundUseReport.objects.get(due_on=D(2026, 10, 14)).pk),
        kind="before_3",
        due_on=D(2026, 10, 14),
    )  # … and went out then
    # The four of every run, then for the one reminder: its transaction's savepoints (2 + 2), its row, its mail.
    with django_assert_num_queries(4 + 6):
        assert len(reminders.report_reminders_send(today=TODAY)) == 1


# ------------------------------------------------------------------ two runs at once (PostgreSQL)


@pytest.mark.postgres
def test_two_runs_at_once_send_each_reminder_once(transactional_db, calendar_2026, report_due, monkeypatch):
    reports = [report_due(TODAY), report_due(D(2026, 10, 15)), report_due(D(2026, 10, 5))]
    OutboxMessage.objects.all().delete()
    # Both runs read "nothing sent yet" before either has committed: only the unique constraint stands between
    # them. Each holds its transaction a moment, so the other's insert has to wait for it.
    monkeypatch.setattr(mechanism, "reminders_sent", lambda **kwargs: {})
    compose = reminders.report_reminder_mails

    def slow_compose(report, reminder):
        time.sleep(0.3)
        return compose(report, reminder)

    monkeypatch.setattr(reminders, "report_reminder_mails", slow_compose)
    barrier = threading.Barrier(2)
    results, errors = [], []

    def run():
        try:
            translation.activate("en")
            barrier.wait()
            results.append(reminders.report_reminders_send(today=TODAY))
        except Exception as error:  # noqa: BLE001 - reported below
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)

    assert errors == []
    assert sorted(results[0] + results[1]) == sorted(
        [(reports[0].pk, "due"), (reports[1].pk, "before_3"), (reports[2].pk, "overdue_1")]
    )
    assert ReminderSent.objects.count() == 3
    assert len(reminder_mails()) == 4  # three applicants, the finance officers once


# ------------------------------------------------------------------ how late a report is, for the pages


def test_working_days_late_counts_to_today_or_to_the_day_it_was_filed(calendar_2026, report_due, people):
    draft = report_due(D(2026, 9, 30))
    assert selectors.working_days_late(draft, TODAY) == 4  # 8, 9, 10 (worked Saturday), 12 October
    assert selectors.working_days_late(draft, D(2026, 10, 7)) == 0  # the holiday: not late yet
    assert selectors.working_days_late(draft, D(2026, 9, 30)) == 0

    filed = report_due(D(2026, 9, 30))
    file_report(filed.application, people)
    FundUseReport.objects.filter(pk=filed.pk).update(
        submitted_at=timezone.make_aware(datetime.datetime(2026, 10, 9, 23, 30))  # Asia/Shanghai
    )
    filed.refresh_from_db()
    assert selectors.working_days_late(filed, TODAY) == 2  # submitted on 9 October: 8 and 9
    returned = post_award.report_return(report=filed, by=people["finance"], comment="请补充合同。")
    assert selectors.working_days_late(returned, TODAY) == 4  # to be filed again: late until it is

    on_time = report_due(D(2026, 12, 31))
    file_report(on_time.application, people, accept=True)
    on_time.refresh_from_db()
    assert selectors.working_days_late(on_time, D(2027, 3, 1)) == 0


def test_a_page_of_reports_asks_the_calendar_once(calendar_2026, report_due, django_assert_num_queries):
    def page_queries(count):
        for n in range(count):
            report_due(D(2026, 9, 1) + datetime.timedelta(days=9 * n))
        with django_assert_num_queries(2) as captured:  # the page of reports, the calendar
            page = selectors.reports_with_working_days_late(FundUseReport.objects.order_by("due_on")[:20], TODAY)
        return len(captured), page

    few, page = page_queries(2)
    assert [r.working_days_late for r in page] == [
        selectors.working_days_late(r, TODAY) for r in FundUseReport.objects.order_by("due_on")
    ]
    many, page = page_queries(4)
    assert few == many and len(page) == 6
    with django_assert_num_queries(0):
        assert selectors.reports_with_working_days_late([], TODAY) == []


# ------------------------------------------------------------------ the task and its schedule


def test_beat_runs_the_task_by_its_name(settings):
    entry = settings.CELERY_BEAT_SCHEDULE["funding-report-reminders"]
    assert entry["task"] == tasks.send_report_reminders.name == "funding.tasks.send_report_reminders"
    assert entry["schedule"].hour == set(range(8, 19)) and entry["schedule"].minute == {0}


def test_the_task_sends_what_is_due_today_through_celery(report_due):
    report_due(timezone.localdate())
    assert tasks.send_report_reminders.apply().get() == 1
    assert tasks.send_report_reminders.apply().get() == 0


def _setting(env: dict) -> subprocess.CompletedProcess:
    return subprocess.run(
        [
            sys.executable,
            "manage.py",
            "shell",
            "-c",
            "from django.conf import settings; print(settings.CELERY_BEAT_SCHEDULE['funding-report-reminders'])",
        ],
        cwd=ROOT,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_funding_reminder_seconds_gives_a_short_schedule_and_a_bad_value_stops_start_up():
    assert "'schedule': 2.0" in _setting({"FUNDING_REMINDER_SECONDS": "2"}).stdout
    for raw, message in (("-1", "positive number"), ("soon", "not a whole number")):
        result = _setting({"FUNDING_REMINDER_SECONDS": raw})
        assert result.returncode != 0
        assert "FUNDING_REMINDER_SECONDS" in result.stderr and message in result.stderr


# ------------------------------------------------------------------ a real worker and beat on Redis


def _mails(mail_dir) -> list[tuple[email.message.Message, str]]:
    """Each mail the worker wrote: (its headers, its text as written)."""
    found = []
    for path in mail_dir.iterdir():
        for text in path.read_text().split("-" * 79):
            if text.strip():
                found.append((email.message_from_string(text.strip()), text))
    return found


def _runs(worker) -> int:
    return len(re.findall(r"funding\.tasks\.send_report_reminders\[[^\]]+\] succeeded", worker.log_path.read_text()))


@pytest.mark.postgres
@pytest.mark.redis
def test_a_real_worker_and_beat_send_each_reminder_exactly_once(
    celery_worker_process, start_celery_beat, mail_dir, report_due
):
    CalendarDay.objects.bulk_create(calendar.calendar_2026_days())
    today = timezone.localdate()
    kinds = {
        "due": today,
        "before_3": calendar.add_working_days(today, 3),
        "before_14": calendar.add_working_days(today, 14),
        "overdue_1": today - datetime.timedelta(days=8),
        None: calendar.add_working_days(today, 20),
    }
    reports = {kind: report_due(day) for kind, day in kinds.items()}
    for kind, day in kinds.items():
        assert mechanism.reminder_due(due_on=day, today=today) == kind
    expected = {  # (report, to whom): the applicant for each reminder, the finance officers for the overdue one
        (reports[kind].pk, f"team{reports[kind].application_id}@example.cn") for kind in kinds if kind
    } | {(reports["overdue_1"].pk, "finance@example.cn")}

    def reminders_received() -> list[tuple[int, str]]:
        received = []
        for message, text in _mails(mail_dir):
            found = re.search(r"/funding/reports/(\d+)/", text)
            if found:
                received += [(int(found.group(1)), to.strip()) for to in message["To"].split(",")]
        return [(pk, to) for pk, to in received if to.startswith("team") or to == "finance@example.cn"]

    start_celery_beat(FUNDING_REMINDER_SECONDS=1)
    wait_for(lambda: set(reminders_received()) >= expected, timeout=90, what="the worker to send the reminders")
    # Beat keeps queuing the run every second: let it run a few more times, then give any mail time to arrive.
    runs = _runs(celery_worker_process)
    wait_for(lambda: _runs(celery_worker_process) >= runs + 4, timeout=60, what="beat to run the reminders again")
    time.sleep(3)

    received = reminders_received()
    assert sorted(received) == sorted(expected), "each reminder exactly once"
    assert ReminderSent.objects.count() == 4
    assert not any(pk == reports[None].pk for pk, _to in received)
    assert not [m for m in reminder_mails() if m.published_at is None]
