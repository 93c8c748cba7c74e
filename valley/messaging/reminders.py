"""The one reminder mechanism: reminders before a due date, on the day and weekly while overdue, each sent
once however often the schedule runs (DOMAIN.md "After the grant": fund-use reports; the quarterly company
reports and the service requests use it too).

- `reminder_due(due_on=, today=)` says which reminder is due today: "before_14" and "before_3" from the
  14th and 3rd working day before the due date (valley.core.calendar), "due" on the day, "overdue_1",
  "overdue_2" … every 7 calendar days after it. Only the latest whose day has come: a schedule that missed
  days sends the one that is due now, never a backlog of older ones.
- `reminder_send(...)` records the reminder (valley.models.ReminderSent) and queues its mail through the
  outbox in one transaction. The row's unique constraint makes it go out once: a rerun, two beats at once,
  or a rerun after a broker outage (the outbox still holds the first mail) insert nothing and queue nothing.
- `send_due_reminders(subjects, today=, compose=)` runs both over a list of subjects (model instances with a
  due date), for an app's scheduled task; the app says who is told what in `compose`.
"""

import datetime
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from operator import attrgetter
from typing import NamedTuple, TypeVar

from django.db import IntegrityError, transaction

from valley.core.calendar import CalendarWindow, add_working_days
from valley.messaging.mail import queue_mail
from valley.models import ReminderSent

BEFORE_WORKING_DAYS = (14, 3)
OVERDUE_EVERY_DAYS = 7
DUE = "due"
BEFORE = "before_"
OVERDUE = "overdue_"

T = TypeVar("T")


def reminder_due(
    *,
    due_on: datetime.date,
    today: datetime.date,
    before: Iterable[int] = BEFORE_WORKING_DAYS,
    overdue_every: int = OVERDUE_EVERY_DAYS,
    calendar: CalendarWindow | None = None,
) -> str | None:
    """The kind of the reminder due on `today` for something due on `due_on`, or None (too early).

    The latest reminder whose day has come: "overdue_N" once N × `overdue_every` calendar days have passed
    since the due date, "due" from the due date, "before_D" from the D-th working day before it (for each D
    of `before`). One query for the calendar before the due date, none after it or with `calendar`."""
    if today >= due_on:
        weeks = (today - due_on).days // overdue_every
        return f"{OVERDUE}{weeks}" if weeks else DUE
    days_before = sorted(before)
    if calendar is None:
        calendar = CalendarWindow(_first_reminder_day_at_the_earliest(due_on, days_before), due_on)
    for days in days_before:  # the nearest to the due date first: the latest that has come
        if today >= calendar.subtract_working_days(due_on, days):
            return f"{BEFORE}{days}"
    return None


