"""The grant after the money in the Django admin: read-only records, and finance officers' decisions on fund-use
reports taken through funding.post_award, with a comment, refusals shown as messages."""

import pytest
from django.contrib.messages import get_messages
from django.urls import reverse

from funding.demo import file_report
from funding.models import Application, FundUseReport
from valley.core import roles

pytestmark = pytest.mark.django_db

S = Application.State
R = FundUseReport.State
CHANGELIST = "admin:funding_fundusereport_changelist"


@pytest.fixture
def submitted(application_in, people, media_root):
    application = application_in(S.DISBURSEMENT)
    return file_report(application, people)


def act(client, action, reports, **form):
    return client.post(
        reverse(CHANGELIST),
        {"action": f"do_report_{action}", "_selected_action": [r.pk for r in reports], "apply": "1", **form},
        follow=True,
        HTTP_ACCEPT_LANGUAGE="en",
    )


def said(response) -> list[str]:
    return [str(message) for message in get_messages(response.wsgi_request)]


def test_finance_accepts_a_submitted_report_with_a_comment(client, submitted, people):
    client.force_login(people["finance"])
    confirm = client.post(reverse(CHANGELIST), {"action": "do_report_accept", "_selected_action": [submitted.pk]})
    page = confirm.content.decode()
    assert 'name="comment"' in page and 'name="internal_note"' not in page
    response = act(client, "accept", [submitted], comment="已核实发票。")
    assert said(response) == ["1 fund-use report(s): accept the report."]
    submitted.refresh_from_db()
    assert (submitted.state, submitted.decided_by) == (R.ACCEPTED, people["finance"])
    assert submitted.events.last().comment == "已核实发票。"


def test_returning_needs_a_comment_and_a_refusal_is_a_message(client, submitted, application_in, people):
    draft = application_in(S.DISBURSEMENT).fund_use_reports.get()
    client.force_login(people["finance"])
    response = act(client, "return", [submitted], comment=" ")
    assert said(response) == [f"#{submitted.pk}: Write a comment for the applicant: it says what to change."]
    assert FundUseReport.objects.get(pk=submitted.pk).state == R.SUBMITTED
    response = act(client, "return", [submitted, draft], comment="请补充合同。")
    assert said(response) == [
        f"#{draft.pk}: “return the report for changes” is not possible while the fund-use report is “to be filed”.",
        "1 fund-use report(s): return the report for changes.",
    ]
    assert FundUseReport.objects.get(pk=submitted.pk).state == R.RETURNED
    assert FundUseReport.objects.get(pk=draft.pk).state == R.DRAFT


def test_only_finance_officers_get_the_report_actions(client, submitted, people, auditor):
    for user, offered in ((people["finance"], True), (people["reviewer"], False), (auditor, False)):
        user.is_staff = True
        user.save()
        client.force_login(user)
        page = client.get(reverse(CHANGELIST)).content.decode()
        assert (f">{submitted.pk}<" in page, "do_report_accept" in page) == (True, offered), user
    response = act(client, "accept", [submitted])  # the auditor, posting the action anyway
    assert FundUseReport.objects.get(pk=submitted.pk).state == R.SUBMITTED
    assert response.status_code == 200


def test_the_report_page_shows_its_lines_progress_and_history_and_changes_nothing(client, submitted, people):
    client.force_login(people["finance"])
    url = reverse("admin:funding_fundusereport_change", args=[submitted.pk])
    page = client.get(url, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "中试设备 pilot equipment" in page and "submit the report" in page  # the step in words
    assert "funding.fund_use_report.submit" not in page  # never its code
    assert client.post(url, {"spent": "1"}).status_code == 403
    assert FundUseReport.objects.get(pk=submitted.pk).spent == submitted.spent


def test_an_operator_of_another_sub_venue_sees_none_of_it(client, application_in, people, make_user, media_root):
    from funding import post_award
    from tests.factories import SubVenueFactory

    application = application_in(S.DISBURSEMENT)
    report = file_report(application, people)
    order = post_award.recovery_open(
        application=application, by=people["finance"], reason="fraud", explanation="x", amount="1000"
    )
    operator = make_user(roles.SUB_VENUE_OPERATOR)
    operator.sub_venues.add(SubVenueFactory())
    client.force_login(operator)
    for model, obj in (("fundusereport", report), ("recoveryorder", order), ("disbursement", report.instalment)):
        listing = client.get(reverse(f"admin:funding_{model}_changelist")).content.decode()
        assert f"/{obj.pk}/change/" not in listing, model
        assert client.get(reverse(f"admin:funding_{model}_change", args=[obj.pk]))["Location"] == reverse(
            "admin:index"
        ), model
    operator.sub_venues.add(application.sub_venue)
    client.force_login(operator)
    assert client.get(reverse("admin:funding_recoveryorder_change", args=[order.pk])).status_code == 200


def test_recovery_and_acceptance_pages_show_repayments_and_results(client, application_in, people, media_root):
    from django.utils import timezone

    from funding import post_award

    closed = application_in(S.CLOSED)
    recovering = application_in(S.DISBURSEMENT)
    order = post_award.recovery_open(
        application=recovering, by=people["finance"], reason="misuse", explanation="挪用", amount="5000"
    )
    post_award.recovery_repay(
        application=recovering, by=people["finance"], amount="1200", paid_on=timezone.localdate(), reference="HK-77"
    )
    client.force_login(people["finance"])
    page = client.get(reverse("admin:funding_recoveryorder_change", args=[order.pk]), HTTP_ACCEPT_LANGUAGE="en")
    assert "HK-77" in page.content.decode()
    listing = client.get(reverse("admin:funding_finalacceptance_changelist"), HTTP_ACCEPT_LANGUAGE="en")
    assert f"#{closed.pk}" in listing.content.decode() and "passed" in listing.content.decode()
    disbursements = client.get(reverse("admin:funding_disbursement_changelist"), HTTP_ACCEPT_LANGUAGE="en")
    report = closed.fund_use_reports.order_by("pk").first()
    assert str(report) in disbursements.content.decode()  # the report that released instalment 2


@pytest.mark.parametrize("model", ["fundusereport", "recoveryorder", "finalacceptance", "disbursement"])
def test_the_lists_run_the_same_number_of_queries_whatever_the_rows(
    client, application_in, people, media_root, model, django_assert_max_num_queries
):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from funding import post_award

    def more(count):
        for _ in range(count):
            application_in(S.CLOSED)
            recovering = application_in(S.DISBURSEMENT)
            post_award.recovery_open(
                application=recovering, by=people["finance"], reason="misuse", explanation="x", amount="100"
            )

    more(1)
    client.force_login(people["finance"])
    url = reverse(f"admin:funding_{model}_changelist")
    with CaptureQueriesContext(connection) as queries:
        assert client.get(url).status_code == 200
    more(3)
    with django_assert_max_num_queries(len(queries)):
        assert client.get(url).status_code == 200
