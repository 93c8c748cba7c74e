"""The tamper-evident audit log.

Every sealed entry's hash is SM3 (GB/T 32905, as the commercial-cryptography rules expect) over a canonical
text of the entry and the previous entry's hash:

    id | at (UTC, ISO 8601, microseconds) | actor id | actor e-mail | action | object type | object id
       | before (canonical JSON) | after (canonical JSON) | source address | user agent | outcome
       | previous hash

joined with "|" and encoded as UTF-8, where id is the entry's chain position (1, 2, 3 …). Canonical JSON
is `json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(",", ":"))`, with "null" for no
value. The first entry's previous hash is GENESIS. Each entry records the text its hash covers
(`hash_format`, set when sealed): 2 is the text above; 1, for entries sealed before the source address,
user agent and outcome were recorded, is the same text without those three (and their "|"), and such
entries keep verifying as they were sealed. Each entry records its algorithm (`hash_algorithm`):
entries sealed before SM3 came in were hashed with SHA-256 over the same text, and keep verifying as
such; sealing uses AUDIT_HASH_ALGORITHM ("sm3" unless configured). README.md shows how to check a
downloaded CSV with nothing but Python. The database refuses any change to a sealed entry and any
deletion (valley.audit.guard).

What is recorded, each by the service that makes the change and in its transaction (no save() signal
writes an entry): every creation, change and removal of a money or decision record (with the values
before and after, record_created / record_changed / record_deleted), every workflow transition (with
its history row), every exemption determination written or withdrawn by the compliance check, every
login, logout and failed or refused login (applicants' too), every change of a user's own profile and of
anyone's roles, permissions or sub-venues, every export and every document download.

Where each entry came from is taken from the context, like its actor: AuditActorMiddleware runs each
request `acting_from` the client's address (valley.web.addresses.client_address: REMOTE_ADDR, or the
X-Forwarded-For hop a TRUSTED_PROXIES proxy vouches for, never the header by default) and its User-Agent
(its first valley.models.USER_AGENT_MAX_LENGTH characters); a Celery task runs as agent "task:<name>"
(valley.celery), a management command as "command:<name>" (manage.py), both with no address. The
outcome is the caller's: `record` says "success" unless told "failed" (attempted, not achieved: a wrong
password) or "refused" (the portal would not let it happen: a locked-out login, an export without the
role, and any page whose view raised PermissionDenied, which AuditActorMiddleware records as
"access.refused" with the path). A document another person may not see answers 404 like one that does
not exist, and is not recorded.

How it stays one chain without making every audited write in the province wait for the others:
- `record` only appends a pending entry (a provisional id from a sequence, no hashes) in the caller's
  transaction: no shared row is locked, so writers run side by side, and a rolled-back change leaves
  no entry. `record_many` appends several in one INSERT, their provisional ids in the order given.
- `seal` chains the committed pending entries, in the order of their provisional ids, in a short
  transaction of its own that holds the chain head's lock: each gets the next chain position as its
  id, the previous hash and its hash, and the head moves. Sealers take turns, so the chain has no forks.
  `record` has `seal` run after the writer's commit (a failing seal is logged, never the writer's
  error); beat's task "valley.audit.seal" seals what is left every AUDIT_SEAL_SECONDS.
- `verify_chain`, the CSV export and the backup seal first, then read sealed entries only.
An entry is tamper-evident from its sealing, normally milliseconds after the writer's commit. Its `at`
is when it was written, so across writers it may step back slightly from one chain position to the next.
"""

import contextvars
import datetime
import hashlib
import json
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from decimal import Decimal

from django.core.serializers.json import DjangoJSONEncoder
from django.db import models, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

logger = logging.getLogger(__name__)

GENESIS = "0" * 64
# Writers' provisional ids on PostgreSQL (created by migration valley 0005).
PENDING_SEQUENCE = "valley_auditentry_pending_id"
# PostgreSQL advisory lock key of the chain head ("valley.audit.seal"; see lock_head).
SEAL_LOCK = 0x7661756469747365
# Entries sealed per transaction: a backlog (after an outage) is sealed in short steps, not one long lock.
SEAL_BATCH = 1000


def _sm3(data: bytes) -> str:
    try:
        return hashlib.new("sm3", data).hexdigest()
    except ValueError:  # an OpenSSL built without SM3: the copy that `cryptography` bundles has it
        from cryptography.hazmat.primitives import hashes

        digest = hashes.Hash(hashes.SM3())
        digest.update(data)
        return digest.finalize().hex()


