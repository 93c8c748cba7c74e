"""Daily anchors: the chain's head at the end of each day, kept outside the database.

The chain (valley.audit.chain) finds any change to an entry, unless whoever changed it recomputed every
hash after it and moved the head too, which a database owner can do. An anchor is what such a rewrite
cannot reach: `write_anchor(day)` writes `AUDIT_ANCHOR_DIR/<YYYY-MM-DD>.json` with the last entry sealed
by the end of that day (Asia/Shanghai): its id, hash and algorithm, and how many entries the chain held up
to it; and mails the same facts to every auditor. The directory is meant to be on another machine (a
mount of an object store, a write-once share), the mail is a second copy no database owner holds.

An anchor file is never replaced: the first one written for a day stands, so a later rewrite cannot
refresh its anchors along with the chain. `verify_anchors` reads every anchor file and checks that the
database still holds the anchored entry with exactly the anchored hash, and the anchored number of
entries up to it: a chain rewritten end to end, however consistent in itself, no longer matches.

With an SM2 key configured (valley.audit.signing), each anchor file also carries an SM2 signature of its
canonical content (`signed_content`: the file's fields but the signature, as canonical JSON), and
`verify_anchors` checks it with the public key: an anchor edited where it is kept (say, moved along with a
rewritten chain) no longer verifies, and with a public key configured an anchor without a signature fails
too (unless it is dated before AUDIT_ANCHOR_SIGNED_FROM, the day signing was switched on).
"""

import dataclasses
import datetime
import hashlib
import json
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.db import transaction
from django.db.models import Count, Q
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from valley.audit import chain, signing


class AnchorExists(Exception):
    """The day already has its anchor; the first one stands."""


@dataclass(frozen=True)
class Anchor:
    day: datetime.date
    last_id: int
    hash: str
    hash_algorithm: str
    entries: int
    written_at: str
    path: Path
    mailed: int = 0  # auditors the anchor was mailed to (not part of the file)
    signature: dict | None = None  # {"algorithm", "key_id", "value"} when an SM2 private key is configured

    def content(self) -> dict:
        """What the anchor states, and what its signature covers."""
        return {
            "date": self.day.isoformat(),
            "last_id": self.last_id,
            "hash": self.hash,
            "hash_algorithm": self.hash_algorithm,
            "entries": self.entries,
            "written_at": self.written_at,
        }

    def as_json(self) -> dict:
        return {**self.content(), **({"signature": self.signature} if self.signature else {})}


SIGNATURE = "signature"


def signed_content(content: dict) -> bytes:
    """The bytes an anchor's signature covers: every field of the file but the signature itself, as canonical
    JSON (sorted keys, no spaces, UTF-8), so the file's layout (indentation, key order) does not matter."""
    return chain.canonical_json({key: value for key, value in content.items() if key != SIGNATURE}).encode("utf-8")


def _signature_of(content: dict) -> dict | None:
    private = signing.private_key()
    if private is None:
        return None
    return {
        "algorithm": signing.ALGORITHM,
        "key_id": signing.key_id(signing.public_of(private)),  # the signing key's, whatever public key is set
        "value": signing.sign(signed_content(content), private),
    }


def anchor_dir() -> Path:
    return Path(settings.AUDIT_ANCHOR_DIR)


def anchor_path(day: datetime.date) -> Path:
    return anchor_dir() / f"{day.isoformat()}.json"


def auditor_emails() -> list[str]:
    """Addresses of the active auditors, who receive every anchor. One query."""
    from valley.core import roles

    return roles.emails_of(roles.AUDITOR)


def _end_of(day: datetime.date) -> datetime.datetime:
    """The first instant after `day` in the portal's time zone (Asia/Shanghai)."""
    return timezone.make_aware(datetime.datetime.combine(day + datetime.timedelta(days=1), datetime.time()))


def head_at_end_of(day: datetime.date) -> dict:
    """The last entry sealed with a time before the end of `day` (after sealing what is pending): its id,
    hash and algorithm, and the number of sealed entries up to it. Before the first entry: id 0, GENESIS."""
    from valley.models import AuditEntry

    sealed = chain.sealed_entries()
    last = sealed.filter(at__lt=_end_of(day)).order_by("-id").values("id", "hash", "hash_algorithm").first()
    if last is None:
        return {"last_id": 0, "hash": chain.GENESIS, "hash_algorithm": "", "entries": 0}
    entries = AuditEntry.objects.filter(id__lte=last["id"]).count()
    return {"last_id": last["id"], "hash": last["hash"], "hash_algorithm": last["hash_algorithm"], "entries": entries}


