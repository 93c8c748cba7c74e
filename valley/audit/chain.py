"""The tamper-evident audit log.

Every entry's hash is SHA-256 over a canonical text of the entry and the previous entry's hash:

    id | at (UTC, ISO 8601, microseconds) | actor id | actor e-mail | action | object type | object id
       | before (canonical JSON) | after (canonical JSON) | previous hash

joined with "|" and encoded as UTF-8. Canonical JSON is `json.dumps(value, sort_keys=True,
ensure_ascii=False, separators=(",", ":"))`, with "null" for no value. The first entry's previous hash
is GENESIS. README.md shows how to check a downloaded CSV with nothing but Python.

What is recorded: changes of the models in AUDITED_MODELS (create, change, delete, with the values
before and after), every workflow transition (the history rows), logins of staff and auditors, failed
logins, and every export. Appends take a row lock on the chain head, so the chain has no forks.
"""

import contextvars
import datetime
import hashlib
import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from decimal import Decimal

from django.apps import apps
from django.core.serializers.json import DjangoJSONEncoder
from django.db import models, transaction
from django.db.models import signals as models_signals
from django.utils import timezone
from django.utils.translation import gettext as _

GENESIS = "0" * 64

# label → action prefix: records that touch money or decisions, registered by their apps (track_models).
AUDITED_MODELS: dict[str, str] = {}
# History rows are themselves the record of a transition: logged under their own action code.
TRANSITION_MODELS: set[str] = set()
TRANSITION_MODELS_OBJECT: dict[str, str] = {}


def track_models(models: dict[str, str], *, transitions: dict[str, str] | None = None) -> None:
    """Called by an app's AppConfig.ready(): audit these models' changes under the given action prefixes,
    and log these history models' rows as transitions of the object type named beside each."""
    AUDITED_MODELS.update(models)
    for label in models:
        model = apps.get_model(label)
        uid = f"audit:{label}"
        models_signals.pre_save.connect(_before_save, sender=model, dispatch_uid=f"{uid}:pre")
        models_signals.post_save.connect(_after_save, sender=model, dispatch_uid=f"{uid}:post")
        models_signals.post_delete.connect(_after_delete, sender=model, dispatch_uid=f"{uid}:delete")
    for label, object_type in (transitions or {}).items():
        TRANSITION_MODELS.add(label)
        TRANSITION_MODELS_OBJECT[label] = object_type
        models_signals.post_save.connect(_transition_saved, sender=apps.get_model(label), dispatch_uid=f"audit:{label}")


# Never put secrets into the log.
SECRET_FIELDS = {"password"}

_actor: contextvars.ContextVar = contextvars.ContextVar("audit_actor", default=None)


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


def entry_digest(*, id, at, actor_id, actor_email, action, object_type, object_id, before, after, prev_hash) -> str:
    text = "|".join(
        [
            str(id),
            format_at(at) if isinstance(at, datetime.datetime) else at,
            "" if actor_id is None else str(actor_id),
            actor_email,
            action,
            object_type,
            str(object_id),
            canonical_json(before),
            canonical_json(after),
            prev_hash,
        ]
    )
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def record(*, action: str, actor=None, object_type: str = "", object_id="", before=None, after=None):
    """Append one entry. Runs in the caller's transaction: a rolled-back change leaves no entry."""
    from valley.models import AuditChainHead, AuditEntry

    actor = actor if actor is not None else _actor.get()
    if actor is not None and not getattr(actor, "is_authenticated", False):
        actor = None
    with transaction.atomic():
        head = AuditChainHead.objects.select_for_update().get(pk=1)  # made by ensure_chain_head after migrate
        fields = {
            "id": head.last_id + 1,
            "at": timezone.now(),
            "actor_id": actor.pk if actor else None,
            "actor_email": actor.email if actor else "",
            "action": action,
            "object_type": object_type,
            "object_id": str(object_id),
            "before": _plain(before),
            "after": _plain(after),
            "prev_hash": head.last_hash,
        }
        entry = AuditEntry.objects.create(**fields, hash=entry_digest(**fields))
        head.last_id, head.last_hash = entry.id, entry.hash
        head.save(update_fields=["last_id", "last_hash"])
    return entry


@dataclass(frozen=True)
class ChainCheck:
    ok: bool
    entries: int
    first_bad_id: int | None = None
    problem: str = ""


def verify_chain(*, chunk_size: int = 5000) -> ChainCheck:
    """Walk the whole log in id order and recompute every hash. Memory does not grow with the log."""
    from valley.models import AuditChainHead, AuditEntry

    expected_prev, expected_id, count = GENESIS, 1, 0
    columns = [
        "id",
        "at",
        "actor_id",
        "actor_email",
        "action",
        "object_type",
        "object_id",
        "before",
        "after",
        "prev_hash",
        "hash",
    ]
    rows: Iterator = AuditEntry.objects.order_by("id").values_list(*columns).iterator(chunk_size=chunk_size)
    for row in rows:
        entry = dict(zip(columns, row, strict=True))
        if entry["id"] != expected_id:
            missing = _("entries #%(first)s–#%(last)s are missing") % {"first": expected_id, "last": entry["id"] - 1}
            return ChainCheck(False, count, entry["id"], missing)
        if entry["prev_hash"] != expected_prev:
            return ChainCheck(False, count, entry["id"], _("its previous hash does not match the entry before it"))
        stored = entry.pop("hash")
        if entry_digest(**entry) != stored:
            return ChainCheck(False, count, entry["id"], _("its content does not match its hash (it was altered)"))
        expected_prev, expected_id, count = stored, expected_id + 1, count + 1
    head = AuditChainHead.objects.filter(pk=1).first()
    if head and (head.last_id != expected_id - 1 or head.last_hash != expected_prev):
        missing = _("entries after #%(last_good)s up to #%(last)s are missing") % {
            "last_good": expected_id - 1,
            "last": head.last_id,
        }
        return ChainCheck(False, count, expected_id, missing)
    return ChainCheck(True, count)


