"""Uploads: PDFs and images only (by content), within the size limit, served only to those allowed."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from teams import services
from teams.models import Document
from tests.conftest import files_under
from tests.factories import EXE_BYTES, PDF_BYTES, PNG_BYTES


@pytest.fixture
def own_entity(applicant, entity_factory):
    return entity_factory(owner=applicant)


def _upload(client, entity, name, content, content_type="application/pdf"):
    return client.post(
        reverse("teams:document_upload", args=[entity.pk]),
        {"title": "材料", "file": SimpleUploadedFile(name, content, content_type=content_type)},
        HTTP_ACCEPT_LANGUAGE="en",
    )


def test_a_pdf_is_stored_under_a_random_name_with_its_real_type(client, applicant, own_entity, media_root):
    client.force_login(applicant)
    response = _upload(client, own_entity, "../../etc/商业计划书.PDF", PDF_BYTES)
    assert response.status_code == 302
    document = Document.objects.get()
    assert document.original_name.endswith("商业计划书.PDF")
    assert document.content_type == "application/pdf" and document.size == len(PDF_BYTES)
    (stored,) = files_under(media_root)
    assert stored.startswith("documents/") and stored.endswith(".pdf") and "商业计划书" not in stored


def test_an_image_named_pdf_is_stored_as_the_image_it_is(client, applicant, own_entity, media_root):
    client.force_login(applicant)
    assert _upload(client, own_entity, "scan.pdf", PNG_BYTES).status_code == 302
    assert Document.objects.get().content_type == "image/png"
    assert next(iter(files_under(media_root))).endswith(".png")


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("setup.pdf", EXE_BYTES, "really a “exe” file"),
        ("notes.pdf", b"just some text, not a PDF at all\n" * 10, "not a PDF or an image"),
        ("empty.pdf", b"", "empty"),
    ],
)
def test_a_file_that_is_not_a_pdf_or_image_is_refused_and_nothing_is_stored(
    client, applicant, own_entity, media_root, name, content, message
):
    client.force_login(applicant)
    before = files_under(media_root)
    response = _upload(client, own_entity, name, content)
    assert response.status_code == 200
    errors = response.context["form"].errors["file"]
    assert any(message in error for error in errors), errors
    assert message in response.content.decode().replace("&ldquo;", "“").replace("&rdquo;", "”")
    assert files_under(media_root) == before
    assert not Document.objects.exists()


def test_a_file_over_the_limit_is_refused_and_nothing_is_stored(client, applicant, own_entity, media_root, settings):
    settings.DOCUMENT_MAX_BYTES = 1024
    client.force_login(applicant)
    before = files_under(media_root)
    response = _upload(client, own_entity, "big.pdf", PDF_BYTES + b"0" * 2048)
    assert response.status_code == 200
    (error,) = response.context["form"].errors["file"]
    assert "files may be at most 1.0\xa0KB" in error
    assert files_under(media_root) == before
    assert not Document.objects.exists()


def test_a_large_upload_spooled_to_a_temporary_file_is_refused_too(client, applicant, own_entity, media_root, settings):
    # Over FILE_UPLOAD_MAX_MEMORY_SIZE, Django spools to a temporary file outside MEDIA_ROOT.
    settings.DOCUMENT_MAX_BYTES = 3 * 1024 * 1024
    client.force_login(applicant)
    response = _upload(client, own_entity, "huge.pdf", PDF_BYTES + b"0" * (3 * 1024 * 1024))
    assert "files may be at most 3.0\xa0MB" in response.context["form"].errors["file"][0]
    assert files_under(media_root) == set()


def test_the_service_refuses_the_same_files(applicant, own_entity, media_root):
    with pytest.raises(services.WrongState):
        services.document_upload(
            entity=own_entity, by=applicant, title="x", upload=SimpleUploadedFile("a.pdf", EXE_BYTES)
        )
    assert files_under(media_root) == set()


@pytest.fixture
def document(applicant, own_entity, media_root):
    return services.document_upload(
        entity=own_entity, by=applicant, title="营业执照", upload=SimpleUploadedFile("执照.pdf", PDF_BYTES)
    )


def test_the_owner_downloads_the_document_safely(client, applicant, document):
    client.force_login(applicant)
    response = client.get(reverse("teams:document_download", args=[document.pk]))
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == PDF_BYTES
    assert response["Content-Type"] == "application/pdf"
    assert response["X-Content-Type-Options"] == "nosniff"


def test_staff_and_auditors_may_download_but_other_applicants_and_strangers_may_not(
    client, document, other_applicant, provincial_staff, auditor
):
    url = reverse("teams:document_download", args=[document.pk])
    assert client.get(url).status_code == 302  # to the login page
    for user, status in [(other_applicant, 404), (provincial_staff, 200), (auditor, 200)]:
        client.force_login(user)
        assert client.get(url).status_code == status, user


def test_an_operator_sees_only_documents_of_entities_in_their_sub_venue(client, role_user, document, residency_factory):
    residency = residency_factory(entity=document.entity)
    operator = role_user("sub_venue_operator")
    client.force_login(operator)
    url = reverse("teams:document_download", args=[document.pk])
    assert client.get(url).status_code == 404
    operator.sub_venues.add(residency.sub_venue)
    client.force_login(operator)
    assert client.get(url).status_code == 200


def test_the_media_folder_is_not_served_publicly(client, document):
    assert client.get(f"/media/{document.file.name}").status_code == 404
    assert client.get(f"/media-not-served/{document.file.name}").status_code == 404


def test_deleting_a_document_removes_the_file_once_committed(
    client, applicant, document, media_root, django_capture_on_commit_callbacks
):
    client.force_login(applicant)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("teams:document_delete", args=[document.entity_id, document.pk]))
    assert response.status_code == 302
    assert not Document.objects.exists()
    assert files_under(media_root) == set()
