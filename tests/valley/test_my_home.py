""" "My tasks" (/my/, valley.views.my_home with the task sources of valley.web.worklist): where each role lands
after login, what it shows them, what it hides from them, and that its queries do not grow with the data."""

import datetime
import re

import pytest
from django.contrib.auth.models import Group
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.formats import date_format

from funding import services as funding_services
from funding.models import Application
from teams.models import Residency
from tests.factories import FundFactory, InvestmentFactory, ResidencyFactory, SubVenueFactory
from tolerance.services import compliance_check_run
from valley.core import roles

S = Application.State
TODAY = timezone.localdate()


def home(client, user):
    client.force_login(user)
    response = client.get(reverse("my_home"), HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 200
    return response


def queue(response, key):
    """The queue `key` as the page shows it: its count, its rows' text and links, and its role line."""
    body = response.content.decode()
    match = re.search(rf'<section class="card task-queue" data-queue="{re.escape(key)}".*?</section>', body, re.S)
    assert match, f"no queue {key} on the page"
    html = match.group(0)
    return {
        "count": int(re.search(r"data-count>(\d+)<", html).group(1)),
        "links": re.findall(r'<tr data-item><td><a href="([^"]+)"', html),
        "role": re.search(r"data-role>([^<]*)<", html).group(1) if "data-role>" in html else "",
        "html": html,
    }


def queue_keys(response):
    return re.findall(r'data-queue="([^"]+)"', response.content.decode())


def detail(application):
    return reverse("funding:detail", args=[application.pk])


@pytest.fixture(autouse=True)
def _english():
    with translation.override("en"):
        yield


def test_login_lands_on_my_tasks_and_anonymous_visitors_are_sent_to_log_in(client, settings):
    assert reverse(settings.LOGIN_REDIRECT_URL) == "/my/"
    response = client.get(reverse("my_home"))
    assert response.status_code == 302 and response["Location"].startswith(reverse("login"))


def test_the_nav_links_my_tasks_for_signed_in_users_only(client, applicant):
    assert 'href="/my/"' not in client.get(reverse("home")).content.decode()
    client.force_login(applicant)
    assert 'href="/my/"' in client.get(reverse("home")).content.decode()


def test_a_reviewer_sees_the_review_queues_oldest_first_with_age(client, application_in, people):
    older = application_in(S.SUBMITTED)
    newer = application_in(S.FORMAL_REVIEW)
    expert = application_in(S.EXPERT_REVIEW)
    application_in(S.AWAITING_DECISION)  # the approver's, not the reviewer's
    Application.objects.filter(pk=older.pk).update(submitted_at=timezone.now() - datetime.timedelta(days=10))
    response = home(client, people["reviewer"])
    formal = queue(response, "funding.formal")
    assert formal["count"] == 2
    assert formal["links"] == [detail(older), detail(newer)]
    assert re.search(r"data-age>\d+ / 10<", formal["html"])  # working days / days since it was submitted
    assert queue(response, "funding.expert")["links"] == [detail(expert)]
    assert "funding.decision" not in queue_keys(response)
    assert "Where other roles act" not in response.content.decode()


def test_an_approver_sees_the_decisions_and_the_lead(client, application_in, people):
    waiting = application_in(S.AWAITING_DECISION)
    funding_services.application_claim(application=waiting, by=people["approver"])
    response = home(client, people["approver"])
    decision = queue(response, "funding.decision")
    assert (decision["count"], decision["links"]) == (1, [detail(waiting)])
    assert "approver@example.cn" in decision["html"]
    assert queue(response, "funding.led")["links"] == [detail(waiting)]
    assert queue_keys(response)[:1] == ["funding.decision"]
    assert "funding.formal" not in queue_keys(response)


def test_a_finance_officer_sees_the_disbursements_and_the_reports(client, application_in, people):
    paying = application_in(S.DISBURSEMENT)
    response = home(client, people["finance"])
    assert queue(response, "funding.disbursement")["links"] == [detail(paying)]
    assert queue(response, "funding.reports")["count"] == 0
    assert "Nothing waits here." in queue(response, "funding.reports")["html"]


def test_provincial_staff_see_every_queue_and_who_acts_on_it(client, application_in, provincial_staff):
    application_in(S.SUBMITTED)
    response = home(client, provincial_staff)
    body = response.content.decode()
    overseen = body.split("Where other roles act")[1]
    assert 'data-queue="funding.formal"' in overseen
    assert queue(response, "funding.formal")["role"] == "Reviewer acts"
    # The queues where nothing waits are named in one line, with the role that acts on each.
    assert re.search(r'data-queue-empty="funding.decision">Decision</a> \(Approver\)', overseen)
    assert 'data-queue="funding.decision"' not in body
    assert queue(response, "funding.formal")["count"] == 1
    # What provincial staff do themselves is theirs, not another role's.
    mine = body.split("Waiting for you, oldest first")[1].split("Where other roles act")[0]
    assert 'data-queue="teams.residencies_to_enter"' in mine


def test_an_operator_sees_only_their_sub_venues_residencies(client, make_user):
    here, there = SubVenueFactory(code="xinzhou-test"), SubVenueFactory(code="datong-test")
    mine = ResidencyFactory(sub_venue=here, status=Residency.Status.SELECTED, entered_on=None)
    ResidencyFactory(sub_venue=there, status=Residency.Status.SELECTED, entered_on=None)
    operator = make_user(roles.SUB_VENUE_OPERATOR)
    operator.sub_venues.add(here)
    residencies = queue(home(client, operator), "teams.residencies_to_enter")
    assert residencies["count"] == 1
    assert residencies["links"] == [reverse("teams:entity_detail", args=[mine.entity_id])]


def test_an_operator_does_not_see_another_sub_venues_applications_they_lead(client, application_in, make_user):
    application = application_in(S.SUBMITTED)
    operator = make_user(roles.SUB_VENUE_OPERATOR)
    operator.sub_venues.add(application.sub_venue)
    funding_services.application_claim(application=application, by=operator)
    assert queue(home(client, operator), "funding.led")["links"] == [detail(application)]
    operator.sub_venues.set([SubVenueFactory(code="jincheng-test")])
    assert queue(home(client, operator), "funding.led")["count"] == 0


def test_the_applicant_sees_their_entities_and_applications_not_anothers(
    client, application_in, people, other_applicant, residency_factory
):
    mine = application_in(S.DRAFT)
    theirs = application_in(S.SUBMITTED, owner=other_applicant)
    response = home(client, people["applicant"])
    applications = queue(response, "funding.mine")
    assert applications["links"] == [detail(mine)]
    assert "Attach the documents" in applications["html"]  # a draft with no document: what to do next
    assert detail(theirs) not in response.content.decode()
    entities = queue(response, "teams.mine")
    assert entities["links"] == [reverse("teams:entity_detail", args=[mine.entity_id])]
    assert "entered" in entities["html"]  # where the team stands in the valley, not what kind it is
    assert "funding.formal" not in queue_keys(response)
    # A team without a residency is told it needs one.
    residency_factory(entity__owner=people["applicant"], status=Residency.Status.EXITED, ended_on=TODAY)
    html = queue(home(client, people["applicant"]), "teams.mine")["html"]
    assert "Residency needed" in html and "not resident" in html


def test_the_applicant_sees_the_fund_use_report_due(client, application_in, people):
    paying = application_in(S.DISBURSEMENT)
    report = paying.fund_use_reports.get()
    response = home(client, people["applicant"])
    reports = queue(response, "funding.my_reports")
    assert reports["links"] == [reverse("funding:report", args=[report.pk])]
    assert date_format(report.due_on, "SHORT_DATE_FORMAT") in reports["html"]
    assert "File the fund-use report on instalment 1." in queue(response, "funding.mine")["html"]


def test_an_auditor_lands_on_the_exports_the_audit_check_and_the_anchors(client, auditor, settings, tmp_path):
    settings.AUDIT_ANCHOR_DIR = str(tmp_path)
    (tmp_path / "2026-12-05.json").write_text(
        '{"date": "2026-12-05", "last_id": 41, "hash": "abc123", "hash_algorithm": "sm3", "entries": 41}'
    )
    body = home(client, auditor).content.decode()
    assert f'href="{reverse("export_list")}" data-exports' in body
    assert f'href="{reverse("audit_check")}" data-audit-check' in body
    assert "41 entries up to #41" in body
    assert "data-queue=" not in body  # an auditor acts on no queue


def test_a_portfolio_manager_sees_the_exemption_case_to_gather(client, make_user):
    fund = FundFactory()
    InvestmentFactory(fund=fund)
    [failed] = [InvestmentFactory(fund=fund, failed=True)]
    compliance_check_run(fund=fund, as_of=TODAY)
    case = failed.exemption_cases.get()
    manager = make_user(roles.PORTFOLIO_MANAGER)
    response = home(client, manager)
    cases = queue(response, "tolerance.cases.opened")
    assert cases["links"] == [reverse("tolerance:case_detail", args=[case.pk])]
    assert "tolerance.cases.evidence" not in queue_keys(response)  # the supervisory department's step
    supervisor = make_user(roles.EXEMPTION_SUPERVISOR)
    assert queue(home(client, supervisor), "tolerance.cases.evidence")["count"] == 0


def test_a_user_with_several_roles_sees_each_roles_queues(client, application_in, people):
    reviewer = people["reviewer"]
    reviewer.groups.add(Group.objects.get(name=roles.FINANCE_OFFICER))
    application_in(S.SUBMITTED)
    keys = queue_keys(home(client, reviewer))
    assert {"funding.formal", "funding.expert", "funding.disbursement", "funding.reports"} <= set(keys)


def test_nothing_waits_says_so_in_words(client, make_user):
    body = home(client, make_user(roles.REGISTRATION_OFFICER)).content.decode()
    assert "Nothing waits for you." in body
    assert "Nothing waits here." in body


def test_the_page_is_in_chinese_by_default(client, people):
    client.force_login(people["reviewer"])
    body = client.get(reverse("my_home")).content.decode()
    with translation.override("zh-hans"):
        assert translation.gettext("My tasks") in body


@pytest.mark.parametrize("role", ["provincial_staff", "applicant"])
def test_the_number_of_queries_does_not_grow_with_the_queues(
    client, role, application_in, people, provincial_staff, django_assert_max_num_queries
):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    user = provincial_staff if role == "provincial_staff" else people["applicant"]
    client.force_login(user)
    for state in (S.SUBMITTED, S.DISBURSEMENT):
        application_in(state)
    client.get(reverse("my_home"))  # sessions and caches warm
    with CaptureQueriesContext(connection) as few:
        client.get(reverse("my_home"))
    for state in (S.SUBMITTED, S.FORMAL_REVIEW, S.EXPERT_REVIEW, S.AWAITING_DECISION, S.DISBURSEMENT, S.DRAFT) * 2:
        application_in(state)
    for residency in Residency.objects.all()[:3]:
        ResidencyFactory(entity__owner=people["applicant"], sub_venue=residency.sub_venue, status="selected")
    with django_assert_max_num_queries(len(few)):
        response = client.get(reverse("my_home"))
    assert response.status_code == 200
