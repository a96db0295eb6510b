"""JSON Lines (.jsonl, .ndjson): one JSON object per line, as a shop's developer dumps the
platform's chat API (抖店飞鸽, 企业微信 会话存档). Read by pyarrow's JSON reader and interpreted
like Parquet: an object's keys are the header, its values the cells (``\\uXXXX`` escapes decoded);
a nested object's keys are joined with ``_`` (``sender: {role}`` is ``sender_role``, as APIs name
such fields flat), so its fields are found by the same names and ``--column`` overrides as an
export's. A record's row is its line number. A line that is no JSON object (a dump cut off in
the middle of its last line) is rejected with its line and the parser's reason; the other lines
are read.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from qa.errors import InputError
from qa.ingest.parquet import has_time_values, record_columns, record_tables, with_head
from qa.ingest.roles import ROLE_SAMPLE_ROWS
from qa.ingest.table import Format, IngestNotes, RawTable, ReadOptions, Source, _rejected_frame

JSONL_EXTENSIONS = (".jsonl", ".ndjson")


class JsonLinesSource(Source):
    """A JSON Lines file, read whole (chat dumps are small next to exports), given in batches
    of at most ``chunk_rows`` records."""

    def __init__(self, path: str, options: ReadOptions, chunk_rows: int | None) -> None:
        self.notes = IngestNotes()
        self._path = path
        self._chunk_rows = chunk_rows
        table, self._lines, self._unread = self._read(path)
        table = _flat(table)
        if not table.num_rows:
            raise InputError(f"{path} has no data rows" if not len(self._unread) else
                             f"cannot read {path}: not JSON Lines, one object per line "
                             f"(line {self._unread['row'].iat[0]}: {self._unread['reason'].iat[0]})")
        head = table.slice(0, ROLE_SAMPLE_ROWS)
        sample = [list(row) for row in zip(*(pc.fill_null(pc.cast(column, pa.string()), "").to_pylist()
                                            for column in head.columns), strict=True)]
        self._header, self._columns = record_columns(table.column_names, options, path, sample)
        self._table = table.select(self._header)
        self._columns = with_head(self._columns, self._table.slice(0, ROLE_SAMPLE_ROWS))
        time_at = self._columns.positions.get("timestamp")
        self.has_times = time_at is not None and has_time_values(self._table, self._header[time_at])

    @staticmethod
    def _read(path: str) -> tuple[pa.Table, np.ndarray, pd.DataFrame]:
        return _read(path)

    def tables(self) -> Iterator[RawTable]:
        """The file's records as tables of at most ``chunk_rows`` rows."""
        batches = [self._table] if self._chunk_rows is None else self._table.to_batches(self._chunk_rows)
        return record_tables(self._path, self._header, self._columns, iter(batches or [self._table]), self.notes,
                             self._lines, self._unread)


def _read(path: str) -> tuple[pa.Table, np.ndarray, pd.DataFrame]:
    """The file's records, the line number of each, and the lines that are no JSON object
    (rejected). pyarrow parses a well-formed file at once; a file it refuses is read line by line
    so that one broken line costs that line only."""
    try:
        with open(path, "rb") as handle:
            data = handle.read()
    except OSError as exc:
        raise InputError(f"cannot read {path}: {exc.strerror or exc}") from None
    lines = data.split(b"\n")
    filled = np.flatnonzero([bool(line.strip()) for line in lines]) + 1
    import pyarrow.json as pj  # (here: every audit imports this module to know the formats)

    try:
        table = pj.read_json(pa.BufferReader(data))
    except pa.ArrowException:
        return _read_line_by_line(path, lines, filled)
    if table.num_rows != len(filled):  # a record over several lines: number the records instead
        filled = np.arange(1, table.num_rows + 1)
    return table, filled.astype(np.int64), _rejected_frame([], [], [], [])


