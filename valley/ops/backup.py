"""Back the portal up into one archive, and restore it into an empty database.

The archive is a plain tar file holding:

- ``manifest.json``: when, from which database vendor, the applied migrations, every table's row
  count and the audit chain's head (last id and hash), and each media file's size and SHA-256;
- ``database.dump``: ``pg_dump --format=custom`` (PostgreSQL) or a copy made with SQLite's backup
  API (``database.sqlite3``);
- ``media/…``: every file under MEDIA_ROOT (the uploaded documents).

On PostgreSQL the counts and the chain head are read in the same snapshot that pg_dump dumps
(``pg_export_snapshot()`` + ``pg_dump --snapshot``), so the manifest describes exactly the dump
even while the portal keeps writing. A restore refuses a database that already has tables and a
MEDIA_ROOT that already has files, then checks the restored counts, the chain head and every
media file's hash against the manifest, and recomputes the whole audit chain.
"""

import datetime
import hashlib
import io
import json
import os
import re
import shutil
import sqlite3
import subprocess
import tarfile
import tempfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from django.conf import settings
from django.db import connection, transaction

from valley.audit import seal, verify_chain

FORMAT = 1


class BackupError(Exception):
    """A backup or restore cannot go on; the message says why and what to do."""


@dataclass(frozen=True)
class RestoreResult:
    tables: int
    rows: int
    media_files: int
    audit_entries: int


# ------------------------------------------------------------------------------ helpers


def _vendor() -> str:
    return connection.vendor  # "postgresql" or "sqlite"


def _quote(name: str) -> str:
    return connection.ops.quote_name(name)


def table_counts() -> dict[str, int]:
    """Row count of every table in the database (in the caller's transaction/snapshot)."""
    counts = {}
    with connection.cursor() as cursor:
        for table in sorted(connection.introspection.table_names(cursor)):
            cursor.execute(f"SELECT COUNT(*) FROM {_quote(table)}")  # noqa: S608 (names from the catalogue)
            counts[table] = cursor.fetchone()[0]
    return counts


def _chain_head() -> dict:
    from valley.models import AuditChainHead

    head = AuditChainHead.objects.filter(pk=1).first()
    return {"last_id": head.last_id, "last_hash": head.last_hash} if head else {"last_id": 0, "last_hash": ""}


def _migrations() -> list[list[str]]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT app, name FROM django_migrations ORDER BY app, name")
        return [list(row) for row in cursor.fetchall()]


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _media_files(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.is_file()) if root.exists() else []


def pg_tool(name: str) -> str:
    """The pg_dump/pg_restore whose major version matches the server's (Debian keeps one per version)."""
    major = connection.pg_version // 10000  # e.g. 150020 -> 15
    candidate = Path(f"/usr/lib/postgresql/{major}/bin/{name}")
    tool = str(candidate) if candidate.exists() else shutil.which(name)
    if tool is None:
        raise BackupError(f"{name} was not found: apt-get install postgresql-client-{major}")
    version = subprocess.run([tool, "--version"], capture_output=True, text=True, check=True).stdout
    found = re.search(r"\(PostgreSQL\) (\d+)", version)
    tool_major = int(found.group(1)) if found else 0
    if tool_major < major:
        raise BackupError(f"{tool} is version {tool_major}, older than the server ({major})")
    return tool


def _pg_env_and_args() -> tuple[dict, list[str]]:
    db = settings.DATABASES["default"]
    env = {**os.environ}
    if db.get("PASSWORD"):
        env["PGPASSWORD"] = db["PASSWORD"]
    args = ["--dbname", db["NAME"]]
    if db.get("HOST"):
        args += ["--host", db["HOST"]]
    if db.get("PORT"):
        args += ["--port", str(db["PORT"])]
    if db.get("USER"):
        args += ["--username", db["USER"]]
    return env, args


