"""CSV exports as an auditor receives them, and as a spreadsheet opens them."""

import csv
import datetime
import io
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from django.urls import reverse
from django.utils import translation

from funding.models import Application
from valley.models import AuditEntry

S = Application.State
# On PostgreSQL the export streams from COPY on a connection of its own, which sees only committed rows.
pytestmark = pytest.mark.django_db(transaction=True)


def download(client, name, **params):
    response = client.get(
        reverse("export_download", args=[name]),
        params,
        HTTP_ACCEPT_LANGUAGE=params.pop("language", "en") if "language" in params else "en",
    )
    assert response.status_code == 200, response.content[:500]
    assert response.streaming
    return response, b"".join(response.streaming_content)


@pytest.fixture
def auditor_client(client, auditor):
    client.force_login(auditor)
    return client


@pytest.fixture
def tricky_application(application_in):
    application = application_in(S.DISBURSEMENT, amount=1_000_000)
    Application.objects.filter(pk=application.pk).update(purpose='=HYPERLINK("http://x.example")')
    entity = application.entity
    entity.name_zh = "晋创谷·太原测试团队"
    entity.save()
    return application


def test_the_file_is_utf8_with_bom_and_says_what_and_when(auditor_client, tricky_application):
    response, body = download(auditor_client, "applications")
    assert body.startswith(b"\xef\xbb\xbf")
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"].startswith('attachment; filename="applications-2')
    rows = list(csv.DictReader(io.StringIO(body.decode("utf-8-sig")), dialect="excel"))
    row = next(r for r in rows if r["application"] == str(tricky_application.pk))
    assert row["entity (Chinese)"] == "晋创谷·太原测试团队"
    assert row["amount requested (yuan)"] == "1000000.00"
    assert row["disbursed so far (yuan)"] == "200000.00"  # the first instalment: 20% of the plan
    assert row["purpose"] == '\'=HYPERLINK("http://x.example")'  # shown as text, never run
    assert row["submitted at"].endswith("+08:00") and "T" in row["submitted at"]
    assert row["state"] == "disbursement"


def test_headers_follow_the_language_or_stay_machine_names(auditor_client, tricky_application):
    _response, zh = download(auditor_client, "applications", language="zh-hans")
    assert zh.decode("utf-8-sig").splitlines()[0].startswith("申请,")
    _response, machine = download(auditor_client, "applications", header="machine", language="zh-hans")
    assert machine.decode("utf-8-sig").splitlines()[0].startswith("id,entity_id,entity_zh,")


def test_filters_are_the_same_django_filter_sets(auditor_client, application_in):
    draft = application_in(S.DRAFT)
    submitted = application_in(S.SUBMITTED)
    _response, body = download(auditor_client, "applications", state="submitted", header="machine")
    ids = [row["id"] for row in csv.DictReader(io.StringIO(body.decode("utf-8-sig")))]
    assert ids == [str(submitted.pk)] and str(draft.pk) not in ids


def test_a_bad_filter_gets_a_message_not_a_file(auditor_client):
    response = auditor_client.get(
        reverse("export_download", args=["applications"]), {"state": "nonsense"}, HTTP_ACCEPT_LANGUAGE="en"
    )
    assert response.status_code == 400
    assert "Correct them" in response.content.decode()


def test_every_export_is_recorded_in_the_audit_log(auditor_client, auditor):
    download(auditor_client, "budgets", year="2026")
    entry = AuditEntry.objects.filter(action="export.csv").last()
    assert (entry.actor, entry.object_id, entry.after) == (auditor, "budgets", {"filters": {"year": "2026"}})


def a_portfolio_with_a_report():
    import datetime

    from tests.factories import FundFactory, InvestmentFactory, determined_case
    from tolerance.services import compliance_check_run
    from valley.models import User

    fund = FundFactory()
    active = InvestmentFactory(fund=fund)
    failed = InvestmentFactory(fund=fund, failed=True)
    compliance_check_run(fund=fund, as_of=datetime.date(2025, 12, 31))
    # Exemptions are people's determinations: the check's case is taken to one (a superuser holds every role).
    determined_case(failed, User.objects.create_superuser(email="decides@example.cn", password="x"))
    from decimal import Decimal

    from tolerance.valuation import valuation_mark_record

    valuation_mark_record(
        investment=active,
        by=None,
        as_of=datetime.date(2025, 12, 31),
        fair_value=Decimal("1500000.00"),
        method="recent_round",
        evidence="=A轮融资价格",  # a formula character: neutralised in the file
    )
    # The active investment's startup has its quarterly reports (for the company-reports export), one with figures.
    from tolerance.monitoring import company_report_save, company_reports_open_due

    figures = {"revenue": "1234567.89", "employees": 12, "rd_spend": "0.50", "patents_filed": 1}
    company_report_save(
        report=company_reports_open_due()[0],
        by=None,
        figures={**figures, "patents_granted": 0, "follow_on_funding": "3000000"},
    )


