"""Shared fixtures: one named user per role, and real services (PostgreSQL, Redis, a Celery worker).

Tests that need PostgreSQL or Redis skip with a reason when those are not configured, except
when VALLEY_REQUIRE_SERVICES=1 (as .ci/run sets it): then a missing service fails the test.
"""

import os
import subprocess
import sys
import time
import uuid
from decimal import Decimal
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection
from django.test import Client
from django.utils import timezone

from tests.auth_helpers import force_login_with_second_factor
from valley.core import roles

ROOT = Path(__file__).resolve().parent.parent
REQUIRE_SERVICES = os.environ.get("VALLEY_REQUIRE_SERVICES") == "1"
CHROMIUM = "/usr/bin/chromium"  # Debian's build; Playwright's own browser download is not used


def _missing(reason: str):
    if REQUIRE_SERVICES:
        pytest.fail(f"{reason} (VALLEY_REQUIRE_SERVICES=1: this run must not skip it)")
    pytest.skip(reason)


def broker_is_redis() -> bool:
    return settings.CELERY_BROKER_URL.startswith(("redis://", "rediss://"))


def pytest_runtest_setup(item):
    if item.get_closest_marker("postgres") and settings.DATABASES["default"]["ENGINE"] != (
        "django.db.backends.postgresql"
    ):
        _missing("needs PostgreSQL: set DATABASE_URL=postgres://postgres@127.0.0.1:5432/valley")
    if item.get_closest_marker("redis") and not broker_is_redis():
        _missing("needs Redis as the broker: set CELERY_BROKER_URL=redis://127.0.0.1:6379/0")
    if item.get_closest_marker("browser") and not Path(CHROMIUM).exists():
        _missing(f"needs Chromium at {CHROMIUM}: apt-get install -y chromium fonts-noto-cjk")


def pytest_report_header(config):
    db = settings.DATABASES["default"]
    return [
        f"valley: database vendor {db['ENGINE'].rsplit('.', 1)[-1]}, broker {settings.CELERY_BROKER_URL.split('://')[0]}"
    ]


# force_login counts as the second factor too (tests/auth_helpers.py says why and how).
Client.force_login = force_login_with_second_factor


@pytest.fixture(scope="session", autouse=True)
def _audit_log_flushable():
    """Transactional tests end with Django's flush of every table: let it through the audit log's
    append-only triggers (valley/management/commands/flush.py, valley.audit.guard)."""
    settings.AUDIT_LOG_FLUSHABLE = True


@pytest.fixture
def audit_maintenance():
    """Tampering as a database owner would, past the append-only triggers: to show the chain finds it."""
    from valley.audit import guard

    return guard.maintenance


@pytest.fixture(autouse=True)
def _live_home_figures(settings):
    """Tests see every change at once: no cached home figures (valley.selectors.valley_figures_cached)
    and no cached fund dashboard sections (tolerance.views.fund_dashboard)."""
    settings.HOME_FIGURES_CACHE_SECONDS = 0
    settings.FUND_DASHBOARD_CACHE_SECONDS = 0


@pytest.fixture(autouse=True)
def _session_activity_once(settings):
    """A session's "last seen" is rewritten at most once a minute (valley.accounts.sessions); a slow test
    would otherwise see an extra session write on some request and not others, and a page's query count
    change with the clock. tests/valley/test_sessions.py sets the real resolution back."""
    settings.SESSION_ACTIVITY_RESOLUTION_SECONDS = 24 * 3600


@pytest.fixture
def make_user(db, django_user_model):
    counter = iter(range(1, 10_000))

    def make(role: str | None = None, email: str | None = None, password: str = "pw-Valley-2026!", **fields):
        email = email or f"{role or 'user'}{next(counter)}@example.cn"
        is_staff = roles.ROLES[role].is_staff if role else False
        user = django_user_model.objects.create_user(email=email, password=password, is_staff=is_staff, **fields)
        if role:
            from django.contrib.auth.models import Group

            user.groups.add(Group.objects.get(name=role))
        return user

    return make


