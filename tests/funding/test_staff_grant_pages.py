"""The staff's pages of the grant after the money (funding.views, "the grant after the money: staff"):
releasing the plan's instalments, the final acceptance, recovery and repayments, revising an approval
down at registration, and the queues of fund-use reports. Each step through its page, by its role."""

import datetime
import re
from decimal import Decimal as D

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from funding import post_award, services
from funding.demo import file_report
from funding.models import Application, Disbursement, FinalAcceptance, FundUseReport, RecoveryOrder, SubVenueBudget
from tests.auth_helpers import reauthenticate
from tests.factories import SubVenueFactory
from valley.accounts import reauth
from valley.core import roles
from valley.core.calendar import working_days_between

pytestmark = pytest.mark.django_db

S = Application.State
TODAY = timezone.localdate()


def signed_in(user, *, language="en", recently_reauthenticated=True):
    client = Client(HTTP_ACCEPT_LANGUAGE=language)
    client.force_login(user)
    if recently_reauthenticated:
        reauthenticate(client)
    return client


def url(name, app):
    return reverse(f"funding:{name}", args=[app.pk])


def page_of(response) -> str:
    assert response.status_code == 200, response.status_code
    return response.content.decode()


def refused_without_form(response, reason: str) -> None:
    """The page says why and offers no form to fill in."""
    page = page_of(response)
    assert response.context.get("form") is None
    assert "data-step-refused" in page and reason in page, page[:3000]


def field_errors(response) -> dict:
    return {name: [str(e) for e in errors] for name, errors in response.context["form"].errors.items()}


def release(app, people, number):
    return services.application_disburse(
        application=app, by=people["finance"], paid_on=TODAY, reference=f"PAY-{number}"
    )


def fresh(app) -> Application:
    return Application.objects.get(pk=app.pk)


# ------------------------------------------------------------------ releasing instalments


def test_instalment_2_is_not_offered_before_the_report_on_instalment_1_is_accepted(application_in, people):
    app = application_in(S.DISBURSEMENT)
    finance = signed_in(people["finance"])
    reason = (
        "Instalment 2 is released once the fund-use report on instalment 1 is accepted; that report is “to be filed”."
    )

    refused_without_form(finance.get(url("disburse", app)), reason)
    detail = page_of(finance.get(url("detail", app)))
    assert url("disburse", app) not in detail and reason in detail  # not offered, and the reason is given

    # Submitted is not accepted either; a form posted anyway is refused by the service, beside the form.
    file_report(app, people)
    response = finance.post(url("disburse", app), {"amount": "250,000.00", "paid_on": TODAY, "reference": "PAY-2"})
    assert response.context["form"].non_field_errors() == [
        "Instalment 2 is released once the fund-use report on instalment 1 is accepted; that report is “submitted”."
    ]
    assert Disbursement.objects.filter(application=app).count() == 1
    assert fresh(app).disbursed_total == D("100000.00")
    assert SubVenueBudget.objects.get(pk=app.budget_id).disbursed == D("100000.00")


def test_the_reason_is_in_chinese_on_a_chinese_page(application_in, people):
    app = application_in(S.DISBURSEMENT)
    finance = signed_in(people["finance"], language="zh-hans")
    refused_without_form(
        finance.get(url("disburse", app)), "第 2 期须在第 1 期的资金使用情况报告通过后拨付；该报告目前为“待填报”。"
    )


