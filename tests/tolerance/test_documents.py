"""An investment's documents go through the one document mechanism: type read from the content, random stored
names with the detected extension, served only through a permission-checked view, every door the same."""

import datetime
from urllib.parse import quote

import pytest
from django.core.cache import cache
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import translation

from tests.conftest import files_under
from tests.factories import EXE_BYTES, PDF_BYTES, PNG_BYTES, FundFactory, InvestmentFactory
from tolerance import documents
from tolerance.models import InvestmentDocument
from tolerance.portfolio import InvalidRecord, NotPortfolioManager, investment_delete
from tolerance.services import compliance_check_run
from valley.core import roles
from valley.models import AuditEntry

# The start of a Linux executable (ELF header), as a program renamed `.pdf` would have.
ELF_BYTES = b"\x7fELF\x02\x01\x01\x00" + b"\x00" * 8 + b"\x02\x00\x3e\x00\x01\x00\x00\x00" + b"\x00" * 200

HOSTILE = [
    pytest.param("dd-report.pdf", ELF_BYTES, "really a “elf” file", id="elf-named-pdf"),
    pytest.param("minutes.pdf", EXE_BYTES, "really a “exe” file", id="pe-named-pdf"),
    pytest.param("setup.exe", EXE_BYTES, "really a “exe” file", id="setup-exe"),
]


@pytest.fixture
def portfolio_manager(make_user):
    return make_user(roles.PORTFOLIO_MANAGER, email="pm@example.cn")


@pytest.fixture
def operator(make_user):
    return make_user(roles.SUB_VENUE_OPERATOR, email="operator@example.cn")


@pytest.fixture
def investment(db):
    return InvestmentFactory(fund=FundFactory(name_en="Angel Fund", name_zh="天使基金"))


@pytest.fixture
def document(investment, portfolio_manager, media_root):
    return documents.investment_document_upload(
        investment=investment,
        by=portfolio_manager,
        kind=InvestmentDocument.Kind.DUE_DILIGENCE,
        title="尽职调查报告",
        upload=SimpleUploadedFile("尽调报告.pdf", PDF_BYTES, content_type="application/pdf"),
    )


def _unescape(body: str) -> str:
    return body.replace("&ldquo;", "“").replace("&rdquo;", "”").replace("&#x27;", "'")


# ------------------------------------------------------------------------------------------ refused files


@pytest.mark.parametrize(("name", "content", "message"), HOSTILE)
def test_the_admin_refuses_an_executable_with_a_message_next_to_the_file(
    client, portfolio_manager, investment, media_root, name, content, message
):
    client.force_login(portfolio_manager)
    response = client.post(
        reverse("admin:tolerance_investmentdocument_add"),
        {
            "investment": investment.pk,
            "kind": "due_diligence",
            "title": "尽职调查报告",
            "file": SimpleUploadedFile(name, content, content_type="application/pdf"),
        },
        HTTP_ACCEPT_LANGUAGE="en",
    )
    assert response.status_code == 200
    errors = response.context["adminform"].form.errors["file"]
    assert any(message in error for error in errors), errors
    assert message in _unescape(response.content.decode())
    assert not InvestmentDocument.objects.exists() and files_under(media_root) == set()


@pytest.mark.parametrize(("name", "content", "message"), HOSTILE)
def test_the_investments_inline_refuses_an_executable_too(
    client, portfolio_manager, investment, media_root, name, content, message
):
    from tests.tolerance.test_admin import investment_form

    client.force_login(portfolio_manager)
    data = investment_form(
        investment.fund,
        investment.startup,
        **{
            "parties-TOTAL_FORMS": "0",
            "documents-TOTAL_FORMS": "1",
            "documents-0-kind": "evidence",
            "documents-0-title": "证明材料",
            "documents-0-file": SimpleUploadedFile(name, content, content_type="application/pdf"),
        },
    )
    response = client.post(
        reverse("admin:tolerance_investment_change", args=[investment.pk]), data, HTTP_ACCEPT_LANGUAGE="zh-hans"
    )
    assert response.status_code == 200
    (formset,) = [f.formset for f in response.context["inline_admin_formsets"] if f.formset.prefix == "documents"]
    (errors,) = [form.errors.get("file") for form in formset.forms]
    assert errors and "实际上是" in errors[0], errors  # in Chinese on a Chinese page
    assert not InvestmentDocument.objects.exists() and files_under(media_root) == set()


