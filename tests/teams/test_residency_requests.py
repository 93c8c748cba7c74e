"""Residency requests: an entity that is not resident asks to enter a sub-venue; its staff select or decline."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import translation
from rest_framework.test import APIClient

from teams import residency_requests as service
from teams.models import Residency, ResidencyRequest
from teams.services import NotAllowed, WrongState
from tests.factories import PDF_BYTES, EntityFactory, ResidencyFactory, SubVenueFactory
from valley.core import roles
from valley.messaging.mail import MAIL_TASK
from valley.models import AuditEntry, OutboxMessage, SubVenue


@pytest.fixture
def venue(db):
    return SubVenueFactory(code="taiyuan")


@pytest.fixture
def other_venue(db):
    return SubVenueFactory(code="datong")


@pytest.fixture
def operator(make_user, venue):
    user = make_user(roles.SUB_VENUE_OPERATOR, email="operator-x@example.cn")
    user.sub_venues.add(venue)
    return user


@pytest.fixture
def other_operator(make_user, other_venue):
    user = make_user(roles.SUB_VENUE_OPERATOR, email="operator-y@example.cn")
    user.sub_venues.add(other_venue)
    return user


@pytest.fixture
def entity(applicant):
    return EntityFactory(owner=applicant, contact_email="team@example.cn")


def _submit(entity, venue, **kwargs):
    values = {"reason": "需要中试场地。", "needs": ["office", "pilot"], "needs_detail": "200 平方米"}
    return service.residency_request_submit(entity=entity, by=entity.owner, sub_venue=venue, **{**values, **kwargs})


def _mails_to(address):
    return [m.kwargs for m in OutboxMessage.objects.filter(task=MAIL_TASK) if address in m.kwargs["recipients"]]


def test_request_then_select_starts_the_residency_and_mails_the_applicant(client, entity, venue, operator):
    client.force_login(entity.owner)
    page = client.get(reverse("teams:residency_request_new", args=[entity.pk]))
    assert page.status_code == 200 and venue.name_zh in page.content.decode()
    answer = client.post(
        reverse("teams:residency_request_new", args=[entity.pk]),
        {"sub_venue": venue.pk, "reason": "需要中试场地。", "needs": ["office", "pilot"], "needs_detail": "三相电"},
    )
    request = ResidencyRequest.objects.get(entity=entity)
    assert answer.status_code == 302 and answer["Location"] == request.get_absolute_url()
    assert request.status == "submitted" and request.needs == ["office", "pilot"]

    client.force_login(operator)
    queue = client.get(reverse("teams:residency_queue"))
    assert entity.name_zh in queue.content.decode()
    decided = client.post(reverse("teams:residency_request_select", args=[request.pk]), {"note": "欢迎入驻"})
    assert decided.status_code == 302

    request.refresh_from_db()
    residency = Residency.objects.get(entity=entity)
    assert request.status == "selected" and request.residency == residency
    assert residency.status == Residency.Status.SELECTED and residency.sub_venue == venue
    mails = _mails_to("team@example.cn")
    assert len(mails) == 1 and f"#{request.pk}" in mails[0]["subject"] and "selected" in mails[0]["body"]
    assert list(request.events.values_list("from_status", "to_status")) == [
        ("", "submitted"),
        ("submitted", "selected"),
    ]
    assert AuditEntry.objects.filter(action="teams.residency_request.select", object_id=str(request.pk)).exists()
    assert entity.name_zh not in client.get(reverse("teams:residency_queue")).content.decode()


def test_decline_needs_a_reason_and_mails_it(client, entity, venue, operator):
    request = _submit(entity, venue)
    client.force_login(operator)
    with translation.override("en"):
        empty = client.post(
            reverse("teams:residency_request_decline", args=[request.pk]), {"reason": " "}, HTTP_ACCEPT_LANGUAGE="en"
        )
    assert empty.status_code == 200 and "This field is required." in empty.content.decode()
    with pytest.raises(WrongState):
        service.residency_request_decline(request=request, by=operator, reason="  ")
    request.refresh_from_db()
    assert request.status == "submitted" and not _mails_to("team@example.cn")

    client.post(reverse("teams:residency_request_decline", args=[request.pk]), {"reason": "暂无中试场地"})
    request.refresh_from_db()
    assert request.status == "declined" and request.decision_reason == "暂无中试场地"
    assert not Residency.objects.filter(entity=entity).exists()
    (mail,) = _mails_to("team@example.cn")
    assert "暂无中试场地" in mail["body"] and "declined" in mail["body"]


def test_the_database_refuses_a_declined_request_without_a_reason(entity, venue):
    request = _submit(entity, venue)
    with pytest.raises(IntegrityError), transaction.atomic():
        ResidencyRequest.objects.filter(pk=request.pk).update(status="declined", decision_reason="")


def test_a_second_open_request_is_refused(client, entity, venue, other_venue):
    _submit(entity, venue)
    with pytest.raises(WrongState):
        _submit(entity, other_venue)
    client.force_login(entity.owner)
    with translation.override("en"):
        page = client.get(reverse("teams:residency_request_new", args=[entity.pk]), HTTP_ACCEPT_LANGUAGE="en")
    assert "already has a residency request waiting for a decision" in page.content.decode()
    # The database says so too, whatever the service checked.
    with pytest.raises(IntegrityError), transaction.atomic():
        ResidencyRequest.objects.create(
            entity=entity, sub_venue=other_venue, reason="x", submitted_by=entity.owner, status="submitted"
        )


def test_a_resident_entity_or_a_closed_sub_venue_cannot_be_asked_for(entity, venue, make_user):
    closed = SubVenueFactory(code="closed", status=SubVenue.Status.PLANNED, opened_on=None)
    with pytest.raises(WrongState):
        _submit(entity, closed)
    ResidencyFactory(entity=entity, sub_venue=venue)
    with pytest.raises(WrongState):
        _submit(entity, venue)


def test_withdrawn_by_the_applicant_while_submitted_then_asks_again(client, entity, venue, operator):
    request = _submit(entity, venue)
    with pytest.raises(NotAllowed):
        service.residency_request_withdraw(request=request, by=operator)
    client.force_login(entity.owner)
    client.post(reverse("teams:residency_request_withdraw", args=[request.pk]))
    request.refresh_from_db()
    assert request.status == "withdrawn"
    assert _submit(entity, venue).status == "submitted"  # no longer open: a new request may be made


def test_another_applicants_request_is_a_404_at_every_url_and_api_operation(
    client, entity, venue, other_applicant, media_root
):
    request = _submit(entity, venue, upload=SimpleUploadedFile("plan.pdf", PDF_BYTES), upload_title="商业计划书")
    document = request.documents.get()
    client.force_login(other_applicant)
    for name, args in [
        ("teams:residency_request_detail", [request.pk]),
        ("teams:residency_request_document", [request.pk, document.pk]),
        ("teams:residency_request_new", [entity.pk]),
    ]:
        assert client.get(reverse(name, args=args)).status_code == 404, name
    for name in ["select", "decline", "withdraw"]:
        url = reverse(f"teams:residency_request_{name}", args=[request.pk])
        assert client.post(url, {"reason": "x"}).status_code == 404, name
    assert client.get(reverse("teams:residency_queue")).status_code == 404
    api = APIClient()
    api.force_authenticate(other_applicant)
    assert api.get("/api/residency-requests/").json()["results"] == []
    assert api.get(f"/api/residency-requests/{request.pk}/").status_code == 404
    for name in ["select", "decline", "withdraw"]:
        assert api.post(f"/api/residency-requests/{request.pk}/{name}/", {"reason": "x"}).status_code == 404
    created = api.post(
        "/api/residency-requests/", {"entity": entity.pk, "sub_venue": venue.pk, "reason": "x"}, format="json"
    )
    assert created.status_code == 400 and "entity" in created.json()
    request.refresh_from_db()
    assert request.status == "submitted"


def test_an_operator_of_another_sub_venue_can_neither_see_nor_decide(client, entity, venue, other_operator):
    request = _submit(entity, venue)
    client.force_login(other_operator)
    assert entity.name_zh not in client.get(reverse("teams:residency_queue")).content.decode()
    assert client.get(request.get_absolute_url()).status_code == 404
    assert client.post(reverse("teams:residency_request_select", args=[request.pk])).status_code == 404
    with pytest.raises(NotAllowed):
        service.residency_request_select(request=request, by=other_operator)
    api = APIClient()
    api.force_authenticate(other_operator)
    assert api.get("/api/residency-requests/").json()["results"] == []
    assert api.post(f"/api/residency-requests/{request.pk}/select/").status_code == 404
    request.refresh_from_db()
    assert request.status == "submitted" and not Residency.objects.filter(entity=entity).exists()


def test_api_submit_filter_and_decide(entity, venue, operator, provincial_staff):
    api = APIClient()
    api.force_authenticate(entity.owner)
    created = api.post(
        "/api/residency-requests/",
        {"entity": entity.pk, "sub_venue": venue.pk, "reason": "中试", "needs": ["pilot"]},
        format="json",
    )
    assert created.status_code == 201, created.json()
    pk = created.json()["id"]
    again = api.post("/api/residency-requests/", {"entity": entity.pk, "sub_venue": venue.pk, "reason": "再次"})
    assert again.status_code == 409
    assert api.post(f"/api/residency-requests/{pk}/select/").status_code == 403  # not the applicant's decision
    api.force_authenticate(operator)
    assert [r["id"] for r in api.get("/api/residency-requests/?status=submitted").json()["results"]] == [pk]
    assert api.get("/api/residency-requests/?status=declined").json()["results"] == []
    assert api.post(f"/api/residency-requests/{pk}/decline/", {"reason": ""}).status_code == 400
    declined = api.post(f"/api/residency-requests/{pk}/decline/", {"reason": "场地已满"})
    assert declined.status_code == 200 and declined.json()["status"] == "declined"
    api.force_authenticate(provincial_staff)
    assert api.post(f"/api/residency-requests/{pk}/select/").status_code == 409


def test_the_entity_page_shows_the_requests_and_the_way_to_ask(client, entity, venue):
    client.force_login(entity.owner)
    with translation.override("en"):
        page = client.get(entity.get_absolute_url(), HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert reverse("teams:residency_request_new", args=[entity.pk]) in page
    request = _submit(entity, venue)
    page = client.get(entity.get_absolute_url()).content.decode()
    assert request.get_absolute_url() in page
    assert reverse("teams:residency_request_new", args=[entity.pk]) not in page  # one open request at a time


@pytest.mark.parametrize("language", ["zh-hans", "en"])
def test_pages_render_in_both_languages(client, entity, venue, operator, language):
    request = _submit(entity, venue)
    client.force_login(entity.owner)
    for url in [reverse("teams:residency_requests"), request.get_absolute_url()]:
        assert client.get(url, HTTP_ACCEPT_LANGUAGE=language).status_code == 200
    client.force_login(operator)
    page = client.get(request.get_absolute_url(), HTTP_ACCEPT_LANGUAGE=language).content.decode()
    assert (entity.name_zh if language == "zh-hans" else entity.name_en) in page
    assert reverse("teams:residency_request_decline", args=[request.pk]) in page  # the decision panel
    if language == "en":
        assert "Select for residency" in page and "Reason for the applicant" in page


def test_lists_run_a_constant_number_of_queries(client, venue, operator, make_user, django_assert_max_num_queries):
    def make(count):
        for _ in range(count):
            owner = make_user(roles.APPLICANT)
            _submit(EntityFactory(owner=owner), venue)

    def measure():
        client.force_login(operator)
        counts = []
        for url in [
            reverse("teams:residency_queue"),
            "/api/residency-requests/",
            reverse("admin:teams_residencyrequest_changelist"),
        ]:
            with django_assert_max_num_queries(40) as captured:
                assert client.get(url).status_code == 200
            counts.append(len(captured))
        return counts

    make(2)
    measure()
    small = measure()
    make(8)
    assert measure() == small


def test_admin_decisions_go_through_the_services(client, entity, venue, operator, other_operator):
    request = _submit(entity, venue)
    url = reverse("admin:teams_residencyrequest_change", args=[request.pk])
    client.force_login(other_operator)
    assert client.get(url).status_code == 302  # not in their sub-venue: the admin's "no such object"
    client.force_login(operator)
    with translation.override("en"):
        refused = client.post(url, {"decision": "decline", "decision_note": ""}, HTTP_ACCEPT_LANGUAGE="en")
    assert refused.status_code == 200 and "Write the reason for the applicant" in refused.content.decode()
    request.refresh_from_db()
    assert request.status == "submitted"
    client.post(url, {"decision": "decline", "decision_note": "场地已满"})
    request.refresh_from_db()
    assert request.status == "declined" and request.decided_by == operator
    assert list(request.events.values_list("to_status", flat=True)) == ["submitted", "declined"]
    assert _mails_to("team@example.cn")

    second = _submit(EntityFactory(owner=entity.owner), venue)
    changelist = reverse("admin:teams_residencyrequest_changelist")
    client.post(changelist, {"action": "select_requests", "_selected_action": [second.pk]})
    second.refresh_from_db()
    assert second.status == "selected" and second.residency.status == Residency.Status.SELECTED


# ------------------------------------------------------------------ the operators hear of a new request


def test_a_new_request_is_mailed_to_the_operators_of_its_sub_venue_with_a_link(
    entity, venue, operator, other_operator, make_user, settings
):
    inactive = make_user(roles.SUB_VENUE_OPERATOR, email="operator-gone@example.cn", is_active=False)
    inactive.sub_venues.add(venue)
    second = make_user(roles.SUB_VENUE_OPERATOR, email="operator-x2@example.cn")
    second.sub_venues.add(venue)
    reviewer = make_user(roles.REVIEWER, email="reviewer@example.cn")  # staff, but no operator of the sub-venue
    reviewer.sub_venues.add(venue)

    request = _submit(entity, venue)

    (mail,) = _mails_to("operator-x@example.cn")
    assert mail["recipients"] == ["operator-x2@example.cn", "operator-x@example.cn"]
    assert _mails_to("operator-y@example.cn") == [] and _mails_to("operator-gone@example.cn") == []
    assert _mails_to("reviewer@example.cn") == []
    assert _mails_to("team@example.cn") == []  # the applicant hears of the decision, not of their own request
    url = settings.SITE_URL + reverse("teams:residency_request_detail", args=[request.pk])
    chinese, english = mail["body"].split("\n----\n")
    assert url in chinese and url in english
    with translation.override("en"):
        assert f"{entity.name} asks to enter {venue.name}. It waits for your decision." in english
    assert "Reason: 需要中试场地。" in english and "需要中试场地。" in chinese
    assert entity.name_zh in chinese and venue.name_zh in chinese
    assert f"#{request.pk}" in mail["subject"]
    # The link opens the request for the operator who got the mail.
    from django.test import Client

    client = Client()
    client.force_login(operator)
    assert client.get(url.removeprefix(settings.SITE_URL)).status_code == 200


def test_a_refused_request_mails_nobody(entity, venue, operator):
    _submit(entity, venue)
    with pytest.raises(WrongState):
        _submit(entity, venue)  # one open request per entity
    assert len(_mails_to("operator-x@example.cn")) == 1


def test_a_sub_venue_without_operators_queues_no_staff_mail(entity, venue):
    _submit(entity, venue)
    assert not OutboxMessage.objects.filter(task=MAIL_TASK).exists()
