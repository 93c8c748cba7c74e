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
SM2 signatures of the anchor files are not done yet.
"""

import dataclasses
import datetime
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

from valley.audit import chain


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

    def as_json(self) -> dict:
        return {
            "date": self.day.isoformat(),
            "last_id": self.last_id,
            "hash": self.hash,
            "hash_algorithm": self.hash_algorithm,
            "entries": self.entries,
            "written_at": self.written_at,
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
    if not paths:
        return AnchorCheck(True, 0)
    anchors = []
    for path in paths:
        content = _read(path)
        if content is None:
            return AnchorCheck(False, len(paths), path.name, _("the anchor file cannot be read"))
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
        return AnchorCheck(False, len(paths), path.name, problem)
    return AnchorCheck(True, len(paths))
