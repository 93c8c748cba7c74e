"""Every page a demo person can reach from their home, in both languages, reads right (issue 17).

The demo valley is loaded; for each demo login the test client starts at /my/ (and /admin/ for staff)
and follows every same-site link breadth first, GET only, at most two pages of each URL shape (the
application of one id is laid out like the application of another; in the admin one changelist and one
change page per model and language, by the first person who reaches it). Downloads are fetched for their
status only. It fails, with every (role, language, URL, problem) at once, on:

- a server error (5xx);
- a number with more than two decimals in the visible text (0.500 where 50.00% or 0.50 is meant);
- a raw workflow action code (funding.application.submit) where its words belong;
- on a Chinese page, an English word from a short list of the interface's own words (Save, Delete,
  Yes, None…), which is an untranslated string; names and brands are not on the list.

The 390 px width of the same pages is tests/browser/test_narrow_screens.py's (it needs a browser)."""

import re
import time
from collections import Counter, deque
from html.parser import HTMLParser
from urllib.parse import parse_qsl, urlsplit

import pytest
from django.core.management import call_command
from django.test import Client
from django.urls import Resolver404, resolve

from valley.demo import DEMO_USERS, demo_email
from valley.models import User

LANGUAGES = ["zh-hans", "en"]
# Not pages to walk: leaving, switching language, the machine-facing endpoints; and admin pages whose
# GET is a confirmation step before a change (delete) or Django's own password forms.
NOT_PAGES = re.compile(
    r"^/(accounts/logout|admin/logout|i18n/|api/|metrics|readyz|healthz|static/|media/|bench/)"
    r"|^/admin/.*/(delete|password)/$|^/admin/password_change/"
)
# Files: fetched for their status, never parsed.
DOWNLOADS = re.compile(r"\.(csv|xlsx|json|pdf|zip)$|/download/$|/documents/\d+/$|/export/")
PER_SHAPE = 2
# A walk per person and language stops after this many pages: the demo valley is large, and the
# shapes run out well before it (the cap only bounds a run if a page starts linking without end).
PAGES_PER_WALK = 250

# 1.234, 0.5000, 12345.678: more than two decimals. Not parts of a longer dotted token (a version 1.2.3,
# an address, a time 12:30:00.123) and not inside a word (a hash).
LONG_DECIMAL = re.compile(r"(?<![\w.:/-])\d+\.\d{3,}(?![\w.:])")
# The workflows' action codes: app.model.verb (valley.core.workflow names each workflow app.model).
ACTION_CODE = re.compile(
    r"(?<![\w@.])(funding|teams|tolerance|valley)\.(application|fund_use_report|residency|achievement|"
    r"service_request|residency_request|investment|exemption_case|company_report|deletion_request)\.[a-z_]+\b"
)
# The interface's own English words, which a Chinese page shows only when a string is left untranslated.
# Whole words, case as the interface writes them; none is a name or a brand in the demo data.
ENGLISH_WORDS = [
    "Save",
    "Delete",
    "Submit",
    "Search",
    "Filter",
    "Exclude",
    "Residencies",
    "None",
    "True",
    "False",
    "Yes",
    "No",
    "Add",
    "Change",
    "History",
    "Home",
    "Log out",
    "Page",
    "Next",
    "Previous",
    "Cancel",
    "Download",
    "Status",
    "Unknown",
    "Show all",
    "results",
]
ENGLISH_WORD = re.compile(r"(?<![\w-])(" + "|".join(re.escape(w) for w in ENGLISH_WORDS) + r")(?![\w-])")


class PageText(HTMLParser):
    """The visible text of a page (no script, style or template content, no attribute values) and its links."""

    HIDDEN = {"script", "style", "template", "noscript"}

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.texts: list[str] = []
        self.links: list[str] = []
        self._hidden = 0

    def handle_starttag(self, tag, attrs):
        if tag in self.HIDDEN:
            self._hidden += 1
        if tag == "a":
            href = dict(attrs).get("href")
            if href:
                self.links.append(href)

    def handle_endtag(self, tag):
        if tag in self.HIDDEN and self._hidden:
            self._hidden -= 1

    def handle_data(self, data):
        if not self._hidden and data.strip():
            self.texts.append(data.strip())


def problems_of(text: str, language: str) -> list[str]:
    found = [f"more than two decimals: {m.group(0)!r}" for m in LONG_DECIMAL.finditer(text)]
    found += [f"raw action code: {m.group(0)!r}" for m in ACTION_CODE.finditer(text)]
    if language == "zh-hans":
        found += [f"English on a Chinese page: {m.group(0)!r}" for m in ENGLISH_WORD.finditer(text)]
    return found


