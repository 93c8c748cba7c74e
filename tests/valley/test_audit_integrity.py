"""The audit log's integrity in the database itself: rows are only inserted and sealed once (triggers on
PostgreSQL and SQLite refuse every other UPDATE and every DELETE), and the chain's hash is SM3, with each
entry's algorithm recorded so that a chain begun with SHA-256 goes on with SM3 and keeps verifying."""

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from django.db import DatabaseError, connection, transaction

from valley import audit
from valley.audit import chain
from valley.models import AuditChainHead, AuditEntry

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(autouse=True)
def _english_messages():
    from django.utils import translation

    with translation.override("en"):
        yield


def refused(sql: str, params=()) -> str:
    """Run `sql` on a raw cursor; return the database's refusal (the test fails if it is let through)."""
    with pytest.raises(DatabaseError) as error, transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(sql, params)
    return str(error.value)


def write(n: int, action: str = "test.entry") -> None:
    for i in range(n):
        audit.record(action=action, object_type="test", object_id=i, after={"i": i})


def test_the_sm3_of_the_standards_example_abc():
    # GB/T 32905-2016, appendix A.1.
    assert chain.ALGORITHMS["sm3"](b"abc") == "66c7f0f462eeedd9d1f2d46bdc10e4e24167c4875cf2f7a2297da02b8f4ba8e0"


def test_the_fallback_sm3_from_cryptography_agrees(monkeypatch):
    """Where OpenSSL has no SM3, hashlib.new("sm3") raises ValueError and the bundled one is used."""
    import hashlib

    real_new = hashlib.new

    def without_sm3(name, *args, **kwargs):
        if name.lower() == "sm3":
            raise ValueError("unsupported hash type sm3")
        return real_new(name, *args, **kwargs)

    monkeypatch.setattr(hashlib, "new", without_sm3)
    assert chain.ALGORITHMS["sm3"](b"abc") == "66c7f0f462eeedd9d1f2d46bdc10e4e24167c4875cf2f7a2297da02b8f4ba8e0"


@pytest.mark.django_db
def test_new_entries_are_sealed_with_sm3(settings):
    assert settings.AUDIT_HASH_ALGORITHM == "sm3"  # the default, for a new deployment
    write(2)
    entries = list(AuditEntry.objects.filter(action="test.entry"))
    assert [e.hash_algorithm for e in entries] == ["sm3", "sm3"]
    fields = {f: getattr(entries[0], f) for f in [*chain._CONTENT, "prev_hash"]}
    assert entries[0].hash == audit.entry_digest(**fields, hash_algorithm="sm3")
    assert entries[0].hash != audit.entry_digest(**fields, hash_algorithm="sha256")


@pytest.mark.django_db
def test_a_chain_of_sha256_entries_followed_by_sm3_entries_verifies_and_tampering_is_found(settings, audit_maintenance):
    settings.AUDIT_HASH_ALGORITHM = "sha256"  # a deployment from before SM3
    write(3, "test.old")
    settings.AUDIT_HASH_ALGORITHM = "sm3"  # upgraded: the chain goes on with SM3
    write(3, "test.new")
    assert set(AuditEntry.objects.filter(action="test.old").values_list("hash_algorithm", flat=True)) == {"sha256"}
    assert set(AuditEntry.objects.filter(action="test.new").values_list("hash_algorithm", flat=True)) == {"sm3"}
    check = audit.verify_chain()
    assert check.ok and check.entries == AuditEntry.objects.count()

    # Relabelling an old entry's algorithm breaks it as surely as changing its content.
    old = AuditEntry.objects.filter(action="test.old").first()
    with audit_maintenance():
        AuditEntry.objects.filter(pk=old.pk).update(hash_algorithm="sm3")
    check = audit.verify_chain()
    assert (check.ok, check.first_bad_id) == (False, old.pk) and "altered" in check.problem

    with audit_maintenance():
        AuditEntry.objects.filter(pk=old.pk).update(hash_algorithm="sha256")
        new = AuditEntry.objects.filter(action="test.new").last()
        AuditEntry.objects.filter(pk=new.pk).update(object_id="999")
    check = audit.verify_chain()
    assert (check.ok, check.first_bad_id) == (False, new.pk) and "altered" in check.problem


