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
    from valley.web import listing

    monkeypatch.setattr(listing, "PAGE_SIZE", 1)
    monkeypatch.setattr(listing.Listing.__init__, "__kwdefaults__", {"export": None, "fixed": None, "page_size": 1})
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
