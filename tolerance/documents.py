"""An investment's documents: evidence, decision minutes, due diligence and other papers.

The one way they are written, removed and read, through the one document mechanism (valley.core.documents):
the admin (its inline and its own page), the staff page of an investment's documents, the demo seeds and the
tests call these functions. Uploads and removals are portfolio managers' work (and the system's, by=None);
reading is for those who read the fund's papers: portfolio managers, provincial staff and auditors.
Every upload and removal leaves an audit entry in its transaction; the download view records each download
(as the exports' downloads are recorded).
"""

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from tolerance.models import Investment, InvestmentDocument
from tolerance.portfolio import InvalidRecord, NotPortfolioManager
from valley import audit
from valley.core import documents, roles

DOCUMENT_READERS = (roles.PORTFOLIO_MANAGER, roles.PROVINCIAL_STAFF, roles.AUDITOR)


def user_can_read_documents(user) -> bool:
    """Portfolio managers, provincial staff, auditors (and superusers). No query once the roles are read."""
    return roles.has_role(user, *DOCUMENT_READERS)


def user_can_upload_documents(user) -> bool:
    return roles.has_role(user, roles.PORTFOLIO_MANAGER)


def _require_manager(by) -> None:
    if by is not None and not user_can_upload_documents(by):
        raise NotPortfolioManager(_("Only portfolio managers add or remove an investment's documents."))


def documents_for_user(user) -> QuerySet[InvestmentDocument]:
    """The documents `user` may read (all or none), newest first, with their uploaders."""
    queryset = InvestmentDocument.objects.select_related("uploaded_by").order_by("-uploaded_at", "-pk")
    return queryset if user_can_read_documents(user) else queryset.none()


def investment_documents(*, investment: Investment) -> list[InvestmentDocument]:
    """An investment's documents, newest first, with their uploaders. One query."""
    return list(investment.documents.select_related("uploaded_by").order_by("-uploaded_at", "-pk"))


def fund_documents(*, fund_id: int, limit: int) -> tuple[list[InvestmentDocument], int]:
    """The `limit` most recent documents of a fund's investments, and how many it has. One query, or two
    when there are more than `limit`."""
    queryset = InvestmentDocument.objects.filter(investment__fund_id=fund_id)
    rows = list(queryset.select_related("investment__startup").order_by("-uploaded_at", "-pk")[:limit])
    return rows, (len(rows) if len(rows) < limit else queryset.count())


def _touch(investment_id: int) -> None:
    """The investment's `updated_at` is the fund dashboard's cache key (selectors.fund_with_dashboard_stamp):
    its list of documents shows a new or removed one at once."""
    Investment.objects.filter(pk=investment_id).update(updated_at=timezone.now())


def investment_document_upload(*, investment: Investment, by, kind: str, title: str, upload) -> InvestmentDocument:
    """Check an uploaded file (size, type read from the content: a PDF or an image), store it under a random
    name with the detected type's extension, and record it for the investment with an audit entry.

    Raises InvalidRecord (with the message for the field: "file", "kind" or "title") for a refused file or
    value, NotPortfolioManager for anyone but a portfolio manager. Nothing is stored when it refuses."""
    _require_manager(by)
    errors = {}
    if kind not in InvestmentDocument.Kind.values:
        errors["kind"] = [_("Choose what kind of document this is.")]
    title = (title or "").strip()
    if not title:
        errors["title"] = [_("Give the document a title.")]
    elif len(title) > 200:
        errors["title"] = [_("The title may be at most 200 characters.")]
    try:
        detected = documents.inspect_upload(upload)
    except ValidationError as error:
        errors["file"] = error.messages
    if errors:
        raise InvalidRecord(errors)
    document = InvestmentDocument(
        investment=investment,
        kind=kind,
        title=title,
        original_name=documents.original_name(upload),
        content_type=detected.mime,
        size=upload.size,
        uploaded_by=by,
    )
    documents.store_upload(document.file, upload, detected)
    try:
        with transaction.atomic():
            # The investment is locked so that it cannot be removed while its document is recorded.
            Investment.objects.select_for_update().only("pk").get(pk=investment.pk)
            document.save()
            _touch(investment.pk)
            audit.record_created(document, action="tolerance.document.uploaded", actor=by)
    except Exception:
        document.file.delete(save=False)
        raise
    return document


@transaction.atomic
def investment_document_delete(*, document: InvestmentDocument, by) -> None:
    """Remove a document uploaded in error (portfolio managers only); the audit entry keeps what it was, and
    the stored file goes once the removal commits."""
    if by is None or not user_can_upload_documents(by):
        raise NotPortfolioManager(_("Only portfolio managers add or remove an investment's documents."))
    document = InvestmentDocument.objects.select_for_update().get(pk=document.pk)
    audit.record_deleted(document, action="tolerance.document.deleted", actor=by)
    documents.delete_after_commit(document.file)
    document.delete()
    _touch(document.investment_id)
