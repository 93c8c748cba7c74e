"""Streaming CSV exports for auditors.

- Streamed row by row from a server-side cursor: memory does not grow with the rows.
- UTF-8 with a byte-order mark, so Excel shows Chinese; header in the user's language, or stable
  machine names with `?header=machine`.
- Timestamps ISO 8601 with their offset (Asia/Shanghai); amounts with exactly two decimals.
- Text cells that a spreadsheet would run as a formula (=, +, -, @, tab, carriage return) are
  prefixed with an apostrophe, so they show as text.
- An export may end with lines of its own after the rows (`trailer`: the audit log's `#end` proof), and
  may be narrower than the exports' door (`readers`: the audit log is for auditors and provincial staff).
"""

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

from django.conf import settings
from django.http import StreamingHttpResponse
from django.utils import timezone

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
ROWS_PER_CHUNK = 500
LINE_END = "\n"  # as PostgreSQL's COPY writes it, so both paths give the same file


def neutralise(text: str) -> str:
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def _text(value) -> str:
    return "" if value is None else neutralise(str(value))


def _money(value) -> str:
    return "" if value is None else f"{value:.2f}"


_LOCAL = ZoneInfo(settings.TIME_ZONE)


def _datetime(value) -> str:
    return "" if value is None else value.astimezone(_LOCAL).isoformat(timespec="seconds")


def _date(value) -> str:
    return "" if value is None else value.isoformat()


def _number(value) -> str:
    return "" if value is None else str(value)


def _json(value) -> str:
    return (
        ""
        if value is None
        else neutralise(json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(",", ":")))
    )


def _utc_exact(value) -> str:
    from valley.audit import format_at

    return format_at(value)


def _canonical_json(value) -> str:
    # Not neutralised: the audit log's hash covers these exact characters. A cell that starts with a
    # formula character cannot occur, as canonical JSON starts with {, [, " or a letter/digit.
    from valley.audit import canonical_json

    return canonical_json(value)


def _bool(value) -> str:
    return "" if value is None else ("true" if value else "false")


FORMATTERS: dict[str, Callable] = {
    "bool": _bool,
    "utc_exact": _utc_exact,
    "canonical_json": _canonical_json,
    "text": _text,
    "money": _money,
    "datetime": _datetime,
    "date": _date,
    "number": _number,
    "json": _json,
    "raw": lambda value: "" if value is None else str(value),
}


@dataclass(frozen=True)
class Column:
    key: str  # stable machine name, also the header with ?header=machine
    label: str  # lazy translation
    source: str  # a values_list() path
    kind: str = "text"
    choices: dict | None = None  # value → lazy label, for state columns


@dataclass(frozen=True)
class Export:
    name: str  # used in the URL and the file name
    label: str
    columns: list[Column]
    queryset: Callable  # queryset(user) → the rows this user may read
    filterset_class: type | None = None
    order_by: tuple = ("pk",)
    extra: dict = field(default_factory=dict)
    # readers(user) → whether this user may download the export at all, beyond the door every export shares
    # (staff and auditors); None: whoever passes that door. A refused user does not see it in the catalogue.
    readers: Callable | None = None
    # trailer(export) → an object with add(cells) (called with every data row's cells, as written) and lines()
    # (the rows written after the data): e.g. the audit log's end line. An export with a trailer is always
    # written by the Python path, which sees every row.
    trailer: Callable | None = None

    def readable_by(self, user) -> bool:
        return self.readers is None or self.readers(user)

    def header(self, machine: bool) -> list[str]:
        return [column.key if machine else str(column.label) for column in self.columns]


def _formatter(column: Column) -> Callable:
    if not column.choices:
        return FORMATTERS[column.kind]
    labels = {value: str(label) for value, label in column.choices.items()}
    return lambda value: labels.get(value, "" if value is None else str(value))


def rows(export: Export, queryset) -> Iterator[list[str]]:
    sources = [column.source for column in export.columns]
    formatters = [_formatter(column) for column in export.columns]
    for values in queryset.order_by(*export.order_by).values_list(*sources).iterator(chunk_size=2000):
        yield [formatter(value) for formatter, value in zip(formatters, values, strict=True)]


def _cell(value: str) -> str:
    # Quoted when it holds a comma, a quote, or either line-break character, as PostgreSQL's COPY does.
    # (csv.writer with "\n" line ends would leave a lone "\r" unquoted, and a reader splits the row there.)
    if any(character in value for character in ',"\r\n'):
        return '"' + value.replace('"', '""') + '"'
    return value


def csv_line(cells: list[str]) -> str:
    return ",".join(_cell(cell) for cell in cells) + LINE_END


def stream(export: Export, queryset, *, machine_header: bool = False) -> Iterator[str]:
    yield "\ufeff" + csv_line(export.header(machine_header))
    end = export.trailer(export) if export.trailer is not None else None
    batch: list[str] = []
    for row in rows(export, queryset):
        batch.append(csv_line(row))
        if end is not None:
            end.add(row)
        if len(batch) >= ROWS_PER_CHUNK:
            yield "".join(batch)
            batch = []
    if end is not None:
        batch.extend(csv_line(cells) for cells in end.lines())
    if batch:
        yield "".join(batch)


def filename(export: Export) -> str:
    stamp = timezone.localtime().strftime("%Y%m%d-%H%M%S")
    return f"{export.name}-{stamp}.csv"


def _copy_stream(export: Export, queryset, machine_header: bool) -> Iterator[bytes]:
    from valley.exports import pgcopy as csv_copy

    sql = csv_copy.copy_sql(export, queryset)
    yield ("\ufeff" + csv_line(export.header(machine_header))).encode()
    yield from csv_copy.stream(sql, using=queryset.db)


def response(export: Export, queryset, *, machine_header: bool) -> StreamingHttpResponse:
    from valley.exports import pgcopy as csv_copy

    if csv_copy.supported(export):
        encoded = _copy_stream(export, queryset, machine_header)
    else:
        encoded = (chunk.encode("utf-8") for chunk in stream(export, queryset, machine_header=machine_header))
    result = StreamingHttpResponse(encoded, content_type="text/csv; charset=utf-8")
    result["Content-Disposition"] = f'attachment; filename="{filename(export)}"'
    result["Cache-Control"] = "no-store"
    return result


# The catalogue is filled by the apps: each app's AppConfig.ready() registers the exports it defines
# (in <app>/exports.py), so the engine names no app.
_CATALOGUE: dict[str, Export] = {}


def register(*exports: Export) -> None:
    """Add exports to the catalogue; registering the same name twice is a mistake and says so."""
    for export in exports:
        known = _CATALOGUE.get(export.name)
        if known is not None and known is not export:
            raise ValueError(f"two exports are named {export.name!r}")
        _CATALOGUE[export.name] = export


def catalogue() -> dict[str, Export]:
    return dict(_CATALOGUE)
