#!/usr/bin/env python3
"""Set up and run the Valley Portal with nothing but Python and git.

    python3 dev.py run     # venv, dependencies, translations, database, demo data; web + worker + beat
    python3 dev.py test    # venv with test tools, translations; the whole test suite (extra args go to pytest)

Everything lands in .venv/ and var/ inside the checkout. Configuration comes from the
environment (see README.md); with none, SQLite and a broker that needs no server are used.
"""

import hashlib
import os
import signal
import subprocess
import sys
import time
import urllib.request
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
PY = VENV / ("Scripts/python.exe" if os.name == "nt" else "bin/python")


def say(message: str) -> None:
    print(f"==> {message}", flush=True)


def ensure_venv(extras: str) -> None:
    """Create .venv and install the project; skipped when pyproject.toml has not changed since.

    The test extras include everything the portal needs, so `run` after `test` installs nothing more.
    """
    if not PY.exists():
        say("creating the virtual environment in .venv")
        venv.EnvBuilder(with_pip=True).create(VENV)
    digests = {
        name: hashlib.sha256((ROOT / "pyproject.toml").read_bytes() + name.encode()).hexdigest()
        for name in {extras, "test"}
    }
    for name in (extras, "test") if not extras else (extras,):
        stamp = VENV / f".installed-{name or 'base'}"
        if stamp.exists() and stamp.read_text() == digests[name]:
            return
    say(f"installing dependencies ({extras or 'base'})")
    spec = f".[{extras}]" if extras else "."
    subprocess.run([str(PY), "-m", "pip", "install", "--quiet", "--upgrade", "pip"], check=True, cwd=ROOT)
    subprocess.run([str(PY), "-m", "pip", "install", "--quiet", "-e", spec], check=True, cwd=ROOT)
    (VENV / f".installed-{extras or 'base'}").write_text(digests[extras])


def manage(*args: str, env: dict | None = None) -> None:
    subprocess.run([str(PY), "manage.py", *args], check=True, cwd=ROOT, env=env)


def _development_env() -> dict:
    """The environment of `dev.py run`: what a newcomer's machine needs, unless they said otherwise.

    Links in mail follow PORTAL_BIND (a confirmation link must reach the portal that sent it), mail is
    written to files under var/mail/ instead of scrolling the demo logins away, and var/ exists before
    Celery beat writes its schedule there. Beat looks for ended public notices every half minute: the demo
    policy's notice lasts minutes (funding/demo.py), and a newcomer should not wait for the hourly check.
    """
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    bind = env.setdefault("PORTAL_BIND", "127.0.0.1:8000")
    env.setdefault("SITE_URL", _local_url(bind))
    var = Path(env.get("VALLEY_VAR_DIR", ROOT / "var"))
    env.setdefault("EMAIL_BACKEND", "django.core.mail.backends.filebased.EmailBackend")
    env.setdefault("EMAIL_FILE_PATH", str(var / "mail"))
    env.setdefault("FUNDING_NOTICE_CHECK_SECONDS", "30")
    Path(env["EMAIL_FILE_PATH"]).mkdir(parents=True, exist_ok=True)
    var.mkdir(parents=True, exist_ok=True)
    return env


def _local_url(bind: str) -> str:
    """The URL a browser on this machine uses for a runserver bound to `bind` ("0.0.0.0:8000" too)."""
    host, _, port = bind.rpartition(":")
    return f"http://{'127.0.0.1' if host in {'', '0.0.0.0'} else host}:{port}"  # noqa: S104


def _wait_until_up(url: str, children: dict, seconds: float = 60) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if any(proc.poll() is not None for proc in children.values()):
            return False
        try:
            with urllib.request.urlopen(url, timeout=2) as response:  # noqa: S310 - our own local URL
                if response.status == 200:
                    return True
        except OSError:
            pass
        time.sleep(0.5)
    return False


def run() -> int:
    """Web, worker and beat until Ctrl-C (exit 0) or until one of them dies (exit 1, naming it)."""
    env = _development_env()
    ensure_venv("")
    manage("compile_translations", env=env)
    manage("migrate", "--no-input", env=env)
    manage("seed_demo", env=env)
    bind = env["PORTAL_BIND"]
    celery = [str(PY), "-m", "celery", "-A", "valley"]
    processes = {
        "web": [str(PY), "manage.py", "runserver", bind, "--noreload"],
        "worker": [*celery, "worker", "--loglevel=INFO", "--concurrency=2"],
        "beat": [*celery, "beat", "--loglevel=INFO"],
    }
    children = {name: subprocess.Popen(cmd, cwd=ROOT, env=env) for name, cmd in processes.items()}
    stopping = False

    def stop(*_args):
        nonlocal stopping
        stopping = True
        for proc in children.values():
            if proc.poll() is None:
                proc.terminate()

    signal.signal(signal.SIGTERM, stop)
    dead = []
    try:
        if _wait_until_up(f"{_local_url(bind)}/healthz", children):
            time.sleep(2)  # let the worker and beat print their banners before the logins
            manage("demo_logins", env=env)
            say(f"mail is written to {env['EMAIL_FILE_PATH']}/ (one file per message)")
            say(f"the portal is at {_local_url(bind)}/ (staff admin at /admin/); Ctrl-C stops web, worker and beat")
        while not stopping and all(proc.poll() is None for proc in children.values()):
            time.sleep(0.5)
        dead = [] if stopping else [name for name, proc in children.items() if proc.poll() is not None]
        if dead:
            codes = ", ".join(f"{name} (exit status {children[name].returncode})" for name in dead)
            say(f"{codes} stopped; stopping the rest")
    except KeyboardInterrupt:
        pass
    finally:
        stop()
        for proc in children.values():
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
    return 1 if dead else 0


def test(pytest_args: list[str]) -> int:
    # Keep the tests' broker folder, queue and mail apart from a portal running in the same checkout.
    env = {
        **os.environ,
        "VALLEY_VAR_DIR": os.environ.get("VALLEY_VAR_DIR", str(ROOT / "var" / "test")),
        "CELERY_TASK_DEFAULT_QUEUE": os.environ.get("CELERY_TASK_DEFAULT_QUEUE", "valley-test"),
    }
    ensure_venv("test")
    manage("compile_translations", env=env)
    return subprocess.run([str(PY), "-m", "pytest", *pytest_args], cwd=ROOT, env=env).returncode


def main(argv: list[str]) -> int:
    if sys.version_info < (3, 11):  # noqa: UP036 - this script is what an older Python runs first
        print("The Valley Portal needs Python 3.11 or newer.", file=sys.stderr)
        return 2
    if len(argv) < 2 or argv[1] not in {"run", "test"}:
        print(__doc__)
        return 2
    return run() if argv[1] == "run" else test(argv[2:])


if __name__ == "__main__":
    sys.exit(main(sys.argv))
