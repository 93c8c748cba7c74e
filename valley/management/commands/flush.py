"""Django's `flush`, which empties every table, past the audit log's append-only triggers only where
AUDIT_LOG_FLUSHABLE allows it: the test framework flushes the database after each transactional test
(TRUNCATE on PostgreSQL, DELETE FROM on SQLite), and tests/conftest.py sets it. Anywhere else the audit log
is not emptied: flush stops before touching any table."""

from django.conf import settings
from django.core.management.base import CommandError
from django.core.management.commands import flush
from django.db import DEFAULT_DB_ALIAS
from django.utils.translation import gettext as _

from valley.audit import guard


class Command(flush.Command):
    def handle(self, **options):
        if not settings.AUDIT_LOG_FLUSHABLE:
            raise CommandError(
                _(
                    "The audit log is append-only, so flush would fail on it: restore into a new database "
                    "instead (restore_portal)."
                )
            )
        with guard.maintenance(options.get("database") or DEFAULT_DB_ALIAS):
            return super().handle(**options)