def test_instalment_2_is_released_through_the_page_after_the_report_is_accepted(application_in, people):
    app = application_in(S.DISBURSEMENT)
    report = file_report(app, people, accept=True)
    finance = signed_in(people["finance"], recently_reauthenticated=False)
    disburse = url("disburse", app)

    # Money moves only after a recent re-authentication; what was typed comes back.
    data = {"amount": "250,000.00", "paid_on": TODAY.isoformat(), "reference": "PAY-2"}
    assert finance.get(url("detail", app)).content.decode().count(disburse) == 1  # offered now
    response = finance.post(disburse, data)
    assert response["Location"] == reauth.reauth_url(disburse)
    assert Disbursement.objects.filter(application=app).count() == 1
    reauthenticate(finance)
    form = finance.get(disburse).context["form"]
    assert form.initial["reference"] == "PAY-2"

    # The amount is the plan's, filled in and read-only; another amount is refused by the service.
    page = page_of(finance.get(disburse))
    assert 'value="250,000.00"' in page and "readonly" in page and "Instalment 2 of the funding agreement" in page
    response = finance.post(disburse, {**data, "amount": "300,000"})
    assert response.context["form"].non_field_errors() == [
        "Instalment 2 of the plan is 250,000.00 yuan; release exactly that."
    ]
    assert response.context["form"]["reference"].value() == "PAY-2"  # nothing typed is lost

    response = finance.post(disburse, data)
    assert response["Location"] == url("detail", app)
    second = Disbursement.objects.get(application=app, number=2)
    assert (second.amount, second.released_by_report_id) == (D("250000.00"), report.pk)
    assert FundUseReport.objects.get(instalment=second).state == FundUseReport.State.DRAFT
    refused_without_form(
        finance.get(disburse), "Instalment 3 is released once the fund-use report on instalment 2 is accepted"
    )


def test_a_closed_grant_or_one_in_recovery_has_no_instalment_form(application_in, people):
    finance = signed_in(people["finance"])
    closed = application_in(S.CLOSED)
    refused_without_form(
        finance.get(url("disburse", closed)),
        "“record an instalment” is not possible while the application is “closed”.",
    )
    assert url("disburse", closed) not in page_of(finance.get(url("detail", closed)))
    in_recovery = application_in(S.RECOVERY)
    refused_without_form(
        finance.get(url("disburse", in_recovery)),
        "“record an instalment” is not possible while the application is “recovery”.",
    )
    # Posted anyway: the service refuses, nothing is paid.
    response = finance.post(url("disburse", closed), {"amount": "", "paid_on": TODAY, "reference": "PAY-9"})
    assert response.context["form"].non_field_errors()
    assert Disbursement.objects.filter(application=closed).count() == 3


def test_only_finance_officers_open_the_instalment_page(application_in, people):
    app = application_in(S.DISBURSEMENT)
    for who in ("approver", "reviewer", "registration"):
        assert signed_in(people[who]).get(url("disburse", app)).status_code == 403, who


# ------------------------------------------------------------------ the final acceptance


def test_the_final_acceptance_is_offered_once_its_guard_allows_then_the_last_instalment_closes_the_grant(
    application_in, people
):
    app = application_in(S.DISBURSEMENT)
    approver = signed_in(people["approver"])
    acceptance = url("acceptance", app)
    refused_without_form(
        approver.get(acceptance),
        "Instalment 2 has not been released yet; the final acceptance comes after it.",
    )
    assert acceptance not in page_of(approver.get(url("detail", app)))

    file_report(app, people, accept=True)
    release(fresh(app), people, 2)
    file_report(fresh(app), people, accept=True)
    assert page_of(approver.get(url("detail", app))).count(acceptance) == 1
    assert signed_in(people["finance"]).get(acceptance).status_code == 403  # reviewers and approvers record it

    response = approver.post(acceptance, {"result": "", "reasons": "", "accepted_on": ""})
    assert set(field_errors(response)) == {"result", "reasons", "accepted_on"}
    response = approver.post(
        acceptance, {"result": "passed", "reasons": "里程碑均已完成。", "accepted_on": TODAY.isoformat()}
    )
    assert response["Location"] == url("detail", app)
    recorded = FinalAcceptance.objects.get(application=app)
    assert (recorded.result, recorded.recorded_by) == ("passed", people["approver"])
    refused_without_form(approver.get(acceptance), "The final acceptance has already been recorded.")
    assert 'data-acceptance="passed"' in page_of(approver.get(url("detail", app)))

    finance = signed_in(people["finance"])
    response = finance.post(
        url("disburse", app), {"amount": "150,000.00", "paid_on": TODAY.isoformat(), "reference": "PAY-3"}
    )
    assert response["Location"] == url("detail", app)
    assert fresh(app).state == S.CLOSED


