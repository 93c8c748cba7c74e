"""The deployment files (Procfile, deploy/systemd/*.service, deploy/valley.env.example) say things that work:
their modules exist, the documented production variables pass `check --deploy`, and the Procfile's web
command serves /healthz behind a TLS-terminating proxy."""

import os
import re
import shlex
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
VENV_BIN = Path(sys.executable).parent


def procfile() -> dict[str, str]:
    lines = (ROOT / "Procfile").read_text().splitlines()
    return dict(line.split(": ", 1) for line in lines if line and not line.startswith("#"))


def unit_exec_start(name: str) -> str:
    text = (ROOT / "deploy" / "systemd" / name).read_text().replace("\\\n", " ")
    (line,) = [line for line in text.splitlines() if line.startswith("ExecStart=")]
    return line.removeprefix("ExecStart=")


def example_env(tmp_path: Path) -> dict[str, str]:
    """deploy/valley.env.example as systemd reads it, with the machine's folders moved under tmp_path."""
    values = {}
    for line in (ROOT / "deploy" / "valley.env.example").read_text().splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            key, value = line.split("=", 1)
            values[key.strip()] = value.strip().strip('"')
    values.update(
        VALLEY_VAR_DIR=str(tmp_path / "var"), MEDIA_ROOT=str(tmp_path / "media"), STATIC_ROOT=str(tmp_path / "static")
    )
    return values


def clean_environment() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if k not in {"DEBUG", "SECRET_KEY", "ALLOWED_HOSTS", "PORT"}}


def test_every_command_names_the_wsgi_application_and_the_celery_app_that_exist():
    from valley.celery import app
    from valley.wsgi import application

    assert callable(application) and app.main == "valley"
    commands = {**procfile(), **{n: unit_exec_start(f"valley-{n}.service") for n in ("web", "worker", "beat")}}
    for name, command in commands.items():
        if name.startswith("web") or "gunicorn" in command:
            assert "gunicorn valley.wsgi:application" in command and "--forwarded-allow-ips" in command, name
        elif name != "release":
            assert re.search(r"celery -A valley (worker|beat)\b", command), name
    assert "migrate --no-input" in procfile()["release"]
    # Exactly one scheduler: beat is its own service, never `worker --beat`.
    assert not any("--beat" in c or " -B" in c for c in commands.values())


def test_the_documented_production_variables_pass_check_deploy(tmp_path):
    env = {**clean_environment(), **example_env(tmp_path)}
    done = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "no issues" in done.stdout


def test_the_celery_app_loads_with_the_documented_variables(tmp_path):
    env = {**clean_environment(), **example_env(tmp_path)}
    done = subprocess.run(
        [str(VENV_BIN / "celery"), "-A", "valley", "report"], cwd=ROOT, env=env, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    assert "redis://redis.internal:6379/0" in done.stdout.replace("**", "")  # the broker the example names


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_the_procfile_web_command_serves_the_health_check_behind_a_tls_proxy(tmp_path):
    port = _free_port()
    env = {
        **clean_environment(),
        **example_env(tmp_path),
        "DATABASE_URL": f"sqlite:///{tmp_path}/health.sqlite3",
        "PORT": str(port),
        "WEB_CONCURRENCY": "1",
        "PATH": f"{VENV_BIN}{os.pathsep}{os.environ.get('PATH', '')}",
    }
    command = procfile()["web"].replace("0.0.0.0:", "127.0.0.1:")  # only loopback in tests
    log = open(tmp_path / "gunicorn.log", "w")  # noqa: SIM115 (closed below)
    server = subprocess.Popen(["bash", "-c", "exec " + command], cwd=ROOT, env=env, stdout=log, stderr=log)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if server.poll() is not None or time.monotonic() > deadline:
                    pytest.fail("gunicorn did not start:\n" + (tmp_path / "gunicorn.log").read_text()[-3000:])
                time.sleep(0.2)
        request = urllib.request.Request(
            f"http://127.0.0.1:{port}/healthz",
            headers={"Host": "valley.example.cn", "X-Forwarded-Proto": "https"},
        )
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 (loopback)
            assert response.status == 200
            assert b'"status": "ok"' in response.read()
    finally:
        server.terminate()
        server.wait(timeout=20)
        log.close()
    assert shlex.split(command)[0] == "gunicorn"


def test_every_task_goes_to_a_queue_that_a_procfile_worker_and_a_systemd_unit_serve():
    """Work of each kind on its own queue (mail, checks, notices, exports): a task routed to a queue nobody
    serves would wait forever in production, although every test passes (their workers take all queues)."""
    from django.conf import settings

    from valley.celery import app

    app.loader.import_default_modules()
    default = settings.CELERY_TASK_DEFAULT_QUEUE

    def queues_of(command: str) -> set[str]:
        command = command.replace("${CELERY_TASK_DEFAULT_QUEUE:-valley}", default)
        command = command.replace("${CELERY_TASK_DEFAULT_QUEUE}", default)
        found = re.search(r"--queues (\S+)", command)
        return set(found.group(1).split(",")) if found else set()

    procfile_served = set().union(*(queues_of(c) for n, c in procfile().items() if n.startswith("worker")))
    unit = unit_exec_start("valley-worker@.service")
    systemd_served = queues_of(unit_exec_start("valley-worker.service")) | {
        queues_of(unit.replace("%i", kind)).pop() for kind in settings.CELERY_QUEUES_BY_KIND if kind != "default"
    }
    ours = [name for name in app.tasks if name.split(".")[0] in {"valley", "teams", "funding", "tolerance"}]
    routed = {name: app.amqp.router.route({}, name)["queue"].name for name in ours}
    assert set(routed.values()) <= procfile_served == systemd_served == set(settings.CELERY_QUEUES_BY_KIND.values())
    # The kinds of work that must not wait behind each other are apart.
    assert routed["valley.tasks.send_mail_task"] == f"{default}.mail"
    assert routed["tolerance.tasks.check_fund_compliance"] == f"{default}.checks"
    assert routed["funding.tasks.end_public_notices"] == f"{default}.notices"
    assert routed["valley.tasks.outbox_sweep"] == default
    for entry in settings.CELERY_BEAT_SCHEDULE.values():
        assert entry["task"] in routed, entry["task"]
