"""The database itself refuses what would break the fund's money rules, even bypassing every form and service."""

from decimal import Decimal

import pytest
from django.db import IntegrityError, transaction
from django.db.models import F

from funding.models import Application, Disbursement, RecoveryOrder, SubVenueBudget

S = Application.State


def test_a_second_granted_application_for_an_entity_is_an_integrity_error(application_in, people):
    granted = application_in(S.CLOSED)
    second = Application.objects.create(
        entity=granted.entity,
        amount=Decimal("400000"),
        purpose="再申请",
        plan="x",
        created_by=people["applicant"],
        state=S.REJECTED,
        min_amount=granted.min_amount,
        max_amount=granted.max_amount,
        max_paid_in_share=granted.max_paid_in_share,
    )
    with pytest.raises(IntegrityError, match="one_grant_per_entity|UNIQUE"), transaction.atomic():
        Application.objects.filter(pk=second.pk).update(
            state=S.PUBLIC_NOTICE, approved_amount=Decimal("400000"), budget=granted.budget
        )


def test_two_open_applications_for_an_entity_are_an_integrity_error(application_in, people):
    open_one = application_in(S.SUBMITTED)
    with pytest.raises(IntegrityError), transaction.atomic():
        Application.objects.create(
            entity=open_one.entity, amount=Decimal("400000"), purpose="x", plan="x", created_by=people["applicant"]
        )


def test_a_submitted_amount_above_the_policy_maximum_is_an_integrity_error(application_in):
    submitted = application_in(S.SUBMITTED)
    with pytest.raises(IntegrityError), transaction.atomic():
        Application.objects.filter(pk=submitted.pk).update(amount=Decimal("1000000.01"))
    Application.objects.filter(pk=submitted.pk).update(amount=Decimal("1000000.00"))  # the limit itself is fine


def test_the_budget_cannot_be_overspent(budget):
    with pytest.raises(IntegrityError), transaction.atomic():
        SubVenueBudget.objects.filter(pk=budget.pk).update(reserved=F("amount") + Decimal("0.01"))


def test_instalments_cannot_exceed_the_approval(application_in):
    paying = application_in(S.DISBURSEMENT)
    with pytest.raises(IntegrityError), transaction.atomic():
        Application.objects.filter(pk=paying.pk).update(disbursed_total=F("approved_amount") + Decimal("0.01"))


def test_the_grant_stays_within_half_the_paid_in_capital(application_in):
    paying = application_in(S.DISBURSEMENT)
    with pytest.raises(IntegrityError), transaction.atomic():
        Application.objects.filter(pk=paying.pk).update(paid_in_capital=paying.approved_amount * 2 - 1)


def test_the_plan_s_instalments_add_up_to_the_approval_exactly_and_a_surplus_release_is_refused(application_in, people):
    from django.utils import timezone

    from funding import post_award, services
    from funding.demo import file_report, release_next
    from funding.services import FundingError
    from valley.core.workflow import TransitionNotAllowed

    paying = application_in(S.DISBURSEMENT, amount=Decimal("333333.33"))  # instalment 1 paid; rounding leaves fen
    plan = [i.amount for i in paying.agreement.instalments.order_by("number")]
    assert plan == [Decimal("66666.66"), Decimal("166666.66"), Decimal("100000.01")]
    assert sum(plan) == paying.approved_amount
    release_next(paying, people)
    release_next(paying, people)  # … after the passed final acceptance, the last of the plan
    paying.refresh_from_db()
    assert paying.state == S.CLOSED
    assert [d.amount for d in Disbursement.objects.filter(application=paying).order_by("number")] == plan
    budget = paying.budget
    budget.refresh_from_db()
    assert budget.disbursed == paying.approved_amount == paying.disbursed_total
    # Nothing beyond the plan: neither the next instalment of a closed grant nor a fen more mid-way.
    with pytest.raises(TransitionNotAllowed, match="not possible while the application is “closed”"):
        services.application_disburse(
            application=paying, by=people["finance"], paid_on=timezone.localdate(), reference="X"
        )
    other = application_in(S.DISBURSEMENT, amount=Decimal("500000.00"))
    release_next(other, people)
    file_report(Application.objects.get(pk=other.pk), people, accept=True)
    post_award.acceptance_record(
        application=other, by=people["approver"], result="passed", reasons="通过", accepted_on=timezone.localdate()
    )
    with pytest.raises(FundingError, match="Instalment 3 of the plan is 150,000.00 yuan; release exactly that"):
        services.application_disburse(
            application=other,
            by=people["finance"],
            amount=Decimal("150000.01"),
            paid_on=timezone.localdate(),
            reference="Y",
        )
    assert Disbursement.objects.filter(application=other).count() == 2


def test_what_is_recovered_stays_within_what_was_disbursed(application_in):
    """The budget, the application and the recovery order each refuse a recovery above what was paid out, and
    an application cannot release more of its reserve than was never paid."""
    recovering = application_in(S.RECOVERY)  # instalment 1 (100,000 of 500,000) paid, an order for all of it
    budget, order = recovering.budget, recovering.recovery
    with pytest.raises(IntegrityError), transaction.atomic():
        SubVenueBudget.objects.filter(pk=budget.pk).update(recovered=F("disbursed") + Decimal("0.01"))
    with pytest.raises(IntegrityError), transaction.atomic():
        Application.objects.filter(pk=recovering.pk).update(recovered_total=F("disbursed_total") + Decimal("0.01"))
    with pytest.raises(IntegrityError), transaction.atomic():
        Application.objects.filter(pk=recovering.pk).update(reserve_released=F("reserve_released") + Decimal("0.01"))
    with pytest.raises(IntegrityError), transaction.atomic():
        RecoveryOrder.objects.filter(pk=order.pk).update(amount=F("disbursed_when_opened") + Decimal("0.01"))
    with pytest.raises(IntegrityError), transaction.atomic():
        RecoveryOrder.objects.filter(pk=order.pk).update(recovered=F("amount") + Decimal("0.01"))


def test_a_report_releases_one_instalment_only(application_in, people):
    """Two releases on one accepted report (a race past the service's check): the database keeps one."""
    from django.utils import timezone

    from funding.demo import release_next

    paying = application_in(S.DISBURSEMENT)
    second = release_next(paying, people)
    with pytest.raises(IntegrityError), transaction.atomic():
        Disbursement.objects.create(
            application=paying,
            number=3,
            amount=Decimal("150000.00"),
            paid_on=timezone.localdate(),
            reference="TWICE",
            recorded_by=people["finance"],
            released_by_report=second.released_by_report,
        )


def test_a_draft_never_submitted_can_be_withdrawn_and_the_entity_may_apply_again(application_in, people):
    """The workflow offers "withdraw" on a draft; the policy limits are copied only at submission."""
    from funding import services

    draft = application_in(S.DRAFT)

    withdrawn = services.application_withdraw(application=draft, by=people["applicant"], comment="写错了。")

    assert withdrawn.state == S.WITHDRAWN and withdrawn.min_amount is None
    again = services.application_create(
        entity=draft.entity, by=people["applicant"], amount=Decimal("400000"), purpose="重新申请", plan="x"
    )
    assert again.state == S.DRAFT


def test_a_submitted_application_still_needs_its_limits_when_withdrawn(application_in):
    withdrawn = application_in(S.WITHDRAWN)
    with pytest.raises(IntegrityError, match="application_amount_within_policy|CHECK"), transaction.atomic():
        Application.objects.filter(pk=withdrawn.pk).update(min_amount=None)
