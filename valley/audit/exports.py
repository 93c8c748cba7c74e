"""The audit log as a CSV export (see valley.exports.engine for the format), ending with its own proof."""

import django_filters
from django.utils.translation import gettext_lazy as _

from valley.audit.access import may_read_log
from valley.audit.chain import GENESIS, sealed_entries
from valley.exports.engine import Column, Export
from valley.models import AuditEntry, AuditOutcome
from valley.web.filters import DateRangeFilter, PortalFilterSet


class AuditEntryFilter(PortalFilterSet):
    at = DateRangeFilter(label=_("between"))
    action = django_filters.CharFilter(lookup_expr="startswith", label=_("action starts with"))
    object_type = django_filters.CharFilter(label=_("object type"))
    object_id = django_filters.CharFilter(label=_("object id"))
    actor_email = django_filters.CharFilter(lookup_expr="iexact", label=_("actor e-mail"))
    source_address = django_filters.CharFilter(label=_("source address"))
    outcome = django_filters.ChoiceFilter(choices=AuditOutcome.choices, label=_("outcome"))

    class Meta:
        model = AuditEntry
        fields = ["at", "action", "object_type", "object_id", "actor_email", "source_address", "outcome"]


END_MARK = "#end"


class EndLine:
    """The file's last line: how many entries it holds, and the id and hash of the last one, as the export
    wrote them, e.g. `#end,entries=1234,last_id=1234,last_hash=5f0c…`. The README's offline check requires
    it: a file cut short (rows removed at the end, or the end line itself) or with a row edited, added or
    removed no longer ends where its end line says, or lacks the line. Taken from the rows as written (never
    a second query): it states exactly what this file holds. Its cells are named (key=value) and found by
    the columns' keys, so columns added to the log later change nothing here.

    A final line rather than a manifest beside the file: auditors open the CSV in Excel, WPS or LibreOffice,
    which open one file; a manifest would mean a zip (which they cannot open as a table, and which gets
    unpacked and the manifest left behind) or a second download (which gets separated from the file). A
    spreadsheet shows the end line as one more row of text: "#end" is neither a number, so it sorts apart
    from the entries' ids, nor a formula start."""

    def __init__(self, export: Export):
        keys = [column.key for column in export.columns]
        self._id, self._hash = keys.index("id"), keys.index("hash")
        self.entries, self.last_id, self.last_hash = 0, "0", GENESIS

    def add(self, cells: list[str]) -> None:
        self.entries += 1
        self.last_id, self.last_hash = cells[self._id], cells[self._hash]

    def lines(self) -> list[list[str]]:
        return [[END_MARK, f"entries={self.entries}", f"last_id={self.last_id}", f"last_hash={self.last_hash}"]]


AUDIT_LOG = Export(
    name="audit-log",
    label=_("Audit log"),
    # Sealed entries only, after sealing what is pending: every row of the file has its hash.
    queryset=lambda user: sealed_entries(),
    # The whole log, to auditors and provincial staff only: why, in valley.audit.access.
    readers=may_read_log,
    trailer=EndLine,
    filterset_class=AuditEntryFilter,
    order_by=("id",),
    columns=[
        # The chain position, which the hash covers (an entry's id once it is sealed).
        Column("id", _("entry"), "id", "number"),
        # Exactly as hashed (UTC, microseconds), so the file can be checked without the portal; text cells
        # starting with a formula character carry a leading apostrophe, which the check removes (README).
        Column("at", _("at (UTC)"), "at", "utc_exact"),
        # The same moment in Beijing time, as every other export shows it; not hashed, for reading only.
        Column("at_local", _("at (Beijing time)"), "at", "datetime"),
        Column("actor_id", _("actor id"), "actor_id", "number"),
        Column("actor_email", _("actor e-mail"), "actor_email", "text"),
        Column("action", _("action"), "action", "text"),
        Column("object_type", _("object type"), "object_type", "text"),
        Column("object_id", _("object id"), "object_id", "text"),
        Column("before", _("values before"), "before", "canonical_json"),
        Column("after", _("values after"), "after", "canonical_json"),
        # Where the action came from and how it ended; hashed from hash_format 2 on.
        Column("source_address", _("source address"), "source_address", "text"),
        Column("user_agent", _("user agent"), "user_agent", "text"),
        Column("outcome", _("outcome"), "outcome", "raw"),
        Column("prev_hash", _("previous hash"), "prev_hash", "raw"),
        # "sm3" or "sha256" (entries sealed before SM3): which function the offline check applies.
        Column("hash_algorithm", _("hash algorithm"), "hash_algorithm", "raw"),
        # 1 (entries sealed before the source and outcome were recorded: the text without them) or 2.
        Column("hash_format", _("hash format"), "hash_format", "number"),
        Column("hash", _("hash"), "hash", "raw"),
    ],
)

EXPORTS = [AUDIT_LOG]
