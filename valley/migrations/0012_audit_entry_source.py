"""Audit entries record where they came from (source address, user agent) and how the action ended, and
which text their hash covers (hash_format): entries sealed so far are format 1 (the text without the new
fields) and keep verifying; sealing sets 2 (valley.audit.chain).

The append-only triggers of 0009 are made again with the new columns among the content that sealing must
leave unchanged (and, on SQLite, because adding a NOT NULL column rebuilds the table, which drops them).
"""

import importlib

from django.db import migrations, models

PENDING_FROM = 4611686018427387904  # valley.models.AUDIT_PENDING_FROM
CONTENT = [
    "at",
    "actor_id",
    "actor_email",
    "action",
    "object_type",
    "object_id",
    "before",
    "after",
    "source_address",
    "user_agent",
    "outcome",
]

# A pending row being sealed: provisional id -> chain position, no hashes -> both, algorithm and hash
# format set once, content unchanged.
SEALING = f"""
    OLD.id > {PENDING_FROM} AND OLD.hash IS NULL AND OLD.prev_hash IS NULL AND OLD.hash_algorithm = ''
    AND NEW.id <= {PENDING_FROM} AND NEW.hash IS NOT NULL AND NEW.prev_hash IS NOT NULL
    AND NEW.hash_algorithm <> '' AND NEW.hash_format > 0
"""

PG_CONTENT_UNCHANGED = "ROW({}) IS NOT DISTINCT FROM ROW({})".format(
    ", ".join(f"NEW.{c}" for c in CONTENT), ", ".join(f"OLD.{c}" for c in CONTENT)
)

# Only the function changes: the triggers of 0009 call it by name.
PG_FUNCTION = f"""
CREATE OR REPLACE FUNCTION valley_audit_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
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
"""

SQLITE_CONTENT_UNCHANGED = " AND ".join(f"NEW.{c} IS OLD.{c}" for c in CONTENT)
SQLITE_REFUSE = "SELECT RAISE(ABORT, 'the audit log is append-only: {} on {} refused')"
SQLITE_ENTRY_TRIGGERS = [
    f"""CREATE TRIGGER valley_auditentry_append_only_update BEFORE UPDATE ON valley_auditentry
        WHEN NOT valley_audit_maintenance() AND NOT ({SEALING} AND {SQLITE_CONTENT_UNCHANGED})
        BEGIN {SQLITE_REFUSE.format("UPDATE", "valley_auditentry")}; END""",
    f"""CREATE TRIGGER valley_auditentry_append_only_delete BEFORE DELETE ON valley_auditentry
        WHEN NOT valley_audit_maintenance()
        BEGIN {SQLITE_REFUSE.format("DELETE", "valley_auditentry")}; END""",
]
SQLITE_DROP_ENTRY_TRIGGERS = [
    "DROP TRIGGER IF EXISTS valley_auditentry_append_only_update",
    "DROP TRIGGER IF EXISTS valley_auditentry_append_only_delete",
]


def _previous():
    return importlib.import_module("valley.migrations.0009_audit_append_only_sm3")


def drop_entry_triggers(apps, schema_editor):
    # Before the table is rebuilt (SQLite) and the columns added; PostgreSQL keeps its triggers.
    if schema_editor.connection.vendor == "sqlite":
        for statement in SQLITE_DROP_ENTRY_TRIGGERS:
            schema_editor.execute(statement)


def create_entry_triggers(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        schema_editor.execute(PG_FUNCTION, None)  # None: the "%" are PL/pgSQL's, not parameters
    elif vendor == "sqlite":
        for statement in SQLITE_DROP_ENTRY_TRIGGERS + SQLITE_ENTRY_TRIGGERS:
            schema_editor.execute(statement)


def restore_previous_triggers(apps, schema_editor):
    """Backwards: the triggers of 0009, once the columns are gone."""
    previous = _previous()
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        schema_editor.execute(previous.PG_CREATE.split("CREATE TRIGGER", 1)[0], None)
    elif vendor == "sqlite":
        for statement in SQLITE_DROP_ENTRY_TRIGGERS + previous.SQLITE_CREATE[:2]:
            schema_editor.execute(statement)


class Migration(migrations.Migration):

    dependencies = [
        ("valley", "0011_service_line_time_limit_lead_staff"),
    ]

    operations = [
        migrations.RunPython(drop_entry_triggers, restore_previous_triggers, elidable=False),
        migrations.AddField(
            model_name="auditentry",
            name="source_address",
            field=models.CharField(blank=True, default="", max_length=45, verbose_name="source address"),
        ),
        migrations.AddField(
            model_name="auditentry",
            name="user_agent",
            field=models.CharField(blank=True, default="", max_length=300, verbose_name="user agent"),
        ),
        migrations.AddField(
            model_name="auditentry",
            name="outcome",
            field=models.CharField(
                blank=True,
                choices=[("success", "success"), ("failed", "failed"), ("refused", "refused")],
                default="",
                max_length=10,
                verbose_name="outcome",
            ),
        ),
        # Every entry there is so far (sealed or pending) gets 1, the model's default for new ones is 0.
        migrations.AddField(
            model_name="auditentry",
            name="hash_format",
            field=models.PositiveSmallIntegerField(default=1, verbose_name="hash format"),
            preserve_default=False,
        ),
        migrations.AlterField(
            model_name="auditentry",
            name="hash_format",
            field=models.PositiveSmallIntegerField(default=0, verbose_name="hash format"),
        ),
        migrations.RunPython(create_entry_triggers, drop_entry_triggers, elidable=False),
    ]
