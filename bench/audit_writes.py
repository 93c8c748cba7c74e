"""Benchmark: audited writes by 1, 4 and 8 concurrent writers, the old chain-head lock against sealing.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/valley .venv/bin/python bench/audit_writes.py
    .venv/bin/python bench/audit_writes.py --before /tmp/audit-before --seconds 10 --writers 1 4 8

BEFORE is the commit before issue 13's work (f879097), checked out beside this tree:

    git worktree add /tmp/audit-before f879097 && ln -s "$PWD/.venv" /tmp/audit-before/.venv

there `audit.record` locks the chain head inside the writer's transaction until it commits. AFTER is
this tree: `audit.record` appends a pending entry, and the writer seals it after its commit.

For each side the script creates a database of its own (DATABASE_URL's name + "_bench_audit_before" or
"_after", dropped first if it exists, dropped at the end unless --keep) and migrates it with that
side's code; then, for each number of writers, it starts that many processes (each its own database
connection, released together) that each run audited transactions for --seconds: `audit.record(...)`
and a one-row UPDATE of the writer's own row in one transaction. It counts the committed transactions,
checks afterwards that nothing is left unsealed and that `verify_audit_log` finds the chain intact,
and prints a table of transactions per second. The sides alternate for each number of writers, so both
see the same machine. The target is
AFTER ≥ 1.8 × BEFORE at 8 writers.
"""

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlparse, urlunparse

ROOT = Path(__file__).resolve().parent.parent
WRITER_TABLE = "bench_audit_writer"


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    checkout = "/tmp/audit-before"  # noqa: S108 (a git worktree, not a temporary file)
    parser.add_argument("--before", default=checkout, help="checkout of the commit before (f879097)")
    parser.add_argument("--writers", type=int, nargs="+", default=[1, 4, 8])
    parser.add_argument("--seconds", type=float, default=10.0, help="how long each run writes")
    parser.add_argument("--keep", action="store_true", help="keep the benchmark databases afterwards")
    parser.add_argument("--worker", nargs=3, metavar=("TREE", "NUMBER", "START_AT"), help=argparse.SUPPRESS)
    return parser.parse_args()


def urls(name_suffix: str) -> tuple[str, str]:
    url = os.environ.get("DATABASE_URL", "")
    parsed = urlparse(url)
    if parsed.scheme not in {"postgres", "postgresql"}:
        sys.exit("bench/audit_writes.py needs PostgreSQL: set DATABASE_URL=postgres://postgres@127.0.0.1:5432/valley")
    name = f"{parsed.path.lstrip('/') or 'valley'}_bench_audit_{name_suffix}"
    return urlunparse(parsed._replace(path="/postgres")), urlunparse(parsed._replace(path=f"/{name}"))


def psql(url: str, sql: str) -> str:
    done = subprocess.run(["psql", url, "-XAtq", "-v", "ON_ERROR_STOP=1", "-c", sql], capture_output=True, text=True)
    if done.returncode != 0:
        sys.exit(f"psql failed: {done.stderr.strip()}")
    return done.stdout.strip()


def env_for(url: str) -> dict:
    return {
        **os.environ,
        "DATABASE_URL": url,
        "DJANGO_SETTINGS_MODULE": "valley.settings",
        "DEBUG": "0",
        "SECRET_KEY": os.environ.get("SECRET_KEY", "bench-audit-writes-" + "x" * 40),
        "ALLOWED_HOSTS": "localhost",
    }


def manage(tree: Path, url: str, *args: str) -> str:
    python = tree / ".venv" / "bin" / "python"
    done = subprocess.run([str(python), "manage.py", *args], cwd=tree, env=env_for(url), capture_output=True, text=True)
    if done.returncode != 0:
        sys.exit(f"manage.py {' '.join(args)} in {tree} failed:\n{done.stdout}\n{done.stderr}")
    return done.stdout.strip()


def prepare(tree: Path, suffix: str, writers: int) -> str:
    maintenance, url = urls(suffix)
    name = urlparse(url).path.lstrip("/")
    psql(maintenance, f'DROP DATABASE IF EXISTS "{name}"')
    psql(maintenance, f'CREATE DATABASE "{name}"')
    manage(tree, url, "migrate", "--no-input")
    psql(url, f"CREATE TABLE {WRITER_TABLE} (id integer PRIMARY KEY, n bigint NOT NULL DEFAULT 0)")
    psql(url, f"INSERT INTO {WRITER_TABLE} (id) SELECT generate_series(1, {writers})")
    return url


