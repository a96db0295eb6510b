"""Parquet files (.parquet, .parq), read by pyarrow in row groups and interpreted like any export.

Columns are found by the same names and ``--column`` overrides as an export's headers; typed
values are first written as the text an export would hold (:func:`arrow_cells`: times with
their UTC offset, so an instant stays the same instant). A record's row is its 1-based
position in the file. The cluster engines read Parquet where it lies and interpret it with the
same functions (:mod:`qa.engines.inputs`).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from qa.errors import InputError
from qa.ingest.build import _any_time_value
from qa.ingest.columns import ColumnMap, resolve_columns
from qa.ingest.roles import ROLE_SAMPLE_ROWS, agent_decorations
from qa.ingest.table import Format, IngestNotes, RawTable, ReadOptions, Source
from qa.model import empty_rejected

PARQUET_EXTENSIONS = (".parquet", ".parq")


class ParquetSource(Source):
    """A Parquet file: the columns its fields use, in batches of at most ``chunk_rows``."""

    def __init__(self, path: str, options: ReadOptions, chunk_rows: int | None) -> None:
        self.notes = IngestNotes()
        self._path = path
        self._chunk_rows = chunk_rows
        try:
            self._file = _parquet().ParquetFile(path)
            names = [str(name) for name in self._file.schema_arrow.names]
        except (OSError, pa.ArrowException) as exc:
            raise InputError(f"cannot read {path}: not a readable Parquet file ({_first_line(exc)})") from None
        self._header, self._columns = record_columns(names, options, path)
        if not self._file.metadata.num_rows:
            raise InputError(f"{path} has no data rows")
        head = self._read(lambda: next(self._file.iter_batches(batch_size=ROLE_SAMPLE_ROWS, columns=self._header)))
        self._columns = with_head(self._columns, head)
        self._whole: pa.Table | None = None
        if chunk_rows is None:
            self._whole = self._read(lambda: self._file.read(columns=self._header))
        time_at = self._columns.positions.get("timestamp")
        self.has_times = False
        if time_at is not None:  # decided for the whole file, from its time column alone
            name = self._header[time_at]
            times = self._whole if self._whole is not None else self._read(lambda: self._file.read(columns=[name]))
            self.has_times = has_time_values(times, name)

    def _read(self, read):
        try:
            return read()
        except (OSError, pa.ArrowException) as exc:
            raise InputError(f"cannot read {self._path}: {_first_line(exc)}") from None

    def tables(self) -> Iterator[RawTable]:
        """The file's rows as tables of at most ``chunk_rows`` rows."""
        return record_tables(self._path, self._header, self._columns, self._batches(), self.notes)

    def _batches(self) -> Iterator[pa.Table | pa.RecordBatch]:
        if self._whole is not None:
            yield self._whole
            return
        batches = self._read(lambda: self._file.iter_batches(batch_size=self._chunk_rows, columns=self._header))
        while (batch := self._read(lambda: next(batches, None))) is not None:
            yield batch


def with_head(columns: ColumnMap, head: pa.Table | pa.RecordBatch) -> ColumnMap:
    """``columns`` read as the first records (``head``, the file's used fields) show, as an export's
    are read from the rows below its header: the decorations of agents' names."""
    cells = [pc.fill_null(pc.cast(column, pa.string()), "").to_pylist() for column in head.columns]
    return agent_decorations(columns, [list(row) for row in zip(*cells, strict=True)])


def record_columns(names: Sequence[str], options: ReadOptions, path: str,
                   sample: Sequence[Sequence[str]] | None = None) -> tuple[list[str], ColumnMap]:
    """The columns of a file of typed records (Parquet, JSON Lines) its fields use, and their
    mapping, found by the same names and ``--column`` overrides as an export's header (and, given
    the first records as a ``sample``, by their values where two fields are named alike: an API's
    from: user/kf beside sender_name)."""
    if sample is None:
        resolved = resolve_columns(list(names), options.columns, path)
    else:
        from qa.ingest.roles import resolve_with_role_values

        resolved = resolve_with_role_values(list(names), options.columns, path, sample)
    used = sorted(set(resolved.positions.values()))
    positions = {name: used.index(p) for name, p in resolved.positions.items()}
    return [names[p] for p in used], ColumnMap(positions, [resolved.header[p] for p in used], resolved.mapped)


