"""JSON Lines (.jsonl, .ndjson): one JSON object per line, as a shop's developer dumps the
platform's chat API (抖店飞鸽, 企业微信 会话存档). Read by pyarrow's JSON reader and interpreted
like Parquet: an object's keys are the header, its values the cells (``\\uXXXX`` escapes decoded);
a nested object's keys are joined with ``_`` (``sender: {role}`` is ``sender_role``, as APIs name
such fields flat), so its fields are found by the same names and ``--column`` overrides as an
export's. A record's row is its position among the
file's records.
"""

from __future__ import annotations

import json
from collections.abc import Iterator

import pyarrow as pa
import pyarrow.json as pj

from qa.errors import InputError
from qa.ingest.parquet import has_time_values, record_columns, record_tables, with_head
from qa.ingest.roles import ROLE_SAMPLE_ROWS
from qa.ingest.table import Format, IngestNotes, RawTable, ReadOptions, Source

JSONL_EXTENSIONS = (".jsonl", ".ndjson")


class JsonLinesSource(Source):
    """A JSON Lines file, read whole (chat dumps are small next to exports), given in batches
    of at most ``chunk_rows`` records."""

    def __init__(self, path: str, options: ReadOptions, chunk_rows: int | None) -> None:
        self.notes = IngestNotes()
        self._path = path
        self._chunk_rows = chunk_rows
        table = _flat(_read(path))
        if not table.num_rows:
            raise InputError(f"{path} has no data rows")
        self._header, self._columns = record_columns(table.column_names, options, path)
        self._table = table.select(self._header)
        self._columns = with_head(self._columns, self._table.slice(0, ROLE_SAMPLE_ROWS))
        time_at = self._columns.positions.get("timestamp")
        self.has_times = time_at is not None and has_time_values(self._table, self._header[time_at])

    def tables(self) -> Iterator[RawTable]:
        """The file's records as tables of at most ``chunk_rows`` rows."""
        batches = [self._table] if self._chunk_rows is None else self._table.to_batches(self._chunk_rows)
        return record_tables(self._path, self._header, self._columns, iter(batches or [self._table]), self.notes)


def _read(path: str) -> pa.Table:
    try:
        return pj.read_json(path)
    except (OSError, pa.ArrowException) as exc:
        text = str(exc).strip()
        reason = text.splitlines()[0] if text else type(exc).__name__
        raise InputError(f"cannot read {path}: not JSON Lines, one object per line ({reason})") from None


def _flat(table: pa.Table) -> pa.Table:
    """Nested objects flattened (``sender.role`` named ``sender_role``); lists written as their JSON text."""
    while any(pa.types.is_struct(field.type) for field in table.schema):
        table = table.flatten()
    table = table.rename_columns([name.replace(".", "_") for name in table.column_names])
    for index, field in enumerate(table.schema):
        if pa.types.is_list(field.type) or pa.types.is_large_list(field.type):
            values = [None if v is None else json.dumps(v, ensure_ascii=False) for v in table.column(index).to_pylist()]
            table = table.set_column(index, field.name, pa.array(values, pa.string()))
    return table


FORMAT = Format("JSON Lines", JSONL_EXTENSIONS, (), JsonLinesSource)
