"""The service figures (per line and sub-venue), the home dashboard's block, the auditors' CSV and the demo."""

import datetime
import zoneinfo

import pytest
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone, translation

from teams import service_requests as services
from teams import service_selectors as selectors
from teams.service_models import ServiceRequest
from valley.core import roles

SHANGHAI = zoneinfo.ZoneInfo("Asia/Shanghai")


@pytest.fixture
def worked(calendar_2026_days, submit, resident, finance_line, finance_staff):
    """Three finance requests: resolved in 2 working days rated 5, resolved in 4 rated 2, one still open."""
    made = []
    for day, rating in ((datetime.date(2026, 11, 2), 5), (datetime.date(2026, 11, 9), 2)):
        request = submit(resident, finance_line, now=datetime.datetime.combine(day, datetime.time(9), tzinfo=SHANGHAI))
        services.service_request_accept(request=request, by=finance_staff, handler=finance_staff)
        services.service_request_resolve(request=request, by=finance_staff, resolution="已办结")
        services.service_request_rate(request=request, by=resident.owner, rating=rating)
        made.append(request)
    # Resolved on Wed 4 Nov (2 working days) and Fri 13 Nov (4 working days); the second beyond its limit of 3.
    ServiceRequest.objects.filter(pk=made[0].pk).update(resolved_on=datetime.date(2026, 11, 4))
    ServiceRequest.objects.filter(pk=made[1].pk).update(
        resolved_on=datetime.date(2026, 11, 13), due_on=datetime.date(2026, 11, 12)
    )
    made.append(submit(resident, finance_line, subject="未办结"))
    return made


def test_the_figures_per_line_and_sub_venue(worked):
    with translation.override("en"):
        (figure,) = selectors.service_figures()
    assert (figure.line, figure.received, figure.resolved, figure.resolved_within_limit) == ("finance", 3, 2, 1)
    assert figure.median_working_days == 3  # the median of 2 and 4
    assert figure.average_rating == 3.5


def test_the_figures_page_draws_its_chart_without_inline_style(client, worked, applicant):
    client.force_login(applicant)
    page = client.get(reverse("teams:service_figures")).content.decode()
    assert "<svg" in page and "3.5" in page
    assert "style=" not in page and "<script>" not in page


def test_the_home_dashboard_counts_requests_per_line(client, worked):
    page = client.get(reverse("home")).content.decode()
    assert 'id="service-counts"' in page and "finance" in page


@pytest.mark.django_db(transaction=True)  # the CSV streams from PostgreSQL's COPY on its own connection
def test_auditors_download_the_requests_as_csv(client, worked, auditor):
    client.force_login(auditor)
    response = client.get(reverse("export_download", args=["service-requests"]) + "?header=machine")
    assert response.status_code == 200
    lines = b"".join(response.streaming_content).decode("utf-8-sig").splitlines()
    assert lines[0].startswith("id,line,sub_venue")
    assert len(lines) == 4
    within = [line.split(",")[10] for line in lines[1:]]
    assert sorted(within) == ["", "false", "true"]


def test_the_demo_has_requests_at_every_step_and_line_staff_logins(db, settings):
    settings.DEBUG = True
    call_command("seed_demo", verbosity=0)
    states = set(ServiceRequest.objects.values_list("state", flat=True))
    assert states == set(ServiceRequest.State.values)
    assert ServiceRequest.objects.values("line").distinct().count() == 4
    assert ServiceRequest.objects.filter(rating__isnull=False).exists()
    assert ServiceRequest.objects.filter(selectors.overdue_q(timezone.localdate())).count() == 1
    from valley.demo import demo_logins
    from valley.models import ServiceLine

    assert str(roles.ROLES[roles.SERVICE_LINE_STAFF].label) in {label for label, *_ in demo_logins()}
    assert not ServiceLine.objects.filter(lead__isnull=True).exists()
    call_command("seed_demo", verbosity=0)  # twice: nothing doubles
    assert ServiceRequest.objects.count() == 8
