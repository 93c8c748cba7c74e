#!/usr/bin/env python
"""Load test: the portal's key pages under gunicorn, driven by wrk, beside a minimal view and stock admins.

    .venv/bin/python bench/loadtest.py                          # needs the data of generate_province
    .venv/bin/python bench/loadtest.py --duration 5 --connections 16

Starts the portal under gunicorn with production settings (DEBUG off, WhiteNoise) on 127.0.0.1 against
the generated province (SCALE_DATABASE_URL, default postgres://postgres@127.0.0.1:5432/valley_scale),
with VALLEY_BENCH=1 so that /bench/minimal/ (the smallest Django view through the same middleware)
and /bench/stock-admin/ (ModelAdmins as a newcomer writes them, valley/bench_site.py) exist. Each page
is warmed up for 2 s, then driven for --duration seconds by wrk with --connections connections and a
signed-in session. A second portal serves the small data set (SMALL_DATABASE_URL, default
valley_scale_small, made by `generate_province --size small`) the same way, and each admin list is
driven over the large data set, as a stock ModelAdmin, and over the small data set, back to back.

Prints one markdown table: throughput, p50 and p99 latency, the ratio to the minimal view's
throughput in the same run, and for admin lists the ratio to the stock ModelAdmin and to the same
list over the small data set. wrk comes from Debian (`apt-get install -y wrk`); the script tries to
install it when it is missing and says how otherwise.
"""

import argparse
import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
SCALE_URL = os.environ.get("SCALE_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/valley_scale")
SMALL_URL = os.environ.get("SMALL_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/valley_scale_small")
PRODUCTION_ENV = {
    "DEBUG": "0",
    "SECRET_KEY": "bench-only-secret-" + "x" * 40,
    "ALLOWED_HOSTS": "127.0.0.1",
    "SECURE_SSL_REDIRECT": "0",
    "LOG_LEVEL": "WARNING",
    "VALLEY_BENCH": "1",
}
EMAIL_DOMAIN = "scale.valley.example.cn"


def say(message: str) -> None:
    print(f"[loadtest] {message}", file=sys.stderr, flush=True)


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=int, default=10, help="seconds of load per page")
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--threads", type=int, default=2, help="wrk threads")
    parser.add_argument("--workers", type=int, default=3, help="gunicorn workers")
    parser.add_argument("--port", type=int, default=int(os.environ.get("BENCH_PORT", "8851")))
    parser.add_argument("--skip-small", action="store_true", help="do not measure the admin lists at 1,000 rows")
    return parser.parse_args()


def ensure_wrk() -> str:
    found = shutil.which("wrk")
    if found:
        return found
    say("wrk is missing; trying apt-get install -y wrk")
    for command in (["apt-get", "install", "-y", "wrk"], ["sudo", "-n", "apt-get", "install", "-y", "wrk"]):
        try:
            subprocess.run(command, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        except (OSError, subprocess.CalledProcessError):
            continue
        if shutil.which("wrk"):
            return shutil.which("wrk")
    sys.exit("bench/loadtest.py needs wrk: install it with `sudo apt-get install -y wrk` (Debian/Ubuntu).")


def django_env(url: str) -> dict:
    return {**os.environ, "DATABASE_URL": url, "DJANGO_SETTINGS_MODULE": "valley.settings", **PRODUCTION_ENV}


def sessions_and_paths(url: str) -> dict:
    """Signed-in session cookies and the object ids the pages need, read from the database at `url`.

    Runs in a child process so each data set gets its own Django setup.
    """
    code = f"""
import json, django
django.setup()
from funding.models import Application
from django.db.models import Count
from teams.service_models import ServiceRequest
from tolerance.models import Fund
from valley.models import ServiceLine, User

def cookie(email):
    from bench.sessions import signed_in_cookie  # passes the second factor too

    return signed_in_cookie(User.objects.get(email=email))

applicant = User.objects.get(email="applicant00000@{EMAIL_DOMAIN}")
application = Application.objects.filter(entity__owner=applicant).order_by("-pk").first()
# The finance line's queue, seen by its one service-line staff login (generate_province), and one of the
# applicant's requests to that line with messages on its page, seen by the applicant and by that staff.
line = ServiceLine.objects.get(code="finance")
mine = ServiceRequest.objects.filter(entity__owner=applicant, line=line).annotate(talk=Count("messages"))
service_request = mine.order_by("-talk", "-pk").first()
print(json.dumps({{
    "staff": cookie("staff@{EMAIL_DOMAIN}"),
    "applicant": cookie(applicant.email),
    "line_staff": cookie("service-finance@{EMAIL_DOMAIN}"),
    "application": application.pk,
    "fund": Fund.objects.order_by("pk").values_list("pk", flat=True).first(),
    "service_request": service_request.pk,
    "expect": {{
        # What each page must show, or check_page refuses to measure it.
        "/teams/services/queue/": ServiceRequest.objects.filter(line=line).order_by("submitted_at", "pk")[0].subject,
        f"/teams/services/{{service_request.pk}}/": service_request.subject,
    }},
}}))
"""
    done = subprocess.run(
        [PYTHON, "-c", code], cwd=ROOT, env=django_env(url), check=True, capture_output=True, text=True
    )
    import json

    return json.loads(done.stdout.strip().splitlines()[-1])


def start_portal(url: str, port: int, workers: int) -> subprocess.Popen:
    # Another server on the port (another checkout's runserver on a shared machine) would answer the health
    # check and be measured, and loaded, in our place.
    with socket.socket() as probe:
        if probe.connect_ex(("127.0.0.1", port)) == 0:
            raise SystemExit(f"port {port} is already in use: choose another with --port or BENCH_PORT")
    env = django_env(url)
    subprocess.run([PYTHON, "manage.py", "collectstatic", "--no-input", "-v0"], cwd=ROOT, env=env, check=True)
    proc = subprocess.Popen(
        [PYTHON, "-m", "gunicorn", "valley.wsgi", "-b", f"127.0.0.1:{port}", "-w", str(workers), "--timeout", "120"],
        cwd=ROOT,
        env=env,
    )
    for _ in range(150):
        if proc.poll() is not None:
            raise SystemExit(f"gunicorn exited with {proc.returncode}")
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2)  # noqa: S310 - loopback only
            return proc
        except OSError:
            time.sleep(0.2)
    proc.kill()
    raise SystemExit("gunicorn did not start")


