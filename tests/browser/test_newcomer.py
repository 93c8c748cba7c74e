"""A newcomer's first hour (issue 17): the portal started as README's first command starts it (`dev.py run`, here
with SQLite and a folder of its own), then one grant of the demo valley walked from the applicant's draft to
closed using only the pages, each step by the demo login README's "Try it in five minutes" names, in Chinese
and in English. The second factor comes from the demo authenticator secret README gives (what an authenticator
app computes); the public notice is the demo policy's minutes, ended by the beat task and worker that dev.py
runs. Every step is screenshotted to artifacts/screenshots/newcomer-<language>-NN-<step>.png."""

import base64
import contextlib
import os
import re
import signal
import socket
import subprocess
import time
from pathlib import Path

import pytest
from django.conf import settings
from django.urls import reverse
from playwright.sync_api import expect, sync_playwright

from teams.demo import demo_uscc
from tests.browser.conftest import CHROMIUM_FLAGS, CSP_LISTENER, LANGUAGES, SCREENSHOTS, t
from tests.conftest import CHROMIUM, ROOT
from tests.factories import PDF_BYTES
from valley.demo import DEMO_TOTP_SECRET, current_code

pytestmark = [pytest.mark.browser]

PY = ROOT / ".venv" / "bin" / "python"
PASSWORD = "valley-demo-2026"  # README "Try it in five minutes"
DOMAIN = "demo.valley.example.cn"
STARTUP_SECONDS = 600  # migrate and seed_demo on SQLite, on a busy machine
NOTICE_SECONDS = 300  # the demo policy's 2 minutes, then the next of dev.py's 30-second checks, with slack


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def portal(tmp_path):
    """`python3 dev.py run` with nothing but a fresh clone would have: SQLite, the filesystem broker, var/ of
    its own; the URL it prints. Stopped (web, worker and beat) at the end."""
    port = _free_port()
    keep = {"PATH", "HOME", "LANG", "LC_ALL", "TMPDIR"}
    env = {key: value for key, value in os.environ.items() if key in keep}
    env |= {
        "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}",
        "PORTAL_BIND": f"127.0.0.1:{port}",
        "VALLEY_VAR_DIR": str(tmp_path / "var"),
    }
    log = tmp_path / "dev.log"
    with log.open("wb") as out:
        dev = subprocess.Popen(
            [str(PY), "dev.py", "run"], cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
    try:
        deadline = time.monotonic() + STARTUP_SECONDS
        while "the portal is at" not in log.read_text(errors="replace"):
            assert dev.poll() is None, f"dev.py stopped early:\n{log.read_text(errors='replace')[-3000:]}"
            assert time.monotonic() < deadline, f"dev.py did not start:\n{log.read_text(errors='replace')[-3000:]}"
            time.sleep(1)
        match = re.search(r"the portal is at (http://\S+?)/ ", log.read_text(errors="replace"))
        yield match.group(1)
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(dev.pid, signal.SIGTERM)
        try:
            dev.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(dev.pid, signal.SIGKILL)


@pytest.fixture
def browser():
    if not Path(CHROMIUM).exists():
        pytest.skip(f"needs Chromium at {CHROMIUM}")
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
        yield chromium
        chromium.close()


class Newcomer:
    """The newcomer's screen: one browser context per demo login (each signed in once), the steps numbered."""

    def __init__(self, browser, base_url: str, language: str):
        self.browser, self.base_url, self.language = browser, base_url, language
        self.pages: dict[str, object] = {}
        self.contexts = []
        self.step = 0
        self.violations: list[str] = []

    def t(self, message: str) -> str:
        return t(self.language, message)

    def shot(self, page, name: str) -> None:
        self.step += 1
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SCREENSHOTS / f"newcomer-{self.language}-{self.step:02d}-{name}.png"), full_page=True)
        self.violations += page.evaluate("() => window.__cspViolations || []")

    def as_(self, login: str):
        """The page of the demo login `login` (applicant, reviewer, …), signing it in through the form the first
        time: the password README gives, then for staff the code of the demo authenticator."""
        if login in self.pages:
            return self.pages[login]
        context = self.browser.new_context(
            base_url=self.base_url, locale="zh-CN" if self.language == "zh-hans" else "en-GB"
        )
        context.set_default_timeout(20_000)
        context.add_cookies([{"name": settings.LANGUAGE_COOKIE_NAME, "value": self.language, "url": self.base_url}])
        context.add_init_script(CSP_LISTENER)
        self.contexts.append(context)
        page = context.new_page()
        address = f"{login}@{DOMAIN}"
        page.goto("/")
        page.locator(f"header a[href*='{reverse('login')}']").first.click()
        page.fill("[name=username]", address)
        page.fill("[name=password]", PASSWORD)
        if not self.pages:
            self.shot(page, "sign-in")
        page.locator("main button[type=submit]").click()
        if reverse("two_factor_verify") in page.url:
            if login == "reviewer":
                self.shot(page, "second-factor")
            # What an authenticator app holding README's demo secret shows now.
            page.fill("[name=token]", current_code(base64.b32decode(DEMO_TOTP_SECRET).hex()))
            page.locator("main button[type=submit]").click()
        expect(page.locator("header .who")).to_have_text(address)
        self.pages[login] = page
        return page

    def close(self):
        for context in self.contexts:
            context.close()