def _read_line_by_line(path: str, lines: list[bytes], filled: np.ndarray) -> tuple[pa.Table, np.ndarray, pd.DataFrame]:
    records: list[dict] = []
    kept: list[int] = []
    bad_rows: list[int] = []
    reasons: list[str] = []
    raws: list[str] = []
    for number in filled.tolist():
        text = lines[number - 1].decode("utf-8", "replace").strip()
        try:
            value = json.loads(text)
            problem = None if isinstance(value, dict) else "not a JSON object"
        except ValueError as exc:
            problem = f"not a JSON object ({exc.msg})"
        except RecursionError:
            problem = "not a JSON object (nested too deep)"
        if problem is None:
            records.append(_flat_record(value))
            kept.append(number)
        else:
            bad_rows.append(number)
            reasons.append(problem)
            raws.append(text[:200])
    names = list(dict.fromkeys(name for record in records for name in record))
    table = pa.table({name: pa.array([record.get(name) for record in records], pa.string()) for name in names})
    return table, np.asarray(kept, dtype=np.int64), _rejected_frame([path] * len(bad_rows), bad_rows, reasons, raws)


def _flat_record(value: dict, prefix: str = "") -> dict[str, str | None]:
    """One parsed object as the fast path reads it: nested keys joined with _, lists as their JSON
    text, booleans, numbers and strings as an export's text."""
    out: dict[str, str | None] = {}
    for key, item in value.items():
        name = f"{prefix}{key}"
        if isinstance(item, dict):
            out.update(_flat_record(item, f"{name}_"))
            shown = _shown_text(item)
            if shown is not None:
                out.setdefault(name, shown)
        elif isinstance(item, list):
            out[name] = json.dumps(item, ensure_ascii=False)
        elif isinstance(item, bool):
            out[name] = "true" if item else "false"
        elif isinstance(item, float):
            out[name] = repr(item)
        else:
            out[name] = None if item is None else str(item)
    return out


# the keys of a message object (content: {"text": …}) holding what the reader saw, in order of preference
_SHOWN_KEYS = ("text", "content", "title", "desc", "description", "name")
_IMAGE_URL = re.compile(r"\.(?:jpe?g|png|gif|webp|bmp|heic)(?:[?#].*)?$", re.IGNORECASE)


def _shown_text(value: dict) -> str | None:
    """What a message given as an object shows (its content field is sometimes a string, sometimes
    {"text": …} for a notice or {"url": …, "width": …} for a picture): its text, else what its
    link is ([图片] for a picture, [链接] otherwise); ``None`` for an object that is no message."""
    for key in _SHOWN_KEYS:
        text = value.get(key)
        if isinstance(text, str) and text.strip():
            return text
    link = next((value[key] for key in ("url", "src", "href", "link") if isinstance(value.get(key), str)), None)
    if link is None:
        return None
    return "[图片]" if _IMAGE_URL.search(link) or {"width", "height"} & value.keys() else "[链接]"


def _flat(table: pa.Table) -> pa.Table:
    """Nested objects flattened (``sender.role`` named ``sender_role``); lists written as their JSON text."""
    while any(pa.types.is_struct(field.type) for field in table.schema):
        for index, field in enumerate(table.schema):
            if pa.types.is_struct(field.type):  # (as in _flat_record) a message object shows its text
                shown = [None if v is None else _shown_text(v) for v in table.column(index).to_pylist()]
                if any(value is not None for value in shown):
                    table = table.append_column(f"{field.name}\x00shown", pa.array(shown, pa.string()))
        table = table.flatten()
        table = table.rename_columns([name.removesuffix("\x00shown") for name in table.column_names])
    table = table.rename_columns([name.replace(".", "_") for name in table.column_names])
    for index, field in enumerate(table.schema):
        if pa.types.is_list(field.type) or pa.types.is_large_list(field.type):
            values = [None if v is None else json.dumps(v, ensure_ascii=False) for v in table.column(index).to_pylist()]
            table = table.set_column(index, field.name, pa.array(values, pa.string()))
    return table


FORMAT = Format("JSON Lines", JSONL_EXTENSIONS, (), JsonLinesSource)
