"""The fast row writer: detail rows built as XML in one pass instead of xlsxwriter's per-cell calls.

This is the one module that relies on xlsxwriter internals: :class:`BulkSheet` overrides the
private ``Worksheet._write_rows`` and :class:`Cells` uses the shared-string table, the cell
table and a format's xf index. It was written for the xlsxwriter versions in
:data:`XLSXWRITER_VERSIONS` (a test pins the installed version to that range); when an
internal is missing, :class:`Cells` falls back to the public ``write_string`` /
``write_rich_string`` / ``write_number``.
"""

from __future__ import annotations

import functools
import re
import shutil
import sys
import tempfile
import zipfile
from dataclasses import dataclass
from io import StringIO
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import xlsxwriter
from xlsxwriter.packager import Packager
from xlsxwriter.sharedstrings import SharedStrings
from xlsxwriter.utility import xl_col_to_name
from xlsxwriter.worksheet import Worksheet

#: xlsxwriter versions this module's use of internals was written and tested for: [from, to).
XLSXWRITER_VERSIONS = ((3, 1), (4, 0))


# ---------------------------------------------------------------------------------------
# The workbook: a faster shared-string table writer

# What xlsxwriter's per-string escaping changes besides & < >: a literal "_xHHHH_", a control
# character, U+FFFE or U+FFFF. A string holding none of them is written the same way by the
# short path of :meth:`_FastSharedStrings._write_sst_strings`.
_SPECIAL = re.compile(r"_x[0-9a-fA-F]{4}_|[\x00-\x08\x0b-\x1f\ufffe\uffff]")
_SST_BATCH = 4096
_XML_ROWS = 10_000  # bulk rows turned into text and written at a time


class _FastSharedStrings(SharedStrings):
    """xlsxwriter's sharedStrings.xml writer with the same output, without its three regular
    expressions and attribute list per string (about 10 us each: a second at 100,000
    distinct texts). Strings that need control-character escaping take xlsxwriter's own path."""

    def _write_sst_strings(self) -> None:
        strings = self.string_table.string_array
        special = _SPECIAL.search
        # One search over each batch joined ("\n" is not special and breaks every pattern).
        any_special = any(special("\n".join(strings[i : i + _SST_BATCH])) for i in range(0, len(strings), _SST_BATCH))
        out: list[str] = []
        for string in strings:
            if any_special and special(string):
                self.fh.write("".join(out))
                out.clear()
                self._write_si(string)
                continue
            if string.startswith("<r>") and string.endswith("</r>"):
                out.append(f"<si>{string}</si>")
                continue
            # The whitespace test is xlsxwriter's ^\s|\s$ (\s is str.isspace; $ also matches
            # before a final newline, which is itself whitespace).
            preserve = string[:1].isspace() or string[-1:].isspace()
            if "&" in string or "<" in string or ">" in string:
                string = string.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
            out.append(f'<si><t xml:space="preserve">{string}</t></si>' if preserve else f"<si><t>{string}</t></si>")
            if len(out) >= _SST_BATCH:
                self.fh.write("".join(out))
                out.clear()
        self.fh.write("".join(out))


class _FastPackager(Packager):
    def _write_shared_strings_file(self) -> None:
        # xlsxwriter's own method with the faster string writer.
        sst = _FastSharedStrings()
        sst.string_table = self.workbook.str_table
        if not self.workbook.str_table.count:
            return
        sst._set_xml_writer(self._filename("xl/sharedStrings.xml"))
        sst._assemble_xml_file()


class Book(xlsxwriter.Workbook):
    """An xlsxwriter workbook whose shared strings are written faster (same XML) and whose
    zip is compressed at :attr:`compresslevel` (the cells are the same at any level)."""

    #: zlib level of the parts in the zip: xlsxwriter leaves zipfile's default (6), which
    #: spends about three times as long as level 1 for a file about a quarter smaller.
    compresslevel = 1

    def _get_packager(self) -> Packager:
        return _FastPackager()

    def _store_workbook(self) -> None:
        # xlsxwriter opens the zip itself, as ``ZipFile`` of its workbook module, with no
        # level; that name is pointed at a ZipFile with our level while this workbook is stored.
        module = sys.modules[xlsxwriter.Workbook.__module__]
        plain = getattr(module, "ZipFile", None)
        if plain is not zipfile.ZipFile:
            super()._store_workbook()
            return
        module.ZipFile = functools.partial(zipfile.ZipFile, compresslevel=self.compresslevel)
        try:
            super()._store_workbook()
        finally:
            module.ZipFile = plain


# ---------------------------------------------------------------------------------------
# Cells: rich text and bulk rows


