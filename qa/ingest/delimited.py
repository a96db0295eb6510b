"""Delimited text (.csv, .tsv, .txt): pyarrow for clean files, :mod:`csv` for exact row numbers."""

from __future__ import annotations

import codecs
import csv
import io
import itertools
import os
import re
from collections.abc import Callable, Iterator, Sequence

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pa_compute
import pyarrow.csv as pa_csv

from qa.errors import InputError
from qa.ingest.boxtable import box_table_as_csv, is_box_table
from qa.ingest.build import _any_time_value, _has_times, columns_from_head
from qa.ingest.columns import AmbiguousColumns, _clean_name
from qa.ingest.encoding import (
    _bad_byte_message,
    _decode_head,
    _line_breaks,
    _NotUtf8,
    _Utf8Reader,
    detect_encoding,
    to_utf8,
)
from qa.ingest.header import field_of, find_text_header, header_note
from qa.ingest.headerless import first_line_is_data, names_by_content
from qa.ingest.jsoncsv import json_stringified_as_csv, looks_json_stringified
from qa.ingest.mysqlout import looks_like_outfile, outfile_as_csv
from qa.ingest.roles import ROLE_SAMPLE_ROWS, mostly_role_words
from qa.ingest.table import (
    _HEAD_BYTES,
    Format,
    IngestNotes,
    RawTable,
    ReadOptions,
    Source,
    _blank_mask,
    _clip,
    _empty_cells,
    _rejected_frame,
    _table_slices,
    string_buffers,
)
from qa.ingest.transcript import transcript_at, turn_pairs_at
from qa.model import empty_rejected

# A stray quote (a message starting with `"` that an export did not escape) makes a CSV parser
# read the following rows as one field, silently. Chat messages with line breaks are real (an
# address, a bank account) but short: the platforms cap a message at a few thousand characters
# and it rarely has more than a dozen lines. A quoted value running over more lines or
# characters than these is taken to be a stray quote; so is one holding a line shaped like a
# whole row (as many fields as the header), or one with no closing quote before the end.
_QUOTED_MAX_LINES = 100
_QUOTED_MAX_CHARS = 20_000
# Python's csv refuses fields over 131,072 characters by default, while pyarrow (the fast path)
# has no limit: the exact path must not refuse what the fast path reads. A field over this
# (far beyond any chat message) rejects its row, not the file.
_CSV_FIELD_LIMIT = 1 << 28
csv.field_size_limit(max(csv.field_size_limit(), _CSV_FIELD_LIMIT))

# Joined exports (pd.concat of two column sets) are read whole by the sheet reader: up to this size.
_JOINED_MAX_BYTES = 256 << 20


def _offset_after_lines(data: bytes, lines: int) -> int:
    """The byte offset where line ``lines + 1`` of ``data`` starts (CRLF, LF or CR ends)."""
    offset = 0
    for found, _ in zip(re.finditer(rb"\r\n|\r|\n", data), range(lines)):
        offset = found.end()
    return offset


def _sniff_delimiter(head: str) -> str:
    """Pick comma, tab or semicolon: whichever splits the header line into most fields."""
    first_line = re.split(r"\r\n|\r|\n", head, maxsplit=1)[0]  # not str.splitlines: it splits on more
    best, best_count = ",", 1
    for delimiter in (",", "\t", ";"):
        count = len(next(csv.reader([first_line], delimiter=delimiter), []))
        if count > best_count:
            best, best_count = delimiter, count
    return best


# cells, their row numbers, rejected rows, blank rows skipped, repeated header rows skipped
_Parsed = tuple[pd.DataFrame, np.ndarray, pd.DataFrame, int, int]


def _note_skipped(notes: IngestNotes, path: str, blank: int, headers: int) -> None:
    """The notes for rows that are not data: blank rows, and header rows of joined exports."""
    if blank:
        notes.add(f"{{files}}: {blank} blank row(s) skipped", path)
    if headers:
        notes.add(f"{{files}}: {headers} repeated header row(s) skipped (exports joined into one file?)", path)


def _tidy(path: str, cells: pd.DataFrame, rows: np.ndarray, header: list[str], *, nul: bool) -> _Parsed:
    """Take out what is not a message row: blank rows and repeated header rows (counted) and,
    when ``nul``, rows holding a NUL character (rejected)."""
    arrays = [pa.array(cells[position]) for position in cells.columns]
    blank = _blank_mask(cells)
    repeated = _header_mask(arrays, header) & ~blank
    bad = _nul_mask(arrays) if nul else np.zeros(len(cells), dtype=bool)
    rejected = empty_rejected()
    if bad.any():
        where = np.flatnonzero(bad)
        raws = [_clip(",".join(v)) for v in cells.iloc[where].itertuples(index=False, name=None)]
        rejected = _rejected_frame([path] * len(where), rows[where], [_NUL_REASON] * len(where), raws)
    drop = blank | repeated | bad
    if drop.any():
        cells, rows = cells[~drop].reset_index(drop=True), rows[~drop]
    return cells, rows, rejected, int(blank.sum()), int(repeated.sum())


_NUL_REASON = "contains a NUL character (binary data in a text row)"


def _header_mask(arrays: Sequence[pa.Array], header: list[str]) -> np.ndarray:
    """Rows that repeat the header (exports joined into one file)."""
    names = [_clean_name(name) for name in header]
    same = np.ones(len(arrays[0]) if arrays else 0, dtype=bool)
    for array, name in zip(arrays, names, strict=False):
        same &= _equals(pa_compute.utf8_trim_whitespace(array), name)
        if not same.any():
            break
    return same


