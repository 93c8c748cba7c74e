#!/usr/bin/env python
"""Load with invariants: simulated applicants and staff drive the real pages, then the books must balance.

    .venv/bin/python bench/load_invariants.py                      # 50 applicants, 5 staff, 60 s
    .venv/bin/python bench/load_invariants.py --applicants 10 --staff 2 --duration 10

Needs PostgreSQL and Redis. (Re)creates its own database (LOAD_DATABASE_URL, default
postgres://postgres@127.0.0.1:5432/valley_load_invariants), migrates it and seeds a scenario: one
sub-venue with a budget that has room for about four more grants, one resident entity per
applicant, staff with the workflow's roles, 20 earlier grants waiting for registration verification
or their next instalment (some with the report on the first accepted) and 6 earlier applications
awaiting the decision. Starts gunicorn with production
settings (DEBUG off, SECRET_KEY set, ALLOWED_HOSTS 127.0.0.1) and a Celery worker on Redis
(CELERY_BROKER_URL, default redis://127.0.0.1:6379/0). Every simulated user signs in, then all of
them work for --duration seconds, each in its own thread:

- applicants sign in through the login form (with its CSRF token), write a draft in the form, submit it,
  follow it, answer a return for changes by editing and submitting again, sometimes withdraw, and apply
  again once an application ended without a grant;
- staff sign in the same way (`staff_login` is the one place that does it) and work their queues through
  the real pages: formal review (start, pass or return), expert review (assign themselves, review,
  complete), the decision (approve, reject or return), registration verification and instalments.

Afterwards it counts every response by status and checks: no 5xx and no failed request; every
application a client believes it created exists exactly once (nothing lost, nothing duplicated); each
transition the clients saw succeed was recorded exactly once in the history; and funding.invariants
holds (`manage.py check_invariants`). Prints a summary; exit status 1 if any check fails. --json PATH
also writes the summary as JSON (tests/funding/test_load_invariants.py reads it).
"""

import argparse
import base64
import collections
import datetime
import hmac
import html
import io
import json
import os
import random
import re
import struct
import subprocess
import sys
import threading
import time
from pathlib import Path
from urllib.parse import urlparse, urlunparse

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
PYTHON = sys.executable
PASSWORD = "load-Valley-2026!"
DOMAIN = "load.valley.example.cn"
# Staff sign in with a second factor: the demo secret (valley.demo.DEMO_TOTP_SECRET) is seeded for them.
DEMO_TOTP_SECRET = "VALLEYDEMOJCGTWENTYTWENTYSIXJCGV"
PRODUCTION_ENV = {
    "DEBUG": "0",
    "SECRET_KEY": "load-invariants-only-secret-" + "k" * 40,
    "ALLOWED_HOSTS": "127.0.0.1",
    "SECURE_SSL_REDIRECT": "0",
    "LOG_LEVEL": "WARNING",
    "EMAIL_BACKEND": "django.core.mail.backends.dummy.EmailBackend",
}
# Queues each staff member works, by the roles they hold (valley.core.roles codes).
STAFF_SETS = {
    5: [["reviewer"], ["reviewer"], ["approver"], ["registration_officer"], ["finance_officer"]],
    2: [["approver", "reviewer"], ["finance_officer", "registration_officer"]],
}
# What the simulated people know of the workflow, read from funding.workflow by the seeding child process
# (workflow_facts; the clients run without Django) before anyone starts: the states, each transition's
# sources, the staff queues and the history row each step writes.
FLOW: dict = {}
# The steps the simulated people take, in the order of the summary's table: transitions of the table (their
# history rows' codes come from FLOW) and three steps whose history rows are not transitions.
STEPS = (
    "create",
    "submit",
    "withdraw",
    "start_formal_review",
    "pass_formal_review",
    "return_for_changes",
    "assign_reviewer",
    "review",
    "complete_expert_review",
    "approve",
    "reject",
    "verify_registration",
    "disburse",
)
OTHER_EVENTS = {
    "create": "funding.application.created",
    "assign_reviewer": "funding.review.assigned",
    "review": "funding.review.submitted",
}
EVENT_OF: dict[str, str] = {}  # step → the action code of the history row it writes (learn_workflow)