# ------------------------------------------------------------------ recovery


def test_a_recovery_is_opened_and_repaid_through_the_pages_until_the_grant_closes(application_in, people, budget):
    app = application_in(S.DISBURSEMENT)
    finance = signed_in(people["finance"], recently_reauthenticated=False)
    recovery_open = url("recovery_open", app)
    data = {"reason": "misuse", "explanation": "资金用于与项目无关的支出。", "amount": "100,000"}

    assert recovery_open in page_of(finance.get(url("detail", app)))
    assert finance.get(recovery_open)["Location"] == reauth.reauth_url(recovery_open)  # it moves money
    reauthenticate(finance)

    response = finance.post(recovery_open, {**data, "amount": "100,000.01"})
    assert field_errors(response) == {"amount": ["At most the 100,000.00 yuan disbursed can be recovered."]}
    assert response.context["form"]["explanation"].value() == data["explanation"]  # nothing lost
    assert fresh(app).state == S.DISBURSEMENT

    assert finance.post(recovery_open, data)["Location"] == url("detail", app)
    app = fresh(app)
    assert (app.state, app.recovery.amount) == (S.RECOVERY, D("100000.00"))
    assert SubVenueBudget.objects.get(pk=budget.pk).reserved == D("100000.00")  # the unpaid reserve is released
    detail = page_of(finance.get(url("detail", app)))
    assert url("repayment", app) in detail and url("disburse", app) not in detail
    assert 'data-recovery="open"' in detail

    repayment = url("repayment", app)
    assert 'value="100,000.00"' in page_of(finance.get(repayment))  # the outstanding amount, filled in
    assert finance.post(repayment, {"amount": "60000", "paid_on": TODAY, "reference": "R-1"}).status_code == 302
    assert fresh(app).state == S.RECOVERY
    response = finance.post(repayment, {"amount": "50,000", "paid_on": TODAY, "reference": "R-2"})
    assert field_errors(response) == {"amount": ["Only 40,000.00 yuan of the recovery order is outstanding."]}
    assert finance.post(repayment, {"amount": "40,000", "paid_on": TODAY, "reference": "R-2"}).status_code == 302

    app = fresh(app)
    assert (app.state, app.recovered_total) == (S.CLOSED, D("100000.00"))
    assert RecoveryOrder.objects.get(application=app).state == RecoveryOrder.State.COMPLETED
    kept = SubVenueBudget.objects.get(pk=budget.pk)
    assert (kept.reserved, kept.recovered) == (D("0.00"), D("100000.00"))
    refused_without_form(
        finance.get(repayment), "“record a repayment” is not possible while the application is “closed”."
    )


def test_a_repayment_needs_a_recent_reauthentication_and_keeps_the_form(application_in, people):
    app = application_in(S.RECOVERY)
    finance = signed_in(people["finance"], recently_reauthenticated=False)
    repayment = url("repayment", app)
    response = finance.post(repayment, {"amount": "20,000", "paid_on": TODAY.isoformat(), "reference": "R-7"})
    assert response["Location"] == reauth.reauth_url(repayment)
    assert not RecoveryOrder.objects.get(application=app).repayments.exists()
    reauthenticate(finance)
    form = finance.get(repayment).context["form"]
    assert (form.initial["amount"], form.initial["reference"]) == ("20,000", "R-7")