def stop_portal(proc: subprocess.Popen) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()


def check_page(port: int, path: str, cookie: str, expect: str = "") -> None:
    """One request first: the page must answer 200 for the session, or the figures would mean nothing; with
    `expect`, the page must also show that text (its data, not an empty list)."""
    request = urllib.request.Request(f"http://127.0.0.1:{port}{path}", headers={"Cookie": f"sessionid={cookie}"})
    with urllib.request.urlopen(request, timeout=120) as response:  # noqa: S310 - loopback only
        # No redirect at all: a login, second-factor or re-authentication page would be measured instead.
        if response.status != 200 or response.url != f"http://127.0.0.1:{port}{path}":
            raise SystemExit(f"{path} answered {response.status} at {response.url}: not measurable")
        if expect and expect not in response.read().decode():
            raise SystemExit(f"{path} answered without {expect!r}: not measurable")


UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60000.0}


def _ms(text: str) -> float:
    number, unit = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text).groups()
    return float(number) * UNITS[unit]


def drive(wrk: str, args, port: int, path: str, cookie: str, expect: str = "") -> dict:
    check_page(port, path, cookie, expect)
    # Warm-up, not counted: every worker renders the page once (compiles its templates, fills its caches).
    warm = [wrk, f"-t{args.threads}", f"-c{args.connections}", "-d2s", "--timeout", "60s"]
    subprocess.run(
        [*warm, "-H", f"Cookie: sessionid={cookie}", f"http://127.0.0.1:{port}{path}"], check=True, capture_output=True
    )
    command = [
        wrk,
        f"-t{args.threads}",
        f"-c{args.connections}",
        f"-d{args.duration}s",
        "--timeout",
        "60s",
        "--latency",
        "-H",
        f"Cookie: sessionid={cookie}",
        f"http://127.0.0.1:{port}{path}",
    ]
    output = subprocess.run(command, check=True, capture_output=True, text=True).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1))
    p50 = _ms(re.search(r"\s50%\s+(\S+)", output).group(1))
    p99 = _ms(re.search(r"\s99%\s+(\S+)", output).group(1))
    requests = int(re.search(r"(\d+) requests in", output).group(1))
    bad = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    errors = re.search(r"Socket errors: .*timeout (\d+)", output)
    failed = (int(bad.group(1)) if bad else 0) + (int(errors.group(1)) if errors else 0)
    say(f"{path}: {rps:.1f} req/s, p50 {p50:.1f} ms, p99 {p99:.1f} ms, {requests} requests, {failed} failed")
    return {"rps": rps, "p50": p50, "p99": p99, "requests": requests, "failed": failed}


def api_paths() -> list[tuple[str, str]]:
    """The REST API's list endpoints (mounted at /api/ by valley/api.py), when this checkout has the API."""
    if not (ROOT / "valley" / "api.py").exists():
        return []
    return [
        ("API: applications", "/api/applications/"),
        ("API: application history", "/api/application-events/"),
        ("API: investments", "/api/investments/"),
        ("API: entities", "/api/entities/"),
    ]