def _first_reminder_day_at_the_earliest(due_on: datetime.date, days_before: list[int]) -> datetime.date:
    # As valley.core.calendar reads ahead: weekends plus the longest holiday; a window too short reads more.
    return due_on - datetime.timedelta(days=max(days_before, default=0) * 7 // 5 + 21)


def reminder_horizon(*, today: datetime.date, before: Iterable[int] = BEFORE_WORKING_DAYS) -> datetime.date:
    """The last due date that can have a reminder due on `today`: anything due later has more than the
    earliest reminder's working days still ahead. A selector filters on it so that a run reads only the
    subjects it may remind. One query."""
    return add_working_days(today, max(before))


class ReminderMail(NamedTuple):
    to: list[str] | str
    subject: str
    body: str


@dataclass(frozen=True)
class Reminder:
    """A reminder going out now, as `compose` sees it."""

    kind: str
    due_on: datetime.date
    today: datetime.date
    sent_before: frozenset[str]  # the kinds that went out earlier for the same subject
    calendar: CalendarWindow  # read once for the run: more working-day questions cost no query

    @property
    def is_overdue(self) -> bool:
        return self.kind.startswith(OVERDUE)

    @property
    def is_first_overdue(self) -> bool:
        """The first overdue reminder that goes out for the subject (overdue_1, or a later one when the
        schedule was not running a week after the due date)."""
        return self.is_overdue and not any(kind.startswith(OVERDUE) for kind in self.sent_before)

    @property
    def working_days_late(self) -> int:
        return self.calendar.working_days_between(self.due_on, self.today)

    @property
    def working_days_left(self) -> int:
        """Working days after today up to and including the due date (0 on or after it)."""
        return self.calendar.working_days_between(self.today, self.due_on)


def reminder_send(
    *,
    subject_type: str,
    subject_id,
    kind: str,
    due_on: datetime.date,
    mails: Callable[[], Iterable[ReminderMail]],
) -> bool:
    """Record that reminder `kind` of the subject goes out and queue its mail (`mails()`, called only then)
    through the outbox, in one transaction. False, with nothing queued, when it was recorded before.

    Two runs at once: the second's insert waits for the first's transaction and then violates the unique
    constraint, so it sends nothing; had the first rolled back, the second sends it."""
    with transaction.atomic():
        try:
            with transaction.atomic():  # a savepoint: a refused insert leaves the caller's transaction usable
                ReminderSent.objects.create(
                    subject_type=subject_type, subject_id=str(subject_id), kind=kind, due_on=due_on
                )
        except IntegrityError:
            return False
        for mail in mails():
            queue_mail(to=mail.to, subject=mail.subject, body=mail.body)
    return True


def reminders_sent(*, subject_type: str, subject_ids: Iterable) -> dict[str, frozenset[str]]:
    """{subject id (as text): the kinds of reminder that went out for it}, one query."""
    sent: dict[str, set[str]] = {}
    rows = ReminderSent.objects.filter(subject_type=subject_type, subject_id__in=[str(pk) for pk in subject_ids])
    for subject_id, kind in rows.values_list("subject_id", "kind"):
        sent.setdefault(subject_id, set()).add(kind)
    return {subject_id: frozenset(kinds) for subject_id, kinds in sent.items()}


def send_due_reminders(
    subjects: Iterable[T],
    *,
    today: datetime.date,
    compose: Callable[[T, Reminder], Iterable[ReminderMail]],
    due_on: Callable[[T], datetime.date] = attrgetter("due_on"),
    before: Iterable[int] = BEFORE_WORKING_DAYS,
    overdue_every: int = OVERDUE_EVERY_DAYS,
) -> list[tuple[T, str]]:
    """Send each subject's reminder due today that has not gone out; returns (subject, kind) for each sent.

    `subjects` are instances of one model, each with a due date (`due_on(subject)`), read by the caller with
    what `compose` needs; `compose(subject, reminder)` gives the mails, called only for a reminder that goes
    out, in its transaction (one per reminder, so one failing leaves the others sent). Queries: the
    calendar and the reminders already sent, one each; then per reminder sent its row, what `compose`
    reads, and an outbox row per mail."""
    subjects = list(subjects)
    if not subjects:
        return []
    days_before = sorted(before)
    subject_type = subjects[0]._meta.label_lower
    dates = [due_on(subject) for subject in subjects]
    calendar = CalendarWindow(
        min(_first_reminder_day_at_the_earliest(min(dates), days_before), today), max(max(dates), today)
    )
    sent = reminders_sent(subject_type=subject_type, subject_ids=[subject.pk for subject in subjects])
    done = []
    for subject, subject_due_on in zip(subjects, dates, strict=True):
        kind = reminder_due(
            due_on=subject_due_on, today=today, before=days_before, overdue_every=overdue_every, calendar=calendar
        )
        sent_before = sent.get(str(subject.pk), frozenset())
        if kind is None or kind in sent_before:
            continue
        reminder = Reminder(kind=kind, due_on=subject_due_on, today=today, sent_before=sent_before, calendar=calendar)
        if reminder_send(
            subject_type=subject_type,
            subject_id=subject.pk,
            kind=kind,
            due_on=subject_due_on,
            mails=lambda subject=subject, reminder=reminder: compose(subject, reminder),
        ):
            done.append((subject, kind))
    return done