def _nul_mask(arrays: Sequence[pa.Array]) -> np.ndarray:
    bad = np.zeros(len(arrays[0]) if arrays else 0, dtype=bool)
    for array in arrays:
        bad |= np.asarray(pa_compute.match_substring(array, "\x00").to_numpy(zero_copy_only=False), dtype=bool)
    return bad


def _equals(array: pa.Array, value: str) -> np.ndarray:
    return np.asarray(pa_compute.equal(array, value).to_numpy(zero_copy_only=False), dtype=bool)


def _quote_trouble(columns: Sequence, delimiter: str, width: int, *, ends_file: bool) -> bool:
    """Whether values that pyarrow read across lines may hide a stray quote, so that the file
    must go through the exact parser (which finds and isolates it): a value of the last row
    of the file (when ``ends_file``; the quote may never close), or a suspect record (see
    :func:`_suspect_record`). Only rows with a line break in a value are looked at."""
    rows = _rows_with_line_breaks(columns)
    if not len(rows):
        return False
    if ends_file and rows[-1] == len(columns[0]) - 1:
        return True
    picked = pa.array(rows)
    values = zip(*(column.take(picked).to_pylist() for column in columns), strict=True)
    return any(_suspect_record(record, delimiter, width) for record in values)


def _rows_with_line_breaks(columns: Sequence) -> np.ndarray:
    """Indices of the rows with a CR or LF in any value, from the string buffers (a kernel
    per value would cost seconds on a million rows)."""
    found: list[np.ndarray] = []
    for column in columns:
        base = 0
        for offsets, data in string_buffers(column):
            values = data[offsets[0] : offsets[-1]]
            # one comparison per byte finds the few control characters (tab, CR, LF…), a
            # third of what testing every byte for CR and for LF costs
            controls = np.flatnonzero(values < 14)
            at = controls[(values[controls] == 10) | (values[controls] == 13)] + offsets[0]
            if len(at):
                found.append(np.searchsorted(offsets, at, side="right") - 1 + base)
            base += len(offsets) - 1
    return np.unique(np.concatenate(found)) if found else np.zeros(0, dtype=np.int64)


def _suspect_record(values: Sequence[str], delimiter: str, width: int) -> bool:
    """Whether a record read across lines looks like a stray quote swallowing rows: a line of
    a value shaped like a whole row, or more lines or characters than a chat message has (the
    character count is an upper bound of the record's length in the file, so that the fast
    path gives up wherever :class:`_LineSource` could stop the exact one)."""
    lines, chars = 1, 3 * len(values) + 2
    for at, value in enumerate(values):
        chars += len(value) + value.count('"')
        if "\n" in value or "\r" in value:
            lines += _line_breaks(value)
            value_lines = re.split(r"\r\n|\r|\n", value)
            for line in value_lines:
                if line.count(delimiter) >= width - 1 and len(_fields_of(line, delimiter)) >= width:
                    return True
            # the value's last line shares its physical line with the fields after it: with
            # them it may be a whole row whose own quote closed the stray one (that row's fields
            # before its text are on that line; a value in the first column has none: a message
            # with line breaks in a text-first export is no such row)
            last = value_lines[-1].count(delimiter)
            if last and last + len(values) - 1 - at >= width - 1 and at < width - 1:
                return True
    return lines > _QUOTED_MAX_LINES or (lines > 1 and chars > _QUOTED_MAX_CHARS)


def _fields_of(line: str, delimiter: str) -> list[str]:
    try:
        return next(csv.reader([line], delimiter=delimiter), [])
    except csv.Error:
        return []


class _RunawayQuote(Exception):
    """A quoted value ran over more lines or characters than a chat message has."""


def _fit_record(record: list[str], width: int, text_at: int | None = None, delimiter: str = ",") -> list[str] | None:
    """The record with ``width`` fields, or None when it cannot be one. Extra fields that
    are all empty are dropped: some exports end every data row (not the header) with a
    delimiter, and rejecting every such row would lose the whole file. With ``text_at`` (the
    message text's field), a record with more fields than the header is a message whose
    delimiters the export did not quote (管易: 您好！可以开专票,50份以上…): the fields before
    the text and after it keep their places, the text takes the rest back with its delimiters.
    (Only for a text with fields after it, which anchor the rest: after a last text column, an
    extra field may as well be a column too many, and the row is rejected.)"""
    if len(record) == width:
        return record
    if len(record) > width and not any(field.strip() for field in record[width:]):
        return record[:width]
    if len(record) > width and text_at is not None and text_at < width:
        extra = len(record) - width
        return [*record[:text_at], delimiter.join(record[text_at : text_at + extra + 1]), *record[text_at + extra + 1 :]]
    return None


