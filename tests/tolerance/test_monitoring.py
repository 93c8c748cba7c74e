"""Quarterly company reports (tolerance/monitoring.py): which quarters are due and when, reminders once each,
late flags, the startup's own pages, the portfolio managers' queue and decisions, the API."""

import datetime
from decimal import Decimal

import pytest
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone

from tests.factories import InvestmentFactory, StartupFactory
from tolerance import monitoring, monitoring_selectors
from tolerance.models import CompanyReport, CompanyReportEvent, Investment
from valley.core import calendar, roles
from valley.messaging.mail import MAIL_TASK
from valley.models import AuditEntry, CalendarDay, OutboxMessage, ReminderSent

D = datetime.date
R = CompanyReport.State
FIGURES = {
    "revenue": "1200000.50",
    "employees": "25",
    "rd_spend": "300000",
    "patents_filed": "3",
    "patents_granted": "5",  # more granted than filed in a quarter is fine: filed earlier
    "follow_on_funding": "0",
}


@pytest.fixture
def calendar_2026(db):
    CalendarDay.objects.bulk_create(calendar.calendar_2026_days())


@pytest.fixture
def startup(applicant):
    entity = StartupFactory(owner=applicant, contact_email="startup@example.cn")
    InvestmentFactory(startup=entity, invested_on=D(2026, 2, 10))
    return entity


@pytest.fixture
def manager(make_user):
    return make_user(roles.PORTFOLIO_MANAGER, email="portfolio@example.cn")


def _open(startup, today=D(2026, 12, 3)):
    monitoring.company_reports_open_due(today=today, entity_ids=[startup.pk])
    return {(r.year, r.quarter): r for r in CompanyReport.objects.filter(entity=startup)}


# ---------------------------------------------------------------------------- due quarters and dates


def test_a_quarter_ending_before_national_day_is_due_30_working_days_after_it(calendar_2026):
    # 30 Sep 2026 (Wed); the count starts on the first working day after it: 8 Oct (1–7 Oct are holidays),
    # with the make-up Saturday 10 Oct counted. Without the holidays it would be 11 Nov.
    assert monitoring.report_due_on(2026, 3) == D(2026, 11, 17)
    assert monitoring.report_due_on(2026, 2) == D(2026, 8, 11)  # 30 Jun, Tue: an ordinary six weeks


def test_quarters_open_from_the_first_investment_on_once_however_often(calendar_2026, startup):
    reports = _open(startup)
    assert sorted(reports) == [(2026, 1), (2026, 2), (2026, 3)]  # Q4 has not ended on 3 Dec
    assert reports[2026, 3].due_on == D(2026, 11, 17) and reports[2026, 3].state == R.DRAFT
    assert monitoring.company_reports_open_due(today=D(2026, 12, 3)) == []
    assert CompanyReport.objects.count() == 3
    assert CompanyReportEvent.objects.filter(action="tolerance.company_report.opened").count() == 3
    assert AuditEntry.objects.filter(action="tolerance.company_report.opened").count() == 3


def test_no_new_quarter_opens_once_no_investment_is_active(calendar_2026, startup):
    _open(startup, today=D(2026, 7, 1))
    Investment.objects.filter(startup=startup).update(
        state=Investment.State.FAILED, failure_kind="liquidated", failed_on=D(2026, 8, 1)
    )
    assert monitoring.company_reports_open_due(today=D(2026, 12, 3)) == []
    assert CompanyReport.objects.filter(entity=startup).count() == 2  # what was opened stays


def test_the_database_refuses_a_negative_figure_a_fifth_quarter_and_a_second_row(db, startup):
    base = {"entity": startup, "year": 2026, "due_on": D(2026, 5, 1)}
    for values in ({"quarter": 5}, {"quarter": 1, "revenue": Decimal("-1")}, {"quarter": 1, "state": R.SUBMITTED}):
        with pytest.raises(IntegrityError), transaction.atomic():
            CompanyReport.objects.create(**{**base, **values})
    CompanyReport.objects.create(**base, quarter=1)
    with pytest.raises(IntegrityError), transaction.atomic():
        CompanyReport.objects.create(**base, quarter=1)