# The chain's hash functions, by the name each entry records; both give 64 hex digits.
ALGORITHMS = {"sm3": _sm3, "sha256": lambda data: hashlib.sha256(data).hexdigest()}

# Never put secrets into the log.
SECRET_FIELDS = {"password"}

# The text each newly sealed entry's hash covers (see the module's doc; entries keep the format they were sealed with).
HASH_FORMAT = 2
HASH_FORMATS = {1, 2}

_actor: contextvars.ContextVar = contextvars.ContextVar("audit_actor", default=None)


@dataclass(frozen=True)
class Source:
    """Where the audited actions come from: the client's address (empty outside a request) and its agent."""

    address: str = ""
    agent: str = ""


_source: contextvars.ContextVar = contextvars.ContextVar("audit_source", default=None)


@contextmanager
def acting_from(*, address: str = "", agent: str = ""):
    """Record the entries written inside the block as coming from `address` with user agent `agent` (the
    middleware does this per request, Celery per task, manage.py per command). Each entry keeps the first
    valley.models.USER_AGENT_MAX_LENGTH characters of the agent (SOURCE_ADDRESS_MAX_LENGTH of the address)."""
    token = source_begins(address=address, agent=agent)
    try:
        yield
    finally:
        _source.reset(token)


def current_source() -> Source:
    return _source.get() or Source()


def source_begins(*, address: str = "", agent: str = ""):
    """`acting_from` for code that cannot wrap a block (Celery's prerun and postrun signals): returns the
    token to hand to `source_ends`."""
    return _source.set(Source(address=address or "", agent=agent or ""))


def source_ends(token) -> None:
    _source.reset(token)


@contextmanager
def acting_as(user):
    """Attribute the changes made inside the block to `user` (the middleware does this per request)."""
    token = _actor.set(user)
    try:
        yield
    finally:
        _actor.reset(token)


def canonical_json(value) -> str:
    return json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(",", ":"), cls=DjangoJSONEncoder)


def _plain(value):
    """JSON-safe primitives that survive a database round trip unchanged (Decimal and dates as text)."""
    return None if value is None else json.loads(canonical_json(value))


def format_at(at: datetime.datetime) -> str:
    return at.astimezone(datetime.UTC).isoformat(timespec="microseconds")


def sealing_algorithm() -> str:
    """The algorithm new entries are sealed with (AUDIT_HASH_ALGORITHM, checked by the settings)."""
    from django.conf import settings

    return settings.AUDIT_HASH_ALGORITHM


def entry_digest(
    *,
    id,
    at,
    actor_id,
    actor_email,
    action,
    object_type,
    object_id,
    before,
    after,
    prev_hash,
    hash_algorithm,
    source_address="",
    user_agent="",
    outcome="",
    hash_format=HASH_FORMAT,
) -> str:
    """The entry's hash over the text its `hash_format` names (see the module's doc)."""
    cells = [
        str(id),
        format_at(at) if isinstance(at, datetime.datetime) else at,
        "" if actor_id is None else str(actor_id),
        actor_email,
        action,
        object_type,
        str(object_id),
        canonical_json(before),
        canonical_json(after),
    ]
    if hash_format == 2:
        cells += [source_address, user_agent, outcome]
    elif hash_format != 1:
        raise ValueError(f"unknown audit hash format {hash_format!r}")
    text = "|".join([*cells, prev_hash])
    return ALGORITHMS[hash_algorithm](text.encode("utf-8"))


def record(
    *, action: str, actor=None, object_type: str = "", object_id="", before=None, after=None, outcome: str = "success"
):
    """Append one pending entry, with the source (address, agent) of the current context and `outcome`
    (an AuditOutcome: "success", "failed" or "refused"). Runs in the caller's transaction: a rolled-back
    change leaves no entry. One INSERT, locking nothing shared; the entry is sealed into the chain after
    the commit (see the module's doc), and until then its id is provisional."""
    from valley.models import AuditEntry

    entry = _entry(
        action=action,
        actor=actor,
        object_type=object_type,
        object_id=object_id,
        before=before,
        after=after,
        outcome=outcome,
    )
    # What Model.save() does, but with the id taken from the database and returned by the INSERT.
    using = transaction.get_connection().alias
    meta = AuditEntry._meta
    [(entry.id,)] = AuditEntry._base_manager._insert(
        [entry], fields=meta.concrete_fields, returning_fields=[meta.pk], using=using
    )
    entry._state.adding, entry._state.db = False, using
    _after_write()
    return entry


