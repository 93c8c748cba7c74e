"""Exports as spreadsheets (XLSX): typed cells, the same rows and scope as the CSV, and the exports page."""

import csv
import datetime
import io
import shutil
import subprocess
import tracemalloc
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone
from openpyxl import load_workbook

from funding.models import Application
from valley.core import roles
from valley.models import AuditEntry

S = Application.State
pytestmark = pytest.mark.django_db


def download_xlsx(client, name, language="en", **params):
    response = client.get(reverse("export_download_xlsx", args=[name]), params, HTTP_ACCEPT_LANGUAGE=language)
    assert response.status_code == 200, response.content[:500]
    assert response["Content-Type"] == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    body = b"".join(response.streaming_content)
    return response, body


def sheet_of(body):
    return load_workbook(io.BytesIO(body)).active


def table(sheet):
    header, *data = list(sheet.iter_rows(values_only=True))
    return list(header), [dict(zip(header, row, strict=True)) for row in data]


@pytest.fixture
def auditor_client(client, auditor):
    client.force_login(auditor)
    return client


@pytest.fixture
def tricky_applications(application_in):
    formula = application_in(S.DISBURSEMENT, amount=Decimal("1000000.00"))
    minus = application_in(S.SUBMITTED, amount=Decimal("301234.50"))
    Application.objects.filter(pk=formula.pk).update(purpose="=1+2")
    Application.objects.filter(pk=minus.pk).update(purpose="-1+2 项目")
    return formula, minus


def test_cells_have_their_real_types_and_text_needs_no_apostrophe(auditor_client, tricky_applications):
    formula, minus = tricky_applications
    response, body = download_xlsx(auditor_client, "applications")
    assert response["Content-Disposition"].startswith('attachment; filename="applications-2')
    assert response["Content-Disposition"].rstrip('"').endswith(".xlsx")
    sheet = sheet_of(body)
    header, rows = table(sheet)
    by_id = {row["application"]: row for row in rows}
    row, other = by_id[formula.pk], by_id[minus.pk]

    assert row["purpose"] == "=1+2" and other["purpose"] == "-1+2 项目"  # stored as text, no apostrophe
    purpose_column = header.index("purpose") + 1
    formula_row = next(cells for cells in sheet.iter_rows(min_row=2) if cells[0].value == formula.pk)
    assert formula_row[purpose_column - 1].data_type == "s"  # a string, not a formula

    amount = row["amount requested (yuan)"]
    assert isinstance(amount, int | float | Decimal) and amount == 1_000_000
    assert other["amount requested (yuan)"] == pytest.approx(301234.5)
    amount_cell = formula_row[header.index("amount requested (yuan)")]
    assert amount_cell.number_format == "#,##0.00"
    assert row["disbursed so far (yuan)"] == 200_000  # the first instalment: 20% of the plan
    assert isinstance(row["application"], int)

    notice = row["public notice ends on"]
    assert isinstance(notice, datetime.date) and notice.date() == formula.notice_ends_on
    assert formula_row[header.index("public notice ends on")].number_format == "yyyy-mm-dd"

    # Timestamps in Beijing time, without an offset (Excel has none), as the header says.
    submitted = row["submitted at (Beijing time)"]
    assert submitted.tzinfo is None
    expected = timezone.localtime(formula.submitted_at).replace(tzinfo=None, microsecond=0)
    assert submitted.replace(microsecond=0) == expected
    assert row["state"] == "disbursement"


def test_the_header_is_bold_frozen_translated_and_columns_are_wide_enough(auditor_client, tricky_applications):
    _response, body = download_xlsx(auditor_client, "applications", language="zh-hans")
    sheet = sheet_of(body)
    assert sheet.freeze_panes == "A2"
    first = sheet["A1"]
    assert first.value == "申请" and first.font.b
    assert sheet.column_dimensions["C"].width >= 14  # the entity's Chinese name
    _response, machine = download_xlsx(auditor_client, "applications", header="machine")
    assert [cell.value for cell in sheet_of(machine)[1]][:3] == ["id", "entity_id", "entity_zh"]


def test_the_audit_log_keeps_its_hashed_columns_as_exact_text(auditor_client, tricky_applications):
    from valley.exports import engine as csv_export

    download_xlsx(auditor_client, "applications")  # leaves an entry to read back
    csv_response = auditor_client.get(reverse("export_download", args=["audit-log"]), {"header": "machine"})
    csv_rows = list(csv.DictReader(io.StringIO(b"".join(csv_response.streaming_content).decode("utf-8-sig"))))
    csv_rows = [row for row in csv_rows if row["id"] != "#end"]  # the CSV's own proof line (see the README)
    _response, body = download_xlsx(auditor_client, "audit-log", header="machine")
    _header, rows = table(sheet_of(body))
    assert len(rows) >= len(csv_rows) > 0
    for csv_row, row in zip(csv_rows, rows, strict=False):
        for key in ("at", "before", "after", "prev_hash", "hash", "hash_algorithm"):
            assert (row[key] or "") == csv_row[key].removeprefix("'"), key
    assert csv_export.catalogue()["audit-log"]


def test_every_xlsx_is_recorded_in_the_audit_log_like_the_csv(auditor_client, auditor, budget):
    download_xlsx(auditor_client, "budgets", year=str(budget.year))
    entry = AuditEntry.objects.filter(action="export.xlsx").last()
    assert (entry.actor, entry.object_id, entry.after) == (auditor, "budgets", {"filters": {"year": str(budget.year)}})


