#!/usr/bin/env python
"""Export benchmark: the portal's CSV export of the transition history against PostgreSQL's own COPY.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/valley_bench .venv/bin/python bench/export_history.py

Builds (once) 1,000,000 history rows in the given database (BENCH_ROWS to change), starts the portal
under gunicorn with production settings on 127.0.0.1, downloads /exports/application-history.csv as an
auditor over HTTP, and runs `COPY (the same query) TO STDOUT WITH CSV` with psql. Prints both times,
their ratio (target ≤ 1.5) and the exporting worker's peak memory (target < 200 MB).
"""

import os
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ROWS = int(os.environ.get("BENCH_ROWS", "1000000"))
PORT = int(os.environ.get("BENCH_PORT", "8799"))
URL = os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/valley_bench")
RUNS = int(os.environ.get("BENCH_RUNS", "3"))
PYTHON = sys.executable


def say(message: str) -> None:
    print(f"[export bench] {message}", flush=True)


def ensure_database() -> None:
    name = URL.rsplit("/", 1)[1]
    query = f"SELECT 1 FROM pg_database WHERE datname = '{name}'"  # noqa: S608 - our own setting
    exists = subprocess.run(
        ["psql", URL.rsplit("/", 1)[0] + "/postgres", "-tAc", query],
        capture_output=True,
        text=True,
    )
    if exists.stdout.strip() != "1":
        subprocess.run(["createdb", "-h", "127.0.0.1", "-U", "postgres", name], check=True)
    subprocess.run(
        [PYTHON, "manage.py", "migrate", "-v0"], cwd=ROOT, check=True, env={**os.environ, "DATABASE_URL": URL}
    )


def build_rows() -> None:
    from django.db import connection

    from funding.models import Application, ApplicationEvent
    from tests.factories import EntityFactory, SubVenueFactory
    from valley.models import User

    have = ApplicationEvent.objects.count()
    if have >= ROWS:
        say(f"{have:,} history rows already there")
        return
    say(f"building {ROWS:,} history rows")
    started = time.perf_counter()
    venue = SubVenueFactory(code="bench")
    user, _ = User.objects.get_or_create(email="bench-staff@example.cn")
    if Application.objects.count() < 1000:
        entities = [EntityFactory() for _ in range(1000)]
        Application.objects.bulk_create(
            Application(
                entity=entity, sub_venue=venue, amount=500000, purpose=f"中试线建设 {i}", plan="计划", created_by=user
            )
            for i, entity in enumerate(entities)
        )
    first = Application.objects.order_by("pk").values_list("pk", flat=True).first()
    with connection.cursor() as cursor:
        cursor.execute("TRUNCATE funding_applicationevent")
        cursor.execute(
            """
            INSERT INTO funding_applicationevent
                (application_id, action, from_state, to_state, by_id, at, comment, internal_note)
            SELECT %s + (g %% 1000), 'funding.application.submit', 'draft', 'submitted', %s,
                   now() - g * interval '1 second', '专家意见：技术路线清晰，建议补充中试预算 ' || g, ''
            FROM generate_series(1, %s) AS g
            """,
            [first, user.pk, ROWS],
        )
        cursor.execute("ANALYZE funding_applicationevent")
    say(f"built in {time.perf_counter() - started:.1f} s")


def auditor_cookie() -> str:
    from bench.sessions import signed_in_cookie
    from valley.core import roles
    from valley.models import User

    auditor, created = User.objects.get_or_create(email="bench-auditor@example.cn", defaults={"is_staff": True})
    if created:
        from django.contrib.auth.models import Group

        auditor.groups.add(Group.objects.get(name=roles.AUDITOR))
    return signed_in_cookie(auditor)  # an auditor has passed the second factor before any export


PRODUCTION_ENV = {
    "DEBUG": "0",
    "SECRET_KEY": "bench-only-secret-" + "x" * 40,
    "ALLOWED_HOSTS": "127.0.0.1",
    "SECURE_SSL_REDIRECT": "0",
    "LOG_LEVEL": "WARNING",
}


