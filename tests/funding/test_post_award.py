"""The grant after the money: instalments released on accepted fund-use reports, the final acceptance,
closure, and recovery back into the budget (DOMAIN.md "After the grant")."""

import datetime
from decimal import Decimal as D

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import IntegrityError, transaction
from django.utils import timezone

from funding import post_award, services
from funding.demo import DEMO_PDF, file_report
from funding.invariants import check_invariants
from funding.models import Application, Disbursement, FundUseReport, SubVenueBudget
from funding.services import FundingError
from valley.messaging.mail import MAIL_TASK
from valley.models import OutboxMessage

pytestmark = pytest.mark.django_db

S = Application.State
R = FundUseReport.State


def _mails_to(address: str) -> list[str]:
    return [
        m.kwargs["subject"] for m in OutboxMessage.objects.filter(task=MAIL_TASK) if address in m.kwargs["recipients"]
    ]


def _release(app, people, number):
    return services.application_disburse(
        application=app, by=people["finance"], paid_on=timezone.localdate(), reference=f"P-{number}"
    )


def test_a_grant_from_registration_through_three_instalments_to_closure(application_in, people, budget):
    app = application_in("registration", amount=D("500000.00"))
    app = services.application_verify_registration(
        application=app,
        by=people["registration"],
        company_name="晋创新材料有限公司",
        uscc=people["next_uscc"](),
        registered_on=timezone.localdate(),
        registered_capital=D("2000000"),
        paid_in_capital=D("2000000"),
        legal_representative="王建国",
    )
    plan = [(i.number, i.amount) for i in app.agreement.instalments.order_by("number")]
    assert plan == [(1, D("100000.00")), (2, D("250000.00")), (3, D("150000.00"))]

    first = _release(app, people, 1)
    assert first.amount == D("100000.00")
    report = first.fund_use_report
    assert (report.state, report.disbursed) == (R.DRAFT, D("100000.00"))
    assert report.due_on == first.paid_on + datetime.timedelta(days=90)
    with pytest.raises(FundingError, match="report on instalment 1 is accepted"):
        _release(app, people, 2)

    # Returned once, resubmitted, accepted.
    report = file_report(app, people)
    returned = post_award.report_return(
        report=report, by=people["finance"], comment="请补充中试合同。Add the contract."
    )
    assert returned.state == R.RETURNED
    owner_email = app.entity.owner.email
    assert any("returned" in s or "退回" in s for s in _mails_to(owner_email))
    with pytest.raises(FundingError, match="report on instalment 1 is accepted"):
        _release(app, people, 2)
    post_award.report_submit(report=returned, by=app.entity.owner)
    post_award.report_accept(report=returned, by=people["finance"])
    second = _release(app, people, 2)
    assert (second.amount, second.released_by_report_id) == (D("250000.00"), returned.pk)

    report2 = file_report(Application.objects.get(pk=app.pk), people, accept=True)
    assert report2.disbursed == D("350000.00")
    with pytest.raises(FundingError, match="final acceptance has passed"):
        _release(app, people, 3)
    post_award.acceptance_record(
        application=app, by=people["approver"], result="passed", reasons="验收通过", accepted_on=timezone.localdate()
    )
    third = _release(app, people, 3)
    closed = Application.objects.get(pk=app.pk)
    assert (closed.state, closed.disbursed_total, third.amount) == (S.CLOSED, D("500000.00"), D("150000.00"))
    assert not FundUseReport.objects.filter(instalment=third).exists()  # the acceptance covered the last one
    assert check_invariants().ok


def test_a_misused_grant_is_recovered_into_its_budget_and_closes(application_in, people, budget):
    app = application_in("disbursement", amount=D("500000.00"))
    budget.refresh_from_db()
    assert (budget.reserved, budget.disbursed) == (D("500000.00"), D("100000.00"))
    order = post_award.recovery_open(
        application=app, by=people["finance"], reason="misuse", explanation="挪用", amount=D("80000.00")
    )
    budget.refresh_from_db()
    # The grant stopped: what was never paid goes back to the budget at once.
    assert budget.reserved == D("100000.00")
    remaining_before = budget.remaining
    with pytest.raises(FundingError, match="outstanding"):
        post_award.recovery_repay(
            application=app, by=people["finance"], amount=D("80000.01"), paid_on=timezone.localdate(), reference="R"
        )
    post_award.recovery_repay(
        application=app, by=people["finance"], amount=D("30000.00"), paid_on=timezone.localdate(), reference="R1"
    )
    assert Application.objects.get(pk=app.pk).state == S.RECOVERY
    post_award.recovery_repay(
        application=app, by=people["finance"], amount=D("50000.00"), paid_on=timezone.localdate(), reference="R2"
    )
    budget.refresh_from_db()
    assert budget.remaining - remaining_before == D("80000.00")
    assert (budget.recovered, budget.disbursed) == (D("80000.00"), D("100000.00"))
    order.refresh_from_db()
    assert order.state == order.State.COMPLETED
    assert Application.objects.get(pk=app.pk).state == S.CLOSED
    assert any(str(app.pk) in s for s in _mails_to(app.entity.owner.email))
    assert check_invariants().ok


