"""Reminders of fund-use reports (DOMAIN.md "After the grant"): 14 and 3 working days before the due date,
on the day, and weekly while overdue, for every report not yet accepted of a grant still in disbursement;
each reminder goes out once (valley.messaging.reminders). Beat runs it every morning
(funding.tasks.send_report_reminders)."""

import datetime

from django.db.models import QuerySet
from django.utils import timezone

from funding.models import Application, FundUseReport
from funding.notifications import report_reminder_mails
from funding.selectors import REPORT_OVERDUE_STATES
from valley.messaging.reminders import reminder_horizon, send_due_reminders


def reports_to_remind(*, today: datetime.date) -> QuerySet[FundUseReport]:
    """The reports a reminder may be due for today: still the applicant's to file (to be filed, or returned for
    changes; a submitted report waits on staff, and its queue flags it), of a grant in disbursement, due early
    enough for the first reminder to have come; with what the mail shows (one query, plus one for the calendar)."""
    return (
        FundUseReport.objects.filter(application__state=Application.State.DISBURSEMENT)
        .filter(state__in=REPORT_OVERDUE_STATES)
        .filter(due_on__lte=reminder_horizon(today=today))
        .select_related("instalment", "application__entity__owner")
        .order_by("due_on", "pk")
    )


def report_reminders_send(*, today: datetime.date | None = None) -> list[tuple[int, str]]:
    """Send the reminders due today (Asia/Shanghai) that have not gone out; returns (report id, kind) of each
    sent. Safe to run any number of times, also several at once."""
    today = today or timezone.localdate()
    sent = send_due_reminders(reports_to_remind(today=today), today=today, compose=report_reminder_mails)
    return [(report.pk, kind) for report, kind in sent]