@pytest.mark.django_db
def test_an_unknown_algorithm_is_named(audit_maintenance):
    write(1)
    entry = AuditEntry.objects.get(action="test.entry")
    with audit_maintenance():
        AuditEntry.objects.filter(pk=entry.pk).update(hash_algorithm="md5")
    check = audit.verify_chain()
    assert (check.ok, check.first_bad_id) == (False, entry.pk) and "md5" in check.problem


# ------------------------------------------------------------------------------ PostgreSQL triggers


@pytest.mark.postgres
@pytest.mark.django_db
def test_postgresql_refuses_a_raw_update_and_delete_of_a_sealed_entry():
    write(2)
    entry = AuditEntry.objects.filter(action="test.entry").first()
    assert "append-only" in refused("UPDATE valley_auditentry SET action = 'x' WHERE id = %s", [entry.pk])
    assert "append-only" in refused("UPDATE valley_auditentry SET hash = hash WHERE id = %s", [entry.pk])
    assert "append-only" in refused("DELETE FROM valley_auditentry WHERE id = %s", [entry.pk])
    assert "append-only" in refused("DELETE FROM valley_auditentry")
    # The ORM is no way round it either.
    with pytest.raises(DatabaseError), transaction.atomic():
        AuditEntry.objects.filter(pk=entry.pk).delete()
    assert AuditEntry.objects.get(pk=entry.pk).action == "test.entry" and audit.verify_chain().ok


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_postgresql_refuses_truncate_yet_the_test_framework_still_flushes():
    """TRUNCATE is refused too; the flush after this transactional test (TRUNCATE of every table, through
    valley's flush and the maintenance flag) still empties the tables for the next test."""
    write(1)
    assert "append-only" in refused("TRUNCATE valley_auditentry CASCADE")
    assert "append-only" in refused("TRUNCATE valley_user CASCADE")  # which would take the log along
    assert AuditEntry.objects.filter(action="test.entry").exists()


@pytest.mark.postgres
@pytest.mark.django_db
def test_postgresql_lets_a_pending_entry_be_sealed_once_and_nothing_else(audit_sealed_after_commit):
    # In a test's transaction nothing commits, so the entry stays pending until sealed by hand.
    entry = audit.record(action="test.pending", object_type="test", object_id=1)
    assert not entry.sealed
    # Its content cannot change while it waits, not even together with a sealing-shaped change.
    assert "append-only" in refused("UPDATE valley_auditentry SET action = 'x' WHERE id = %s", [entry.pk])
    forged = "UPDATE valley_auditentry SET id = 999999, prev_hash = %s, hash = %s, hash_algorithm = 'sm3', "
    forged += "object_id = '2' WHERE id = %s"
    assert "append-only" in refused(forged, ["0" * 64, "f" * 64, entry.pk])
    assert "append-only" in refused("DELETE FROM valley_auditentry WHERE id = %s", [entry.pk])

    assert audit.seal() == 1
    sealed = AuditEntry.objects.get(action="test.pending")
    assert sealed.sealed and sealed.hash_algorithm == "sm3" and audit.verify_chain().ok
    # Sealed once: setting the hashes "again" is refused.
    assert "append-only" in refused("UPDATE valley_auditentry SET hash = %s WHERE id = %s", ["e" * 64, sealed.pk])


@pytest.mark.postgres
@pytest.mark.django_db
def test_postgresql_keeps_the_chain_head_moving_forward_only():
    write(1)
    head = AuditChainHead.objects.get()
    assert "append-only" in refused("UPDATE valley_auditchainhead SET last_id = last_id - 1, last_hash = 'x'")
    assert "append-only" in refused("UPDATE valley_auditchainhead SET last_hash = 'x'")
    assert "append-only" in refused("DELETE FROM valley_auditchainhead")
    write(1)  # sealing moves it on
    assert AuditChainHead.objects.get().last_id == head.last_id + 1


@pytest.mark.postgres
@pytest.mark.django_db
def test_postgresql_honours_the_maintenance_flag_only_for_the_tables_owner():
    """A role that may write the rows, but does not own the table, gains nothing by setting the flag."""
    write(1)
    entry = AuditEntry.objects.get(action="test.entry")
    with connection.cursor() as cursor:
        cursor.execute("CREATE ROLE valley_test_writer NOLOGIN")  # rolled back with the test's transaction
        cursor.execute("GRANT SELECT, UPDATE, DELETE ON valley_auditentry TO valley_test_writer")
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET LOCAL ROLE valley_test_writer")
        cursor.execute("SELECT set_config('valley.audit_maintenance', 'on', true)")
        cursor.execute("DELETE FROM valley_auditentry WHERE id = %s", [entry.pk])
    assert AuditEntry.objects.filter(pk=entry.pk).exists()


