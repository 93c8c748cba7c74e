"""The database itself refuses what would break the fund's money rules, even bypassing every form and service."""

from decimal import Decimal

import pytest
from django.db import IntegrityError, transaction
from django.db.models import F

from funding.models import Application, Disbursement, SubVenueBudget

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


def test_instalments_through_the_service_stop_at_the_approved_amount(application_in, people):
    from django.utils import timezone

    from funding import services
    from funding.services import FundingError

    paying = application_in(S.DISBURSEMENT)  # half is paid already
    rest = paying.remaining_to_disburse
    with pytest.raises(FundingError, match="left to disburse"):
        services.application_disburse(
            application=paying,
            by=people["finance"],
            amount=rest + Decimal("0.01"),
            paid_on=timezone.localdate(),
            reference="X",
        )
    services.application_disburse(
        application=paying, by=people["finance"], amount=rest, paid_on=timezone.localdate(), reference="Y"
    )
    paying.refresh_from_db()
    assert paying.state == S.CLOSED
    assert sum(d.amount for d in Disbursement.objects.filter(application=paying)) == paying.approved_amount
    budget = paying.budget
    budget.refresh_from_db()
    assert budget.disbursed == paying.approved_amount


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