def a_service_request(entity):
    """A request of a resident entity (teams.service_requests), for the service-requests export."""
    from teams.models import Residency
    from teams.service_requests import service_request_submit
    from tests.factories import ResidencyFactory
    from valley.models import ServiceLine

    if not entity.residencies.filter(status__in=Residency.ACTIVE_STATUSES).exists():
        ResidencyFactory(entity=entity)
    line = ServiceLine.objects.create(code="finance", name_zh="金融服务", name_en="Finance")
    service_request_submit(entity=entity, line=line, by=entity.owner, subject="融资对接", details="对接天使投资。")


def test_every_listed_export_downloads(auditor_client, application_in):
    from tests.factories import AchievementFactory

    closed = application_in(S.CLOSED)
    application_in(S.RECOVERY)  # a recovery order for the recoveries export
    AchievementFactory(entity=closed.entity, title="=1+1 煤基碳纤维")
    a_portfolio_with_a_report()
    a_service_request(closed.entity)
    page = auditor_client.get(reverse("export_list"), HTTP_ACCEPT_LANGUAGE="en").content.decode()
    from valley.exports.engine import catalogue

    for name in catalogue():
        assert reverse("export_download", args=[name]) in page
        _response, body = download(auditor_client, name)
        assert len(body.decode("utf-8-sig").splitlines()) >= 2, name


def readme_offline_check() -> str:
    """The README's offline check of a downloaded audit log, exactly as printed there."""
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
    section = readme[readme.index("`audit-log.csv` without the portal") :]
    return section.split("```python\n", 1)[1].split("```", 1)[0]


def test_the_audit_log_export_can_be_verified_without_the_portal(
    auditor_client, application_in, settings, tmp_path, monkeypatch
):
    """The README's recipe, run on a downloaded file whose chain began with SHA-256 and goes on with SM3, and
    whose entries from before the source and outcome were recorded (hash format 1) precede the newer ones."""
    from valley import audit
    from valley.audit import chain

    settings.AUDIT_HASH_ALGORITHM = "sha256"  # a deployment from before SM3...
    with monkeypatch.context() as before_the_source:
        before_the_source.setattr(chain, "HASH_FORMAT", 1)  # ...and from before the source was recorded
        application_in(S.SUBMITTED)
    settings.AUDIT_HASH_ALGORITHM = "sm3"  # ...upgraded
    application_in(S.PUBLIC_NOTICE)
    # A browser's agent is the client's to choose, a formula start too: neutralised in the file, still checked.
    with audit.acting_from(address="2001:db8::7", agent='=HYPERLINK("http://evil.example") 浏览器'):
        audit.record(action="test.from_a_browser", outcome="refused")
    _response, body = download(auditor_client, "audit-log", header="machine")
    *rows, end = list(csv.DictReader(io.StringIO(body.decode("utf-8-sig"))))
    assert end["id"] == "#end"
    assert {row["hash_algorithm"] for row in rows} == {"sha256", "sm3"}
    assert {row["hash_format"] for row in rows} == {"1", "2"}
    browser = next(row for row in rows if row["action"] == "test.from_a_browser")
    assert (browser["source_address"], browser["outcome"]) == ("2001:db8::7", "refused")
    assert browser["user_agent"] == '\'=HYPERLINK("http://evil.example") 浏览器'
    for row in rows:
        # Beside the hashed UTC time, the same moment in Beijing time, as the other exports write it.
        utc, local = datetime.datetime.fromisoformat(row["at"]), datetime.datetime.fromisoformat(row["at_local"])
        assert local.utcoffset() == datetime.timedelta(hours=8)
        assert local == utc.replace(microsecond=0)

    check = readme_offline_check()
    assert 'hashlib.new("sm3"' in check
    monkeypatch.chdir(tmp_path)
    (tmp_path / "audit-log.csv").write_bytes(body)
    done = subprocess.run([sys.executable, "-c", check], capture_output=True, text=True, timeout=60)
    assert (done.returncode, done.stdout.strip()) == (0, "intact"), done.stderr

    # An entry altered in the file, or one left out, fails the check.
    lines = body.decode("utf-8-sig").splitlines(keepends=True)
    victim = next(i for i, line in enumerate(lines) if "funding.application.approve" in line)
    (tmp_path / "audit-log.csv").write_text("".join(lines).replace("approve", "reject", 1), encoding="utf-8")
    done = subprocess.run([sys.executable, "-c", check], capture_output=True, text=True, timeout=60)
    assert done.returncode == 1 and "altered" in done.stderr
    (tmp_path / "audit-log.csv").write_text("".join(lines[:victim] + lines[victim + 1 :]), encoding="utf-8")
    done = subprocess.run([sys.executable, "-c", check], capture_output=True, text=True, timeout=60)
    assert done.returncode == 1 and "chain broken" in done.stderr


