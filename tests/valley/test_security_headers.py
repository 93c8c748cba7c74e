"""The response headers a browser enforces (Content-Security-Policy, Referrer-Policy, Permissions-Policy) and
the promise that makes the strict policy workable: no template and no rendered page of the demo needs an inline
script, an inline style or an event-handler attribute. tests/browser/test_csp.py checks the same in Chromium."""

import re
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urljoin, urlsplit

import pytest
from django.core.management import call_command
from django.test import Client
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from tests.conftest import ROOT
from valley.demo import DEMO_USERS, demo_email

EXPECTED_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; font-src 'self'; "
    "connect-src 'self'; object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'"
)


def directives(header: str) -> dict[str, list[str]]:
    parts = [part.split() for part in header.split(";") if part.strip()]
    return {name: values for name, *values in parts}


def assert_security_headers(response):
    csp = directives(response["Content-Security-Policy"])
    assert csp == directives(EXPECTED_CSP), response["Content-Security-Policy"]
    assert "'unsafe-inline'" not in response["Content-Security-Policy"]
    assert "'unsafe-eval'" not in response["Content-Security-Policy"]
    assert response["Referrer-Policy"] == "same-origin"
    permissions = response["Permissions-Policy"]
    for feature in ("camera", "microphone", "geolocation", "payment"):
        assert f"{feature}=()" in permissions, permissions


@pytest.fixture
def superuser(django_user_model):
    return django_user_model.objects.create_superuser(email="root@example.cn", password="pw-Valley-2026!")


def test_a_public_page_carries_the_headers(client, db):
    response = client.get("/")
    assert response.status_code == 200
    assert_security_headers(response)


def test_the_login_page_carries_the_headers(client, db):
    response = client.get("/accounts/login/")
    assert response.status_code == 200
    assert_security_headers(response)


def test_an_applicant_page_carries_the_headers(client, applicant):
    client.force_login(applicant)
    response = client.get("/funding/")
    assert response.status_code == 200
    assert_security_headers(response)


def test_a_staff_page_carries_the_headers(client, provincial_staff):
    client.force_login(provincial_staff)
    response = client.get("/funding/queues/")
    assert response.status_code == 200
    assert_security_headers(response)


def test_the_admin_carries_the_headers(client, superuser):
    client.force_login(superuser)
    for path in ("/admin/", "/admin/funding/application/", "/admin/auth/group/add/"):
        response = client.get(path)
        assert response.status_code == 200, path
        assert_security_headers(response)


def test_the_api_and_its_docs_carry_the_headers(applicant):
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=applicant).key}")
    response = api.get("/api/applications/")
    assert response.status_code == 200
    assert_security_headers(response)
    anonymous = Client()
    assert_security_headers(anonymous.get("/api/applications/"))  # the 401 too
    docs = anonymous.get("/api/docs/")
    assert docs.status_code == 200
    assert_security_headers(docs)
    # The Swagger page's own script comes from a URL the policy allows, not from an inline block.
    assert not InlineFinder.findings_in(docs.content.decode())
    script = anonymous.get("/api/docs/?script=")
    assert script.status_code == 200
    assert "SwaggerUIBundle" in script.content.decode()


def test_error_pages_carry_the_headers(client, db, settings):
    settings.DEBUG = False  # django-csp leaves DEBUG's technical 404 page alone; production's has the header
    response = client.get("/no-such-page/")
    assert response.status_code == 404
    assert_security_headers(response)


# ---------------------------------------------------------------- nothing inline


