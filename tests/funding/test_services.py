"""The start-up fund's services (funding.services): what each one does as a person would notice it, what it
refuses and why, and the audit entries it records itself (no save() signal writes them)."""

import datetime
from decimal import Decimal

import pytest
from django.db.models import Max
from django.utils import timezone

from funding import post_award, services
from funding.demo import file_report
from funding.models import Application, ApplicationEvent, Disbursement, ExpertReview, FundPolicy, SubVenueBudget
from teams.models import Entity
from tests.factories import SubVenueFactory
from valley.core import roles
from valley.core.errors import Forbidden, WrongState
from valley.models import AuditEntry

S = Application.State
TODAY = timezone.localdate()
YESTERDAY = TODAY - datetime.timedelta(days=1)


@pytest.fixture
def recorded(db):
    """recorded(call) → (what call returned, the audit entries it wrote, oldest first)."""

    def run(call):
        last = AuditEntry.objects.aggregate(last=Max("id"))["last"] or 0
        result = call()
        return result, list(AuditEntry.objects.filter(id__gt=last).order_by("id"))

    return run


def actions(entries) -> list[str]:
    return [entry.action for entry in entries]


def nothing_recorded(call, exception, match=None):
    """`call` raises `exception` (matching `match`) and leaves no audit entry."""
    last = AuditEntry.objects.aggregate(last=Max("id"))["last"] or 0
    with pytest.raises(exception, match=match) as raised:
        call()
    assert not AuditEntry.objects.filter(id__gt=last).exists()
    return raised.value


def fresh(application) -> Application:
    return Application.objects.get(pk=application.pk)


def test_a_plain_save_of_a_fund_record_writes_no_audit_entry(budget, recorded):
    # The services record their own entries; a model's save() no longer does it behind their back.
    _result, entries = recorded(lambda: SubVenueBudget.objects.filter(pk=budget.pk).get().save())
    assert entries == []
    _result, entries = recorded(lambda: FundPolicy.objects.create(reason="no service"))
    assert entries == []


# ------------------------------------------------------------------ policy


def test_a_policy_change_adds_a_version_and_records_it(provincial_staff, recorded):
    first = services.policy_current()
    policy, entries = recorded(
        lambda: services.policy_change(
            by=provincial_staff,
            min_amount=Decimal("200000"),
            max_amount=Decimal("900000"),
            max_paid_in_share=Decimal("0.4"),
            notice_days=10,
            reason="年度调整",
        )
    )
    assert services.policy_current() == policy != first
    assert FundPolicy.objects.get(pk=first.pk).max_amount == Decimal("1000000.00")  # earlier versions stay
    assert policy.changed_by == provincial_staff
    [entry] = entries
    assert (entry.action, entry.object_type, entry.object_id) == (
        "funding.policy.created",
        "funding.fundpolicy",
        str(policy.pk),
    )
    assert entry.actor == provincial_staff
    assert entry.after["max_amount"] == "900000.00" and entry.after["reason"] == "年度调整"


def test_only_provincial_staff_change_the_policy(make_user):
    before = FundPolicy.objects.count()
    error = nothing_recorded(
        lambda: services.policy_change(
            by=make_user(roles.APPROVER),
            min_amount=Decimal("1"),
            max_amount=Decimal("2"),
            max_paid_in_share=Decimal("0.5"),
            notice_days=7,
            reason="x",
        ),
        Forbidden,
    )
    assert error.message == "Only provincial staff may change the fund policy."
    assert FundPolicy.objects.count() == before


@pytest.mark.parametrize(
    ("limits", "message"),
    [
        ({"min_amount": Decimal("0")}, "The minimum must be more than zero"),
        ({"min_amount": Decimal("900001")}, "not above the maximum"),
        ({"max_paid_in_share": Decimal("0")}, "at most 1 (100%)"),
        ({"max_paid_in_share": Decimal("1.001")}, "at most 1 (100%)"),
        ({"notice_days": 0}, "The public notice lasts at least one day."),
    ],
)
def test_policy_limits_that_make_no_sense_are_refused(provincial_staff, limits, message):
    values = {
        "min_amount": Decimal("300000"),
        "max_amount": Decimal("900000"),
        "max_paid_in_share": Decimal("0.5"),
        "notice_days": 7,
        **limits,
    }
    error = nothing_recorded(
        lambda: services.policy_change(by=provincial_staff, reason="x", **values), services.FundingError
    )
    assert message in error.message