def run(tree: Path, url: str, writers: int, seconds: float) -> float:
    """Start `writers` processes, release them together, return committed transactions per second."""
    python = tree / ".venv" / "bin" / "python"
    start_at = time.time() + 4.0 + 0.5 * writers  # room for every process to set Django up first
    procs = [
        subprocess.Popen(
            [
                str(python),
                str(Path(__file__).resolve()),
                "--seconds",
                str(seconds),
                "--worker",
                str(tree),
                str(n),
                str(start_at),
            ],
            cwd=tree,
            env=env_for(url),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for n in range(1, writers + 1)
    ]
    total, elapsed = 0, 0.0
    for proc in procs:
        out, err = proc.communicate(timeout=seconds + 120)
        if proc.returncode != 0:
            sys.exit(f"a writer failed:\n{err}")
        result = json.loads(out.strip().splitlines()[-1])
        total += result["transactions"]
        elapsed = max(elapsed, result["elapsed"])
    return total / elapsed


def check(tree: Path, url: str) -> tuple[str, int]:
    unsealed = 0
    columns = psql(url, "SELECT column_name FROM information_schema.columns WHERE table_name = 'valley_auditentry'")
    if "hash" in columns.split():
        unsealed = int(psql(url, "SELECT count(*) FROM valley_auditentry WHERE hash IS NULL"))
    return manage(tree, url, "verify_audit_log"), unsealed


def worker(tree: str, number: int, start_at: float, seconds: float) -> None:
    """One writer: its own process and connection, audited transactions until the time is up."""
    sys.path.insert(0, tree)
    os.chdir(tree)
    import django

    django.setup()
    from django.db import connection, transaction

    from valley import audit

    connection.ensure_connection()
    time.sleep(max(0.0, start_at - time.time()))
    began, done = time.perf_counter(), 0
    while time.perf_counter() - began < seconds:
        with transaction.atomic():
            audit.record(
                action="bench.write", object_type="bench.writer", object_id=number, after={"transaction": done}
            )
            with connection.cursor() as cursor:
                cursor.execute(f"UPDATE {WRITER_TABLE} SET n = n + 1 WHERE id = %s", [number])  # noqa: S608
        done += 1
    elapsed = time.perf_counter() - began
    connection.close()
    print(json.dumps({"transactions": done, "elapsed": elapsed}))


def main() -> None:
    args = parse_args()
    if args.worker:
        tree, number, start_at = args.worker
        worker(tree, int(number), float(start_at), args.seconds)
        return
    before = Path(args.before).resolve()
    if not (before / "manage.py").exists() or not (before / ".venv").exists():
        sys.exit(f"{before} is not a checkout with .venv: git worktree add {before} f879097 && ln -s ... .venv")
    sides = {"before": before, "after": ROOT}
    commits = {
        side: subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=tree, capture_output=True, text=True
        ).stdout.strip()
        for side, tree in sides.items()
    }
    print(f"before: {before} at {commits['before']}; after: {ROOT} at {commits['after']} (and its uncommitted changes)")
    databases = {side: prepare(tree, side, max(args.writers)) for side, tree in sides.items()}
    rows = []
    try:
        for writers in args.writers:
            figures = {}
            for side, tree in sides.items():
                rate = run(tree, databases[side], writers, args.seconds)
                verdict, unsealed = check(tree, databases[side])
                figures[side] = rate
                print(f"  {side:6} {writers} writer(s): {rate:8.1f} transactions/s; {verdict} Unsealed: {unsealed}.")
                if "NOT" in verdict or "intact" not in verdict or unsealed:
                    sys.exit(f"{side}: the chain is not intact after {writers} writers: {verdict}; unsealed {unsealed}")
            rows.append((writers, figures["before"], figures["after"]))
    finally:
        if not args.keep:
            for side, url in databases.items():
                psql(urls(side)[0], f'DROP DATABASE IF EXISTS "{urlparse(url).path.lstrip("/")}"')

    one_before, one_after = rows[0][1], rows[0][2]
    print()
    first = rows[0][0]
    print(f"| writers | before (tx/s) | after (tx/s) | after ÷ before | before ÷ {first} | after ÷ {first} |")
    print("|---:|---:|---:|---:|---:|---:|")
    for writers, b, a in rows:
        print(f"| {writers} | {b:.1f} | {a:.1f} | {a / b:.2f} | {b / one_before:.2f} | {a / one_after:.2f} |")
    last = rows[-1]
    print(f"\nat {last[0]} writers: after ÷ before = {last[2] / last[1]:.2f} (target ≥ 1.8)")


if __name__ == "__main__":
    main()
