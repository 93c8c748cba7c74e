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
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
PY = VENV / ("Scripts/python.exe" if os.name == "nt" else "bin/python")


def say(message: str) -> None:
    print(f"==> {message}", flush=True)


def ensure_venv(extras: str) -> None:
    """Create .venv and install the project; skipped when pyproject.toml has not changed since."""
    if not PY.exists():
        say("creating the virtual environment in .venv")
        venv.EnvBuilder(with_pip=True).create(VENV)
    digest = hashlib.sha256((ROOT / "pyproject.toml").read_bytes() + extras.encode()).hexdigest()
    stamp = VENV / f".installed-{extras or 'base'}"
    if stamp.exists() and stamp.read_text() == digest:
        return
    say(f"installing dependencies ({extras or 'base'})")
    spec = f".[{extras}]" if extras else "."
    subprocess.run([str(PY), "-m", "pip", "install", "--quiet", "--upgrade", "pip"], check=True, cwd=ROOT)
    subprocess.run([str(PY), "-m", "pip", "install", "--quiet", "-e", spec], check=True, cwd=ROOT)
    stamp.write_text(digest)


def manage(*args: str, env: dict | None = None) -> None:
    subprocess.run([str(PY), "manage.py", *args], check=True, cwd=ROOT, env=env)


def run() -> int:
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    ensure_venv("")
    manage("compile_translations", env=env)
    manage("migrate", "--no-input", env=env)
    manage("seed_demo", env=env)
    bind = env.get("PORTAL_BIND", "127.0.0.1:8000")
    celery = [str(PY), "-m", "celery", "-A", "valley"]
    processes = {
        "web": [str(PY), "manage.py", "runserver", bind, "--noreload"],
        "worker": [*celery, "worker", "--loglevel=INFO", "--concurrency=2"],
        "beat": [*celery, "beat", "--loglevel=INFO"],
    }
    children = {name: subprocess.Popen(cmd, cwd=ROOT, env=env) for name, cmd in processes.items()}
    time.sleep(2)
    manage("demo_logins", env=env)
    say(f"the portal is at http://{bind}/ (staff admin at /admin/); Ctrl-C stops web, worker and beat")

    def stop(*_args):
        for proc in children.values():
            if proc.poll() is None:
                proc.terminate()

    signal.signal(signal.SIGTERM, stop)
    try:
        while all(proc.poll() is None for proc in children.values()):
            time.sleep(0.5)
        dead = [name for name, proc in children.items() if proc.poll() is not None]
        say(f"{', '.join(dead)} stopped; stopping the rest")
    except KeyboardInterrupt:
        pass
    finally:
        stop()
        for proc in children.values():
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
    return 0


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
