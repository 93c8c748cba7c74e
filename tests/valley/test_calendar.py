"""The working-day calendar (valley/core/calendar.py) on the real 2026 calendar."""

import datetime

import pytest

from valley.core import calendar
from valley.models import CalendarDay

D = datetime.date


@pytest.fixture
def calendar_2026(db):
    CalendarDay.objects.bulk_create(calendar.calendar_2026_days())


def test_national_day_2026_a_five_working_day_limit_from_30_september(calendar_2026):
    # Oct 1–7 are holidays; Oct 8 (Thu), 9 (Fri), 10 (Sat, a make-up working day), 12 (Mon), 13 (Tue).
    assert calendar.add_working_days(D(2026, 9, 30), 5) == D(2026, 10, 13)


def test_weekdays_alone_would_give_a_date_inside_the_holiday(db):
    assert calendar.add_working_days(D(2026, 9, 30), 5) == D(2026, 10, 7)  # no calendar entered: wrong, as expected


@pytest.mark.parametrize(
    ("start", "count", "due"),
    [
        (D(2026, 9, 18), 1, D(2026, 9, 20)),  # Friday → Sunday 20 September, a make-up working day
        (D(2026, 9, 24), 1, D(2026, 9, 28)),  # Mid-Autumn, 25–27 September
        (D(2026, 10, 9), 1, D(2026, 10, 10)),  # Saturday 10 October is worked
        (D(2026, 10, 10), 1, D(2026, 10, 12)),
        (D(2026, 2, 13), 1, D(2026, 2, 14)),  # Saturday 14 February is worked
        (D(2026, 2, 14), 1, D(2026, 2, 24)),  # the Spring Festival, 15–23 February
        (D(2026, 12, 31), 1, D(2027, 1, 1)),  # 2027 not entered yet: weekdays
    ],
)
def test_the_next_working_day(calendar_2026, start, count, due):
    assert calendar.add_working_days(start, count) == due


def test_is_working_day(calendar_2026):
    assert not calendar.is_working_day(D(2026, 10, 1))  # Thursday, National Day
    assert calendar.is_working_day(D(2026, 10, 10))  # Saturday, made a working day
    assert not calendar.is_working_day(D(2026, 10, 11))  # an ordinary Sunday
    assert calendar.is_working_day(D(2026, 10, 12))


def test_working_days_late(calendar_2026):
    assert calendar.working_days_between(D(2026, 9, 30), D(2026, 10, 13)) == 5
    assert calendar.working_days_between(D(2026, 9, 30), D(2026, 10, 7)) == 0  # the whole holiday: not late
    assert calendar.working_days_between(D(2026, 10, 13), D(2026, 10, 13)) == 0
    assert calendar.working_days_between(D(2026, 10, 13), D(2026, 9, 30)) == 0


def test_a_long_limit_is_one_query(calendar_2026, django_assert_num_queries):
    with django_assert_num_queries(1):
        due = calendar.add_working_days(D(2026, 1, 5), 90)
    assert due == D(2026, 5, 20)  # counted by hand over the 2026 calendar (Qingming, Labour Day, 9 May worked)


def test_a_limit_of_no_days_is_a_mistake(db):
    with pytest.raises(ValueError, match="at least one working day"):
        calendar.add_working_days(D(2026, 9, 30), 0)


