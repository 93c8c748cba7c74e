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


def test_days_late_for_many_due_dates_at_once_agree_with_one_at_a_time(calendar_2026, django_assert_num_queries):
    today = D(2026, 10, 12)
    dues = [D(2026, 9, 18), D(2026, 9, 24), D(2026, 9, 30), D(2026, 10, 9), D(2026, 10, 12), D(2026, 10, 20)]
    with django_assert_num_queries(1):
        late = calendar.working_days_late(dues, today)
    assert late == {due: calendar.working_days_between(due, today) for due in dues}
    assert late[D(2026, 9, 30)] == 4  # 8, 9, 10 (a make-up Saturday) and 12 October; 1–7 October are off
    with django_assert_num_queries(0):
        assert calendar.working_days_late([D(2026, 10, 20)], today) == {D(2026, 10, 20): 0}


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
