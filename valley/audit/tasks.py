"""Beat's sealing of the audit log."""

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