def _add_bytes(tar: tarfile.TarFile, name: str, data: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    info.mtime = int(datetime.datetime.now().timestamp())
    info.mode = 0o600
    tar.addfile(info, io.BytesIO(data))


# ------------------------------------------------------------------------------ backup


def backup(destination: str | Path) -> tuple[Path, dict]:
    """Write the archive; `destination` is a folder (existing, or ending in "/": a dated name is made in it)
    or a file name."""
    is_folder = str(destination).endswith(("/", os.sep))
    destination = Path(destination)
    if is_folder or destination.is_dir():
        destination.mkdir(parents=True, exist_ok=True)
        stamp = datetime.datetime.now(datetime.UTC).strftime("%Y%m%dT%H%M%SZ")
        destination = destination / f"valley-backup-{stamp}.tar"
    if destination.exists():
        raise BackupError(f"{destination} already exists; choose another name (a backup never overwrites one).")
    destination.parent.mkdir(parents=True, exist_ok=True)
    media_root = Path(settings.MEDIA_ROOT)
    vendor = _vendor()
    if vendor not in ("postgresql", "sqlite"):
        raise BackupError(f"Backups support PostgreSQL and SQLite, not {vendor}.")

    # What was written before the backup goes into it sealed, so the manifest's head covers it; entries
    # written after this are in the dump as pending, and the restored portal seals them.
    seal()
    with tempfile.TemporaryDirectory() as work:
        dump_path = Path(work) / "database.dump"
        with transaction.atomic():
            if vendor == "postgresql":
                with connection.cursor() as cursor:
                    cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
                    cursor.execute("SELECT pg_export_snapshot()")
                    snapshot = cursor.fetchone()[0]
                manifest_db = {"counts": table_counts(), "audit_head": _chain_head(), "migrations": _migrations()}
                env, args = _pg_env_and_args()
                command = [pg_tool("pg_dump"), "--format=custom", "--no-owner", "--no-privileges"]
                command += [f"--snapshot={snapshot}", f"--file={dump_path}", *args]
                done = subprocess.run(command, env=env, capture_output=True, text=True)
                if done.returncode != 0:
                    raise BackupError(f"pg_dump failed: {done.stderr.strip()}")
            else:
                manifest_db = {"counts": table_counts(), "audit_head": _chain_head(), "migrations": _migrations()}
                # The atomic block holds SQLite's write lock (transaction_mode IMMEDIATE), so nobody changes
                # the file between the counts and the copy; the copy reads through a connection of its own,
                # since SQLite refuses a backup from the connection that holds the write transaction.
                source = sqlite3.connect(connection.settings_dict["NAME"])
                target = sqlite3.connect(dump_path)
                try:
                    source.backup(target)
                finally:
                    target.close()
                    source.close()

        media = []
        for path in _media_files(media_root):
            relative = path.relative_to(media_root).as_posix()
            media.append({"path": relative, "size": path.stat().st_size, "sha256": _sha256(path)})
        manifest = {
            "format": FORMAT,
            "created_at": datetime.datetime.now(datetime.UTC).isoformat(),
            "vendor": vendor,
            "database_file": "database.dump" if vendor == "postgresql" else "database.sqlite3",
            **manifest_db,
            "media": media,
        }
        partial = destination.with_name(destination.name + ".partial")
        with tarfile.open(partial, "w") as tar:
            _add_bytes(tar, "manifest.json", json.dumps(manifest, indent=1, ensure_ascii=False).encode())
            tar.add(dump_path, arcname=manifest["database_file"])
            for item in media:
                tar.add(media_root / item["path"], arcname=f"media/{item['path']}")
        os.chmod(partial, 0o600)  # it holds password hashes and personal data
        partial.rename(destination)  # a half-written archive never carries the final name
    return destination, manifest


# ------------------------------------------------------------------------------ restore


def read_manifest(archive: Path) -> dict:
    try:
        with tarfile.open(archive, "r") as tar:
            member = tar.extractfile("manifest.json")
            manifest = json.loads(member.read())
    except (OSError, tarfile.TarError, KeyError, ValueError) as error:
        raise BackupError(f"{archive} is not a portal backup (no readable manifest.json): {error}") from None
    if manifest.get("format") != FORMAT:
        raise BackupError(f"{archive} has backup format {manifest.get('format')!r}; this portal reads format {FORMAT}.")
    return manifest


def restore(archive: Path) -> RestoreResult:
    """Restore `archive` into the configured, empty database and an empty MEDIA_ROOT, then verify it."""
    archive = Path(archive)
    if not archive.is_file():
        raise BackupError(f"{archive} does not exist.")
    manifest = read_manifest(archive)
    vendor = _vendor()
    if manifest["vendor"] != vendor:
        raise BackupError(f"The backup is of a {manifest['vendor']} database; DATABASE_URL points at {vendor}.")
    existing = connection.introspection.table_names()
    if existing:
        raise BackupError(
            f"The database {settings.DATABASES['default']['NAME']} is not empty ({len(existing)} tables). "
            "Restore only into a new, empty database: create one (createdb) and point DATABASE_URL at it."
        )
    media_root = Path(settings.MEDIA_ROOT)
    if _media_files(media_root):
        raise BackupError(f"MEDIA_ROOT ({media_root}) already holds files; restore into an empty folder.")

    with tempfile.TemporaryDirectory() as work, tarfile.open(archive, "r") as tar:
        database_file = manifest["database_file"]
        tar.extract(database_file, work, filter="data")
        dump_path = Path(work) / database_file
        if vendor == "postgresql":
            env, args = _pg_env_and_args()
            command = [pg_tool("pg_restore"), "--no-owner", "--no-privileges", "--exit-on-error", *args, str(dump_path)]
            connection.close()
            done = subprocess.run(command, env=env, capture_output=True, text=True)
            if done.returncode != 0:
                raise BackupError(f"pg_restore failed: {done.stderr.strip()}")
        else:
            connection.ensure_connection()
            source = sqlite3.connect(dump_path)
            source.backup(connection.connection)
            source.close()
            connection.close()

        expected = {item["path"]: item for item in manifest["media"]}
        for member in tar.getmembers():
            if not member.name.startswith("media/"):
                continue
            relative = PurePosixPath(member.name).relative_to("media").as_posix()
            if relative not in expected:
                raise BackupError(f"The archive holds {member.name}, which its manifest does not list.")
            # filter="data" refuses absolute names, "..", links out of the folder and special files.
            member.name = relative
            tar.extract(member, media_root, filter="data")

    problems = []
    for relative, item in expected.items():
        path = media_root / relative
        if not path.is_file() or _sha256(path) != item["sha256"]:
            problems.append(f"media file {relative} is missing or differs")
    counts = table_counts()
    for table, count in manifest["counts"].items():
        if counts.get(table) != count:
            problems.append(f"table {table}: {counts.get(table)} rows restored, {count} in the backup")
    if _chain_head() != manifest["audit_head"]:
        problems.append(f"audit chain head {_chain_head()} differs from the backup's {manifest['audit_head']}")
    check = verify_chain()
    if not check.ok:
        problems.append(f"the audit chain does not verify at entry #{check.first_bad_id}: {check.problem}")
    if problems:
        raise BackupError("The restore does not match its backup: " + "; ".join(problems))
    return RestoreResult(
        tables=len(counts), rows=sum(counts.values()), media_files=len(expected), audit_entries=check.entries
    )
