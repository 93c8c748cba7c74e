"""Playwright driving Debian's Chromium against Django's live server, with the helpers every journey uses:
a context in one language, a quick login by session cookie, and `look(page, name)` that writes a
screenshot to artifacts/screenshots/ and runs axe-core on the page, failing on serious or critical
violations. Every visit also listens for Content-Security-Policy violations (the `securitypolicyviolation` event
and Chromium's console report) and fails on any: at each `look` and when the visit closes."""

import email
import json
import os
import re
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connections
from django.test import Client
from django.utils import translation

from tests.conftest import CHROMIUM, ROOT

os.environ.setdefault("DJANGO_LIVE_TEST_SERVER_ADDRESS", "127.0.0.1")  # the portal is reached on 127.0.0.1 only

CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
AXE_JS = ROOT / "static" / "vendor" / "axe-core" / "axe.min.js"
SCREENSHOTS = ROOT / "artifacts" / "screenshots"
LANGUAGES = ["zh-hans", "en"]
# Runs before the page's own scripts in every document of the context (an init script, which the page's
# policy does not govern), so a violation while the page is parsed is caught too.
CSP_LISTENER = """
window.__cspViolations = [];
document.addEventListener('securitypolicyviolation', (e) => window.__cspViolations.push(
  `${e.effectiveDirective} refused ${e.blockedURI || 'an inline resource'} on ${e.documentURI}`
  + (e.sourceFile ? ` (${e.sourceFile}:${e.lineNumber})` : '') + (e.sample ? `: ${e.sample}` : '')));
"""
BLOCKING_IMPACTS = {"serious", "critical"}
AXE_REPORT: list[str] = []  # every page checked in this run, printed at the end and kept in artifacts/


def pytest_terminal_summary(terminalreporter):
    if not AXE_REPORT:
        return
    terminalreporter.section("axe-core accessibility report")
    for line in AXE_REPORT:
        terminalreporter.write_line(line)
    report = SCREENSHOTS.parent / "axe-report.txt"
    report.write_text("\n".join(AXE_REPORT) + "\n", encoding="utf-8")
    terminalreporter.write_line(f"(kept in {report.relative_to(ROOT)}, next to the screenshots)")


def t(language: str, message: str) -> str:
    """The portal's translation of `message` in `language`, to compare with what the browser shows."""
    with translation.override(language):
        return translation.gettext(message)


@pytest.fixture
def chromium(live_server):
    """Chromium for one test. Playwright's sync API keeps an event loop running in this thread, and Django's
    ORM refuses to work in a thread with a running loop unless told it is deliberate: the tests query the
    database between browser steps. The permission lasts exactly as long as the browser, so it is gone
    before the database is flushed and never leaks into other tests (check --deploy rejects it)."""
    if not Path(CHROMIUM).exists():
        pytest.skip(f"needs Chromium at {CHROMIUM}")  # the marker hook fails instead under VALLEY_REQUIRE_SERVICES
    from playwright.sync_api import sync_playwright

    before = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
            yield browser
            browser.close()
            # While Playwright's loop runs, the ORM keeps its connections apart from the ones pytest-django
            # opened before; close them here, or the test database cannot be dropped at the end.
            connections.close_all()
    finally:
        if before is None:
            del os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"]
        else:
            os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = before