class _LineSource:
    """Physical lines for :mod:`csv`, keeping those of the record being read so that after a
    stray quote they can be read again; stops a record that runs away (see _QUOTED_MAX_*)."""

    def __init__(self, lines: Iterator[str]) -> None:
        self._lines = iter(lines)
        self._again: list[str] = []
        self.taken: list[str] = []
        self.ended = False
        self._chars = 0

    def __iter__(self) -> _LineSource:
        return self

    def __next__(self) -> str:
        if self._again:
            line = self._again.pop()
        else:
            try:
                line = next(self._lines)
            except StopIteration:
                self.ended = True
                raise
        self.taken.append(line)
        self._chars += len(line)
        if len(self.taken) > 1 and (len(self.taken) > _QUOTED_MAX_LINES or self._chars > _QUOTED_MAX_CHARS):
            raise _RunawayQuote
        return line

    def begin(self) -> None:
        """Start a record."""
        self.taken, self._chars, self.ended = [], 0, False

    def read_again(self, lines: list[str]) -> None:
        self._again.extend(reversed(lines))


def _rejoined_text_at(header: list[str], head: str) -> int | None:
    """The text field whose extra delimiters :func:`_fit_record` gives back to it, or None: in a file written
    without quoting (no quote mark in its ``head``: 管易, 旺店通 text exports) a message's own delimiters give
    its row more fields than the header, when the text has fields after it; where values are quoted, more
    fields are a malformed row."""
    texts = [at for at, name in enumerate(header) if field_of(_clean_name(name)) == "text"]
    return texts[0] if '"' not in head and len(texts) == 1 and texts[0] < len(header) - 1 else None


# Hive's field separator (^A) in its text output (INSERT OVERWRITE … DIRECTORY): a dump without a header
_HIVE_FIELDS = "\x01"
# Excel's first-line hint of the delimiter (sep=; sep=^ sep=|), which Excel hides
_SEP_LINE = re.compile(r"\A\ufeff?sep=([^\s\w\"])[ \t]*\r?\n", re.IGNORECASE)

_BLANK, _HEADER, _GOOD, _BAD = range(4)
_LINE_END = ("\n", "\r")


def _exact_rows(lines: Iterator[str], delimiter: str, header: list[str], rejoin_at: int | None = None
                ) -> Iterator[tuple[int, int, object]]:
    """The data records of a delimited text, one at a time with their row numbers (header =
    1), as ``(kind, row, value)``: blank rows, repeated header rows, good records (value: the
    fields) and bad ones (value: reason and raw text).

    A quote that opens a value and then runs into the following rows (never closing, closing
    in a way a writer never would, or past the bounds of a chat message, see
    :func:`_suspect_record`) makes its row bad; the lines after it are read again as rows of
    their own, so one stray quote costs one row. A value with line breaks inside a quote that
    closes properly is one row.
    """
    width = len(header)
    names = [_clean_name(name) for name in header]
    source = _LineSource(lines)
    try:
        next(csv.reader(source, delimiter=delimiter), None)  # the header
    except (_RunawayQuote, csv.Error):
        source.read_again(source.taken[1:])
    row = 1
    reader = csv.reader(source, delimiter=delimiter, strict=True)
    while True:
        source.begin()
        record, damage = None, None
        try:
            record = next(reader)
        except StopIteration:
            return
        except _RunawayQuote:
            damage = _RUNAWAY_REASON
        except csv.Error:
            taken = source.taken
            if len(taken) > 1 or (source.ended and taken and taken[0].endswith(_LINE_END)):
                damage = _UNCLOSED_REASON if source.ended else _RUNAWAY_REASON
            else:  # quotes misplaced within one line ('"a"b'): read as pyarrow and csv do
                source.read_again(taken)
                source.begin()
                try:
                    record = next(csv.reader(source, delimiter=delimiter))
                except _RunawayQuote:
                    damage = _RUNAWAY_REASON
                except csv.Error as exc:  # a field over _CSV_FIELD_LIMIT
                    row += 1
                    yield _BAD, row, (f"unreadable row: {exc}", _clip(_without_line_end(source.taken[0])))
                    source.read_again(source.taken[1:])
                    reader = csv.reader(source, delimiter=delimiter, strict=True)
                    continue
            reader = csv.reader(source, delimiter=delimiter, strict=True)
        taken = source.taken
        if damage is None:
            # at the end of the file inside a quote (only csv's tolerant mode gets here)
            if source.ended and (len(taken) > 1 or taken[-1].endswith(_LINE_END)):
                damage = _UNCLOSED_REASON
            elif len(taken) > 1 and (_fit_record(record, width) is None or _suspect_record(record, delimiter, width)):
                # a record over several lines that does not fit the header: the quote that
                # joined them is stray (a value with line breaks in a real row still fits)
                damage = _RUNAWAY_REASON
        row += 1
        if damage is not None:
            # Tab-separated text is often written without quoting (旺店通's 导出Excel): a message that opens
            # with a quote mark ("加急"两个字 …) is then its own line, split as it stands. (In comma-separated
            # text quoting is the rule, and a quote that never closes leaves the row's fields in doubt.)
            literal = next(csv.reader([_without_line_end(taken[0])], delimiter=delimiter, quoting=csv.QUOTE_NONE),
                           []) if delimiter == "\t" else []
            if literal and (fitted := _fit_record(literal, width)) is not None and any(fitted) and "\x00" not in taken[0]:
                yield _GOOD, row, fitted
            else:
                yield _BAD, row, (damage, _clip(_without_line_end(taken[0])))
            source.read_again(taken[1:])
            reader = csv.reader(source, delimiter=delimiter, strict=True)
        elif not any(record):
            yield _BLANK, row, None
        elif (fitted := _fit_record(record, width, rejoin_at, delimiter)) is None:
            yield _BAD, row, (f"expected {width} fields, found {len(record)}", _clip(",".join(record)))
        elif any("\x00" in line for line in taken):
            yield _BAD, row, (_NUL_REASON, _clip(",".join(record)))
        elif _clean_name(fitted[0]) == names[0] and [_clean_name(f) for f in fitted] == names:
            yield _HEADER, row, None
        else:
            yield _GOOD, row, fitted