def workflow_facts() -> dict:
    """The workflow as plain JSON for the clients. Child process."""
    from funding.models import Application
    from funding.workflow import QUEUES, WORKFLOW, history_action

    queues_of_role: dict[str, list[str]] = {}
    for key, (_label, role, _states) in QUEUES.items():
        queues_of_role.setdefault(role, []).append(key)
    return {
        "initial": WORKFLOW.initial,
        "returned": WORKFLOW["return_for_changes"].target,
        "granted": list(Application.GRANTED_STATES),
        "ended": list(Application.ENDED_STATES),
        "sources": {name: list(transition.sources) for name, transition in WORKFLOW.transitions.items()},
        "queues_of_role": queues_of_role,
        "queue_states": {key: list(states) for key, (_label, _role, states) in QUEUES.items()},
        "events": {name: history_action(name) for name in WORKFLOW.transitions},
    }


def learn_workflow(facts: dict) -> None:
    FLOW.update(facts)
    EVENT_OF.update({step: OTHER_EVENTS.get(step) or facts["events"][step] for step in STEPS})


def say(message: str) -> None:
    print(f"[load] {message}", file=sys.stderr, flush=True)


# ------------------------------------------------------------------ inside Django (child processes)


def seed(applicants: int, staff: int) -> dict:
    """Migrate the fresh database and seed the scenario. Runs in a child process with Django set up."""
    from decimal import Decimal

    from django.core.management import call_command

    call_command("migrate", "--no-input", verbosity=0)

    from django.contrib.auth.models import Group
    from django.utils import timezone

    from funding import services
    from funding.demo import file_report, walk_to
    from funding.models import Application, ApplicationEvent
    from funding.workflow import QUEUES
    from teams.demo import demo_uscc
    from tests.factories import ResidencyFactory, SubVenueFactory
    from valley.core import roles
    from valley.demo import DEMO_TOTP_SECRET as seeded_secret
    from valley.demo import seed_demo_device
    from valley.models import User

    assert seeded_secret == DEMO_TOTP_SECRET, "bench/load_invariants.py's copy of the demo TOTP secret is stale"

    def user(local, *role_codes):
        account = User.objects.create_user(
            email=f"{local}@{DOMAIN}",
            password=PASSWORD,
            is_staff=any(roles.ROLES[code].is_staff for code in role_codes),
            email_confirmed_at=timezone.now(),
        )
        account.groups.add(*Group.objects.filter(name__in=role_codes))
        return account

    venue = SubVenueFactory(code="load-venue")
    # Helpers that walk the earlier applications, one per role of the staff queues (and the budget's keeper).
    helper = {code: user(f"seed-{code}", code) for code in dict.fromkeys(role for _l, role, _s in QUEUES.values())}
    budget = services.budget_create(
        by=helper["finance_officer"], sub_venue=venue, year=timezone.localdate().year, amount=Decimal("1e8")
    )
    staff_accounts = [user(f"staff{n}-{'-'.join(codes)}", *codes) for n, codes in enumerate(STAFF_SETS[staff], start=1)]
    for account in staff_accounts:
        seed_demo_device(account)
    for index in range(applicants):
        ResidencyFactory(sub_venue=venue, entity__owner=user(f"applicant{index:02d}", roles.APPLICANT))

    # Earlier applications (20 grants, 6 awaiting the decision), so that every queue has work from the start.
    serial = iter(range(100_000, 200_000))
    people = {
        "reviewer": helper["reviewer"],
        "approver": helper["approver"],
        "registration": helper["registration_officer"],
        "finance": helper["finance_officer"],
        "next_uscc": lambda: demo_uscc(next(serial)),
    }
    earlier = user("earlier-applicant", roles.APPLICANT)
    for index in range(26):
        entity = ResidencyFactory(sub_venue=venue, entity__owner=earlier).entity
        app = services.application_create(
            entity=entity, by=earlier, amount=Decimal("500000"), purpose=f"earlier application {index}", plan="中试线"
        )
        S = Application.State
        target = S.AWAITING_DECISION if index >= 20 else S.REGISTRATION if index % 2 else S.DISBURSEMENT
        walk_to(app, target, {**people, "applicant": earlier})
        if target == S.DISBURSEMENT and index % 4 == 0:
            # The report on instalment 1 accepted: finance may release instalment 2 (the others wait for theirs).
            file_report(Application.objects.get(pk=app.pk), {**people, "applicant": earlier}, accept=True)
    budget.refresh_from_db()
    # Room for about four approvals (300,000–1,000,000 each); later ones are refused: the budget is the limit.
    services.budget_change(budget=budget, by=helper["finance_officer"], amount=budget.reserved + Decimal("2500000"))
    last_event = ApplicationEvent.objects.order_by("-pk").values_list("pk", flat=True).first()
    return {
        "applicants": [f"applicant{index:02d}@{DOMAIN}" for index in range(applicants)],
        "staff": [
            {"email": account.email, "id": account.pk, "roles": codes}
            for account, codes in zip(staff_accounts, STAFF_SETS[staff], strict=True)
        ],
        "last_event_before": last_event,
        "workflow": workflow_facts(),
    }


