"""Celery tasks for the compliance checks: thin, they take ids and call the service; safe to run twice."""

import datetime

from celery import shared_task
from django.utils import timezone


@shared_task
def run_compliance_checks(as_of: str | None = None, by_id: int | None = None) -> int:
    """Scheduled nightly by beat: queue one check per fund for `as_of` (default: today). Returns how many.

    `by_id` is the staff member who asked for it ("run every fund's check now"); None for the scheduler.
    """
    from tolerance.models import Fund

    day = as_of or timezone.localdate().isoformat()
    fund_ids = list(Fund.objects.order_by("pk").values_list("pk", flat=True))
    for fund_id in fund_ids:
        check_fund_compliance.delay(fund_id=fund_id, as_of=day, by_id=by_id)
    return len(fund_ids)


@shared_task(bind=True, autoretry_for=(OSError,), retry_backoff=True, max_retries=3)
def check_fund_compliance(self, *, fund_id: int, as_of: str, by_id: int | None = None) -> int | None:
    """Run the compliance check of one fund; returns the report id, or None if the fund is gone."""
    from tolerance.models import Fund
    from tolerance.services import compliance_check_run
    from valley.models import User

    fund = Fund.objects.filter(pk=fund_id).first()
    if fund is None:
        return None
    by = User.objects.filter(pk=by_id).first() if by_id else None
    report = compliance_check_run(fund=fund, as_of=datetime.date.fromisoformat(as_of), by=by)
    return report.pk
