"""Each role's home ("my tasks", /my/) in Chromium, in Chinese and in English: a reviewer logs in through the form
(password and code) and lands on their queues, claims an application and sees themselves as its lead; provincial
staff see who acts on each queue; the applicant sees their application and what is due; the auditor the exports
and the audit check. Each home is screenshotted and checked with axe-core."""

import re

import pytest
from django.urls import reverse
from playwright.sync_api import expect

from funding.models import Application
from tests.browser.conftest import LANGUAGES
from tests.browser.test_journeys import PASSWORD, log_in_through_the_form
from valley.core import roles

pytestmark = [pytest.mark.browser, pytest.mark.postgres]
S = Application.State


def queue(page, key):
    return page.locator(f"[data-queue='{key}']")


@pytest.mark.parametrize("language", LANGUAGES)
def test_each_roles_home_shows_their_tasks(language, visit, make_user, application_in, people, provincial_staff):
    submitted = application_in(S.SUBMITTED)
    paying = application_in(S.DISBURSEMENT)
    other = application_in(S.AWAITING_DECISION, owner=make_user(roles.APPLICANT, email=f"other-{language}@example.cn"))
    reviewer = people["reviewer"]
    reviewer.set_password(PASSWORD)
    reviewer.save(update_fields=["password"])

    # The reviewer: the login lands on their queues, the oldest first, with the count of each.
    me = visit(language, "my-home-reviewer")
    page = me.page
    log_in_through_the_form(me, reviewer, PASSWORD)
    expect(page).to_have_url(re.compile(re.escape(reverse("my_home")) + "$"))
    expect(page.locator("main h1")).to_have_text(me.t("My tasks"))
    formal = queue(page, "funding.formal")
    expect(formal.locator("[data-count]")).to_have_text("1")
    expect(formal.locator(f"a[href='{reverse('funding:detail', args=[submitted.pk])}']")).to_be_visible()
    expect(queue(page, "funding.decision")).to_have_count(0)  # the approver's queue, not the reviewer's
    me.look("home")
    # They take the lead from the application's page, and the home shows it.
    formal.locator(f"a[href='{reverse('funding:detail', args=[submitted.pk])}']").click()
    page.locator("[data-claim]").click()
    expect(page.locator("[data-lead]")).to_contain_text(reviewer.email)
    page.locator("[data-my-home]").click()
    expect(queue(page, "funding.formal").locator("tr[data-item]")).to_contain_text(reviewer.email)
    expect(queue(page, "funding.led").locator("[data-count]")).to_have_text("1")
    me.look("home-lead")

    # Provincial staff: every queue, with the role that acts where they do not act themselves.
    staff = visit(language, "my-home-staff")
    staff.log_in_quickly(provincial_staff)
    staff.page.goto(reverse("my_home"))
    decision = queue(staff.page, "funding.decision")
    expect(decision.locator("[data-count]")).to_have_text("1")
    expect(decision.locator("[data-role]")).to_contain_text(staff.t("Approver"))
    expect(queue(staff.page, "funding.disbursement").locator("[data-count]")).to_have_text("1")
    staff.look("home")

    # The applicant: their entities and applications with what is due; never another applicant's.
    holder = visit(language, "my-home-applicant")
    holder.log_in_quickly(people["applicant"])
    holder.page.goto(reverse("my_home"))
    mine = queue(holder.page, "funding.mine")
    expect(mine.locator("[data-count]")).to_have_text("2")
    expect(mine.locator(f"a[href='{reverse('funding:detail', args=[paying.pk])}']")).to_be_visible()
    expect(holder.page.locator(f"a[href='{reverse('funding:detail', args=[other.pk])}']")).to_have_count(0)
    expect(queue(holder.page, "funding.my_reports").locator("tr[data-item]")).to_have_count(1)
    expect(queue(holder.page, "teams.mine").locator("[data-count]")).to_have_text("2")
    holder.look("home")

    # The auditor: the exports, the audit check and the anchors; no queue.
    auditor = visit(language, "my-home-auditor")
    auditor.log_in_quickly(make_user(roles.AUDITOR, email=f"auditor-{language}@example.cn"))
    auditor.page.goto(reverse("my_home"))
    expect(auditor.page.locator("[data-exports]")).to_have_attribute("href", reverse("export_list"))
    expect(auditor.page.locator("[data-audit-check]")).to_have_attribute("href", reverse("audit_check"))
    expect(auditor.page.locator("[data-queue]")).to_have_count(0)
    auditor.look("home")
    auditor.page.locator("[data-audit-check]").click()
    expect(auditor.page).to_have_url(re.compile(re.escape(reverse("audit_check")) + "$"))
