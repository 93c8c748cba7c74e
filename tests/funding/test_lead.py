"""The application's lead (funding.services.application_claim / application_assign_lead): who may take it,
who may move it, what history and audit entries each writes, and where the lead is shown."""

import pytest
from django.db.models import Max
from django.urls import reverse

from funding import services
from funding.models import Application, ApplicationEvent
from tests.factories import SubVenueFactory
from valley.core import roles
from valley.core.errors import Forbidden, WrongState
from valley.models import AuditEntry

S = Application.State


def entries_since(last):
    return list(AuditEntry.objects.filter(id__gt=last).order_by("id").values_list("action", flat=True))


def last_entry():
    return AuditEntry.objects.aggregate(last=Max("id"))["last"] or 0


@pytest.fixture
def submitted(application_in):
    return application_in(S.FORMAL_REVIEW)


def test_a_reviewer_claims_an_application_with_its_history_row_and_audit_entries(submitted, people):
    reviewer = people["reviewer"]
    before = last_entry()
    services.application_claim(application=submitted, by=reviewer)
    submitted.refresh_from_db()
    assert submitted.lead == reviewer
    event = ApplicationEvent.objects.filter(application=submitted).latest("pk")
    assert (event.action, event.by, event.from_state, event.to_state) == (
        "funding.application.lead_claimed",
        reviewer,
        S.FORMAL_REVIEW,
        S.FORMAL_REVIEW,
    )
    assert entries_since(before) == ["funding.application.changed", "funding.application.lead_claimed"]


def test_a_claim_of_an_application_someone_else_leads_is_refused_and_names_the_lead(submitted, people, make_user):
    services.application_claim(application=submitted, by=people["reviewer"])
    other = make_user(roles.APPROVER, email="second@example.cn")
    before = last_entry()
    with pytest.raises(services.FundingError, match="reviewer@example.cn already leads this application"):
        services.application_claim(application=submitted, by=other)
    submitted.refresh_from_db()
    assert submitted.lead == people["reviewer"]
    assert entries_since(before) == []


def test_claiming_again_what_one_leads_writes_nothing(submitted, people):
    services.application_claim(application=submitted, by=people["reviewer"])
    before = last_entry()
    services.application_claim(application=submitted, by=people["reviewer"])
    assert entries_since(before) == []


def test_provincial_staff_assign_the_lead_over_a_claim(submitted, people, provincial_staff):
    services.application_claim(application=submitted, by=people["reviewer"])
    services.application_assign_lead(application=submitted, lead=people["approver"], by=provincial_staff)
    submitted.refresh_from_db()
    assert submitted.lead == people["approver"]
    event = ApplicationEvent.objects.filter(application=submitted).latest("pk")
    assert (event.action, event.by) == ("funding.application.lead_assigned", provincial_staff)
    assert "approver@example.cn" in event.internal_note


def test_only_provincial_staff_and_operators_assign_the_lead(submitted, people):
    with pytest.raises(Forbidden):
        services.application_assign_lead(application=submitted, lead=people["approver"], by=people["reviewer"])
    submitted.refresh_from_db()
    assert submitted.lead is None


def test_the_lead_holds_a_role_that_handles_applications(submitted, people, provincial_staff, auditor):
    for not_a_handler in (people["applicant"], auditor):
        with pytest.raises(services.FundingError, match="does not hold a role that handles applications"):
            services.application_assign_lead(application=submitted, lead=not_a_handler, by=provincial_staff)
    with pytest.raises(Forbidden):
        services.application_claim(application=submitted, by=people["applicant"])


def test_an_operator_of_another_sub_venue_neither_claims_nor_is_assigned(submitted, make_user, provincial_staff):
    elsewhere = make_user(roles.SUB_VENUE_OPERATOR)
    elsewhere.sub_venues.add(SubVenueFactory(code="datong-test"))
    with pytest.raises(Forbidden):
        services.application_claim(application=submitted, by=elsewhere)
    with pytest.raises(services.FundingError, match="does not operate this application's sub-venue"):
        services.application_assign_lead(application=submitted, lead=elsewhere, by=provincial_staff)
    here = make_user(roles.SUB_VENUE_OPERATOR)
    here.sub_venues.add(submitted.sub_venue)
    services.application_assign_lead(application=submitted, lead=here, by=here)
    submitted.refresh_from_db()
    assert submitted.lead == here


def test_a_draft_or_a_closed_application_has_no_lead(application_in, people):
    for state in (S.DRAFT, S.REJECTED):
        application = application_in(state)
        with pytest.raises(WrongState):
            services.application_claim(application=application, by=people["reviewer"])


# ------------------------------------------------------------------ the pages


def test_claim_from_the_application_page_and_see_the_lead_in_the_queue(client, submitted, people):
    client.force_login(people["reviewer"])
    page = client.get(reverse("funding:detail", args=[submitted.pk]), HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "data-claim" in page
    response = client.post(reverse("funding:lead_claim", args=[submitted.pk]), follow=True, HTTP_ACCEPT_LANGUAGE="en")
    body = response.content.decode()
    assert "now leads this application" in body
    assert "reviewer@example.cn" in body.split("data-lead>")[1].split("<")[0]
    queue = client.get(reverse("funding:queue", args=["formal"])).content.decode()
    assert "data-lead>reviewer@example.cn<" in queue


def test_a_claim_refused_is_said_on_the_page(client, submitted, people):
    services.application_claim(application=submitted, by=people["reviewer"])
    client.force_login(people["approver"])
    response = client.post(reverse("funding:lead_claim", args=[submitted.pk]), follow=True, HTTP_ACCEPT_LANGUAGE="en")
    assert "already leads this application" in response.content.decode()
    submitted.refresh_from_db()
    assert submitted.lead == people["reviewer"]


def test_assign_from_the_page_with_a_choice_that_is_not_in_the_list(client, submitted, people, provincial_staff):
    client.force_login(provincial_staff)
    response = client.post(
        reverse("funding:lead_assign", args=[submitted.pk]), {"lead": "999999"}, follow=True, HTTP_ACCEPT_LANGUAGE="en"
    )
    assert response.status_code == 200
    assert "Choose a staff member from the list." in response.content.decode()
    response = client.post(
        reverse("funding:lead_assign", args=[submitted.pk]), {"lead": people["finance"].pk}, follow=True
    )
    submitted.refresh_from_db()
    assert submitted.lead == people["finance"]


def test_the_admin_list_shows_the_lead(client, submitted, people, provincial_staff):
    services.application_claim(application=submitted, by=people["reviewer"])
    client.force_login(provincial_staff)
    page = client.get(reverse("admin:funding_application_changelist")).content.decode()
    assert "reviewer@example.cn" in page