def write_anchor(day: datetime.date) -> Anchor:
    """Seal, write `day`'s anchor file and mail it to the auditors. Raises AnchorExists (writing and mailing
    nothing) when the day has its anchor already, and ValueError for a day that has not ended yet: its head
    would still move, and the first anchor is the one that stands."""
    if day >= timezone.localdate():
        raise ValueError(_("%(day)s has not ended yet; a day is anchored once it is over.") % {"day": day})
    path = anchor_path(day)
    if path.exists():
        raise AnchorExists(path)
    head = head_at_end_of(day)
    anchor = Anchor(day=day, **head, written_at=timezone.now().isoformat(timespec="seconds"), path=path)
    anchor = dataclasses.replace(anchor, signature=_signature_of(anchor.content()))
    # The mail goes into the outbox in this transaction: if the file cannot be written (another process wrote
    # the day's anchor meanwhile), the mail is rolled back with it, so the auditors hear of each anchor once.
    with transaction.atomic():
        mailed = _mail_auditors(anchor)
        _write_once(path, anchor.as_json())
    return dataclasses.replace(anchor, mailed=mailed)


def _write_once(path: Path, content: dict) -> None:
    """Write the file complete under a temporary name, then link it into place: the link fails if the name
    exists (no anchor is ever replaced, even by a writer racing us), and no one ever reads a half file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor, temporary = tempfile.mkstemp(dir=path.parent, prefix=".anchor-", suffix=".tmp")
    try:
        with os.fdopen(descriptor, "w", encoding="utf-8") as file:
            json.dump(content, file, indent=2, sort_keys=True)
            file.write("\n")
            file.flush()
            os.fsync(file.fileno())
        try:
            os.link(temporary, path)
        except FileExistsError as exists:
            raise AnchorExists(path) from exists
    finally:
        os.unlink(temporary)


def _mail_auditors(anchor: Anchor) -> int:
    from valley.messaging.mail import queue_mail

    def render():
        subject = _("[Shanxi Innovation Valley] Audit log anchor for %(date)s") % {"date": anchor.day.isoformat()}
        body = _(
            "The audit log's chain head at the end of %(date)s:\n\n"
            "Last entry: #%(last_id)s\nIts hash (%(algorithm)s): %(hash)s\nEntries up to it: %(entries)s\n"
            "Written at: %(written_at)s\n\n"
            "Keep this mail: verify_audit_log compares the chain with these values, and they are what shows "
            "a chain rewritten after today."
        ) % {
            "date": anchor.day.isoformat(),
            "last_id": anchor.last_id,
            "algorithm": anchor.hash_algorithm or "-",
            "hash": anchor.hash,
            "entries": anchor.entries,
            "written_at": anchor.written_at,
        }
        return subject, body

    # Auditors read either language; the subject in the portal's, the body in both.
    with translation.override("zh-hans"):
        subject, body_zh = render()
    with translation.override("en"):
        _subject, body_en = render()
    recipients = auditor_emails()
    queue_mail(to=recipients, subject=subject, body=f"{body_zh}\n\n----\n{body_en}\n")
    return len(recipients)


@dataclass(frozen=True)
class AnchorCheck:
    ok: bool
    anchors: int  # anchor files read
    file: str = ""  # the first anchor file that does not match
    problem: str = ""
    signed: int = 0  # anchors whose SM2 signature was verified
    key_id: str = ""  # the public key they were verified with ("" when none is configured)
    latest: dict | None = None  # the newest anchor file's content, when every anchor matched


_FIELDS = {"date": str, "last_id": int, "hash": str, "entries": int}


def _read(path: Path) -> dict | None:
    try:
        content = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError):
        return None
    if not isinstance(content, dict) or any(not isinstance(content.get(k), t) for k, t in _FIELDS.items()):
        return None
    return content


def latest_anchors(count: int = 5) -> list[dict]:
    """The newest `count` anchor files as written (date, last_id, hash, entries), newest first; unreadable
    files are left out (verify_anchors reports them). No query: read from the anchor directory."""
    folder = anchor_dir()
    paths = sorted(folder.glob("*.json"), reverse=True) if folder.is_dir() else []
    contents = (_read(path) for path in paths[: count * 2])
    return [content for content in contents if content is not None][:count]


def verify_anchors() -> AnchorCheck:
    """Read every anchor file and check the sealed chain against each: the anchored entry exists with the
    anchored hash, and the chain holds the anchored number of entries up to it. Two queries whatever the
    number of anchors. No directory or no anchor files: ok, with 0 anchors."""
    from valley.models import AuditEntry

    folder = anchor_dir()
    paths = sorted(folder.glob("*.json")) if folder.is_dir() else []
    public = signing.public_key()
    key = signing.key_id(public) if public else ""
    if not paths:
        return AnchorCheck(True, 0, key_id=key)
    anchors, signed = [], 0
    for path in paths:
        content = _read(path)
        if content is None:
            return AnchorCheck(False, len(paths), path.name, _("the anchor file cannot be read"), key_id=key)
        if public:
            problem = _signature_problem(content, public)
            if problem:
                return AnchorCheck(False, len(paths), path.name, problem, signed=signed, key_id=key)
            signed += SIGNATURE in content
        anchors.append((path, content))
    chain.seal()
    sealed = AuditEntry.objects.filter(id__lte=AuditEntry.PENDING_FROM)
    ids = {content["last_id"] for _path, content in anchors}
    hashes = dict(sealed.filter(id__in=ids).values_list("id", "hash"))
    counts = sealed.aggregate(**{f"up_to_{i}": Count("id", filter=Q(id__lte=i)) for i in ids})
    for path, content in anchors:
        last_id = content["last_id"]
        stored = hashes.get(last_id, chain.GENESIS if last_id == 0 else None)
        if stored is None:
            problem = _("entry #%(entry)s, which it anchors, is missing") % {"entry": last_id}
        elif stored != content["hash"]:
            problem = _("entry #%(entry)s no longer has the anchored hash (the chain was rewritten)") % {
                "entry": last_id
            }
        elif counts[f"up_to_{last_id}"] != content["entries"]:
            problem = _("the chain holds %(found)s entries up to #%(entry)s, the anchor %(anchored)s") % {
                "found": counts[f"up_to_{last_id}"],
                "entry": last_id,
                "anchored": content["entries"],
            }
        else:
            continue
        return AnchorCheck(False, len(paths), path.name, problem, signed=signed, key_id=key)
    return AnchorCheck(True, len(paths), signed=signed, key_id=key, latest=anchors[-1][1])


def _signature_problem(content: dict, public: str) -> str:
    """Why the anchor's signature does not verify under `public`, or "" when it does (or the anchor is dated
    before AUDIT_ANCHOR_SIGNED_FROM and has none)."""
    signature = content.get(SIGNATURE)
    if signature is None:
        signed_from = settings.AUDIT_ANCHOR_SIGNED_FROM
        if signed_from is not None and content["date"] < signed_from.isoformat():
            return ""
        return _("the anchor is not signed, and every anchor must carry an SM2 signature")
    if not isinstance(signature, dict) or signature.get("algorithm") != signing.ALGORITHM:
        return _("its signature is not an SM2 signature the portal can read")
    if signature.get("key_id") != signing.key_id(public):
        return _("it was signed with another key (%(signed_with)s) than the configured one (%(configured)s)") % {
            "signed_with": signature.get("key_id"),
            "configured": signing.key_id(public),
        }
    if not _verified(signed_content(content), signature.get("value"), public):
        return _("its SM2 signature does not match its content (the anchor file was altered)")
    return ""


# Signatures found valid, by (key, content digest, signature): an anchor file never changes, so each is checked
# once per process, and the auditors' page stays fast however many days are anchored. Only successes are kept,
# in this process's memory (nothing outside it can add to them); a changed file has another digest.
_VERIFIED: set[tuple[str, str, str]] = set()


def _verified(message: bytes, signature, public: str) -> bool:
    remembered = (public, hashlib.sha256(message).hexdigest(), signature)
    if remembered in _VERIFIED:
        return True
    if not signing.verify(message, signature, public):
        return False
    _VERIFIED.add(remembered)
    return True
