"""The scheduled checks: Celery beat and a real worker against the broker, and the thin tasks."""

import datetime
import os
import re
import subprocess
import sys
from decimal import Decimal

import pytest
from django.utils import timezone

from tests.conftest import ROOT, database_url_for_subprocess, wait_for
from tests.factories import FundFactory, InvestmentFactory
from tolerance.models import ComplianceReport
from tolerance.tasks import check_fund_compliance, run_compliance_checks


def checks_finished(log_path) -> int:
    return len(re.findall(r"check_fund_compliance\[[^\]]+\] succeeded", log_path.read_text()))


def test_the_nightly_entry_is_in_the_beat_schedule(settings):
    entry = settings.CELERY_BEAT_SCHEDULE["tolerance-compliance-checks"]
    assert entry["task"] == "tolerance.tasks.run_compliance_checks"


@pytest.mark.parametrize(("raw", "message"), [("-5", "positive number"), ("soon", "not a whole number")])
def test_a_bad_check_interval_stops_start_up(raw, message):
    result = subprocess.run(
        [sys.executable, "manage.py", "check"],
        cwd=ROOT,
        env={**os.environ, "TOLERANCE_CHECK_INTERVAL_SECONDS": raw},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode != 0
    assert "TOLERANCE_CHECK_INTERVAL_SECONDS" in result.stderr and message in result.stderr


def test_the_task_for_a_fund_that_is_gone_does_nothing(db):
    assert check_fund_compliance.run(fund_id=987654, as_of="2026-06-30") is None
    assert not ComplianceReport.objects.exists()


def test_the_task_takes_ids_and_returns_the_report_id(db):
    fund = FundFactory()
    InvestmentFactory(fund=fund)
    report_id = check_fund_compliance.run(fund_id=fund.pk, as_of="2026-06-30")
    assert ComplianceReport.objects.get(pk=report_id).as_of == datetime.date(2026, 6, 30)


def test_a_real_worker_runs_every_funds_check_and_a_second_run_leaves_one_report_each(celery_worker_process):
    funds = FundFactory.create_batch(2)
    for fund in funds:
        InvestmentFactory(fund=fund)
        InvestmentFactory(fund=fund, failed=True)
    assert run_compliance_checks.delay(as_of="2026-06-30").get(timeout=60) == 2
    reports = ComplianceReport.objects.filter(fund__in=funds, as_of=datetime.date(2026, 6, 30))
    wait_for(lambda: reports.count() == 2, what="two reports")
    assert run_compliance_checks.delay(as_of="2026-06-30").get(timeout=60) == 2
    wait_for(lambda: checks_finished(celery_worker_process.log_path) >= 4, what="the second round of checks")
    assert reports.count() == 2
    assert set(reports.values_list("rate_by_count", flat=True)) == {Decimal("50.00")}


@pytest.mark.redis
def test_beat_schedules_the_checks_and_a_worker_makes_the_report(celery_worker_process, tmp_path):
    fund = FundFactory()
    InvestmentFactory(fund=fund)
    InvestmentFactory(fund=fund, failed=True, failed_on=datetime.date(2025, 1, 1))
    env = {
        **os.environ,
        "DATABASE_URL": database_url_for_subprocess(),
        "TOLERANCE_CHECK_INTERVAL_SECONDS": "2",
        "PYTHONUNBUFFERED": "1",
    }
    log_path = tmp_path / "beat.log"
    with open(log_path, "w") as log:
        beat = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "valley",
                "beat",
                "--loglevel=INFO",
                "--schedule",
                str(tmp_path / "beat-schedule"),
                "--pidfile",
                str(tmp_path / "beat.pid"),
            ],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:
        report = wait_for(
            lambda: ComplianceReport.objects.filter(fund=fund).first(), timeout=90, what="a scheduled report"
        )
        assert "tolerance.tasks.run_compliance_checks" in log_path.read_text()
    finally:
        beat.terminate()
        try:
            beat.wait(timeout=20)
        except subprocess.TimeoutExpired:
            beat.kill()
        # What beat queued after the report appeared must not reach a later test's worker.
        from valley.celery import app

        app.control.purge()
    assert report.as_of == timezone.localdate()
    assert report.computed_by is None
    assert report.rate_by_count == Decimal("50.00")