# ---------------------------------------------------------------------------- reminders


def _reminders(today):
    return monitoring.company_report_reminders_send(today=today)


def test_each_reminder_goes_out_once_however_often_the_task_runs(calendar_2026, startup, manager):
    _open(startup, today=D(2026, 10, 1))  # Q1–Q3 2026; Q3 due 17 Nov
    q3 = CompanyReport.objects.get(entity=startup, year=2026, quarter=3)
    for report in CompanyReport.objects.exclude(pk=q3.pk):  # the older ones are filed
        monitoring.company_report_save(report=report, by=startup.owner, figures=FIGURES)
        monitoring.company_report_submit(report=report, by=startup.owner)
    mails = OutboxMessage.objects.filter(task=MAIL_TASK)
    first = calendar.subtract_working_days(q3.due_on, 14)
    assert _reminders(first - datetime.timedelta(days=1)) == []
    assert _reminders(first) == [(q3.pk, "before_14")]
    assert _reminders(first) == [] and _reminders(first) == []
    assert _reminders(q3.due_on) == [(q3.pk, "due")]
    assert _reminders(q3.due_on + datetime.timedelta(days=7)) == [(q3.pk, "overdue_1")]
    assert _reminders(q3.due_on + datetime.timedelta(days=8)) == []
    kinds = set(ReminderSent.objects.filter(subject_id=str(q3.pk)).values_list("kind", flat=True))
    assert kinds == {"before_14", "due", "overdue_1"}
    # The startup is told each time; the portfolio managers with the first overdue reminder.
    recipients = [m.kwargs["recipients"] for m in mails.order_by("pk")]
    assert recipients.count(["portfolio@example.cn"]) == 1
    assert recipients.count(["applicant-a@example.cn", "startup@example.cn"]) == 3


def test_a_submitted_report_gets_no_reminder(calendar_2026, startup):
    reports = _open(startup, today=D(2026, 10, 1))
    for report in reports.values():
        monitoring.company_report_save(report=report, by=startup.owner, figures=FIGURES)
        monitoring.company_report_submit(report=report, by=startup.owner)
    assert _reminders(D(2026, 11, 17)) == []


# ---------------------------------------------------------------------------- late flags


def test_late_flags_count_working_days_after_the_due_date(calendar_2026, startup):
    reports = _open(startup)
    q2, q3 = reports[2026, 2], reports[2026, 3]  # due 11 Aug and 17 Nov
    monitoring.company_report_save(report=q2, by=startup.owner, figures=FIGURES)
    monitoring.company_report_submit(
        report=q2, by=None, submitted_at=timezone.make_aware(datetime.datetime(2026, 8, 14, 10))
    )
    marked = {r.pk: r for r in monitoring_selectors.reports_of_entity(entity=startup, today=D(2026, 11, 20))}
    assert (marked[q2.pk].was_late, marked[q2.pk].is_overdue, marked[q2.pk].days_late) == (True, False, 3)
    assert (marked[q3.pk].was_late, marked[q3.pk].is_overdue, marked[q3.pk].days_late) == (False, True, 3)


# ---------------------------------------------------------------------------- the startup's own pages


