"""A primary and a read replica of the test's own (pg_basebackup -R), and a web server with DATABASE_REPLICA_URL:
an auditor's export is read from the replica (a row the replica has not replayed is not in it), a person who
has just written reads from the primary (they see their own write while the replica lags), and with the
replica stopped the export and the dashboards answer from the primary, never a 500.

Ports: the primary on VALLEY_FAULT_PG_PORT (5440), the replica on VALLEY_FAULT_REPLICA_PORT (5442).
"""

import contextlib
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
from http.cookiejar import CookieJar
from pathlib import Path

import pytest

from tests.conftest import _missing
from tests.faults.conftest import (
    PG_BIN,
    PG_PORT,
    WEB_PORT,
    OwnPostgres,
    _as_postgres_user,
    http,
    port_open,
    start_process,
    stop_process,
    wait_until,
)

REPLICA_PORT = int(os.environ.get("VALLEY_FAULT_REPLICA_PORT", "5442"))
PASSWORD = "Valley-replica-test-2026!"
APPLICANT = "replica-applicant@example.cn"
AUDITOR = "replica-auditor@example.cn"
BASE = f"http://127.0.0.1:{WEB_PORT}"

# Run on the primary with manage.py shell: the people, the reference rows and one entity; prints the
# auditor's session cookie (second factor passed) and the entity's id.
SETUP = f"""
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.utils import timezone
from bench.sessions import signed_in_cookie
from teams.models import Entity
from valley.models import FocusArea, Institution
from tolerance.models import Fund

people = get_user_model().objects
applicant = people.create_user(email="{APPLICANT}", password="{PASSWORD}", email_confirmed_at=timezone.now())
auditor = people.create_user(email="{AUDITOR}", password=None, email_confirmed_at=timezone.now())
auditor.groups.add(Group.objects.get_or_create(name="auditor")[0])
institution = Institution.objects.create(kind="university", name_zh="太原理工大学", name_en="TUT")
area = FocusArea.objects.create(code="materials", name_zh="新材料", name_en="New materials")
entity = Entity.objects.create(
    name_zh="旧名", name_en="Before", institution=institution, focus_area=area, owner=applicant
)
fund = Fund.objects.create(name_zh="基金", name_en="Fund", manager="M", entrusted_institution="E", size=1000)
print("COOKIE", signed_in_cookie(auditor), entity.pk, institution.pk, area.pk, fund.pk)
"""


def _run(command: list[str], **kwargs):
    return subprocess.run(_as_postgres_user(command), check=True, capture_output=True, timeout=120, **kwargs)


def _sql(port: int, sql: str, db: str = "valley"):
    import psycopg2

    connection = psycopg2.connect(host="127.0.0.1", port=port, user="postgres", dbname=db, connect_timeout=3)
    connection.autocommit = True
    try:
        with connection.cursor() as cursor:
            cursor.execute(sql)
            return cursor.fetchall() if cursor.description else None
    finally:
        connection.close()


def _caught_up() -> bool:
    primary = _sql(PG_PORT, "SELECT pg_current_wal_lsn()")[0][0]
    return _sql(REPLICA_PORT, f"SELECT pg_last_wal_replay_lsn() >= '{primary}'::pg_lsn")[0][0]


def _csrf(page: str) -> str:
    return re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)


def _post(opener, url: str, fields: dict):
    headers = {"Content-Type": "application/x-www-form-urlencoded", "Referer": url}
    return http("POST", url, urllib.parse.urlencode(fields).encode(), headers, opener)


@pytest.fixture
def primary_and_replica():
    if not (PG_BIN / "pg_basebackup").exists():
        _missing(f"needs PostgreSQL's server binaries in {PG_BIN} for a primary and a replica of the test's own")
    for port in (PG_PORT, REPLICA_PORT):
        if port_open(port):
            pytest.fail(f"port {port} is taken: the replica test starts its own PostgreSQL there")
    base = Path(tempfile.mkdtemp(prefix="valley-own-replica-"))
    for folder in (base, base / "p", base / "r"):
        folder.mkdir(exist_ok=True)
        os.chmod(folder, 0o777)  # the postgres user writes the data and logs here
    primary, replica = OwnPostgres(base / "p" / "data", PG_PORT), OwnPostgres(base / "r" / "data", REPLICA_PORT)
    try:
        primary.init()  # initdb's pg_hba trusts replication connections from 127.0.0.1; wal_level is replica
        primary.start()
        _sql(PG_PORT, "CREATE DATABASE valley", db="postgres")
        # -R writes standby.signal and primary_conninfo: the copy starts as a hot standby following the primary.
        _run([str(PG_BIN / "pg_basebackup"), "-R", "-X", "stream", "-D", str(replica.data_dir),
              "-h", "127.0.0.1", "-p", str(PG_PORT), "-U", "postgres"])  # fmt: skip
        replica.start()
        yield primary, replica
    finally:
        for cluster in (replica, primary):
            with contextlib.suppress(subprocess.CalledProcessError):  # already stopped
                cluster.stop("immediate")
        shutil.rmtree(base, ignore_errors=True)


