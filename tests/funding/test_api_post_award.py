"""The grant after the money through the REST API: fund-use reports filed and decided, instalments released on
them, the final acceptance, recovery and the revised amount (DOMAIN.md "After the grant")."""

import datetime
from decimal import Decimal as D

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from funding import post_award, services
from funding.demo import DEMO_PDF, file_report
from funding.models import Application, Disbursement, FundUseReport, RecoveryOrder, SubVenueBudget
from tests.api_support import results, session_client, token_client
from tests.auth_helpers import reauthenticate
from valley.core import roles

pytestmark = pytest.mark.django_db

S = Application.State
R = FundUseReport.State
TODAY = timezone.localdate


def report_url(report, tail=""):
    return f"/api/fund-use-reports/{report.pk}/{tail}"


def app_url(application, tail=""):
    return f"/api/applications/{application.pk}/{tail}"


def post(client, url, body=None, **extra):
    return client.post(url, body or {}, format="json", HTTP_ACCEPT_LANGUAGE="en", **extra)


def finance_session(people):
    """Finance in a browser session, re-authenticated as the pages ask before money moves."""
    client = session_client(people["finance"])
    reauthenticate(client)
    return client


def spend_all(report):
    """The report's whole disbursed amount on two lines, as the applicant would send it."""
    equipment = (report.disbursed * D("0.6")).quantize(D("0.01"))
    return {
        "spent": f"{report.disbursed:,.2f}",
        "summary": "按计划采购设备。",
        "lines": [
            {"category": "equipment", "amount": str(equipment), "description": "中试设备"},
            {"category": "testing", "amount": str(report.disbursed - equipment)},
        ],
    }


@pytest.fixture
def paid_once(application_in):
    """A grant of 500,000 yuan with instalment 1 (100,000) paid and its report still to be filed."""
    application = application_in(S.DISBURSEMENT)
    return application, application.fund_use_reports.get()


# ------------------------------------------------------------------ the walk


def test_the_applicant_files_the_report_finance_accepts_it_and_releases_the_next_instalment(
    paid_once, people, media_root
):
    application, report = paid_once
    services.agreement_amend_milestones(
        agreement=application.agreement,
        by=people["registration"],
        milestones=[{"title": "中试线建成", "due_on": "2027-03-31"}, {"title": "首批销售", "due_on": "2027-09-30"}],
        reason="协议约定",
    )
    owner = token_client(application.entity.owner)

    listed = results(owner.get("/api/fund-use-reports/"))
    assert [(r["id"], r["state"], r["instalment_number"], r["disbursed"]) for r in listed] == [
        (report.pk, "draft", 1, "100000.00")
    ]
    assert listed[0]["actions"] == ["save", "submit"]
    assert listed[0]["due_on"] == str(report.instalment.paid_on + datetime.timedelta(days=90))

    saved = post(
        owner, report_url(report, "save/"), spend_all(report) | {"progress": [{"order": 1, "progress": "按期"}]}
    )
    assert saved.status_code == 200, saved.content
    body = saved.json()
    assert (body["spent"], body["summary"]) == ("100000.00", "按计划采购设备。")
    assert [(line["category"], line["amount"]) for line in body["lines"]] == [
        ("equipment", "60000.00"),
        ("testing", "40000.00"),
    ]
    assert [(p["order"], p["milestone"], p["progress"]) for p in body["progress"]] == [
        (1, "中试线建成", "按期"),
        (2, "首批销售", ""),
    ]

    # A save that sends only the summary keeps the lines and the spend.
    kept = post(owner, report_url(report, "save/"), {"summary": "设备已到位。"}).json()
    assert (kept["summary"], kept["spent"], len(kept["lines"])) == ("设备已到位。", "100000.00", 2)
    more = post(owner, report_url(report, "save/"), {"progress": [{"order": 2, "progress": "洽谈客户"}]}).json()
    assert [p["progress"] for p in more["progress"]] == ["按期", "洽谈客户"]  # milestone 1 keeps its text

    no_invoice = post(owner, report_url(report, "submit/"))
    assert no_invoice.status_code == 400
    assert no_invoice.json() == {"detail": "Attach the invoices and contracts of the spend before submitting."}

    attached = owner.post(
        report_url(report, "attach-document/"),
        {"title": "发票", "file": SimpleUploadedFile("invoice.pdf", DEMO_PDF, "application/pdf")},
        format="multipart",
    )
    assert attached.status_code == 201, attached.content
    submitted = post(owner, report_url(report, "submit/"), {"comment": "请审核"})
    assert submitted.status_code == 200, submitted.content
    assert submitted.json()["state"] == "submitted" and submitted.json()["actions"] == []
    assert submitted.json()["documents"] == [attached.json()["id"]]

    finance = finance_session(people)
    accepted = post(finance, report_url(report, "accept/"), {"comment": "已核实"})
    assert accepted.status_code == 200, accepted.content
    assert (accepted.json()["state"], accepted.json()["decided_by"]) == ("accepted", people["finance"].email)

    released = post(finance, app_url(application, "disburse/"), {"paid_on": str(TODAY()), "reference": "PAY-2"})
    assert released.status_code == 201, released.content
    assert (released.json()["number"], released.json()["amount"]) == (2, "250000.00")
    assert released.json()["released_by_report"] == report.pk
    again = owner.get(report_url(report)).json()
    assert again["released_instalment"] == released.json()["id"]
    assert again["decided_by"] is None  # staff names are for staff

    agreement = results(owner.get("/api/funding-agreements/", {"application": application.pk}))[0]
    assert [
        (i["number"], i["amount"], (i["paid"] or {}).get("released_by_report")) for i in agreement["instalments"]
    ] == [
        (1, "100000.00", None),
        (2, "250000.00", report.pk),
        (3, "150000.00", None),
    ]
    assert agreement["instalments"][2]["paid"] is None
    # The release opened the report on instalment 2.
    states = [(r["instalment_number"], r["state"]) for r in results(owner.get("/api/fund-use-reports/"))]
    assert states == [(1, "accepted"), (2, "draft")]


