"""The funding agreement (资助协议) recorded at registration verification: its instalment plan taken from the
policy version in force, the fen-rounding rule of the split, milestone amendments with their history, the
audit entries and the admin's sub-venue scoping (DOMAIN.md "After the grant")."""

import datetime
from decimal import Decimal

import pytest
from django.contrib.auth.models import Group
from django.db import IntegrityError, transaction
from django.db.models import Max
from hypothesis import given, settings
from hypothesis import strategies as st

from funding import services
from funding.models import FundingAgreement, FundPolicy, MilestoneAmendment, PlannedInstalment
from tests.factories import SubVenueFactory
from valley.core import roles
from valley.core.errors import Forbidden
from valley.models import AuditEntry

D = Decimal


# ------------------------------------------------------------------ the split, by hand and by hypothesis


@pytest.mark.parametrize(
    ("amount", "expected"),
    [
        ("1000000.00", ["200000.00", "500000.00", "300000.00"]),
        # 66,666.666 and 166,666.665 are rounded down; the last takes 333,333.33 − 233,333.32.
        ("333333.33", ["66666.66", "166666.66", "100000.01"]),
        # 20% of 300,000.07 is 60,000.014 → 60,000.01; 50% is 150,000.035 → 150,000.03; the rest 90,000.03.
        ("300000.07", ["60000.01", "150000.03", "90000.03"]),
        ("300000.00", ["60000.00", "150000.00", "90000.00"]),
    ],
)
def test_the_default_plan_splits_the_amount_down_to_the_fen_and_the_last_takes_the_rest(amount, expected):
    assert services.instalment_split(D(amount), (D(20), D(50), D(30))) == [D(x) for x in expected]


def test_a_plan_in_thirds_rounds_down_and_the_last_instalment_takes_the_fen():
    # 33.33% of 1,000,000.01 is 333,300.003333 → 333,300.00; 33.33% again; the last 333,400.01.
    assert services.instalment_split(D("1000000.01"), (D("33.33"), D("33.33"), D("33.34"))) == [
        D("333300.00"),
        D("333300.00"),
        D("333400.01"),
    ]


PLANS = [
    (D(20), D(50), D(30)),
    (D("33.33"), D("33.33"), D("33.34")),
    (D("10.01"), D("44.44"), D("45.55")),
    (D("0.01"), D("0.01"), D("99.98")),
]


@settings(max_examples=300, deadline=None)
@given(
    fen=st.integers(min_value=30_000_000, max_value=100_000_000),
    plan=st.sampled_from(PLANS),
)
def test_the_split_always_adds_up_exactly_and_no_instalment_is_paid_early(fen, plan):
    amount = D(fen) / 100
    amounts = services.instalment_split(amount, plan)
    assert sum(amounts) == amount
    assert all(value == value.quantize(D("0.01")) and value > 0 for value in amounts)
    for share, value in zip(plan[:-1], amounts[:-1], strict=True):
        exact = amount * share / 100
        assert exact - D("0.01") < value <= exact  # rounded down, by less than a fen


# ------------------------------------------------------------------ the policy carries the plan


def test_the_default_policy_has_the_plan_of_the_domain_rules(db):
    policy = services.policy_current()
    assert policy.instalment_shares == (D("20.00"), D("50.00"), D("30.00"))
    assert policy.report_due_days == 90


def _limits(**extra):
    return {
        "min_amount": D("300000"),
        "max_amount": D("1000000"),
        "max_paid_in_share": D("0.5"),
        "notice_days": 7,
        **extra,
    }


def test_a_policy_change_takes_a_new_plan_and_keeps_it_without_one(provincial_staff):
    changed = services.policy_change(
        by=provincial_staff,
        reason="四期改三期",
        instalment_shares=(D(30), D(40), D(30)),
        report_due_days=60,
        **_limits(),
    )
    assert (changed.instalment_shares, changed.report_due_days) == ((D(30), D(40), D(30)), 60)
    # The old arguments still work, and carry the current plan over rather than resetting it.
    limits_only = services.policy_change(by=provincial_staff, reason="上限调整", **_limits(max_amount=D("900000")))
    assert (limits_only.instalment_shares, limits_only.report_due_days) == ((D(30), D(40), D(30)), 60)


@pytest.mark.parametrize(
    ("shares", "message"),
    [
        ((D(20), D(50), D(40)), "add up to 110"),
        ((D(0), D(70), D(30)), "more than 0%"),
        ((D(-10), D(80), D(30)), "more than 0%"),
    ],
)
def test_a_plan_that_does_not_add_up_to_100_is_refused(provincial_staff, shares, message):
    with pytest.raises(services.FundingError, match=message):
        services.policy_change(by=provincial_staff, reason="x", instalment_shares=shares, **_limits())


def test_the_database_refuses_a_plan_that_does_not_add_up(db):
    with pytest.raises(IntegrityError, match="policy_instalment_shares_add_up"), transaction.atomic():
        FundPolicy.objects.create(first_share=D(20), second_share=D(50), third_share=D("30.01"))


