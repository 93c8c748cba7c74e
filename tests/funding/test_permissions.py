"""Every transition against every role that may not take it; every page against users who may not see it."""

import datetime
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from funding import post_award, services
from funding.demo import file_report
from funding.models import Application
from funding.workflow import WORKFLOW
from teams.demo import demo_uscc
from valley.core import roles
from valley.core.workflow import OWNER, SYSTEM, TransitionForbidden, TransitionNotAllowed

S = Application.State
TODAY = timezone.localdate()

CALLS = {
    "submit": lambda app, by: services.application_submit(application=app, by=by),
    "withdraw": lambda app, by: services.application_withdraw(application=app, by=by),
    "start_formal_review": lambda app, by: services.application_act(application=app, name="start_formal_review", by=by),
    "pass_formal_review": lambda app, by: services.application_act(application=app, name="pass_formal_review", by=by),
    "return_for_changes": lambda app, by: services.application_act(
        application=app, name="return_for_changes", by=by, comment="请补充材料"
    ),
    "complete_expert_review": lambda app, by: services.application_act(
        application=app, name="complete_expert_review", by=by
    ),
    "approve": lambda app, by: services.application_approve(application=app, by=by),
    "reject": lambda app, by: services.application_act(application=app, name="reject", by=by, comment="不符合条件"),
    "revoke": lambda app, by: services.application_revoke(application=app, by=by, comment="公示期收到实名异议"),
    "end_notice": lambda app, by: services.application_end_notice(application=app, by=by),
    "verify_registration": lambda app, by: services.application_verify_registration(
        application=app,
        by=by,
        company_name="测试科技有限公司",
        uscc=demo_uscc(777),
        registered_on=TODAY,
        registered_capital=Decimal("2000000"),
        paid_in_capital=Decimal("2000000"),
        legal_representative="王建国",
    ),
    "revise_amount": lambda app, by: services.application_revise_amount(
        application=app, by=by, amount=Decimal("400000.00"), comment="实缴资本只够四十万元。"
    ),
    "reject_at_registration": lambda app, by: services.application_reject_at_registration(
        application=app, by=by, comment="实缴资本不足以支持最低资助额。"
    ),
    # The next instalment of the plan, whatever its amount.
    "disburse": lambda app, by: services.application_disburse(application=app, by=by, paid_on=TODAY, reference="PAY-2"),
    "record_acceptance": lambda app, by: post_award.acceptance_record(
        application=app, by=by, result="passed", reasons="里程碑均已完成。", accepted_on=TODAY
    ),
    "close": lambda app, by: services.application_act(application=app, name="close", by=by),
    "open_recovery": lambda app, by: post_award.recovery_open(
        application=app, by=by, reason="misuse", explanation="资金挪作他用。", amount=Decimal("10000.00")
    ),
    "record_repayment": lambda app, by: post_award.recovery_repay(
        application=app, by=by, amount=Decimal("1000.00"), paid_on=TODAY, reference="R-1"
    ),
    # No door of its own: the repayment that completes the order takes it (post_award.recovery_repay), through
    # the one mechanism that checks the role.
    "complete_recovery": lambda app, by: services._transition(app, "complete_recovery", by=by),
}

# The state each transition is tried from (one of its sources).
FROM_STATE = {
    "submit": S.DRAFT,
    "withdraw": S.SUBMITTED,
    "start_formal_review": S.SUBMITTED,
    "pass_formal_review": S.FORMAL_REVIEW,
    "return_for_changes": S.FORMAL_REVIEW,
    "complete_expert_review": S.EXPERT_REVIEW,
    "approve": S.AWAITING_DECISION,
    "reject": S.AWAITING_DECISION,
    "revoke": S.PUBLIC_NOTICE,
    "end_notice": S.PUBLIC_NOTICE,
    "verify_registration": S.REGISTRATION,
    "revise_amount": S.REGISTRATION,
    "reject_at_registration": S.REGISTRATION,
    "disburse": S.DISBURSEMENT,
    "record_acceptance": S.DISBURSEMENT,
    "close": S.DISBURSEMENT,
    "open_recovery": S.DISBURSEMENT,
    "record_repayment": S.RECOVERY,
    "complete_recovery": S.RECOVERY,
}

ACTORS = ["owner", "other_applicant", *[code for code in roles.ROLES if code != roles.APPLICANT]]


def test_the_table_covers_every_transition():
    assert set(CALLS) == set(WORKFLOW.transitions) == set(FROM_STATE)


@pytest.mark.parametrize("name", sorted(CALLS))
def test_roles_that_may_not_take_a_transition_are_refused(name, application_in, people, make_user, other_applicant):
    state = FROM_STATE[name]
    application = application_in(state)
    allowed = WORKFLOW[name].allowed
    refused = []
    for actor in ACTORS:
        if actor == "owner":
            if OWNER in allowed:
                continue
            user = people["applicant"]
        elif actor == "other_applicant":
            user = other_applicant
        else:
            if actor in allowed:
                continue
            user = make_user(actor)
        with pytest.raises(TransitionForbidden) as refused_error:
            CALLS[name](Application.objects.get(pk=application.pk), user)
        assert "may not" in str(refused_error.value) or "not operate" in str(refused_error.value)
        refused.append(actor)
        assert Application.objects.get(pk=application.pk).state == state
    assert refused, "every transition is refused to someone"