_UNCLOSED_REASON = "unclosed quote: a quote opened in this row never closes (the rows after it were read without it)"
_RUNAWAY_REASON = "stray quote: a quoted value opened in this row runs into the rows after it (read without it)"


def _without_line_end(line: str) -> str:
    return line.rstrip("\r\n")


# pyarrow's streaming block: small blocks keep its read-ahead small (32 MB blocks cost ~500 MB
# of RSS and were slower); blocks are gathered into chunks of chunk_rows.
_BLOCK_BYTES = 4 << 20


class _DelimitedStream:
    """The one reader of delimited text, whole (``chunk_rows`` None) or in chunks.

    The constructor reads the head (encoding, delimiter, header, columns) and reads the file
    once: which parser (pyarrow, or :mod:`csv` when a row has the wrong number of fields or a
    quote may be stray), whether the time column has any value, and that there are data rows.
    Read whole, that pass keeps the rows (the file is parsed once, from memory); in chunks, it
    keeps nothing and :meth:`tables` reads the file again, chunk by chunk.
    """

    def __init__(self, path: str, options: ReadOptions, chunk_rows: int | None) -> None:
        self.path = path
        self.options = options
        self.chunk_rows = chunk_rows
        self.whole = chunk_rows is None
        self._report_as: str | None = None
        self._raw: bytes | None = None  # the file's bytes, when read whole
        self._utf8: bytes | None = None  # ... and as UTF-8
        self._whole_tables: list[RawTable] = []
        self._skip = self.lines_above = 0
        self._prefix, self._prefixed, self.named_by_content = b"", False, {}
        self._converted = False  # the file rewritten as CSV by qa (box table, OUTFILE, JSON.stringify)
        try:
            with open(path, "rb") as handle:
                if self.whole:
                    self._raw = raw_head = handle.read()
                    size = len(raw_head)
                else:
                    size = os.fstat(handle.fileno()).st_size
                    raw_head = handle.read(_HEAD_BYTES)
        except OSError as exc:
            raise InputError(f"cannot read {path}: {exc.strerror or exc}") from None
        if not size:
            raise InputError(f"{path} is empty")
        self.encoding = detect_encoding(path, raw_head[:_HEAD_BYTES], options.encoding, final=size <= _HEAD_BYTES)
        _check_byte_order(path, raw_head, self.encoding)
        self.json_quoted = self.outfile = False
        head_text = _head_in(raw_head[:_HEAD_BYTES], self.encoding)
        self.box_table = is_box_table(head_text)
        # text another program escaped its own way, rewritten as the CSV it means (such files are read
        # whole; one that does not decode in its encoding throughout is read as it is)
        kind = "box" if self.box_table else "outfile" if looks_like_outfile(head_text) else \
            "json" if looks_json_stringified(head_text) else None
        if kind is not None:
            raw = self._raw if self._raw is not None else _read_all(path)
            try:
                text = to_utf8(path, raw, self.encoding).decode("utf-8")
            except (UnicodeDecodeError, InputError):
                text = None
            converted = None if text is None else box_table_as_csv(text) if kind == "box" else \
                outfile_as_csv(text) if kind == "outfile" else json_stringified_as_csv(text)
            if converted is not None:
                self.outfile, self.json_quoted = kind == "outfile", kind == "json"
                self._converted = True
                self._raw, self.encoding = converted.encode("utf-8", "replace"), "utf-8"
            else:
                self.box_table = False
        try:
            self._scan()
        except _NotUtf8:
            if options.encoding or self.encoding != "utf-8":
                raise InputError(_bad_byte_message(path, self.encoding, hint=False)) from None
            self.encoding, self._report_as, self._utf8 = "gb18030", "utf-8", None
            self._scan()

    # -- reading UTF-8 bytes whatever the file's encoding

    def _open(self) -> io.RawIOBase:
        if self._raw is None:
            stream: io.RawIOBase = _Utf8Reader(self.path, self.encoding, self._report_as)
            if self._prefix:
                stream = _PrefixedStream(self._prefix, stream)
        else:
            if self._utf8 is None:
                self._utf8 = to_utf8(self.path, self._raw, self.encoding, self._report_as)
                self._prefixed = False
            if self._prefix and not self._prefixed:
                self._utf8, self._prefixed = self._prefix + self._utf8, True
            stream = _MemoryStream(self._utf8)
        skip = self._skip  # title lines above the header (see _scan)
        while skip > 0:
            got = stream.read(skip)
            if not got:
                break
            skip -= len(got)
        return stream

    def _scan(self) -> None:
        path = self.path
        self._skip = self.lines_above = 0
        self._prefix, self.named_by_content = b"", {}
        with self._open() as stream:
            data_head = stream.read(_HEAD_BYTES)
            at_end = not stream.read(1)
        if not data_head or (data_head.isspace() and (at_end or self._all_space())):
            raise InputError(f"{path} is empty")
        head = _decode_head(data_head, at_end)
        # The header is the line naming most known columns among the first ones (qa.ingest.header):
        # title and metadata lines above it are skipped by _open, and the rows renumbered.
        # Excel's delimiter line (sep=^ as the first line) names the delimiter and is no header; Hive's
        # text output separates fields with \x01 (^A) and has no header at all
        told = _SEP_LINE.match(head)
        hive = _HIVE_FIELDS in head.split("\n", 1)[0]
        delimiter = (told.group(1) if told else _HIVE_FIELDS if hive else "," if self._converted
                     else "\t" if path.lower().endswith(".tsv") else None)
        found = find_text_header(head, self.options.columns, delimiter=delimiter, header_row=self.options.header_row)
        if found.lines_above:
            self.lines_above = found.lines_above
            self._skip = _offset_after_lines(data_head, found.lines_above)
            head = _decode_head(data_head[self._skip:], at_end)
        self.delimiter = found.delimiter if found.names else delimiter or _sniff_delimiter(head)
        self.header = next(csv.reader(io.StringIO(head, newline=""), delimiter=self.delimiter), [])
        # the rows in the head (read the same whatever the chunking) show whether a role column holds
        # names, or which unnamed column holds the roles
        sample = list(itertools.islice(csv.reader(io.StringIO(head, newline=""), delimiter=self.delimiter),
                                       1, 1 + ROLE_SAMPLE_ROWS))
        if not found.lines_above and not self.options.columns and self.options.header_row is None \
                and first_line_is_data(self.header, dump=hive):
            # a dump without a header line (tunnel download): its columns are named by what they hold,
            # and the first line, a message, is read as data under those names
            names = names_by_content([self.header, *sample[:-1]], mostly_role_words)
            if names is not None:
                line = io.StringIO()
                csv.writer(line, delimiter=self.delimiter, lineterminator="\n").writerow(names)
                self._prefix = line.getvalue().encode("utf-8")
                self.named_by_content = dict(zip(names, range(1, len(names) + 1), strict=True))
                self.lines_above = -1  # the first line is row 1, not the header
                sample = [self.header, *sample]
                self.header = names
                head = line.getvalue() + head
        self.rejoin_at = _rejoined_text_at(self.header, head)
        if self.rejoin_at is not None:  # the sample read as the rows will be
            sample = [_fit_record(row, len(self.header), self.rejoin_at, self.delimiter) or row for row in sample]
        above = _decode_head(data_head[: self._skip], True) if self._skip else ""
        fields = {field_of(name) for name in self.header} | set(self.options.columns)
        rows = sample[:-1] if not at_end else sample
        if "text" not in fields and (transcript_at(self.header, rows) is not None or (
                turn_pairs_at(self.header) is not None and not {"role", "sender"} & set(self.options.columns))):
            raise _WholeConversations(self)
        # a text column and nothing telling who wrote: a helpdesk turn per row, its messages as 顾客：… lines
        if "text" in fields and not {"role", "sender", "agent_flag"} & fields \
                and transcript_at(self.header, rows, roles_only=True) is not None:
            raise _WholeConversations(self)
        try:
            self.columns = columns_from_head(self.header, self.options.columns, path, above,
                                             sample[:-1] if not at_end else sample)
        except AmbiguousColumns as error:
            # two exports of other columns joined into one file (pd.concat): the sheet reader tells the
            # column sets apart on the whole file (such files are small)
            if error.field in self.options.columns or os.path.getsize(path) > _JOINED_MAX_BYTES:
                raise
            raise _WholeConversations(self) from None
        self.exact = not self._scan_fast()
        if self.exact:
            self._scan_exact()
        if not self.data_rows and not self.malformed_rows:
            raise InputError(f"{path} has no data rows (only a header)")
        if self.whole:
            self._raw = self._utf8 = None  # read whole, the rows are kept as tables: the bytes can go

    def _all_space(self) -> bool:
        with self._open() as stream:
            while block := stream.read(1 << 20):
                if not block.isspace():
                    return False
        return True

    def _time_position(self) -> int | None:
        return self.columns.positions.get("timestamp")

    # -- the pyarrow path

    def _arrow_reader(self, stream: io.RawIOBase, handler: Callable | None, include: list[str] | None = None):
        if isinstance(stream, _MemoryStream):
            # no Python call per block; from where the stream is (past the title lines above the header)
            source = pa.BufferReader(pa.py_buffer(stream.data).slice(stream.tell()))
        else:
            source = pa.PythonFile(stream, mode="r")
        return pa_csv.open_csv(source, **self._arrow_options(handler, include))

    def _arrow_options(self, handler: Callable | None, include: list[str] | None = None) -> dict:
        return dict(
            read_options=pa_csv.ReadOptions(block_size=_BLOCK_BYTES, use_threads=True),
            parse_options=pa_csv.ParseOptions(
                delimiter=self.delimiter,
                newlines_in_values=True,
                ignore_empty_lines=False,
                invalid_row_handler=handler,
            ),
            convert_options=pa_csv.ConvertOptions(
                # pandas keeps strings as large_string: read so, it need not convert every column
                column_types={name: pa.large_string() for name in self.header},
                strings_can_be_null=False,
                quoted_strings_can_be_null=False,
                include_columns=include or [],
            ),
        )

    def _scan_fast(self) -> bool:
        """Read with pyarrow; False when a row has the wrong number of fields, a quoted value
        may hide a stray quote (see :func:`_quote_trouble`), or on doubt: then the exact
        parser reads the file (pyarrow reports malformed rows without their row numbers, so
        clean files, the normal case, never pay for it). Read whole, the rows are kept."""
        malformed = 0

        def count_malformed(_row: object) -> str:
            nonlocal malformed
            malformed += 1
            return "skip"

        time_at = self._time_position()
        width = len(self.header)
        self.has_times = False
        self.data_rows = self.malformed_rows = self.blank = self.headers = 0
        if self.whole and self._read_whole_at_once():
            return True
        try:
            # one reader gives the schema and then the batches (a second one would parse the first block again)
            with self._open() as stream:
                reader = self._arrow_reader(stream, count_malformed)
                schema = reader.schema
                if len(schema) != width or any(not pa.types.is_large_string(t) for t in schema.types):
                    return False
                names = schema.names
                last: pa.RecordBatch | None = None
                kept: list[pa.RecordBatch] = []
                # Scan every column for blank rows; the time column decides has_times.
                for batch in reader:
                    if malformed:
                        return False
                    if last is not None and not self._converted and _quote_trouble(last.columns, self.delimiter, width,
                                                                                   ends_file=False):
                        return False
                    last = batch
                    if self.whole:  # counted on the whole table, below
                        kept.append(batch)
                        continue
                    blank = np.ones(batch.num_rows, dtype=bool)
                    for column in batch.columns:
                        blank &= _equals_empty(column)
                        if not blank.any():
                            break
                    # the rows _tidy takes out: blank, repeated header (counted), NUL (rejected)
                    repeated = _header_mask(batch.columns, self.header) & ~blank
                    nul = _nul_mask(batch.columns) & ~blank & ~repeated if stream.saw_nul else np.zeros_like(blank)
                    skip = blank | repeated | nul
                    self.blank += int(blank.sum())
                    self.headers += int(repeated.sum())
                    self.malformed_rows += int(nul.sum())
                    self.data_rows += batch.num_rows - int(skip.sum())
                    if time_at is not None and not self.has_times:
                        # the test of _any_time_value (pandas' str.strip is this kernel)
                        stripped = pa_compute.utf8_trim_whitespace(batch.column(names[time_at]))
                        self.has_times = bool((~_equals_empty(stripped) & ~skip).any())
            if last is not None and not self._converted and _quote_trouble(last.columns, self.delimiter, width,
                                                                           ends_file=True):
                return False
        except pa.ArrowInvalid as exc:
            if "UTF8" in str(exc):
                raise _NotUtf8 from None
            return False
        if malformed:
            return False
        if self.whole:
            self._keep_whole(pa.Table.from_batches(kept, schema), stream.saw_nul)
        return True

    def _read_whole_at_once(self) -> bool:
        """The file read whole by pyarrow's parallel reader (blocks parsed side by side, where the
        streaming reader of :meth:`_scan_fast` parses them one after another): True when it read
        the file cleanly and the rows are kept; False, keeping nothing, on any doubt (a malformed
        row, a stray quote, an error), and the streaming reader decides as it always did."""
        malformed = 0

        def count_malformed(_row: object) -> str:
            nonlocal malformed
            malformed += 1
            return "skip"

        width = len(self.header)
        with self._open() as stream:
            if not isinstance(stream, _MemoryStream):
                return False
            source = pa.BufferReader(pa.py_buffer(stream.data).slice(stream.tell()))
            try:
                table = pa_csv.read_csv(source, **self._arrow_options(count_malformed))
            except (pa.ArrowException, ValueError):
                return False
            if malformed or table.num_columns != width or table.schema.names != self.header \
                    or any(not pa.types.is_large_string(t) for t in table.schema.types):
                return False
            if not self._converted:
                # the checks of the streaming reader, batch by batch (the last one ends the file)
                batches = [batch for batch in table.to_batches() if batch.num_rows]
                for at, batch in enumerate(batches):
                    if _quote_trouble(batch.columns, self.delimiter, width, ends_file=at == len(batches) - 1):
                        return False
            self._keep_whole(table, stream.saw_nul)
        return True

    def _keep_whole(self, table: pa.Table, nul: bool) -> None:
        """The file read whole by pyarrow as its one table, and what the scan counts."""
        cells = _cells_of(table)
        del table
        rows = np.arange(2, len(cells) + 2, dtype=np.int64)
        cells, rows, rejected, self.blank, self.headers = _tidy(self.path, cells, rows, self.header, nul=nul)
        self.data_rows, self.malformed_rows = len(cells), len(rejected)
        time_at = self._time_position()
        self.has_times = time_at is not None and _any_time_value(cells[time_at])
        self._whole_tables = [RawTable(self.path, "", self.columns, cells, rows, rejected)]

    def _fast_tables(self) -> Iterator[RawTable]:
        """Chunks of exactly ``chunk_rows`` rows (the last one shorter), gathered from blocks."""
        record = 0
        pending: pa.Table | None = None
        with self._open() as stream:
            batches = iter(self._arrow_reader(stream, None))
            done = False
            while not done:
                batch = next(batches, None)
                done = batch is None
                if batch is not None:
                    batch = pa.Table.from_batches([batch])
                    pending = batch if pending is None else pa.concat_tables([pending, batch])
                if pending is None or (not done and pending.num_rows < self.chunk_rows):
                    continue
                if done and not pending.num_rows:
                    break
                size = pending.num_rows if done else pending.num_rows - pending.num_rows % self.chunk_rows
                table, pending = pending.slice(0, size), pending.slice(size)
                cells = _cells_of(table)
                del table
                rows = np.arange(record + 2, record + 2 + len(cells), dtype=np.int64)
                record += len(cells)
                yield from _table_slices(self._tidy_table(cells, rows, stream.saw_nul), self.chunk_rows)
        if not record:  # a file with a header only still makes one (empty) chunk
            yield self._tidy_table(_empty_cells(len(self.header)), np.zeros(0, dtype=np.int64), False)

    def _tidy_table(self, cells: pd.DataFrame, rows: np.ndarray, nul: bool) -> RawTable:
        cells, rows, rejected, _blank, _headers = _tidy(self.path, cells, rows, self.header, nul=nul)
        return RawTable(self.path, "", self.columns, cells, rows, rejected)

    # -- the csv path (files with malformed rows or a stray quote)

    def _records(self) -> Iterator[tuple[int, int, object]]:
        with self._open() as stream:
            text = io.TextIOWrapper(stream, encoding="utf-8", errors="strict", newline="")
            try:
                yield from _exact_rows(text, self.delimiter, self.header, self.rejoin_at)
            except UnicodeDecodeError:
                raise _NotUtf8 from None

    def _scan_exact(self) -> None:
        if self.whole:  # one pass, keeping the rows
            self._whole_tables = list(self._exact_tables(count=True))
        else:
            for _table in self._exact_tables(count=True, keep=False):
                pass

    def _count(self, kind: int, value: object, time_at: int | None) -> None:
        """Count a record as the scan does: blank, repeated header, bad, data; times."""
        if kind == _BLANK:
            self.blank += 1
        elif kind == _HEADER:
            self.headers += 1
        elif kind == _BAD:
            self.malformed_rows += 1
        else:
            self.data_rows += 1
            if time_at is not None and not self.has_times and value[time_at].strip():
                # the same test as _any_time_value, value by value
                self.has_times = bool(pd.Series([value[time_at]], dtype="str").str.strip().iloc[0])

    def _exact_tables(self, *, count: bool = False, keep: bool = True) -> Iterator[RawTable]:
        """The records read by :mod:`csv` as tables of at most ``chunk_rows`` rows (with
        ``keep``), counted for the scan (with ``count``)."""
        width = len(self.header)
        time_at = self._time_position()
        if count:
            self.has_times = False
            self.data_rows = self.malformed_rows = self.blank = self.headers = 0
        limit = self.chunk_rows or float("inf")
        good: list[list[str]] = []
        rows: list[int] = []
        bad: list[tuple[int, str, str]] = []

        def table() -> RawTable:
            cells = pd.DataFrame(good, columns=range(width), dtype="str") if good else _empty_cells(width)
            malformed = (
                _rejected_frame([self.path] * len(bad), *zip(*bad, strict=True)) if bad else empty_rejected()
            )
            return RawTable(self.path, "", self.columns, cells, np.asarray(rows, dtype=np.int64), malformed)

        made = False
        for kind, row, value in self._records():
            if count:
                self._count(kind, value, time_at)
            if not keep:
                continue
            if kind == _GOOD:
                good.append(value)
                rows.append(row)
            elif kind == _BAD:
                bad.append((row, *value))
            else:
                continue
            if len(good) + len(bad) >= limit:
                yield table()
                made = True
                good, rows, bad = [], [], []
        if keep and (good or bad or not made):
            yield table()

    def tables(self) -> Iterator[RawTable]:
        """The file's rows as tables of at most ``chunk_rows`` rows."""
        """The file's data rows as tables of at most ``chunk_rows`` rows, in file order."""
        if self.whole:
            tables, self._whole_tables = self._whole_tables, []
            tables = iter(tables)
        else:
            tables = self._exact_tables() if self.exact else self._fast_tables()
        if not self.lines_above:
            return tables
        return (self._shifted(table) for table in tables)

    def _shifted(self, table: RawTable) -> RawTable:
        """``table`` with row numbers counted from the top of the file, title lines included."""
        table.rows = table.rows + self.lines_above
        if len(table.malformed):
            table.malformed = table.malformed.assign(row=table.malformed["row"] + self.lines_above)
        return table


