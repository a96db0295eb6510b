"""What every reader shares: the reader options, the notes, the table of cells a reader yields."""

from __future__ import annotations

import codecs
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa

from qa.errors import InputError
from qa.ingest.columns import FIELDS, ColumnMap
from qa.model import REJECTED_COLUMNS, empty_rejected
from qa.xlsxlimits import ExcelLimits

_RAW_LIMIT = 200
_HEAD_BYTES = 1 << 16


# --------------------------------------------------------------------------- options, notes


@dataclass(frozen=True)
class ReadOptions:
    """How inputs are read (:func:`make_options`): column overrides, encoding, sheet, timezone,
    agent nickname pattern, workbook limits, header row."""

    columns: dict[str, str]
    encoding: str | None
    sheet: str | None
    timezone: str
    agent_regex: re.Pattern[str] | None
    excel_limits: ExcelLimits = ExcelLimits()
    header_row: int | None = None  # --header-row: the header's row as the file shows it (1-based)


def make_options(
    columns: Mapping[str, str] | None,
    encoding: str | None,
    sheet: str | None,
    timezone: str,
    agent_pattern: str | None,
    excel_limits: ExcelLimits | None = None,
    header_row: int | None = None,
) -> ReadOptions:
    """Validate the arguments once, before any file is touched."""
    overrides = dict(columns or {})
    for name in overrides:
        if name not in FIELDS:
            raise InputError(f"unknown field '{name}' in --column; fields: {', '.join(FIELDS)}")
    if encoding:
        try:
            encoding = codecs.lookup(encoding).name
        except LookupError:
            raise InputError(f"unknown encoding '{encoding}'") from None
    try:
        pd.DatetimeTZDtype("ns", timezone)
    except Exception:  # zoneinfo raises several types (KeyError, ValueError) for bad names
        raise InputError(f"unknown timezone '{timezone}'") from None
    regex = None
    if agent_pattern:
        try:
            regex = re.compile(agent_pattern)
        except re.error as exc:
            raise InputError(f"invalid agent pattern '{agent_pattern}': {exc}") from None
    if header_row is not None and header_row < 1:
        raise InputError(f"--header-row {header_row}: rows are numbered from 1")
    return ReadOptions(overrides, encoding or None, sheet, timezone, regex, excel_limits or ExcelLimits(), header_row)


class IngestNotes:
    """Human-readable notes; the same note for several files is merged into one line."""

    def __init__(self) -> None:
        self._sources: dict[str, list[str]] = {}
        #: (label, reason) of each file inside an archive that could not be read: refused like a
        #: folder's file (listed as not read, and the run says so), not only noted
        self.refused_members: list[tuple[str, str]] = []

    def add(self, template: str, source: str) -> None:
        """Record ``template`` (with a ``{files}`` placeholder) for ``source``."""
        sources = self._sources.setdefault(template, [])
        if source not in sources:
            sources.append(source)

    def render(self) -> list[str]:
        """The notes as lines, in the order first seen."""
        lines = []
        for template, sources in self._sources.items():
            shown = ", ".join(sources[:5])
            if len(sources) > 5:
                shown += f" and {len(sources) - 5} more"
            # (replaced, not str.format: a note may quote a user's regex or a header holding braces: ^\d{4}$)
            lines.append(template.replace("{files}", shown))
        return lines


# --------------------------------------------------------------------------- reading


@dataclass
class RawTable:
    """One input's data rows as strings, before any interpretation."""

    source: str
    sheet: str
    columns: ColumnMap
    cells: pd.DataFrame  # positional str columns, one per header cell; blank rows removed
    rows: np.ndarray  # source row number of each cells row
    malformed: pd.DataFrame  # rejected rows (REJECTED_COLUMNS) with a wrong number of fields
    # how rejected rows name their file: the path, or the path and sheet when a workbook's rows
    # come from several sheets (their row numbers repeat)
    label: str = ""

    @property
    def rejected_as(self) -> str:
        """The file name rejected rows of this table carry."""
        return self.label or self.source


def _empty_cells(width: int) -> pd.DataFrame:
    return pd.DataFrame({i: pd.Series([], dtype="str") for i in range(width)})


def _blank_mask(cells: pd.DataFrame) -> np.ndarray:
    """Rows whose every cell is empty: spreadsheet padding, not messages."""
    blank = np.ones(len(cells), dtype=bool)
    for position in cells.columns:
        blank &= (cells[position] == "").to_numpy()
        if not blank.any():
            break
    return blank


def _no_reasons(n: int) -> np.ndarray:
    return np.full(n, None, dtype=object)


def _map_unique(values: pd.Series, function: Callable[[str], object]) -> np.ndarray:
    """Apply ``function`` once per distinct value (exports repeat a few values a million times)."""
    codes, uniques = pd.factorize(values)
    mapped = np.array([function(u) for u in uniques] + [None], dtype=object)
    return mapped[codes]  # code -1 (missing) picks the trailing None


def _test_distinct(values: pd.Series, test: Callable[[pd.Series], np.ndarray]) -> np.ndarray:
    """``test`` (vectorised: one bool per value) of each of ``values``, run once per distinct
    value as :func:`_map_unique` does; a missing value is False (one test of :class:`Distinct`)."""
    return Distinct(values).test(test)