@pytest.fixture
def applicant(make_user):
    return make_user(roles.APPLICANT, email="applicant-a@example.cn")


@pytest.fixture
def other_applicant(make_user):
    return make_user(roles.APPLICANT, email="applicant-b@example.cn")


@pytest.fixture
def provincial_staff(make_user):
    return make_user(roles.PROVINCIAL_STAFF, email="staff@example.cn")


@pytest.fixture
def auditor(make_user):
    return make_user(roles.AUDITOR, email="auditor@example.cn")


@pytest.fixture
def role_user(make_user):
    """role_user("approver") makes a user holding that one role."""
    return lambda role: make_user(role)


def database_url_for_subprocess() -> str:
    """A DATABASE_URL that points a child process at the database this test is using."""
    db = connection.settings_dict
    if db["ENGINE"] == "django.db.backends.sqlite3":
        return f"sqlite:///{db['NAME']}"
    user = db.get("USER") or ""
    password = f":{db['PASSWORD']}" if db.get("PASSWORD") else ""
    auth = f"{user}{password}@" if user else ""
    return f"postgres://{auth}{db.get('HOST') or '127.0.0.1'}:{db.get('PORT') or 5432}/{db['NAME']}"


@pytest.fixture
def mail_dir(tmp_path):
    folder = tmp_path / "mail"
    folder.mkdir()
    return folder


@pytest.fixture
def celery_worker_process(transactional_db, mail_dir):
    """A real Celery worker in its own process, on the configured broker, against the test database.

    Mail it sends lands as files in `mail_dir`. Tests using it must commit their data, hence
    `transactional_db`.
    """
    env = {
        **os.environ,
        "DATABASE_URL": database_url_for_subprocess(),
        "EMAIL_BACKEND": "django.core.mail.backends.filebased.EmailBackend",
        "EMAIL_FILE_PATH": str(mail_dir),
        "PYTHONUNBUFFERED": "1",
    }
    log_path = mail_dir.parent / "worker.log"
    # Messages left in the test queue by earlier tests (published with no worker running) belong to data
    # that no longer exists; the worker must start on an empty queue, or it delivers their mail first.
    subprocess.run(
        # Every queue of the test's deployment (CELERY_TASK_QUEUES: mail, checks, notices, ...).
        [sys.executable, "-m", "celery", "-A", "valley", "purge", "-f"],
        cwd=ROOT,
        env=env,
        check=True,
        capture_output=True,
    )
    with open(log_path, "w") as log:
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "valley",
                "worker",
                "--pool=solo",
                "--loglevel=INFO",  # no --queues: it takes every queue, as in development
                "--without-gossip",
                "--without-mingle",
                "--without-heartbeat",
                "-n",
                f"test-{os.getpid()}@%h",
            ],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    deadline = time.monotonic() + 60
    while "ready." not in log_path.read_text():
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            pytest.fail(f"the Celery worker did not start:\n{log_path.read_text()[-3000:]}")
        time.sleep(0.2)
    proc.log_path = log_path
    yield proc
    proc.terminate()
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()


