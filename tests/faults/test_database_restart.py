"""PostgreSQL restarted under a running portal: while it is down, pages answer a clean 503 (JSON for the API,
503 from /healthz), and once it is back the same gunicorn answers 200 again without being restarted
(CONN_HEALTH_CHECKS drops the dead persistent connections).

A PostgreSQL cluster of the test's own (port 5440), migrated, and gunicorn with 2 workers and production
settings (DEBUG off), so the answers are those a visitor would get.
"""

import json
import os
import subprocess
import sys
import time

import pytest

from tests.conftest import ROOT
from tests.faults.conftest import WEB_PORT, http, start_process, stop_process

DOWN_SECONDS = float(os.environ.get("VALLEY_FAULT_PG_DOWN_SECONDS", "4"))
# Pages that read the database, and what each answers normally. The API call carries a token that does not
# exist (looking it up needs the database): 401 normally.
PAGES = {"/": 200, "/api/applications/": 401, "/healthz": 200}


def round_of_requests(base: str) -> list[tuple[str, object, float, str]]:
    answers = []
    for path in PAGES:
        headers = {"Accept-Language": "en", "Authorization": "Token not-a-real-token"}
        status, seconds, body = http("GET", f"{base}{path}", headers=headers, timeout=20)
        answers.append((path, status, seconds, body))
    return answers


def as_usual(rows) -> bool:
    return all(status == PAGES[path] for path, status, *_ in rows)


@pytest.mark.postgres
def test_the_portal_answers_503_while_postgresql_restarts_and_recovers_by_itself(own_postgres, tmp_path):
    subprocess.run(
        ["createdb", "-h", "127.0.0.1", "-p", str(own_postgres.port), "-U", "postgres", "valley_faults_pg"],
        check=True,
        timeout=60,
    )
    env = {
        **os.environ,
        "DATABASE_URL": own_postgres.url("valley_faults_pg"),
        "DB_CONN_MAX_AGE": "600",  # persistent connections, as in production: they must survive the restart
        "DEBUG": "0",
        "SECRET_KEY": "fault-tests-only-production-like-secret-key-0123456789",
        "ALLOWED_HOSTS": "127.0.0.1",
        "SECURE_SSL_REDIRECT": "0",
        "SECURE_HSTS_SECONDS": "0",
        "LOG_LEVEL": "WARNING",
    }
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "--no-input", "-v", "0"], cwd=ROOT, env=env, check=True, timeout=300
    )
    subprocess.run(
        [sys.executable, "manage.py", "collectstatic", "--no-input", "-v", "0"],
        cwd=ROOT,
        env={**env, "STATIC_ROOT": str(tmp_path / "static")},
        check=True,
        timeout=300,
    )
    env["STATIC_ROOT"] = str(tmp_path / "static")
    base = f"http://127.0.0.1:{WEB_PORT}"
    web = start_process(
        ["-m", "gunicorn", "valley.wsgi", "-w", "2", "-b", f"127.0.0.1:{WEB_PORT}", "--timeout", "60"],
        env,
        tmp_path / "gunicorn.log",
        ready="Booting worker",
    )
    seen = []
    try:
        deadline = time.monotonic() + 30
        while http("GET", f"{base}/healthz")[0] != 200 and time.monotonic() < deadline:
            time.sleep(0.3)
        before = [round_of_requests(base) for _ in range(3)]  # both gunicorn workers hold a connection now
        seen.append("before: " + ", ".join(f"{path} {status}" for path, status, *_ in before[-1]))

        own_postgres.stop("fast")
        down_started = time.monotonic()
        during = []
        while time.monotonic() - down_started < DOWN_SECONDS:
            during.extend(round_of_requests(base))
            time.sleep(0.05)
        statuses = sorted({str(status) for _, status, *_ in during})
        seen.append(
            f"PostgreSQL down {DOWN_SECONDS:.0f}s: {len(during)} requests, statuses {statuses}, "
            f"slowest {max(s for _, _, s, _ in during):.2f}s"
        )

        own_postgres.start()
        back = time.monotonic()
        after = round_of_requests(base)
        while not as_usual(after) and time.monotonic() - back < 30:
            time.sleep(0.5)
            after = round_of_requests(base)
        recovered = time.monotonic() - back
        after_more = [round_of_requests(base) for _ in range(3)]
        seen.append(
            f"after the restart, within {recovered:.1f}s, the same gunicorn (pid {web.pid}, still running: "
            f"{web.poll() is None}) answers: " + ", ".join(f"{path} {status}" for path, status, *_ in after_more[-1])
        )
    finally:
        stop_process(web)
        print("\n" + "\n".join(f"  postgres restart: {line}" for line in seen))
    summary = "; ".join(seen)
    assert all(as_usual(row) for row in before), summary
    assert all(status == 503 for path, status, *_ in during), summary
    html = next(body for path, _, _, body in during if path == "/")
    assert "The database is unavailable" in html and "Traceback" not in html, summary
    api = next(body for path, _, _, body in during if path.startswith("/api/"))
    assert json.loads(api)["detail"].startswith("The database is unavailable"), summary
    health = next(body for path, _, _, body in during if path == "/healthz")
    assert '"database": "down"' in health, summary
    assert all(as_usual(row) for row in after_more), summary