# ------------------------------------------------------------------ the agreement at verification


def plan_of(agreement) -> list[tuple[int, Decimal, Decimal]]:
    return [(i.number, i.share, i.amount) for i in agreement.instalments.order_by("number")]


def test_verifying_the_registration_records_the_agreement_once_with_the_policy_plan(application_in, people):
    before = AuditEntry.objects.aggregate(last=Max("id"))["last"] or 0
    application = application_in("disbursement", amount=D("333333.33"))
    agreement = FundingAgreement.objects.get(application=application)
    assert (agreement.amount, agreement.purpose) == (D("333333.33"), application.purpose)
    assert agreement.policy == services.policy_current()
    assert agreement.recorded_by == people["registration"]
    assert plan_of(agreement) == [
        (1, D("20.00"), D("66666.66")),
        (2, D("50.00"), D("166666.66")),
        (3, D("30.00"), D("100000.01")),
    ]
    assert list(agreement.milestones.all()) == []  # the verification form asks for none yet
    [entry] = AuditEntry.objects.filter(id__gt=before, action="funding.agreement.created")
    assert (entry.object_type, entry.object_id, entry.actor_id) == (
        "funding.fundingagreement",
        str(agreement.pk),
        people["registration"].pk,
    )
    assert [i["amount"] for i in entry.after["instalments"]] == ["66666.66", "166666.66", "100000.01"]
    assert FundingAgreement.objects.filter(application=application).count() == 1


def test_a_later_policy_change_leaves_the_agreement_alone(application_in, provincial_staff):
    services.policy_change(by=provincial_staff, reason="新计划", instalment_shares=(D(40), D(30), D(30)), **_limits())
    agreed_under_new = application_in("disbursement", amount=D("1000000.00")).agreement
    assert plan_of(agreed_under_new)[0][1:] == (D("40.00"), D("400000.00"))
    policy_then = agreed_under_new.policy
    services.policy_change(by=provincial_staff, reason="再调整", instalment_shares=(D(10), D(10), D(80)), **_limits())
    agreement = FundingAgreement.objects.get(pk=agreed_under_new.pk)
    assert agreement.policy == policy_then
    assert plan_of(agreement) == [
        (1, D("40.00"), D("400000.00")),
        (2, D("30.00"), D("300000.00")),
        (3, D("30.00"), D("300000.00")),
    ]


def test_an_application_before_verification_has_no_agreement_and_a_refused_verification_makes_none(
    application_in, people
):
    application = application_in("registration")
    assert not FundingAgreement.objects.filter(application=application).exists()
    with pytest.raises(services.FundingError):
        services.application_verify_registration(
            application=application,
            by=people["registration"],
            company_name="太原中试科技有限公司",
            uscc=people["next_uscc"](),
            registered_on=datetime.date(2026, 3, 2),
            registered_capital=D("600000"),
            paid_in_capital=D("600000"),  # 50% is 300,000 < 500,000 approved
            legal_representative="王建国",
        )
    assert not FundingAgreement.objects.filter(application=application).exists()
    assert not PlannedInstalment.objects.exists()


def test_a_second_agreement_for_an_application_is_refused_by_the_database(application_in, people):
    agreement = application_in("disbursement").agreement
    with pytest.raises(IntegrityError), transaction.atomic():
        FundingAgreement.objects.create(
            application=agreement.application,
            amount=agreement.amount,
            purpose="x",
            policy=agreement.policy,
            recorded_by=people["registration"],
        )


# ------------------------------------------------------------------ milestones


MILESTONES = [
    {"title": "中试线建成", "due_on": "2026-09-30"},
    {"title": "样机交付", "due_on": datetime.date(2027, 3, 31)},
]


def test_amending_milestones_replaces_the_list_and_keeps_the_history(application_in, people):
    agreement = application_in("disbursement").agreement
    officer = people["registration"]
    before = AuditEntry.objects.aggregate(last=Max("id"))["last"] or 0
    services.agreement_amend_milestones(agreement=agreement, by=officer, milestones=MILESTONES, reason="签约补录")
    services.agreement_amend_milestones(
        agreement=agreement,
        by=officer,
        milestones=[{"title": "中试线建成", "due_on": "2026-12-31"}],
        reason="设备到货延迟",
    )
    assert [(m.order, m.title, m.due_on) for m in agreement.milestones.all()] == [
        (1, "中试线建成", datetime.date(2026, 12, 31))
    ]
    first, second = MilestoneAmendment.objects.filter(agreement=agreement).order_by("at", "pk")
    assert first.old_milestones == []
    assert first.new_milestones == [
        {"order": 1, "title": "中试线建成", "due_on": "2026-09-30"},
        {"order": 2, "title": "样机交付", "due_on": "2027-03-31"},
    ]
    assert second.old_milestones == first.new_milestones
    assert (second.reason, second.by) == ("设备到货延迟", officer)
    entries = AuditEntry.objects.filter(id__gt=before, action="funding.agreement.milestones_amended").order_by("id")
    assert [(e.object_type, e.object_id, e.after["reason"]) for e in entries] == [
        ("funding.milestoneamendment", str(first.pk), "签约补录"),
        ("funding.milestoneamendment", str(second.pk), "设备到货延迟"),
    ]