def wait_for(predicate, timeout: float = 30.0, interval: float = 0.2, what: str = "condition"):
    """Poll until predicate() is truthy; returns its value or fails the test after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    pytest.fail(f"timed out after {timeout}s waiting for {what}")


@pytest.fixture
def entity_factory(db):
    from tests.factories import EntityFactory

    return EntityFactory


@pytest.fixture
def residency_factory(db):
    from tests.factories import ResidencyFactory

    return ResidencyFactory


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    # Hashing is not what these tests examine; PBKDF2's deliberate slowness would dominate the suite.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def _audit_sealed_at_once(monkeypatch):
    """A test's transaction never commits, so the seal that follows a writer's commit would never run: seal
    each entry inside the writer's transaction instead, as if it had committed at once. Tests of the real
    path (sealing after the commit, writers side by side) ask for `audit_sealed_after_commit`."""
    from valley.audit import chain

    monkeypatch.setattr(chain, "_after_write", chain.seal)


@pytest.fixture
def audit_sealed_after_commit(monkeypatch):
    from valley.audit import chain

    monkeypatch.setattr(chain, "_after_write", chain._seal_after_commit)


@pytest.fixture
def start_celery_beat(tmp_path):
    """start_celery_beat(**env) runs `celery beat` in its own process with extra environment (for example
    a short schedule), on the configured broker; it is stopped after the test."""
    started = []
    # Each test's beats get a schedule (and lock) of their own in Redis, as each got its own schedule file:
    # entries last run by an earlier test must not fall due in this one. The beats of one test share it.
    key_prefix = f"valley-beat-test:{uuid.uuid4().hex}"

    def start(**extra_env):
        env = {
            **os.environ,
            "PYTHONUNBUFFERED": "1",
            "CELERY_BEAT_KEY_PREFIX": key_prefix,
            **{k: str(v) for k, v in extra_env.items()},
        }
        log_path = tmp_path / f"beat-{len(started)}.log"
        with open(log_path, "w") as log:
            proc = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "celery",
                    "-A",
                    "valley",
                    "beat",
                    "--loglevel=INFO",
                    "--schedule",
                    str(tmp_path / f"beat-schedule-{len(started)}"),
                ],
                cwd=ROOT,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        proc.log_path = log_path
        started.append(proc)
        return proc

    yield start
    for proc in started:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
    if started and settings.CELERY_BROKER_URL.startswith("redis"):
        import redis

        client = redis.Redis.from_url(settings.CELERY_BROKER_URL)
        keys = list(client.scan_iter(f"{key_prefix}*"))
        if keys:
            client.delete(*keys)


# ------------------------------------------------------------------ the start-up fund


@pytest.fixture
def people(make_user, applicant):
    """One user per role of the fund's workflow, keyed as funding.demo.walk_to expects."""
    from teams.demo import demo_uscc

    serial = iter(range(500, 600))

    return {
        "applicant": applicant,
        "reviewer": make_user(roles.REVIEWER, email="reviewer@example.cn"),
        "approver": make_user(roles.APPROVER, email="approver@example.cn"),
        "registration": make_user(roles.REGISTRATION_OFFICER, email="registration@example.cn"),
        "finance": make_user(roles.FINANCE_OFFICER, email="finance@example.cn"),
        "next_uscc": lambda: demo_uscc(next(serial)),
    }


@pytest.fixture
def sub_venue(db):
    from tests.factories import SubVenueFactory

    return SubVenueFactory(code="taiyuan-test")


@pytest.fixture
def budget(sub_venue):
    """A budget of 10,000,000 yuan this year for the sub-venue the resident entities live in."""
    from funding.models import SubVenueBudget

    return SubVenueBudget.objects.create(
        sub_venue=sub_venue, year=timezone.localdate().year, amount=Decimal("10000000")
    )


@pytest.fixture
def resident_entity(budget, applicant, residency_factory):
    """Makes an entity owned by `owner` (the applicant by default), resident in the budget's sub-venue."""

    def make(owner=None):
        residency = residency_factory(sub_venue=budget.sub_venue, entity__owner=owner or applicant)
        return residency.entity

    return make


@pytest.fixture
def application_in(resident_entity, people):
    """application_in("awaiting_decision") walks a new application there through the services."""

    from funding import services
    from funding.demo import walk_to

    def make(state, *, amount=Decimal("500000.00"), owner=None):
        entity = resident_entity(owner or people["applicant"])
        application = services.application_create(
            entity=entity, by=entity.owner, amount=amount, purpose="中试线建设", plan="建设中试线并注册公司。"
        )
        walk_to(application, state, {**people, "applicant": entity.owner})
        return type(application).objects.get(pk=application.pk)

    return make


@pytest.fixture
def media_root(tmp_path, settings):
    """Uploaded files go to a fresh folder for the test, so a test can see exactly what was stored."""
    folder = tmp_path / "media"
    folder.mkdir()
    settings.MEDIA_ROOT = folder
    return folder


def files_under(folder) -> set[str]:
    return {str(path.relative_to(folder)) for path in Path(folder).rglob("*") if path.is_file()}
