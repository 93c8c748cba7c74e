"""Servers of the fault tests' own, which they may stop: a Redis on 6390 and a PostgreSQL cluster on 5440.

The shared PostgreSQL (5432) and Redis (6379) are never stopped. Ports can be moved with
VALLEY_FAULT_REDIS_PORT, VALLEY_FAULT_PG_PORT and VALLEY_FAULT_WEB_PORT.
"""

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from tests.conftest import ROOT, _missing

REDIS_PORT = int(os.environ.get("VALLEY_FAULT_REDIS_PORT", "6390"))
PG_PORT = int(os.environ.get("VALLEY_FAULT_PG_PORT", "5440"))
WEB_PORT = int(os.environ.get("VALLEY_FAULT_WEB_PORT", "8871"))
PG_BIN = Path(os.environ.get("VALLEY_FAULT_PG_BIN", "/usr/lib/postgresql/15/bin"))


def port_open(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.3)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def wait_until(predicate, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


class OwnRedis:
    def __init__(self, port: int):
        self.port = port
        self.proc = None
        self.url = f"redis://127.0.0.1:{port}/0"

    def start(self):
        self.proc = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        wait_until(lambda: port_open(self.port), 20, f"redis-server on {self.port}")

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(timeout=20)
        wait_until(lambda: not port_open(self.port), 20, f"redis-server on {self.port} to stop")


@pytest.fixture
def own_redis():
    if not shutil.which("redis-server"):
        _missing("needs redis-server (apt-get install redis-server) for a Redis the test may stop")
    if port_open(REDIS_PORT):
        pytest.fail(f"port {REDIS_PORT} is taken: the fault tests start their own Redis there")
    redis = OwnRedis(REDIS_PORT)
    redis.start()
    yield redis
    redis.stop()


def _as_postgres_user(command: list[str]) -> list[str]:
    """initdb and postgres refuse to run as root: run them as the postgres user then."""
    if os.geteuid() == 0:
        return ["runuser", "-u", "postgres", "--", *command]
    return command


class OwnPostgres:
    def __init__(self, data_dir: Path, port: int):
        self.data_dir, self.port = data_dir, port
        self.log = data_dir.parent / "postgres.log"

    def url(self, name: str) -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/{name}"

    def _pg_ctl(self, *args: str):
        subprocess.run(
            _as_postgres_user([str(PG_BIN / "pg_ctl"), "-D", str(self.data_dir), "-l", str(self.log), "-w", *args]),
            check=True,
            stdout=subprocess.DEVNULL,
            timeout=60,
        )

    def init(self):
        subprocess.run(
            _as_postgres_user([str(PG_BIN / "initdb"), "-A", "trust", "-U", "postgres", "-D", str(self.data_dir)]),
            check=True,
            stdout=subprocess.DEVNULL,
            timeout=120,
        )

    def start(self):
        self._pg_ctl("-o", f"-p {self.port} -k /tmp -c listen_addresses=127.0.0.1 -c fsync=off", "start")

    def stop(self, mode: str = "fast"):
        self._pg_ctl("-m", mode, "stop")


@pytest.fixture
def own_postgres():
    if not (PG_BIN / "initdb").exists():
        _missing(f"needs PostgreSQL's server binaries in {PG_BIN} for a cluster the test may restart")
    if port_open(PG_PORT):
        pytest.fail(f"port {PG_PORT} is taken: the fault tests start their own PostgreSQL there")
    # Not under pytest's temporary folder: the postgres user could not reach into it (mode 0700).
    base = Path(tempfile.mkdtemp(prefix="valley-own-postgres-"))
    os.chmod(base, 0o777)  # the postgres user writes its data and log here
    cluster = OwnPostgres(base / "data", PG_PORT)
    try:
        cluster.init()
        cluster.start()
        yield cluster
    finally:
        with contextlib.suppress(subprocess.CalledProcessError):  # already stopped
            cluster.stop("immediate")
        shutil.rmtree(base, ignore_errors=True)


def start_process(args: list[str], env: dict, log_path: Path, ready: str | None = None, timeout: float = 60):
    """Start a child (python -m ... from the project root) logging to `log_path`; wait for `ready` in its log."""
    log = open(log_path, "w")  # noqa: SIM115 - closed with the process
    proc = subprocess.Popen(
        [sys.executable, *args], cwd=ROOT, env={**env, "PYTHONUNBUFFERED": "1"}, stdout=log, stderr=subprocess.STDOUT
    )
    proc.log_path = log_path
    if ready:
        deadline = time.monotonic() + timeout
        while ready not in log_path.read_text():
            if proc.poll() is not None or time.monotonic() > deadline:
                proc.kill()
                raise AssertionError(f"{args[:3]} did not start:\n{log_path.read_text()[-3000:]}")
            time.sleep(0.2)
    return proc


def stop_process(proc, sig=signal.SIGTERM):
    if proc.poll() is None:
        proc.send_signal(sig)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def worker_args(name: str) -> list[str]:
    # No --queues: the worker takes every queue of the test's deployment (mail, checks, notices, ...).
    return [
        "-m", "celery", "-A", "valley", "worker", "--pool=solo", "--loglevel=INFO",
        "--without-gossip", "--without-mingle", "--without-heartbeat", "-n", f"{name}-{os.getpid()}@%h",
    ]  # fmt: skip


def http(method: str, url: str, data: bytes | None = None, headers: dict | None = None, opener=None, timeout=30):
    """(status, seconds, body) of one request; errors are answers too."""
    request = urllib.request.Request(url, data=data, method=method, headers=headers or {})
    started = time.monotonic()
    try:
        with (opener or urllib.request.build_opener()).open(request, timeout=timeout) as response:
            return response.status, time.monotonic() - started, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, time.monotonic() - started, error.read().decode()
    except (urllib.error.URLError, ConnectionError, TimeoutError) as error:
        return f"no answer ({error})", time.monotonic() - started, ""