def test_a_submitted_application_keeps_the_policy_it_was_submitted_under(application_in, provincial_staff, people):
    application = application_in(S.FORMAL_REVIEW, amount=Decimal("950000.00"))
    services.policy_change(
        by=provincial_staff,
        min_amount=Decimal("300000"),
        max_amount=Decimal("800000"),
        max_paid_in_share=Decimal("0.5"),
        notice_days=7,
        reason="收紧",
    )
    returned = services.application_act(
        application=application, name="return_for_changes", by=people["reviewer"], comment="请补充预算"
    )
    # Returned for changes, it is still judged by its own policy (up to 1,000,000), not the new one.
    services.application_update(
        application=returned, by=people["applicant"], amount=Decimal("990000"), purpose="p", plan="q"
    )
    assert fresh(application).max_amount == Decimal("1000000.00")


# ------------------------------------------------------------------ budgets


@pytest.fixture
def finance(people):
    return people["finance"]


def test_finance_adds_a_budget_and_it_is_recorded(finance, recorded):
    venue = SubVenueFactory(code="datong-test")
    budget, entries = recorded(
        lambda: services.budget_create(by=finance, sub_venue=venue, year=TODAY.year, amount=Decimal("5000000"))
    )
    assert (budget.amount, budget.reserved, budget.disbursed) == (Decimal("5000000"), 0, 0)
    [entry] = entries
    assert (entry.action, entry.object_type, entry.actor) == (
        "funding.budget.created",
        "funding.subvenuebudget",
        finance,
    )
    assert entry.after["amount"] == "5000000.00" and entry.after["sub_venue_id"] == venue.pk


def test_one_budget_per_sub_venue_and_year(finance, budget):
    error = nothing_recorded(
        lambda: services.budget_create(by=finance, sub_venue=budget.sub_venue, year=budget.year, amount=Decimal("1")),
        services.FundingError,
    )
    assert "already has a fund budget for" in error.message


def test_budgets_are_kept_by_finance_and_provincial_staff_within_their_sub_venues(make_user, budget):
    nothing_recorded(
        lambda: services.budget_change(budget=budget, by=make_user(roles.APPROVER), amount=Decimal("1")),
        Forbidden,
        "Only provincial staff and finance officers",
    )
    scoped = make_user(roles.FINANCE_OFFICER)
    scoped.groups.add(*type(scoped.groups.first()).objects.filter(name=roles.SUB_VENUE_OPERATOR))
    scoped.sub_venues.add(SubVenueFactory(code="xinzhou-test"))
    nothing_recorded(
        lambda: services.budget_change(budget=budget, by=scoped, amount=Decimal("1")),
        Forbidden,
        "sub-venue you do not operate",
    )
    nothing_recorded(
        lambda: services.budget_create(
            by=scoped, sub_venue=budget.sub_venue, year=budget.year + 1, amount=Decimal("1")
        ),
        Forbidden,
    )
    scoped.sub_venues.add(budget.sub_venue)
    scoped._valley_sub_venue_ids = None  # the sub-venues are read once per user object
    assert services.budget_change(budget=budget, by=scoped, amount=Decimal("9000000")).amount == Decimal("9000000")


def test_a_budget_change_records_the_amount_before_and_after(finance, budget, recorded):
    _budget, entries = recorded(lambda: services.budget_change(budget=budget, by=finance, amount=Decimal("12000000")))
    [entry] = entries
    assert (entry.action, entry.before, entry.after) == (
        "funding.budget.changed",
        {"amount": "10000000.00"},
        {"amount": "12000000.00"},
    )


