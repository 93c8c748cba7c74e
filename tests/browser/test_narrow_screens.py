"""Phones: every page reachable from each demo role's home (and a few start pages) fits a 390 px screen.

The demo data (applications in every state, entities, grants, cases) is loaded, and Chromium follows the
links on each page like a person tapping through, at most two pages of each URL shape (the application
of one id looks like the application of another). A wide table is fine inside its own scrolling box
(`.table-scroll`); the page itself must not scroll sideways."""

import re
from urllib.parse import urlsplit

import pytest
from django.core.management import call_command

from valley.demo import demo_email
from valley.models import User

pytestmark = [pytest.mark.browser, pytest.mark.postgres]

PHONE = {"width": 390, "height": 844}
# Not pages: downloads, the language switch, leaving; the admin is Django's own (responsive) and the API JSON.
SKIP = re.compile(
    r"^/(accounts/logout|i18n/|admin/|api/|metrics|readyz|healthz)|\.(csv|xlsx|json|pdf|zip)$|/documents/\d+/$"
)
PAGES_PER_ROLE = 45


def shape(path: str) -> str:
    return re.sub(r"\d+", "N", path)


def walk(me, starts: list[str]) -> dict[str, int]:
    """Visit pages breadth first from `starts`; return {path: document width} for every page seen."""
    page, widths, queue, shapes = me.page, {}, list(starts), {}
    while queue and len(widths) < PAGES_PER_ROLE:
        path = queue.pop(0)
        if path in widths or SKIP.search(path) or shapes.get(shape(path), 0) >= 2:
            continue
        response = page.goto(path)
        if response is None or response.status >= 400 or urlsplit(page.url).path != path:
            widths[path] = 0  # refused or redirected (a login, a role's other page): not this page's layout
            continue
        shapes[shape(path)] = shapes.get(shape(path), 0) + 1
        widths[path] = page.evaluate("document.documentElement.scrollWidth")
        for href in page.eval_on_selector_all("a[href]", "links => links.map(a => a.getAttribute('href'))"):
            target = urlsplit(href)
            if not target.netloc and target.path.startswith("/") and target.path not in widths:
                queue.append(target.path)
    return widths


@pytest.mark.parametrize(
    ("local", "language", "starts"),
    [
        ("staff", "zh-hans", ["/my/", "/", "/funding/queues/", "/teams/", "/tolerance/funds/", "/tolerance/cases/"]),
        ("finance", "en", ["/my/", "/", "/funding/queues/", "/funding/budgets/"]),
        ("applicant", "en", ["/my/", "/", "/funding/", "/teams/", "/funding/notices/"]),
        ("applicant", "zh-hans", ["/my/", "/", "/funding/", "/teams/"]),
        # Every other demo role from its home (/my/, where a login lands), the languages alternating.
        ("operator", "zh-hans", ["/my/"]),
        ("reviewer", "en", ["/my/"]),
        ("approver", "zh-hans", ["/my/"]),
        ("registration", "en", ["/my/"]),
        ("portfolio", "zh-hans", ["/my/"]),
        ("supervisor", "en", ["/my/"]),
        ("decisionbody", "zh-hans", ["/my/"]),
        ("servicefinance", "en", ["/my/"]),
        ("auditor", "zh-hans", ["/my/"]),
    ],
)
def test_pages_fit_a_phone_screen(local, language, starts, visit, transactional_db):
    call_command("seed_demo", allow_production=True, verbosity=0)
    me = visit(language, f"phone-{local}", viewport=PHONE)
    me.log_in_quickly(User.objects.get(email=demo_email(local)))
    widths = walk(me, starts)
    shown = {path: width for path, width in widths.items() if width}
    assert len(shown) >= (8 if len(starts) > 1 else 3), f"too few pages reached to say anything: {sorted(widths)}"
    too_wide = {path: width for path, width in shown.items() if width > PHONE["width"]}
    for path in too_wide:
        me.page.goto(path)
        name = shape(path).strip("/").replace("/", "-")
        me.page.screenshot(path=f"artifacts/screenshots/{language}/phone-{local}-too-wide-{name}.png")
    assert not too_wide, f"pages wider than a {PHONE['width']} px phone: {too_wide}"
