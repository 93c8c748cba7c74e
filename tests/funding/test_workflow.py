"""The start-up fund's workflow table (funding.workflow): what it says, and how the engine reads it.

The expected table below is written out from DOMAIN.md, not read from the code: a change to the table
must change this test too."""

import datetime
from decimal import Decimal

import pytest
from django.utils import timezone

from funding.models import Application, FinalAcceptance, RecoveryOrder
from funding.workflow import (
    EDITABLE_STATES,
    MOVES_MONEY,
    QUEUES,
    WORKFLOW,
    history_action,
)
from valley.core import roles
from valley.core.errors import Forbidden, WrongState
from valley.core.workflow import OWNER, SYSTEM, TransitionForbidden, TransitionNotAllowed

S = Application.State
TODAY = timezone.localdate()

# name: (sources, target, who may take it)
EXPECTED = {
    "submit": ({S.DRAFT, S.RETURNED}, S.SUBMITTED, {OWNER}),
    "withdraw": (
        {S.DRAFT, S.SUBMITTED, S.FORMAL_REVIEW, S.EXPERT_REVIEW, S.AWAITING_DECISION, S.RETURNED},
        S.WITHDRAWN,
        {OWNER},
    ),
    "start_formal_review": ({S.SUBMITTED}, S.FORMAL_REVIEW, {roles.REVIEWER}),
    "pass_formal_review": ({S.FORMAL_REVIEW}, S.EXPERT_REVIEW, {roles.REVIEWER}),
    "return_for_changes": ({S.FORMAL_REVIEW, S.AWAITING_DECISION}, S.RETURNED, {roles.REVIEWER, roles.APPROVER}),
    "complete_expert_review": ({S.EXPERT_REVIEW}, S.AWAITING_DECISION, {roles.REVIEWER}),
    "approve": ({S.AWAITING_DECISION}, S.PUBLIC_NOTICE, {roles.APPROVER}),
    "reject": ({S.FORMAL_REVIEW, S.AWAITING_DECISION}, S.REJECTED, {roles.APPROVER}),
    "revoke": ({S.PUBLIC_NOTICE}, S.REJECTED, {roles.APPROVER}),
    "end_notice": ({S.PUBLIC_NOTICE}, S.REGISTRATION, {SYSTEM, roles.APPROVER}),
    "verify_registration": ({S.REGISTRATION}, S.DISBURSEMENT, {roles.REGISTRATION_OFFICER}),
    "revise_amount": ({S.REGISTRATION}, S.REGISTRATION, {roles.APPROVER, roles.REGISTRATION_OFFICER}),
    "reject_at_registration": ({S.REGISTRATION}, S.REJECTED, {roles.APPROVER}),
    "disburse": ({S.DISBURSEMENT}, S.DISBURSEMENT, {roles.FINANCE_OFFICER}),
    "record_acceptance": ({S.DISBURSEMENT}, S.DISBURSEMENT, {roles.REVIEWER, roles.APPROVER}),
    "close": ({S.DISBURSEMENT}, S.CLOSED, {roles.FINANCE_OFFICER, SYSTEM}),
    "open_recovery": ({S.DISBURSEMENT}, S.RECOVERY, {roles.FINANCE_OFFICER, roles.APPROVER}),
    "record_repayment": ({S.RECOVERY}, S.RECOVERY, {roles.FINANCE_OFFICER}),
    "complete_recovery": ({S.RECOVERY}, S.CLOSED, {roles.FINANCE_OFFICER, SYSTEM}),
}


