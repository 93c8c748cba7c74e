"""The PostgreSQL fast path of the CSV exports: the database formats and writes the CSV itself
(`COPY (…) TO STDOUT WITH CSV`), and the view only passes the bytes on.

It produces the same file as the Python path in valley.exports.engine (a test compares both byte for
byte): every column kind has its SQL twin below, empty text is written as nothing, formula starts
are neutralised in SQL. psycopg2's copy_expert blocks until the COPY ends, so it runs in a thread that
hands chunks through a small bounded queue: memory stays flat whatever the number of rows.
"""

import contextlib
import queue
import threading
from collections.abc import Iterator

from django.db import connection, connections

CHUNK_BYTES = 256 * 1024
_END = object()

# The offset is fixed: Asia/Shanghai has had no daylight-saving time since 1991.
_SQL = {
    "text": "NULLIF(CASE WHEN left({c}::text, 1) IN ('=', '+', '-', '@', E'\\t', E'\\r') "
    "THEN '''' || {c}::text ELSE {c}::text END, '')",
    "raw": "NULLIF({c}::text, '')",
    "money": "to_char({c}, 'FM999999999999990.00')",
    "number": "{c}::text",
    "bool": "CASE WHEN {c} THEN 'true' WHEN NOT {c} THEN 'false' END",
    "date": "to_char({c}, 'YYYY-MM-DD')",
    "datetime": "to_char({c} AT TIME ZONE 'Asia/Shanghai', 'YYYY-MM-DD\"T\"HH24:MI:SS') || '+08:00'",
    "utc_exact": "to_char({c} AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US') || '+00:00'",
}


def supported(export) -> bool:
    return (
        connection.vendor == "postgresql"
        and export.trailer is None  # COPY writes the rows without us seeing them
        and all(column.kind in _SQL for column in export.columns)
    )


def copy_sql(export, queryset) -> str:
    """`COPY (SELECT <formatted columns> FROM (<the export's query>) t) TO STDOUT WITH CSV`, parameters inlined."""
    inner = queryset.order_by(*export.order_by).values_list(*[column.source for column in export.columns])
    sql, params = inner.query.sql_with_params()
    with connections[queryset.db].cursor() as cursor:
        inner_sql = cursor.mogrify(sql, params).decode()
        names = [f"c{index}" for index in range(len(export.columns))]
        selected = []
        for name, column in zip(names, export.columns, strict=True):
            expression = _SQL[column.kind].format(c=name)
            if column.choices:
                cases = " ".join(
                    cursor.mogrify("WHEN %s THEN %s", [value, str(label)]).decode()
                    for value, label in column.choices.items()
                )
                expression = f"NULLIF(CASE {name} {cases} ELSE {name}::text END, '')"
            selected.append(expression)
    # Every piece above is a fixed template or escaped by the driver (mogrify).
    select = f"SELECT {', '.join(selected)} FROM ({inner_sql}) AS t ({', '.join(names)})"  # noqa: S608
    return f"COPY ({select}) TO STDOUT WITH (FORMAT csv)"


class _QueueWriter:
    """What copy_expert writes into: collects rows and hands chunks to the queue, waiting when it is full."""

    def __init__(self, chunks: queue.Queue, cancelled: threading.Event):
        self.chunks, self.cancelled, self.buffer = chunks, cancelled, bytearray()

    def write(self, data) -> int:
        self.buffer += data if isinstance(data, bytes | bytearray) else data.encode()
        if len(self.buffer) >= CHUNK_BYTES:
            self.flush()
        return len(data)

    def flush(self) -> None:
        if self.buffer:
            self._put(bytes(self.buffer))
            self.buffer.clear()

    def _put(self, item) -> None:
        while True:
            if self.cancelled.is_set():
                raise ConnectionAbortedError("the download was cancelled")
            try:
                self.chunks.put(item, timeout=1)
                return
            except queue.Full:
                continue


def stream(sql: str, using: str = "default") -> Iterator[bytes]:
    """The COPY's bytes, from the database `using` names (the alias the router picked for the export's rows)."""
    chunks: queue.Queue = queue.Queue(maxsize=16)
    cancelled = threading.Event()

    def produce():
        writer = _QueueWriter(chunks, cancelled)
        try:
            with connections[using].cursor() as cursor:  # this thread's own connection
                cursor.copy_expert(sql, writer)
            writer.flush()
            writer._put(_END)
        except ConnectionAbortedError:
            pass
        except Exception as error:  # noqa: BLE001 - handed to the response generator, which raises it
            with contextlib.suppress(ConnectionAbortedError):
                writer._put(error)
        finally:
            connections[using].close()

    thread = threading.Thread(target=produce, name="csv-copy", daemon=True)
    thread.start()
    try:
        while True:
            item = chunks.get()
            if item is _END:
                return
            if isinstance(item, Exception):
                raise item
            yield item
    finally:
        cancelled.set()
