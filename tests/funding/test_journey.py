"""One application from draft to closed through the web pages, each step by its proper role, with a real
Celery worker sending the mail and Celery beat ending the public notice."""

import datetime
import email
from decimal import Decimal

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from funding.demo import file_report
from funding.models import Application
from teams.demo import demo_uscc
from tests.auth_helpers import reauthenticate
from tests.conftest import wait_for

pytestmark = pytest.mark.postgres
S = Application.State


def logged_in(user):
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    client.force_login(user)
    return client


def act(client, application, name, comment=""):
    response = client.post(
        reverse("funding:transition", args=[application.pk, name]),
        {"comment": comment, "confirmed": "yes"},
        follow=True,
    )
    assert response.status_code == 200
    messages = [str(m) for m in response.context["messages"]]
    assert messages[-1].startswith("Saved. The application is now"), (name, messages)


def state_of(application):
    return Application.objects.values_list("state", flat=True).get(pk=application.pk)


def test_one_application_walks_every_state_to_closed(
    celery_worker_process, start_celery_beat, mail_dir, resident_entity, people, applicant
):
    entity = resident_entity()
    entity.contact_email = "team@example.cn"
    entity.save()
    team = logged_in(applicant)
    reviewer, approver = logged_in(people["reviewer"]), logged_in(people["approver"])

    # Applicant: draft, then submit.
    response = team.post(
        reverse("funding:new"), {"entity": entity.pk, "amount": "800,000", "purpose": "中试线", "plan": "建设中试线"}
    )
    application = Application.objects.get(entity=entity)
    assert response.status_code == 302 and state_of(application) == S.DRAFT
    act(team, application, "submit")

    # Formal review returns it once for changes; the applicant answers and resubmits.
    act(reviewer, application, "start_formal_review")
    act(reviewer, application, "return_for_changes", comment="请补充中试预算明细。")
    assert state_of(application) == S.RETURNED
    team.post(
        reverse("funding:edit", args=[application.pk]),
        {"amount": "800000.00", "purpose": "中试线", "plan": "建设中试线；预算明细见附件。"},
    )
    act(team, application, "submit", comment="已补充预算明细。")
    act(reviewer, application, "start_formal_review")
    act(reviewer, application, "pass_formal_review")

    # Expert review: assign, review, complete.
    reviewer.post(reverse("funding:assign_reviewer", args=[application.pk]), {"reviewer": people["reviewer"].pk})
    reviewer.post(
        reverse("funding:review", args=[application.pk]),
        {"score": "88", "recommendation": "approve", "opinion": "路线可行"},
    )
    act(reviewer, application, "complete_expert_review")
    assert state_of(application) == S.AWAITING_DECISION

    # Decision (approving money asks for the password and a fresh code again: done just now).
    reauthenticate(approver)
    response = approver.post(
        reverse("funding:approve", args=[application.pk]), {"approved_amount": "", "comment": "同意资助"}
    )
    assert response.status_code == 302
    assert state_of(application) == S.PUBLIC_NOTICE
    assert entity.name_zh in Client().get(reverse("funding:notices")).content.decode()  # listed publicly

    # The notice period passes; beat's task, run by the worker, moves it on.
    Application.objects.filter(pk=application.pk).update(notice_ends_on=timezone.localdate() - datetime.timedelta(1))
    start_celery_beat(FUNDING_NOTICE_CHECK_SECONDS=1)
    wait_for(lambda: state_of(application) == S.REGISTRATION, timeout=60, what="beat to end the public notice")

    # Government staff verify the registration they completed for the team.
    registration = logged_in(people["registration"])
    response = registration.post(
        reverse("funding:verify_registration", args=[application.pk]),
        {
            "company_name": "太原测试科技有限公司",
            "uscc": demo_uscc(4242),
            "registered_on": "2026-11-20",
            "registered_capital": "2,000,000",
            "paid_in_capital": "1,600,000",
            "legal_representative": "李海燕",
        },
    )
    assert response.status_code == 302
    assert state_of(application) == S.DISBURSEMENT
    entity.refresh_from_db()
    assert entity.kind == entity.Kind.STARTUP and entity.registration.uscc == demo_uscc(4242)

    # The plan's three instalments (20/50/30%), each after the fund-use report on the one before is accepted,
    # the last after the final acceptance; the last completes the grant and closes the application.
    finance = logged_in(people["finance"])
    reauthenticate(finance)
    for number, amount in ((1, "160,000.00"), (2, "400,000.00"), (3, "240,000.00")):
        if number > 1:
            file_report(Application.objects.get(pk=application.pk), people, accept=True)
        if number == 3:
            response = approver.post(
                reverse("funding:acceptance", args=[application.pk]),
                {"result": "passed", "reasons": "里程碑均已完成。", "accepted_on": "2026-11-25"},
            )
            assert response.status_code == 302
        response = finance.post(
            reverse("funding:disburse", args=[application.pk]),
            {"amount": amount, "paid_on": "2026-11-25", "reference": f"PAY-{number}"},
        )
        assert response.status_code == 302
    assert state_of(application) == S.CLOSED
    assert Application.objects.get(pk=application.pk).disbursed_total == Decimal("800000.00")

    # The applicant's timeline shows every step with its public comment.
    page = team.get(reverse("funding:detail", args=[application.pk])).content.decode()
    for action in (
        "created",
        "submit",
        "start_formal_review",
        "return_for_changes",
        "pass_formal_review",
        "complete_expert_review",
        "approve",
        "end_notice",
        "verify_registration",
        "close",
    ):
        assert f'data-action="funding.application.{action}"' in page, action
    assert page.count('data-action="funding.disbursement.recorded"') == 3
    assert 'data-action="funding.acceptance.recorded"' in page
    assert "请补充中试预算明细。" in page

    # The worker mailed the team at the steps; the mail says the state in Chinese and English.
    def team_mails():
        found = []
        for path in mail_dir.iterdir():
            for message in path.read_text().split("-" * 79):
                parsed = email.message_from_string(message.strip())
                if parsed["To"] and "team@example.cn" in parsed["To"]:
                    found.append(parsed)
        # The closing mail is the last one queued: wait for it, not for a count the earlier mails can reach
        # while it is still on its way.
        closed = any("已关闭" in _subject(m) or "closed" in _subject(m) for m in found)
        return found if len(found) >= 12 and closed else None

    mails = wait_for(team_mails, timeout=60, what="the worker to send the team's mail")
    subjects = [_subject(m) for m in mails]
    assert any("已关闭" in subject or "closed" in subject for subject in subjects)


def _subject(message) -> str:
    return str(email.header.make_header(email.header.decode_header(message["Subject"])))