def test_a_budget_never_drops_below_what_is_reserved(application_in, finance):
    application = application_in(S.PUBLIC_NOTICE)  # reserves 500,000
    error = nothing_recorded(
        lambda: services.budget_change(budget=application.budget, by=finance, amount=Decimal("499999.99")),
        services.FundingError,
    )
    assert error.message == "Approvals have reserved 500,000.00 yuan from this budget; it cannot be less."
    assert services.budget_change(budget=application.budget, by=finance, amount=Decimal("500000")).amount == 500000


def test_only_an_unused_budget_is_deleted_and_the_deletion_is_recorded(application_in, make_user, recorded):
    superuser = make_user(is_superuser=True)
    used = application_in(S.PUBLIC_NOTICE).budget
    nothing_recorded(lambda: services.budget_delete(budget=used, by=superuser), WrongState)
    unused = SubVenueBudget.objects.create(sub_venue=used.sub_venue, year=used.year + 1, amount=Decimal("1"))
    _none, entries = recorded(lambda: services.budget_delete(budget=unused, by=superuser))
    assert not SubVenueBudget.objects.filter(pk=unused.pk).exists()
    [entry] = entries
    assert (entry.action, entry.object_id, entry.before["amount"], entry.after) == (
        "funding.budget.deleted",
        str(unused.pk),
        "1.00",
        None,
    )


# ------------------------------------------------------------------ the applicant's side


def test_creating_a_draft_records_the_application_and_its_first_history_row(resident_entity, applicant, recorded):
    entity = resident_entity()
    application, entries = recorded(
        lambda: services.application_create(
            entity=entity, by=applicant, amount=Decimal("500000"), purpose="中试", plan="计划"
        )
    )
    assert application.state == S.DRAFT
    event = application.events.get()
    assert (event.action, event.from_state, event.to_state, event.by) == (
        "funding.application.created",
        "",
        S.DRAFT,
        applicant,
    )
    assert actions(entries) == ["funding.application.created", "funding.application.created"]
    values, history = entries
    assert values.after["amount"] == "500000.00" and values.after["state"] == "draft"
    assert (history.before, history.after) == ({"state": ""}, {"state": "draft", "comment": "", "internal_note": ""})
    assert {values.actor, history.actor} == {applicant}


def test_an_applicant_applies_only_for_their_own_entity_and_within_the_policy(
    resident_entity, other_applicant, applicant
):
    entity = resident_entity()
    nothing_recorded(
        lambda: services.application_create(
            entity=entity, by=other_applicant, amount=Decimal("500000"), purpose="x", plan="y"
        ),
        Forbidden,
        "only for your own team",
    )
    nothing_recorded(
        lambda: services.application_create(
            entity=entity, by=applicant, amount=Decimal("299999.99"), purpose="x", plan="y"
        ),
        services.FundingError,
        "at least 300,000.00 yuan",
    )
    assert not Application.objects.exists()


def test_one_open_application_and_one_grant_per_entity(application_in, people):
    granted = application_in(S.PUBLIC_NOTICE)
    apply_again = lambda: services.application_create(  # noqa: E731
        entity=granted.entity, by=people["applicant"], amount=Decimal("500000"), purpose="x", plan="y"
    )
    nothing_recorded(apply_again, services.FundingError, "granted once only")
    draft = application_in(S.DRAFT)
    nothing_recorded(
        lambda: services.application_create(
            entity=draft.entity, by=people["applicant"], amount=Decimal("500000"), purpose="x", plan="y"
        ),
        services.FundingError,
        "already has an open application",
    )


def test_changing_a_draft_records_what_changed(application_in, people, recorded):
    draft = application_in(S.DRAFT)
    _app, entries = recorded(
        lambda: services.application_update(
            application=draft,
            by=people["applicant"],
            amount=Decimal("650000"),
            purpose="新目的",
            plan="建设中试线并注册公司。",
        )
    )
    [entry] = entries
    assert (entry.action, entry.actor) == ("funding.application.changed", people["applicant"])
    assert entry.before == {"amount": "500000.00", "purpose": "中试线建设"}
    assert entry.after == {"amount": "650000.00", "purpose": "新目的"}