def verify(state: dict) -> dict:
    """Compare what the clients believe with the database, and check the invariants. Child process."""
    from django.core.management import CommandError, call_command
    from django.db.models import Count

    from funding.invariants import check_invariants
    from funding.models import Application, ApplicationEvent

    created = state["created"]  # purpose token → application id the client was shown
    load_apps = Application.objects.filter(purpose__startswith="load ")
    by_token = collections.defaultdict(list)
    for pk, purpose in load_apps.values_list("pk", "purpose"):
        by_token[purpose].append(pk)
    lost = [token for token, pk in created.items() if pk not in by_token.get(token, [])]
    duplicated = [token for token, pks in by_token.items() if len(pks) > 1]
    unknown = [token for token in by_token if token not in created]  # in the database, never seen by a client
    events = (
        ApplicationEvent.objects.filter(pk__gt=state["last_event_before"] or 0).values("action").annotate(n=Count("pk"))
    )
    recorded = {row["action"]: row["n"] for row in events}
    report = check_invariants()
    # What an operator would see: the management command's own output (it exits non-zero on a violation).
    out = io.StringIO()
    try:
        call_command("check_invariants", stdout=out)
    except CommandError as error:
        out.write(f"{error}\n")
    return {
        "check_invariants_output": out.getvalue(),
        "applications_in_db": len(by_token),
        "lost": lost,
        "duplicated": duplicated,
        "unknown": unknown,
        "events": recorded,
        "states": dict(load_apps.values_list("state").annotate(n=Count("pk")).order_by()),
        "invariants_checked": report.checked,
        "violations": [str(v) for v in report.violations],
    }


# ------------------------------------------------------------------ the portal and its worker


def database_url(default_name: str) -> str:
    url = os.environ.get("LOAD_DATABASE_URL")
    if url:
        return url
    parsed = urlparse(os.environ.get("DATABASE_URL") or "postgres://postgres@127.0.0.1:5432/valley")
    return urlunparse(parsed._replace(path=f"/{default_name}"))


def recreate_database(url: str) -> None:
    import psycopg2

    parsed = urlparse(url)
    name = parsed.path.lstrip("/")
    connection = psycopg2.connect(
        host=parsed.hostname or "127.0.0.1",
        port=parsed.port or 5432,
        user=parsed.username or "postgres",
        password=parsed.password,
        dbname="postgres",
    )
    connection.autocommit = True
    with connection.cursor() as cursor:
        cursor.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        cursor.execute(f'CREATE DATABASE "{name}"')
    connection.close()


class Portal:
    """gunicorn and a Celery worker against the load database, with production settings."""

    def __init__(self, args, url: str):
        self.args = args
        self.log_dir = Path(os.environ.get("VALLEY_VAR_DIR", ROOT / "var")) / "load-invariants"
        self.log_dir.mkdir(parents=True, exist_ok=True)
        self.env = {
            **os.environ,
            **PRODUCTION_ENV,
            "DATABASE_URL": url,
            "CELERY_BROKER_URL": args.broker,
            "CELERY_TASK_DEFAULT_QUEUE": args.queue,
            "DJANGO_SETTINGS_MODULE": "valley.settings",
            "PYTHONUNBUFFERED": "1",
        }
        self.procs: list[subprocess.Popen] = []

    def django(self, *command: str) -> str:
        done = subprocess.run([PYTHON, *command], cwd=ROOT, env=self.env, capture_output=True, text=True)
        if done.returncode != 0:
            raise SystemExit(f"{' '.join(command)} failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}")
        return done.stdout

    def start(self) -> None:
        self.django("manage.py", "collectstatic", "--no-input", "-v0")
        self.procs.append(self._spawn("gunicorn", [
            "-m", "gunicorn", "valley.wsgi", "-b", f"127.0.0.1:{self.args.port}",
            "-w", str(self.args.workers), "--timeout", "60", "--graceful-timeout", "10",
        ]))  # fmt: skip
        self.procs.append(self._spawn("worker", [
            "-m", "celery", "-A", "valley", "worker", "--pool=solo", "--loglevel=WARNING",
            "--without-gossip", "--without-mingle", "--without-heartbeat", "-n", f"load-{os.getpid()}@%h",
        ]))  # fmt: skip
        import requests

        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if requests.get(f"{self.base}/healthz", timeout=2).status_code == 200:
                    return
            except requests.RequestException:
                pass
            if any(proc.poll() is not None for proc in self.procs):
                break
            time.sleep(0.3)
        self.stop()
        raise SystemExit(f"gunicorn did not start; see {self.log_dir}/gunicorn.log")

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.args.port}"

    def _spawn(self, name: str, command: list[str]) -> subprocess.Popen:
        log = open(self.log_dir / f"{name}.log", "w")  # noqa: SIM115 - the process writes to it until stop()
        return subprocess.Popen([PYTHON, *command], cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT)

    def stop(self) -> None:
        for proc in self.procs:
            proc.terminate()
        for proc in self.procs:
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
        self.procs.clear()

    def queue_length(self) -> int | None:
        try:
            import redis

            # The default queue and the ones of each kind (valley/settings.py, CELERY_QUEUES_BY_KIND).
            client = redis.Redis.from_url(self.args.broker)
            return client.llen(self.args.queue) + sum(
                client.llen(f"{self.args.queue}.{kind}") for kind in ("mail", "checks", "notices", "exports")
            )
        except Exception:  # noqa: BLE001 - a figure for the summary, not a check
            return None