def record_many(entries) -> int:
    """Append several pending entries at once: `entries` are the keyword arguments `record` takes (action,
    actor, object_type, object_id, before, after, outcome), e.g. from `created_entry` / `changed_entry` (None items
    are skipped). On PostgreSQL ONE INSERT, each row taking its provisional id from the sequence in list
    order, so they are sealed into the chain in that order like as many `record` calls; elsewhere (SQLite
    computes the provisional id from the table, one row at a time) one `record` per entry. Returns how many."""
    from valley.models import AuditEntry

    entries = [entry for entry in entries if entry is not None]
    if not entries:
        return 0
    using = transaction.get_connection().alias
    if transaction.get_connection().vendor != "postgresql":
        for entry in entries:
            record(**entry)
        return len(entries)
    rows = [_entry(**entry) for entry in entries]
    meta = AuditEntry._meta
    AuditEntry._base_manager._insert(rows, fields=meta.concrete_fields, using=using)
    _after_write()
    return len(rows)


def _entry(*, action: str, actor=None, object_type: str = "", object_id="", before=None, after=None, outcome="success"):
    from valley.models import SOURCE_ADDRESS_MAX_LENGTH, USER_AGENT_MAX_LENGTH, AuditEntry, AuditOutcome

    if outcome not in AuditOutcome.values:
        raise ValueError(f"unknown audit outcome {outcome!r}")
    source = current_source()

    actor = actor if actor is not None else _actor.get()
    if actor is not None and not getattr(actor, "is_authenticated", False):
        actor = None
    return AuditEntry(
        id=_ProvisionalId(),
        at=timezone.now(),
        actor_id=actor.pk if actor else None,
        actor_email=actor.email if actor else "",
        action=action,
        object_type=object_type,
        object_id=str(object_id),
        before=_plain(before),
        after=_plain(after),
        source_address=source.address[:SOURCE_ADDRESS_MAX_LENGTH],
        # The client's text: PostgreSQL cannot store NUL, which must not turn a login into a 500.
        user_agent=source.agent.replace("\x00", "\ufffd")[:USER_AGENT_MAX_LENGTH],
        outcome=outcome,
    )


class _ProvisionalId(models.Expression):
    """A pending entry's id, above AuditEntry.PENDING_FROM, computed by the INSERT itself."""

    output_field = models.BigIntegerField()

    def as_sql(self, compiler, connection):
        # SQLite has one writer at a time, and the INSERT holds the write lock: the largest provisional
        # id + 1 is free (the pending ids shrink back to PENDING_FROM + 1 as entries are sealed).
        from valley.models import AuditEntry

        table = connection.ops.quote_name(AuditEntry._meta.db_table)
        bound = AuditEntry.PENDING_FROM
        return f"(SELECT COALESCE(MAX(id), %s) + 1 FROM {table} WHERE id > %s)", [bound, bound]  # noqa: S608

    def as_postgresql(self, compiler, connection):
        from valley.models import AuditEntry

        return "%s + nextval(%s)", [AuditEntry.PENDING_FROM, PENDING_SEQUENCE]


def _seal_after_commit() -> None:
    """What `record` does once it has written: have `seal` run when the writer's transaction commits
    (at once outside a transaction), once per transaction however many entries it wrote.

    tests/conftest.py replaces this with `seal` itself: a test's transaction never commits."""
    connection = transaction.get_connection()
    # run_on_commit holds (savepoint ids, callback, robust); a rolled-back savepoint takes its callbacks along.
    if any(callback is _seal_quietly for _ids, callback, *_rest in connection.run_on_commit):
        return
    transaction.on_commit(_seal_quietly)


_after_write = _seal_after_commit


def _seal_quietly() -> None:
    # The writer's change is committed: a seal that fails now (a lost connection, a timeout) must not turn
    # its request into an error. The entries stay pending; beat's task seals them.
    try:
        seal_unless_busy()
    except Exception:
        logger.exception("audit: sealing after commit failed; beat's valley.audit.seal will seal the entries")


class SealConflict(RuntimeError):
    """Two sealers at once; the step is rolled back and its entries stay pending."""