def _check_byte_order(path: str, head: bytes, encoding: str) -> None:
    """UTF-16/32 named without its byte order needs a byte-order mark at the file's start."""
    name = encoding.lower().replace("_", "-")
    if name in ("utf-16", "utf16", "utf-32", "utf32"):
        width = "16" if "16" in name else "32"
        marks = (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE) if width == "16" else (codecs.BOM_UTF32_LE, codecs.BOM_UTF32_BE)
        if not head.startswith(marks):
            raise InputError(f"cannot read {path} as {encoding}: the file has no byte-order mark; "
                             f"name the byte order (--encoding utf-{width}-le or utf-{width}-be)")


def _head_in(head: bytes, encoding: str) -> str:
    """A file's first bytes as text in its detected encoding (UTF-16's second bytes and Big5's hold
    0x5C, a backslash in ASCII); what does not decode is replaced."""
    try:
        return codecs.getincrementaldecoder(encoding)(errors="replace").decode(head)
    except LookupError:
        return head.decode("utf-8", "replace")


def _read_all(path: str) -> bytes:
    try:
        with open(path, "rb") as handle:
            return handle.read()
    except OSError as exc:
        raise InputError(f"cannot read {path}: {exc.strerror or exc}") from None


class _PrefixedStream(io.RawIOBase):
    """A stream read after some bytes of its own (the header line a headerless dump is given)."""

    def __init__(self, prefix: bytes, inner: io.RawIOBase) -> None:
        super().__init__()
        self._prefix = prefix
        self._inner = inner

    @property
    def saw_nul(self) -> bool:
        return self._inner.saw_nul

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        if not self._prefix:
            return self._inner.read(size)
        if size is None or size < 0:
            out, self._prefix = self._prefix + self._inner.read(), b""
            return out
        out, self._prefix = self._prefix[:size], self._prefix[size:]
        return out + self._inner.read(size - len(out)) if len(out) < size else out

    def close(self) -> None:
        self._inner.close()
        super().close()


