"""Reject asks first, in Chromium: the approver's one-form panel, the danger button, the confirmation page
with the comment carried there, "back" leaving the application as it was, and the confirmed rejection."""

import pytest
from django.urls import reverse
from playwright.sync_api import expect

from funding.models import Application
from tests.browser.conftest import LANGUAGES

pytestmark = [pytest.mark.browser, pytest.mark.postgres]
S = Application.State


@pytest.mark.parametrize("language", LANGUAGES)
def test_reject_asks_for_confirmation_and_back_changes_nothing(language, visit, application_in, people):
    application = application_in(S.AWAITING_DECISION)
    me = visit(language, "action-panel")
    me.log_in_quickly(people["approver"])
    page = me.page
    detail = reverse("funding:detail", args=[application.pk])
    page.goto(detail)
    panel = page.locator("form[data-steps]")
    expect(panel).to_have_count(1)
    expect(panel.locator("button[data-step-name=reject]")).to_have_class("button danger")
    me.look("awaiting-decision")

    comment = "成果尚处实验室阶段，建议完成中试后再申请。"
    page.fill("#step-comment", comment)
    panel.locator("button[data-step-name=reject]").click()
    question = page.locator("[data-confirm-step=reject]")
    expect(question).to_contain_text(
        me.t("Reject this application? The applicant is told, and the application goes no further.")
    )
    expect(question.locator("textarea[name=comment]")).to_have_value(comment)
    me.look("reject-confirm")

    question.get_by_role("link", name=me.t("Back to the application")).click()
    expect(page).to_have_url(f"{me.base_url}{detail}")
    assert Application.objects.get(pk=application.pk).state == S.AWAITING_DECISION

    page.fill("#step-comment", comment)
    panel.locator("button[data-step-name=reject]").click()
    page.locator("[data-confirm]").click()
    expect(page.locator(".message.success")).to_be_visible()
    assert Application.objects.get(pk=application.pk).state == S.REJECTED
    me.look("rejected")