def test_recovery_is_at_most_what_was_disbursed(application_in, people, budget):
    app = application_in("disbursement", amount=D("500000.00"))
    with pytest.raises(FundingError, match="100,000.00 yuan disbursed"):
        post_award.recovery_open(
            application=app, by=people["finance"], reason="fraud", explanation="x", amount=D("100000.01")
        )


def test_expense_lines_must_add_up_and_stay_within_the_disbursed(application_in, people, budget):
    app = application_in("disbursement", amount=D("500000.00"))
    report = app.fund_use_reports.get()
    owner = app.entity.owner
    with pytest.raises(FundingError, match="add up to 50,000.00 yuan, not the 60,000.00"):
        post_award.report_save(
            report=report, by=owner, spent="60000", summary="", lines=[{"category": "rent", "amount": "50000"}]
        )
    with pytest.raises(FundingError, match="more than the 100,000.00 yuan disbursed"):
        post_award.report_save(
            report=report, by=owner, spent="100000.01", summary="", lines=[{"category": "rent", "amount": "100000.01"}]
        )
    with pytest.raises(FundingError, match="in yuan"):
        post_award.report_save(report=report, by=owner, spent="abc", summary="", lines=[])
    # Nothing of it was saved; a stranger may not file it.
    report.refresh_from_db()
    assert (report.spent, report.lines.count()) == (D("0.00"), 0)
    with pytest.raises(services.TransitionForbidden):
        post_award.report_save(report=report, by=people["finance"], spent="0", summary="", lines=[])
    with pytest.raises(FundingError, match="Attach the invoices"):
        post_award.report_save(
            report=report, by=owner, spent="1000", summary="", lines=[{"category": "rent", "amount": "1000"}]
        )
        post_award.report_submit(report=report, by=owner)
    post_award.report_attach_document(
        report=report, by=owner, title="发票", upload=SimpleUploadedFile("i.pdf", DEMO_PDF, "application/pdf")
    )
    assert post_award.report_submit(report=report, by=owner).state == R.SUBMITTED


def test_the_database_refuses_a_later_instalment_without_a_report(application_in, people, budget):
    app = application_in("disbursement", amount=D("500000.00"))
    with pytest.raises(IntegrityError), transaction.atomic():
        Disbursement.objects.create(
            application=app,
            number=2,
            amount=D("250000.00"),
            paid_on=timezone.localdate(),
            reference="X",
            recorded_by=people["finance"],
        )


def test_an_amount_off_the_plan_is_refused(application_in, people, budget):
    app = application_in("disbursement", amount=D("500000.00"))
    file_report(app, people, accept=True)
    with pytest.raises(FundingError, match="Instalment 2 of the plan is 250,000.00 yuan"):
        services.application_disburse(
            application=app, by=people["finance"], paid_on=timezone.localdate(), reference="X", amount=D("300000")
        )


def test_approval_too_high_for_the_paid_in_capital_is_revised_down(application_in, people, budget):
    app = application_in("registration", amount=D("500000.00"))
    with pytest.raises(FundingError, match="revise the approved amount down"):
        services.application_verify_registration(
            application=app,
            by=people["registration"],
            company_name="小公司",
            uscc=people["next_uscc"](),
            registered_on=timezone.localdate(),
            registered_capital=D("800000"),
            paid_in_capital=D("800000"),
            legal_representative="王",
        )
    services.application_revise_amount(
        application=app, by=people["approver"], amount=D("400000.00"), comment="实缴资本限额"
    )
    budget.refresh_from_db()
    assert budget.reserved == D("400000.00")
    app = services.application_verify_registration(
        application=app,
        by=people["registration"],
        company_name="小公司",
        uscc=people["next_uscc"](),
        registered_on=timezone.localdate(),
        registered_capital=D("800000"),
        paid_in_capital=D("800000"),
        legal_representative="王",
    )
    assert (app.state, app.agreement.amount) == (S.DISBURSEMENT, D("400000.00"))
    assert SubVenueBudget.objects.get(pk=budget.pk).reserved == D("400000.00")
