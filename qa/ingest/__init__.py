"""Ingest stage: read chat-log exports into the message table of :mod:`qa.model`.

Inputs are delimited text files (.csv, .tsv, .txt) in UTF-8, UTF-8 with BOM, GB18030/GBK or
UTF-16, and Excel workbooks (.xlsx, .xlsm). Columns are found by name (English and Chinese
aliases, or ``--column FIELD=NAME`` overrides), roles are mapped to :class:`qa.model.Role`, and
times are parsed into one timezone. A row that cannot be audited is never dropped silently: it
goes to the rejected table with its row number and a reason, so that
``input_rows == len(messages) + len(rejected)`` always holds.

Speed matters (exports of a million rows are normal), so every per-row step is vectorised:
CSV is parsed by pyarrow's multi-threaded reader, and only files with malformed rows take the
slower but exact path through :mod:`csv`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from qa.errors import InputError
from qa.ingest.build import _assemble, build_part
from qa.ingest.columns import FIELDS, ColumnMap, resolve_columns
from qa.ingest.delimited import _QUOTED_MAX_CHARS, _QUOTED_MAX_LINES, TEXT_EXTENSIONS
from qa.ingest.parquet import PARQUET_EXTENSIONS, arrow_cells
from qa.ingest.registry import EXTENSIONS, FORMATS, _expand_inputs, expand_inputs, format_of, skipped_inputs
from qa.ingest.spreadsheet import SPREADSHEET_EXTENSIONS
from qa.ingest.stream import CHUNK_ROWS, ORDER_COLUMN, IngestChunk, StreamedInputs, read_input, read_parts, stream_inputs
from qa.ingest.table import Format, IngestNotes, RawTable, ReadOptions, Source, make_options
from qa.model import IngestResult, empty_rejected
from qa.xlsxlimits import ExcelLimits


def load_inputs(
    inputs: Sequence[str],
    *,
    columns: Mapping[str, str] | None = None,
    encoding: str | None = None,
    sheet: str | None = None,
    timezone: str = "Asia/Shanghai",
    agent_pattern: str | None = None,
    excel_limits: ExcelLimits | None = None,
    header_row: int | None = None,
) -> IngestResult:
    """Read every input (files, directories, globs) into one batch of messages.

    ``columns`` maps a field (see :data:`FIELDS`) to the header naming it in the files;
    ``encoding`` forces the text encoding of delimited files; ``sheet`` picks the Excel
    sheet (default: every sheet with the needed columns); naive times are local to
    ``timezone``; ``agent_pattern`` is a regex of sender nicknames that are agents, used
    when roles are inferred from nicknames; ``excel_limits`` bounds what a workbook may make
    the reader allocate (default :class:`qa.xlsxlimits.ExcelLimits`); ``header_row`` names
    the header's row (1-based, as the file shows it) instead of finding it.

    Returns messages with exactly :data:`qa.model.MESSAGE_COLUMNS`, sorted by session, time,
    seq and input order, plus the rejected rows. Raises :class:`InputError` for problems
    that stop the run (missing file, missing column, unreadable content).
    """
    options = make_options(columns, encoding, sheet, timezone, agent_pattern, excel_limits, header_row)
    paths = _expand_inputs(inputs)
    notes = IngestNotes()
    for skipped, why in skipped_inputs(inputs):
        notes.add(f"skipped {{files}}: {why}", skipped)
    # The in-memory audit is the stream in one chunk per file, concatenated.
    refused: list[tuple[str, str]] | None = [] if len(paths) > 1 else None
    parts = [part for path in paths for part in read_input(path, options, notes, None, refused)]
    _check_mappings_used(parts, options)
    not_read = {path for path, _ in refused or []}
    result = _assemble(parts, [path for path in paths if path not in not_read], options, notes)
    result.refused = list(refused or []) + notes.refused_members
    return result


def _check_mappings_used(parts: list, options: ReadOptions) -> None:
    """A ``--column`` mapping applies to the inputs that have its column; one that no input
    has is a mistake (a typo, the wrong file), reported as for a single file."""
    used = {name for part in parts for name in part.mapped}
    for name, wanted in options.columns.items():
        if name not in used and parts:
            first = parts[0]
            raise InputError(f"column '{wanted}' for {name} not found in {first.where}; found: {first.found}")


#: Kept for callers of the first reader; spreadsheets are read through calamine.
EXCEL_EXTENSIONS = SPREADSHEET_EXTENSIONS

__all__ = [
    "CHUNK_ROWS", "EXCEL_EXTENSIONS", "EXTENSIONS", "FIELDS", "FORMATS", "ORDER_COLUMN", "PARQUET_EXTENSIONS",
    "SPREADSHEET_EXTENSIONS", "TEXT_EXTENSIONS", "IngestChunk", "StreamedInputs", "arrow_cells", "expand_inputs",
    "Format", "Source", "format_of", "load_inputs", "read_parts", "stream_inputs",
    # the pieces the cluster engines interpret Parquet records with (qa.engines.inputs)
    "ColumnMap", "IngestNotes", "ReadOptions", "RawTable", "build_part", "make_options",
    "resolve_columns", "empty_rejected",
    # the bounds of a quoted value (tests build files just over them)
    "_QUOTED_MAX_CHARS", "_QUOTED_MAX_LINES",
]
