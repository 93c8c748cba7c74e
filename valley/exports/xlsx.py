"""The exports as spreadsheets: the same rows as the CSV (valley.exports.engine), as an XLSX workbook whose
cells have their real types, for people who open them in Excel or WPS. The CSV stays for programs.

- Text is a text cell: a value like "=1+2" or "-1+2 项目" is stored as a string, never a formula, so it
  needs no neutralising apostrophe. JSON, and the audit log's hashed columns (utc_exact, canonical_json,
  raw), are text cells holding exactly the characters of the CSV.
- Amounts are numbers shown "#,##0.00" (the Decimal is written as it is: no float rounding); counts are
  whole numbers; dates are dates shown yyyy-mm-dd; timestamps are Beijing time without an offset (Excel
  has no time zones), which their header says.
- The header row is bold and frozen; columns get a width for their kind.

openpyxl's write-only mode writes each row to a temporary file as it comes, so memory stays flat whatever
the number of rows; the finished workbook (a zip) is written to a temporary file, which the response
streams from disk and closes.
"""

import json
import re
import tempfile
from collections.abc import Callable, Iterable
from zoneinfo import ZoneInfo

from django.conf import settings
from django.http import FileResponse
from django.utils.translation import gettext as _
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter

from valley.exports.engine import FORMATTERS, Column, Export

CONTENT_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
MONEY_FORMAT = "#,##0.00"
DATE_FORMAT = "yyyy-mm-dd"
DATETIME_FORMAT = "yyyy-mm-dd hh:mm:ss"
_LOCAL = ZoneInfo(settings.TIME_ZONE)
# XML 1.0 cannot carry these control characters (openpyxl refuses them); tab and line breaks stay.
_ILLEGAL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")
# Width in characters for each kind; text columns widen with their header, up to a limit.
_WIDTHS = {"money": 16, "number": 10, "date": 12, "datetime": 20, "bool": 8, "utc_exact": 34, "raw": 24}
_TEXT_WIDTH = (14, 48)


def _text(value) -> str | None:
    return None if value is None else _ILLEGAL.sub("", str(value))


def _datetime(value):
    return None if value is None else value.astimezone(_LOCAL).replace(tzinfo=None)


def _json(value) -> str | None:
    if value is None:
        return None
    return _text(json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(",", ":")))


def _exact(kind: str) -> Callable:
    """The CSV's exact characters (the audit log's hash covers them), as text."""
    formatter = FORMATTERS[kind]
    return lambda value: _text(formatter(value)) or None


_TYPED: dict[str, Callable] = {
    "text": _text,
    "raw": _text,
    "json": _json,
    "money": lambda value: value,
    "number": lambda value: value,
    "date": lambda value: value,
    "datetime": _datetime,
    "bool": lambda value: value,
    "utc_exact": _exact("utc_exact"),
    "canonical_json": _exact("canonical_json"),
}
_NUMBER_FORMATS = {"money": MONEY_FORMAT, "date": DATE_FORMAT, "datetime": DATETIME_FORMAT}
_TEXT_KINDS = {"text", "raw", "json", "utc_exact", "canonical_json"}


def _converter(column: Column) -> Callable:
    if column.choices:
        labels = {value: str(label) for value, label in column.choices.items()}
        return lambda value: None if value is None else labels.get(value, str(value))
    return _TYPED[column.kind]


def _is_text(column: Column) -> bool:
    return bool(column.choices) or column.kind in _TEXT_KINDS


def header(export: Export, *, machine: bool) -> list[str]:
    """The CSV's header, with "(Beijing time)" after each timestamp's label (the cells carry no offset)."""
    if machine:
        return export.header(machine=True)
    beijing = _("Beijing time")
    labels = []
    for column in export.columns:
        label = str(column.label)
        if column.kind == "datetime" and beijing not in label:
            label = _("%(label)s (Beijing time)") % {"label": label}
        labels.append(label)
    return labels


def _width(column: Column, label: str) -> float:
    if column.choices:
        return max(_TEXT_WIDTH[0], min(_display_width(label) + 2, 24))
    if column.kind in _WIDTHS:
        return max(_WIDTHS[column.kind], min(_display_width(label) + 2, _TEXT_WIDTH[1]))
    if column.kind == "canonical_json":
        return _TEXT_WIDTH[1]
    return max(_TEXT_WIDTH[0], min(_display_width(label) + 2, _TEXT_WIDTH[1]))


def _display_width(text: str) -> int:
    # A Chinese character takes about two Latin ones.
    return sum(2 if ord(character) > 0x2E80 else 1 for character in text)


def write(export: Export, labels: list[str], values: Iterable[tuple], file) -> None:
    """Write a workbook of one sheet: `labels`, then one row per tuple of `values` (in the columns' order)."""
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(title=export.name[:31])
    sheet.freeze_panes = "A2"
    for index, (column, label) in enumerate(zip(export.columns, labels, strict=True), start=1):
        sheet.column_dimensions[get_column_letter(index)].width = _width(column, label)
    bold = Font(bold=True)
    header_cells = []
    for label in labels:
        cell = WriteOnlyCell(sheet, value=_text(label))
        cell.data_type, cell.font = "s", bold
        header_cells.append(cell)
    sheet.append(header_cells)

    converters = [_converter(column) for column in export.columns]
    texts = [_is_text(column) for column in export.columns]
    formats = [None if column.choices else _NUMBER_FORMATS.get(column.kind) for column in export.columns]
    for row in values:
        cells = []
        for converter, is_text, number_format, value in zip(converters, texts, formats, row, strict=True):
            value = converter(value)
            if value is None:
                cells.append(None)
                continue
            cell = WriteOnlyCell(sheet, value=value)
            if is_text:
                cell.data_type = "s"  # openpyxl would take "=…" for a formula
            elif number_format:
                cell.number_format = number_format
            cells.append(cell)
        sheet.append(cells)
    workbook.save(file)


def values(export: Export, queryset) -> Iterable[tuple]:
    sources = [column.source for column in export.columns]
    return queryset.order_by(*export.order_by).values_list(*sources).iterator(chunk_size=2000)


def filename(export: Export) -> str:
    from django.utils import timezone

    return f"{export.name}-{timezone.localtime().strftime('%Y%m%d-%H%M%S')}.xlsx"


def response(export: Export, queryset, *, machine_header: bool) -> FileResponse:
    # Spooled in memory up to a few megabytes, then on disk; FileResponse streams it and closes it.
    file = tempfile.SpooledTemporaryFile(max_size=4 * 1024 * 1024)  # noqa: SIM115 - closed by FileResponse
    write(export, header(export, machine=machine_header), values(export, queryset), file)
    file.seek(0)
    result = FileResponse(file, as_attachment=True, filename=filename(export), content_type=CONTENT_TYPE)
    result["Cache-Control"] = "no-store"
    return result
