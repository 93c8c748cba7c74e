#!/usr/bin/env python3
"""Run the three fault tests (tests/faults) at full length and print what each saw, as a table.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/valley CELERY_BROKER_URL=redis://127.0.0.1:6379/0 \\
        .venv/bin/python bench/faults.py [--outage 30] [--pg-down 30]

Redis is stopped for --outage seconds (the CI run uses 8) and PostgreSQL for --pg-down seconds (CI: 4). The
tests start their own Redis on 6390 and PostgreSQL on 5440 (never the shared servers) and a web server on
8871; they need redis-server and PostgreSQL 15's server binaries.
"""

import argparse
import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TESTS = {
    "Redis stopped while people work": "tests/faults/test_redis_outage.py",
    "worker killed mid-check": "tests/faults/test_worker_killed.py",
    "PostgreSQL restarted": "tests/faults/test_database_restart.py",
}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--outage", type=int, default=30, help="seconds Redis stays down")
    parser.add_argument("--pg-down", type=int, default=30, help="seconds PostgreSQL stays down")
    args = parser.parse_args()
    env = {
        **os.environ,
        "VALLEY_FAULT_REDIS_OUTAGE_SECONDS": str(args.outage),
        "VALLEY_FAULT_PG_DOWN_SECONDS": str(args.pg_down),
        "VALLEY_REQUIRE_SERVICES": "1",
    }
    python = ROOT / ".venv" / "bin" / "python"
    rows, failed = [], 0
    for title, path in TESTS.items():
        result = subprocess.run(
            [str(python), "-m", "pytest", "-s", "-q", "-p", "no:cacheprovider", path],
            cwd=ROOT, env=env, capture_output=True, text=True,
        )  # fmt: skip
        lines = [line.split(": ", 1)[1] for line in result.stdout.splitlines() if re.match(r"^  [a-z ]+: ", line)]
        passed = result.returncode == 0
        failed += not passed
        rows.append((title, "passed" if passed else "FAILED", lines or [result.stdout[-1500:]]))
    print(f"| fault | result | what the test saw (Redis down {args.outage}s, PostgreSQL down {args.pg_down}s) |")
    print("|---|---|---|")
    for title, verdict, lines in rows:
        print(f"| {title} | {verdict} | {'<br>'.join(lines)} |")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