def test_the_applicant_files_and_submits_from_their_page(client, calendar_2026, startup, applicant):
    client.force_login(applicant)
    detail = client.get(reverse("teams:entity_detail", args=[startup.pk]))
    assert reverse("tolerance:my_reports", args=[startup.pk]) in detail.content.decode()
    page = client.get(reverse("tolerance:my_reports", args=[startup.pk]))
    assert page.status_code == 200
    report = CompanyReport.objects.get(entity=startup, year=2026, quarter=1)
    url = reverse("tolerance:my_report", args=[startup.pk, report.pk])
    response = client.post(url, {**FIGURES, "action": "save"})
    assert response.status_code == 302
    report.refresh_from_db()
    assert report.state == R.DRAFT and report.revenue == Decimal("1200000.50") and report.employees == 25
    response = client.post(url, {**FIGURES, "employees": "26", "action": "submit"})
    assert response.status_code == 302
    report.refresh_from_db()
    assert report.state == R.SUBMITTED and report.employees == 26 and report.submitted_by == applicant
    assert list(report.events.values_list("action", flat=True)) == [
        "tolerance.company_report.opened",
        "tolerance.company_report.submit",
    ]
    assert AuditEntry.objects.filter(action="tolerance.company_report.changed", object_id=str(report.pk)).count() == 2
    # Submitted: the page shows the figures, and a late POST changes nothing.
    assert client.post(url, {**FIGURES, "employees": "99", "action": "save"}).status_code == 302
    report.refresh_from_db()
    assert report.employees == 26


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("revenue", "-100", "An amount cannot be negative."),
        ("employees", "twelve", "Write a whole number, e.g. 12."),
        ("rd_spend", "12万", "Write an amount in yuan, e.g. 120000 or 120000.50."),
        ("follow_on_funding", "", "Enter this figure (0 if there is nothing to report)."),
    ],
)
def test_bad_input_gets_a_message_next_to_the_field(client, calendar_2026, startup, applicant, field, value, message):
    report = _open(startup)[2026, 1]
    client.force_login(applicant)
    response = client.post(
        reverse("tolerance:my_report", args=[startup.pk, report.pk]),
        {**FIGURES, field: value, "action": "submit"},
        HTTP_ACCEPT_LANGUAGE="en",
    )
    assert response.status_code == 400
    assert response.context["form"].errors[field] == [message]
    assert f'id="id_{field}_error">{message}' in response.content.decode()
    report.refresh_from_db()
    assert report.state == R.DRAFT and report.revenue is None


def test_another_entitys_member_gets_404(client, calendar_2026, startup, other_applicant, provincial_staff):
    report = _open(startup)[2026, 1]
    for user in (other_applicant, provincial_staff):
        client.force_login(user)
        assert client.get(reverse("tolerance:my_reports", args=[startup.pk])).status_code == 404
        url = reverse("tolerance:my_report", args=[startup.pk, report.pk])
        assert client.get(url).status_code == 404
        assert client.post(url, {**FIGURES, "action": "submit"}).status_code == 404
    report.refresh_from_db()
    assert report.state == R.DRAFT


def test_the_service_refuses_anyone_but_the_owner(calendar_2026, startup, other_applicant):
    report = _open(startup)[2026, 1]
    with pytest.raises(monitoring.TransitionForbidden):
        monitoring.company_report_save(report=report, by=other_applicant, figures=FIGURES)
    monitoring.company_report_save(report=report, by=startup.owner, figures=FIGURES)
    with pytest.raises(monitoring.TransitionForbidden):
        monitoring.company_report_submit(report=report, by=other_applicant)


# ---------------------------------------------------------------------------- portfolio managers


def test_a_manager_returns_then_accepts_and_the_startup_hears_of_it(client, calendar_2026, startup, manager):
    report = _open(startup)[2026, 1]
    monitoring.company_report_save(report=report, by=startup.owner, figures=FIGURES)
    monitoring.company_report_submit(report=report, by=startup.owner)
    client.force_login(manager)
    decide = reverse("tolerance:report_decide", args=[report.pk])
    client.post(decide, {"decision": "return", "comment": ""})
    report.refresh_from_db()
    assert report.state == R.SUBMITTED  # a return needs a comment
    client.post(decide, {"decision": "return", "comment": "研发投入请附明细。"})
    report.refresh_from_db()
    assert report.state == R.RETURNED
    bodies = [m.kwargs["body"] for m in OutboxMessage.objects.filter(task=MAIL_TASK)]
    assert any("研发投入请附明细" in body and "returned for changes" in body for body in bodies)
    monitoring.company_report_submit(report=report, by=startup.owner)
    client.post(decide, {"decision": "accept"})
    report.refresh_from_db()
    assert report.state == R.ACCEPTED and report.decided_by == manager


