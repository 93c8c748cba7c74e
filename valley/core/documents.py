"""The one document mechanism: what an uploaded file may be, how it is stored, how it is served.

Every app's documents (an entity's, an investment's) go through it:
- `inspect_upload` checks the size (settings.DOCUMENT_MAX_BYTES) and reads the type from the file's first
  bytes (its "magic number", with the `filetype` package), never from its name or the browser's
  Content-Type: an executable renamed `report.pdf`, or a plain `setup.exe`, is refused. Only PDFs and
  images are accepted. It writes nothing; the checks run while the upload is in memory or in the
  temporary upload folder.
- `store_upload` writes a checked upload under a random name whose extension is the detected type's
  (`random_name` is the models' `upload_to`); the user's file name is kept only as data.
- `DocumentFileField` is a FileField whose `url` is the permission-checking download view named by the
  model, never the storage's public URL (which the portal does not serve), so a link the admin draws works.
- `download_response` is what that view answers: the stored bytes with the detected type, the original
  name in Content-Disposition, and headers that stop a browser from sniffing or running the content;
  it records the download in the audit log.
"""

import uuid
from dataclasses import dataclass
from pathlib import PurePosixPath

import filetype
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models, transaction
from django.db.models.fields.files import FieldFile
from django.http import FileResponse, Http404
from django.template.defaultfilters import filesizeformat
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

# MIME type -> the extension the stored file gets (the user's file name is never used).
ALLOWED_TYPES = {
    "application/pdf": "pdf",
    "image/png": "png",
    "image/jpeg": "jpg",
    "image/gif": "gif",
    "image/webp": "webp",
}
ALLOWED_EXTENSIONS = frozenset(ALLOWED_TYPES.values())
ACCEPT = ",".join(ALLOWED_TYPES)  # for <input type="file" accept="…">: a hint to the browser, not a check
_HEADER_BYTES = 8192


@dataclass(frozen=True)
class DetectedType:
    mime: str
    extension: str


def inspect_upload(upload) -> DetectedType:
    """Check size and content of an uploaded file; raise ValidationError saying what is wrong."""
    limit = settings.DOCUMENT_MAX_BYTES
    if upload.size == 0:
        raise ValidationError(_("The file is empty. Choose the PDF or image you meant to upload."), code="empty")
    if upload.size > limit:
        raise ValidationError(
            _("The file is %(size)s; files may be at most %(limit)s. Reduce it (e.g. scan at a lower resolution)."),
            code="too_large",
            params={"size": filesizeformat(upload.size), "limit": filesizeformat(limit)},
        )
    upload.seek(0)
    header = upload.read(_HEADER_BYTES)
    upload.seek(0)
    kind = filetype.guess(header)
    if kind is None:
        raise ValidationError(
            _("The content of this file is not a PDF or an image we accept (PNG, JPEG, GIF, WebP), whatever its name."),
            code="unknown_type",
        )
    if kind.mime not in ALLOWED_TYPES:
        raise ValidationError(
            _(
                "This file is really a “%(kind)s” file, whatever its name says. "
                "Only PDF files and images (PNG, JPEG, GIF, WebP) are accepted."
            ),
            code="wrong_type",
            params={"kind": kind.extension},
        )
    return DetectedType(mime=kind.mime, extension=ALLOWED_TYPES[kind.mime])


def random_name(folder: str, filename: str) -> str:
    """`folder/<32 random hex digits>.<ext>`: the extension only if it is one of the accepted types' (as
    `store_upload` names it after the detected type), so no path ever ends in `.exe` or `.html`."""
    suffix = PurePosixPath(filename).suffix.lower().lstrip(".")
    return f"{folder}/{uuid.uuid4().hex}" + (f".{suffix}" if suffix in ALLOWED_EXTENSIONS else "")


def store_upload(field_file: FieldFile, upload, detected: DetectedType) -> None:
    """Write a checked upload to storage (the model's `upload_to` gives the random name); the record is not
    saved. Call `discard_on_failure` or delete the file if saving the record fails."""
    # The stored name's extension comes from the detected content, never from the user's file name.
    upload.name = f"document.{detected.extension}"
    field_file.save(upload.name, upload, save=False)


def original_name(upload) -> str:
    """The name the user gave the file, kept as data (never a path), cut to the column's 255 characters."""
    return PurePosixPath((getattr(upload, "name", "") or "").replace("\\", "/")).name[:255]


def delete_after_commit(field_file: FieldFile) -> None:
    """Remove the stored file once the transaction that removed its record commits (not before: a rollback
    keeps the record, and so must keep its file)."""
    storage, name = field_file.storage, field_file.name
    if name:
        transaction.on_commit(lambda: storage.delete(name))


class ServedFieldFile(FieldFile):
    @property
    def url(self) -> str:
        self._require_file()
        return reverse(self.field.download_view, args=[self.instance.pk])


class DocumentFileField(models.FileField):
    """A document's file, linked (`.url`) to the view named `download_view` (called with the record's pk),
    which checks who may read it: the storage's own URL is never shown."""

    attr_class = ServedFieldFile

    def __init__(self, *args, download_view: str = "", **kwargs):
        self.download_view = download_view
        super().__init__(*args, **kwargs)

    def deconstruct(self):
        name, path, args, kwargs = super().deconstruct()
        kwargs["download_view"] = self.download_view
        return name, path, args, kwargs


def download_response(
    field_file: FieldFile, *, content_type: str, filename: str, action: str = "", details: dict | None = None
) -> FileResponse:
    """The stored file as an attachment named `filename`, typed as detected at upload; 404 if it is gone.

    Each download is recorded in the audit log (the document, who, from where): as `action`, by default
    "<app>.<model>.downloaded" of the model the file belongs to, with `details` (and the file name) as
    its values. Call it after the permission check: what it is given is served."""
    from valley import audit

    try:
        handle = field_file.open("rb")
    except FileNotFoundError as error:
        raise Http404(_("The file is missing from storage.")) from error
    document = field_file.instance
    audit.record(
        action=action or f"{document._meta.label_lower}.downloaded",
        object_type=document._meta.label_lower,
        object_id=document.pk,
        after={**(details or {}), "file_name": filename},
    )
    response = FileResponse(handle, content_type=content_type, as_attachment=True, filename=filename)
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "sandbox"
    response["Cache-Control"] = "private, no-store"
    return response