@pytest.mark.parametrize("role", [roles.FINANCE_OFFICER, roles.AUDITOR, roles.APPROVER])
def test_only_registration_officers_amend_milestones(application_in, make_user, role):
    agreement = application_in("disbursement").agreement
    with pytest.raises(Forbidden):
        services.agreement_amend_milestones(
            agreement=agreement, by=make_user(role, email=f"{role}@x.cn"), milestones=MILESTONES, reason="r"
        )
    assert not MilestoneAmendment.objects.exists()


def test_an_officer_of_another_sub_venue_may_not_amend(application_in, make_user):
    agreement = application_in("disbursement").agreement
    # A registration officer who is also the operator of another sub-venue works on that sub-venue only.
    elsewhere = make_user(roles.REGISTRATION_OFFICER, email="elsewhere@x.cn")
    elsewhere.groups.add(Group.objects.get(name=roles.SUB_VENUE_OPERATOR))
    elsewhere.sub_venues.add(SubVenueFactory(code="datong-test"))
    with pytest.raises(Forbidden):
        services.agreement_amend_milestones(agreement=agreement, by=elsewhere, milestones=MILESTONES, reason="r")


@pytest.mark.parametrize(
    ("milestones", "reason"),
    [([{"title": "", "due_on": "2026-09-30"}], "r"), ([{"title": "t"}], "r"), (MILESTONES, "  ")],
)
def test_a_milestone_without_title_or_date_or_a_missing_reason_is_refused(application_in, people, milestones, reason):
    agreement = application_in("disbursement").agreement
    with pytest.raises(services.FundingError):
        services.agreement_amend_milestones(
            agreement=agreement, by=people["registration"], milestones=milestones, reason=reason
        )
    assert not MilestoneAmendment.objects.exists()


# ------------------------------------------------------------------ the admin


def test_the_agreement_admin_is_scoped_to_the_operators_sub_venues(application_in, make_user, client, auditor):
    agreement = application_in("disbursement").agreement
    url = f"/admin/funding/fundingagreement/{agreement.pk}/change/"
    here = make_user(roles.SUB_VENUE_OPERATOR, email="here@x.cn")
    here.sub_venues.add(agreement.application.sub_venue)
    elsewhere = make_user(roles.SUB_VENUE_OPERATOR, email="there@x.cn")
    elsewhere.sub_venues.add(SubVenueFactory(code="datong-test"))
    for user, sees in ((here, True), (elsewhere, False), (auditor, True)):
        user.is_staff = True
        user.save()
        client.force_login(user)
        listing = client.get("/admin/funding/fundingagreement/")
        assert listing.status_code == 200
        assert (f"/admin/funding/fundingagreement/{agreement.pk}/" in listing.content.decode()) is sees
        page = client.get(url, follow=True)
        assert ("100,000.00" in page.content.decode() or "100000.00" in page.content.decode()) is sees


def test_the_application_admin_page_shows_the_agreement(application_in, make_user, client):
    application = application_in("disbursement", amount=D("333333.33"))
    services.agreement_amend_milestones(
        agreement=application.agreement,
        by=make_user(roles.REGISTRATION_OFFICER, email="o@x.cn"),
        milestones=MILESTONES,
        reason="签约补录",
    )
    staff = make_user(roles.PROVINCIAL_STAFF, email="staff@x.cn")
    staff.is_staff = True
    staff.save()
    client.force_login(staff)
    page = client.get(f"/admin/funding/application/{application.pk}/change/").content.decode()
    assert "100,000.01" in page and "166,666.66" in page
    assert "样机交付" in page


def test_the_policy_admin_form_takes_the_plan_and_refuses_one_that_does_not_add_up(client, provincial_staff):
    from tests.auth_helpers import reauthenticate

    client.force_login(provincial_staff)
    reauthenticate(client)
    add = "/admin/funding/fundpolicy/add/"
    page = client.get(add).content.decode()
    assert 'name="first_share"' in page and 'value="20.00"' in page and 'name="report_due_days"' in page
    typed = {
        "min_amount": "300000.00",
        "max_amount": "1000000.00",
        "max_paid_in_share": "0.50",
        "notice_days": "7",
        "first_share": "20",
        "second_share": "50",
        "third_share": "40",
        "report_due_days": "60",
        "reason": "调整拨付计划",
    }
    before = FundPolicy.objects.count()
    refused = client.post(add, typed, HTTP_ACCEPT_LANGUAGE="en")
    assert refused.status_code == 200 and "exactly 100%" in refused.content.decode()
    assert FundPolicy.objects.count() == before
    client.post(add, {**typed, "third_share": "30"})
    policy = services.policy_current()
    assert (policy.instalment_shares, policy.report_due_days) == ((D(20), D(50), D(30)), 60)