# ------------------------------------------------------------------ simulated people


class Tally:
    def __init__(self):
        self.lock = threading.Lock()
        self.status = collections.Counter()
        self.failures = collections.Counter()  # timeouts, refused connections
        self.done = collections.Counter()  # transition → successes seen by clients
        self.refused = collections.Counter()  # (transition, reason) → count
        self.created: dict[str, int] = {}  # purpose token → application id
        self.server_errors: list[str] = []

    def response(self, response, *args, **kwargs):
        with self.lock:
            self.status[response.status_code] += 1
            if response.status_code >= 500:
                self.server_errors.append(f"{response.status_code} {response.request.method} {response.url}")


CSRF = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')
SUCCESS = re.compile(r'<li class="message success">')
ERRORS = re.compile(r'<li class="message error">(.*?)</li>|<div class="form-errors" role="alert"><p>(.*?)</p>|'
                    r'<p class="error" id="[^"]*">(.*?)</p>', re.S)  # fmt: skip
STATE = re.compile(r'data-state="([a-z_]+)"')
ACTIONS = re.compile(r'action="/funding/\d+/act/([a-z_]+)/"')
# A queue row: the id, then (after the team, sub-venue and amount) the state, the submission date and the lead.
ROWS = re.compile(
    r'<tr><td><a href="/funding/(\d+)/">#\d+</a></td>.*?<td>([^<]*)</td><td>[^<]*</td><td data-lead>[^<]*</td></tr>',
    re.S,
)


class Start:
    """Everyone signs in first; the clock of --duration starts when the last one is in."""

    def __init__(self, people: int, duration: float):
        self.deadline = float("inf")
        self.duration = duration
        self.barrier = threading.Barrier(people, action=self._go)

    def _go(self):
        self.deadline = time.monotonic() + self.duration