class Distinct:
    """Tests of the same ``values``, each run once per distinct value, the values factorized once
    for all of them (a million agents' names are factorized in some 25 ms, their few hundred
    names tested in far less)."""

    def __init__(self, values: pd.Series) -> None:
        self.values = values
        self._factorized: tuple[np.ndarray, pd.Series] | None = None

    def test(self, test: Callable[[pd.Series], np.ndarray]) -> np.ndarray:
        """``test`` (vectorised: one bool per value) of each value; a missing value is False."""
        if self._factorized is None:
            codes, uniques = pd.factorize(self.values)
            self._factorized = codes, pd.Series(uniques, dtype=self.values.dtype)
        codes, uniques = self._factorized
        return np.append(np.asarray(test(uniques), dtype=bool), False)[codes]  # code -1 (missing): False


def string_buffers(values: pa.Array | pa.ChunkedArray) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """Each chunk of Arrow strings as numpy views of its value offsets (one more than it has
    values) and of the bytes they index: a test of a few bytes per value without a kernel call
    per value, or a kernel over every byte."""
    for chunk in values.chunks if isinstance(values, pa.ChunkedArray) else [values]:
        if not (pa.types.is_string(chunk.type) or pa.types.is_large_string(chunk.type)):
            chunk = chunk.cast(pa.large_string())
        offsets_buffer, data_buffer = chunk.buffers()[1:3]
        kind = np.int64 if pa.types.is_large_string(chunk.type) else np.int32
        if offsets_buffer is None or not len(chunk):
            offsets = np.zeros(len(chunk) + 1, dtype=kind)
        else:
            offsets = np.frombuffer(offsets_buffer, dtype=kind)[chunk.offset : chunk.offset + len(chunk) + 1]
        data = np.zeros(0, dtype=np.uint8) if data_buffer is None else np.frombuffer(data_buffer, dtype=np.uint8)
        yield offsets, data


def rows_holding(values: pd.Series, needle: str) -> np.ndarray:
    """The positions of the texts holding ``needle``, found in the Arrow bytes of the column (a text
    search of a million strings costs a tenth of a second, the bytes' ``find`` a few milliseconds when
    the needle is rare)."""
    pattern = np.frombuffer(needle.encode("utf-8"), dtype=np.uint8)
    # the needle's rarest-looking byte first: its last (a lead byte of a CJK character is common)
    order = [len(pattern) - 1, *range(len(pattern) - 1)]
    found: list[np.ndarray] = []
    base = 0
    for offsets, data in string_buffers(pa.array(values)):
        span = len(data) - len(pattern) + 1
        starts = np.flatnonzero(data[order[0]: order[0] + max(span, 0)] == pattern[order[0]]) if span > 0 else np.zeros(0, np.int64)
        for at in order[1:]:
            starts = starts[data[starts + at] == pattern[at]]
        # a slice's buffers hold the bytes of texts before and after it
        starts = starts[(starts >= offsets[0]) & (starts < offsets[-1])]
        if len(starts):
            rows = np.searchsorted(offsets, starts, side="right") - 1
            # a match across two texts is none: it must end inside the text it starts in
            rows = rows[starts + len(pattern) <= offsets[rows + 1]]
            found.append(np.unique(rows) + base)
        base += len(offsets) - 1
    return np.concatenate(found) if found else np.zeros(0, dtype=np.int64)


# --------------------------------------------------------------------------- output


def _clip(value: str, limit: int = _RAW_LIMIT) -> str:
    return value if len(value) <= limit else value[: limit - 1] + "…"


def _rejected_frame(
    files: Sequence[str], rows: Sequence[int], reasons: Sequence[str], raws: Sequence[str]
) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "file": pd.Series(list(files), dtype="str"),
            "row": pd.Series(np.asarray(rows, dtype=np.int64), dtype="int64"),
            "reason": pd.Series(list(reasons), dtype="str"),
            "raw": pd.Series(list(raws), dtype="str"),
        },
        columns=REJECTED_COLUMNS,
    )


def _table_slices(table: RawTable, rows: int | None) -> Iterator[RawTable]:
    """``table`` cut into tables of at most ``rows`` rows (always at least one table; the
    table itself when ``rows`` is None)."""
    if rows is None:
        yield table
        return
    total = len(table.cells)
    for start in range(0, max(total, 1), rows):
        piece = slice(start, start + rows)
        malformed = table.malformed if start == 0 else empty_rejected()
        yield RawTable(
            table.source, table.sheet, table.columns, table.cells.iloc[piece].reset_index(drop=True),
            table.rows[piece], malformed, table.label,
        )


# --------------------------------------------------------------------------- the reader seam


class Source:
    """One input file opened by the reader of its format.

    Opening decides what holds for the whole file before any row is interpreted: its columns,
    whether its time column is used (``has_times``: every chunk of the file needs the same
    answer) and the notes of reading it (``notes``: encoding, sheet, skipped rows; complete
    once :meth:`tables` is exhausted). :meth:`tables` gives the data rows in file order, as
    tables of at most ``chunk_rows`` rows, or one table when ``chunk_rows`` is None (the
    in-memory audit: a reader may then parse the file in one go).
    """

    has_times: bool
    notes: IngestNotes

    def tables(self) -> Iterator[RawTable]:
        """The data rows, in file order (at least one table, possibly empty)."""
        raise NotImplementedError


@dataclass(frozen=True)
class Format:
    """An input format behind the reader seam. A module of :mod:`qa.ingest` that defines
    ``FORMAT`` is discovered by :mod:`qa.ingest.registry`, so adding a format is adding a
    module: ``extensions`` are the file names it reads (lower case, with the dot);
    ``magic`` the first bytes of its files, which win over a misleading extension;
    ``open(path, options, chunk_rows)`` returns the file's :class:`Source`."""

    name: str
    extensions: tuple[str, ...]
    magic: tuple[bytes, ...]
    open: Callable[[str, ReadOptions, int | None], Source]