class Later:
    """A column's values made only when its cells are written (``make()``: the list of
    ``rows`` values). :meth:`Cells.rows` writes a sheet a column at a time, left to right,
    so each column's Python strings exist only while its own XML is built instead of every
    column's at once (the Findings sheet's 200,000 rows: ~10 columns of strings). The
    shared strings are met in the same order: the same bytes."""

    def __init__(self, rows: int, make: Any) -> None:
        self.rows = rows
        self.make = make

    def __len__(self) -> int:
        return self.rows


def column_values(column: Any) -> list:
    """The values of a :class:`Column` (made now when they are :class:`Later`)."""
    values = column.values
    return values.make() if isinstance(values, Later) else values


@dataclass
class Column:
    """One prepared column of a detail table.

    ``kind`` is "text" (str, "" = blank), "number" (float or None = blank) or "marked"
    (``(text, span_start, span_end)``: the span is shown red and bold inside the cell).
    ``fmt`` is one Format or a list with one per row; ``whole_fmt`` is used for a "marked"
    cell whose whole text is the match (a rich string needs two runs or more).
    """

    values: list | Later
    kind: str
    fmt: Any
    whole_fmt: Any = None
    style_blanks: bool = False  # blank cells still get ``fmt`` (shaded rows, banners)


class BulkSheet(Worksheet):
    """A worksheet that also takes many rows as prebuilt XML, after its ordinary cells.

    xlsxwriter spends about 5 us per cell (a Python call to store it, another to write its
    XML); detail sheets of 100,000 rows would take many seconds. :class:`Cells` builds their
    rows' XML directly (shared strings still go through the workbook's string table).
    """

    def __init__(self) -> None:
        super().__init__()
        # The bulk rows' XML, kept in a temporary file (in the workbook's tmpdir) until the
        # sheet is written when the workbook closes: held in memory, the detail sheets' rows
        # added up to ~360 MB at 10M messages, on top of the next sheet's peak.
        self.bulk_file: Any = None
        self.bulk_first_row = 1 << 30

    def add_bulk_rows(self, xml: pa.Array) -> None:
        """Keep rows' XML (one string per row, in row order) for :meth:`_write_rows`."""
        if self.bulk_file is None:
            self.bulk_file = tempfile.TemporaryFile("w+", encoding="utf-8", newline="", dir=self.tmpdir)
        # Arrow arrays of row XML, joined into text a slice at a time: the whole sheet's
        # rows as Python strings would cost twice its XML again.
        for start in range(0, len(xml), _XML_ROWS):
            self.bulk_file.write("".join(xml.slice(start, _XML_ROWS).to_pylist()))

    def _write_rows(self) -> None:
        if self.bulk_file is None:
            super()._write_rows()
            return
        # Ordinary cells (header, notes) come first; the bulk rows all follow them.
        saved = self.dim_rowmax
        filled = [row for row, cells in self.table.items() if cells]
        if filled and max(filled) >= self.bulk_first_row:
            raise AssertionError(f"{self.name}: a cell was written below the bulk rows")  # a bug in the workbook writer
        self.dim_rowmax = max(filled) if filled else (self.dim_rowmin or 0) - 1
        try:
            super()._write_rows()
        finally:
            self.dim_rowmax = saved
        bulk, self.bulk_file = self.bulk_file, None
        try:
            bulk.seek(0)
            shutil.copyfileobj(bulk, self.fh, 1 << 20)
        finally:
            bulk.close()