@pytest.mark.parametrize(("name", "content", "message"), HOSTILE)
def test_the_service_refuses_an_executable_and_stores_nothing(
    portfolio_manager, investment, media_root, name, content, message
):
    with pytest.raises(InvalidRecord) as refused, translation.override("en"):
        documents.investment_document_upload(
            investment=investment,
            by=portfolio_manager,
            kind="evidence",
            title="证明材料",
            upload=SimpleUploadedFile(name, content, content_type="application/pdf"),
        )
    assert any(message in error for error in refused.value.errors["file"])
    assert not InvestmentDocument.objects.exists() and files_under(media_root) == set()
    assert not AuditEntry.objects.filter(action="tolerance.document.uploaded").exists()


def test_only_portfolio_managers_upload_or_delete(investment, provincial_staff, auditor, document, media_root):
    for user in (provincial_staff, auditor):
        with pytest.raises(NotPortfolioManager):
            documents.investment_document_upload(
                investment=investment, by=user, kind="other", title="x", upload=SimpleUploadedFile("a.pdf", PDF_BYTES)
            )
        with pytest.raises(NotPortfolioManager):
            documents.investment_document_delete(document=document, by=user)
    assert InvestmentDocument.objects.count() == 1 and len(files_under(media_root)) == 1


# ------------------------------------------------------------------------------------------ stored files


def test_a_real_pdf_from_the_admin_is_stored_under_a_random_name_with_pdf(
    client, portfolio_manager, investment, media_root
):
    client.force_login(portfolio_manager)
    response = client.post(
        reverse("admin:tolerance_investmentdocument_add"),
        {
            "investment": investment.pk,
            "kind": "decision_minutes",
            "title": "投资决策委员会会议纪要",
            "file": SimpleUploadedFile("../纪要 final.exe.pdf", PDF_BYTES, content_type="application/octet-stream"),
        },
    )
    assert response.status_code == 302
    document = InvestmentDocument.objects.get()
    (stored,) = files_under(media_root)
    assert stored == document.file.name
    assert stored.startswith("tolerance/") and stored.endswith(".pdf") and "纪要" not in stored
    assert len(stored.removeprefix("tolerance/").removesuffix(".pdf")) == 32  # uuid4 hex
    assert document.original_name == "纪要 final.exe.pdf"
    assert (document.kind, document.content_type, document.size) == (
        "decision_minutes",
        "application/pdf",
        len(PDF_BYTES),
    )
    assert document.uploaded_by == portfolio_manager
    entry = AuditEntry.objects.get(action="tolerance.document.uploaded", object_id=str(document.pk))
    assert entry.actor_id == portfolio_manager.pk and entry.after["file"] == stored


def test_an_image_named_pdf_is_stored_as_the_image_it_is(portfolio_manager, investment, media_root):
    document = documents.investment_document_upload(
        investment=investment,
        by=portfolio_manager,
        kind="evidence",
        title="扫描件",
        upload=SimpleUploadedFile("scan.pdf", PNG_BYTES),
    )
    assert document.content_type == "image/png" and document.file.name.endswith(".png")


def test_a_plain_admin_save_cannot_give_a_stored_file_an_executable_extension(investment, media_root):
    # Even a write that skipped the service (it must not happen) gets a random name without ".exe".
    document = InvestmentDocument(investment=investment, title="x", content_type="application/pdf", size=1)
    document.file.save("setup.exe", SimpleUploadedFile("setup.exe", PDF_BYTES), save=True)
    assert not document.file.name.endswith(".exe") and "setup" not in document.file.name


def test_a_document_from_before_the_checks_is_of_kind_other(investment):
    assert InvestmentDocument(investment=investment, title="旧文件").kind == "other"


# ------------------------------------------------------------------------------------------ downloads


