"""Applicants attach documents to their application; files are checked by content and served only to those
who may see the application."""

from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from funding.models import Application
from tests.conftest import files_under
from tests.factories import EXE_BYTES, PDF_BYTES

S = Application.State


def attach(client, application, name, content, title="商业计划书"):
    return client.post(
        reverse("funding:attach_document", args=[application.pk]),
        {"title": title, "file": SimpleUploadedFile(name, content, content_type="application/pdf")},
        HTTP_ACCEPT_LANGUAGE="en",
    )


def test_an_applicant_attaches_a_pdf_and_the_reviewer_can_read_it(
    client, application_in, applicant, people, media_root
):
    application = application_in(S.DRAFT)
    client.force_login(applicant)
    response = attach(client, application, "plan.pdf", PDF_BYTES)
    assert response.status_code == 302
    document = application.documents.get()
    page = client.get(reverse("funding:detail", args=[application.pk])).content.decode()
    assert "商业计划书" in page
    assert application.events.filter(action="funding.application.document_attached").exists()
    client.force_login(people["reviewer"])
    download = client.get(reverse("teams:document_download", args=[document.pk]))
    assert download.status_code == 200
    assert b"".join(download.streaming_content) == PDF_BYTES


def test_an_executable_renamed_pdf_is_refused_and_nothing_is_stored(client, application_in, applicant, media_root):
    application = application_in(S.DRAFT)
    client.force_login(applicant)
    response = attach(client, application, "plan.pdf", EXE_BYTES)
    assert response.status_code == 200
    assert "whatever its name" in response.content.decode()
    assert files_under(media_root) == set()
    assert not application.documents.exists()


def test_documents_cannot_be_attached_once_submitted(client, application_in, applicant, media_root):
    application = application_in(S.SUBMITTED)
    client.force_login(applicant)
    response = attach(client, application, "plan.pdf", PDF_BYTES)
    assert "only to a draft" in response.content.decode()
    assert files_under(media_root) == set()


def test_another_applicant_cannot_attach_read_or_remove(client, application_in, applicant, other_applicant, media_root):
    application = application_in(S.DRAFT)
    client.force_login(applicant)
    attach(client, application, "plan.pdf", PDF_BYTES)
    document = application.documents.get()
    client.force_login(other_applicant)
    assert attach(client, application, "x.pdf", PDF_BYTES).status_code == 404
    assert client.get(reverse("teams:document_download", args=[document.pk])).status_code == 404
    remove = reverse("funding:detach_document", args=[application.pk, document.pk])
    assert client.post(remove).status_code == 404
    assert application.documents.count() == 1