# ------------------------------------------------------------------------------ SQLite triggers

SQLITE_CHECKS = textwrap.dedent(
    """
    import sqlite3
    from django.utils import translation
    translation.activate("en")  # the messages asserted below are read in English
    from django.conf import settings
    from django.core.management import call_command
    from django.core.management.base import CommandError
    from django.db import DatabaseError, connection, transaction
    from valley import audit
    from valley.models import AuditEntry

    def refused(sql, params=()):
        try:
            with transaction.atomic(), connection.cursor() as cursor:
                cursor.execute(sql, params)
        except DatabaseError as error:
            return str(error)
        raise AssertionError(f"let through: {sql}")

    for i in range(3):
        audit.record(action="test.entry", object_type="test", object_id=i)  # sealed after its commit
    entry = AuditEntry.objects.filter(action="test.entry").first()
    assert entry.sealed and entry.hash_algorithm == "sm3", entry
    assert audit.verify_chain().ok
    assert "append-only" in refused("UPDATE valley_auditentry SET action = 'x' WHERE id = %s", [entry.pk])
    assert "append-only" in refused("UPDATE valley_auditentry SET hash = hash WHERE id = %s", [entry.pk])
    assert "append-only" in refused("DELETE FROM valley_auditentry WHERE id = %s", [entry.pk])
    assert "append-only" in refused("DELETE FROM valley_auditentry")
    assert "append-only" in refused("UPDATE valley_auditchainhead SET last_id = 0")
    assert "append-only" in refused("DELETE FROM valley_auditchainhead")

    # A pending entry: sealed once, its content never changed.
    with transaction.atomic():
        pending = audit.record(action="test.pending", object_type="test", object_id=1)  # sealed at the commit
        assert not pending.sealed
        assert "append-only" in refused("UPDATE valley_auditentry SET action = 'x' WHERE id = %s", [pending.pk])
        assert audit.seal() == 1
    assert AuditEntry.objects.get(action="test.pending").sealed and audit.verify_chain().ok

    # Another client of the file has no maintenance function: its UPDATE and DELETE fail closed.
    other = sqlite3.connect(settings.DATABASES["default"]["NAME"])
    for sql in ("UPDATE valley_auditentry SET action = 'x'", "DELETE FROM valley_auditentry"):
        try:
            other.execute(sql)
        except sqlite3.DatabaseError as error:
            assert "valley_audit_maintenance" in str(error), error
        else:
            raise AssertionError(f"let through by another client: {sql}")
    other.close()

    # flush, as the test framework empties the tables: refused unless AUDIT_LOG_FLUSHABLE...
    entries = AuditEntry.objects.count()
    try:
        call_command("flush", interactive=False, verbosity=0)
    except CommandError as error:
        assert "append-only" in str(error), error
    else:
        raise AssertionError("flush emptied the audit log")
    assert AuditEntry.objects.count() == entries
    # ...and with it, it empties them (DELETE FROM on SQLite, through the maintenance flag).
    settings.AUDIT_LOG_FLUSHABLE = True
    call_command("flush", interactive=False, verbosity=0)
    assert not AuditEntry.objects.filter(action__startswith="test.").exists(), list(AuditEntry.objects.all())
    assert not connection.audit_maintenance
    assert "append-only" in refused("DELETE FROM valley_auditchainhead")
    print("sqlite: refused as expected")
    """
)


def test_sqlite_refuses_a_raw_update_and_delete_and_still_seals_and_flushes(tmp_path):
    """On SQLite (the development default), in a process of its own: this run's database may be PostgreSQL."""
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "SECRET_KEY", "ALLOWED_HOSTS"}}
    env |= {
        "DATABASE_URL": f"sqlite:///{tmp_path / 'audit.sqlite3'}",
        "DEBUG": "1",
        "LOG_LEVEL": "WARNING",
        "MEDIA_ROOT": str(tmp_path / "media"),
    }

    def manage(*args):
        done = subprocess.run(
            [sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300
        )
        assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-3000:]
        return done.stdout

    manage("migrate", "--no-input")
    assert "sqlite: refused as expected" in manage("shell", "-c", SQLITE_CHECKS)
