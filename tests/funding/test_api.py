"""The start-up fund through the REST API: the applicant's flow, staff transitions, money, refusals."""

from decimal import Decimal

import pytest
from django.utils import timezone

from funding.models import Application, Disbursement
from teams.demo import demo_uscc
from tests.api_support import results, session_client, token_client

S = Application.State


def url(application, tail=""):
    return f"/api/applications/{application.pk}/{tail}"


def test_applicant_creates_edits_and_submits_an_application(applicant, resident_entity):
    entity = resident_entity()
    client = token_client(applicant)

    created = client.post(
        "/api/applications/",
        {"entity": entity.pk, "amount": "500,000.00", "purpose": "中试线建设", "plan": "建设中试线。"},
        format="json",
    )
    assert created.status_code == 201, created.content
    body = created.json()
    assert body["state"] == "draft"
    assert body["amount"] == "500000.00"
    assert body["created_by"] == applicant.email
    assert body["actions"] == ["submit", "withdraw"]
    application = Application.objects.get(pk=body["id"])

    edited = client.patch(url(application), {"amount": 650000}, format="json")
    assert edited.status_code == 200, edited.content
    assert edited.json()["amount"] == "650000.00"
    assert edited.json()["purpose"] == "中试线建设"  # a partial update keeps what was not sent

    submitted = client.post(url(application, "transitions/submit/"), {"comment": "请审阅"}, format="json")
    assert submitted.status_code == 200, submitted.content
    assert submitted.json()["state"] == "submitted"
    assert submitted.json()["sub_venue"] == entity.residencies.get().sub_venue_id

    history = results(client.get("/api/application-events/", {"application": application.pk}))
    assert [(e["action"], e["to_state"]) for e in history] == [
        ("funding.application.created", "draft"),
        ("funding.application.submit", "submitted"),
    ]
    # The applicant sees the timeline as on the web page: no staff names, no internal notes.
    assert {e["by"] for e in history} == {None}
    assert {e["internal_note"] for e in history} == {None}


@pytest.mark.parametrize(
    ("amount", "message"),
    [
        ("1e6", "is not an amount"),
        ("500000.001", "at most two decimals"),
        ("-5", "more than zero"),
        (True, "Enter an amount"),
    ],
)
def test_an_amount_that_is_not_yuan_is_refused_with_a_message(applicant, resident_entity, amount, message):
    entity = resident_entity()
    response = token_client(applicant).post(
        "/api/applications/",
        {"entity": entity.pk, "amount": amount, "purpose": "p", "plan": "p"},
        format="json",
        HTTP_ACCEPT_LANGUAGE="en",
    )
    assert response.status_code == 400
    assert message in response.json()["amount"][0]
    assert not Application.objects.exists()


def test_an_amount_outside_the_policy_answers_400_with_the_services_reason(applicant, resident_entity):
    entity = resident_entity()
    response = token_client(applicant).post(
        "/api/applications/",
        {"entity": entity.pk, "amount": "1000000.01", "purpose": "p", "plan": "p"},
        format="json",
        HTTP_ACCEPT_LANGUAGE="en",
    )
    assert response.status_code == 400
    assert response.json() == {"detail": "The fund grants at most 1,000,000.00 yuan."}


def test_an_applicant_cannot_apply_for_someone_elses_entity(applicant, other_applicant, resident_entity):
    theirs = resident_entity(other_applicant)
    response = token_client(applicant).post(
        "/api/applications/", {"entity": theirs.pk, "amount": "500000", "purpose": "p", "plan": "p"}, format="json"
    )
    assert response.status_code == 400
    assert "entity" in response.json()
    assert not Application.objects.exists()


def test_a_reviewer_takes_a_transition_and_the_history_names_them(application_in, people):
    application = application_in(S.SUBMITTED)
    client = session_client(people["reviewer"])

    response = client.post(
        url(application, "transitions/start_formal_review/"),
        {"comment": "开始形式审查", "internal_note": "材料齐全"},
        format="json",
    )
    assert response.status_code == 200, response.content
    assert response.json()["state"] == "formal_review"
    assert set(response.json()["actions"]) == {"pass_formal_review", "return_for_changes"}
    last = results(client.get("/api/application-events/", {"application": application.pk}))[-1]
    assert (last["by"], last["internal_note"]) == (people["reviewer"].email, "材料齐全")
    assert last["comment"] == "开始形式审查"


def test_a_role_that_may_not_act_gets_403_and_a_wrong_state_409(application_in, people):
    application = application_in(S.SUBMITTED)
    refused = token_client(people["applicant"]).post(
        url(application, "transitions/start_formal_review/"), {}, format="json", HTTP_ACCEPT_LANGUAGE="en"
    )
    assert refused.status_code == 403
    assert "Your role may not" in refused.json()["detail"]

    too_early = token_client(people["reviewer"]).post(
        url(application, "transitions/pass_formal_review/"), {}, format="json", HTTP_ACCEPT_LANGUAGE="en"
    )
    assert too_early.status_code == 409
    assert "is not possible while the application is" in too_early.json()["detail"]
    assert Application.objects.get(pk=application.pk).state == S.SUBMITTED


