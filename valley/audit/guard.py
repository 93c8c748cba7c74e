"""The database keeps the audit tables append-only (triggers made by migration valley 0009).

valley_auditentry: INSERT only, and one UPDATE per row: its sealing (a pending row, with a provisional id
and no hashes, gets its chain position, both hashes and the hash algorithm, its content unchanged).
Every other UPDATE, every DELETE and (on PostgreSQL) TRUNCATE is refused by the database itself, whatever
the client: the ORM, a raw cursor, psql.
valley_auditchainhead: the head only moves forward (last_id grows); it is never deleted.

A database owner can always drop a trigger; the triggers stop everyone else and every mistake, and the
hash chain (with its anchor outside the database) is what finds a rewrite by the owner.

The one way through is `maintenance()`, for the few operations that empty the whole log on purpose: the
test framework's flush between transactional tests (valley's `flush` command, when AUDIT_LOG_FLUSHABLE is
set, as tests/conftest.py does) and `generate_province --replace`. It sets a flag that the triggers read:
- PostgreSQL: the session setting valley.audit_maintenance, and only honoured when the current role
  owns the table (could drop the trigger anyway), so a role that may only write rows gains nothing by
  setting it;
- SQLite: an SQL function, valley_audit_maintenance(), that valley registers on each of its connections
  and that answers from this process's flag. Another client of the file (the sqlite3 shell) has no such
  function, so there the triggers fail closed: every UPDATE or DELETE of an audit row is refused.
"""

from contextlib import contextmanager

from django.db import DEFAULT_DB_ALIAS, connections

SQLITE_FUNCTION = "valley_audit_maintenance"
PG_SETTING = "valley.audit_maintenance"


def register_sqlite_function(sender=None, connection=None, **kwargs) -> None:
    """connection_created receiver: give a new SQLite connection the triggers' maintenance flag."""
    if connection is None or connection.vendor != "sqlite":
        return
    wrapper = connection
    connection.connection.create_function(
        SQLITE_FUNCTION, 0, lambda: 1 if getattr(wrapper, "audit_maintenance", False) else 0, deterministic=False
    )


@contextmanager
def maintenance(using: str = DEFAULT_DB_ALIAS):
    """Let this connection's DELETE / TRUNCATE / UPDATE of audit rows through, for the block only."""
    connection = connections[using]
    connection.ensure_connection()
    if connection.vendor == "postgresql":
        # Inside a transaction, for that transaction only (a rollback takes the flag along); in autocommit
        # (the test flush), for the session, until the block ends.
        local = connection.in_atomic_block
        with connection.cursor() as cursor:
            cursor.execute("SELECT set_config(%s, 'on', %s)", [PG_SETTING, local])
        try:
            yield
        finally:
            if not connection.needs_rollback:
                with connection.cursor() as cursor:
                    cursor.execute("SELECT set_config(%s, '', %s)", [PG_SETTING, local])
    else:
        connection.audit_maintenance = True
        try:
            yield
        finally:
            connection.audit_maintenance = False
