"""backup_portal and restore_portal round-trip the demo valley: every table's rows, the audit chain and the
uploaded files come back the same, into an empty database; a database that has tables is refused."""

import hashlib
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import psycopg2
import pytest
from django.conf import settings

ROOT = Path(__file__).resolve().parents[2]

ADD_DOCUMENT = """
from django.core.files.uploadedfile import SimpleUploadedFile
from teams.models import Entity
from teams.services import document_upload
entity = Entity.objects.filter(owner__email="applicant@demo.valley.example.cn").first()
upload = SimpleUploadedFile("plan.pdf", open({path!r}, "rb").read())
document_upload(entity=entity, by=entity.owner, title="backup test", upload=upload)
"""


def manage(*args, database_url: str, media_root: Path, check: bool = True) -> subprocess.CompletedProcess:
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "MEDIA_ROOT": str(media_root),
        "PYTHONUNBUFFERED": "1",
        "LOG_LEVEL": "WARNING",
    }
    done = subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300
    )
    if check:
        assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-3000:]
    return done


def pdf_bytes() -> bytes:
    return b"%PDF-1.4\n" + os.urandom(3000) + b"\n%%EOF\n"


def media_digests(root: Path) -> dict[str, str]:
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest() for p in root.rglob("*") if p.is_file()
    }


@pytest.fixture
def pg_databases():
    """Two empty PostgreSQL databases named after the configured one (…_bksrc, …_bkdst), dropped afterwards."""
    db = settings.DATABASES["default"]
    base = os.environ.get("DATABASE_URL", "").rsplit("/", 1)[-1].split("?")[0] or "valley"
    names = [f"{base}_bksrc", f"{base}_bkdst"]
    params = {"host": db.get("HOST") or "127.0.0.1", "port": db.get("PORT") or 5432, "user": db.get("USER")}
    if db.get("PASSWORD"):
        params["password"] = db["PASSWORD"]
    admin = psycopg2.connect(dbname="postgres", **params)
    admin.autocommit = True

    def drop():
        with admin.cursor() as cursor:
            for name in names:
                cursor.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    drop()
    with admin.cursor() as cursor:
        for name in names:
            cursor.execute(f'CREATE DATABASE "{name}"')
    auth = f"{params['user']}{':' + params['password'] if 'password' in params else ''}@"
    urls = [f"postgres://{auth}{params['host']}:{params['port']}/{name}" for name in names]

    def connect(name):
        return psycopg2.connect(dbname=name, **params)

    yield urls, [lambda n=n: connect(n) for n in names]
    drop()
    admin.close()


def pg_snapshot(connect) -> tuple[dict, tuple]:
    with connect() as conn, conn.cursor() as cursor:
        cursor.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY tablename")
        tables = [row[0] for row in cursor.fetchall()]
        counts = {}
        for table in tables:
            cursor.execute(f'SELECT COUNT(*) FROM "{table}"')
            counts[table] = cursor.fetchone()[0]
        cursor.execute("SELECT last_id, last_hash FROM valley_auditchainhead")
        head = cursor.fetchone()
    conn.close()
    return counts, head


@pytest.mark.postgres
def test_backup_and_restore_round_trip_the_demo_valley_on_postgresql(pg_databases, tmp_path):
    (source_url, target_url), (connect_source, connect_target) = pg_databases
    source_media, target_media = tmp_path / "source-media", tmp_path / "target-media"
    manage("migrate", "--no-input", database_url=source_url, media_root=source_media)
    manage("seed_demo", "--allow-production", database_url=source_url, media_root=source_media)
    seeded = media_digests(source_media)  # the demo's own uploads (the invoices of its fund-use reports)
    plan = tmp_path / "plan.pdf"
    plan.write_bytes(pdf_bytes())
    manage("shell", "-c", ADD_DOCUMENT.format(path=str(plan)), database_url=source_url, media_root=source_media)
    stored = media_digests(source_media)
    (added,) = set(stored.items()) - set(seeded.items())
    assert added[1] == hashlib.sha256(plan.read_bytes()).hexdigest()

    archive = tmp_path / "backups" / "valley.tar"
    done = manage("backup_portal", str(archive), database_url=source_url, media_root=source_media)
    assert f" {len(stored)} media files" in done.stdout and archive.is_file()
    assert oct(archive.stat().st_mode & 0o777) == "0o600"  # personal data and password hashes: owner only

    done = manage("restore_portal", str(archive), database_url=target_url, media_root=target_media)
    assert "the audit chain verifies" in done.stdout, done.stdout

    source_counts, source_head = pg_snapshot(connect_source)
    target_counts, target_head = pg_snapshot(connect_target)
    assert target_counts == source_counts
    assert source_counts["teams_entity"] > 50 and source_counts["valley_auditentry"] > 100  # the demo, not nothing
    assert target_head == source_head and target_head[0] == source_counts["valley_auditentry"]
    assert media_digests(target_media) == media_digests(source_media)
    # verify_audit_log speaks the portal's language (Simplified Chinese): "the audit log is intact: N entries".
    verified = manage("verify_audit_log", database_url=target_url, media_root=target_media).stdout
    assert f"审计日志完整：共 {source_counts['valley_auditentry']} 条" in verified

    # The restored database now has tables: a second restore is refused and changes nothing.
    again = manage("restore_portal", str(archive), database_url=target_url, media_root=tmp_path / "m3", check=False)
    assert again.returncode == 1
    assert "is not empty" in again.stderr and "Restore only into a new, empty database" in again.stderr
    assert pg_snapshot(connect_target)[0] == source_counts

    # A backup never overwrites a file.
    clash = manage("backup_portal", str(archive), database_url=source_url, media_root=source_media, check=False)
    assert clash.returncode == 1 and "already exists" in clash.stderr


def test_backup_and_restore_round_trip_on_sqlite(tmp_path):
    source_db, target_db = tmp_path / "source.sqlite3", tmp_path / "target.sqlite3"
    source_url, target_url = f"sqlite:///{source_db}", f"sqlite:///{target_db}"
    source_media, target_media = tmp_path / "source-media", tmp_path / "target-media"
    manage("migrate", "--no-input", database_url=source_url, media_root=source_media)
    manage("seed_demo", "--allow-production", database_url=source_url, media_root=source_media)
    plan = tmp_path / "plan.pdf"
    plan.write_bytes(pdf_bytes())
    manage("shell", "-c", ADD_DOCUMENT.format(path=str(plan)), database_url=source_url, media_root=source_media)

    manage("backup_portal", f"{tmp_path}/backups/", database_url=source_url, media_root=source_media)
    (archive,) = (tmp_path / "backups").glob("valley-backup-*.tar")
    done = manage("restore_portal", str(archive), database_url=target_url, media_root=target_media)
    assert "the audit chain verifies" in done.stdout

    def counts(path):
        with sqlite3.connect(path) as conn:
            tables = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
            return {t: conn.execute(f'SELECT COUNT(*) FROM "{t}"').fetchone()[0] for t in tables}  # noqa: S608

    assert counts(target_db) == counts(source_db) and counts(source_db)["valley_auditentry"] > 100
    assert media_digests(target_media) == media_digests(source_media) != {}


def test_restore_refuses_a_file_that_is_not_a_backup(tmp_path):
    bogus = tmp_path / "not-a-backup.tar"
    bogus.write_bytes(b"hello")
    done = manage(
        "restore_portal", str(bogus), database_url=f"sqlite:///{tmp_path}/x.sqlite3", media_root=tmp_path, check=False
    )
    assert done.returncode == 1 and "is not a portal backup" in done.stderr
