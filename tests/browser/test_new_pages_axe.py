"""axe-core finds no serious or critical violation on the newer pages, in both languages (issue 17): each
demo role's home (/my/), the residency request pages, the service request pages (queue, detail, new), the
guides, the privacy pages (notice, my data, deletion) and the confirmation step before a grave step.

The demo valley is loaded, so every page shows real rows; a detail page is the first one its list links to.
`look` (tests/browser/conftest.py) screenshots the page, runs axe and fails on serious or critical."""

import re

import pytest
from django.core.management import call_command
from playwright.sync_api import expect

from funding.models import Application
from tests.browser.conftest import LANGUAGES
from valley.demo import DEMO_USERS, demo_email
from valley.models import User

pytestmark = [pytest.mark.browser, pytest.mark.postgres]

# One login per role (the second applicant and the second service-line person see the same pages).
HOMES = list(dict.fromkeys(local for _role, local, *_ in DEMO_USERS if local not in {"applicant2", "servicetech"}))


def first_link(page, pattern: str) -> str:
    """The first link on the page whose path matches `pattern`."""
    hrefs = page.eval_on_selector_all("a[href]", "links => links.map(a => a.getAttribute('href'))")
    found = [href for href in hrefs if re.fullmatch(pattern, href.split("?")[0])]
    assert found, f"no link like {pattern} on {page.url}"
    return found[0]


def look_at(visit, language: str, local: str, paths: list[str], *, follow: dict[str, str] | None = None):
    """As `local`: look at each path, then at the first link like each `follow` pattern on the page named."""
    me = visit(language, f"axe-{local}")
    me.log_in_quickly(User.objects.get(email=demo_email(local)))
    for path in paths:
        response = me.page.goto(path)
        assert response is not None and response.status == 200, f"{local} {path}: {response and response.status}"
        me.look(path.strip("/").replace("/", "-") or "root")
        for pattern in (follow or {}).get(path, "").split() or []:
            target = first_link(me.page, pattern)
            assert me.page.goto(target).status == 200
            me.look(re.sub(r"\d+", "N", target).strip("/").replace("/", "-"))
            me.page.goto(path)
    return me


@pytest.mark.parametrize("language", LANGUAGES)
def test_new_pages_have_no_serious_accessibility_violation(language, visit, transactional_db):
    call_command("seed_demo", allow_production=True, verbosity=0)

    for local in HOMES:
        look_at(visit, language, local, ["/my/"]).close()

    # The applicant: residency requests, service requests, guides, privacy.
    look_at(
        visit,
        language,
        "applicant",
        [
            "/teams/residency/",
            "/teams/services/",
            "/teams/services/new/",
            "/guides/",
            "/privacy/",
            "/accounts/my-data/",
            "/accounts/delete/",
        ],
        follow={
            "/teams/residency/": r"/teams/\d+/residency/apply/",  # the demo applicant has asked for none yet
            "/teams/services/": r"/teams/services/\d+/",
            "/guides/": r"/guides/[\w-]+/",
        },
    ).close()

    # Staff: the residency queue and a request; a service-line person: the service queue and a request.
    look_at(
        visit,
        language,
        "staff",
        ["/teams/residency/queue/"],
        follow={"/teams/residency/queue/": r"/teams/residency/\d+/"},
    ).close()
    look_at(
        visit,
        language,
        "servicefinance",
        ["/teams/services/queue/"],
        follow={"/teams/services/queue/": r"/teams/services/\d+/"},
    ).close()

    # The confirmation step before a rejection (funding/templates/funding/confirm_step.html).
    application = Application.objects.filter(state=Application.State.AWAITING_DECISION).order_by("pk").first()
    assert application is not None, "the demo valley holds an application awaiting the decision"
    me = visit(language, "axe-approver-confirm")
    me.log_in_quickly(User.objects.get(email=demo_email("approver")))
    me.page.goto(f"/funding/{application.pk}/")
    me.page.locator("form[data-steps] button[data-step-name=reject]").click()
    expect(me.page.locator("[data-confirm-step=reject]")).to_have_count(1)
    me.look("confirm-step-reject")