def test_an_auditor_reads_the_queue_but_cannot_decide(client, calendar_2026, startup, auditor):
    report = _open(startup)[2026, 1]
    monitoring.company_report_save(report=report, by=startup.owner, figures=FIGURES)
    monitoring.company_report_submit(report=report, by=startup.owner)
    client.force_login(auditor)
    assert client.get(reverse("tolerance:report_queue")).status_code == 200
    response = client.post(reverse("tolerance:report_decide", args=[report.pk]), {"decision": "accept"})
    assert response.status_code == 403


def test_the_queue_shows_overdue_submitted_and_days_late_in_constant_queries(
    client, calendar_2026, manager, django_assert_max_num_queries
):
    client.force_login(manager)
    for _ in range(6):
        entity = StartupFactory(owner=None)
        InvestmentFactory(startup=entity, invested_on=D(2025, 1, 10))
    monitoring.company_reports_open_due()
    first = CompanyReport.objects.order_by("pk").first()
    CompanyReport.objects.filter(pk=first.pk).update(
        state=R.SUBMITTED,
        submitted_at=timezone.now(),
        **dict.fromkeys(("employees", "patents_filed", "patents_granted"), 1),
        revenue=1,
        rd_spend=1,
        follow_on_funding=0,
    )
    with django_assert_max_num_queries(15):  # with the list of every report below: its count, page and calendar
        response = client.get(reverse("tolerance:report_queue"))
    queue = response.context["queue"]
    assert queue.counts["submitted"] == 1 and queue.counts["overdue"] == CompanyReport.objects.count() - 1
    assert all(report.days_late > 0 for report in queue.overdue)
    assert f'data-report="{first.pk}"' in response.content.decode()


def test_the_dashboard_shows_each_company_and_links_the_evaluation(client, calendar_2026, startup, manager):
    _open(startup)
    fund = startup.investments.get().fund
    client.force_login(manager)
    page = client.get(reverse("tolerance:fund_dashboard", args=[fund.pk])).content.decode()
    assert f'data-company="{startup.pk}" data-overdue="3"' in page
    assert reverse("tolerance:company_history", args=[startup.pk]) in page
    assert reverse("tolerance:fund_evaluation", args=[fund.pk, timezone.localdate().year]) in page


# ---------------------------------------------------------------------------- API


def test_api_owners_file_theirs_and_see_nothing_else(client, calendar_2026, startup, applicant, other_applicant):
    report = _open(startup)[2026, 1]
    client.force_login(other_applicant)
    assert client.get("/api/company-reports/").json()["results"] == []
    assert client.post(f"/api/company-reports/{report.pk}/save/", FIGURES).status_code == 404
    client.force_login(applicant)
    listed = client.get("/api/company-reports/?year=2026&quarter=1").json()["results"]
    assert [row["id"] for row in listed] == [report.pk]
    bad = client.post(f"/api/company-reports/{report.pk}/save/", {**FIGURES, "revenue": "-5"})
    assert bad.status_code == 400 and "revenue" in bad.json()
    saved = client.post(f"/api/company-reports/{report.pk}/save/", FIGURES)
    assert saved.status_code == 200 and saved.json()["revenue"] == "1200000.50"
    submitted = client.post(f"/api/company-reports/{report.pk}/submit/", {})
    assert submitted.status_code == 200 and submitted.json()["state"] == R.SUBMITTED
    assert client.post(f"/api/company-reports/{report.pk}/save/", FIGURES).status_code == 409


@pytest.mark.django_db(transaction=True)  # the export streams from COPY on a connection of its own
def test_the_csv_export_lists_the_reports_for_auditors(client, calendar_2026, startup, auditor):
    _open(startup)
    client.force_login(auditor)
    response = client.get(reverse("export_download", args=["company-reports"]) + "?header=machine")
    body = b"".join(response.streaming_content).decode("utf-8-sig")
    assert body.splitlines()[0].startswith("id,startup_id,startup,year,quarter,state,due_on")
    assert len(body.splitlines()) == 4