def test_a_submitted_application_cannot_be_changed_and_not_by_others(application_in, people, other_applicant):
    submitted = application_in(S.SUBMITTED)
    update = lambda by: services.application_update(  # noqa: E731
        application=submitted, by=by, amount=Decimal("600000"), purpose="p", plan="q"
    )
    nothing_recorded(lambda: update(people["applicant"]), WrongState, "only as a draft or when returned")
    nothing_recorded(lambda: update(other_applicant), Forbidden)
    assert fresh(submitted).amount == Decimal("500000.00")


def test_submitting_copies_the_policy_and_the_sub_venue(application_in, people, recorded):
    draft = application_in(S.DRAFT)
    submitted, entries = recorded(lambda: services.application_submit(application=draft, by=people["applicant"]))
    assert submitted.state == S.SUBMITTED and submitted.submitted_at is not None
    assert submitted.sub_venue == draft.entity.residencies.get().sub_venue
    assert (submitted.policy, submitted.min_amount, submitted.max_amount) == (
        services.policy_current(),
        Decimal("300000.00"),
        Decimal("1000000.00"),
    )
    assert actions(entries) == ["funding.application.changed", "funding.application.submit"]
    assert entries[0].after["state"] == "submitted" and entries[0].after["max_amount"] == "1000000.00"


def test_an_entity_without_a_residency_cannot_submit(application_in, people):
    draft = application_in(S.DRAFT)
    draft.entity.residencies.all().delete()
    nothing_recorded(
        lambda: services.application_submit(application=draft, by=people["applicant"]),
        services.FundingError,
        "must be resident in a sub-venue",
    )
    assert fresh(draft).state == S.DRAFT


def test_a_withdrawal_ends_the_application_and_the_entity_may_apply_again(application_in, people):
    application = application_in(S.EXPERT_REVIEW)
    services.application_withdraw(application=application, by=people["applicant"], comment="下一年度再申请")
    assert fresh(application).state == S.WITHDRAWN
    again = services.application_create(
        entity=application.entity, by=people["applicant"], amount=Decimal("400000"), purpose="x", plan="y"
    )
    assert again.state == S.DRAFT


# ------------------------------------------------------------------ review


def test_assigning_and_submitting_a_review_is_recorded(application_in, people, recorded):
    application = application_in(S.EXPERT_REVIEW)  # the fixture's walk assigned the reviewer already
    another = ExpertReview.objects.filter(application=application)
    assert another.count() == 1
    second_reviewer = people["approver"]
    second_reviewer.groups.add(*type(second_reviewer.groups.first()).objects.filter(name=roles.REVIEWER))
    review, entries = recorded(
        lambda: services.review_assign(application=application, reviewer=second_reviewer, by=people["reviewer"])
    )
    assert actions(entries) == ["funding.review.created", "funding.review.assigned"]
    assert entries[1].after["internal_note"] == f"Expert reviewer assigned: {second_reviewer}"
    _same, none = recorded(
        lambda: services.review_assign(application=application, reviewer=second_reviewer, by=people["reviewer"])
    )
    assert none == []  # assigning twice is one assignment
    submitted, entries = recorded(
        lambda: services.review_submit(
            review=review,
            by=second_reviewer,
            score=80,
            recommendation=ExpertReview.Recommendation.APPROVE,
            opinion="可行",
        )
    )
    assert submitted.submitted_at is not None
    assert actions(entries) == ["funding.review.changed", "funding.review.submitted"]
    assert entries[0].after["score"] == 80 and entries[0].before["score"] is None