def run_readme_check(tmp_path, monkeypatch, text: str) -> subprocess.CompletedProcess:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "audit-log.csv").write_text(text, encoding="utf-8")
    return subprocess.run([sys.executable, "-c", readme_offline_check()], capture_output=True, text=True, timeout=60)


def test_the_audit_log_download_ends_with_its_own_proof(auditor_client, application_in, tmp_path, monkeypatch):
    """The file's last line says how many entries it holds and where it ends, so the README's check finds a file
    cut short (entries removed at the end, with or without the end line) as well as an edited one."""
    application_in(S.PUBLIC_NOTICE)
    _response, body = download(auditor_client, "audit-log", header="machine")
    text = body.decode("utf-8-sig")
    header, *entries, end = list(csv.reader(io.StringIO(text)))
    last = dict(zip(header, entries[-1], strict=True))
    assert end == ["#end", f"entries={len(entries)}", f"last_id={last['id']}", f"last_hash={last['hash']}"]
    assert int(last["id"]) == len(entries) == AuditEntry.objects.filter(id__lte=AuditEntry.PENDING_FROM).count()

    assert run_readme_check(tmp_path, monkeypatch, text).stdout.strip() == "intact"

    lines = text.splitlines(keepends=True)
    # The last two entries removed, the end line kept: the chain that is left is intact in itself.
    cut = run_readme_check(tmp_path, monkeypatch, "".join(lines[:-3] + lines[-1:]))
    assert cut.returncode == 1 and "cut short or was edited" in cut.stderr
    assert f"holds {len(entries) - 2} entries" in cut.stderr
    # Cut along with the end line: the line is missing.
    cut = run_readme_check(tmp_path, monkeypatch, "".join(lines[:-3]))
    assert cut.returncode == 1 and "#end line is missing" in cut.stderr
    # An entry edited: its hash no longer fits.
    assert "export.csv" in lines[-2]  # the last entry: this download itself
    edited_lines = [*lines[:-2], lines[-2].replace("export.csv", "export.xls"), lines[-1]]
    edited = run_readme_check(tmp_path, monkeypatch, "".join(edited_lines))
    assert edited.returncode == 1 and "altered" in edited.stderr
    # An entry appended after the end line (a forged one, with a fitting chain or not).
    appended = run_readme_check(tmp_path, monkeypatch, "".join(lines + lines[-2:-1]))
    assert appended.returncode == 1 and "after the #end line" in appended.stderr


def test_an_empty_audit_log_still_ends_with_its_proof(auditor):
    from valley.audit.exports import AUDIT_LOG
    from valley.exports import engine as csv_export

    text = "".join(csv_export.stream(AUDIT_LOG, AuditEntry.objects.none(), machine_header=True))
    assert text.splitlines()[-1] == "#end,entries=0,last_id=0,last_hash=" + "0" * 64


def test_only_auditors_and_provincial_staff_download_the_audit_log(client, make_user, auditor):
    """The whole log or nothing (valley.audit.access): operators and the other staff roles do not see the export
    in the catalogue, and its URL is hidden from them (404), while they keep every other export."""
    from valley.core import roles

    readers = [auditor, make_user(roles.PROVINCIAL_STAFF, email="province@example.cn")]
    others = [
        make_user(code, email=f"{code}@example.cn")
        for code in (roles.SUB_VENUE_OPERATOR, roles.REVIEWER, roles.FINANCE_OFFICER, roles.PORTFOLIO_MANAGER)
    ]
    audit_url = reverse("export_download", args=["audit-log"])
    for user in readers + others:
        client.force_login(user)
        page = client.get(reverse("export_list")).content.decode()
        reads = user in readers
        assert (audit_url in page, reverse("audit_check") in page) == (reads, reads), user.email
        assert client.get(audit_url).status_code == (200 if reads else 404), user.email
        assert client.get(reverse("audit_check")).status_code == (200 if reads else 404), user.email
        assert client.get(reverse("export_download", args=["applications"])).status_code == 200, user.email


def test_applicants_cannot_download(client, applicant):
    client.force_login(applicant)
    assert client.get(reverse("export_list")).status_code == 404
    assert client.get(reverse("export_download", args=["applications"])).status_code == 404


SOFFICE = shutil.which("soffice") or shutil.which("libreoffice")