def open_application(page, pk: int, queue: str | None = None):
    """The application's page, through the work queue when staff, through My applications when the applicant."""
    if queue:
        page.locator("header a[href$='/funding/queues/']").click()
        page.locator(f"main a[href$='/funding/queues/{queue}/']").click()
        page.locator(f"main a[href$='/funding/{pk}/']").first.click()
    else:
        page.goto(reverse("funding:detail", args=[pk]))
    expect(page.locator("main .badge[data-state]").first).to_be_visible()


def act(page, name: str, comment: str = "") -> None:
    """A step from the application page's 'what you can do now' card."""
    if comment:
        page.fill("#step-comment", comment)
    page.locator(f"main button[data-step-name={name}]").click()
    expect(page.locator(".message.success")).to_be_visible()


def state_is(page, state: str) -> None:
    expect(page.locator("main .badge[data-state]").first).to_have_attribute("data-state", state)


def file_report(me: Newcomer, page, spent: int, number: int, invoice: Path) -> None:
    """The applicant files the fund-use report due next, from My grant: spend, two lines, an invoice, submit."""
    page.locator("header a[href$='/funding/']").first.click()  # My applications
    page.locator("main [data-grant-link]").first.click()
    page.locator("[data-due] a[href*='/funding/reports/']").click()
    equipment = spent * 6 // 10
    page.fill("[name=spent]", f"{spent:,}")
    page.select_option("[name=lines-0-category]", "equipment")
    page.fill("[name=lines-0-amount]", f"{equipment:,}")
    page.fill("[name=lines-0-description]", "中试设备 pilot equipment")
    page.select_option("[name=lines-1-category]", "testing")
    page.fill("[name=lines-1-amount]", f"{spent - equipment:,}")
    page.fill("[name=lines-1-description]", "中试 pilot runs")
    page.fill("[name=summary]", "按计划采购设备、开展中试。")
    page.locator("main button[name=action][value=save]").click()
    expect(page.locator(".message.success")).to_be_visible()
    page.fill("[name=title]", "发票 Invoice")
    page.set_input_files("[name=file]", str(invoice))
    page.locator("form[action$='/documents/'] button[type=submit]").click()
    expect(page.locator("[data-documents]")).to_contain_text("发票 Invoice")
    page.locator("main button[name=action][value=submit]").click()
    expect(page.locator("main .badge[data-state]")).to_have_attribute("data-state", "submitted")
    me.shot(page, f"report-{number}-submitted")


def accept_report_and_release(me: Newcomer, pk: int, number: int, amount: str, reference: str) -> None:
    """Finance accepts the submitted report from its queue and releases the next instalment of the plan."""
    page = me.as_("finance")
    page.locator("header a[href$='/funding/queues/']").click()
    page.locator("main a[href$='/funding/queues/reports/']").click()
    page.locator(f"main tr:has(a[href$='/funding/{pk}/']) a[href*='/funding/reports/']").click()
    page.fill("[name=comment]", "票据齐全，同意。")
    me.shot(page, f"report-{number}-to-review")
    page.locator("main button[name=decision][value=accept]").click()
    expect(page.locator("main .badge[data-state]")).to_have_attribute("data-state", "accepted")
    release(me, pk, number + 1, amount, reference)


def release(me: Newcomer, pk: int, number: int, amount: str, reference: str) -> None:
    page = me.as_("finance")
    open_application(page, pk, "disbursement" if number == 1 else None)
    page.locator(f"main a[href$='/funding/{pk}/disburse/']").click()
    expect(page.locator("[name=amount]")).to_have_value(amount)
    page.fill("[name=paid_on]", time.strftime("%Y-%m-%d"))
    page.fill("[name=reference]", reference)
    me.shot(page, f"instalment-{number}")
    page.locator("main button[type=submit]").click()
    expect(page.locator(".message.success")).to_be_visible()