@pytest.mark.parametrize(
    ("language", "required", "too_much"),
    [
        ("en", "This field is required.", "At most the 100,000.00 yuan disbursed can be recovered."),
        ("zh-hans", "该字段是必填项。", "最多只能追回已拨付的 100,000.00 元。"),
    ],
)
def test_the_recovery_form_says_what_is_wrong_beside_each_field_in_the_pages_language(
    application_in, people, language, required, too_much
):
    app = application_in(S.DISBURSEMENT)
    finance = signed_in(people["finance"], language=language)
    response = finance.post(url("recovery_open", app), {"reason": "", "explanation": "", "amount": "200000"})
    assert field_errors(response) == {"reason": [required], "explanation": [required], "amount": [too_much]}
    page = page_of(response)
    assert too_much in page and required in page
    assert not RecoveryOrder.objects.filter(application=app).exists()


@pytest.mark.parametrize(
    ("language", "message"),
    [
        ("en", "Enter an amount in yuan, for example 500000 or 500,000.00."),
        ("zh-hans", "请输入以元为单位的金额，例如 500000 或 500,000.00。"),
    ],
)
def test_the_repayment_form_says_what_is_wrong_in_the_pages_language(application_in, people, language, message):
    app = application_in(S.RECOVERY)
    finance = signed_in(people["finance"], language=language)
    response = finance.post(url("repayment", app), {"amount": "", "paid_on": TODAY, "reference": "R-1"})
    assert field_errors(response) == {"amount": [message]}


# ------------------------------------------------------------------ registration: the paid-in capital


def registration_data(people, paid_in: str) -> dict:
    return {
        "company_name": "晋创新材料有限公司",
        "uscc": people["next_uscc"](),
        "registered_on": TODAY.isoformat(),
        "registered_capital": "2,000,000",
        "paid_in_capital": paid_in,
        "legal_representative": "王建国",
    }


def test_the_approval_is_revised_down_at_registration_then_the_registration_is_verified(application_in, people, budget):
    app = application_in(S.REGISTRATION)  # 500,000 approved
    officer = signed_in(people["registration"], recently_reauthenticated=False)
    verify = url("verify_registration", app)
    data = registration_data(people, "800,000")

    response = officer.post(verify, data)
    page = page_of(response)
    assert "The grant of 500,000.00 yuan is more than 50% of the paid-in capital" in page
    revise = url("revise_amount", app) + "?paid_in=800000.00"
    assert 'data-paid-in-offer="revise"' in page and revise in page
    assert fresh(app).state == S.REGISTRATION

    # Revising moves money: re-authenticate, then the most that paid-in capital allows is filled in.
    assert officer.get(revise)["Location"] == reauth.reauth_url(revise)
    reauthenticate(officer)
    form = officer.get(revise).context["form"]
    assert form.initial == {"paid_in_capital": "800,000.00", "amount": "400,000.00"}
    response = officer.post(
        revise, {"paid_in_capital": "800,000.00", "amount": "400,000.01", "comment": "按实缴资本调减。"}
    )
    assert field_errors(response) == {
        "amount": ["For a paid-in capital of 800,000.00 yuan the grant may be at most 400,000.00 yuan."]
    }
    response = officer.post(
        revise, {"paid_in_capital": "800,000.00", "amount": "400,000.00", "comment": "按实缴资本调减。"}
    )
    assert response["Location"] == verify  # back to the registration, with what was typed there
    assert fresh(app).approved_amount == D("400000.00")
    assert SubVenueBudget.objects.get(pk=budget.pk).reserved == D("400000.00")

    form = officer.get(verify).context["form"]
    assert form.initial["company_name"] == data["company_name"] and form.initial["uscc"] == data["uscc"]
    assert officer.post(verify, data)["Location"] == url("detail", app)
    app = fresh(app)
    assert (app.state, app.agreement.amount) == (S.DISBURSEMENT, D("400000.00"))
    assert officer.get(verify).context.get("form") is None  # verified: the draft is gone with the step


