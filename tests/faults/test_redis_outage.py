"""Redis stopped while people work: pages answer, actions that queue work succeed at once, and the work is
done once Redis is back - the sign-up mail exactly once, and the compliance check that fell due.

A Redis of the test's own (port 6390), a Celery worker, beat and `runserver` against it, and the test
database. VALLEY_FAULT_REDIS_OUTAGE_SECONDS sets the outage (8 s here; bench/faults.py runs 30 s).
"""

import datetime
import os
import re
import time
import urllib.parse
import urllib.request
from http.cookiejar import CookieJar

import pytest
from django.contrib.auth import get_user_model
from django.utils import timezone

from tests.conftest import database_url_for_subprocess, wait_for
from tests.factories import FundFactory, InvestmentFactory
from tests.faults.conftest import WEB_PORT, http, start_process, stop_process, worker_args
from tolerance.models import ComplianceReport
from valley.models import OutboxMessage

OUTAGE_SECONDS = float(os.environ.get("VALLEY_FAULT_REDIS_OUTAGE_SECONDS", "8"))
PASSWORD = "Jinchuanggu-2026-Taiyuan!"


def sign_up(base: str, email: str):
    """The sign-up form as a browser fills it in; returns (status, seconds) of the POST."""
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(CookieJar()))
    status, _, page = http("GET", f"{base}/accounts/signup/", opener=opener)
    assert status == 200, f"the sign-up page answered {status}"
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)
    form = urllib.parse.urlencode(
        {
            "csrfmiddlewaretoken": token,
            "email": email,
            "password1": PASSWORD,
            "password2": PASSWORD,
            "accept_privacy": "on",
        }
    ).encode()
    headers = {"Content-Type": "application/x-www-form-urlencoded", "Referer": f"{base}/accounts/signup/"}
    status, seconds, body = http("POST", f"{base}/accounts/signup/", form, {**headers, "Accept-Language": "en"}, opener)
    assert "We sent a confirmation link" in body, f"the sign-up answered {status} without confirming it"
    return status, seconds


def mails_to(mail_dir, address: str) -> list[str]:
    return [path.name for path in mail_dir.iterdir() if f"To: {address}" in path.read_text()]


@pytest.mark.redis
def test_redis_outage_delays_mail_and_checks_but_loses_nothing(transactional_db, own_redis, mail_dir, tmp_path):
    env = {
        **os.environ,
        "DATABASE_URL": database_url_for_subprocess(),
        "CELERY_BROKER_URL": own_redis.url,
        "CELERY_RESULT_BACKEND": own_redis.url,
        "EMAIL_BACKEND": "django.core.mail.backends.filebased.EmailBackend",
        "EMAIL_FILE_PATH": str(mail_dir),
        "OUTBOX_SWEEP_SECONDS": "2",
        "TOLERANCE_CATCH_UP_SECONDS": "2",
        "TOLERANCE_CHECK_TIME": "00:00",  # today's nightly run is due whatever the hour the test runs
        "DEBUG": "1",
    }
    base = f"http://127.0.0.1:{WEB_PORT}"
    worker = start_process(worker_args("faults-redis"), env, tmp_path / "worker.log", ready="ready.")
    beat = start_process(
        ["-m", "celery", "-A", "valley", "beat", "--loglevel=INFO", "--schedule", str(tmp_path / "beat-schedule")],
        env,
        tmp_path / "beat.log",
    )
    web = start_process(
        ["manage.py", "runserver", "--noreload", f"127.0.0.1:{WEB_PORT}"], env, tmp_path / "web.log", ready="Quit"
    )
    seen = []
    try:
        wait_for(lambda: http("GET", f"{base}/")[0] == 200, timeout=30, what="the home page")

        own_redis.stop()
        outage_started = time.monotonic()
        # A fund whose check falls due while Redis is down (its report for today does not exist yet).
        fund = FundFactory()
        for failed in (False, False, True):
            InvestmentFactory(fund=fund, failed=failed)
        address = f"outage-{os.getpid()}@example.cn"
        signup_status, signup_seconds = sign_up(base, address)
        seen.append(f"sign-up during the outage: {signup_status} in {signup_seconds:.2f}s")
        pages = []
        while time.monotonic() - outage_started < OUTAGE_SECONDS:
            for path in ("/", "/accounts/login/", "/healthz"):
                status, seconds, _ = http("GET", f"{base}{path}")
                pages.append((path, status, seconds))
            time.sleep(0.5)
        waiting = OutboxMessage.objects.filter(published_at__isnull=True).count()
        seen.append(
            f"pages during {OUTAGE_SECONDS:.0f}s without Redis: {len(pages)} requests, statuses "
            f"{sorted({status for _, status, _ in pages})}, slowest {max(s for *_, s in pages):.2f}s; "
            f"{waiting} queued task(s) waiting in the outbox"
        )
        assert not ComplianceReport.objects.filter(fund=fund).exists()
        assert not mails_to(mail_dir, address)

        own_redis.start()
        back = time.monotonic()
        mail = wait_for(lambda: mails_to(mail_dir, address), timeout=60, what="the sign-up mail after the outage")
        mail_after = time.monotonic() - back
        report = wait_for(
            lambda: ComplianceReport.objects.filter(fund=fund, as_of=timezone.localdate()).first(),
            timeout=60,
            what="the compliance report that fell due during the outage",
        )
        report_after = time.monotonic() - back
        time.sleep(5)  # two more sweeps and catch-ups: nothing may be sent again
        mails = mails_to(mail_dir, address)
        seen.append(f"after Redis came back: the mail in {mail_after:.1f}s, the report in {report_after:.1f}s")
        seen.append(
            f"mails to {address}: {len(mails)}; reports for the fund today: "
            f"{ComplianceReport.objects.filter(fund=fund).count()}; outbox rows unpublished: "
            f"{OutboxMessage.objects.filter(published_at__isnull=True).count()}"
        )
    finally:
        for proc in (web, beat, worker):
            stop_process(proc)
        print("\n" + "\n".join(f"  redis outage: {line}" for line in seen))

    summary = "; ".join(seen)
    assert signup_status == 200 and signup_seconds < 5, summary
    assert {status for _, status, _ in pages} == {200}, summary
    assert max(seconds for *_, seconds in pages) < 5, summary
    assert waiting >= 1, summary  # the mail really waited in the outbox
    assert len(mails) == 1 and mail, summary
    assert get_user_model().objects.filter(email=address).exists(), summary
    assert ComplianceReport.objects.filter(fund=fund).count() == 1, summary
    assert report.as_of == timezone.localdate() and report.computed_at > timezone.now() - datetime.timedelta(minutes=5)
    assert not OutboxMessage.objects.filter(published_at__isnull=True).exists(), summary