def test_staff_keep_the_calendar_in_the_admin_and_each_change_is_audited(db, make_user, client):
    from valley.core import roles
    from valley.models import AuditEntry

    staff = make_user(roles.PROVINCIAL_STAFF, email="calendar@example.cn")
    client.force_login(staff)
    response = client.post(
        "/admin/valley/calendarday/add/",
        {"date": "2026-10-10", "kind": "working", "name_zh": "国庆节调休", "name_en": "National Day make-up"},
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    day = CalendarDay.objects.get(date=D(2026, 10, 10))
    added = AuditEntry.objects.get(action="valley.calendar.day_added")
    assert (added.actor_id, added.object_id, added.after["kind"]) == (staff.pk, str(day.pk), "working")

    client.post(
        f"/admin/valley/calendarday/{day.pk}/change/",
        {"date": "2026-10-10", "kind": "holiday", "name_zh": "国庆节", "name_en": "National Day"},
    )
    changed = AuditEntry.objects.get(action="valley.calendar.day_changed")
    assert (changed.before["kind"], changed.after["kind"]) == ("working", "holiday")
    assert not calendar.is_working_day(D(2026, 10, 10))


# ------------------------------------------------------------------ counting back: "N working days before"


@pytest.mark.parametrize(
    ("end", "count", "day"),
    [
        (D(2026, 10, 12), 1, D(2026, 10, 10)),  # Monday → Saturday 10 October, a make-up working day
        (D(2026, 10, 12), 3, D(2026, 10, 8)),  # 10, 9, 8 October
        (D(2026, 10, 8), 1, D(2026, 9, 30)),  # back over National Day, 1–7 October
        # 10, 9, 8 Oct; 30, 29, 28 Sep; Mid-Autumn 25–27; 24, 23, 22, 21; Sunday 20 (worked); 18, 17, 16 Sep.
        (D(2026, 10, 12), 14, D(2026, 9, 16)),
        (D(2026, 9, 21), 1, D(2026, 9, 20)),  # Sunday 20 September is worked
        (D(2026, 10, 4), 3, D(2026, 9, 28)),  # from inside the holiday: the working days before it
        (D(2026, 2, 24), 1, D(2026, 2, 14)),  # the Spring Festival, 15–23 February; Saturday 14 is worked
    ],
)
def test_the_working_day_n_working_days_before(calendar_2026, end, count, day):
    assert calendar.subtract_working_days(end, count) == day


def test_weekdays_alone_would_count_back_into_the_holiday(db):
    assert calendar.subtract_working_days(D(2026, 10, 12), 3) == D(2026, 10, 7)  # no calendar entered: wrong


def test_counting_back_undoes_counting_forward_from_a_working_day(calendar_2026):
    window = calendar.CalendarWindow(D(2026, 8, 1), D(2026, 11, 30))
    days = [D(2026, 9, 1) + datetime.timedelta(days=n) for n in range(61)]
    for day in (day for day in days if window.is_working_day(day)):
        for count in (1, 3, 14):
            assert calendar.subtract_working_days(calendar.add_working_days(day, count), count) == day, (day, count)


def test_counting_back_is_one_query_and_needs_a_day(calendar_2026, django_assert_num_queries):
    with django_assert_num_queries(1):
        assert calendar.subtract_working_days(D(2026, 10, 12), 14) == D(2026, 9, 16)
    with pytest.raises(ValueError, match="at least one working day"):
        calendar.subtract_working_days(D(2026, 10, 12), 0)


def test_a_window_answers_as_the_functions_do_from_one_query(calendar_2026, django_assert_num_queries):
    with django_assert_num_queries(1):
        window = calendar.CalendarWindow(D(2026, 9, 1), D(2026, 10, 31))
        assert not window.is_working_day(D(2026, 10, 1)) and window.is_working_day(D(2026, 10, 10))
        assert window.working_days_between(D(2026, 9, 30), D(2026, 10, 13)) == 5
        assert window.subtract_working_days(D(2026, 10, 12), 14) == D(2026, 9, 16)
    # A question outside the window reads what is missing: one more query, the same answer.
    with django_assert_num_queries(1):
        assert window.subtract_working_days(D(2026, 2, 24), 1) == D(2026, 2, 14)
    with django_assert_num_queries(1):
        assert window.working_days_between(D(2026, 12, 31), D(2027, 1, 4)) == 2  # 2027 not entered: weekdays


def test_a_window_counts_working_days_as_the_function_does_over_any_span(calendar_2026):
    """The window counts whole weeks and corrects for each exception; the function walks day by day."""
    window = calendar.CalendarWindow(D(2025, 12, 1), D(2027, 1, 31))
    first = D(2025, 12, 20)
    for start_offset in range(0, 60, 3):
        start = first + datetime.timedelta(days=start_offset)
        for length in (*range(0, 16), 30, 61, 137, 300, 400):
            end = start + datetime.timedelta(days=length)
            assert window.working_days_between(start, end) == calendar.working_days_between(start, end), (start, end)
