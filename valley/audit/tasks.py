"""Beat's sealing of the audit log."""

import datetime
import logging

from celery import shared_task

from valley.audit import chain

logger = logging.getLogger(__name__)


@shared_task(name="valley.audit.seal")
def seal() -> int:
    """Seal what the writers' own after-commit seal left pending (it failed, or its process ended first);
    normally nothing. Safe to run twice, and beside the writers' seals: sealers take turns."""
    sealed = chain.seal()
    if sealed:
        logger.info("audit: sealed %s pending entries", sealed)
    return sealed


@shared_task(name="valley.audit.anchor")
def anchor() -> str | None:
    """Yesterday's anchor (valley.audit.anchors). Beat runs it after midnight and again every hour, in case
    the worker was down: once the day has its anchor, the later runs find it and leave it alone."""
    from django.utils import timezone

    from valley.audit import anchors

    day = timezone.localdate() - datetime.timedelta(days=1)
    try:
        written = anchors.write_anchor(day)
    except anchors.AnchorExists:
        return None
    logger.info("audit: anchored %s at entry #%s in %s", day, written.last_id, written.path)
    return str(written.path)