class InlineFinder(HTMLParser):
    """What a page carries that `script-src 'self'; style-src 'self'` would refuse: a <script> with a body
    (JSON data blocks are not run, so they are allowed), a <style> block, a style="" attribute, an on*=
    handler, a javascript: URL."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.findings: list[str] = []
        self._script: str | None = None

    @classmethod
    def findings_in(cls, html: str) -> list[str]:
        finder = cls()
        finder.feed(html)
        finder.close()
        return finder.findings

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        shown = self.get_starttag_text()[:160]
        if tag == "style":
            self.findings.append(f"<style> block: {shown}")
        if tag == "script" and not attributes.get("src") and attributes.get("type") != "application/json":
            self._script = shown
        for name, value in attrs:
            if name == "style":
                self.findings.append(f"style attribute: {shown}")
            elif name.startswith("on"):
                self.findings.append(f"event handler {name}: {shown}")
            elif name in {"href", "src", "action", "formaction"} and (value or "").strip().lower().startswith(
                "javascript:"
            ):
                self.findings.append(f"javascript: URL: {shown}")

    def handle_data(self, data):
        if self._script is not None and data.strip():
            self.findings.append(f"inline script: {self._script}")
            self._script = None

    def handle_endtag(self, tag):
        if tag == "script":
            self._script = None


TEMPLATE_RULES = {
    "style attribute": re.compile(r"\sstyle\s*="),
    "<style> block": re.compile(r"<style\b", re.IGNORECASE),
    "inline <script>": re.compile(r"<script\b(?![^>]*\bsrc=)(?![^>]*type=\"application/json\")[^>]*>", re.I),
    "event handler": re.compile(r"\son[a-z]+\s*=", re.IGNORECASE),
    "javascript: URL": re.compile(r"javascript:", re.IGNORECASE),
}


def project_templates() -> list[Path]:
    folders = [ROOT / "templates", *(ROOT / app / "templates" for app in ("valley", "teams", "funding", "tolerance"))]
    return sorted(path for folder in folders if folder.is_dir() for path in folder.rglob("*.html"))


def test_no_template_in_the_repository_needs_inline_script_or_style():
    templates = project_templates()
    assert len(templates) > 50, "the template folders moved: update project_templates()"
    found = [
        f"{path.relative_to(ROOT)}:{text[: match.start()].count(chr(10)) + 1}: {rule}"
        for path in templates
        for text in [path.read_text(encoding="utf-8")]
        for rule, pattern in TEMPLATE_RULES.items()
        for match in pattern.finditer(text)
    ]
    assert not found, "\n".join(found)


def test_the_finder_sees_what_the_policy_refuses():
    """The page check below is only as good as this finder: each of these would be blocked in a browser."""
    for html in (
        '<div style="color:red">x</div>',
        "<style>p{}</style>",
        "<script>alert(1)</script>",
        '<button onclick="go()">x</button>',
        '<a href="javascript:go()">x</a>',
    ):
        assert InlineFinder.findings_in(html), html
    allowed = '<script src="/static/js/session.js" defer></script><script id="d" type="application/json">{}</script>'
    assert not InlineFinder.findings_in(allowed)


SKIPPED_LINKS = re.compile(r"(\.csv$|/logout/|/static/|/media/|/i18n/|/delete/|/history/|\?script=)")
PAGES_PER_PATTERN = 1  # one page per URL shape (digits folded), so 68 entity pages cost one request
MAX_PAGES_PER_USER = 120


class Links(HTMLParser):
    def __init__(self):
        super().__init__()
        self.hrefs: list[str] = []

    def handle_starttag(self, tag, attrs):
        if tag == "a" and (href := dict(attrs).get("href")):
            self.hrefs.append(href)


def crawl(client: Client, start_paths: list[str]) -> dict[str, list[str]]:
    """GET every same-site page reachable by links from the start pages, one per URL shape; what each holds
    inline, by path."""
    queue, seen_shapes, findings, visited = list(start_paths), set(), {}, 0
    while queue and visited < MAX_PAGES_PER_USER:
        path = queue.pop(0)
        shape = re.sub(r"\d+", "N", path)
        if shape in seen_shapes:
            continue
        seen_shapes.add(shape)
        response = client.get(path)
        visited += 1
        if response.status_code != 200 or "text/html" not in response.get("Content-Type", ""):
            continue
        assert "Content-Security-Policy" in response, path
        html = response.content.decode()
        if found := InlineFinder.findings_in(html):
            findings[path] = found
        links = Links()
        links.feed(html)
        for href in links.hrefs:
            url = urlsplit(urljoin(path, href))
            if url.netloc or not url.path.startswith("/") or SKIPPED_LINKS.search(url.path):
                continue
            queue.append(url.path + (f"?{url.query}" if url.query else ""))
    return findings


@pytest.mark.django_db
def test_no_page_of_the_demo_holds_inline_script_or_style(settings):
    settings.DEBUG = True
    call_command("seed_demo", verbosity=0)
    settings.DEBUG = False
    from django.contrib.auth import get_user_model

    users = get_user_model().objects
    findings = {"anonymous": crawl(Client(), ["/", "/accounts/login/", "/accounts/signup/", "/api/docs/"])}
    for _role, local, *_ in DEMO_USERS:
        client = Client()
        client.force_login(users.get(email=demo_email(local)))
        findings[local] = crawl(client, ["/", "/admin/"])
    root = users.create_superuser(email="root@example.cn", password="pw-Valley-2026!")
    client = Client()
    client.force_login(root)
    findings["superuser"] = crawl(client, ["/admin/"])
    found = {who: pages for who, pages in findings.items() if pages}
    assert not found, "\n".join(f"{who} {path}: {what}" for who, pages in found.items() for path, what in pages.items())