_CONTENT = [
    "id",
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


def seal(*, batch: int = SEAL_BATCH) -> int:
    """Seal every committed pending entry (and the caller's own) into the chain, in the order of their
    provisional ids, waiting for another sealer to finish first; returns how many. Safe to run any
    time, from anywhere, twice.

    Each step is a transaction of its own (or a part of the caller's, when it is in one: then the head
    stays locked until the caller's transaction ends; it takes no savepoint, so an error is the caller's
    error) holding the sealing lock (_lock_sealing)."""
    sealed = 0
    while True:
        with transaction.atomic(savepoint=False):
            _lock_sealing()
            step = _seal_step(batch)
        sealed += step
        if step < batch:
            return sealed


def seal_unless_busy(*, rounds: int = 10) -> int:
    """A writer's seal after its commit: as `seal`, but never waiting for another sealer; returns how many
    it sealed.

    When another sealer holds the lock, our committed entry is left to it: every sealer, once it has
    released the lock, looks again for pending entries, and if it finds any, tries again. An entry
    committed before that look is found by it; one committed after it finds the lock free, unless a
    newer sealer holds it, which looks in turn. A sealer gives up after `rounds` rounds (under steady
    load the other writers' seals go on; otherwise beat's task). So writers never queue for the lock:
    with eight of them, one seals a batch for all while the others go on writing. SQLite, which has
    one writer at a time anyway, simply seals."""
    from django.db import connection

    from valley.models import AuditEntry

    if connection.vendor != "postgresql":
        return seal()
    sealed = 0
    for _round in range(rounds):
        with transaction.atomic(savepoint=False):
            with connection.cursor() as cursor:
                # The writer's own commit is already on disk; its seal need not wait for a second flush. A
                # seal lost in a crash leaves its entries pending (ids and hashes roll back together with
                # the head) and the next seal, or beat's, seals them again.
                cursor.execute("SET LOCAL synchronous_commit TO OFF")
                cursor.execute("SELECT pg_try_advisory_xact_lock(%s)", [SEAL_LOCK])
                if not cursor.fetchone()[0]:
                    return sealed
            sealed += _seal_step(SEAL_BATCH)
        # The lock is released: what was committed meanwhile, its writers left to us.
        if not AuditEntry.objects.filter(id__gt=AuditEntry.PENDING_FROM).exists():
            return sealed
    return sealed


def _seal_step(batch: int) -> int:
    """With the sealing lock held: one SELECT of up to `batch` pending entries and, if there are any, the
    head's row locked, one UPDATE per entry, one of the head. Returns how many it sealed."""
    from django.db import connection

    from valley.models import AuditChainHead, AuditEntry

    # Read after the lock: a sealer that held it before us has committed, so what it sealed is no
    # longer pending (READ COMMITTED takes a new snapshot per statement).
    pending = AuditEntry.objects.filter(id__gt=AuditEntry.PENDING_FROM).order_by("id")
    rows = list(pending.values_list(*_CONTENT)[:batch])
    if not rows:
        return 0  # and, on PostgreSQL, no transaction id: nothing to flush at the commit
    # The row lock too, now that the row is written anyway: it keeps out whatever moves the head without
    # the sealing lock (a process still running the code before sealing, during a deployment).
    head = AuditChainHead.objects.select_for_update().get(pk=1)  # made by ensure_chain_head after migrate
    position, previous, changes = head.last_id, head.last_hash, []
    algorithm = sealing_algorithm()
    for row in rows:
        entry = dict(zip(_CONTENT, row, strict=True))
        provisional = entry["id"]
        position += 1
        # Hashed from the values as stored, exactly what verify_chain will read back.
        sealed = {"id": position, "prev_hash": previous, "hash_algorithm": algorithm, "hash_format": HASH_FORMAT}
        digest = entry_digest(**{**entry, **sealed})
        changes.append((position, previous, digest, algorithm, HASH_FORMAT, provisional))
        previous = digest
    table = connection.ops.quote_name(AuditEntry._meta.db_table)
    with connection.cursor() as cursor:
        # The one UPDATE the database lets through (valley.audit.guard): a pending row, sealed once.
        sql = f"UPDATE {table} SET id = %s, prev_hash = %s, hash = %s, hash_algorithm = %s, hash_format = %s WHERE id = %s"  # noqa: S608, E501
        cursor.executemany(sql, changes)
        if cursor.rowcount != len(changes):
            # Another sealer got there between our SELECT and UPDATE: the lock did not hold.
            raise SealConflict(f"{len(changes)} entries to seal, {cursor.rowcount} found still pending")
    head.last_id, head.last_hash = position, previous
    head.save(update_fields=["last_id", "last_hash"])
    return len(rows)


def _lock_sealing() -> None:
    """Wait for the sealing lock, held until the transaction ends. On PostgreSQL an advisory lock rather
    than the head's row lock, so that a writer can try it without waiting (seal_unless_busy), and a
    sealer that finds nothing left to seal ends without a transaction id, so without a commit to flush
    to disk. SQLite's transactions already hold the database's write lock."""
    from django.db import connection

    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [SEAL_LOCK])