def test_review_rules(application_in, people, make_user):
    application, submitted = application_in(S.EXPERT_REVIEW), application_in(S.SUBMITTED)
    review = application.reviews.get()
    nothing_recorded(
        lambda: services.review_assign(application=application, reviewer=people["finance"], by=people["reviewer"]),
        services.FundingError,
        "does not hold the reviewer role",
    )
    nothing_recorded(
        lambda: services.review_submit(
            review=review, by=make_user(roles.REVIEWER), score=80, recommendation="approve", opinion="x"
        ),
        Forbidden,
    )
    nothing_recorded(
        lambda: services.review_submit(
            review=review, by=people["reviewer"], score=101, recommendation="approve", opinion="x"
        ),
        services.FundingError,
        "between 0 and 100",
    )
    nothing_recorded(
        lambda: services.review_assign(application=submitted, reviewer=people["reviewer"], by=people["reviewer"]),
        WrongState,
    )


# ------------------------------------------------------------------ the decision


def test_an_approval_reserves_from_the_budget_and_records_three_facts(application_in, people, budget, recorded):
    awaiting = application_in(S.AWAITING_DECISION, amount=Decimal("800000.00"))
    approved, entries = recorded(
        lambda: services.application_approve(
            application=awaiting, by=people["approver"], approved_amount=Decimal("600000"), comment="同意"
        )
    )
    assert (approved.state, approved.approved_amount, approved.budget) == (S.PUBLIC_NOTICE, Decimal("600000"), budget)
    assert approved.notice_ends_on == TODAY + datetime.timedelta(days=approved.policy.notice_days)
    budget.refresh_from_db()
    assert budget.reserved == Decimal("600000.00")
    assert actions(entries) == [
        "funding.budget.changed",
        "funding.application.changed",
        "funding.application.approve",
    ]
    budget_entry, application_entry, history_entry = entries
    assert (budget_entry.before, budget_entry.after) == ({"reserved": "0.00"}, {"reserved": "600000.00"})
    assert (
        application_entry.before["approved_amount"] is None
        and application_entry.after["approved_amount"] == "600000.00"
    )
    assert (history_entry.before, history_entry.after) == (
        {"state": "awaiting_decision"},
        {"state": "public_notice", "comment": "同意", "internal_note": ""},
    )
    assert {entry.actor for entry in entries} == {people["approver"]}


def test_an_approval_writes_its_facts_in_few_queries(
    application_in, people, django_assert_max_num_queries, audit_sealed_after_commit
):
    awaiting = application_in(S.AWAITING_DECISION)
    # The approval's own transaction (the audit entries are sealed into the chain after its commit): 29
    # queries when save() signals wrote the entries, each re-reading its row and taking the chain's lock;
    # now every fact is still recorded, from the rows as locked, one INSERT each.
    with django_assert_max_num_queries(17) as counted:
        services.application_approve(application=awaiting, by=people["approver"])
    assert sum('INSERT INTO "valley_auditentry"' in query["sql"] for query in counted.captured_queries) == 3


@pytest.mark.parametrize(
    ("approved", "message"),
    [
        (Decimal("500000.01"), "cannot exceed the 500,000.00 yuan requested"),
        (Decimal("299999.99"), "at least 300,000.00 yuan"),
    ],
)
def test_an_approval_stays_within_the_request_and_the_policy(application_in, people, approved, message):
    awaiting = application_in(S.AWAITING_DECISION)
    nothing_recorded(
        lambda: services.application_approve(application=awaiting, by=people["approver"], approved_amount=approved),
        services.FundingError,
        message,
    )
    assert fresh(awaiting).state == S.AWAITING_DECISION


def test_an_approval_needs_a_budget_with_enough_left(application_in, people, budget, finance):
    awaiting = application_in(S.AWAITING_DECISION)
    services.budget_change(budget=budget, by=finance, amount=Decimal("499999.99"))
    nothing_recorded(
        lambda: services.application_approve(application=awaiting, by=people["approver"]),
        services.FundingError,
        "has 499,999.99 yuan left, less than 500,000.00 yuan",
    )
    SubVenueBudget.objects.filter(pk=budget.pk).update(year=TODAY.year - 1)
    nothing_recorded(
        lambda: services.application_approve(application=awaiting, by=people["approver"]),
        services.FundingError,
        f"has no fund budget for {TODAY.year}",
    )