class Person(threading.Thread):
    def __init__(self, base: str, email: str, tally: Tally, start: Start, seed: int):
        super().__init__(daemon=True)
        import requests

        self.base, self.email, self.tally, self.start_line = base, email, tally, start
        self.random = random.Random(seed)
        self.http = requests.Session()
        self.http.headers["Accept-Language"] = "en"
        self.http.hooks["response"].append(tally.response)
        self.crashed: str | None = None

    def request(self, method: str, path: str, **kwargs):
        """One page, following redirects as a browser does. None when no response came (counted)."""
        import requests

        url = self.base + path
        try:
            for _hop in range(5):
                response = self.http.request(method, url, timeout=60, allow_redirects=False, **kwargs)
                # Production settings mark the cookies Secure; over plain HTTP to 127.0.0.1 the client keeps
                # sending them, as a browser behind a TLS-terminating proxy would.
                for cookie in self.http.cookies:
                    cookie.secure = False
                if response.status_code not in (301, 302, 303) or "Location" not in response.headers:
                    return response
                method, kwargs = "GET", {"headers": kwargs.get("headers", {})}
                url = requests.compat.urljoin(url, response.headers["Location"])
            return response
        except requests.RequestException as error:
            with self.tally.lock:
                self.tally.failures[type(error).__name__] += 1
            return None

    def get(self, path):
        return self.request("GET", path)

    def post_form(self, page, path: str, data: dict):
        """POST a form of `page` (its CSRF token) to `path`; the browser follows the redirect."""
        token = CSRF.search(page.text) if page is not None else None
        if token is None:
            return None
        return self.request("POST", path, data={"csrfmiddlewaretoken": token.group(1), **data},
                            headers={"Referer": page.url})  # fmt: skip

    def outcome(self, name: str, response) -> bool:
        """Count a transition the person tried: True if the page said it was saved."""
        if response is None or response.status_code >= 400:
            return False
        if SUCCESS.search(response.text) and not ERRORS.search(response.text):
            with self.tally.lock:
                self.tally.done[name] += 1
            return True
        found = ERRORS.search(response.text)
        reason = html.unescape(next(g for g in found.groups() if g)).strip() if found else "no message shown"
        reason = re.sub(r"#\d+|\d[\d,]*\.\d\d", "…", reason)  # one line per kind of refusal
        with self.tally.lock:
            self.tally.refused[(name, reason)] += 1
        return False

    def login(self) -> bool:
        page = self.get("/accounts/login/")
        response = self.post_form(page, "/accounts/login/", {"username": self.email, "password": PASSWORD})
        return response is not None and response.status_code == 200 and "/accounts/login/" not in response.url

    def think(self, low=0.5, high=1.5) -> None:
        time.sleep(self.random.uniform(low, high))

    def alive(self) -> bool:
        return time.monotonic() < self.start_line.deadline

    def sign_in(self) -> bool:
        return self.login()

    def run(self):
        try:
            signed_in = self.sign_in()
            self.start_line.barrier.wait(timeout=300)
            if not signed_in:
                self.crashed = f"{self.email}: could not sign in"
                return
            self.work()
        except Exception as error:  # noqa: BLE001 - reported as a failed check, with the reason
            self.crashed = f"{self.email}: {type(error).__name__}: {error}"
        finally:
            self.http.close()


class Applicant(Person):
    def work(self):
        current, attempts = None, 0
        while self.alive():
            if current is None:
                attempts += 1
                current = self.create(attempts)
                if current is None:
                    self.think(2, 4)  # refused (granted already, or the form said no): look again later
                    continue
                self.think()
                self.submit(current)
                continue
            self.think(1, 2.5)
            page = self.get(f"/funding/{current}/")
            state = STATE.search(page.text).group(1) if page is not None and page.status_code == 200 else None
            if state == FLOW["returned"]:
                self.revise(current)
                self.submit(current)
            elif state == FLOW["initial"]:
                self.submit(current)
            elif state in FLOW["ended"] and state not in FLOW["granted"]:
                current = None  # ended without a grant: apply again
            elif state in FLOW["sources"]["withdraw"]:  # under review (a draft or a return is handled above)
                if self.random.random() < 0.015:
                    response = self.post_form(
                        page, f"/funding/{current}/act/withdraw/", {"comment": "下一年度再申请。"}
                    )
                    self.outcome("withdraw", response)
            elif state in FLOW["granted"]:
                self.get("/funding/")

    def create(self, attempt: int) -> int | None:
        page = self.get("/funding/new/")
        if page is None or page.status_code != 200:
            return None
        entity = re.search(r'<select name="entity"[^>]*>.*?<option value="(\d+)"', page.text, re.S)
        if entity is None:
            return None
        token = f"load {self.email.split('@')[0]} #{attempt}"
        amount = self.random.choice(["300000", "500,000", "650000.00", "800,000.00", "１，０００，０００"])
        response = self.post_form(page, "/funding/new/", {
            "entity": entity.group(1), "amount": amount, "purpose": token, "plan": "建设中试线，注册公司。",
        })  # fmt: skip
        if response is None:
            return None
        created = re.search(r"/funding/(\d+)/$", response.url)
        if created and self.outcome("create", response):
            with self.tally.lock:
                self.tally.created[token] = int(created.group(1))
            return int(created.group(1))
        if not created:
            self.outcome("create", response)
        return None

    def submit(self, pk: int) -> None:
        page = self.get(f"/funding/{pk}/")
        self.outcome("submit", self.post_form(page, f"/funding/{pk}/act/submit/", {"comment": ""}))

    def revise(self, pk: int) -> None:
        page = self.get(f"/funding/{pk}/edit/")
        if page is None or page.status_code != 200:
            return
        purpose = re.search(r'name="purpose"[^>]*value="([^"]*)"', page.text)
        self.post_form(page, f"/funding/{pk}/edit/", {
            "amount": "450000", "purpose": html.unescape(purpose.group(1)) if purpose else "",
            "plan": "已补充预算明细和中试时间表。",
        })  # fmt: skip