PROPER_PERSON = {
    "start_formal_review": "reviewer",
    "approve": "approver",
    "verify_registration": "registration",
    "revise_amount": "registration",
    "reject_at_registration": "approver",
    "disburse": "finance",
    "open_recovery": "approver",
    "record_repayment": "finance",
}


@pytest.mark.parametrize("name", sorted(PROPER_PERSON))
def test_the_proper_role_may_take_it(name, application_in, people):
    application = application_in(FROM_STATE[name])
    if name == "disburse":  # instalment 2 needs the accepted report on instalment 1
        file_report(application, people, accept=True)
    CALLS[name](Application.objects.get(pk=application.pk), people[PROPER_PERSON[name]])
    assert Application.objects.get(pk=application.pk).state == WORKFLOW[name].target


def test_a_transition_from_the_wrong_state_says_why(application_in, people):
    application = application_in(S.SUBMITTED)
    with pytest.raises(TransitionNotAllowed, match="not possible while"):
        services.application_approve(application=application, by=people["approver"])


def test_an_operator_of_another_sub_venue_is_refused(application_in, make_user):
    from tests.factories import SubVenueFactory

    application = application_in(S.SUBMITTED)
    elsewhere = make_user(roles.SUB_VENUE_OPERATOR)
    elsewhere.groups.add(*type(elsewhere.groups.first()).objects.filter(name=roles.REVIEWER))
    elsewhere.sub_venues.add(SubVenueFactory(code="datong-test"))
    with pytest.raises(TransitionForbidden, match="sub-venue you do not operate"):
        services.application_act(application=application, name="start_formal_review", by=elsewhere)


def test_the_system_may_only_take_scheduled_transitions():
    for transition in WORKFLOW.transitions.values():
        assert (SYSTEM in transition.allowed) == (transition.name in {"end_notice", "close", "complete_recovery"})


def test_the_notice_cannot_be_ended_early(application_in, people):
    application = application_in(S.PUBLIC_NOTICE)
    with pytest.raises(TransitionNotAllowed, match="public notice runs until"):
        services.application_end_notice(application=application, by=people["approver"])
    Application.objects.filter(pk=application.pk).update(notice_ends_on=TODAY - datetime.timedelta(days=1))
    services.application_end_notice(application=application, by=None)
    assert Application.objects.get(pk=application.pk).state == S.REGISTRATION


# ------------------------------------------------------------------ pages


def application_urls(pk):
    return [
        reverse("funding:detail", args=[pk]),
        reverse("funding:edit", args=[pk]),
        reverse("funding:approve", args=[pk]),
        reverse("funding:review", args=[pk]),
        reverse("funding:verify_registration", args=[pk]),
        reverse("funding:disburse", args=[pk]),
    ]


def test_another_applicant_gets_404_on_every_url_of_an_application(client, application_in, other_applicant):
    application = application_in(S.DRAFT)
    client.force_login(other_applicant)
    for url in application_urls(application.pk):
        assert client.get(url).status_code == 404, url
    for name in ("submit", "withdraw"):
        response = client.post(reverse("funding:transition", args=[application.pk, name]), {"comment": "x"})
        assert response.status_code == 404
    assert Application.objects.get(pk=application.pk).state == S.DRAFT
    assert client.get(reverse("funding:queues")).status_code == 404


def test_an_auditor_reads_but_cannot_act(client, application_in, auditor):
    application = application_in(S.AWAITING_DECISION)
    client.force_login(auditor)
    assert client.get(reverse("funding:detail", args=[application.pk])).status_code == 200
    response = client.post(
        reverse("funding:approve", args=[application.pk]), {"comment": "ok"}, HTTP_ACCEPT_LANGUAGE="en"
    )
    assert "may not" in response.content.decode()
    client.post(reverse("funding:transition", args=[application.pk, "reject"]), {"comment": "no"})
    assert Application.objects.get(pk=application.pk).state == S.AWAITING_DECISION


def test_staff_queue_and_detail_pages_run_constant_queries(
    client, application_in, people, django_assert_max_num_queries
):
    first = application_in(S.SUBMITTED)
    client.force_login(people["reviewer"])
    with django_assert_max_num_queries(20) as few:
        client.get(reverse("funding:queue", args=["formal"]))
    with django_assert_max_num_queries(30) as detail_few:
        client.get(reverse("funding:detail", args=[first.pk]))
    for _ in range(6):
        application_in(S.SUBMITTED)
    with django_assert_max_num_queries(len(few.captured_queries)):
        client.get(reverse("funding:queue", args=["formal"]))
    with django_assert_max_num_queries(len(detail_few.captured_queries)):
        client.get(reverse("funding:detail", args=[first.pk]))
