"""`python3 dev.py run` as a newcomer runs it with PostgreSQL and Redis: var/ is made, web, worker and beat
start, mail links follow PORTAL_BIND, and when one of the three dies dev.py stops the rest and says so with a
non-zero exit status (a wrapper script or CI would otherwise take a dead portal for a running one)."""

import contextlib
import os
import signal
import socket
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest

from tests.conftest import ROOT

pytestmark = [pytest.mark.postgres, pytest.mark.redis]

PY = ROOT / ".venv" / "bin" / "python"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _children(pid: int) -> dict[str, int]:
    """The direct children of `pid`, by the part of their command line that names them."""
    found = {}
    for task in Path(f"/proc/{pid}/task").iterdir():
        for child in (task / "children").read_text().split():
            cmdline = Path(f"/proc/{child}/cmdline").read_bytes().replace(b"\0", b" ").decode()
            for name in ("runserver", "worker", "beat"):
                if name in cmdline:
                    found[name] = int(child)
    return found


@pytest.fixture
def database():
    name = f"valley_devrun_{os.getpid()}"
    psql = ["psql", "-h", "127.0.0.1", "-U", "postgres", "-q", "-c"]
    subprocess.run([*psql, f"DROP DATABASE IF EXISTS {name}"], check=True)
    subprocess.run([*psql, f"CREATE DATABASE {name}"], check=True)
    yield f"postgres://postgres@127.0.0.1:5432/{name}"
    subprocess.run([*psql, f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"], check=True)


def test_dev_run_starts_all_three_and_exits_non_zero_when_the_worker_dies(tmp_path, database):
    port = _free_port()
    var = tmp_path / "var"  # does not exist yet, as on a fresh clone
    keep = {"PATH", "HOME", "LANG", "LC_ALL", "TMPDIR"}
    env = {key: value for key, value in os.environ.items() if key in keep}
    env |= {
        "DATABASE_URL": database,
        "CELERY_BROKER_URL": "redis://127.0.0.1:6379/9",
        "CELERY_TASK_DEFAULT_QUEUE": f"valley-devrun-{os.getpid()}",
        "PORTAL_BIND": f"127.0.0.1:{port}",
        "VALLEY_VAR_DIR": str(var),
    }
    log = tmp_path / "dev.log"
    with log.open("wb") as out:
        dev = subprocess.Popen(
            [str(PY), "dev.py", "run"], cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
    try:
        deadline = time.monotonic() + 300
        while "the portal is at" not in log.read_text(errors="replace"):
            assert dev.poll() is None, f"dev.py stopped early:\n{log.read_text(errors='replace')[-3000:]}"
            assert time.monotonic() < deadline, f"dev.py did not start in 300 s:\n{log.read_text()[-3000:]}"
            time.sleep(1)
        output = log.read_text(errors="replace")
        assert f"the portal is at http://127.0.0.1:{port}/" in output
        assert "demo" in output.lower()
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=10) as response:
            assert response.status == 200
        assert var.is_dir() and (var / "mail").is_dir()

        children = _children(dev.pid)
        assert set(children) == {"runserver", "worker", "beat"}, children
        time.sleep(3)
        assert dev.poll() is None and set(_children(dev.pid)) == {"runserver", "worker", "beat"}, (
            f"a process died after starting:\n{log.read_text(errors='replace')[-3000:]}"
        )
        # The demo's mail went through the worker into files, with links to this portal's port.
        mails = sorted((var / "mail").glob("*.log"))
        links = [text for text in (m.read_text(errors="replace") for m in mails) if "http://127.0.0.1:" in text]
        assert links and all(f"http://127.0.0.1:{port}/" in text for text in links), "mail links ignore PORTAL_BIND"

        os.kill(children["worker"], signal.SIGKILL)
        assert dev.wait(timeout=60) == 1
        assert "worker (exit status" in log.read_text(errors="replace")
    finally:
        if dev.poll() is None:
            os.killpg(dev.pid, signal.SIGTERM)
            dev.wait(timeout=30)
        with contextlib.suppress(ProcessLookupError):  # the group is gone when every child has exited
            os.killpg(dev.pid, signal.SIGKILL)