class _MemoryStream(io.BytesIO):
    """A file read whole, as UTF-8: what :class:`_Utf8Reader` gives, from memory."""

    def __init__(self, data: bytes) -> None:
        super().__init__(data)
        self.data = data
        self.saw_nul = b"\x00" in data


def _cells_of(table: pa.Table) -> pd.DataFrame:
    """The cells of a table read by pyarrow, as str columns named by position, each column one
    contiguous array: pandas takes rows of a column in chunks (one per block read) by joining
    the chunks first, again for every take, which costs more than joining them once here."""
    cells = table.rename_columns([str(i) for i in range(table.num_columns)]).combine_chunks().to_pandas()
    cells.columns = range(table.num_columns)
    return cells


def _equals_empty(column: pa.Array) -> np.ndarray:
    """Whether each value of a string column is the empty string."""
    return np.asarray(pa_compute.equal(column, "").to_numpy(zero_copy_only=False), dtype=bool)


class _WholeConversations(Exception):
    """The file is read whole as a grid (by :func:`_conversations`): a session list with each conversation
    whole in one cell, or two exports of different columns joined into one."""

    def __init__(self, stream: _DelimitedStream) -> None:
        super().__init__(stream.path)
        self.stream = stream


def _conversations(stream: _DelimitedStream, notes: IngestNotes) -> list[RawTable]:
    """A session list with whole conversations in a cell, read with :mod:`csv` (such lists are small)
    and made into a table of its messages (see :mod:`qa.ingest.transcript`)."""
    from qa.ingest.spreadsheet import sheet_tables

    with stream._open() as handle:
        text = handle.read().decode("utf-8", "replace").lstrip("\ufeff")
    records = list(csv.reader(io.StringIO(text, newline=""), delimiter=stream.delimiter))
    width = max((len(record) for record in records), default=0)
    # title lines above the header keep their place, so that a row's number is the one the file shows
    padded = [[""] * width] * stream.lines_above + [record + [""] * (width - len(record)) for record in records]
    tables = sheet_tables(pd.DataFrame(padded, dtype="str"), stream.path, "", stream.options, notes)
    if not tables:
        raise InputError(f"{stream.path} has no data rows (only a header)")
    return tables


