"""Inputs of the cluster engines: exports read by qa's own ingest, Parquet read by the engine.

Two kinds of input, never mixed in one audit:

- **Exports** (CSV, TSV, TXT, XLSX, XLS, ODS: what :mod:`qa.ingest` reads but Parquet). The driver streams them
  through :func:`qa.ingest.stream_inputs` (the same parsing, encodings, column aliases, role
  and time rules, rejections and notes as every audit) and stages the audited rows as
  Parquet (:data:`qa.engines.common.MESSAGE_FIELDS`) in a work folder the engine reads.
  On a cluster that folder must be visible to the workers (``--work-dir`` on shared storage).
- **Parquet** datasets (files, folders, ``hdfs://``/``s3a://`` URIs) and catalog tables
  (``--table``), read by the engine where they are. Their columns are found by the same
  names and ``--column`` overrides as an export's headers, and their values are interpreted
  by the same ingest code, per batch, on the workers (:func:`interpret_cells`): typed values
  are first written as the text an export would hold (times with their UTC offset, so an
  instant stays the same instant). A record's row is its 1-based position in its file; its
  file, the file's path. Whether times are used is decided once for the whole dataset (an
  export decides per file).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from qa.engines.common import MESSAGE_FIELDS, Accounting, conform, message_rows, message_table
from qa.errors import InputError
from qa.ingest import (
    EXTENSIONS,
    PARQUET_EXTENSIONS,
    ColumnMap,
    IngestNotes,
    RawTable,
    ReadOptions,
    arrow_cells,
    build_part,
    empty_rejected,
    make_options,
    resolve_columns,
    stream_inputs,
)

PARQUET_SUFFIXES = PARQUET_EXTENSIONS
#: Bits of a Parquet record's input order taken by its row number (the file's rank above).
ROW_BITS = 40

_PA_TYPES = {"str": pa.string(), "int": pa.int64(), "float": pa.float64(), "bool": pa.bool_()}
#: What the driver reads through qa's own readers (every format but Parquet, which the engine reads).
_EXPORT_EXTENSIONS = tuple(ext for ext in EXTENSIONS if ext not in PARQUET_EXTENSIONS)
MESSAGE_SCHEMA = pa.schema([(name, _PA_TYPES[kind]) for name, kind in MESSAGE_FIELDS])


@dataclass
class InputPlan:
    """What to read: exports (expanded by the driver) or a Parquet dataset / table."""

    exports: list[str] = field(default_factory=list)
    parquet: list[str] = field(default_factory=list)
    table: str | None = None

    @property
    def label(self) -> str:
        """What is read, for messages: the table, or the files."""
        return self.table or ", ".join(self.parquet or self.exports)


def plan_inputs(inputs: Sequence[str], table: str | None = None) -> InputPlan:
    """Sort the inputs into exports and Parquet (a mix is refused)."""
    inputs = [str(item) for item in inputs]
    if table:
        if inputs:
            raise InputError("give either input paths or --table, not both")
        return InputPlan(table=table)
    if not inputs:
        raise InputError("no input files given")
    for item in inputs:
        if "://" in item and item.lower().endswith(_EXPORT_EXTENSIONS):
            raise InputError(f"{item}: exports are read from local files; load remote ones into Parquet or a table")
    parquet = [item for item in inputs if is_parquet(item)]
    if parquet and len(parquet) != len(inputs):
        raise InputError("inputs mix Parquet and exports (CSV/XLSX); audit them separately")
    return InputPlan(parquet=parquet) if parquet else InputPlan(exports=inputs)


def is_parquet(item: str) -> bool:
    """A Parquet file, a folder of Parquet files (any depth), or a URI (read by the engine)."""
    if "://" in item:
        return True
    if item.lower().endswith(PARQUET_SUFFIXES):
        return True
    return os.path.isdir(item) and bool(parquet_files([item], check=False))


def parquet_files(items: Sequence[str], *, check: bool = True) -> list[str]:
    """The Parquet files of local inputs (folders walked, hidden and ``_`` files skipped),
    as absolute paths, sorted."""
    found: list[str] = []
    for item in items:
        if os.path.isfile(item):
            found.append(os.path.abspath(item))
        elif os.path.isdir(item):
            for root, dirs, names in os.walk(item):
                dirs[:] = sorted(d for d in dirs if not d.startswith((".", "_")))
                found += [os.path.abspath(os.path.join(root, n)) for n in names
                          if n.lower().endswith(PARQUET_SUFFIXES) and not n.startswith((".", "_"))]
        elif check:
            raise InputError(f"no such file: {item}")
    if check and not found:
        raise InputError(f"no Parquet files in {', '.join(items)}")
    return sorted(set(found))


def local_path(uri: str) -> str:
    """A path as an engine reports it, without the ``file:`` scheme of local files."""
    if uri.startswith("file:"):
        rest = uri[5:]
        return "/" + rest.lstrip("/")
    return uri


# --------------------------------------------------------------------------- exports


@dataclass
class Staged:
    """Exports staged as Parquet for an engine."""

    folder: Path
    files: list[str]  # the staged Parquet files
    messages: int  # audited rows
    any_time: bool  # some audited row has a time
    accounting: Accounting


def stage_exports(inputs: Sequence[str], options, folder: Path, *, chunk_rows: int | None = None,
                  progress=None) -> Staged:
    """Stream the exports through qa's ingest and write the audited rows as Parquet parts
    of :data:`MESSAGE_SCHEMA` into ``folder``; rejected rows and notes stay here."""
    say = progress or (lambda _line: None)
    stream = stream_inputs(inputs, **options.reader_options(), **({"chunk_rows": chunk_rows} if chunk_rows else {}))
    folder.mkdir(parents=True, exist_ok=True)
    files: list[str] = []
    rejected: list[pd.DataFrame] = []
    total = 0
    any_time = False
    for index, chunk in enumerate(stream):
        if len(chunk.rejected):
            rejected.append(chunk.rejected)
        if not len(chunk.messages):
            continue
        table = message_table(chunk.messages)
        any_time = any_time or bool(chunk.messages["timestamp"].notna().any())
        path = folder / f"part-{index:05d}.parquet"
        pq.write_table(table, path, compression="lz4")
        files.append(str(path))
        total += table.num_rows
        say(f"read {total:,} rows")
    accounting = Accounting(
        input_rows=stream.input_rows,
        files=list(stream.files),
        rejected=pd.concat(rejected, ignore_index=True) if rejected else empty_rejected(),
        has_timestamps=stream.has_timestamps,
        notes=list(stream.notes),
        refused=list(stream.refused),
    )
    return Staged(folder, files, total, any_time, accounting)


# --------------------------------------------------------------------------- Parquet


@dataclass
class ParquetSpec:
    """How workers interpret the records of a Parquet dataset (picklable)."""

    source: str  # the dataset as given, for notes
    header: list[str]  # the columns read, in order
    columns: ColumnMap  # field -> position in header
    options: ReadOptions
    has_times: bool = False
    file_rank: dict[str, int] = field(default_factory=dict)

    def with_files(self, files: Sequence[str], has_times: bool) -> ParquetSpec:
        """This spec for the given Parquet files, each with its index in sorted order."""
        return ParquetSpec(self.source, self.header, self.columns, self.options, has_times,
                           {name: i for i, name in enumerate(sorted(files))})


def parquet_spec(column_names: Sequence[str], options, source: str) -> ParquetSpec:
    """Resolve the dataset's columns like an export's header (aliases, ``--column``),
    keeping only the columns a field uses."""
    ingest_options = make_options(dict(options.columns) or None, None, None, options.timezone,
                                   options.agent_pattern)
    resolved = resolve_columns(list(column_names), ingest_options.columns, source)
    used = sorted(set(resolved.positions.values()))
    header = [resolved.header[p] for p in used]
    positions = {name: used.index(p) for name, p in resolved.positions.items()}
    return ParquetSpec(source, [str(column_names[p]) for p in used], ColumnMap(positions, header), ingest_options)


def time_column(spec: ParquetSpec) -> str | None:
    """The dataset column holding times, if any."""
    position = spec.columns.positions.get("timestamp")
    return None if position is None else spec.header[position]


def interpret_cells(cells: pd.DataFrame, files: np.ndarray, rows: np.ndarray, spec: ParquetSpec) -> pd.DataFrame:
    """Records of a Parquet dataset, as text (``cells``: one column per ``spec.header``
    entry, "" for null), their files and 1-based rows: rows of :data:`MESSAGE_FIELDS` —
    messages (m), rejected records (r) and note counts (n: blank records, ignored seq)."""
    out: list[pd.DataFrame] = []
    files = np.asarray(files, dtype=object)
    rows = np.asarray(rows, dtype=np.int64)
    for source in pd.unique(files):
        where = np.flatnonzero(files == source)
        part_cells = cells.iloc[where]
        table_cells = pd.DataFrame(
            {i: pd.Series(part_cells.iloc[:, i].to_numpy(dtype=object), dtype="str") for i in range(len(spec.header))}
        )
        blank = (table_cells == "").all(axis=1).to_numpy() if len(spec.header) else np.zeros(len(where), bool)
        if blank.any():
            out.append(_note_row(source, "blank", int(blank.sum())))
            table_cells = table_cells[~blank].reset_index(drop=True)
        table = RawTable(str(source), "", spec.columns, table_cells, rows[where][~blank], empty_rejected())
        counts: dict[str, int] = {}
        part = build_part(table, spec.options, IngestNotes(), has_times=spec.has_times, counts=counts)
        if counts.get("seq_ignored"):
            out.append(_note_row(source, "seq", counts["seq_ignored"]))
        if len(part.messages):
            messages = part.messages
            rank = spec.file_rank.get(str(source), 0)
            messages["input_order"] = (np.int64(rank) << np.int64(ROW_BITS)) + messages["source_row"].to_numpy(np.int64)
            out.append(message_rows(messages))
        if len(part.rejected):
            rejected = part.rejected
            out.append(pd.DataFrame({
                "kind": "r",
                "session_id": "",
                "text": rejected["raw"].to_numpy(dtype=object),
                "source_file": rejected["file"].to_numpy(dtype=object),
                "source_row": rejected["row"].to_numpy(dtype=np.int64),
                "reason": rejected["reason"].to_numpy(dtype=object),
                "ts_ns": np.iinfo(np.int64).min,
            }))
    if not out:
        return conform(pd.DataFrame(), MESSAGE_FIELDS)
    return pd.concat([conform(part, MESSAGE_FIELDS) for part in out], ignore_index=True)


def _note_row(source: str, note: str, count: int) -> pd.DataFrame:
    return pd.DataFrame({"kind": ["n"], "source_file": [source], "reason": [note], "source_row": [count],
                         "ts_ns": [np.iinfo(np.int64).min]})


def parquet_notes(spec: ParquetSpec, counts: dict[str, int]) -> list[str]:
    """The notes an export of these columns gets (times, roles, agents), plus blank records
    and ignored seq values counted by the workers, named after the dataset."""
    notes = IngestNotes()
    if counts.get("blank"):
        notes.add(f"{{files}}: {counts['blank']} blank row(s) skipped", spec.source)
    empty = RawTable(spec.source, "", spec.columns,
                   pd.DataFrame({i: pd.Series([], dtype="str") for i in range(len(spec.header))}),
                   np.zeros(0, dtype=np.int64), empty_rejected())
    build_part(empty, spec.options, notes, has_times=spec.has_times)
    if counts.get("seq"):
        notes.add(f"{{files}}: {counts['seq']} non-numeric seq value(s) ignored", spec.source)
    return notes.render()


def parquet_accounting(rows: pd.DataFrame, spec: ParquetSpec, files: Sequence[str], messages: int) -> Accounting:
    """Accounting of a Parquet audit from its passed-through rows (kinds r and n)."""
    from qa.engines.common import rejected_frame, rows_of

    rejected = rejected_frame(rows_of(rows, "r"), sorted(files))
    notes = rows_of(rows, "n")
    counts: dict[str, int] = {}
    for note, count in zip(notes["reason"].tolist(), notes["row"].tolist()):
        counts[note] = counts.get(note, 0) + int(count)
    return Accounting(
        input_rows=messages + len(rejected),
        files=sorted(files),
        rejected=rejected,
        has_timestamps=spec.has_times,
        notes=parquet_notes(spec, counts),
    )


__all__ = [
    "InputPlan", "ParquetSpec", "Staged", "arrow_cells", "interpret_cells", "is_parquet", "local_path",
    "parquet_accounting", "parquet_files", "parquet_notes", "parquet_spec", "plan_inputs", "stage_exports",
    "time_column",
]
