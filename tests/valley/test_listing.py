"""Lists people can work in (valley.web.listing): search, filters by name, sort by a column, pages that keep
the query string, "export this view" with the same filters, and a constant number of queries."""

from urllib.parse import parse_qs, urlsplit

import pytest
from django.urls import reverse

from funding.models import Application
from tests.factories import SubVenueFactory
from tests.valley.test_export_links import export_links

S = Application.State
pytestmark = pytest.mark.django_db


def get(client, url, **query):
    response = client.get(url, query, HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 200
    return response, response.content.decode()


def order_of(response, rows) -> list:
    shown = [row.pk for row in response.context["page"].object_list]
    return [row.pk for row in rows if row.pk in shown] and shown


@pytest.fixture
def two_in_formal(application_in, entity_factory):
    """Two applications waiting in the formal queue, in two sub-venues (太原 and 大同), different amounts."""
    from decimal import Decimal

    first = application_in(S.SUBMITTED, amount=Decimal("400000.00"))
    second = application_in(S.SUBMITTED, amount=Decimal("800000.00"))
    datong = SubVenueFactory(code="datong-test", name_zh="大同分园", name_en="Datong")
    Application.objects.filter(pk=second.pk).update(sub_venue=datong)
    type(first.entity).objects.filter(pk=first.entity_id).update(name_zh="星火光电", name_en="Spark Optics")
    type(second.entity).objects.filter(pk=second.entity_id).update(name_zh="汾河材料", name_en="Fenhe Materials")
    return first, second


def test_the_queue_search_finds_by_name_and_number(client, auditor, two_in_formal):
    first, second = two_in_formal
    client.force_login(auditor)
    url = reverse("funding:queue", args=["formal"])
    response, _page = get(client, url, q="星火")
    assert [a.pk for a in response.context["page"].object_list] == [first.pk]
    response, _page = get(client, url, q="fenhe")
    assert [a.pk for a in response.context["page"].object_list] == [second.pk]
    response, _page = get(client, url, q=f"#{second.pk}")
    assert [a.pk for a in response.context["page"].object_list] == [second.pk]


def test_the_queue_filters_by_sub_venue_name(client, auditor, two_in_formal):
    first, second = two_in_formal
    client.force_login(auditor)
    response, page = get(client, reverse("funding:queue", args=["formal"]), sub_venue="大同分园")
    assert [a.pk for a in response.context["page"].object_list] == [second.pk]
    assert 'value="大同分园"' in page  # what was typed stays in the box
    assert 'list="id_list_sub_venue_names"' in page and '<option value="Datong">' in page  # names, not ids
    assert "Clear the filters" in page and 'aria-label="Pages"' not in page
    response, page = get(client, reverse("funding:queue", args=["formal"]), sub_venue="Nowhere")
    assert "Nothing is called" in page  # next to its field, not a 500; the filter is left out
    assert len(response.context["page"].object_list) == 2


def test_the_queue_sorts_by_a_column_both_ways(client, auditor, two_in_formal):
    first, second = two_in_formal
    client.force_login(auditor)
    response, page = get(client, reverse("funding:queue", args=["formal"]), sort="amount")
    assert [a.pk for a in response.context["page"].object_list] == [first.pk, second.pk]
    assert 'aria-sort="ascending"' in page and "sort=-amount" in page
    response, page = get(client, reverse("funding:queue", args=["formal"]), sort="-amount")
    assert [a.pk for a in response.context["page"].object_list] == [second.pk, first.pk]
    assert 'aria-sort="descending"' in page


def test_bad_sort_and_dates_are_ignored_or_explained(client, auditor, two_in_formal):
    client.force_login(auditor)
    response, page = get(
        client,
        reverse("funding:queue", args=["formal"]),
        sort="entity__owner__password",
        submitted_at_after="2026-13-45",
    )
    assert len(response.context["page"].object_list) == 2
    assert "Enter a valid date" in page
    response, page = get(client, reverse("funding:queue", args=["formal"]), submitted_at_after="0001-01-01")
    assert "Enter a date between" in page


def test_the_queue_pages_keep_the_filters_and_the_export_carries_them(client, auditor, two_in_formal, monkeypatch):
    monkeypatch.setattr("funding.views.PAGE_SIZE", 1)
    client.force_login(auditor)
    _response, page = get(
        client, reverse("funding:queue", args=["formal"]), q="材料", sub_venue="大同分园", sort="-amount"
    )
    links = export_links(page)
    query = parse_qs(urlsplit(links["csv"]).query)
    assert query["q"] == ["材料"] and query["sub_venue"] == ["大同分园"] and "sort" not in query
    _response, page = get(client, reverse("funding:queue", args=["formal"]), sort="-amount")
    assert 'href="?sort=-amount&amp;page=2"' in page


def test_the_queue_runs_as_many_queries_with_more_rows(
    client, auditor, two_in_formal, application_in, django_assert_max_num_queries
):
    client.force_login(auditor)
    url = reverse("funding:queue", args=["formal"])
    query = {"q": "a", "sub_venue": "大同分园", "sort": "entity"}
    get(client, url, **query)  # warm the session and the caches
    with django_assert_max_num_queries(12) as few:
        get(client, url, **query)
    for _ in range(3):
        application_in(S.SUBMITTED)
    with django_assert_max_num_queries(len(few)):
        get(client, url, **query)


def test_the_applicant_searches_and_sorts_only_their_own(
    client, applicant, other_applicant, application_in, two_in_formal
):
    first, second = two_in_formal
    theirs = application_in(S.SUBMITTED, owner=other_applicant)
    client.force_login(applicant)
    url = reverse("funding:mine")
    response, _page = get(client, url, sort="-amount")
    assert [a.pk for a in response.context["page"].object_list] == [second.pk, first.pk]
    response, _page = get(client, url, sort="amount", q=str(theirs.pk))
    assert list(response.context["page"].object_list) == []
    response, _page = get(client, url, sub_venue="datong-test")
    assert [a.pk for a in response.context["page"].object_list] == [second.pk]


# ------------------------------------------------------------------ the registry: entities, residency requests


def pks(response) -> list[int]:
    return [row.pk for row in response.context["page"].object_list]


@pytest.fixture
def registry(applicant, other_applicant, entity_factory, residency_factory):
    """Two of the applicant's entities, one resident in 太原 (from another institution), one in 大同; and a
    residency request each waiting, in those sub-venues."""
    from teams.residency_request_models import ResidencyRequest
    from tests.factories import InstitutionFactory

    taiyuan = SubVenueFactory(code="taiyuan-list", name_zh="太原分园", name_en="Taiyuan")
    datong = SubVenueFactory(code="datong-list", name_zh="大同分园", name_en="Datong")
    spark = entity_factory(owner=applicant, name_zh="星火光电", name_en="Spark Optics")
    fenhe = entity_factory(
        owner=applicant,
        name_zh="汾河材料",
        name_en="Fenhe Materials",
        institution=InstitutionFactory(name_zh="山西大学", name_en="Shanxi University"),
    )
    theirs = entity_factory(owner=other_applicant, name_zh="别人的团队", name_en="Someone Else")
    residency_factory(entity=spark, sub_venue=taiyuan)
    residency_factory(entity=fenhe, sub_venue=datong)
    requests = [
        ResidencyRequest.objects.create(entity=entity, sub_venue=venue, reason="x", submitted_by=entity.owner)
        for entity, venue in ((spark, taiyuan), (fenhe, datong), (theirs, datong))
    ]
    return {
        "spark": spark,
        "fenhe": fenhe,
        "theirs": theirs,
        "taiyuan": taiyuan,
        "datong": datong,
        "requests": requests,
    }


def test_the_entity_list_searches_filters_and_sorts_the_applicants_own(client, applicant, registry):
    spark, fenhe = registry["spark"], registry["fenhe"]
    client.force_login(applicant)
    url = reverse("teams:entity_list")
    assert pks(get(client, url, q="spark")[0]) == [spark.pk]
    assert pks(get(client, url, q="别人")[0]) == []  # someone else's stays out of reach
    assert pks(get(client, url, sub_venue="大同分园")[0]) == [fenhe.pk]
    assert pks(get(client, url, institution="Shanxi University")[0]) == [fenhe.pk]
    response, page = get(client, url, sort="name")
    assert pks(response) == sorted(
        [spark.pk, fenhe.pk], key=lambda pk: {spark.pk: "星火光电", fenhe.pk: "汾河材料"}[pk]
    )
    assert pks(get(client, url, sort="-name")[0]) == list(reversed(pks(response)))
    assert 'type="date"' in page and 'name="created_at_after"' in page


def test_the_entity_list_pages_keep_the_filters_and_the_export_carries_them(
    client, provincial_staff, registry, monkeypatch
):
    monkeypatch.setattr("teams.views.PAGE_SIZE", 1)
    client.force_login(provincial_staff)
    _response, page = get(client, reverse("teams:entity_list"), q="e", sub_venue="大同分园", sort="-name")
    query = parse_qs(urlsplit(export_links(page)["xlsx"]).query)
    assert query == {"q": ["e"], "sub_venue": ["大同分园"]}
    _response, page = get(client, reverse("teams:entity_list"), q="e", sort="-name")
    assert 'href="?q=e&amp;sort=-name&amp;page=2"' in page


def test_the_residency_queue_stays_in_the_operators_sub_venues(client, make_user, registry):
    from valley.core import roles

    operator = make_user(roles.SUB_VENUE_OPERATOR)
    operator.sub_venues.add(registry["datong"])
    spark_request, fenhe_request, their_request = registry["requests"]
    client.force_login(operator)
    url = reverse("teams:residency_queue")
    assert sorted(pks(get(client, url)[0])) == sorted([fenhe_request.pk, their_request.pk])
    assert pks(get(client, url, sub_venue="太原分园")[0]) == []  # a filter never widens the scope
    assert pks(get(client, url, q="汾河")[0]) == [fenhe_request.pk]
    assert pks(get(client, url, institution="山西大学")[0]) == [fenhe_request.pk]
    assert pks(get(client, url, sort="-entity")[0]) == [fenhe_request.pk, their_request.pk]  # 汾 > 别 in code points
    assert pks(get(client, url, sort="entity")[0]) == [their_request.pk, fenhe_request.pk]


def test_the_applicants_residency_requests(client, applicant, registry):
    spark_request, fenhe_request, _theirs = registry["requests"]
    client.force_login(applicant)
    url = reverse("teams:residency_requests")
    assert sorted(pks(get(client, url)[0])) == sorted([spark_request.pk, fenhe_request.pk])
    assert pks(get(client, url, sub_venue="Taiyuan")[0]) == [spark_request.pk]
    assert pks(get(client, url, q=str(fenhe_request.pk))[0]) == [fenhe_request.pk]
    assert pks(get(client, url, sort="number")[0]) == [spark_request.pk, fenhe_request.pk]
    assert pks(get(client, url, sort="-number")[0]) == [fenhe_request.pk, spark_request.pk]
    response, page = get(client, url, submitted_at_before="not a date", sort="nonsense")
    assert "Enter a valid date" in page and len(pks(response)) == 2


@pytest.mark.parametrize("name", ["teams:entity_list", "teams:residency_queue", "teams:residency_requests"])
def test_registry_lists_run_as_many_queries_with_more_rows(
    client,
    provincial_staff,
    applicant,
    registry,
    entity_factory,
    residency_factory,
    name,
    django_assert_max_num_queries,
):
    from teams.residency_request_models import ResidencyRequest

    reader = applicant if name != "teams:residency_queue" else provincial_staff
    client.force_login(reader)
    query = {"q": "a", "sub_venue": "大同分园", "institution": "山西大学", "sort": "-entity"}
    get(client, reverse(name), **query)
    with django_assert_max_num_queries(14) as few:
        get(client, reverse(name), **query)
    for _ in range(4):
        entity = entity_factory(owner=applicant, name_zh="大团队", name_en="A team")
        residency_factory(entity=entity, sub_venue=registry["datong"])
        ResidencyRequest.objects.create(entity=entity, sub_venue=registry["datong"], reason="x", submitted_by=applicant)
    with django_assert_max_num_queries(len(few)):
        response, _page = get(client, reverse(name), **query)
