"""The audit tables become append-only in the database, and each entry records its hash algorithm.

Triggers written as plain SQL per vendor (not django-pgtrigger): SQLite needs hand-written triggers anyway,
and one migration holding both keeps the rule in one place; the PostgreSQL side is one PL/pgSQL function.
valley.audit.guard explains the rule and its one way through (the maintenance flag).

Existing sealed entries were hashed with SHA-256 and are marked so; entries sealed from now on use
AUDIT_HASH_ALGORITHM (SM3 unless configured otherwise), so an existing chain goes on with SM3 and keeps
verifying. SQLite drops a table's triggers when Django rebuilds the table (an AlterField there): a later
migration that rebuilds valley_auditentry must run create_triggers again (the SQLite test would fail).
"""

from django.db import migrations, models

PENDING_FROM = 4611686018427387904  # valley.models.AUDIT_PENDING_FROM
CONTENT = ["at", "actor_id", "actor_email", "action", "object_type", "object_id", "before", "after"]

# A pending row being sealed: provisional id -> chain position, no hashes -> both, algorithm set once,
# content unchanged.
SEALING = f"""
    OLD.id > {PENDING_FROM} AND OLD.hash IS NULL AND OLD.prev_hash IS NULL AND OLD.hash_algorithm = ''
    AND NEW.id <= {PENDING_FROM} AND NEW.hash IS NOT NULL AND NEW.prev_hash IS NOT NULL
    AND NEW.hash_algorithm <> ''
"""

PG_CONTENT_UNCHANGED = "ROW({}) IS NOT DISTINCT FROM ROW({})".format(
    ", ".join(f"NEW.{c}" for c in CONTENT), ", ".join(f"OLD.{c}" for c in CONTENT)
)

PG_CREATE = f"""
CREATE OR REPLACE FUNCTION valley_audit_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    -- The maintenance flag (valley.audit.guard), honoured for the table's owner only: whoever could drop
    -- this trigger anyway.
    IF coalesce(current_setting('valley.audit_maintenance', true), '') = 'on'
       AND pg_has_role(current_user, (SELECT relowner FROM pg_class WHERE oid = TG_RELID), 'USAGE') THEN
        IF TG_OP = 'DELETE' THEN RETURN OLD; ELSIF TG_OP = 'UPDATE' THEN RETURN NEW; ELSE RETURN NULL; END IF;
    END IF;
    IF TG_OP = 'UPDATE' THEN
        IF TG_TABLE_NAME = 'valley_auditentry' THEN
            IF {SEALING} AND {PG_CONTENT_UNCHANGED} THEN
                RETURN NEW;
            END IF;
        ELSIF NEW.id = OLD.id AND NEW.last_id > OLD.last_id THEN  -- valley_auditchainhead: forward only
            RETURN NEW;
        END IF;
    END IF;
    RAISE EXCEPTION 'the audit log is append-only: % on % refused', TG_OP, TG_TABLE_NAME
        USING ERRCODE = 'insufficient_privilege',
              HINT = 'Audit entries are only inserted, and sealed once (valley.audit.guard).';
END
$$;
CREATE TRIGGER valley_auditentry_append_only BEFORE UPDATE OR DELETE ON valley_auditentry
    FOR EACH ROW EXECUTE FUNCTION valley_audit_append_only();
CREATE TRIGGER valley_auditentry_no_truncate BEFORE TRUNCATE ON valley_auditentry
    FOR EACH STATEMENT EXECUTE FUNCTION valley_audit_append_only();
CREATE TRIGGER valley_auditchainhead_forward_only BEFORE UPDATE OR DELETE ON valley_auditchainhead
    FOR EACH ROW EXECUTE FUNCTION valley_audit_append_only();
CREATE TRIGGER valley_auditchainhead_no_truncate BEFORE TRUNCATE ON valley_auditchainhead
    FOR EACH STATEMENT EXECUTE FUNCTION valley_audit_append_only();
"""

PG_DROP = """
DROP TRIGGER IF EXISTS valley_auditentry_append_only ON valley_auditentry;
DROP TRIGGER IF EXISTS valley_auditentry_no_truncate ON valley_auditentry;
DROP TRIGGER IF EXISTS valley_auditchainhead_forward_only ON valley_auditchainhead;
DROP TRIGGER IF EXISTS valley_auditchainhead_no_truncate ON valley_auditchainhead;
DROP FUNCTION IF EXISTS valley_audit_append_only();
"""

SQLITE_CONTENT_UNCHANGED = " AND ".join(f"NEW.{c} IS OLD.{c}" for c in CONTENT)
SQLITE_REFUSE = "SELECT RAISE(ABORT, 'the audit log is append-only: {} on {} refused')"

# valley_audit_maintenance() is registered by valley on its own connections (valley.audit.guard).
SQLITE_CREATE = [
    f"""CREATE TRIGGER valley_auditentry_append_only_update BEFORE UPDATE ON valley_auditentry
        WHEN NOT valley_audit_maintenance() AND NOT ({SEALING} AND {SQLITE_CONTENT_UNCHANGED})
        BEGIN {SQLITE_REFUSE.format("UPDATE", "valley_auditentry")}; END""",
    f"""CREATE TRIGGER valley_auditentry_append_only_delete BEFORE DELETE ON valley_auditentry
        WHEN NOT valley_audit_maintenance()
        BEGIN {SQLITE_REFUSE.format("DELETE", "valley_auditentry")}; END""",
    f"""CREATE TRIGGER valley_auditchainhead_forward_only_update BEFORE UPDATE ON valley_auditchainhead
        WHEN NOT valley_audit_maintenance() AND NOT (NEW.id = OLD.id AND NEW.last_id > OLD.last_id)
        BEGIN {SQLITE_REFUSE.format("UPDATE", "valley_auditchainhead")}; END""",
    f"""CREATE TRIGGER valley_auditchainhead_forward_only_delete BEFORE DELETE ON valley_auditchainhead
        WHEN NOT valley_audit_maintenance()
        BEGIN {SQLITE_REFUSE.format("DELETE", "valley_auditchainhead")}; END""",
]
SQLITE_DROP = [
    "DROP TRIGGER IF EXISTS valley_auditentry_append_only_update",
    "DROP TRIGGER IF EXISTS valley_auditentry_append_only_delete",
    "DROP TRIGGER IF EXISTS valley_auditchainhead_forward_only_update",
    "DROP TRIGGER IF EXISTS valley_auditchainhead_forward_only_delete",
]


def mark_sha256(apps, schema_editor):
    # Before the triggers exist: every entry sealed so far was hashed with SHA-256.
    schema_editor.execute(f"UPDATE valley_auditentry SET hash_algorithm = 'sha256' WHERE id <= {PENDING_FROM}")


def create_triggers(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        schema_editor.execute(PG_CREATE, None)  # None: the "%" are PL/pgSQL's, not parameters
    elif vendor == "sqlite":
        for statement in SQLITE_CREATE:
            schema_editor.execute(statement)


def drop_triggers(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        schema_editor.execute(PG_DROP)
    elif vendor == "sqlite":
        for statement in SQLITE_DROP:
            schema_editor.execute(statement)


class Migration(migrations.Migration):

    dependencies = [
        ('valley', '0008_passwords_used'),
    ]

    operations = [
        migrations.AddField(
            model_name='auditentry',
            name='hash_algorithm',
            field=models.CharField(blank=True, default='', max_length=10, verbose_name='hash algorithm'),
        ),
        migrations.RunPython(mark_sha256, migrations.RunPython.noop, elidable=False),
        migrations.RunPython(create_triggers, drop_triggers, elidable=False),
    ]
