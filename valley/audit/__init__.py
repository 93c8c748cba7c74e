"""The tamper-evident audit log: `record` an entry where a change is made, `verify_chain` to check it.

The room: chain.py (the entry's digest, appending, sealing, verification), middleware.py (who is acting,
and from where; refused pages), views.py (the auditors' check page), exports.py (the log as a CSV export,
with its end line), tasks.py (beat's sealing and anchors), anchors.py (the daily anchors outside the
database), signing.py (their SM2 signatures), access.py (who reads the log).
"""

from valley.audit.access import may_read_log
from valley.audit.chain import (
    GENESIS,
    ChainCheck,
    acting_as,
    acting_from,
    canonical_json,
    changed_entry,
    created_entry,
    entry_digest,
    format_at,
    record,
    record_changed,
    record_created,
    record_deleted,
    record_many,
    seal,
    sealed_entries,
    snapshot,
    verify_chain,
)

__all__ = [
    "may_read_log",
    "record_changed",
    "record_created",
    "record_deleted",
    "snapshot",
    "GENESIS",
    "ChainCheck",
    "acting_as",
    "acting_from",
    "canonical_json",
    "entry_digest",
    "format_at",
    "record",
    "record_many",
    "created_entry",
    "changed_entry",
    "seal",
    "sealed_entries",
    "verify_chain",
]