def lock_head():
    """The chain head, locked as sealers lock it, until the transaction ends: for whatever else moves the
    head (the province generator)."""
    from valley.models import AuditChainHead

    _lock_sealing()
    return AuditChainHead.objects.select_for_update().get(pk=1)


def sealed_entries():
    """Every sealed entry, after sealing what is pending: what the export and verification read."""
    from valley.models import AuditEntry

    seal()
    return AuditEntry.objects.filter(id__lte=AuditEntry.PENDING_FROM)


@dataclass(frozen=True)
class ChainCheck:
    ok: bool
    entries: int
    first_bad_id: int | None = None
    problem: str = ""
    pending: int = 0  # written after the check sealed, not yet in the chain


def verify_chain(*, chunk_size: int = 5000) -> ChainCheck:
    """Seal what is pending, then walk the whole chain in id order and recompute every hash, each over the
    text of the entry's own hash_format (1 or 2: with source address, user agent and outcome) with its
    own hash_algorithm; an unknown format or algorithm fails the check. Memory does not grow with the log.
    Sealing goes on during the walk: entries sealed after the walk began are checked next time."""
    from valley.models import AuditChainHead, AuditEntry

    seal()
    # The head before the walk: the walk reaches at least up to it (else entries at the end were deleted),
    # and passes through it (else the newest entries were rewritten).
    head = AuditChainHead.objects.filter(pk=1).first()
    expected_prev, expected_id, count = GENESIS, 1, 0
    columns = [*_CONTENT, "prev_hash", "hash_algorithm", "hash_format", "hash"]
    sealed = AuditEntry.objects.filter(id__lte=AuditEntry.PENDING_FROM).order_by("id").values_list(*columns)
    rows: Iterator = sealed.iterator(chunk_size=chunk_size)
    for row in rows:
        entry = dict(zip(columns, row, strict=True))
        if entry["id"] != expected_id:
            missing = _("entries #%(first)s–#%(last)s are missing") % {"first": expected_id, "last": entry["id"] - 1}
            return ChainCheck(False, count, entry["id"], missing)
        if entry["prev_hash"] != expected_prev:
            return ChainCheck(False, count, entry["id"], _("its previous hash does not match the entry before it"))
        stored = entry.pop("hash")
        if entry["hash_algorithm"] not in ALGORITHMS:
            unknown = _("its hash algorithm “%(algorithm)s” is unknown") % {"algorithm": entry["hash_algorithm"]}
            return ChainCheck(False, count, entry["id"], unknown)
        if entry["hash_format"] not in HASH_FORMATS:
            unknown = _("its hash format “%(format)s” is unknown") % {"format": entry["hash_format"]}
            return ChainCheck(False, count, entry["id"], unknown)
        if entry_digest(**entry) != stored:
            return ChainCheck(False, count, entry["id"], _("its content does not match its hash (it was altered)"))
        if head and entry["id"] == head.last_id and stored != head.last_hash:
            return ChainCheck(False, count, entry["id"], _("it does not match the chain head (it was rewritten)"))
        expected_prev, expected_id, count = stored, expected_id + 1, count + 1
    if head and head.last_id > count:
        missing = _("entries after #%(last_good)s up to #%(last)s are missing") % {
            "last_good": count,
            "last": head.last_id,
        }
        return ChainCheck(False, count, expected_id, missing)
    if head and count > head.last_id:
        # Sealed during the walk, or put there by someone else: the head, read again, tells which.
        head.refresh_from_db()
        if count > head.last_id:
            added = _("entries after #%(last)s were added outside the chain") % {"last": head.last_id}
            return ChainCheck(False, count, head.last_id + 1, added)
    return ChainCheck(True, count, pending=AuditEntry.objects.filter(id__gt=AuditEntry.PENDING_FROM).count())


def ensure_chain_head(**kwargs) -> None:
    from valley.models import AuditChainHead

    AuditChainHead.objects.get_or_create(pk=1, defaults={"last_hash": GENESIS})