def test_a_rejection_needs_a_comment_for_the_applicant(application_in, people):
    awaiting = application_in(S.AWAITING_DECISION)
    nothing_recorded(
        lambda: services.application_act(application=awaiting, name="reject", by=people["approver"], comment="  "),
        services.FundingError,
        "Write a comment for the applicant",
    )
    services.application_act(application=awaiting, name="reject", by=people["approver"], comment="不符合条件")
    assert fresh(awaiting).events.last().comment == "不符合条件"


def test_application_act_is_only_for_transitions_without_their_own_service(application_in, people):
    with pytest.raises(ValueError, match="own service function"):
        services.application_act(application=application_in(S.AWAITING_DECISION), name="approve", by=people["approver"])


# ------------------------------------------------------------------ the public notice and its objections


def test_an_objection_is_recorded_with_its_text_for_staff(application_in, people, recorded):
    notice = application_in(S.PUBLIC_NOTICE)
    objected, entries = recorded(
        lambda: services.application_record_objection(application=notice, by=people["approver"], objection=" 实名举报 ")
    )
    assert objected.objection == "实名举报"
    assert actions(entries) == ["funding.application.changed", "funding.application.objection_recorded"]
    assert (entries[0].before, entries[0].after) == ({"objection": ""}, {"objection": "实名举报"})
    event = objected.events.last()
    assert (event.internal_note, event.comment) == ("实名举报", "")  # for staff, not shown to the applicant


def test_objection_rules(application_in, people):
    notice, awaiting = application_in(S.PUBLIC_NOTICE), application_in(S.AWAITING_DECISION)
    nothing_recorded(
        lambda: services.application_record_objection(application=notice, by=people["reviewer"], objection="x"),
        Forbidden,
    )
    nothing_recorded(
        lambda: services.application_record_objection(application=notice, by=people["approver"], objection="  "),
        services.FundingError,
        "Describe the objection.",
    )
    nothing_recorded(
        lambda: services.application_record_objection(application=awaiting, by=people["approver"], objection="x"),
        WrongState,
        "recorded during the public notice",
    )
    nothing_recorded(
        lambda: services.application_clear_objection(application=notice, by=people["approver"], comment="x"),
        WrongState,
        "no objection to clear",
    )


def _notice_over(application):
    Application.objects.filter(pk=application.pk).update(notice_ends_on=YESTERDAY)


def test_an_objection_during_the_notice_stops_it_from_ending_until_cleared(application_in, people):
    notice = application_in(S.PUBLIC_NOTICE)
    services.application_record_objection(application=notice, by=people["approver"], objection="举报材料不实")
    _notice_over(notice)
    blocked = "An objection was recorded during the public notice; clear or uphold it first."
    for by in (None, people["approver"]):  # neither the nightly task nor an approver may end it
        nothing_recorded(lambda by=by: services.application_end_notice(application=notice, by=by), WrongState, blocked)
    assert services.public_notices_end_due() == []
    assert fresh(notice).state == S.PUBLIC_NOTICE

    services.application_clear_objection(application=notice, by=people["approver"], comment="经核查，举报不实。")
    assert fresh(notice).objection == ""
    assert services.public_notices_end_due() == [notice.pk]
    assert fresh(notice).state == S.REGISTRATION


def test_an_upheld_objection_revokes_the_approval_and_returns_the_reservation(application_in, people, budget, recorded):
    notice = application_in(S.PUBLIC_NOTICE)
    services.application_record_objection(application=notice, by=people["approver"], objection="成果权属存在争议")
    revoked, entries = recorded(
        lambda: services.application_revoke(application=notice, by=people["approver"], comment="异议成立，撤销资助。")
    )
    assert (revoked.state, revoked.approved_amount, revoked.budget) == (S.REJECTED, None, None)
    budget.refresh_from_db()
    assert budget.reserved == 0
    assert actions(entries) == ["funding.budget.changed", "funding.application.changed", "funding.application.revoke"]
    assert (entries[0].before, entries[0].after) == ({"reserved": "500000.00"}, {"reserved": "0.00"})
    nothing_recorded(lambda: services.application_end_notice(application=notice, by=None), WrongState)
    # Not a grant after all: the entity may apply again.
    services.application_create(
        entity=notice.entity, by=people["applicant"], amount=Decimal("500000"), purpose="x", plan="y"
    )