def test_the_table_has_exactly_the_expected_transitions():
    assert set(WORKFLOW.transitions) == set(EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_each_transition_has_its_sources_target_and_roles(name):
    transition = WORKFLOW[name]
    sources, target, allowed = EXPECTED[name]
    assert len(transition.sources) == len(set(transition.sources)), "a source is listed twice"
    assert (set(transition.sources), transition.target, set(transition.allowed)) == (sources, target, allowed)


def test_only_the_decisions_against_the_applicant_and_the_final_acceptance_need_a_comment():
    """The applicant reads why: a return, a rejection (also at registration), a revocation, an amount revised
    down, a recovery; and the final acceptance, passed or failed, is recorded with its reasons."""
    needs_comment = {name for name, transition in WORKFLOW.transitions.items() if transition.needs_comment}
    assert needs_comment == {
        "return_for_changes",
        "reject",
        "revoke",
        "reject_at_registration",
        "revise_amount",
        "record_acceptance",
        "open_recovery",
    }


def test_the_guarded_transitions():
    guarded = {name for name, transition in WORKFLOW.transitions.items() if transition.guard is not None}
    assert guarded == {"complete_expert_review", "end_notice", "record_acceptance", "close", "complete_recovery"}


def test_the_machine_is_the_application_model_s():
    assert WORKFLOW.name == "funding.application" == Application._meta.label_lower
    assert WORKFLOW.states is S
    assert WORKFLOW.initial == S.DRAFT == Application._meta.get_field("state").default


def test_the_states_derived_from_the_table():
    assert set(EDITABLE_STATES) == {S.DRAFT, S.RETURNED}
    # Every transition that changes a budget's counters or what the grant holder is owed.
    assert set(MOVES_MONEY) == {"approve", "disburse", "revise_amount", "open_recovery", "record_repayment"}
    assert set(MOVES_MONEY) - set(WORKFLOW.transitions) == set()


def test_ended_states_have_no_way_out_and_every_state_is_reached_from_draft():
    for state in Application.ENDED_STATES:
        assert [t.name for t in WORKFLOW.transitions.values() if state in t.sources] == [], state
    for state in S:
        WORKFLOW.path_to(state)  # raises when unreachable


def test_granted_states_are_those_after_an_approval():
    after_approval = {S.PUBLIC_NOTICE}
    for _round in range(len(S)):
        after_approval |= {t.target for t in WORKFLOW.transitions.values() if set(t.sources) & after_approval}
    assert after_approval - {S.REJECTED} == set(Application.GRANTED_STATES)


@pytest.mark.parametrize(
    ("target", "names"),
    [
        (S.DRAFT, []),
        (S.SUBMITTED, ["submit"]),
        (S.WITHDRAWN, ["withdraw"]),
        (S.RETURNED, ["submit", "start_formal_review", "return_for_changes"]),
        (S.REJECTED, ["submit", "start_formal_review", "reject"]),
        (S.AWAITING_DECISION, ["submit", "start_formal_review", "pass_formal_review", "complete_expert_review"]),
        (
            S.RECOVERY,
            [
                "submit",
                "start_formal_review",
                "pass_formal_review",
                "complete_expert_review",
                "approve",
                "end_notice",
                "verify_registration",
                "open_recovery",
            ],
        ),
        (
            S.CLOSED,
            [
                "submit",
                "start_formal_review",
                "pass_formal_review",
                "complete_expert_review",
                "approve",
                "end_notice",
                "verify_registration",
                "close",
            ],
        ),
    ],
)
def test_path_to_is_the_shortest_walk_from_draft(target, names):
    path = WORKFLOW.path_to(target)
    assert [t.name for t in path] == names
    state = S.DRAFT
    for transition in path:
        assert state in transition.sources
        state = transition.target
    assert state == target


def test_path_to_from_another_state_and_to_an_unreachable_one():
    assert [t.name for t in WORKFLOW.path_to(S.CLOSED, start=S.REGISTRATION)] == ["verify_registration", "close"]
    with pytest.raises(ValueError, match="cannot be reached"):
        WORKFLOW.path_to(S.DRAFT, start=S.CLOSED)


def test_sources_of_a_state():
    assert WORKFLOW.sources_of(S.REJECTED) == {S.FORMAL_REVIEW, S.AWAITING_DECISION, S.PUBLIC_NOTICE, S.REGISTRATION}
    assert WORKFLOW.sources_of(S.CLOSED) == {S.DISBURSEMENT, S.RECOVERY}
    assert WORKFLOW.sources_of(S.DRAFT) == frozenset()


def test_history_action_codes():
    assert history_action("approve") == "funding.application.approve"
    assert history_action("disburse") == "funding.disbursement.recorded"
    assert history_action("record_acceptance") == "funding.acceptance.recorded"
    assert history_action("record_repayment") == "funding.repayment.recorded"
    assert history_action("revise_amount") == "funding.application.amount_revised"
    assert history_action("open_recovery") == "funding.application.open_recovery"
    with pytest.raises(KeyError):
        history_action("approved")


def test_each_work_queue_has_work_its_role_may_do():
    for key, (_label, role, states) in QUEUES.items():
        for state in states:
            takes = [t.name for t in WORKFLOW.transitions.values() if state in t.sources and role in t.allowed]
            assert takes, f"queue {key}: {role} can do nothing in {state}"


# ------------------------------------------------------------------ the check: wrong state and forbidden


@pytest.fixture
def awaiting(application_in):
    return application_in(S.AWAITING_DECISION)


def test_the_right_role_in_the_wrong_state_is_wrong_state_not_forbidden(application_in, people):
    draft = application_in(S.DRAFT)
    with pytest.raises(TransitionNotAllowed) as refused:
        WORKFLOW.check("approve", draft, people["approver"])
    assert isinstance(refused.value, WrongState) and not isinstance(refused.value, Forbidden)
    assert refused.value.message == "“approve” is not possible while the application is “draft”."


def test_the_wrong_role_is_forbidden_whatever_the_state(awaiting, application_in, people):
    for application in (awaiting, application_in(S.DRAFT)):
        with pytest.raises(TransitionForbidden) as refused:
            WORKFLOW.check("approve", application, people["reviewer"])
        assert isinstance(refused.value, Forbidden) and not isinstance(refused.value, WrongState)
        assert refused.value.message == "Your role may not “approve”."


def test_the_owner_is_the_entity_s_owner(awaiting, application_in, people, other_applicant):
    draft = application_in(S.DRAFT)
    assert WORKFLOW.check("submit", draft, people["applicant"]).name == "submit"
    with pytest.raises(TransitionForbidden, match="may not “submit”"):
        WORKFLOW.check("submit", draft, other_applicant)
    with pytest.raises(TransitionForbidden):
        WORKFLOW.check("submit", draft, people["reviewer"])


def test_the_system_takes_only_the_scheduled_transitions(awaiting):
    with pytest.raises(TransitionForbidden):
        WORKFLOW.check("approve", awaiting, None)
    assert WORKFLOW.may_act(WORKFLOW["end_notice"], awaiting, None)
    assert WORKFLOW.may_act(WORKFLOW["close"], awaiting, None)


def test_available_lists_what_the_person_may_take_now(awaiting, application_in, people):
    names = lambda app, user: [t.name for t in WORKFLOW.available(app, user)]  # noqa: E731
    assert names(application_in(S.DRAFT), people["applicant"]) == ["submit", "withdraw"]
    assert names(awaiting, people["approver"]) == ["return_for_changes", "approve", "reject"]
    assert names(awaiting, people["applicant"]) == ["withdraw"]
    assert names(awaiting, people["finance"]) == []


def test_state_names_in_the_reader_s_language():
    from django.utils import translation

    assert WORKFLOW.label_of(S.PUBLIC_NOTICE) == "approved, public notice"
    with translation.override("zh-hans"):
        assert WORKFLOW.label_of(S.PUBLIC_NOTICE) != "approved, public notice"


# ------------------------------------------------------------------ the guards' messages


def test_the_expert_review_is_complete_only_with_every_review_submitted(application_in, people):
    guard = WORKFLOW["complete_expert_review"].guard
    from funding import services

    application = application_in(S.FORMAL_REVIEW)
    assert guard(application) == "Assign at least one expert reviewer first."
    services.review_assign(application=application, reviewer=people["reviewer"], by=people["reviewer"])
    assert guard(Application.objects.get(pk=application.pk)) == "1 expert review(s) are not submitted yet."


def test_the_notice_guard_names_the_date_or_the_objection():
    guard = WORKFLOW["end_notice"].guard
    running = Application(notice_ends_on=TODAY)
    assert guard(running) == f"The public notice runs until {TODAY}."
    objected = Application(notice_ends_on=TODAY - datetime.timedelta(days=1), objection="实名举报")
    assert guard(objected) == "An objection was recorded during the public notice; clear or uphold it first."
    assert guard(Application(notice_ends_on=TODAY - datetime.timedelta(days=1))) is None


def test_closing_waits_for_the_whole_approved_amount_and_a_passed_acceptance():
    guard = WORKFLOW["close"].guard
    paying = Application(approved_amount=Decimal("500000.00"), disbursed_total=Decimal("200000.00"))
    assert guard(paying) == "300000.00 yuan of the approved amount is still to be disbursed."
    paid = Application(approved_amount=Decimal("500000.00"), disbursed_total=Decimal("500000.00"))
    assert guard(paid) == "The grant closes only after its final acceptance has passed."
    paid.final_acceptance = FinalAcceptance(result=FinalAcceptance.Result.FAILED)
    assert guard(paid) == "The grant closes only after its final acceptance has passed."
    paid.final_acceptance = FinalAcceptance(result=FinalAcceptance.Result.PASSED)
    assert guard(paid) is None


def test_a_recovery_completes_only_when_its_order_is_repaid():
    guard = WORKFLOW["complete_recovery"].guard
    recovering = Application()
    recovering.recovery = RecoveryOrder(amount=Decimal("80000.00"), recovered=Decimal("30000.00"))
    assert guard(recovering) == "50000.00 yuan of the recovery order is still to be repaid."
    recovering.recovery = RecoveryOrder(amount=Decimal("80000.00"), recovered=Decimal("80000.00"))
    assert guard(recovering) is None


def test_the_final_acceptance_comes_after_the_last_report_but_one_is_accepted(application_in, people):
    from funding.demo import file_report, release_next

    guard = WORKFLOW["record_acceptance"].guard
    paying = application_in(S.DISBURSEMENT)  # instalment 1 of 3 paid
    assert guard(paying) == "Instalment 2 has not been released yet; the final acceptance comes after it."
    release_next(paying, people)
    paying = Application.objects.get(pk=paying.pk)
    assert guard(paying) == "1 fund-use report(s) are not accepted yet."
    file_report(paying, people, accept=True)
    assert guard(Application.objects.get(pk=paying.pk)) is None