# ------------------------------------------------------------------------------ model change tracking


def _stored(field, value):
    """The value as the database keeps it: a Decimal set as 1500000 is stored, and compared, as 1500000.00."""
    if value is not None and isinstance(field, models.DecimalField):
        return Decimal(value).quantize(Decimal(1).scaleb(-field.decimal_places))
    if isinstance(field, models.FileField):  # the stored file's name, as the column keeps it
        return (value.name if value else "") or ""
    return value


def _values(instance) -> dict:
    return {
        field.attname: _stored(field, getattr(instance, field.attname))
        for field in instance._meta.concrete_fields
        if field.name not in SECRET_FIELDS
    }


def snapshot(instance) -> dict:
    """The record's stored values (secrets left out), to pass as `before` to record_changed. Take it
    before changing the instance: from the row as locked, not from a form's copy."""
    return _plain(_values(instance))


def created_entry(instance, *, action: str, actor=None, after: dict | None = None) -> dict:
    """What `record_created` records, as `record`'s keyword arguments (for `record_many`)."""
    return {
        "action": action,
        "actor": actor,
        "object_type": instance._meta.label_lower,
        "object_id": instance.pk,
        "after": _plain(after) if after is not None else snapshot(instance),
    }


def record_created(instance, *, action: str, actor=None, after: dict | None = None):
    """The entry for a new record: its values (or `after`, when the service names what matters)."""
    return record(**created_entry(instance, action=action, actor=actor, after=after))


def record_deleted(instance, *, action: str, actor=None):
    """The entry for a record about to be removed: its values as they were, kept by the log. Call it before
    `instance.delete()`, in the same transaction."""
    return record(
        action=action,
        actor=actor,
        object_type=instance._meta.label_lower,
        object_id=instance.pk,
        before=snapshot(instance),
    )


def changed_entry(instance, *, action: str, before: dict, actor=None, extra: dict | None = None) -> dict | None:
    """What `record_changed` records, as `record`'s keyword arguments (for `record_many`), or None."""
    after_all = snapshot(instance)
    stamps = {f.attname for f in instance._meta.concrete_fields if getattr(f, "auto_now", False)}
    changed = sorted(name for name in after_all if name not in stamps and before.get(name) != after_all[name])
    if not changed and not extra:
        return None
    return {
        "action": action,
        "actor": actor,
        "object_type": instance._meta.label_lower,
        "object_id": instance.pk,
        "before": {name: before.get(name) for name in changed},
        "after": {**{name: after_all[name] for name in changed}, **_plain(extra or {})},
    }


def record_changed(instance, *, action: str, before: dict, actor=None, extra: dict | None = None):
    """The entry for a change: only the fields that differ from `before` (a snapshot), both ways, plus
    `extra` (e.g. a reason) in `after`. Nothing is recorded, and None returned, when nothing changed
    and there is no `extra`."""
    entry = changed_entry(instance, action=action, before=before, actor=actor, extra=extra)
    return record(**entry) if entry is not None else None


def _logged_in(sender, request, user, **kwargs):
    record(action="auth.login", actor=user, object_type="valley.user", object_id=user.pk)


def _logged_out(sender, request, user, **kwargs):
    # `user` is None when nobody was signed in (a logout of an expired session): nothing to record.
    if user is not None and getattr(user, "is_authenticated", False):
        record(action="auth.logout", actor=user, object_type="valley.user", object_id=user.pk)


def _login_failed(sender, credentials, request=None, **kwargs):
    from django.contrib.auth.models import AnonymousUser

    # django-axes marks the request when it refused the attempt (locked out) before the password was checked.
    refused = bool(getattr(request, "axes_locked_out", False))
    # Whoever is signed in on that browser, the failed attempt itself is anonymous.
    record(
        action="auth.login_failed",
        actor=AnonymousUser(),
        object_type="valley.user",
        after={"username": str(credentials.get("username") or credentials.get("email") or "")[:254]},
        outcome="refused" if refused else "failed",
    )


def connect_signals() -> None:
    """Logins, logouts and failed logins, from Django's own authentication signals: logging in and out is
    Django's service, and these are its seam. Every other entry is written by the service that makes the
    change."""
    from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed

    user_logged_in.connect(_logged_in, dispatch_uid="audit:login")
    user_logged_out.connect(_logged_out, dispatch_uid="audit:logout")
    user_login_failed.connect(_login_failed, dispatch_uid="audit:login_failed")