class Cells:
    """Writes text (never as a formula), highlighted fragments and bulk rows.

    The fast paths use xlsxwriter internals (the shared-string table, the cell table, a
    format's xf index, :class:`BulkSheet`); when any is missing, everything goes through
    the public ``write_string`` / ``write_rich_string`` / ``write_number`` instead. The
    tests open the workbook with openpyxl either way.
    """

    def __init__(self, workbook: xlsxwriter.Workbook, highlight: Any, plain: Any, probe_sheet: Any) -> None:
        self.highlight = highlight
        self.plain = plain
        self.fast = False
        try:
            from xlsxwriter.format import Format
            from xlsxwriter.worksheet import CellRichStringTuple
            from xlsxwriter.xmlwriter import XMLwriter

            self._tuple = CellRichStringTuple
            self._highlight_font = self._font_xml(probe_sheet, highlight, XMLwriter)
            self._default_font = self._font_xml(probe_sheet, Format(), XMLwriter)
            self._strings = workbook.str_table
            self._string_index = workbook.str_table._get_shared_string_index
            highlight._get_xf_index  # noqa: B018 - present in every xlsxwriter 3.x
            self.fast = (
                not workbook.constant_memory
                and isinstance(probe_sheet, BulkSheet)
                and isinstance(probe_sheet.table, dict)
                and callable(getattr(probe_sheet, "_check_dimensions", None))
            )
        except (ImportError, AttributeError, TypeError):
            self.fast = False

    @staticmethod
    def _font_xml(sheet: Any, cell_format: Any, writer_class: Any) -> str:
        writer = writer_class()
        handle = StringIO()
        writer._set_filehandle(handle)
        saved = getattr(sheet, "rstring", None)
        sheet.rstring = writer
        try:
            sheet._write_font(cell_format)
        finally:
            sheet.rstring = saved
        return handle.getvalue()

    # -- shared-string keys ----------------------------------------------------------------

    @staticmethod
    def _t(text: str) -> str:
        # Only & < > here: control characters are escaped once, later, by the string table.
        if "&" in text or "<" in text or ">" in text:
            text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
        if text[:1].isspace() or text[-1:].isspace():
            return f'<t xml:space="preserve">{text}</t>'
        return f"<t>{text}</t>"

    def rich_key(self, before: str, match: str, after: str) -> str:
        """Shared-string XML of ``before`` + highlighted ``match`` + ``after``."""
        return (
            (f"<r>{self._t(before)}</r>" if before else "")
            + f"<r>{self._highlight_font}{self._t(match)}</r>"
            + (f"<r>{self._default_font}{self._t(after)}</r>" if after else "")
        )

    def text_key(self, text: str) -> str:
        """Shared-string key of a plain text. xlsxwriter writes any string that looks like
        ``<r>...</r>`` unescaped, as rich-text XML; such text is stored as one escaped run."""
        if text.startswith("<r>") and text.endswith("</r>"):
            return f"<r>{self._t(text)}</r>"
        return text

    # -- single cells ----------------------------------------------------------------------

    def text(self, sheet: Any, row: int, col: int, value: str, cell_format: Any = None) -> None:
        """A text cell (``write_string``: never a formula or a link); "" writes nothing."""
        if not value:
            return
        if value.startswith("<r>") and value.endswith("</r>"):
            if self.fast:
                self._store(sheet, row, col, self.text_key(value), cell_format, value)
            else:
                parts = [value[:1], self.plain, value[1:]]
                sheet.write_rich_string(row, col, *parts, *([cell_format] if cell_format is not None else []))
            return
        sheet.write_string(row, col, value, cell_format)

    def marked(
        self, sheet: Any, row: int, col: int, text: str, start: int, end: int, cell_format: Any, whole_format: Any
    ) -> None:
        """A text cell with ``text[start:end]`` red and bold (plain when the span is unusable)."""
        if not text:
            return
        if not 0 <= start < end <= len(text):
            self.text(sheet, row, col, text, cell_format)
        elif start == 0 and end == len(text):
            self.text(sheet, row, col, text, whole_format)
        elif self.fast:
            self._store(sheet, row, col, self.rich_key(text[:start], text[start:end], text[end:]), cell_format, text)
        else:
            parts: list[Any] = [text[:start]] if start else []
            parts += [self.highlight, text[start:end]]
            if end < len(text):
                parts.append(text[end:])
            sheet.write_rich_string(row, col, *parts, *([cell_format] if cell_format is not None else []))

    def _store(self, sheet: Any, row: int, col: int, key: str, cell_format: Any, raw: str) -> None:
        if sheet._check_dimensions(row, col):
            return
        sheet.table[row][col] = self._tuple(self._string_index(key), cell_format, raw)

    # -- bulk rows -------------------------------------------------------------------------

    def rows(
        self, sheet: Any, first_row: int, columns: list[Column], heights: list[float | None] | None = None
    ) -> None:
        """Write the columns as rows ``first_row``... (0-based) below every ordinary cell
        already written on ``sheet``; nothing may be written below them afterwards.
        ``heights`` sets row heights (points; None keeps the default)."""
        n = max((len(c.values) for c in columns), default=0)
        if n == 0:
            return
        if not (self.fast and isinstance(sheet, BulkSheet)):
            self.write_cells(sheet, first_row, columns, heights)
            return
        # The XML is assembled column-wise with pyarrow string kernels: one Python step per
        # distinct string (its shared-string index) or per highlighted message, not per cell.
        numbers = pc.cast(pa.array(np.arange(first_row + 1, first_row + 1 + n, dtype="int64")), pa.string())
        cells = [self._column_xml(xl_col_to_name(col), numbers, column) for col, column in enumerate(columns)]
        plain_start = pc.binary_join_element_wise('<row r="', numbers, '">', "")
        if heights and any(heights):
            height_text = pc.cast(pa.array(heights, type=pa.float64()), pa.string())
            tall_start = pc.binary_join_element_wise('<row r="', numbers, '" ht="', height_text, '" customHeight="1">', "")
            starts = pc.if_else(pc.is_null(height_text), plain_start, tall_start)
        else:
            starts = plain_start
        xml = pc.binary_join_element_wise(starts, *cells, "</row>", "")
        del cells, starts, plain_start  # the cells' XML, joined into rows now
        sheet.add_bulk_rows(xml)
        sheet.bulk_first_row = min(sheet.bulk_first_row, first_row)
        sheet._check_dimensions(first_row, 0)
        sheet._check_dimensions(first_row + n - 1, len(columns) - 1)

    @staticmethod
    def _xf_list(fmt: Any, n: int) -> list[int]:
        if isinstance(fmt, list):
            cache: dict[int, int] = {}
            out = []
            for item in fmt:
                key = id(item)
                if key not in cache:
                    cache[key] = item._get_xf_index() if item is not None else 0
                out.append(cache[key])
            return out
        return [fmt._get_xf_index() if fmt is not None else 0] * n

    def _xf_text(self, fmt: Any, n: int) -> Any:
        """xf indexes as a string array (one format per row) or one string scalar."""
        if isinstance(fmt, list):
            return pc.cast(pa.array(self._xf_list(fmt, n), type=pa.int64()), pa.string())
        return str(fmt._get_xf_index() if fmt is not None else 0)

    def _shared_indexes(self, keys: list[str | None]) -> pa.Array:
        """Shared-string indexes (strings; null where the key is None), one lookup per
        distinct key; the table's reference count still counts every cell."""
        encoded = pa.array(keys, type=pa.string()).dictionary_encode()
        distinct = encoded.dictionary.to_pylist()
        indexes = pa.array([self._string_index(key) for key in distinct], type=pa.int64())
        valid = len(keys) - encoded.indices.null_count
        self._strings.count += valid - len(distinct)
        return pc.cast(pc.take(indexes, encoded.indices), pa.string())

    def _column_xml(self, letter: str, numbers: pa.Array, column: Column) -> pa.Array:
        """The column's cells as XML strings ("" for a blank cell)."""
        n = len(numbers)
        values = column_values(column)
        ref = pc.binary_join_element_wise(letter, numbers, "")
        xf = self._xf_text(column.fmt, n)
        if column.kind == "number":
            numbers_text = pc.cast(pa.array(values, type=pa.float64()), pa.string())
            cells = pc.binary_join_element_wise('<c r="', ref, '" s="', xf, '"><v>', numbers_text, "</v></c>", "")
        elif column.kind == "text":
            text_key = self.text_key
            keys = [(text_key(v) if v.startswith("<r>") else v) if v else None for v in values]
            indexes = self._shared_indexes(keys)
            cells = pc.binary_join_element_wise('<c r="', ref, '" s="', xf, '" t="s"><v>', indexes, "</v></c>", "")
        else:  # marked: (text, start, end)
            rich_key, text_key = self.rich_key, self.text_key
            whole_xfs = self._xf_list(column.whole_fmt if column.whole_fmt is not None else column.fmt, n)
            xfs = self._xf_list(column.fmt, n)
            keys: list[str | None] = []
            for i, (text, start, end) in enumerate(values):
                if not text:
                    keys.append(None)
                elif not 0 <= start < end <= len(text):
                    keys.append(text_key(text))
                elif start == 0 and end == len(text):
                    keys.append(text_key(text))
                    xfs[i] = whole_xfs[i]
                else:
                    keys.append(rich_key(text[:start], text[start:end], text[end:]))
            xf = pc.cast(pa.array(xfs, type=pa.int64()), pa.string())
            indexes = pa.array(
                [None if key is None else self._string_index(key) for key in keys], type=pa.int64()
            )
            cells = pc.binary_join_element_wise(
                '<c r="', ref, '" s="', xf, '" t="s"><v>', pc.cast(indexes, pa.string()), "</v></c>", ""
            )
        if column.style_blanks:
            blank = pc.binary_join_element_wise('<c r="', ref, '" s="', xf, '"/>', "")
        else:
            blank = pa.scalar("", pa.string())
        return pc.if_else(pc.is_null(cells), blank, cells)

    def write_cells(
        self, sheet: Any, first_row: int, columns: list[Column], heights: list[float | None] | None = None
    ) -> None:
        """The same as :meth:`rows` through xlsxwriter's public per-cell calls."""
        for i, height in enumerate(heights or []):
            if height:
                sheet.set_row(first_row + i, height)
        for col, column in enumerate(columns):
            per_row = isinstance(column.fmt, list)
            wholes = column.whole_fmt if column.whole_fmt is not None else column.fmt
            for i, value in enumerate(column_values(column)):
                fmt = column.fmt[i] if per_row else column.fmt
                row = first_row + i
                if column.style_blanks and fmt is not None:
                    sheet.write_blank(row, col, None, fmt)
                if column.kind == "number":
                    if value is not None:
                        sheet.write_number(row, col, value, fmt)
                elif column.kind == "text":
                    self.text(sheet, row, col, value, fmt)
                else:
                    whole = wholes[i] if isinstance(wholes, list) else wholes
                    self.marked(sheet, row, col, value[0], value[1], value[2], fmt, whole)