def test_releasing_before_the_report_is_accepted_is_refused_and_pays_nothing(paid_once, people, budget):
    application, report = paid_once
    finance = finance_session(people)
    body = {"paid_on": str(TODAY()), "reference": "PAY-2"}
    refused = post(finance, app_url(application, "disburse/"), body)
    assert refused.status_code == 400
    assert refused.json() == {
        "detail": "Instalment 2 is released once the fund-use report on instalment 1 is accepted; that report is "
        "“to be filed”."
    }
    file_report(application, people)  # submitted, not yet accepted
    submitted = post(finance, app_url(application, "disburse/"), {**body, "amount": "250000"})
    assert submitted.status_code == 400
    assert "that report is “submitted”" in submitted.json()["detail"]
    assert Disbursement.objects.filter(application=application).count() == 1
    budget.refresh_from_db()
    assert budget.disbursed == D("100000.00")


def test_the_plans_amount_may_be_left_out_but_another_is_refused(paid_once, people):
    application, _report = paid_once
    file_report(application, people, accept=True)
    finance = finance_session(people)
    other = post(
        finance, app_url(application, "disburse/"), {"amount": "300000", "paid_on": str(TODAY()), "reference": "X"}
    )
    assert other.status_code == 400
    assert other.json() == {"detail": "Instalment 2 of the plan is 250,000.00 yuan; release exactly that."}
    exact = post(
        finance, app_url(application, "disburse/"), {"amount": "250,000.00", "paid_on": str(TODAY()), "reference": "X"}
    )
    assert exact.status_code == 201, exact.content


def test_returning_a_report_needs_a_comment_and_the_applicant_reads_it(paid_once, people, media_root):
    application, report = paid_once
    file_report(application, people)
    finance = finance_session(people)
    blank = post(finance, report_url(report, "return/"), {"comment": ""})
    assert blank.status_code == 400 and "comment" in blank.json()
    returned = post(finance, report_url(report, "return/"), {"comment": "请补充中试合同。"})
    assert returned.status_code == 200, returned.content
    mine = token_client(application.entity.owner).get(report_url(report)).json()
    assert (mine["state"], mine["actions"]) == ("returned", ["save", "submit"])
    last = mine["events"][-1]
    assert (last["to_state"], last["comment"], last["by"]) == ("returned", "请补充中试合同。", None)