def test_every_export_downloads_as_xlsx_with_the_csv_rows(auditor_client, application_in):
    from valley.exports.engine import catalogue

    application_in(S.CLOSED)
    application_in(S.RECOVERY)
    for name, export in catalogue().items():
        _response, body = download_xlsx(auditor_client, name)
        header = [cell.value for cell in sheet_of(body)[1]]
        assert len(header) == len(export.columns), name


def test_an_operator_gets_only_their_sub_venues_rows_in_the_xlsx(client, application_in, make_user):
    from tests.factories import SubVenueFactory

    mine = application_in(S.SUBMITTED)
    operator = make_user(roles.SUB_VENUE_OPERATOR)
    operator.sub_venues.add(SubVenueFactory())
    client.force_login(operator)
    _response, body = download_xlsx(client, "applications")
    assert table(sheet_of(body))[1] == []
    operator.sub_venues.add(mine.sub_venue)
    _response, body = download_xlsx(client, "applications")
    assert [row["application"] for row in table(sheet_of(body))[1]] == [mine.pk]


def test_applicants_cannot_download_the_xlsx(client, applicant):
    client.force_login(applicant)
    assert client.get(reverse("export_download_xlsx", args=["applications"])).status_code == 404


# ------------------------------------------------------------------------------------------ memory


def _peak_bytes(rows: int) -> int:
    from valley.exports import xlsx
    from valley.exports.engine import catalogue

    export = catalogue()["applications"]
    now = timezone.now()
    row = (
        1,
        2,
        "晋创谷·太原测试团队",
        "Team",
        "taiyuan",
        "submitted",
        Decimal("500000.00"),
        "中试线建设" * 5,
        now,
        Decimal("400000.00"),
        now,
        "a@example.cn",
        datetime.date(2026, 1, 5),
        Decimal("1.00"),
        None,
    )
    tracemalloc.start()
    try:
        xlsx.write(export, xlsx.header(export, machine=True), (row for _ in range(rows)), io.BytesIO())
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_memory_stays_flat_as_the_rows_grow():
    """Write-only mode: the cells go to disk as they come. A workbook kept in memory grows with the rows
    (some 50 MB for these 20,000), and fails this."""
    small, large = _peak_bytes(1_000), _peak_bytes(20_000)
    assert large < small + 4 * 1024 * 1024, (small, large)


# -------------------------------------------------------------------------------------- the page


def test_the_chinese_exports_page_offers_both_formats_with_named_translated_filters(auditor_client, application_in):
    application_in(S.SUBMITTED)
    page = auditor_client.get(reverse("export_list"), HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    for english in ("Exclude", "is null", "Residencies", "Residency"):
        assert english not in page, english
    assert reverse("export_download_xlsx", args=["applications"]) in page
    assert reverse("export_download", args=["applications"]) in page
    assert 'type="date" name="submitted_at_after"' in page
    assert 'name="sub_venue"' in page and "<option value" in page  # a choice by name, not a number to type
    assert 'type="number" name="sub_venue"' not in page


def test_filtering_by_the_chinese_name_of_a_sub_venue(auditor_client, application_in, residency_factory):
    from tests.factories import SubVenueFactory

    taiyuan = application_in(S.SUBMITTED)
    taiyuan.sub_venue.name_zh = "太原"
    taiyuan.sub_venue.save()
    other = application_in(S.SUBMITTED)
    Application.objects.filter(pk=other.pk).update(sub_venue=SubVenueFactory(name_zh="大同"))
    for value in ("太原", taiyuan.sub_venue.code, str(taiyuan.sub_venue.pk)):
        _response, body = download_xlsx(auditor_client, "applications", language="zh-hans", sub_venue=value)
        assert [row["申请"] for row in table(sheet_of(body))[1]] == [taiyuan.pk], value


def test_an_unknown_sub_venue_gets_a_message_in_chinese(auditor_client):
    response = auditor_client.get(
        reverse("export_download_xlsx", args=["applications"]), {"sub_venue": "朔州"}, HTTP_ACCEPT_LANGUAGE="zh-hans"
    )
    assert response.status_code == 400
    page = response.content.decode()
    start = page.index('role="alert"')
    message = page[start : page.index("</ul>", start)]
    assert "<strong>分园</strong>" in message and "朔州" in message  # the field by its name, the value quoted
    assert "输入整数" not in message and "sub_venue" not in message


SOFFICE = shutil.which("soffice") or shutil.which("libreoffice")


@pytest.mark.skipif(SOFFICE is None, reason="needs LibreOffice (apt-get install libreoffice-calc-nogui)")
def test_libreoffice_shows_the_text_cells_without_an_apostrophe(auditor_client, tricky_applications, tmp_path):
    formula, minus = tricky_applications
    _response, body = download_xlsx(auditor_client, "applications", header="machine")
    source = tmp_path / "applications.xlsx"
    source.write_bytes(body)
    subprocess.run(
        [
            SOFFICE,
            "--headless",
            f"-env:UserInstallation=file://{tmp_path}/lo-profile",
            "--convert-to",
            "csv:Text - txt - csv (StarCalc):44,34,76,1",
            "--outdir",
            str(tmp_path),
            str(source),
        ],
        check=True,
        capture_output=True,
        timeout=180,
    )
    rows = {row["id"]: row for row in csv.DictReader(io.StringIO((tmp_path / "applications.csv").read_text("utf-8")))}
    assert rows[str(formula.pk)]["purpose"] == "=1+2"  # shown as typed: neither run (3) nor marked with '
    assert rows[str(minus.pk)]["purpose"] == "-1+2 项目"
    assert rows[str(formula.pk)]["amount"].replace(",", "") == "1000000.00"
