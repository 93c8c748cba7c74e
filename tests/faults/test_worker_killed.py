"""A worker killed (SIGKILL) in the middle of a compliance check: nothing partial is left, and the message,
acknowledged only after the task (CELERY_TASK_ACKS_LATE), is delivered again to a new worker, which makes
exactly one complete report.

The check pauses inside its transaction through the test-only hook in tolerance.services
(VALLEY_TEST_PAUSE_CHECK_FILE, honoured only with DEBUG on), so the kill lands mid-check every time.
"""

import datetime
import os
import signal
import time

import pytest

from tests.conftest import database_url_for_subprocess, wait_for
from tests.factories import FundFactory, InvestmentFactory
from tests.faults.conftest import start_process, stop_process, worker_args
from tolerance import selectors
from tolerance.models import ComplianceReport, ExemptionCase
from tolerance.tasks import check_fund_compliance

AS_OF = "2026-06-30"
VISIBILITY_SECONDS = 4


@pytest.mark.redis
def test_a_worker_killed_mid_check_leaves_nothing_partial_and_the_rerun_makes_one_report(transactional_db, tmp_path):
    pause_file = tmp_path / "pause-the-check"
    pause_file.touch()
    env = {
        **os.environ,
        "DATABASE_URL": database_url_for_subprocess(),
        "DEBUG": "1",
        "VALLEY_TEST_PAUSE_CHECK_FILE": str(pause_file),
        "VALLEY_TEST_PAUSE_CHECK_SECONDS": "60",
        # Redis hands a message taken by a dead worker to another after the visibility timeout.
        "CELERY_VISIBILITY_TIMEOUT": str(VISIBILITY_SECONDS),
    }
    seen = []
    # The fund comes after the first worker's start, so its catch-up of today's checks has nothing to do.
    first = start_process(worker_args("faults-first"), env, tmp_path / "first.log", ready="ready.")
    second = None
    try:
        fund = FundFactory()
        for failed in [False] * 6 + [True] * 4:  # 40% failed: within tolerance, so exemption cases are opened
            InvestmentFactory(fund=fund, failed=failed)
        as_of = datetime.date.fromisoformat(AS_OF)
        expected_cases = selectors.failed_qualifying_investments(fund_id=fund.pk, as_of=as_of).count()
        # The second worker's catch-up may add today's report; this test is about the AS_OF one.
        reports = ComplianceReport.objects.filter(fund=fund, as_of=as_of)
        check_fund_compliance.apply_async(kwargs={"fund_id": fund.pk, "as_of": AS_OF}, ignore_result=True)
        wait_for(lambda: "fault injection" in first.log_path.read_text(), timeout=30, what="the check to start")
        killed_at = time.monotonic()
        first.send_signal(signal.SIGKILL)
        first.wait(timeout=10)
        partial = (
            ComplianceReport.objects.filter(fund=fund).count(),
            ExemptionCase.objects.filter(investment__fund=fund).count(),
        )
        seen.append(f"killed the worker mid-check: reports {partial[0]}, exemption cases {partial[1]} left behind")

        time.sleep(max(0.0, VISIBILITY_SECONDS + 1 - (time.monotonic() - killed_at)))
        second = start_process(worker_args("faults-second"), env, tmp_path / "second.log", ready="ready.")
        report = wait_for(lambda: reports.first(), timeout=60, what="the report from the second worker")
        wait_for(lambda: "succeeded" in second.log_path.read_text(), timeout=30, what="the task to succeed")
        redone_after = time.monotonic() - killed_at
        time.sleep(2)
        opened = ExemptionCase.objects.filter(report=report).count()
        seen.append(
            f"the new worker redid the check {redone_after:.1f}s after the kill: reports {reports.count()}, "
            f"failed {report.failed_count} of {report.qualifying_count}, verdict {report.verdict}, "
            f"cases {opened} of {expected_cases} expected"
        )
    finally:
        for proc in (first, second):
            if proc:
                stop_process(proc)
        print("\n" + "\n".join(f"  worker killed: {line}" for line in seen))
    summary = "; ".join(seen)
    assert partial == (0, 0), summary
    assert reports.count() == 1, summary
    assert (report.investment_count, report.failed_count) == (10, 4), summary
    assert expected_cases > 0 and opened == expected_cases, summary
    assert not pause_file.exists()  # the first worker did reach the pause
