"""The auditors' CSV of valuation marks: every mark (corrections and the marks they supersede), readable
labels in the reader's language, the API's filters; nothing for applicants."""

import csv
import datetime
import io
from decimal import Decimal

import pytest
from django.urls import reverse

from tests.factories import FundFactory, InvestmentFactory
from tolerance.valuation import valuation_mark_record

# On PostgreSQL the export streams from COPY on a connection of its own, which sees only committed rows.
pytestmark = pytest.mark.django_db(transaction=True)


def rows(client, **params):
    response = client.get(reverse("export_download", args=["valuation-marks"]), params, HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 200, response.content[:500]
    return list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode("utf-8-sig"))))


def test_auditors_download_every_mark_and_applicants_nothing(client, auditor, applicant):
    fund = FundFactory(name_zh="天使基金")
    investment = InvestmentFactory(fund=fund, invested_on=datetime.date(2024, 3, 1))
    other = InvestmentFactory(invested_on=datetime.date(2024, 3, 1))
    common = {"by": None, "as_of": datetime.date(2024, 12, 31), "evidence": "倍数法"}
    valuation_mark_record(investment=investment, fair_value=Decimal("2000000"), method="multiples", **common)
    valuation_mark_record(investment=investment, fair_value=Decimal("1800000"), method="multiples", **common)
    valuation_mark_record(investment=other, fair_value=Decimal("0"), method="write_down", **common)

    client.force_login(auditor)
    everything = rows(client)
    assert len(everything) == 3
    first = everything[0]
    assert first["fund"] == "天使基金" and first["valuation method"] == "market multiples"
    assert first["fair value (yuan)"] == "2000000.00" and first["valuation date"] == "2024-12-31"
    assert [row["fair value (yuan)"] for row in rows(client, fund=fund.pk)] == ["2000000.00", "1800000.00"]
    assert [row["valuation method"] for row in rows(client, method="write_down")] == ["write-down"]

    client.force_login(applicant)
    assert client.get(reverse("export_download", args=["valuation-marks"])).status_code == 404