@pytest.mark.parametrize("role", [roles.PORTFOLIO_MANAGER, roles.PROVINCIAL_STAFF, roles.AUDITOR])
def test_portfolio_readers_download_it_safely_and_the_download_is_recorded(client, make_user, document, role):
    reader = make_user(role)
    client.force_login(reader)
    response = client.get(reverse("tolerance:investment_document_download", args=[document.pk]))
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == PDF_BYTES
    assert response["Content-Type"] == "application/pdf"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Content-Disposition"].startswith("attachment;")
    assert quote("尽调报告.pdf") in response["Content-Disposition"]
    entry = AuditEntry.objects.get(action="tolerance.document.downloaded", object_id=str(document.pk))
    assert entry.actor_id == reader.pk


def test_applicants_and_operators_are_refused_and_visitors_sent_to_log_in(
    client, document, applicant, operator, make_user
):
    url = reverse("tolerance:investment_document_download", args=[document.pk])
    assert client.get(url).status_code == 302
    for user in (applicant, operator, make_user(roles.REVIEWER)):
        client.force_login(user)
        assert client.get(url).status_code == 403, user
    assert not AuditEntry.objects.filter(action="tolerance.document.downloaded").exists()


def test_an_unknown_document_is_404(client, auditor, db):
    client.force_login(auditor)
    assert client.get(reverse("tolerance:investment_document_download", args=[999999])).status_code == 404


def test_the_admins_links_point_to_the_download_view(client, portfolio_manager, document):
    client.force_login(portfolio_manager)
    download = reverse("tolerance:investment_document_download", args=[document.pk])
    for page in (
        reverse("admin:tolerance_investmentdocument_change", args=[document.pk]),
        reverse("admin:tolerance_investment_change", args=[document.investment_id]),
    ):
        body = client.get(page).content.decode()
        assert f'href="{download}"' in body, page
        assert "media-not-served" not in body, page
        assert client.get(download).status_code == 200


# ------------------------------------------------------------------------------------------ the staff page


def test_a_manager_uploads_from_the_investments_page_and_a_bad_file_gets_a_message(
    client, portfolio_manager, investment, media_root
):
    client.force_login(portfolio_manager)
    url = reverse("tolerance:investment_documents", args=[investment.pk])
    assert client.get(url).status_code == 200
    response = client.post(
        url,
        {"kind": "evidence", "title": "证明", "file": SimpleUploadedFile("setup.exe", EXE_BYTES)},
        HTTP_ACCEPT_LANGUAGE="en",
    )
    assert response.status_code == 200
    assert "really a “exe” file" in response.context["form"].errors["file"][0]
    assert not InvestmentDocument.objects.exists()
    response = client.post(url, {"kind": "evidence", "title": "证明", "file": SimpleUploadedFile("a.pdf", PDF_BYTES)})
    assert response.status_code == 302
    document = InvestmentDocument.objects.get()
    page = client.get(url, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert reverse("tolerance:investment_document_download", args=[document.pk]) in page
    assert "evidence" in page


def test_readers_who_keep_no_portfolio_see_the_page_but_upload_and_delete_nothing(
    client, provincial_staff, auditor, investment, document, media_root
):
    for user in (provincial_staff, auditor):
        client.force_login(user)
        page = reverse("tolerance:investment_documents", args=[investment.pk])
        body = client.get(page).content.decode()
        assert document.title in body and 'type="file"' not in body
        response = client.post(page, {"kind": "other", "title": "x", "file": SimpleUploadedFile("a.pdf", PDF_BYTES)})
        assert response.status_code == 403
        delete = reverse("tolerance:investment_document_delete", args=[document.pk])
        assert client.post(delete).status_code == 403
    assert InvestmentDocument.objects.count() == 1


def test_a_manager_deletes_a_document_with_an_audit_entry_and_its_file_goes_on_commit(
    client, portfolio_manager, document, media_root, django_capture_on_commit_callbacks
):
    client.force_login(portfolio_manager)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("tolerance:investment_document_delete", args=[document.pk]))
    assert response.status_code == 302
    assert not InvestmentDocument.objects.exists() and files_under(media_root) == set()
    entry = AuditEntry.objects.get(action="tolerance.document.deleted", object_id=str(document.pk))
    assert entry.actor_id == portfolio_manager.pk and entry.before["title"] == "尽职调查报告"