def test_when_even_the_minimum_is_too_much_an_approver_rejects_at_registration(application_in, people, budget):
    app = application_in(S.REGISTRATION)
    officer = signed_in(people["registration"])
    page = page_of(officer.post(url("verify_registration", app), registration_data(people, "500,000")))
    # 50% of 500,000 is 250,000, below the fund's minimum of 300,000: no revision helps, an approver decides.
    assert 'data-paid-in-offer="reject"' in page and "An approver rejects the application at registration" in page
    assert url("reject_at_registration", app) not in page
    assert officer.get(url("reject_at_registration", app)).status_code == 403

    approver = signed_in(people["approver"])
    detail = page_of(approver.get(url("detail", app)))
    assert url("reject_at_registration", app) in detail and url("revise_amount", app) in detail
    response = approver.post(url("reject_at_registration", app), {"comment": ""})
    assert set(field_errors(response)) == {"comment"}
    response = approver.post(url("reject_at_registration", app), {"comment": "实缴资本不足以支持最低资助额。"})
    assert response["Location"] == url("detail", app)
    app = fresh(app)
    assert (app.state, app.approved_amount) == (S.REJECTED, None)
    assert SubVenueBudget.objects.get(pk=budget.pk).reserved == D("0.00")


def test_the_revised_amount_is_checked_beside_the_field_in_chinese(application_in, people):
    app = application_in(S.REGISTRATION)
    officer = signed_in(people["registration"], language="zh-hans")
    response = officer.post(url("revise_amount", app), {"amount": "200,000", "comment": "按实缴资本调减。"})
    assert field_errors(response) == {
        "amount": ["资金的最低资助额为 300,000.00 元；如实缴资本只允许更低金额，请改为在注册核验阶段对申请不予批准。"]
    }
    assert fresh(app).approved_amount == D("500000.00")


# ------------------------------------------------------------------ the detail page


def test_the_detail_page_lists_the_reports_with_their_due_dates_and_days_late(application_in, people):
    app = application_in(S.DISBURSEMENT)
    due = TODAY - datetime.timedelta(days=20)
    FundUseReport.objects.filter(application=app).update(due_on=due)
    page = page_of(signed_in(people["finance"]).get(url("detail", app)))
    late = working_days_between(due, TODAY)
    report = FundUseReport.objects.get(application=app)
    assert reverse("funding:report", args=[report.pk]) in page
    assert f'data-late="{late}"' in page and f"{late} working days late" in page


# ------------------------------------------------------------------ the queues


@pytest.fixture
def operator_elsewhere(make_user):
    operator = make_user(roles.SUB_VENUE_OPERATOR)
    operator.sub_venues.add(SubVenueFactory(code="datong-test"))
    return operator


@pytest.fixture
def operator_here(make_user, budget):
    operator = make_user(roles.SUB_VENUE_OPERATOR)
    operator.sub_venues.add(budget.sub_venue)
    return operator


def queue_counts(client) -> dict[str, str]:
    page = page_of(client.get(reverse("funding:queues")))
    counts = dict(re.findall(r'data-queue="([a-z-]+)"[^>]*>(\d+)<', page))
    return {key: counts[key] for key in ("reports", "overdue-reports", "recovery")}


def queue_rows(client, queue) -> list:
    return list(client.get(reverse("funding:queue", args=[queue])).context["page"].object_list)