def start_portal() -> subprocess.Popen:
    env = {**os.environ, "DATABASE_URL": URL, **PRODUCTION_ENV}
    subprocess.run([PYTHON, "manage.py", "collectstatic", "--no-input", "-v0"], cwd=ROOT, env=env, check=True)
    proc = subprocess.Popen(
        [PYTHON, "-m", "gunicorn", "valley.wsgi", "-b", f"127.0.0.1:{PORT}", "-w", "1", "--timeout", "900"],
        cwd=ROOT,
        env=env,
    )
    for _ in range(100):
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{PORT}/healthz", timeout=2)  # noqa: S310 - loopback only
            return proc
        except OSError:
            time.sleep(0.2)
    proc.kill()
    raise SystemExit("gunicorn did not start")


def worker_peak_mb(master: subprocess.Popen) -> float:
    children = subprocess.run(["pgrep", "-P", str(master.pid)], capture_output=True, text=True).stdout.split()
    peak = 0
    for pid in children:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                peak = max(peak, int(line.split()[1]))
    return peak / 1024


def download(cookie: str) -> tuple[float, int, int]:
    request = urllib.request.Request(
        f"http://127.0.0.1:{PORT}/exports/application-history.csv?header=machine",
        headers={"Cookie": f"sessionid={cookie}"},
    )
    started = time.perf_counter()
    size = lines = 0
    with urllib.request.urlopen(request, timeout=900) as response:  # noqa: S310 - loopback only
        if response.status != 200 or not response.headers.get("Content-Type", "").startswith("text/csv"):
            raise SystemExit(f"the export answered {response.status} {response.url}, not a CSV: nothing to measure")
        while chunk := response.read(1 << 20):
            size += len(chunk)
            lines += chunk.count(b"\n")
    return time.perf_counter() - started, size, lines


def copy_time(sql: str) -> float:
    started = time.perf_counter()
    subprocess.run(["psql", URL, "-c", sql], stdout=subprocess.DEVNULL, check=True)
    return time.perf_counter() - started


def main() -> None:
    os.environ["DATABASE_URL"] = URL
    os.environ.update(PRODUCTION_ENV)  # the same secret as the server, so its session cookie is valid there
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "valley.settings")
    sys.path.insert(0, str(ROOT))
    ensure_database()
    import django

    django.setup()
    build_rows()
    from django.contrib.auth.models import AnonymousUser  # noqa: F401 - settings are loaded

    from valley.exports import engine as csv_export
    from valley.exports import pgcopy as csv_copy
    from valley.models import User

    export = csv_export.catalogue()["application-history"]
    auditor_cookie_value = auditor_cookie()
    sql = csv_copy.copy_sql(export, export.queryset(User.objects.get(email="bench-auditor@example.cn")))
    portal = start_portal()
    try:
        download(auditor_cookie_value)  # warm-up: imports, connection
        portal_runs = [download(auditor_cookie_value) for _ in range(RUNS)]
        peak = worker_peak_mb(portal)
    finally:
        portal.terminate()
        portal.wait(timeout=30)
    copy_runs = [copy_time(sql) for _ in range(RUNS)]
    portal_best = min(run[0] for run in portal_runs)
    copy_best = min(copy_runs)
    _t, size, lines = portal_runs[0]
    expected = export.queryset(User.objects.get(email="bench-auditor@example.cn")).count()
    if lines - 1 != expected:  # a header line, then one line per row (no field holds a line break here)
        raise SystemExit(f"the portal's export has {lines - 1:,} rows, the database {expected:,}: not comparable")
    print()
    print(f"| measure ({lines - 1:,} rows, {size / 1e6:.0f} MB, best of {RUNS}) | value |")
    print("|---|---|")
    print(f"| portal export over HTTP (gunicorn, 1 worker) | {portal_best:.2f} s |")
    print(f"| PostgreSQL COPY (same query) TO STDOUT WITH CSV, psql to /dev/null | {copy_best:.2f} s |")
    print(f"| ratio portal / COPY (target ≤ 1.5) | {portal_best / copy_best:.2f} |")
    print(f"| exporting worker's peak memory (VmHWM; target < 200 MB) | {peak:.0f} MB |")


if __name__ == "__main__":
    main()
