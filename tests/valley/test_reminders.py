"""The one reminder mechanism (valley/messaging/reminders.py): which reminder is due, and each sent once.

The schedule on the 2026 calendar around National Day: for a report due on Monday 12 October 2026 the 14th
working day before is Wednesday 16 September (back over the holiday, Mid-Autumn and the worked Sunday
20 September), the 3rd is Thursday 8 October (10 October, a Saturday, is worked). Weekdays alone would give
22 September and 7 October, in the holiday.
"""

import datetime

import pytest
from django.db import transaction

from tests.factories import SubVenueFactory
from valley.core import calendar
from valley.messaging import reminders
from valley.messaging.mail import MAIL_TASK
from valley.messaging.reminders import ReminderMail, reminder_due, reminder_send, send_due_reminders
from valley.models import CalendarDay, OutboxMessage, ReminderSent

D = datetime.date
DUE = D(2026, 10, 12)


@pytest.fixture
def calendar_2026(db):
    CalendarDay.objects.bulk_create(calendar.calendar_2026_days())


@pytest.mark.parametrize(
    ("today", "kind"),
    [
        (D(2026, 9, 1), None),
        (D(2026, 9, 15), None),
        (D(2026, 9, 16), "before_14"),
        (D(2026, 10, 7), "before_14"),  # the last day of the holiday
        (D(2026, 10, 8), "before_3"),
        (D(2026, 10, 11), "before_3"),
        (D(2026, 10, 12), "due"),
        (D(2026, 10, 18), "due"),
        (D(2026, 10, 19), "overdue_1"),  # a week after the due date
        (D(2026, 10, 25), "overdue_1"),
        (D(2026, 10, 26), "overdue_2"),
        (D(2026, 12, 3), "overdue_7"),
    ],
)
def test_the_reminder_due_on_a_day(calendar_2026, today, kind):
    assert reminder_due(due_on=DUE, today=today) == kind


def test_weekdays_alone_would_remind_on_the_wrong_days(db):
    assert reminder_due(due_on=DUE, today=D(2026, 9, 21)) is None  # 16 September, with the calendar
    assert reminder_due(due_on=DUE, today=D(2026, 10, 7)) == "before_3"  # 8 October, with the calendar


def test_a_due_date_on_a_holiday_is_reminded_on_the_day_and_counted_back_from_it(calendar_2026):
    due = D(2026, 10, 4)  # Sunday, National Day holiday
    assert reminder_due(due_on=due, today=D(2026, 9, 27)) == "before_14"
    assert reminder_due(due_on=due, today=D(2026, 9, 28)) == "before_3"  # 28, 29, 30 September
    assert reminder_due(due_on=due, today=due) == "due"
    assert reminder_due(due_on=due, today=D(2026, 10, 11)) == "overdue_1"


def test_the_schedule_asks_the_calendar_once_and_not_at_all_after_the_due_date(
    calendar_2026, django_assert_num_queries
):
    with django_assert_num_queries(1):
        assert reminder_due(due_on=DUE, today=D(2026, 10, 8)) == "before_3"
    with django_assert_num_queries(0):
        assert reminder_due(due_on=DUE, today=D(2026, 10, 20)) == "overdue_1"


def _one_mail(to="team@example.cn"):
    return lambda: [ReminderMail(to=to, subject="资金使用情况报告提醒", body="请按期提交。")]


def test_a_reminder_is_recorded_with_its_mail_and_a_rerun_sends_nothing(db, django_capture_on_commit_callbacks):
    venue = SubVenueFactory()
    with django_capture_on_commit_callbacks() as callbacks:
        assert reminder_send(
            subject_type="valley.subvenue", subject_id=venue.pk, kind="due", due_on=DUE, mails=_one_mail()
        )
    assert len(callbacks) == 1  # the outbox publishes after commit
    for _ in range(3):
        assert not reminder_send(
            subject_type="valley.subvenue", subject_id=venue.pk, kind="due", due_on=DUE, mails=_one_mail()
        )
    row = ReminderSent.objects.get()
    assert (row.subject_type, row.subject_id, row.kind, row.due_on) == ("valley.subvenue", str(venue.pk), "due", DUE)
    mail = OutboxMessage.objects.get(task=MAIL_TASK)
    assert (mail.kwargs["recipients"], mail.kwargs["subject"]) == (["team@example.cn"], "资金使用情况报告提醒")


def test_a_refused_reminder_leaves_the_callers_transaction_usable(db):
    with transaction.atomic():
        assert reminder_send(subject_type="x.y", subject_id=1, kind="due", due_on=DUE, mails=list)
        assert not reminder_send(subject_type="x.y", subject_id=1, kind="due", due_on=DUE, mails=list)
        assert ReminderSent.objects.count() == 1  # the transaction still answers queries