def test_a_comment_that_a_transition_needs_is_asked_for(application_in, people):
    application = application_in(S.FORMAL_REVIEW)
    response = token_client(people["reviewer"]).post(
        url(application, "transitions/return_for_changes/"), {"comment": " "}, format="json", HTTP_ACCEPT_LANGUAGE="en"
    )
    assert response.status_code == 400
    assert response.json() == {"detail": "Write a comment for the applicant: it says why."}


def test_an_unknown_transition_is_404(application_in, people):
    application = application_in(S.SUBMITTED)
    for name in ("approve", "disburse", "no_such_thing"):
        response = token_client(people["reviewer"]).post(url(application, f"transitions/{name}/"), {}, format="json")
        assert response.status_code == 404, name


def test_approval_registration_and_disbursement_through_the_api(application_in, people, budget):
    application = application_in(S.AWAITING_DECISION)
    approved = token_client(people["approver"]).post(
        url(application, "approve/"), {"approved_amount": "400,000", "comment": "同意"}, format="json"
    )
    assert approved.status_code == 200, approved.content
    assert (approved.json()["state"], approved.json()["approved_amount"]) == ("public_notice", "400000.00")
    budget.refresh_from_db()
    assert budget.reserved == Decimal("400000.00")

    Application.objects.filter(pk=application.pk).update(notice_ends_on=timezone.localdate() - timezone.timedelta(1))
    ended = token_client(people["approver"]).post(url(application, "transitions/end_notice/"), {}, format="json")
    assert ended.json()["state"] == "registration"

    verified = token_client(people["registration"]).post(
        url(application, "verify-registration/"),
        {
            "company_name": "测试科技有限公司",
            "uscc": demo_uscc(321),
            "registered_on": str(timezone.localdate()),
            "registered_capital": "2,000,000",
            "paid_in_capital": "1000000.00",
            "legal_representative": "王建国",
        },
        format="json",
    )
    assert verified.status_code == 200, verified.content
    assert verified.json()["paid_in_capital"] == "1000000.00"

    # Instalment 1 of the plan: 20% of the 400,000 approved.
    paid = token_client(people["finance"]).post(
        url(application, "disburse/"),
        {"amount": "80000", "paid_on": str(timezone.localdate()), "reference": "PAY-1"},
        format="json",
    )
    assert paid.status_code == 201, paid.content
    assert (paid.json()["number"], paid.json()["amount"]) == (1, "80000.00")
    budget.refresh_from_db()
    assert budget.disbursed == Decimal("80000.00")

    off_plan = token_client(people["finance"]).post(
        url(application, "disburse/"),
        {"amount": "200000.01", "paid_on": str(timezone.localdate()), "reference": "PAY-2"},
        format="json",
        HTTP_ACCEPT_LANGUAGE="en",
    )
    assert off_plan.status_code == 400
    assert off_plan.json()["detail"] == "Instalment 2 of the plan is 200,000.00 yuan; release exactly that."
    too_early = token_client(people["finance"]).post(
        url(application, "disburse/"),
        {"amount": "200000", "paid_on": str(timezone.localdate()), "reference": "PAY-2"},
        format="json",
        HTTP_ACCEPT_LANGUAGE="en",
    )
    assert too_early.status_code == 400
    assert "once the fund-use report on instalment 1 is accepted" in too_early.json()["detail"]
    assert Disbursement.objects.filter(application=application).count() == 1


def test_an_invalid_uscc_is_refused_before_the_service(application_in, people):
    application = application_in(S.REGISTRATION)
    response = token_client(people["registration"]).post(
        url(application, "verify-registration/"),
        {
            "company_name": "测试科技有限公司",
            "uscc": "91140100MA0000000X",
            "registered_on": "2026-01-05",
            "registered_capital": "2000000",
            "paid_in_capital": "1000000",
            "legal_representative": "王建国",
        },
        format="json",
    )
    assert response.status_code == 400
    assert "uscc" in response.json()
    assert Application.objects.get(pk=application.pk).state == S.REGISTRATION


def test_staff_cannot_edit_an_applicants_application(application_in, provincial_staff):
    application = application_in(S.DRAFT)
    response = token_client(provincial_staff).patch(url(application), {"purpose": "改"}, format="json")
    assert response.status_code == 403
    assert Application.objects.get(pk=application.pk).purpose == "中试线建设"


def test_applicants_see_neither_budgets_nor_expert_reviews(application_in, people, budget):
    application_in(S.AWAITING_DECISION)
    client = token_client(people["applicant"])
    assert results(client.get("/api/budgets/")) == []
    assert results(client.get("/api/expert-reviews/")) == []
    staff_view = token_client(people["reviewer"])
    assert [b["amount"] for b in results(staff_view.get("/api/budgets/"))] == ["10000000.00"]
    assert len(results(staff_view.get("/api/expert-reviews/"))) == 1


def test_filters_narrow_the_list(application_in, people):
    submitted = application_in(S.SUBMITTED)
    application_in(S.DRAFT)
    client = token_client(people["reviewer"])
    listed = results(client.get("/api/applications/", {"state": "submitted"}))
    assert [a["id"] for a in listed] == [submitted.pk]
    assert results(client.get("/api/applications/", {"sub_venue": submitted.sub_venue_id + 999})) == []
    bad = client.get("/api/applications/", {"state": "nonsense"})
    assert bad.status_code == 400
