"""The load test with invariants (bench/load_invariants.py), CI-sized: 10 applicants and 2 staff for 10 s
against gunicorn (production settings), PostgreSQL, Redis and a Celery worker, through the real pages.
The full run (50 applicants, 5 staff, 60 s) is `.venv/bin/python bench/load_invariants.py`."""

import json
import os
import socket
import subprocess
import sys
from urllib.parse import urlparse

import pytest
from django.conf import settings

from tests.conftest import ROOT

pytestmark = [pytest.mark.postgres, pytest.mark.redis]


def free_port() -> int:
    if os.environ.get("VALLEY_LOAD_PORT"):
        return int(os.environ["VALLEY_LOAD_PORT"])
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_short_load_leaves_no_5xx_nothing_lost_and_every_invariant(tmp_path):
    db = settings.DATABASES["default"]
    # A database of its own beside this run's (the script drops and creates it).
    load_url = urlparse(os.environ["DATABASE_URL"])._replace(path=f"/{db['NAME'].removeprefix('test_')}_load").geturl()
    summary_path = tmp_path / "summary.json"
    env = {**os.environ, "LOAD_DATABASE_URL": load_url, "VALLEY_VAR_DIR": str(tmp_path / "var")}
    done = subprocess.run(
        [
            sys.executable, "bench/load_invariants.py", "--applicants", "10", "--staff", "2", "--duration", "10",
            "--port", str(free_port()), "--broker", settings.CELERY_BROKER_URL,
            "--queue", f"{settings.CELERY_TASK_DEFAULT_QUEUE}-load", "--json", str(summary_path),
        ],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=240,
    )  # fmt: skip
    print(done.stdout[-6000:], done.stderr[-3000:])
    summary = json.loads(summary_path.read_text())

    assert summary["server_errors"] == 0, summary["problems"]
    assert summary["failed_requests"] == {}
    assert summary["requests"] > 30
    assert summary["applications_created"] == summary["applications_in_db"] > 0
    assert summary["lost"] == summary["duplicated"] == []
    assert summary["history_mismatches"] == {}
    assert summary["violations"] == [] and summary["invariants_checked"]["history_path"] > 0
    assert summary["transitions"].get("approve", 0) > 0 and summary["transitions"].get("disburse", 0) > 0
    assert done.returncode == 0 and summary["ok"], summary["problems"]