@pytest.mark.postgres
def test_reads_go_to_the_replica_writers_read_their_writes_and_a_dead_replica_changes_nothing(
    primary_and_replica, tmp_path
):
    primary, replica = primary_and_replica
    env = {
        **os.environ,
        "DATABASE_URL": primary.url("valley"),
        "DEBUG": "1",
        "HOME_FIGURES_CACHE_SECONDS": "0",
        "FUND_DASHBOARD_CACHE_SECONDS": "0",
    }
    env.pop("CACHE_URL", None)
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "--noinput"], env=env, check=True, capture_output=True, timeout=300
    )
    out = subprocess.run(
        [sys.executable, "manage.py", "shell", "-c", SETUP], env=env, check=True, capture_output=True, timeout=120
    ).stdout.decode()
    _, cookie, entity_id, institution_id, area_id, fund_id = re.search(r"^COOKIE .*$", out, re.M).group(0).split()
    wait_until(_caught_up, 30, "the replica to replay the migrations and the setup")

    server_env = {
        **env,
        "DATABASE_REPLICA_URL": replica.url("valley"),
        # Replay is paused below for longer than a production setting would allow: the lag check is not under test.
        "REPLICA_MAX_LAG_SECONDS": "3600",
        "REPLICA_PIN_SECONDS": "30",
    }
    server = start_process(
        ["manage.py", "runserver", "--noreload", f"127.0.0.1:{WEB_PORT}"], server_env, tmp_path / "web.log", "Quit"
    )
    auditor = {"Cookie": f"sessionid={cookie}"}
    export = f"{BASE}/exports/entities.csv"
    try:
        status, _, body = http("GET", export, headers=auditor)
        assert status == 200 and "Before" in body, (status, body[:500])

        # (1) The export is read from the replica: a change it has not replayed is not in it, then it is.
        _sql(REPLICA_PORT, "SELECT pg_wal_replay_pause()")
        _sql(PG_PORT, f"UPDATE teams_entity SET name_en = 'After' WHERE id = {entity_id}")
        status, _, body = http("GET", export, headers=auditor)
        assert status == 200 and "Before" in body and "After" not in body, "the export was not read from the replica"
        _sql(REPLICA_PORT, "SELECT pg_wal_replay_resume()")
        wait_until(_caught_up, 30, "the replica to replay the change")
        status, _, body = http("GET", export, headers=auditor)
        assert status == 200 and "After" in body, (status, body[:500])

        # (2) Read-your-writes: signed in (while the replica follows, so that it knows the session), replay
        # paused, a new entity submitted through the page is in the person's next API list, read from the
        # primary; the same session without the pin reads the replica, which does not have it yet.
        browser = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar := CookieJar()))
        _, _, page = http("GET", f"{BASE}/accounts/login/", opener=browser)
        status, _, _ = _post(
            browser,
            f"{BASE}/accounts/login/",
            {"csrfmiddlewaretoken": _csrf(page), "username": APPLICANT, "password": PASSWORD},
        )
        assert status == 200, status
        wait_until(_caught_up, 30, "the replica to replay the login")
        _sql(REPLICA_PORT, "SELECT pg_wal_replay_pause()")
        _, _, page = http("GET", f"{BASE}/teams/new/", opener=browser)
        fields = {
            "csrfmiddlewaretoken": _csrf(page),
            "kind": "startup",
            "name_zh": "新公司",
            "name_en": "Written-just-now",
            "institution": institution_id,
            "focus_area": area_id,
            "summary": "",
            "contact_email": "",
        }
        status, _, page = _post(browser, f"{BASE}/teams/new/", fields)
        assert status == 200 and "Written-just-now" in page, status
        status, _, body = http("GET", f"{BASE}/api/entities/", opener=browser)
        assert status == 200 and "Written-just-now" in body, "the writer did not read their own write"
        session = next(c.value for c in jar if c.name == "sessionid")
        status, _, body = http("GET", f"{BASE}/api/entities/", headers={"Cookie": f"sessionid={session}"})
        assert status == 200 and "Before" not in body and "After" in body, (status, body[:300])
        assert "Written-just-now" not in body, "the API list was not read from the replica"

        # A replica further behind than REPLICA_MAX_LAG_SECONDS is skipped: a second server allowing 1 second
        # reads the export from the primary while replay is still paused.
        strict = start_process(
            ["manage.py", "runserver", "--noreload", f"127.0.0.1:{WEB_PORT + 1}"],
            {**server_env, "REPLICA_MAX_LAG_SECONDS": "1"},
            tmp_path / "web-strict.log",
            "Quit",
        )
        try:
            time.sleep(1.5)  # the replica's last replayed write is older than the 1 second allowed
            status, _, body = http("GET", f"http://127.0.0.1:{WEB_PORT + 1}/exports/entities.csv", headers=auditor)
            assert status == 200 and "Written-just-now" in body, "a lagging replica was read"
            assert "behind (more than 1s)" in strict.log_path.read_text()
        finally:
            stop_process(strict)

        # (3) The replica stopped: the export and the dashboards answer from the primary, never a 500.
        replica.stop("immediate")
        for path in ("/exports/entities.csv", "/", "/tolerance/funds/", f"/tolerance/funds/{fund_id}/"):
            status, seconds, body = http("GET", f"{BASE}{path}", headers=auditor)
            assert status == 200 and seconds < 10, (path, status, seconds, body[:300])
        status, _, body = http("GET", export, headers=auditor)
        assert status == 200 and "Written-just-now" in body, "the export did not fall back to the primary"
        log = server.log_path.read_text()
        assert "reading from the primary" in log and "Internal Server Error" not in log, log[-3000:]
    finally:
        stop_process(server)