def test_removing_an_investment_removes_its_files_too(
    portfolio_manager, document, media_root, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        investment_delete(investment=document.investment, by=portfolio_manager)
    assert files_under(media_root) == set()
    entry = AuditEntry.objects.get(action="tolerance.investment.deleted")
    assert entry.before["documents"][0]["title"] == "尽职调查报告"


# ------------------------------------------------------------------------------------------ dashboard and API


def test_the_dashboard_lists_the_funds_documents_for_their_readers_only(
    client, auditor, operator, document, django_assert_max_num_queries
):
    cache.clear()
    fund = document.investment.fund
    compliance_check_run(fund=fund, as_of=datetime.date(2026, 6, 30))
    dashboard = reverse("tolerance:fund_dashboard", args=[fund.pk])
    download = reverse("tolerance:investment_document_download", args=[document.pk])
    client.force_login(auditor)
    with django_assert_max_num_queries(20) as few:
        body = client.get(dashboard, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert download in body and "due diligence" in body
    assert reverse("tolerance:investment_documents", args=[document.investment_id]) in body

    for _ in range(5):
        other = InvestmentFactory(fund=fund)
        documents.investment_document_upload(
            investment=other, by=None, kind="evidence", title="证明", upload=SimpleUploadedFile("a.pdf", PDF_BYTES)
        )
    cache.clear()
    with django_assert_max_num_queries(len(few.captured_queries)):
        body = client.get(dashboard).content.decode()
    assert body.count("data-document=") == 6

    client.force_login(operator)  # reads the portfolio, not its papers
    body = client.get(dashboard).content.decode()
    assert download not in body and "data-document=" not in body


def test_the_api_lists_documents_with_their_download_url_for_readers_only(
    client, auditor, applicant, operator, document
):
    client.force_login(auditor)
    response = client.get("/api/investment-documents/", {"investment": document.investment_id})
    assert response.status_code == 200
    (row,) = response.json()["results"]
    assert row["kind"] == "due_diligence" and row["original_name"] == "尽调报告.pdf"
    assert row["download_url"].endswith(reverse("tolerance:investment_document_download", args=[document.pk]))
    assert document.file.name not in response.content.decode()  # the stored name stays private
    for user in (applicant, operator):
        client.force_login(user)
        assert client.get("/api/investment-documents/").json()["results"] == []
        assert client.get(f"/api/investment-documents/{document.pk}/").status_code == 404


def test_the_investments_inline_uploads_a_pdf_and_removes_a_document_through_the_services(
    client, portfolio_manager, investment, document, media_root, django_capture_on_commit_callbacks
):
    from tests.tolerance.test_admin import investment_form

    client.force_login(portfolio_manager)
    data = investment_form(
        investment.fund,
        investment.startup,
        invested_on=investment.invested_on.isoformat(),
        principal=str(investment.principal),
        stake=str(investment.stake),
        **{
            "parties-TOTAL_FORMS": "0",
            "documents-TOTAL_FORMS": "2",
            "documents-INITIAL_FORMS": "1",
            "documents-0-id": document.pk,
            "documents-0-investment": investment.pk,
            "documents-0-DELETE": "on",
            "documents-1-kind": "evidence",
            "documents-1-title": "证明材料",
            "documents-1-file": SimpleUploadedFile("证明.pdf", PDF_BYTES, content_type="application/pdf"),
        },
    )
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("admin:tolerance_investment_change", args=[investment.pk]), data)
    assert response.status_code == 302, response.context and response.context["errors"]
    (added,) = InvestmentDocument.objects.all()
    assert (added.title, added.kind, added.uploaded_by) == ("证明材料", "evidence", portfolio_manager)
    assert files_under(media_root) == {added.file.name} and added.file.name.endswith(".pdf")
    assert AuditEntry.objects.filter(action="tolerance.document.deleted", object_id=str(document.pk)).exists()
    assert AuditEntry.objects.filter(action="tolerance.document.uploaded", object_id=str(added.pk)).exists()