class Visit:
    """One browser context (cookies, language, screen size) for one user in one language."""

    def __init__(self, browser, base_url: str, language: str, journey: str, viewport: dict):
        self.base_url, self.language, self.journey = base_url, language, journey
        self.context = browser.new_context(
            base_url=base_url,
            locale="zh-CN" if language == "zh-hans" else "en-GB",
            viewport=viewport,
            accept_downloads=True,
        )
        self.context.set_default_timeout(15_000)
        self.context.add_cookies([{"name": settings.LANGUAGE_COOKIE_NAME, "value": language, "url": base_url}])
        self.context.add_init_script(CSP_LISTENER)
        self.csp_console: list[str] = []  # for the whole visit: survives navigation, unlike the page's list
        self.context.on("console", self._on_console)
        self.page = self.context.new_page()

    def _on_console(self, message) -> None:
        if "Content Security Policy" in message.text or "Content-Security-Policy" in message.text:
            self.csp_console.append(f"{message.page.url if message.page else '?'}: {message.text}")

    def csp_violations(self, page=None) -> list[str]:
        """The violations the current document of `page` saw, and every one the console reported so far."""
        page = page or self.page
        in_page = [] if page.is_closed() else page.evaluate("() => window.__cspViolations || []")
        return [*in_page, *self.csp_console]

    def assert_no_csp_violation(self, page=None) -> None:
        violations = self.csp_violations(page)
        assert not violations, "Content-Security-Policy violations:\n" + "\n".join(violations)

    def t(self, message: str) -> str:
        return t(self.language, message)

    def log_in_quickly(self, user) -> None:
        """The session cookie of a forced login: for steps whose subject is not the login itself."""
        client = Client()
        client.force_login(user)
        cookie = client.cookies[settings.SESSION_COOKIE_NAME]
        self.context.add_cookies([{"name": settings.SESSION_COOKIE_NAME, "value": cookie.value, "url": self.base_url}])

    def look(self, name: str, page=None) -> dict:
        """Screenshot the page and check it with axe-core; prints the report, fails on serious/critical."""
        page = page or self.page
        folder = SCREENSHOTS / self.language
        folder.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(folder / f"{self.journey}-{name}.png"), full_page=True)
        self.assert_no_csp_violation(page)
        # Evaluated through the DevTools protocol rather than added as a <script> tag: the page's policy
        # refuses inline scripts, and this one is the test's, not the portal's.
        page.evaluate(AXE_JS.read_text(encoding="utf-8"))
        results = page.evaluate(
            """async () => await axe.run(document, {
                runOnly: {type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'best-practice']},
                resultTypes: ['violations']})"""
        )
        violations = results["violations"]
        summary = ", ".join(f"{v['id']}({v['impact']}×{len(v['nodes'])})" for v in violations) or "none"
        passed = len(results["passes"])
        line = f"axe [{self.language}] {self.journey}-{name} {page.url}: {passed} rules passed; violations: {summary}"
        details = [f"    {v['impact']}: {v['id']} ({v['help']}): {v['nodes'][0]['html'][:160]}" for v in violations]
        print("\n".join([line, *details]))
        AXE_REPORT.extend([line, *details])
        blocking = [v for v in violations if v["impact"] in BLOCKING_IMPACTS]
        assert not blocking, f"{line}\n" + json.dumps(
            [
                {"id": v["id"], "impact": v["impact"], "help": v["help"], "nodes": [n["html"] for n in v["nodes"][:5]]}
                for v in blocking
            ],
            ensure_ascii=False,
            indent=1,
        )
        return results

    def close(self) -> None:
        self.context.close()


@pytest.fixture
def visit(chromium, live_server):
    """visit(language, journey) opens a fresh context on the live server; closed after the test."""
    opened = []

    def open_visit(language: str, journey: str, viewport: dict | None = None) -> Visit:
        opened.append(Visit(chromium, live_server.url, language, journey, viewport or {"width": 1280, "height": 900}))
        return opened[-1]

    yield open_visit
    violations = [line for one in opened for line in one.csp_console]
    for one in opened:
        one.close()
    assert not violations, "Content-Security-Policy violations during the test:\n" + "\n".join(violations)


def confirmation_path(mail_dir: Path, address: str) -> str | None:
    """The path of the confirmation link in the mail the worker wrote to `address`, once it is there."""
    for path in mail_dir.iterdir():
        for raw in path.read_text().split("-" * 79):
            message = email.message_from_string(raw.strip())
            if address not in (message["To"] or ""):
                continue
            for part in message.walk():
                body = part.get_payload(decode=True)
                if body and (match := re.search(rb"https?://[^\s/]+(/accounts/confirm/[^\s/]+/)", body)):
                    return match.group(1).decode()
    return None