@pytest.mark.parametrize("language", LANGUAGES)
def test_a_newcomer_walks_a_demo_grant_from_draft_to_closed_in_the_pages(language, portal, browser, tmp_path):
    me = Newcomer(browser, portal, language)
    invoice = tmp_path / "invoice.pdf"
    invoice.write_bytes(PDF_BYTES)
    try:
        # applicant@: My applications holds the demo team's draft; it is submitted from its page.
        page = me.as_("applicant")
        page.locator("header a[href$='/funding/']").first.click()
        me.shot(page, "my-applications")
        link = page.locator("main tbody a[href^='/funding/']").first
        pk = int(re.search(r"/funding/(\d+)/", link.get_attribute("href")).group(1))
        link.click()
        state_is(page, "draft")
        me.shot(page, "draft")
        act(page, "submit", "请审核。")
        state_is(page, "submitted")
        me.shot(page, "submitted")

        # reviewer@: formal review from the queue, then the expert review (assigned to themselves).
        page = me.as_("reviewer")
        open_application(page, pk, "formal")
        act(page, "start_formal_review")
        act(page, "pass_formal_review", "材料齐全。")
        state_is(page, "expert_review")
        me.shot(page, "formal-review-passed")
        option = page.locator(f"[name=reviewer] option:has-text('reviewer@{DOMAIN}')").get_attribute("value")
        page.select_option("[name=reviewer]", option)
        page.locator("form[action$='/reviewers/'] button").click()
        expect(page.locator(".message.success")).to_be_visible()
        page.fill("[name=score]", "88")
        page.select_option("[name=recommendation]", "approve")
        page.fill("[name=opinion]", "技术路线可行，市场前景较好。")
        me.shot(page, "expert-review")
        page.locator("form[action$='/review/'] button[type=submit]").click()
        expect(page.locator(".message.success")).to_be_visible()
        act(page, "complete_expert_review")
        state_is(page, "awaiting_decision")

        # approver@: the decision, from the queue.
        page = me.as_("approver")
        open_application(page, pk, "decision")
        page.locator(f"main a[href$='/funding/{pk}/approve/']").click()
        page.fill("[name=approved_amount]", "400,000")
        page.fill("[name=comment]", "同意资助。")
        me.shot(page, "approve")
        page.locator("main button[type=submit]").click()
        state_is(page, "public_notice")
        me.shot(page, "public-notice")
        page.locator(f"a[href$='{reverse('funding:notices')}']").first.click()
        me.shot(page, "notices-page")

        # The demo policy's notice lasts minutes; beat and the worker end it. The page says so on a reload.
        page.goto(reverse("funding:detail", args=[pk]))
        deadline = time.monotonic() + NOTICE_SECONDS
        while page.locator("main .badge[data-state]").first.get_attribute("data-state") == "public_notice":
            assert time.monotonic() < deadline, "the worker did not end the demo policy's public notice"
            time.sleep(10)
            page.reload()
        state_is(page, "registration")
        me.shot(page, "notice-over")

        # registration@: verifies the company's registration, from the queue.
        page = me.as_("registration")
        open_application(page, pk, "registration")
        page.locator(f"main a[href$='/funding/{pk}/registration/']").click()
        page.fill("[name=company_name]", "太原煤基碳纤维科技有限公司")
        page.fill("[name=uscc]", demo_uscc(4243))
        page.fill("[name=registered_on]", time.strftime("%Y-%m-%d"))
        page.fill("[name=registered_capital]", "2,000,000")
        page.fill("[name=paid_in_capital]", "1,000,000")
        page.fill("[name=legal_representative]", "王建国")
        me.shot(page, "registration")
        page.locator("main button[type=submit]").click()
        state_is(page, "disbursement")

        # finance@: the first instalment (20% of 400,000), from the queue.
        release(me, pk, 1, "80,000.00", "PAY-1")

        # The fund-use reports, each accepted before the next instalment; the final acceptance before the last.
        file_report(me, me.as_("applicant"), 80_000, 1, invoice)
        accept_report_and_release(me, pk, 1, "200,000.00", "PAY-2")
        file_report(me, me.as_("applicant"), 280_000, 2, invoice)
        page = me.as_("finance")
        page.locator("header a[href$='/funding/queues/']").click()
        page.locator("main a[href$='/funding/queues/reports/']").click()
        page.locator(f"main tr:has(a[href$='/funding/{pk}/']) a[href*='/funding/reports/']").click()
        page.fill("[name=comment]", "票据齐全，同意。")
        page.locator("main button[name=decision][value=accept]").click()
        expect(page.locator("main .badge[data-state]")).to_have_attribute("data-state", "accepted")
        me.shot(page, "report-2-accepted")

        page = me.as_("reviewer")
        open_application(page, pk)
        page.locator(f"main a[href$='/funding/{pk}/acceptance/']").click()
        page.locator("[name=result][value=passed]").check()
        page.fill("[name=reasons]", "里程碑均已完成。")
        me.shot(page, "final-acceptance")
        page.locator("main button[type=submit]").click()
        expect(page.locator(".message.success")).to_be_visible()

        release(me, pk, 3, "120,000.00", "PAY-3")
        page = me.as_("finance")
        state_is(page, "closed")
        me.shot(page, "closed")

        page = me.as_("applicant")
        page.goto(reverse("funding:detail", args=[pk]))
        state_is(page, "closed")
        me.shot(page, "closed-applicant")
        assert not me.violations, me.violations
    finally:
        me.close()