def test_refusals_answer_403_for_the_role_and_409_for_the_state(paid_once, people):
    application, report = paid_once
    owner = token_client(application.entity.owner)
    assert post(owner, report_url(report, "accept/")).status_code == 403  # the holder does not accept their own
    staff_save = post(token_client(people["finance"]), report_url(report, "save/"), {"summary": "x"})
    assert staff_save.status_code == 403
    assert staff_save.json() == {"detail": "Only the grant holder files its fund-use reports."}
    too_early = post(token_client(people["finance"]), report_url(report, "accept/"))
    assert too_early.status_code == 409
    assert "to be filed" in too_early.json()["detail"]
    assert FundUseReport.objects.get(pk=report.pk).state == R.DRAFT


# ------------------------------------------------------------------ who sees what


def test_someone_elses_report_is_not_found_on_every_url(paid_once, other_applicant, make_user, schema_paths):
    _application, report = paid_once
    operator = make_user(roles.SUB_VENUE_OPERATOR)
    from tests.factories import SubVenueFactory

    operator.sub_venues.add(SubVenueFactory())
    for user in (other_applicant, operator):
        client = token_client(user)
        assert results(client.get("/api/fund-use-reports/")) == []
        assert client.get(report_url(report)).status_code == 404
        for path in schema_paths("/api/fund-use-reports/{id}/"):
            response = client.post(path.replace("{id}", str(report.pk)), {}, format="json")
            assert response.status_code == 404, (user, path)
    assert FundUseReport.objects.get(pk=report.pk).state == R.DRAFT


@pytest.fixture
def schema_paths(db):
    from rest_framework.test import APIClient

    paths = APIClient().get("/api/schema/", {"format": "json"}).json()["paths"]
    return lambda prefix: [p for p, ops in paths.items() if p.startswith(prefix) and p != prefix and "post" in ops]


def test_auditors_read_every_report_and_write_none(paid_once, auditor):
    _application, report = paid_once
    client = token_client(auditor)
    assert [r["id"] for r in results(client.get("/api/fund-use-reports/"))] == [report.pk]
    assert post(client, report_url(report, "accept/")).status_code == 403


# ------------------------------------------------------------------ input

BAD_AMOUNTS = [("abc", "is not an amount"), ("-5", "more than zero"), ("1.001", "at most two decimals")]


@pytest.mark.parametrize(("amount", "message"), BAD_AMOUNTS)
def test_a_bad_amount_is_refused_beside_its_field(paid_once, people, amount, message):
    application, report = paid_once
    owner = token_client(application.entity.owner)
    spent = post(owner, report_url(report, "save/"), {"spent": amount})
    assert spent.status_code == 400 and message in spent.json()["spent"][0]
    line = post(owner, report_url(report, "save/"), {"spent": "10", "lines": [{"category": "rent", "amount": amount}]})
    assert line.status_code == 400 and message in line.json()["lines"]["0"]["amount"][0]
    finance = finance_session(people)
    for tail, body in (
        ("disburse/", {"amount": amount, "paid_on": str(TODAY()), "reference": "X"}),
        ("open-recovery/", {"amount": amount, "reason": "misuse", "explanation": "x"}),
        ("revise-amount/", {"amount": amount, "comment": "x"}),
    ):
        response = post(finance, app_url(application, tail), body)
        assert response.status_code == 400 and message in response.json()["amount"][0], tail
    assert FundUseReport.objects.get(pk=report.pk).spent == D("0.00")
    assert not RecoveryOrder.objects.exists()


def test_lines_that_do_not_add_up_are_refused_with_the_services_reason(paid_once):
    application, report = paid_once
    owner = token_client(application.entity.owner)
    response = post(
        owner, report_url(report, "save/"), {"spent": "60000", "lines": [{"category": "rent", "amount": "50000"}]}
    )
    assert response.status_code == 400
    assert response.json() == {
        "detail": "The expense lines add up to 50,000.00 yuan, not the 60,000.00 yuan reported as spent."
    }
    unknown = post(owner, report_url(report, "save/"), {"spent": "1", "lines": [{"category": "travel", "amount": "1"}]})
    assert unknown.status_code == 400 and "category" in unknown.json()["lines"]["0"]