class DelimitedSource(Source):
    """A delimited text file (see :class:`_DelimitedStream`)."""

    def __init__(self, path: str, options: ReadOptions, chunk_rows: int | None) -> None:
        self.notes = IngestNotes()
        try:
            stream = _DelimitedStream(path, options, chunk_rows)
        except _WholeConversations as whole:
            tables = _conversations(whole.stream, self.notes)
            _note_encoding(self.notes, path, whole.stream.encoding)
            self.has_times = any(_has_times(table, IngestNotes()) for table in tables)
            self._tables = lambda: iter(tables)
            return
        self.has_times = stream.has_times
        if stream.outfile:
            notes_text = ("{files} is MySQL INTO OUTFILE text (a backslash before a TAB, a line break or a backslash "
                          "inside a value, \\N for NULL): read so, a record a row")
            self.notes.add(notes_text, path)
        if stream.json_quoted:
            self.notes.add("{files}: every value quoted the JavaScript way (JSON.stringify: \\\" for a quote, \\n for a line "
                           "break): read so", path)
        if stream.box_table:
            self.notes.add("{files} is a database client's table (+---+ borders, | cells): read by its columns, "
                           "NULL as empty", path)
        if stream.named_by_content:
            named = ", ".join(f"{name} = column {at}" for name, at in stream.named_by_content.items()
                              if not name.startswith("第"))
            self.notes.add(f"{{files}} has no header line: its columns are named by what they hold ({named})", path)
        elif stream.lines_above:
            self.notes.add(header_note("{files}", "", stream.lines_above + 1), path)
        _note_skipped(self.notes, path, stream.blank, stream.headers)
        _note_encoding(self.notes, path, stream.encoding)
        self._tables = stream.tables

    def tables(self) -> Iterator[RawTable]:
        """The file's rows as tables of at most ``chunk_rows`` rows."""
        return self._tables()


def _note_encoding(notes: IngestNotes, path: str, encoding: str) -> None:
    """The note for a file not read as UTF-8."""
    if encoding == "gb18030":
        notes.add("read {files} as GB18030 (GBK)", path)
    elif encoding not in ("utf-8", "utf-8-sig"):
        notes.add(f"read {{files}} as {encoding}", path)


TEXT_EXTENSIONS = (".csv", ".tsv", ".txt")
FORMAT = Format("delimited text", TEXT_EXTENSIONS, (), DelimitedSource)