def totp_code(secret_base32: str) -> str:
    """The current code of a TOTP app holding `secret_base32` (RFC 6238: SHA-1, 30 s, 6 digits)."""
    digest = hmac.new(base64.b32decode(secret_base32), struct.pack(">Q", int(time.time()) // 30), "sha1").digest()
    offset = digest[-1] & 0x0F
    return f"{(struct.unpack('>I', digest[offset : offset + 4])[0] & 0x7FFFFFFF) % 1_000_000:06d}"


def staff_login(person: Person) -> bool:
    """Sign a staff member in: the password, then the code from their authenticator (the demo secret).

    A login with the code counts as the re-authentication that approving and paying out ask for
    (valley.accounts.reauth), and it lasts longer than the run."""
    page = person.get("/accounts/login/")
    response = person.post_form(page, "/accounts/login/", {"username": person.email, "password": PASSWORD})
    if response is None or response.status_code != 200 or "/accounts/two-factor/" not in response.url:
        return False
    path = response.url.split("://", 1)[-1].split("/", 1)[-1]
    response = person.post_form(response, "/" + path, {"token": totp_code(DEMO_TOTP_SECRET)})
    return response is not None and response.status_code == 200 and "/accounts/" not in response.url


class Staff(Person):
    def __init__(self, *args, account: dict, **kwargs):
        super().__init__(*args, **kwargs)
        self.account = account
        self.queues = [queue for role in account["roles"] for queue in FLOW["queues_of_role"][role]]
        self.assigned: set[int] = set()  # applications this reviewer assigned themselves to, and reviewed
        self.reviewed: set[int] = set()

    def sign_in(self) -> bool:
        return staff_login(self)

    def work(self):
        turn = 0
        while self.alive():
            queue = self.queues[turn % len(self.queues)]
            turn += 1
            page = self.get(f"/funding/queues/{queue}/")
            rows = ROWS.findall(page.text) if page is not None and page.status_code == 200 else []
            if queue == "decision":  # public notices wait there too, with nothing to decide
                rows = [row for row in rows if row[1] == "awaiting decision"]
            if not rows:
                self.think(1, 2)
                continue
            pk = int(self.random.choice(rows[:5])[0])  # staff often pick the same one: races on purpose
            self.act(pk)
            self.think(0.3, 1)

    def act(self, pk: int) -> None:
        page = self.get(f"/funding/{pk}/")
        if page is None or page.status_code != 200:
            return
        actions = set(ACTIONS.findall(page.text))
        state = STATE.search(page.text).group(1)
        roles = self.account["roles"]
        path = f"/funding/{pk}"
        sources = FLOW["sources"]
        reviewing = {state for queue in FLOW["queues_of_role"]["reviewer"] for state in FLOW["queue_states"][queue]}
        if "reviewer" in roles and state in reviewing:
            if "start_formal_review" in actions:
                self.take(page, pk, "start_formal_review")
            elif "pass_formal_review" in actions:
                if self.random.random() < 0.15:
                    self.take(page, pk, "return_for_changes", "请补充中试计划的时间表和预算明细。")
                else:
                    self.take(page, pk, "pass_formal_review")
            elif state in sources["complete_expert_review"] and pk not in self.assigned:
                response = self.post_form(page, f"{path}/reviewers/", {"reviewer": str(self.account["id"])})
                if self.outcome("assign_reviewer", response):
                    self.assigned.add(pk)
            elif state in sources["complete_expert_review"] and pk not in self.reviewed:
                response = self.post_form(page, f"{path}/review/", {
                    "score": str(self.random.randint(60, 95)), "recommendation": "approve", "opinion": "可行。",
                })  # fmt: skip
                if self.outcome("review", response):
                    self.reviewed.add(pk)
            elif "complete_expert_review" in actions:
                self.take(page, pk, "complete_expert_review")  # refused while another reviewer's review is pending
        elif "approver" in roles and state in sources["approve"]:
            roll = self.random.random()
            if roll < 0.75:
                form = self.get(f"{path}/approve/")
                self.outcome(
                    "approve",
                    self.post_form(form, f"{path}/approve/", {"approved_amount": "", "comment": "同意资助。"}),
                )
            elif roll < 0.85:
                self.take(page, pk, "reject", "成果尚处实验室阶段。")
            else:
                self.take(page, pk, "return_for_changes", "请说明配套资金来源。")
        elif "registration_officer" in roles and state in sources["verify_registration"]:
            from teams.uscc import check_character

            first17 = f"91140105MA{200_000 + pk:06d}X"
            form = self.get(f"{path}/registration/")
            response = self.post_form(form, f"{path}/registration/", {
                "company_name": f"晋创谷负载测试{pk}有限公司", "uscc": first17 + check_character(first17),
                "registered_on": datetime.date.today().isoformat(), "registered_capital": "3000000",
                "paid_in_capital": "2,000,000", "legal_representative": "王建国", "comment": "",
            })  # fmt: skip
            self.outcome("verify_registration", response)
        elif "finance_officer" in roles and state in sources["disburse"]:
            self.disburse(pk, self.random.choice(["200000", "300,000.00"]))

    def take(self, page, pk: int, name: str, comment: str = "") -> None:
        self.outcome(
            name, self.post_form(page, f"/funding/{pk}/act/{name}/", {"comment": comment, "internal_note": ""})
        )

    def disburse(self, pk: int, amount: str) -> None:
        path = f"/funding/{pk}/disburse/"
        form = self.get(path)
        data = {"amount": amount, "paid_on": datetime.date.today().isoformat(), "reference": f"LOAD-{pk}-{amount}"}
        response = self.post_form(form, path, data)
        if response is not None and not SUCCESS.search(response.text):
            left = re.search(r"of the plan is ([\d,]+\.\d\d) yuan", response.text)
            if left:  # the page says what the plan's next instalment is: pay exactly that, as finance would
                self.outcome("disburse", response)
                response = self.post_form(
                    response, path, {**data, "amount": left.group(1), "reference": f"LOAD-{pk}-rest"}
                )
        self.outcome("disburse", response)


# ------------------------------------------------------------------ the run


def run(args) -> dict:
    url = database_url(args.database)
    say(f"database {url}, broker {args.broker} (queue {args.queue}), port {args.port}")
    recreate_database(url)
    portal = Portal(args, url)
    started = time.monotonic()
    scenario = json.loads(portal.django(__file__, "_seed", str(args.applicants), str(args.staff)).splitlines()[-1])
    learn_workflow(scenario["workflow"])
    say(f"migrated and seeded in {time.monotonic() - started:.1f} s")
    portal.start()
    say(f"gunicorn and the worker are up after {time.monotonic() - started:.1f} s")
    tally = Tally()
    try:
        start = Start(len(scenario["applicants"]) + len(scenario["staff"]), args.duration)
        people: list[Person] = [
            Applicant(portal.base, email, tally, start, seed=n) for n, email in enumerate(scenario["applicants"])
        ]
        people += [
            Staff(portal.base, account["email"], tally, start, seed=1000 + n, account=account)
            for n, account in enumerate(scenario["staff"])
        ]
        say(f"{len(scenario['applicants'])} applicants and {len(scenario['staff'])} staff for {args.duration} s")
        for person in people:
            person.start()
        for person in people:
            person.join(timeout=args.duration + 300)
        hung = [person.email for person in people if person.is_alive()]
        time.sleep(2)  # let the worker take the last mail tasks
        queued = portal.queue_length()
    finally:
        portal.stop()
    state = {"created": tally.created, "last_event_before": scenario["last_event_before"]}
    state_file = portal.log_dir / "client-state.json"
    state_file.write_text(json.dumps(state))
    checked = json.loads(portal.django(__file__, "_verify", str(state_file)).splitlines()[-1])
    return summarise(args, tally, people, hung, checked, checked["check_invariants_output"], queued, portal.log_dir)


def summarise(args, tally, people, hung, checked, command_output, queued, log_dir) -> dict:
    expected = {EVENT_OF[name]: count for name, count in tally.done.items()}
    mismatched = {
        action: {"clients": expected.get(action, 0), "history": checked["events"].get(action, 0)}
        for action in set(expected) | {EVENT_OF[name] for name in EVENT_OF}
        if expected.get(action, 0) != checked["events"].get(action, 0)
    }
    server_errors = sum(count for status, count in tally.status.items() if status >= 500)
    problems = []
    if server_errors:
        problems.append(f"{server_errors} responses were 5xx: {tally.server_errors[:5]}")
    if tally.failures:
        problems.append(f"requests failed without a response: {dict(tally.failures)}")
    if checked["lost"] or checked["duplicated"] or checked["unknown"]:
        problems.append(
            f"applications lost {checked['lost']}, duplicated {checked['duplicated']}, unknown {checked['unknown']}"
        )
    if mismatched:
        problems.append(f"transitions seen by clients ≠ history rows: {mismatched}")
    if checked["violations"]:
        problems.append(f"invariants violated: {checked['violations'][:10]}")
    crashed = [person.crashed for person in people if person.crashed]
    if crashed or hung:
        problems.append(f"simulated users that failed: {crashed + hung}")
    if not tally.done.get("approve") or not tally.done.get("disburse"):
        problems.append("the load never reached approvals and instalments: the run says nothing about money")
    summary = {
        "applicants": args.applicants,
        "staff": args.staff,
        "duration": args.duration,
        "requests": sum(tally.status.values()),
        "by_status": {str(k): v for k, v in sorted(tally.status.items())},
        "server_errors": server_errors,
        "failed_requests": dict(tally.failures),
        "applications_created": len(tally.created),
        "applications_in_db": checked["applications_in_db"],
        "lost": checked["lost"],
        "duplicated": checked["duplicated"],
        "states": checked["states"],
        "transitions": dict(tally.done),
        "history_mismatches": mismatched,
        "refusals": {f"{name}: {reason}": n for (name, reason), n in tally.refused.most_common()},
        "invariants_checked": checked["invariants_checked"],
        "violations": checked["violations"],
        "mail_tasks_left_in_queue": queued,
        "problems": problems,
        "ok": not problems,
    }
    print_summary(summary, command_output, log_dir)
    return summary


def print_summary(s: dict, command_output: str, log_dir) -> None:
    print(f"\n## Load with invariants: {s['applicants']} applicants, {s['staff']} staff, {s['duration']} s\n")
    print("| | |\n|---|---:|")
    print(f"| requests | {s['requests']} |")
    for status, count in s["by_status"].items():
        print(f"| HTTP {status} | {count} |")
    print(f"| 5xx | {s['server_errors']} |")
    print(f"| failed requests (no response) | {sum(s['failed_requests'].values())} |")
    print(f"| applications created (clients) | {s['applications_created']} |")
    print(f"| applications in the database | {s['applications_in_db']} |")
    print(f"| lost / duplicated | {len(s['lost'])} / {len(s['duplicated'])} |")
    print(f"| mail tasks left in the queue | {s['mail_tasks_left_in_queue']} |")
    print("\n| transition | taken (clients) | history rows |\n|---|---:|---:|")
    for name, action in EVENT_OF.items():
        history = s["history_mismatches"].get(action, {}).get("history", s["transitions"].get(name, 0))
        print(f"| {name} | {s['transitions'].get(name, 0)} | {history} |")
    print(f"\nfinal states of the load's applications: {s['states']}")
    print("\n| refused | times |\n|---|---:|")
    for reason, count in s["refusals"].items():
        print(f"| {reason} | {count} |")
    print("\n`manage.py check_invariants` on the load database:\n")
    print("\n".join(f"    {line}" for line in command_output.rstrip().splitlines()))
    print()
    if s["ok"]:
        print("RESULT: ok: no 5xx, nothing lost or duplicated, every invariant holds.")
    else:
        print("RESULT: FAILED\n" + "\n".join(f"- {problem}" for problem in s["problems"]))
        print(f"(server and worker logs: {log_dir})")


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--applicants", type=int, default=50)
    parser.add_argument("--staff", type=int, default=5, choices=sorted(STAFF_SETS))
    parser.add_argument("--duration", type=int, default=60, help="seconds of load")
    parser.add_argument("--workers", type=int, default=3, help="gunicorn workers")
    parser.add_argument("--port", type=int, default=int(os.environ.get("LOAD_PORT", "8861")))
    parser.add_argument("--database", default="valley_load_invariants", help="database name (LOAD_DATABASE_URL wins)")
    parser.add_argument("--broker", default=os.environ.get("CELERY_BROKER_URL", "redis://127.0.0.1:6379/0"))
    parser.add_argument("--queue", default="valley-load-invariants", help="the Celery queue of this run")
    parser.add_argument("--json", help="also write the summary to this file")
    return parser.parse_args(argv)


def main(argv=None) -> int:
    if len(sys.argv) > 1 and sys.argv[1] in {"_seed", "_verify"}:
        import django

        django.setup()
        if sys.argv[1] == "_seed":
            print(json.dumps(seed(int(sys.argv[2]), int(sys.argv[3]))))
        else:
            print(json.dumps(verify(json.loads(Path(sys.argv[2]).read_text()))))
        return 0
    args = parse_args(argv)
    if not args.broker.startswith("redis://"):
        raise SystemExit("bench/load_invariants.py needs Redis: set CELERY_BROKER_URL=redis://127.0.0.1:6379/0")
    summary = run(args)
    if args.json:
        Path(args.json).write_text(json.dumps(summary, ensure_ascii=False, indent=2))
    return 0 if summary["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