def test_detaching_a_document_that_is_not_attached_is_a_field_error(paid_once):
    application, report = paid_once
    response = post(token_client(application.entity.owner), report_url(report, "detach-document/"), {"document": 999})
    assert response.status_code == 400 and "document" in response.json()


# ------------------------------------------------------------------ filters


def test_reports_filter_by_state_application_overdue_and_due_date(application_in, people):
    late_app = application_in(S.DISBURSEMENT)
    late = late_app.fund_use_reports.get()
    FundUseReport.objects.filter(pk=late.pk).update(due_on=TODAY() - datetime.timedelta(days=1))
    filed_app = application_in(S.DISBURSEMENT)
    filed = file_report(filed_app, people)
    FundUseReport.objects.filter(pk=filed.pk).update(due_on=TODAY() - datetime.timedelta(days=5))
    on_time = application_in(S.DISBURSEMENT).fund_use_reports.get()
    client = token_client(people["finance"])

    def ids(**params):
        return [r["id"] for r in results(client.get("/api/fund-use-reports/", params))]

    assert ids(overdue="true") == [late.pk]  # a submitted report waits on staff: not overdue
    assert sorted(ids(overdue="false")) == sorted([filed.pk, on_time.pk])
    assert ids(state="submitted") == [filed.pk]
    assert sorted(ids(state=["draft", "submitted"])) == sorted([late.pk, filed.pk, on_time.pk])
    assert ids(application=late_app.pk) == [late.pk]
    yesterday = TODAY() - datetime.timedelta(days=1)
    assert ids(due_on_after=str(yesterday), due_on_before=str(yesterday)) == [late.pk]
    assert ids(due_on_after=str(TODAY())) == [on_time.pk]
    assert results(client.get("/api/fund-use-reports/", {"overdue": "true"}))[0]["overdue"] is True
    assert client.get("/api/fund-use-reports/", {"state": "nonsense"}).status_code == 400
    assert client.get("/api/fund-use-reports/", {"due_on_after": "0001-01-01"}).status_code == 400


# ------------------------------------------------------------------ the final acceptance, recovery, revision


def test_the_final_acceptance_is_recorded_once_the_reports_are_in(paid_once, people):
    application, _report = paid_once
    approver = token_client(people["approver"])
    body = {"result": "passed", "reasons": "里程碑均已完成。", "accepted_on": str(TODAY())}
    too_early = post(approver, app_url(application, "record-acceptance/"), body)
    assert too_early.status_code == 409
    assert "Instalment 2 has not been released yet" in too_early.json()["detail"]
    file_report(application, people, accept=True)
    post(finance_session(people), app_url(application, "disburse/"), {"paid_on": str(TODAY()), "reference": "P2"})
    file_report(Application.objects.get(pk=application.pk), people, accept=True)
    assert post(approver, app_url(application, "record-acceptance/"), {**body, "reasons": ""}).status_code == 400
    recorded = post(approver, app_url(application, "record-acceptance/"), body)
    assert recorded.status_code == 201, recorded.content
    assert (recorded.json()["result"], recorded.json()["recorded_by"]) == ("passed", people["approver"].email)
    listed = results(token_client(application.entity.owner).get("/api/final-acceptances/"))
    assert [(a["application"], a["result"], a["recorded_by"]) for a in listed] == [(application.pk, "passed", None)]
    last = post(
        finance_session(people), app_url(application, "disburse/"), {"paid_on": str(TODAY()), "reference": "P3"}
    )
    assert last.status_code == 201 and Application.objects.get(pk=application.pk).state == S.CLOSED


