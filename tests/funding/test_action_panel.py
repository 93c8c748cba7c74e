"""The application page's action panel: one form with a button per step, told apart by kind (primary,
secondary, danger); reject and return asked again on a page of their own; a step not possible yet shown
disabled with its reason instead of offered and then refused."""

import re

import pytest
from django.test import Client
from django.urls import reverse

from funding.models import Application

pytestmark = pytest.mark.django_db

S = Application.State


def signed_in(user, language="en"):
    client = Client(HTTP_ACCEPT_LANGUAGE=language)
    client.force_login(user)
    return client


def page_of(client, application) -> str:
    response = client.get(reverse("funding:detail", args=[application.pk]))
    assert response.status_code == 200
    return response.content.decode()


def step_button(page: str, name: str) -> str:
    match = re.search(rf'<button[^>]*data-step-name="{name}"[^>]*>', page)
    assert match, f"no button for {name}"
    return match.group(0)


def test_one_form_holds_every_step_with_buttons_told_apart(application_in, people):
    application = application_in(S.FORMAL_REVIEW)
    page = page_of(signed_in(people["reviewer"]), application)
    assert page.count("data-steps") == 1
    assert page.count('name="comment"') == 1, "one comment box, not one per step"
    assert 'class="button primary"' in step_button(page, "pass_formal_review")
    assert 'class="button secondary"' in step_button(page, "return_for_changes")
    assert "Required to return for changes." in page


def test_reject_is_a_danger_button_and_asks_first(application_in, people):
    application = application_in(S.AWAITING_DECISION)
    client = signed_in(people["approver"])
    assert 'class="button danger"' in step_button(page_of(client, application), "reject")

    url = reverse("funding:transition", args=[application.pk, "reject"])
    asked = client.post(url, {"comment": "成果尚处实验室阶段。"})
    assert asked.status_code == 200
    page = asked.content.decode()
    assert 'data-confirm-step="reject"' in page
    assert "Reject this application?" in page
    assert "成果尚处实验室阶段。" in page, "the comment is carried to the confirmation"
    assert Application.objects.get(pk=application.pk).state == S.AWAITING_DECISION

    done = client.post(url, {"comment": "成果尚处实验室阶段。", "confirmed": "yes"})
    assert done.status_code == 302
    assert Application.objects.get(pk=application.pk).state == S.REJECTED


def test_confirming_a_return_without_a_comment_asks_for_one_next_to_the_field(application_in, people):
    application = application_in(S.FORMAL_REVIEW)
    client = signed_in(people["reviewer"], language="zh-hans")
    response = client.post(
        reverse("funding:transition", args=[application.pk, "return_for_changes"]), {"comment": " ", "confirmed": "yes"}
    )
    assert response.status_code == 200
    page = response.content.decode()
    assert 'class="field has-error"' in page
    assert "请说明理由：申请人会看到这条意见。" in page
    assert Application.objects.get(pk=application.pk).state == S.FORMAL_REVIEW


def test_a_step_not_possible_yet_is_shown_disabled_with_its_reason(application_in, people):
    application = application_in(S.PUBLIC_NOTICE)  # the notice runs for days yet
    page = page_of(signed_in(people["approver"]), application)
    button = step_button(page, "end_notice")
    assert "disabled" in button and "data-blocked" in button
    reason = re.search(r'<small class="help" id="why-end_notice">([^<]+)</small>', page)
    assert reason and reason.group(1).strip(), "the reason is shown next to the disabled button"
    assert 'formaction="/funding/' not in button


def test_someone_who_may_not_reject_is_not_asked_to_confirm(application_in, people, auditor):
    application = application_in(S.AWAITING_DECISION)
    response = signed_in(auditor).post(
        reverse("funding:transition", args=[application.pk, "reject"]), {"comment": "no"}, follow=True
    )
    assert "data-confirm-step" not in response.content.decode()
    assert Application.objects.get(pk=application.pk).state == S.AWAITING_DECISION
