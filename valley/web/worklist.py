"""The work each signed-in person has waiting: the "my tasks" home (/my/).

The ground floor names no app above it (STYLE.md 13), so each app registers a source in its
AppConfig.ready(): `register_task_source(fn)`, where `fn(user, *, today, limit)` returns the TaskQueues that
app has for that user (the queues their roles act on, in their sub-venues; for provincial staff every queue,
marked with the role that acts; for an applicant their own records). A source runs a fixed number of queries
whatever the data (counts by one aggregate, the oldest `limit` rows by one query), so the page does too.

Ages are counted here, once for every row of every source: working days from the one calendar
(valley.core.calendar, one query for the span) and calendar days.
"""

import datetime
from collections.abc import Callable
from dataclasses import dataclass, field

from django.utils import timezone

from valley.core import roles
from valley.core.calendar import CalendarWindow

ITEMS_PER_QUEUE = 8


@dataclass
class TaskItem:
    """One thing that waits: what it is, where to act on it, since when it waits and by when it is due."""

    label: str
    url: str
    waiting_since: datetime.date | None = None
    due_on: datetime.date | None = None
    state: str = ""  # the state's words in the reader's language, when the row shows one
    lead: str = ""  # who leads it (the assignee), when someone does
    note: str = ""  # what is wanted next, in words ("report due", "residency needed")
    # Set by with_ages():
    working_days: int | None = None
    days: int | None = None
    overdue: bool = False


@dataclass
class TaskQueue:
    """A queue as the home shows it: its label, how many wait in it, the oldest few, and its full list."""

    key: str
    label: str
    role: str  # the role code that acts on it (roles.APPLICANT for an applicant's own records)
    count: int
    items: list[TaskItem] = field(default_factory=list)
    url: str = ""
    acts: bool = True  # False: shown to provincial staff so they see who acts, though they do not

    @property
    def role_label(self) -> str:
        role = roles.ROLES.get(self.role)
        return str(role.label) if role else ""


TaskSource = Callable[..., list[TaskQueue]]
_sources: list[TaskSource] = []


def register_task_source(source: TaskSource) -> None:
    """Add an app's source of queues (called from AppConfig.ready; registering the same one twice is a no-op)."""
    if source not in _sources:
        _sources.append(source)


def acts_on(user, role: str) -> bool | None:
    """Whether `user` sees a queue `role` works on, and acts on it: True when they hold the role (or are a
    superuser), False when they only oversee it (provincial staff see every staff queue, with the role that
    acts), None when the queue is not theirs at all. No query beyond the user's roles."""
    if roles.has_role(user, role):
        return True
    if roles.has_role(user, roles.PROVINCIAL_STAFF):
        return False
    return None


def with_ages(queues: list[TaskQueue], today: datetime.date) -> list[TaskQueue]:
    """Set each row's age (working days and days since it began to wait) and whether it is past due. One
    calendar query for all the rows, none when no row has a date."""
    items = [item for queue in queues for item in queue.items if item.waiting_since]
    window = CalendarWindow(min(item.waiting_since for item in items), today) if items else None
    for queue in queues:
        for item in queue.items:
            if item.waiting_since:
                item.working_days = window.working_days_between(item.waiting_since, today)
                item.days = max((today - item.waiting_since).days, 0)
            item.overdue = item.due_on is not None and item.due_on < today
    return queues


def queues_for(user, *, today: datetime.date | None = None, limit: int = ITEMS_PER_QUEUE) -> list[TaskQueue]:
    """Every registered source's queues for `user`, with ages. A fixed number of queries per source."""
    today = today or timezone.localdate()
    queues = [queue for source in _sources for queue in source(user, today=today, limit=limit)]
    return with_ages(queues, today)


def local_date(moment: datetime.datetime | None) -> datetime.date | None:
    """The local (Asia/Shanghai) date of a timestamp, for `waiting_since`."""
    return timezone.localdate(moment) if moment else None
