"""Eight finance officers press "release" on one accepted fund-use report at once, through the real HTTP stack:
gunicorn with several worker processes, each request on its own database connection, against the test
database (PostgreSQL, row locks as in production). One instalment is paid; the others are told why not."""

import json
import os
import re
from decimal import Decimal

import pytest
from django.utils import timezone
from rest_framework.authtoken.models import Token

from funding.demo import file_report
from funding.invariants import check_invariants
from funding.models import Application, ApplicationEvent, Disbursement, FundUseReport, SubVenueBudget
from tests.conftest import database_url_for_subprocess
from tests.faults.conftest import http, start_process, stop_process, wait_until
from tests.funding.test_concurrency import run_at_once
from tests.funding.test_load_invariants import free_port
from valley.core import roles

pytestmark = pytest.mark.postgres

WORKERS = 4
OFFICERS = 8


@pytest.fixture
def portal(transactional_db, tmp_path):
    """gunicorn with WORKERS processes and production settings on a free loopback port, on the test's database.
    Stopped before transactional_db empties the tables (it depends on it, so its teardown runs first)."""
    port = free_port()
    (tmp_path / "static").mkdir()
    env = {
        **os.environ,
        "DATABASE_URL": database_url_for_subprocess(),
        "DEBUG": "0",
        "SECRET_KEY": "release-concurrency-tests-only-secret-key-0123456789",
        "ALLOWED_HOSTS": "127.0.0.1",
        "SECURE_SSL_REDIRECT": "0",
        "SECURE_HSTS_SECONDS": "0",
        "LOG_LEVEL": "WARNING",
        "STATIC_ROOT": str(tmp_path / "static"),  # JSON answers only: nothing to collect
    }
    log = tmp_path / "gunicorn.log"
    web = start_process(
        ["-m", "gunicorn", "valley.wsgi", "-w", str(WORKERS), "-b", f"127.0.0.1:{port}", "--timeout", "60"],
        env,
        log,
        ready="Booting worker",
    )
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until(lambda: log.read_text().count("Booting worker") >= WORKERS, 60, f"{WORKERS} gunicorn workers")
        wait_until(lambda: http("GET", f"{base}/healthz")[0] == 200, 60, "/healthz to answer 200")
        yield base
    finally:
        stop_process(web)
        print(f"\ngunicorn log:\n{log.read_text()[-3000:]}")


def test_eight_releases_at_once_pay_the_next_instalment_once(
    portal, application_in, people, budget, make_user, media_root
):
    app = application_in("disbursement", amount=Decimal("500000.00"))  # instalment 1 (100,000) paid
    report = file_report(app, people, accept=True)
    planned = app.agreement.instalments.get(number=2).amount
    assert planned == Decimal("250000.00")
    budget.refresh_from_db()
    disbursed_before = budget.disbursed
    officers = [people["finance"], *(make_user(roles.FINANCE_OFFICER) for _ in range(OFFICERS - 1))]
    tokens = [Token.objects.create(user=officer).key for officer in officers]
    today = str(timezone.localdate())

    url = f"{portal}/api/applications/{app.pk}/"
    answers = [None] * OFFICERS

    def headers(n):
        return {
            "Authorization": f"Token {tokens[n]}",
            "Content-Type": "application/json",
            "Accept": "application/json",
            "Accept-Language": "en",
        }

    def release(n):
        body = json.dumps({"paid_on": today, "reference": f"PAY-2-{n}"}).encode()  # no amount: the plan's
        answers[n] = http("POST", f"{url}disburse/", body, headers(n), timeout=60)

    # Warm every worker up first (its first request is slow), so that the eight releases meet in the service
    # rather than arrive one by one behind the warm-ups.
    for _round in range(2):
        run_at_once([(lambda n=n: http("GET", url, headers=headers(n))) for n in range(OFFICERS)])
    outcomes = run_at_once([(lambda n=n: release(n)) for n in range(OFFICERS)])
    assert outcomes == ["ok"] * OFFICERS, outcomes  # every request had an answer

    statuses = sorted(status for status, _seconds, _body in answers)
    paid = [json.loads(body) for status, _seconds, body in answers if status == 201]
    refused = [json.loads(body)["detail"] for status, _seconds, body in answers if status != 201]
    assert statuses == [201] + [400] * (OFFICERS - 1), answers
    assert (paid[0]["number"], paid[0]["amount"]) == (2, "250000.00")
    # Each refusal says why, in words: the instalment after it waits for its own report (no database guard's
    # "breaks a rule", no server error).
    expected = re.compile(r"^Instalment 3 is released once the fund-use report on instalment 2 is accepted")
    assert all(expected.match(detail) for detail in refused), refused

    assert list(Disbursement.objects.filter(application=app).values_list("number", "amount")) == [
        (1, Decimal("100000.00")),
        (2, planned),
    ]
    second = Disbursement.objects.get(application=app, number=2)
    assert (second.released_by_report_id, second.reference) == (report.pk, paid[0]["reference"])
    assert FundUseReport.objects.filter(application=app).count() == 2  # one new report, on instalment 2
    fresh = Application.objects.get(pk=app.pk)
    assert fresh.disbursed_total == Decimal("100000.00") + planned
    budget = SubVenueBudget.objects.get(pk=budget.pk)
    assert budget.disbursed - disbursed_before == planned
    recorded = ApplicationEvent.objects.filter(application=app, action="funding.disbursement.recorded")
    assert recorded.count() == 2
    invariants = check_invariants()
    assert invariants.ok, "\n".join(str(v) for v in invariants.violations)
