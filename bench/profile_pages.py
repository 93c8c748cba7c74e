#!/usr/bin/env python
"""Per-request CPU cost of the load test's pages, measured in one process (no HTTP, no other load).

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/valley_scale .venv/bin/python bench/profile_pages.py
    ... bench/profile_pages.py --repeat 50 --only fund --profile 25

Uses the data of generate_province and the same sessions as bench/loadtest.py, with production
settings (DEBUG off). For each page prints the median wall time and CPU time of the Django process
per request and the number and time of its SQL queries; --profile N prints cProfile's N costliest
functions (cumulative) for the pages chosen with --only. On a shared machine the CPU time is the
steadier guide: wrk's req/s move with the load of the moment.
"""

import argparse
import cProfile
import os
import pstats
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from loadtest import EMAIL_DOMAIN, PAGES, PRODUCTION_ENV, api_paths  # noqa: E402
from sessions import signed_in_cookie  # noqa: E402


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=30, help="requests per page (after 3 not counted)")
    parser.add_argument("--only", default="", help="comma-separated words; pages whose label or path contain one")
    parser.add_argument("--profile", type=int, default=0, metavar="N", help="print cProfile's N costliest functions")
    parser.add_argument("--sort", default="cumulative", help="cProfile's order: cumulative or tottime")
    return parser.parse_args()


def main() -> int:
    args = parse_args()
    os.environ.update({k: v for k, v in PRODUCTION_ENV.items() if k != "LOG_LEVEL"})
    os.environ["LOG_LEVEL"] = "ERROR"
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "valley.settings")
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from funding.models import Application
    from teams.service_models import ServiceRequest
    from tolerance.models import Fund
    from valley.models import User

    call_command("collectstatic", interactive=False, verbosity=0)  # WhiteNoise's manifest, as in the load test
    applicant = User.objects.get(email=f"applicant00000@{EMAIL_DOMAIN}")
    mine = Application.objects.filter(entity__owner=applicant).order_by("-pk")
    ids = {
        "application": mine.values_list("pk", flat=True)[0],
        "fund": Fund.objects.order_by("pk").values_list("pk", flat=True).first(),
        "service_request": ServiceRequest.objects.filter(entity__owner=applicant, line__code="finance")
        .order_by("-pk")
        .values_list("pk", flat=True)
        .first(),
    }
    clients = {}
    for who, user in (
        ("staff", User.objects.get(email=f"staff@{EMAIL_DOMAIN}")),
        ("applicant", applicant),
        ("line_staff", User.objects.get(email=f"service-finance@{EMAIL_DOMAIN}")),
    ):
        # The load test's sessions: staff have passed the second factor, or every page would redirect to it.
        clients[who] = Client()
        clients[who].cookies["sessionid"] = signed_in_cookie(user)
    pages = list(PAGES) + [(label, path, "staff", "page") for label, path in api_paths()]
    words = [word for word in args.only.split(",") if word]
    print("| page | wall ms (median) | CPU ms (median) | queries | SQL ms |")
    print("|---|---:|---:|---:|---:|")
    for label, path, who, _kind in pages:
        if words and not any(word in label or word in path for word in words):
            continue
        url, client = path.format(**ids), clients[who]
        for _ in range(3):
            response = client.get(url, HTTP_HOST="127.0.0.1")
            assert response.status_code == 200, (url, response.status_code)
        walls, cpus = [], []
        profiler = cProfile.Profile() if args.profile else None
        for _ in range(args.repeat):
            wall, cpu = time.perf_counter(), time.process_time()
            if profiler:
                profiler.enable()
            response = client.get(url, HTTP_HOST="127.0.0.1")
            if profiler:
                profiler.disable()
            walls.append(time.perf_counter() - wall)
            cpus.append(time.process_time() - cpu)
        with CaptureQueriesContext(connection) as queries:
            client.get(url, HTTP_HOST="127.0.0.1")
        sql = sum(float(q["time"]) for q in queries.captured_queries) * 1000
        print(
            f"| {label} | {statistics.median(walls) * 1000:.1f} | {statistics.median(cpus) * 1000:.1f} "
            f"| {len(queries.captured_queries)} | {sql:.1f} |",
            flush=True,
        )
        if profiler:
            stats = pstats.Stats(profiler, stream=sys.stderr)
            stats.sort_stats(args.sort).print_stats(args.profile)
    return 0


if __name__ == "__main__":
    sys.exit(main())
