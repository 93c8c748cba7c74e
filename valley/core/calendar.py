"""The one working-day calendar: every deadline counted in working days comes from here.

A working day is a weekday that is not an official holiday, or a weekend day that the official calendar
makes a working day (调休). The exceptions are rows of valley.models.CalendarDay, kept by staff per year.
A time limit of N working days counts from the first working day after the day it starts (the day of
submission does not count), so `add_working_days(friday, 1)` is the next Monday in an ordinary week.
"""

import datetime

from django.db import transaction

from valley.models import CalendarDay

# The longest run of consecutive non-working days in any official calendar is the Spring Festival week plus
# its weekends; looking this far beyond a plain count of weeks always covers the answer in one query.
_MARGIN_DAYS = 21


def _exceptions(first: datetime.date, last: datetime.date) -> dict[datetime.date, str]:
    """The calendar's exceptions between two dates (inclusive), as {date: kind}: one query."""
    return dict(CalendarDay.objects.filter(date__range=(first, last)).values_list("date", "kind"))


def _is_working(day: datetime.date, exceptions: dict[datetime.date, str]) -> bool:
    kind = exceptions.get(day)
    if kind == CalendarDay.Kind.HOLIDAY:
        return False
    if kind == CalendarDay.Kind.MAKE_UP_WORKING_DAY:
        return True
    return day.weekday() < 5


def is_working_day(day: datetime.date) -> bool:
    return _is_working(day, _exceptions(day, day))


def add_working_days(start: datetime.date, count: int) -> datetime.date:
    """The date on which a time limit of `count` working days, starting on `start`, runs out.

    One query for any count up to a few hundred working days (the window is widened and read again in the
    rare case it was too short)."""
    if count < 1:
        raise ValueError("a time limit is at least one working day")
    window = count * 7 // 5 + _MARGIN_DAYS
    while True:
        exceptions = _exceptions(start, start + datetime.timedelta(days=window))
        day, counted = start, 0
        for _ in range(window):
            day += datetime.timedelta(days=1)
            if _is_working(day, exceptions):
                counted += 1
                if counted == count:
                    return day
        window *= 2


def working_days_between(start: datetime.date, end: datetime.date) -> int:
    """How many working days there are after `start` up to and including `end` (0 when end <= start): how
    many working days late something due on `start` is on `end`. One query."""
    if end <= start:
        return 0
    exceptions = _exceptions(start, end)
    return sum(
        1
        for offset in range(1, (end - start).days + 1)
        if _is_working(start + datetime.timedelta(days=offset), exceptions)
    )


def subtract_working_days(end: datetime.date, count: int) -> datetime.date:
    """The working day `count` working days before `end`: the day a reminder "N working days before" a due
    date goes out. The working days strictly before `end` are counted (`end` itself does not count), so for
    an `end` that is a working day this undoes add_working_days. One query, as add_working_days."""
    if count < 1:
        raise ValueError("a time limit is at least one working day")
    return CalendarWindow(end - datetime.timedelta(days=count * 7 // 5 + _MARGIN_DAYS), end).subtract_working_days(
        end, count
    )


class CalendarWindow:
    """The calendar read once for a span of dates, for a list or a run that asks about many dates (each row's
    due date, reminder days, days late): the same answers as the functions above, one query for the span
    instead of one per question. A question reaching outside the span reads the missing days (one more
    query) and widens the span."""

    def __init__(self, first: datetime.date, last: datetime.date):
        self.first, self.last = min(first, last), max(first, last)
        self._exceptions = _exceptions(self.first, self.last)

    def _cover(self, first: datetime.date, last: datetime.date) -> None:
        margin = datetime.timedelta(days=_MARGIN_DAYS)
        if first < self.first:
            self._exceptions.update(_exceptions(first - margin, self.first - datetime.timedelta(days=1)))
            self.first = first - margin
        if last > self.last:
            self._exceptions.update(_exceptions(self.last + datetime.timedelta(days=1), last + margin))
            self.last = last + margin

    def is_working_day(self, day: datetime.date) -> bool:
        self._cover(day, day)
        return _is_working(day, self._exceptions)

    def working_days_between(self, start: datetime.date, end: datetime.date) -> int:
        """As the module's working_days_between: working days after `start` up to and including `end`."""
        if end <= start:
            return 0
        self._cover(start, end)
        # Counted, not walked day by day: a list's oldest rows are years old (the service queue, oldest first).
        # The weekdays in whole weeks and the few days left, then each exception in the span corrects them.
        days = (end - start).days
        weekdays = days // 7 * 5 + sum(
            1
            for offset in range(days - days % 7 + 1, days + 1)
            if (start + datetime.timedelta(days=offset)).weekday() < 5
        )
        for day in self._exceptions:
            if start < day <= end and (working := _is_working(day, self._exceptions)) != (day.weekday() < 5):
                weekdays += 1 if working else -1  # a weekend made a working day, or a weekday holiday
        return weekdays

    def subtract_working_days(self, end: datetime.date, count: int) -> datetime.date:
        """As the module's subtract_working_days: the working day `count` working days before `end`."""
        if count < 1:
            raise ValueError("a time limit is at least one working day")
        day, counted = end, 0
        while True:
            day -= datetime.timedelta(days=1)
            self._cover(day, day)
            if _is_working(day, self._exceptions):
                counted += 1
                if counted == count:
                    return day