PAGES = [
    # label, path (with {application} / {fund} / {service_request}), session, kind
    ("minimal Django view", "/bench/minimal/", "staff", "minimal"),
    ("home dashboard", "/", "applicant", "page"),
    ("applicant's application page", "/funding/{application}/", "applicant", "page"),
    ("applicant's applications list", "/funding/", "applicant", "page"),
    ("staff work queue (formal review)", "/funding/queues/formal/", "staff", "page"),
    ("fund dashboard", "/tolerance/funds/{fund}/", "staff", "page"),
    ("service line queue (line staff)", "/teams/services/queue/", "line_staff", "page"),
    ("service request page (applicant)", "/teams/services/{service_request}/", "applicant", "page"),
    ("service request page (line staff)", "/teams/services/{service_request}/", "line_staff", "page"),
    ("admin: applications", "/admin/funding/application/", "staff", "admin"),
    ("admin: application history", "/admin/funding/applicationevent/", "staff", "admin"),
    ("admin: investments", "/admin/tolerance/investment/", "staff", "admin"),
]
STOCK = {
    "/admin/funding/application/": "/bench/stock-admin/funding/application/",
    "/admin/funding/applicationevent/": "/bench/stock-admin/funding/applicationevent/",
    "/admin/tolerance/investment/": "/bench/stock-admin/tolerance/investment/",
}


def main() -> None:
    args = parse_args()
    wrk = ensure_wrk()
    pages = list(PAGES)
    pages += [(label, path, "staff", "page") for label, path in api_paths()]
    say(f"large data set: {SCALE_URL}; small data set: {SMALL_URL}")
    large_info = sessions_and_paths(SCALE_URL)
    small_info = None if args.skip_small else sessions_and_paths(SMALL_URL)
    large_portal = start_portal(SCALE_URL, args.port, args.workers)
    # The small data set's portal runs beside it (idle while the other is driven), so that each admin
    # list is measured over both data sets and against the stock admin back to back: the machine is
    # shared, and figures taken minutes apart would compare the load of the moment, not the code.
    small_portal = None if args.skip_small else start_portal(SMALL_URL, args.port + 2, args.workers)
    large, stock, small = {}, {}, {}

    def measure(results, label, path, cookie, port, expect=""):
        try:
            results[label] = drive(wrk, args, port, path, cookie, expect)
        except (SystemExit, OSError, subprocess.CalledProcessError) as error:
            say(f"{path}: not measured ({error})")
            results[label] = None

    try:
        for label, path, who, kind in pages:
            page = path.format(**large_info)
            measure(large, label, page, large_info[who], args.port, large_info["expect"].get(page, ""))
            if kind == "admin":
                measure(stock, label, STOCK[path], large_info[who], args.port)
            if kind in ("admin", "minimal") and small_info:
                measure(small, label, path.format(**small_info), small_info[who], args.port + 2)
        # The minimal view again at the end: the yardstick is the mean of both runs.
        measure(large, "minimal, again", "/bench/minimal/", large_info["staff"], args.port)
    finally:
        stop_portal(large_portal)
        if small_portal:
            stop_portal(small_portal)
    report(args, pages, large, stock, small)


def _ratio(part: float, whole: float, places: int) -> str:
    return f"{part / whole:.{places}f}" if whole else "— (0 req/s)"


def report(args, pages, large, stock, small) -> None:
    runs = [r["rps"] for r in (large.get("minimal Django view"), large.get("minimal, again")) if r]
    minimal = (sum(runs) / len(runs) if runs else None) or None
    print(
        f"| page ({args.connections} connections, {args.duration} s each, gunicorn {args.workers} workers) "
        "| req/s | p50 ms | p99 ms | × minimal view | × stock admin | large ÷ small (req/s) | failed |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    rows = [(label, kind) for label, _p, _w, kind in pages] + [("minimal, again", "minimal")]
    for label, kind in rows:
        result = large.get(label)
        if result is None:
            print(f"| {label} | not measured | | | | | | |")
            continue
        ratio = f"{result['rps'] / minimal:.3f}" if minimal else ""
        versus_stock = versus_small = ""
        # A list that finished no request in the time (a stock admin on a busy machine) has no ratio.
        if kind == "admin" and stock.get(label):
            versus_stock = _ratio(result["rps"], stock[label]["rps"], 1)
        if kind == "admin" and small.get(label):
            versus_small = _ratio(result["rps"], small[label]["rps"], 2)
        print(
            f"| {label} | {result['rps']:.1f} | {result['p50']:.1f} | {result['p99']:.1f} | {ratio} "
            f"| {versus_stock} | {versus_small} | {result['failed']} |"
        )
    for label, result in stock.items():
        if result:
            print(
                f"| {label}, stock ModelAdmin | {result['rps']:.1f} | {result['p50']:.1f} | {result['p99']:.1f} "
                f"| {result['rps'] / minimal if minimal else 0:.3f} | 1.0 | | {result['failed']} |"
            )
    for label, result in small.items():
        if result:
            print(
                f"| {label}, small data set | {result['rps']:.1f} | {result['p50']:.1f} | {result['p99']:.1f} "
                f"| {result['rps'] / minimal if minimal else 0:.3f} | | | {result['failed']} |"
            )
    print()
    print(
        f"Large data set: {SCALE_URL.rsplit('/', 1)[1]} (generate_province); small: "
        f"{SMALL_URL.rsplit('/', 1)[1]} (--size small). × minimal view: throughput over the mean of the two "
        "minimal-view runs (first and last). Latencies include the wait for a free worker: with 16 "
        f"connections and {args.workers} sync workers a request queues behind others."
    )


if __name__ == "__main__":
    main()
