import os
import subprocess
import sys

import pytest
from django.core.exceptions import ImproperlyConfigured

from tests.conftest import ROOT
from valley import env

PRODUCTION_ENV = {
    "SECRET_KEY": "a-long-random-production-secret-0123456789-abcdefghijklmnopqrstuvwxyz",
    "ALLOWED_HOSTS": "valley.example.cn",
    "DEBUG": "0",
}


def run_manage(*args, extra_env=None):
    clean = {k: v for k, v in os.environ.items() if k not in {"DEBUG", "SECRET_KEY", "ALLOWED_HOSTS"}}
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env={**clean, **(extra_env or {})},
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.mark.parametrize("raw", ["maybe", "2", "enabled"])
def test_a_bad_boolean_stops_start_up_naming_the_variable(monkeypatch, raw):
    monkeypatch.setenv("DEBUG", raw)
    with pytest.raises(ImproperlyConfigured, match="DEBUG"):
        env.env_bool("DEBUG")


def test_a_bad_number_stops_start_up(monkeypatch):
    monkeypatch.setenv("EMAIL_PORT", "twenty-five")
    with pytest.raises(ImproperlyConfigured, match="EMAIL_PORT"):
        env.env_int("EMAIL_PORT", 25)


def test_lists_are_split_on_commas(monkeypatch):
    monkeypatch.setenv("ALLOWED_HOSTS", "a.example.cn, b.example.cn,,")
    assert env.env_list("ALLOWED_HOSTS", []) == ["a.example.cn", "b.example.cn"]


def test_production_mode_passes_check_deploy():
    result = run_manage("check", "--deploy", "--fail-level", "WARNING", extra_env=PRODUCTION_ENV)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_debug_off_without_a_secret_refuses_to_start():
    result = run_manage("check", extra_env={"DEBUG": "0"})
    assert result.returncode != 0
    assert "SECRET_KEY is not set" in result.stderr


SQLITE_READ_THEN_WRITE = r"""
import os, threading, django
django.setup()
from django.db import connection, connections, transaction

with connection.cursor() as cursor:
    cursor.execute("CREATE TABLE outbox (id INTEGER PRIMARY KEY, done INTEGER)")
    cursor.execute("INSERT INTO outbox (id, done) VALUES (1, 0), (2, 0)")
both_read = threading.Barrier(2, timeout=10)
errors = []

def worker(pk):
    try:
        with transaction.atomic():
            with connection.cursor() as cursor:
                cursor.execute("SELECT done FROM outbox WHERE id = %s", [pk])
                try:
                    both_read.wait()
                except threading.BrokenBarrierError:
                    pass  # the other one waits for the write lock: what the setting asks for
                cursor.execute("UPDATE outbox SET done = 1 WHERE id = %s", [pk])
    except Exception as error:
        errors.append(repr(error))
        both_read.abort()
    finally:
        connections.close_all()

threads = [threading.Thread(target=worker, args=(pk,)) for pk in (1, 2)]
[t.start() for t in threads]
[t.join() for t in threads]
print("errors:", errors)
"""


def test_two_sqlite_workers_that_read_then_write_wait_for_each_other_instead_of_failing(tmp_path):
    """The development default (SQLite): two Celery workers each marking an outbox row done at once.

    Without transaction_mode IMMEDIATE the second gets "database is locked" at once, and its mail is sent
    again later; with it, it waits for the first."""
    clean = {k: v for k, v in os.environ.items() if k not in {"DEBUG", "SECRET_KEY", "ALLOWED_HOSTS"}}
    done = subprocess.run(
        [sys.executable, "-c", SQLITE_READ_THEN_WRITE],
        cwd=ROOT,
        env={
            **clean,
            "DATABASE_URL": f"sqlite:///{tmp_path / 'dev.sqlite3'}",
            "DJANGO_SETTINGS_MODULE": "valley.settings",
        },
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert "errors: []" in done.stdout, done.stdout