def test_a_recovery_is_opened_and_repaid_through_the_api_into_the_budget(paid_once, people, budget):
    application, _report = paid_once
    finance = finance_session(people)
    too_much = post(
        finance,
        app_url(application, "open-recovery/"),
        {"reason": "misuse", "explanation": "挪用", "amount": "100000.01"},
    )
    assert too_much.status_code == 400
    assert too_much.json() == {"detail": "At most the 100,000.00 yuan disbursed can be recovered."}
    opened = post(
        finance, app_url(application, "open-recovery/"), {"reason": "misuse", "explanation": "挪用", "amount": "80,000"}
    )
    assert opened.status_code == 201, opened.content
    assert (opened.json()["amount"], opened.json()["outstanding"], opened.json()["state"]) == (
        "80000.00",
        "80000.00",
        "open",
    )
    paid = post(
        finance, app_url(application, "repay/"), {"amount": "30000", "paid_on": str(TODAY()), "reference": "R1"}
    )
    assert paid.status_code == 201, paid.content
    over = post(
        finance, app_url(application, "repay/"), {"amount": "50000.01", "paid_on": str(TODAY()), "reference": "R2"}
    )
    assert over.status_code == 400
    assert over.json() == {"detail": "Only 50,000.00 yuan of the recovery order is outstanding."}
    post(finance, app_url(application, "repay/"), {"amount": "50000", "paid_on": str(TODAY()), "reference": "R2"})
    order = results(token_client(application.entity.owner).get("/api/recovery-orders/"))[0]
    assert (order["state"], order["recovered"], order["opened_by"]) == ("completed", "80000.00", None)
    assert [(r["amount"], r["reference"], r["recorded_by"]) for r in order["repayments"]] == [
        ("30000.00", "R1", None),
        ("50000.00", "R2", None),
    ]
    assert Application.objects.get(pk=application.pk).state == S.CLOSED
    budget.refresh_from_db()
    assert (budget.reserved, budget.recovered) == (D("20000.00"), D("80000.00"))


@pytest.mark.parametrize(
    ("tail", "body"),
    [
        ("open-recovery/", {"reason": "fraud", "explanation": "x", "amount": "1000"}),
        ("repay/", {"amount": "1000", "paid_on": "2026-11-30", "reference": "R"}),
        ("revise-amount/", {"amount": "400000", "comment": "x"}),
        ("disburse/", {"paid_on": "2026-11-30", "reference": "R"}),
    ],
)
def test_money_moves_over_a_session_only_after_a_reauthentication(paid_once, people, tail, body):
    application, _report = paid_once
    refused = post(session_client(people["finance"]), app_url(application, tail), body)
    assert refused.status_code == 403
    assert "re-authentication" in refused.json()["detail"]
    assert not RecoveryOrder.objects.exists()


def test_the_approved_amount_is_revised_down_at_registration(application_in, people, budget):
    application = application_in(S.REGISTRATION)
    client = token_client(people["approver"])
    assert post(client, app_url(application, "revise-amount/"), {"amount": "400000"}).json()["comment"]
    up = post(client, app_url(application, "revise-amount/"), {"amount": "600000", "comment": "x"})
    assert up.status_code == 400
    assert up.json() == {"detail": "The revised amount must be less than the 500,000.00 yuan approved."}
    revised = post(client, app_url(application, "revise-amount/"), {"amount": "400,000", "comment": "实缴资本限额"})
    assert revised.status_code == 200, revised.content
    assert revised.json()["approved_amount"] == "400000.00"
    assert SubVenueBudget.objects.get(pk=budget.pk).reserved == D("400000.00")


# ------------------------------------------------------------------ queries per page


def _grants(application_in, people, count):
    for index in range(count):
        application = application_in(S.CLOSED if index % 2 else S.DISBURSEMENT)
        if application.state == S.DISBURSEMENT:
            file_report(application, people)
            post_award.recovery_open(
                application=application, by=people["finance"], reason="misuse", explanation="x", amount="1000"
            )
            post_award.recovery_repay(
                application=application, by=people["finance"], amount="400", paid_on=TODAY(), reference="R"
            )


@pytest.mark.parametrize("who", ["applicant", "finance", "auditor"])
def test_the_lists_run_the_same_number_of_queries_whatever_the_rows(
    who, application_in, people, auditor, media_root, django_assert_max_num_queries
):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    users = {"applicant": people["applicant"], "finance": people["finance"], "auditor": auditor}
    lists = ["funding-agreements", "fund-use-reports", "final-acceptances", "recovery-orders", "disbursements"]
    _grants(application_in, people, 2)
    counts = {}
    for prefix in lists:
        with CaptureQueriesContext(connection) as queries:
            assert token_client(users[who]).get(f"/api/{prefix}/").json()["count"] >= 1, prefix
        counts[prefix] = len(queries)
    _grants(application_in, people, 4)
    for prefix in lists:
        client = token_client(users[who])
        with django_assert_max_num_queries(counts[prefix]):
            assert client.get(f"/api/{prefix}/").json()["count"] >= 3, prefix