# The 2026 calendar, from the State Council General Office's notice of 4 November 2025, for the demo data and
# the tests; staff enter each year's calendar in the admin.
CALENDAR_2026 = {
    "holidays": [
        (("2026-01-01", "2026-01-03"), "元旦", "New Year's Day"),
        (("2026-02-15", "2026-02-23"), "春节", "Spring Festival"),
        (("2026-04-04", "2026-04-06"), "清明节", "Qingming Festival"),
        (("2026-05-01", "2026-05-05"), "劳动节", "Labour Day"),
        (("2026-06-19", "2026-06-21"), "端午节", "Dragon Boat Festival"),
        (("2026-09-25", "2026-09-27"), "中秋节", "Mid-Autumn Festival"),
        (("2026-10-01", "2026-10-07"), "国庆节", "National Day"),
    ],
    "make_up_working_days": [
        ("2026-01-04", "元旦调休", "New Year's Day make-up working day"),
        ("2026-02-14", "春节调休", "Spring Festival make-up working day"),
        ("2026-02-28", "春节调休", "Spring Festival make-up working day"),
        ("2026-05-09", "劳动节调休", "Labour Day make-up working day"),
        ("2026-09-20", "国庆节调休", "National Day make-up working day"),
        ("2026-10-10", "国庆节调休", "National Day make-up working day"),
    ],
}


def calendar_2026_days() -> list[CalendarDay]:
    """The 2026 calendar as unsaved rows."""
    rows = []
    for (first, last), name_zh, name_en in CALENDAR_2026["holidays"]:
        day, end = datetime.date.fromisoformat(first), datetime.date.fromisoformat(last)
        while day <= end:
            rows.append(CalendarDay(date=day, kind=CalendarDay.Kind.HOLIDAY, name_zh=name_zh, name_en=name_en))
            day += datetime.timedelta(days=1)
    for date, name_zh, name_en in CALENDAR_2026["make_up_working_days"]:
        rows.append(
            CalendarDay(
                date=datetime.date.fromisoformat(date),
                kind=CalendarDay.Kind.MAKE_UP_WORKING_DAY,
                name_zh=name_zh,
                name_en=name_en,
            )
        )
    return rows


def calendar_day_save(*, day: CalendarDay, by) -> CalendarDay:
    """Add or change one day of the calendar (the admin's door). Deadlines computed later follow it; those
    already recorded keep their dates. Audited, since a changed holiday moves what counts as late."""
    from valley import audit

    with transaction.atomic():
        if day.pk is None:
            day.save()
            audit.record_created(day, action="valley.calendar.day_added", actor=by)
            return day
        before = audit.snapshot(CalendarDay.objects.select_for_update().get(pk=day.pk))
        day.save()
        audit.record_changed(day, action="valley.calendar.day_changed", before=before, actor=by)
    return day


def calendar_day_delete(*, day: CalendarDay, by) -> None:
    """Remove a day entered by mistake; the entry keeps what it was."""
    from valley import audit

    with transaction.atomic():
        audit.record_deleted(day, action="valley.calendar.day_removed", actor=by)
        day.delete()