def test_a_notice_still_running_cannot_be_ended(application_in, people):
    notice = application_in(S.PUBLIC_NOTICE)
    nothing_recorded(
        lambda: services.application_end_notice(application=notice, by=people["approver"]),
        WrongState,
        "The public notice runs until",
    )
    _notice_over(notice)
    _ended = services.application_end_notice(application=notice, by=people["approver"])
    assert fresh(notice).state == S.REGISTRATION


# ------------------------------------------------------------------ registration and money


def _verify(application, people, *, paid_in=Decimal("2000000"), registered=Decimal("3000000")):
    return services.application_verify_registration(
        application=application,
        by=people["registration"],
        company_name="太原测试科技有限公司",
        uscc=people["next_uscc"](),
        registered_on=TODAY,
        registered_capital=registered,
        paid_in_capital=paid_in,
        legal_representative="王建国",
    )


def test_verifying_the_registration_makes_the_team_a_startup(application_in, people, recorded):
    application = application_in(S.REGISTRATION)
    verified, entries = recorded(lambda: _verify(application, people))
    assert (verified.state, verified.paid_in_capital) == (S.DISBURSEMENT, Decimal("2000000"))
    entity = Entity.objects.get(pk=application.entity_id)
    assert entity.kind == Entity.Kind.STARTUP and entity.registration.company_name == "太原测试科技有限公司"
    assert actions(entries)[-2:] == ["funding.application.changed", "funding.application.verify_registration"]


def test_the_grant_stays_within_its_share_of_the_paid_in_capital(application_in, people):
    application = application_in(S.REGISTRATION)  # 500,000 approved, at most 50% of the paid-in capital
    error = nothing_recorded(lambda: _verify(application, people, paid_in=Decimal("999999.98")), services.FundingError)
    assert error.message.startswith("The grant of 500,000.00 yuan is more than 50% of the paid-in capital")
    assert "at most 499,999.99 yuan" in error.message
    nothing_recorded(
        lambda: _verify(application, people, paid_in=Decimal("3000000"), registered=Decimal("2000000")),
        services.FundingError,
        "cannot exceed registered capital",
    )
    _verify(application, people, paid_in=Decimal("1000000"))
    assert fresh(application).state == S.DISBURSEMENT


def test_instalments_follow_the_plan_each_opens_its_report_and_the_last_closes(application_in, people, recorded):
    application = application_in(S.DISBURSEMENT)  # instalment 1 of the plan (100,000 of 500,000) is paid
    budget = application.budget
    file_report(application, people, accept=True)
    second, entries = recorded(
        lambda: services.application_disburse(
            application=application, by=people["finance"], paid_on=TODAY, reference="P-2"
        )
    )
    assert (second.number, second.amount, second.recorded_by) == (2, Decimal("250000.00"), people["finance"])
    assert second.released_by_report == application.fund_use_reports.get(instalment__number=1)
    assert actions(entries) == [
        "funding.disbursement.created",
        "funding.budget.changed",
        "funding.fund_use_report.created",
        "funding.application.changed",
        "funding.disbursement.recorded",
    ]
    report = second.fund_use_report
    assert (report.disbursed, report.due_on) == (Decimal("350000.00"), TODAY + datetime.timedelta(days=90))
    assert fresh(application).state == S.DISBURSEMENT

    file_report(fresh(application), people, accept=True)
    post_award.acceptance_record(
        application=application, by=people["approver"], result="passed", reasons="验收通过", accepted_on=TODAY
    )
    last, entries = recorded(
        lambda: services.application_disburse(
            application=application, by=people["finance"], paid_on=TODAY, reference="P-3"
        )
    )
    assert (last.number, last.amount) == (3, Decimal("150000.00"))
    closed = fresh(application)
    assert (closed.state, closed.disbursed_total) == (S.CLOSED, Decimal("500000.00"))
    budget.refresh_from_db()
    assert budget.disbursed == Decimal("500000.00")
    # The last instalment opens no report: the final acceptance covered it.
    assert actions(entries) == [
        "funding.disbursement.created",
        "funding.budget.changed",
        "funding.application.changed",
        "funding.disbursement.recorded",
        "funding.application.changed",
        "funding.application.close",
    ]
    assert entries[0].after["reference"] == "P-3" and entries[0].object_type == "funding.disbursement"
    # The portal's text is kept as a message code and its parameters, rendered in the reader's language.
    assert (entries[3].after["message"], entries[3].after["params"]) == (
        "instalment_paid",
        {"number": 3, "amount": "150000.00", "date": TODAY.isoformat()},
    )
    assert entries[5].actor is None  # the portal closed it, in the same transaction as the payment
    assert closed.events.last().by is None


