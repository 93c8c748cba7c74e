"""“Export this view”: list pages link to their rows as CSV and XLSX, filtered like the page."""

import io
from urllib.parse import parse_qs, urlsplit

import pytest
from django.urls import reverse
from openpyxl import load_workbook

from funding.models import Application

S = Application.State
pytestmark = pytest.mark.django_db


def export_links(page: str) -> dict[str, str]:
    start = page.index('class="export-this-view"')
    chunk = page[start : page.index("</p>", start)]
    hrefs = [part.split('"', 1)[0].replace("&amp;", "&") for part in chunk.split('href="')[1:]]
    return {urlsplit(href).path.rsplit(".", 1)[1]: href for href in hrefs}


def test_a_work_queue_exports_its_own_applications(client, auditor, application_in):
    waiting = application_in(S.SUBMITTED)
    elsewhere = application_in(S.DISBURSEMENT)
    client.force_login(auditor)
    page = client.get(reverse("funding:queue", args=["formal"]), HTTP_ACCEPT_LANGUAGE="en").content.decode()
    links = export_links(page)
    assert set(links) == {"csv", "xlsx"}
    assert sorted(parse_qs(urlsplit(links["xlsx"]).query)["state"]) == ["formal_review", "submitted"]
    response = client.get(links["xlsx"])
    assert response.status_code == 200
    ids = [
        row[0]
        for row in load_workbook(io.BytesIO(b"".join(response.streaming_content))).active.iter_rows(
            min_row=2, values_only=True
        )
    ]
    assert ids == [waiting.pk] and elsewhere.pk not in ids
    assert client.get(links["csv"]).status_code == 200


def test_the_page_query_is_carried_over_without_the_page_number(client, auditor, application_in):
    application = application_in(S.SUBMITTED)
    client.force_login(auditor)
    url = reverse("teams:entity_list")
    page = client.get(url, {"kind": "team", "page": "2", "sort": "name"}, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    query = parse_qs(urlsplit(export_links(page)["csv"]).query)
    assert query == {"kind": ["team"]}
    page = client.get(
        reverse("funding:queue", args=["formal"]), {"sub_venue": application.sub_venue.code}, HTTP_ACCEPT_LANGUAGE="en"
    ).content.decode()
    assert parse_qs(urlsplit(export_links(page)["xlsx"]).query)["sub_venue"] == [application.sub_venue.code]


def test_the_fund_dashboard_exports_the_funds_investments(client, auditor):
    from tests.factories import FundFactory

    fund = FundFactory()
    client.force_login(auditor)
    page = client.get(reverse("tolerance:fund_dashboard", args=[fund.pk]), HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert parse_qs(urlsplit(export_links(page)["xlsx"]).query) == {"fund": [str(fund.pk)]}
    assert "Export this view" in page


def test_applicants_get_no_export_link(client, applicant):
    client.force_login(applicant)
    page = client.get(reverse("teams:entity_list"), HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "export-this-view" not in page