def has_time_values(table: pa.Table | pa.RecordBatch, name: str) -> bool:
    """Whether the column ``name`` holds any time value (decided once for a whole file)."""
    return _any_time_value(pd.Series(arrow_cells(table, [name])[name], dtype="str"))


def record_tables(path: str, header: Sequence[str], columns: ColumnMap,
                  batches: Iterator[pa.Table | pa.RecordBatch], notes: IngestNotes,
                  row_numbers: np.ndarray | None = None, rejected: pd.DataFrame | None = None) -> Iterator[RawTable]:
    """Arrow batches of typed records as the reader's raw tables: cells as an export's text, a
    record's row its 1-based position in the file (or ``row_numbers``, one per record: a JSON
    line's line number), blank records skipped with a note; ``rejected`` (records the format's
    reader could not parse) go with the first table."""
    start = blank_rows = 0
    for batch in batches:
        cells = arrow_cells(batch, header)
        cells = pd.DataFrame({i: pd.Series(cells[name].to_numpy(dtype=object), dtype="str")
                              for i, name in enumerate(header)})
        rows = (np.arange(start + 1, start + 1 + len(cells), dtype=np.int64) if row_numbers is None
                else row_numbers[start : start + len(cells)])
        start += len(cells)
        blank = (cells == "").all(axis=1).to_numpy() if len(cells.columns) else np.zeros(len(cells), bool)
        if blank.any():
            blank_rows += int(blank.sum())
            cells, rows = cells[~blank].reset_index(drop=True), rows[~blank]
        unread = rejected if rejected is not None and len(rejected) else empty_rejected()
        rejected = None
        yield RawTable(path, "", columns, cells, rows, unread)
    if blank_rows:
        notes.add(f"{{files}}: {blank_rows} blank row(s) skipped", path)


def arrow_cells(table: pa.Table | pa.RecordBatch, header: Sequence[str]) -> pd.DataFrame:
    """The ``header`` columns of an Arrow table as the text an export would hold ("" for
    null): times with their offset (naive times as they are), numbers and booleans as
    text. The Spark engine does the same in Spark SQL."""
    columns = {}
    for name in header:
        column = table.column(name)
        kind = column.type
        if pa.types.is_timestamp(kind):
            values = column.to_pandas()
            if kind.tz is not None:
                text = values.dt.tz_convert("UTC").dt.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
            else:
                text = values.dt.strftime("%Y-%m-%d %H:%M:%S.%f")
        elif pa.types.is_binary(kind) or pa.types.is_large_binary(kind):
            text = pd.Series([None if v is None else v.decode("utf-8", "replace") for v in column.to_pylist()])
        elif pa.types.is_boolean(kind):
            text = pd.Series([None if v is None else ("true" if v else "false") for v in column.to_pylist()])
        elif pa.types.is_floating(kind):
            text = pd.Series([None if v is None else repr(float(v)) for v in column.to_pylist()])
        else:
            text = pd.Series(column.cast(pa.string()).to_pylist(), dtype=object)
        columns[name] = text.astype(object).where(pd.notna(text), "").to_numpy(dtype=object)
    return pd.DataFrame(columns)


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


FORMAT = Format("Parquet", PARQUET_EXTENSIONS, (b"PAR1",), ParquetSource)


def _parquet():
    """``pyarrow.parquet``, imported when a Parquet input is opened: its import (pyarrow's file
    systems, SSL; about 12 ms) is not needed by an audit of a CSV or Excel export."""
    import pyarrow.parquet as pq

    return pq
