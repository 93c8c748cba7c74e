"""The auditors' CSV files of the grant after the money: agreements, instalments planned and paid, fund-use
reports line by line, recoveries repayment by repayment (valley.exports.engine)."""

import csv
import datetime
import io
from decimal import Decimal as D

import pytest
from django.urls import reverse
from django.utils import timezone

from funding import post_award
from funding.demo import file_report
from funding.models import Application, FundUseReport
from valley.core import roles

S = Application.State
# On PostgreSQL the export streams from COPY on a connection of its own, which sees only committed rows.
pytestmark = pytest.mark.django_db(transaction=True)


def rows(client, name, **params):
    language = params.pop("language", "en")
    response = client.get(reverse("export_download", args=[name]), params, HTTP_ACCEPT_LANGUAGE=language)
    assert response.status_code == 200, response.content[:500]
    text = b"".join(response.streaming_content).decode("utf-8-sig")
    return list(csv.DictReader(io.StringIO(text)))


@pytest.fixture
def auditor_client(client, auditor):
    client.force_login(auditor)
    return client


@pytest.fixture
def grants(application_in, people, media_root):
    """A closed grant (three instalments, two reports accepted, the acceptance passed) and one being recovered."""
    closed = application_in(S.CLOSED)
    recovering = application_in(S.DISBURSEMENT)
    post_award.recovery_open(
        application=recovering, by=people["finance"], reason="misuse", explanation="挪用", amount=D("60000")
    )
    for amount, reference in ((D("10000"), "R-1"), (D("20000"), "R-2")):
        post_award.recovery_repay(
            application=recovering,
            by=people["finance"],
            amount=amount,
            paid_on=timezone.localdate(),
            reference=reference,
        )
    return closed, recovering


def test_instalments_list_the_plan_with_what_was_paid_and_the_report_that_released_it(auditor_client, grants):
    closed, recovering = grants
    listed = rows(auditor_client, "instalments", header="machine")
    mine = [r for r in listed if r["application_id"] == str(closed.pk)]
    reports = {r.instalment.number: r.pk for r in closed.fund_use_reports.select_related("instalment")}
    assert [
        (r["number"], r["share"], r["planned_amount"], r["paid_amount"], r["released_by_report"]) for r in mine
    ] == [
        ("1", "20.00", "100000.00", "100000.00", ""),
        ("2", "50.00", "250000.00", "250000.00", str(reports[1])),
        ("3", "30.00", "150000.00", "150000.00", str(reports[2])),
    ]
    assert mine[1]["report_accepted_at"].endswith("+08:00") and mine[1]["report_accepted_by"] == "finance@example.cn"
    unpaid = [r for r in listed if r["application_id"] == str(recovering.pk)]
    assert [(r["number"], r["paid_on"] != "", r["disbursement_id"] != "") for r in unpaid] == [
        ("1", True, True),
        ("2", False, False),
        ("3", False, False),
    ]


def test_reports_have_one_row_per_expense_line_with_the_report_repeated(auditor_client, grants):
    closed, recovering = grants
    listed = rows(auditor_client, "fund-use-reports")
    first = closed.fund_use_reports.order_by("pk").first()
    lines = [r for r in listed if r["fund-use report"] == str(first.pk)]
    assert [(r["category"], r["amount (yuan)"]) for r in lines] == [
        ("equipment", "60000.00"),
        ("testing and pilot runs", "40000.00"),
    ]
    assert {(r["state"], r["spent so far (yuan)"], r["on instalment"]) for r in lines} == {
        ("accepted", "100000.00", "1")
    }
    # A report still to be filed has no lines: one row, its line columns empty.
    draft = [r for r in listed if r["application"] == str(recovering.pk)]
    assert [(r["state"], r["expense line"], r["category"]) for r in draft] == [("to be filed", "", "")]


def test_reports_filter_as_the_api_does(auditor_client, grants):
    _closed, recovering = grants
    report = recovering.fund_use_reports.get()
    FundUseReport.objects.filter(pk=report.pk).update(due_on=timezone.localdate() - datetime.timedelta(days=1))
    assert [r["id"] for r in rows(auditor_client, "fund-use-reports", overdue="true", header="machine")] == [
        str(report.pk)
    ]
    assert {r["state"] for r in rows(auditor_client, "fund-use-reports", overdue="false", header="machine")} == {
        "accepted"
    }


def test_recoveries_have_one_row_per_repayment(auditor_client, grants):
    _closed, recovering = grants
    listed = rows(auditor_client, "recoveries", header="machine")
    assert [(r["application_id"], r["amount"], r["repayment_amount"], r["reference"]) for r in listed] == [
        (str(recovering.pk), "60000.00", "10000.00", "R-1"),
        (str(recovering.pk), "60000.00", "20000.00", "R-2"),
    ]
    assert {(r["state"], r["recovered"], r["reason"]) for r in listed} == {("open", "30000.00", "misuse of the funds")}


def test_agreements_carry_the_final_acceptance(auditor_client, grants):
    closed, recovering = grants
    listed = {r["application_id"]: r for r in rows(auditor_client, "funding-agreements", header="machine")}
    assert (listed[str(closed.pk)]["acceptance_result"], listed[str(closed.pk)]["amount"]) == ("passed", "500000.00")
    assert listed[str(closed.pk)]["accepted_on"] == str(timezone.localdate())
    assert (listed[str(recovering.pk)]["acceptance_result"], listed[str(recovering.pk)]["application_state"]) == (
        "",
        "recovery",
    )


def test_the_headers_follow_the_language(auditor_client, grants):
    response = auditor_client.get(reverse("export_download", args=["instalments"]), HTTP_ACCEPT_LANGUAGE="zh-hans")
    header = b"".join(response.streaming_content).decode("utf-8-sig").splitlines()[0]
    assert header.startswith("申请,创新主体（中文）,")


def test_an_operator_exports_only_their_sub_venues_grants(client, grants, make_user):
    from tests.factories import SubVenueFactory

    operator = make_user(roles.SUB_VENUE_OPERATOR)
    operator.sub_venues.add(SubVenueFactory())
    client.force_login(operator)
    for name in ("funding-agreements", "instalments", "fund-use-reports", "recoveries"):
        assert rows(client, name) == [], name
    operator.sub_venues.add(grants[0].sub_venue)
    client.force_login(operator)
    assert len(rows(client, "recoveries")) == 2


def test_applicants_cannot_download_them(client, grants):
    client.force_login(grants[0].entity.owner)
    for name in ("funding-agreements", "instalments", "fund-use-reports", "recoveries"):
        assert client.get(reverse("export_download", args=[name])).status_code == 404, name


@pytest.mark.postgres
def test_the_copy_path_writes_the_same_files(grants, auditor, people, application_in):
    from valley.exports import engine as csv_export
    from valley.exports import pgcopy as csv_copy

    file_report(application_in(S.DISBURSEMENT), people)  # a report submitted, its lines described
    for name in ("funding-agreements", "instalments", "fund-use-reports", "recoveries"):
        export = csv_export.catalogue()[name]
        assert csv_copy.supported(export), name
        queryset = export.queryset(auditor)
        python_file = "".join(csv_export.stream(export, queryset)).encode()
        assert b"".join(csv_export._copy_stream(export, queryset, machine_header=False)) == python_file, name