def shape(path: str, query: str) -> tuple:
    """What pages of one layout share: the URL pattern, and which query parameters are set (not their values)."""
    try:
        match = resolve(path)
    except Resolver404:
        return (path,)
    if path.startswith("/admin/"):
        return (match.view_name, match.kwargs.get("app_label"))
    keys = tuple(sorted({key for key, _ in parse_qsl(query, keep_blank_values=True)}))
    return (match.view_name, keys)


def walk(client: Client, starts: list[str], language: str, who: str, admin_shapes: Counter) -> tuple[list[tuple], int]:
    """Breadth first from `starts`; returns the (who, language, url, problem) rows and the pages read.
    `admin_shapes` is shared by the walks in one language: the admin's pages of a model are the same
    templates whoever reads them, so each is read once per language, by the first person who reaches it."""
    rows, seen, shapes = [], set(), Counter()
    queue = deque(starts)
    read = 0
    while queue and read < PAGES_PER_WALK:
        url = queue.popleft()
        if url in seen:
            continue
        seen.add(url)
        split = urlsplit(url)
        path = split.path
        if NOT_PAGES.search(path):
            continue
        key = shape(path, split.query)
        # The admin's pages are Django's few templates over each model: one of each (a changelist, not
        # also its every sort and filter; one change page) says what the next would.
        counts, limit = (admin_shapes, 1) if path.startswith("/admin/") else (shapes, PER_SHAPE)
        if counts[key] >= limit:
            continue
        counts[key] += 1
        response = client.get(url)
        read += 1
        if response.status_code >= 500:
            exc = getattr(response, "exc_info", None)
            rows.append((who, language, url, f"status {response.status_code}: {exc[1]!r}" if exc else ""))
            continue
        if DOWNLOADS.search(path) or response.streaming:
            if response.streaming:  # read to its end, through the test client's wrapper that keeps the connection
                for _chunk in response.streaming_content:
                    pass
            continue
        if response.status_code != 200 or "html" not in response.get("Content-Type", ""):
            continue
        parser = PageText()
        parser.feed(response.content.decode())
        text = "\n".join(parser.texts)
        rows += [(who, language, url, problem) for problem in problems_of(text, language)]
        for href in parser.links:
            target = urlsplit(href)
            if target.scheme or target.netloc or not target.path.startswith("/"):
                continue  # another site, mailto:, a fragment of this page
            link = target.path + (f"?{target.query}" if target.query else "")
            if link not in seen:
                queue.append(link)
    return rows, read


def test_problem_finders_catch_what_they_are_for():
    """The finders themselves: each catches its defect and lets the look-alikes through."""
    assert problems_of("比例 0.500", "en") == ["more than two decimals: '0.500'"]
    assert problems_of("¥1,000,000.00 50.00% v1.2.3 12:30:00.123 a1.2345b", "en") == []
    assert problems_of("操作 funding.application.submit", "en") == ["raw action code: 'funding.application.submit'"]
    assert problems_of("staff@demo.valley.example.cn teams.Entity", "en") == []
    assert problems_of("保存 Save", "zh-hans") == ["English on a Chinese page: 'Save'"]
    assert problems_of("Save", "en") == []
    assert problems_of("English Noto Savecraft", "zh-hans") == []


@pytest.mark.django_db
def test_every_reachable_page_reads_right_for_every_demo_person(settings):
    settings.DEBUG = True
    call_command("seed_demo", verbosity=0)
    started = time.monotonic()
    rows, reads, admin_shapes = [], Counter(), {language: Counter() for language in LANGUAGES}
    for _role, local, *_ in DEMO_USERS:
        user = User.objects.get(email=demo_email(local))
        starts = ["/my/", *(["/admin/"] if user.is_staff else [])]
        for language in LANGUAGES:
            client = Client(raise_request_exception=False, HTTP_ACCEPT_LANGUAGE=language)
            client.cookies[settings.LANGUAGE_COOKIE_NAME] = language
            client.force_login(user)
            found, read = walk(client, starts, language, local, admin_shapes[language])
            rows += found
            reads[(local, language)] = read
    elapsed = time.monotonic() - started
    print(f"walked {sum(reads.values())} pages in {elapsed:.0f} s: {dict(reads)}")
    assert min(reads.values()) >= 3, f"some walks reached almost nothing: {dict(reads)}"
    assert max(reads.values()) < PAGES_PER_WALK, f"a walk was cut short, its pages not all read: {dict(reads)}"
    assert not rows, f"{len(rows)} problem(s) over {sum(reads.values())} pages in {elapsed:.0f} s:\n" + "\n".join(
        f"  {who} [{language}] {url}: {problem}" for who, language, url, problem in sorted(set(rows))
    )
