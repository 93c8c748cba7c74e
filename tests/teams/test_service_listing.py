"""The service lists (the line staff's queue, the applicant's own) through valley.web.listing: search, filter by
line and sub-venue name, sort both ways, pages that keep the filters, the export link, constant queries."""

from urllib.parse import parse_qs, urlsplit

import pytest
from django.urls import reverse

from teams.service_models import ServiceRequest
from tests.factories import EntityFactory, ResidencyFactory, SubVenueFactory
from tests.valley.test_export_links import export_links

pytestmark = pytest.mark.django_db


def pks(client, url, **query):
    response = client.get(url, query, HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 200
    return [row.pk for row in response.context["page"].object_list]


@pytest.fixture
def two_requests(submit, resident, applicant, finance_line):
    """Two finance requests: one from 太原 (the resident), one from a team in 大同."""
    datong_team = EntityFactory(owner=applicant, name_zh="汾河材料", name_en="Fenhe Materials")
    ResidencyFactory(entity=datong_team, sub_venue=SubVenueFactory(code="datong", name_zh="大同分园", name_en="Datong"))
    first = submit(resident, finance_line, subject="融资对接")
    second = submit(datong_team, finance_line, subject="知识产权咨询")
    return first, second


@pytest.mark.parametrize("who", ["staff", "applicant"])
def test_search_filter_and_sort(client, two_requests, finance_staff, applicant, who):
    first, second = two_requests
    client.force_login(finance_staff if who == "staff" else applicant)
    url = reverse("teams:service_queue" if who == "staff" else "teams:service_request_list")
    assert pks(client, url, q="知识产权") == [second.pk]
    assert pks(client, url, q="fenhe") == [second.pk]
    assert sorted(pks(client, url, line="finance服务")) == sorted([first.pk, second.pk])  # the line by its name
    assert pks(client, url, line="nobody's line") != []  # explained, and left out
    assert pks(client, url, sort="subject") == sorted(
        [first.pk, second.pk], key=lambda pk: {first.pk: "融资对接", second.pk: "知识产权咨询"}[pk]
    )
    assert pks(client, url, sort="-subject") == list(reversed(pks(client, url, sort="subject")))


def test_the_queue_filters_by_sub_venue_name_and_keeps_its_scope(client, two_requests, line_staff, service_lines):
    first, second = two_requests
    client.force_login(line_staff(service_lines["technology"]))
    url = reverse("teams:service_queue")
    assert pks(client, url) == []  # another line's requests
    assert pks(client, url, sub_venue="大同分园") == []  # a filter never widens the scope
    assert pks(client, url, line="finance") == []


def test_the_queue_pages_keep_the_filters_and_the_export_carries_them(client, two_requests, finance_staff, monkeypatch):
    first, second = two_requests
    monkeypatch.setattr("teams.service_views.PAGE_SIZE", 1)
    client.force_login(finance_staff)
    url = reverse("teams:service_queue")
    assert pks(client, url, sub_venue="大同分园") == [second.pk]
    page = client.get(url, {"q": "咨询", "sub_venue": "Datong", "sort": "-due"}, HTTP_ACCEPT_LANGUAGE="en")
    query = parse_qs(urlsplit(export_links(page.content.decode())["csv"]).query)
    assert query == {"q": ["咨询"], "sub_venue": ["Datong"]}
    page = client.get(url, {"line": "finance", "sort": "-subject"}, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert 'href="?line=finance&amp;sort=-subject&amp;page=2"' in page


@pytest.mark.parametrize("who", ["staff", "applicant"])
def test_filtered_lists_run_as_many_queries_with_more_rows(
    client, two_requests, submit, resident, finance_line, finance_staff, applicant, who, django_assert_max_num_queries
):
    client.force_login(finance_staff if who == "staff" else applicant)
    url = reverse("teams:service_queue" if who == "staff" else "teams:service_request_list")
    query = {"q": "a", "line": "finance", "sub_venue": "taiyuan", "sort": "-entity"}
    client.get(url, query)
    with django_assert_max_num_queries(30) as few:
        assert client.get(url, query).status_code == 200
    for index in range(4):
        submit(resident, finance_line, subject=f"请求a{index}")
    assert ServiceRequest.objects.count() == 6
    with django_assert_max_num_queries(len(few)):
        assert client.get(url, query).status_code == 200