def ensure_chain_head(**kwargs) -> None:
    from valley.models import AuditChainHead

    AuditChainHead.objects.get_or_create(pk=1, defaults={"last_hash": GENESIS})


# ------------------------------------------------------------------------------ model change tracking


def _stored(field, value):
    """The value as the database keeps it: a Decimal set as 1500000 is stored, and compared, as 1500000.00."""
    if value is not None and isinstance(field, models.DecimalField):
        return Decimal(value).quantize(Decimal(1).scaleb(-field.decimal_places))
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


def record_created(instance, *, action: str, actor=None, after: dict | None = None):
    """The entry for a new record: its values (or `after`, when the service names what matters)."""
    return record(
        action=action,
        actor=actor,
        object_type=instance._meta.label_lower,
        object_id=instance.pk,
        after=_plain(after) if after is not None else snapshot(instance),
    )


def record_changed(instance, *, action: str, before: dict, actor=None, extra: dict | None = None):
    """The entry for a change: only the fields that differ from `before` (a snapshot), both ways, plus
    `extra` (e.g. a reason) in `after`. Nothing is recorded, and None returned, when nothing changed
    and there is no `extra`."""
    after_all = snapshot(instance)
    stamps = {f.attname for f in instance._meta.concrete_fields if getattr(f, "auto_now", False)}
    changed = sorted(name for name in after_all if name not in stamps and before.get(name) != after_all[name])
    if not changed and not extra:
        return None
    return record(
        action=action,
        actor=actor,
        object_type=instance._meta.label_lower,
        object_id=instance.pk,
        before={name: before.get(name) for name in changed},
        after={**{name: after_all[name] for name in changed}, **_plain(extra or {})},
    )


def _object_type(sender) -> str:
    return sender._meta.label_lower


def _before_save(sender, instance, raw=False, **kwargs):
    if raw or instance.pk is None or instance._state.adding:
        instance._audit_before = None
        return
    names = [f.attname for f in sender._meta.concrete_fields if f.name not in SECRET_FIELDS]
    instance._audit_before = sender._base_manager.filter(pk=instance.pk).values(*names).first()


def _after_save(sender, instance, created, raw=False, update_fields=None, **kwargs):
    if raw:
        return
    prefix = AUDITED_MODELS[sender._meta.label]
    after = _plain(_values(instance))
    before = _plain(getattr(instance, "_audit_before", None))
    if created or before is None:
        record(action=f"{prefix}.created", object_type=_object_type(sender), object_id=instance.pk, after=after)
        return
    # A save that only touched auto-updated timestamps changed nothing anyone decided.
    stamps = {f.attname for f in sender._meta.concrete_fields if getattr(f, "auto_now", False)}
    changed = sorted(name for name in after if name not in stamps and before.get(name) != after[name])
    if not changed:
        return
    record(
        action=f"{prefix}.changed",
        object_type=_object_type(sender),
        object_id=instance.pk,
        before={name: before.get(name) for name in changed},
        after={name: after[name] for name in changed},
    )


def _after_delete(sender, instance, **kwargs):
    record(
        action=f"{AUDITED_MODELS[sender._meta.label]}.deleted",
        object_type=_object_type(sender),
        object_id=instance.pk,
        before=_values(instance),
    )


def _transition_saved(sender, instance, created, raw=False, **kwargs):
    if raw or not created:
        return
    record(
        action=instance.action,
        actor=instance.by,
        object_type=TRANSITION_MODELS_OBJECT[sender._meta.label],
        object_id=instance.application_id,
        before={"state": instance.from_state},
        after={"state": instance.to_state, "comment": instance.comment, "internal_note": instance.internal_note},
    )


def _logged_in(sender, request, user, **kwargs):
    from valley.core import roles

    if user.is_superuser or roles.is_staff_member(user) or roles.is_auditor(user):
        record(action="auth.login", actor=user, object_type="valley.user", object_id=user.pk)


def _login_failed(sender, credentials, request=None, **kwargs):
    from django.contrib.auth.models import AnonymousUser

    # Whoever is signed in on that browser, the failed attempt itself is anonymous.
    record(
        action="auth.login_failed",
        actor=AnonymousUser(),
        object_type="valley.user",
        after={"username": str(credentials.get("username") or credentials.get("email") or "")[:254]},
    )


def connect_signals() -> None:
    """Logins and failed logins; the apps' models are connected by track_models."""
    from django.contrib.auth.signals import user_logged_in, user_login_failed

    user_logged_in.connect(_logged_in, dispatch_uid="audit:login")
    user_login_failed.connect(_login_failed, dispatch_uid="audit:login_failed")