@pytest.mark.skipif(
    SOFFICE is None and not __import__("os").environ.get("VALLEY_REQUIRE_SERVICES"),
    reason="needs LibreOffice (apt-get install libreoffice-calc-nogui)",
)
def test_libreoffice_opens_the_export_with_chinese_numbers_and_inert_formulas(
    auditor_client, tricky_application, tmp_path
):
    assert SOFFICE, "LibreOffice is required in CI"
    _response, body = download(auditor_client, "applications", language="zh-hans")
    source = tmp_path / "applications.csv"
    source.write_bytes(body)
    subprocess.run(
        [
            SOFFICE,
            "--headless",
            f"-env:UserInstallation=file://{tmp_path}/lo-profile",
            "--infilter=CSV:44,34,76,1",
            "--convert-to",
            "fods",
            "--outdir",
            str(tmp_path),
            str(source),
        ],
        check=True,
        capture_output=True,
        timeout=180,
    )
    ns = {
        "table": "urn:oasis:names:tc:opendocument:xmlns:table:1.0",
        "office": "urn:oasis:names:tc:opendocument:xmlns:office:1.0",
        "text": "urn:oasis:names:tc:opendocument:xmlns:text:1.0",
    }
    tree = ET.parse(tmp_path / "applications.fods")
    table_rows = tree.findall(".//table:table-row", ns)

    def cells(row):
        found = []
        for cell in row.findall("table:table-cell", ns):
            repeat = int(cell.get(f"{{{ns['table']}}}number-columns-repeated", "1"))
            text = "".join("".join(p.itertext()) for p in cell.findall("text:p", ns))
            kind = cell.get(f"{{{ns['office']}}}value-type")
            found.extend([(text, kind, cell.get(f"{{{ns['office']}}}value"))] * min(repeat, 50))
        return found

    header = [text for text, _kind, _value in cells(table_rows[0])]
    data = [cells(row) for row in table_rows[1:]]
    row = next(r for r in data if r[header.index("申请")][0] == str(tricky_application.pk))
    assert row[header.index("创新主体（中文）")][0] == "晋创谷·太原测试团队"
    amount_text, amount_kind, amount_value = row[header.index("申请金额（元）")]
    assert amount_kind == "float" and float(amount_value) == 1_000_000.0
    purpose_text, purpose_kind, _value = row[header.index("用途")]
    # A text cell, never a formula; the neutralising apostrophe stays visible, which is the point.
    assert purpose_kind == "string" and purpose_text == '\'=HYPERLINK("http://x.example")'
    assert "formula" not in ET.tostring(table_rows[1 + data.index(row)]).decode()
    print(f"\nLibreOffice read {len(data)} rows; amount {amount_value} as a number; purpose {purpose_text!r} as text")


@pytest.mark.postgres
def test_postgresql_copy_path_writes_the_same_file_as_the_python_path(transactional_db, application_in, auditor):
    from valley.exports import engine as csv_export
    from valley.exports import pgcopy as csv_copy

    application = application_in(S.CLOSED, amount=654321)
    Application.objects.filter(pk=application.pk).update(purpose='+1 "quoted", comma\nnew line\t=tab', plan="@sum(A1)")
    application.entity.name_en = ""  # empty text
    application.entity.save()
    application_in(S.DRAFT)
    application_in(S.RECOVERY)
    a_portfolio_with_a_report()
    from tests.factories import AchievementFactory

    AchievementFactory(entity=application.entity, title="-DROP 煤基碳纤维")
    AchievementFactory(entity=application.entity, title="回车\r只有回车")  # a lone CR must be quoted too
    a_service_request(application.entity)
    for export in csv_export.catalogue().values():
        if not csv_copy.supported(export):
            continue
        queryset = export.queryset(auditor)
        python_file = "".join(csv_export.stream(export, queryset)).encode()
        copy_file = b"".join(csv_export._copy_stream(export, queryset, machine_header=False))
        assert copy_file == python_file, export.name
        assert python_file.count(b"\n") > 1, export.name
    assert csv_copy.supported(csv_export.catalogue()["applications"])
    assert not csv_copy.supported(csv_export.catalogue()["audit-log"])  # its JSON must be byte-exact


def test_the_filters_labels_follow_the_readers_language_whoever_read_them_first(auditor_client):
    # django-filter makes a model field's filter label once; read first in English (the API's schema, a
    # program asking in English), it used to stay English on every later Chinese page.
    from teams.filters import ResidencyFilter

    assert auditor_client.get("/api/schema/", HTTP_ACCEPT_LANGUAGE="en").status_code == 200
    with translation.override("en"):
        assert str(ResidencyFilter().form.fields["status"].label) == "Status"
    page = auditor_client.get(reverse("export_list"), HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    assert ">Status<" not in page and "状态" in page
    with translation.override("zh-hans"):
        assert str(ResidencyFilter().form.fields["status"].label) == "状态"
