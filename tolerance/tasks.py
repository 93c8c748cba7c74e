"""Celery tasks for the compliance checks: thin, they take ids and call the service; safe to run twice."""

import datetime
import logging

from celery import shared_task
from celery.signals import worker_ready
from django.conf import settings
from django.utils import timezone

CHECK_TASK = "tolerance.tasks.check_fund_compliance"
RUN_ALL_TASK = "tolerance.tasks.run_compliance_checks"


@shared_task
def run_compliance_checks(as_of: str | None = None, by_id: int | None = None) -> int:
    """Scheduled nightly by beat: queue one check per fund for `as_of` (default: today). Returns how many.

    `by_id` is the staff member who asked for it ("run every fund's check now"); None for the scheduler.
    The checks go through the outbox, so a broker lost half-way through still gets every fund's check.
    """
    from tolerance.models import Fund
    from valley.messaging import outbox

    day = as_of or timezone.localdate().isoformat()
    fund_ids = list(Fund.objects.order_by("pk").values_list("pk", flat=True))
    outbox.enqueue_many(CHECK_TASK, [{"fund_id": pk, "as_of": day, "by_id": by_id} for pk in fund_ids])
    return len(fund_ids)


@shared_task
def catch_up_compliance_checks() -> int:
    """Beat, every TOLERANCE_CATCH_UP_SECONDS, and each worker at start: once today's nightly run is due,
    queue the check of every fund that has no report for today yet. Returns how many it queued.

    The nightly run is a message from beat; if the broker was down at 01:30 beat could not send it and
    would not try again until tomorrow. This finds what is missing and makes it up, once per fund and day
    (the check itself keeps one report per fund and date).
    """
    from tolerance.selectors import funds_without_report
    from valley.messaging import outbox

    now = timezone.localtime()
    hour, minute = settings.TOLERANCE_CHECK_TIME
    if (now.hour, now.minute) < (hour, minute):
        return 0
    today = now.date()
    fund_ids = funds_without_report(as_of=today)
    outbox.enqueue_many(CHECK_TASK, [{"fund_id": pk, "as_of": today.isoformat()} for pk in fund_ids])
    return len(fund_ids)


@worker_ready.connect
def _catch_up_on_worker_start(sender=None, **kwargs):
    try:
        catch_up_compliance_checks()
    except Exception:  # never stop a worker from starting; beat's catch-up tries again
        logging.getLogger(__name__).exception("tolerance: the catch-up at worker start failed")


@shared_task(bind=True, autoretry_for=(OSError,), retry_backoff=True, max_retries=3)
def check_fund_compliance(self, *, fund_id: int, as_of: str, by_id: int | None = None) -> int | None:
    """Run the compliance check of one fund; returns the report id, or None if the fund is gone.

    One transaction (compliance_check_run): a worker killed half-way leaves no partial report, and with
    late acknowledgement (CELERY_TASK_ACKS_LATE) the message is delivered again and the check redone.
    """
    from tolerance.models import Fund
    from tolerance.services import compliance_check_run
    from valley.models import User

    fund = Fund.objects.filter(pk=fund_id).first()
    if fund is None:
        return None
    by = User.objects.filter(pk=by_id).first() if by_id else None
    report = compliance_check_run(fund=fund, as_of=datetime.date.fromisoformat(as_of), by=by)
    return report.pk


@shared_task(name="tolerance.tasks.send_company_report_reminders")
def send_company_report_reminders() -> int:
    """Beat, hourly from 08:00 to 18:00 (TOLERANCE_REMINDER_SECONDS: every N seconds): open the quarterly
    reports that have become due and send the reminders due today, each once however often this runs.
    Returns how many reminders went out."""
    from tolerance.monitoring import company_report_reminders_send

    return len(company_report_reminders_send())