def test_the_report_queues_hold_the_reports_to_review_and_the_overdue_ones(
    application_in, people, operator_here, operator_elsewhere
):
    submitted = file_report(application_in(S.DISBURSEMENT), people)
    overdue_app = application_in(S.DISBURSEMENT)
    due = TODAY - datetime.timedelta(days=30)
    FundUseReport.objects.filter(application=overdue_app).update(due_on=due)
    application_in(S.DISBURSEMENT)  # a draft not due yet: in neither queue
    in_recovery = application_in(S.RECOVERY)
    FundUseReport.objects.filter(application=in_recovery).update(due_on=due)  # not worked on any more

    finance = signed_in(people["finance"])
    assert [r.pk for r in queue_rows(finance, "reports")] == [submitted.pk]
    overdue = queue_rows(finance, "overdue-reports")
    assert [(r.application_id, r.days_late) for r in overdue] == [(overdue_app.pk, working_days_between(due, TODAY))]
    assert [a.pk for a in queue_rows(finance, "recovery")] == [in_recovery.pk]
    page = page_of(finance.get(reverse("funding:queue", args=["overdue-reports"])))
    assert f'data-days-late="{overdue[0].days_late}"' in page
    assert queue_counts(finance) == {"reports": "1", "overdue-reports": "1", "recovery": "1"}

    # Scoped to the staff member's sub-venues, like the application queues.
    here, elsewhere = signed_in(operator_here), signed_in(operator_elsewhere)
    assert [r.pk for r in queue_rows(here, "reports")] == [submitted.pk]
    for queue in ("reports", "overdue-reports", "recovery"):
        assert queue_rows(elsewhere, queue) == [], queue
    assert queue_counts(elsewhere) == {"reports": "0", "overdue-reports": "0", "recovery": "0"}
    assert signed_in(people["applicant"]).get(reverse("funding:queue", args=["reports"])).status_code == 404


def test_the_queues_are_oldest_first(application_in, people):
    apps = [application_in(S.DISBURSEMENT) for _ in range(3)]
    for offset, app in zip((5, 40, 20), apps, strict=True):
        FundUseReport.objects.filter(application=app).update(due_on=TODAY - datetime.timedelta(days=offset))
    finance = signed_in(people["finance"])
    assert [r.application_id for r in queue_rows(finance, "overdue-reports")] == [apps[1].pk, apps[2].pk, apps[0].pk]
    reports = [file_report(app, people) for app in reversed(apps)]
    assert [r.pk for r in queue_rows(finance, "reports")] == [r.pk for r in reports]


def count_queries(client, path) -> int:
    with CaptureQueriesContext(connection) as queries:
        assert client.get(path).status_code == 200
    return len(queries)


@pytest.mark.parametrize("queue", ["reports", "overdue-reports"])
def test_a_report_queue_page_takes_the_same_queries_with_more_reports(
    queue, application_in, people, operator_here, django_assert_max_num_queries
):
    def add(count):
        for _ in range(count):
            app = application_in(S.DISBURSEMENT)
            FundUseReport.objects.filter(application=app).update(due_on=TODAY - datetime.timedelta(days=10))
            file_report(app, people)

    add(1)
    client = signed_in(operator_here)  # scoped: the sub-venue's ids are read once
    path = reverse("funding:queue", args=[queue])
    few = count_queries(client, path)
    add(4)
    with django_assert_max_num_queries(few):
        assert len(client.get(path).context["page"].object_list) == 5
    with django_assert_max_num_queries(few):
        client.get(reverse("funding:queues"))


def test_the_detail_page_of_a_grant_takes_a_fixed_number_of_queries(
    application_in, people, django_assert_max_num_queries
):
    app = application_in(S.DISBURSEMENT)
    overdue = TODAY - datetime.timedelta(days=10)
    FundUseReport.objects.filter(application=app).update(due_on=overdue)
    finance = signed_in(people["finance"])
    few = count_queries(finance, url("detail", app))
    file_report(app, people, accept=True)
    release(fresh(app), people, 2)
    FundUseReport.objects.filter(application=app).update(due_on=overdue)
    with django_assert_max_num_queries(few):  # two reports, one of them late
        assert page_of(finance.get(url("detail", app))).count("data-report=") == 2
    post_award.recovery_open(
        application=fresh(app), by=people["finance"], reason="fraud", explanation="虚报支出。", amount=D("1000")
    )
    for reference in ("R-1", "R-2"):
        post_award.recovery_repay(
            application=fresh(app), by=people["finance"], amount=D("10"), paid_on=TODAY, reference=reference
        )
    with django_assert_max_num_queries(few):  # the recovery order and its repayments
        assert "R-2" in page_of(finance.get(url("detail", app)))