def test_mail_that_fails_to_queue_records_no_reminder(db):
    def broken():
        raise RuntimeError("composing failed")

    with pytest.raises(RuntimeError):
        reminder_send(subject_type="x.y", subject_id=1, kind="due", due_on=DUE, mails=broken)
    assert not ReminderSent.objects.exists()  # so the next run tries again


def test_a_daily_schedule_sends_each_reminder_once_and_a_missed_stretch_only_the_latest(calendar_2026):
    """Two sub-venues stand in for any subject with a due date: one reminded every day (twice a day), the
    other only when the schedule ran again after missing the days from 16 September to 20 October."""
    daily, missed = SubVenueFactory(), SubVenueFactory()
    due = {daily.pk: DUE, missed.pk: DUE}
    sent = []
    day = D(2026, 9, 1)
    while day <= D(2026, 11, 10):
        subjects = [daily] if D(2026, 9, 16) <= day <= D(2026, 10, 20) else [daily, missed]
        for _run in range(2):
            for subject, kind in send_due_reminders(
                subjects, today=day, compose=lambda s, r: [], due_on=lambda s: due[s.pk]
            ):
                sent.append((subject.pk, kind, day))
        day += datetime.timedelta(days=1)

    assert [(kind, day) for pk, kind, day in sent if pk == daily.pk] == [
        ("before_14", D(2026, 9, 16)),
        ("before_3", D(2026, 10, 8)),
        ("due", D(2026, 10, 12)),
        ("overdue_1", D(2026, 10, 19)),
        ("overdue_2", D(2026, 10, 26)),
        ("overdue_3", D(2026, 11, 2)),
        ("overdue_4", D(2026, 11, 9)),
    ]
    # Not the before_14, before_3, due and overdue_1 it missed: only the one due when it ran again.
    assert [(kind, day) for pk, kind, day in sent if pk == missed.pk] == [
        ("overdue_1", D(2026, 10, 21)),
        ("overdue_2", D(2026, 10, 26)),
        ("overdue_3", D(2026, 11, 2)),
        ("overdue_4", D(2026, 11, 9)),
    ]


def test_compose_sees_the_reminder_and_its_mail_goes_to_the_outbox(calendar_2026):
    venue = SubVenueFactory()
    seen = []

    def compose(subject, reminder):
        seen.append((reminder.kind, reminder.is_first_overdue, reminder.working_days_late, reminder.working_days_left))
        return [ReminderMail(to=["a@example.cn", ""], subject=f"{reminder.kind}", body="…")]

    def run(today):
        return send_due_reminders([venue], today=today, compose=compose, due_on=lambda s: DUE)

    run(D(2026, 10, 8))
    run(D(2026, 10, 12))
    run(D(2026, 10, 26))  # the first overdue reminder sent is overdue_2: the schedule did not run on the 19th
    run(D(2026, 11, 2))
    assert seen == [
        ("before_3", False, 0, 3),  # 9, 10 (Saturday, worked) and 12 October
        ("due", False, 0, 0),
        ("overdue_2", True, 10, 0),
        ("overdue_3", False, 15, 0),
    ]
    assert [m.kwargs["subject"] for m in OutboxMessage.objects.order_by("pk")] == [
        "before_3",
        "due",
        "overdue_2",
        "overdue_3",
    ]
    assert OutboxMessage.objects.filter(kwargs__recipients=["a@example.cn"]).count() == 4  # blanks dropped


def test_a_run_reads_the_calendar_and_what_was_sent_once_for_any_number_of_subjects(
    calendar_2026, django_assert_num_queries
):
    venues = SubVenueFactory.create_batch(6)
    due = {venue.pk: DUE + datetime.timedelta(days=n * 30) for n, venue in enumerate(venues)}
    send_due_reminders(venues, today=D(2026, 10, 12), compose=lambda s, r: [], due_on=lambda s: due[s.pk])
    # Everything due has gone out: the next run is the calendar and the reminders already sent, nothing more.
    with django_assert_num_queries(2):
        assert (
            send_due_reminders(venues, today=D(2026, 10, 12), compose=lambda s, r: [], due_on=lambda s: due[s.pk]) == []
        )


def test_the_horizon_is_the_last_due_date_with_a_reminder_today(calendar_2026):
    today = D(2026, 9, 16)
    horizon = reminders.reminder_horizon(today=today)
    assert reminder_due(due_on=horizon, today=today) == "before_14"
    assert reminder_due(due_on=horizon + datetime.timedelta(days=1), today=today) is None