@pytest.mark.parametrize(
    ("amount", "message"),
    [
        (Decimal("0"), "The instalment must be more than zero."),
        (Decimal("250000.01"), "Instalment 2 of the plan is 250,000.00 yuan; release exactly that."),
        (Decimal("100000.00"), "Instalment 2 of the plan is 250,000.00 yuan; release exactly that."),
    ],
)
def test_an_instalment_is_the_plan_s_next_amount_and_nothing_else(application_in, people, amount, message):
    application = application_in(S.DISBURSEMENT)
    file_report(application, people, accept=True)
    nothing_recorded(
        lambda: services.application_disburse(
            application=application, by=people["finance"], amount=amount, paid_on=TODAY, reference="P-X"
        ),
        services.FundingError,
        message,
    )
    assert Disbursement.objects.filter(application=application).count() == 1
    # The plan's amount, given or not, is what is paid.
    paid = services.application_disburse(
        application=application, by=people["finance"], amount=Decimal("250000.00"), paid_on=TODAY, reference="P-2"
    )
    assert paid.amount == Decimal("250000.00")


def test_a_later_instalment_waits_for_the_accepted_report_on_the_one_before(application_in, people):
    application = application_in(S.DISBURSEMENT)
    release = lambda: services.application_disburse(  # noqa: E731
        application=application, by=people["finance"], paid_on=TODAY, reference="P-2"
    )
    nothing_recorded(
        release,
        services.FundingError,
        "Instalment 2 is released once the fund-use report on instalment 1 is accepted; that report is “to be filed”.",
    )
    file_report(application, people)
    nothing_recorded(release, services.FundingError, "that report is “submitted”")
    assert Disbursement.objects.filter(application=application).count() == 1


def test_closing_by_hand_waits_for_the_whole_grant(application_in, people):
    application = application_in(S.DISBURSEMENT)
    nothing_recorded(
        lambda: services.application_act(application=application, name="close", by=people["finance"]),
        WrongState,
        "400000.00 yuan of the approved amount is still to be disbursed.",
    )


# ------------------------------------------------------------------ the history


def test_every_history_row_has_its_audit_entry(application_in):
    application = application_in(S.CLOSED)
    events = list(ApplicationEvent.objects.filter(application=application).order_by("pk"))
    entries = list(
        AuditEntry.objects.filter(object_type="funding.application", object_id=str(application.pk))
        .exclude(action__in=["funding.application.changed"])
        .order_by("id")
    )
    # Creation leaves two entries of the same code: the application's values, then its first history row.
    history_entries = [entry for entry in entries if entry.before is not None]
    assert [(e.action, e.before["state"], e.after["state"]) for e in history_entries] == [
        (event.action, event.from_state, event.to_state) for event in events
    ]
    assert [e.actor_id for e in history_entries] == [event.by_id for event in events]
