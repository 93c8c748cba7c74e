"""What an uploaded document may be: a PDF or an image, no larger than settings.DOCUMENT_MAX_BYTES.

The type is read from the file's first bytes (its "magic number", with the `filetype` package),
never from its name or the browser's Content-Type: an executable renamed `report.pdf` is refused.
Nothing here writes to storage; the checks run on the upload while it is still in memory or in
the temporary upload folder.
"""

from dataclasses import dataclass

import filetype
from django.conf import settings
from django.core.exceptions import ValidationError
from django.template.defaultfilters import filesizeformat
from django.utils.translation import gettext_lazy as _

# MIME type -> the extension the stored file gets (the user's file name is never used).
ALLOWED_TYPES = {
    "application/pdf": "pdf",
    "image/png": "png",
    "image/jpeg": "jpg",
    "image/gif": "gif",
    "image/webp": "webp",
}
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
