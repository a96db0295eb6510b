"""Limits for Excel input, checked on the zip before calamine allocates anything.

calamine builds a dense grid for a worksheet, from A1 to the farthest cell that holds a value,
at about 32 bytes a cell in Rust (and again in Python), and it reads the shared strings whole
when the workbook opens. A 5 KB workbook with one value at XFD1048576 thus asks for 512 GiB
and aborts the process; a shared-strings part that inflates a thousandfold exhausts memory.
Neither can be caught once calamine runs, so the workbook is inspected first:

* every part calamine reads when it opens the workbook (shared strings, styles, the workbook
  and its relationships) and every worksheet that is read is inflated in a stream, counting
  its real size (the zip directory's sizes can lie), and refused above ``max_part_mb``;
* while a worksheet streams by, the cell references are scanned the way calamine places cells
  (the ``r`` attribute, or the running row and column when a cell has none), and the sheet is
  refused when ``rows x columns`` of the area from A1 to its farthest value exceeds
  ``max_sheet_cells``. The ``<dimension>`` element is not trusted: it can be absent, or
  claim a small area while a stray value sits far away (or the other way round).

Memory stays bounded: parts are read in chunks and the scan stops at the first limit crossed.
"""

from __future__ import annotations

import re
import struct
import zipfile
import zlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from qa.errors import InputError

#: A full-height sheet (1,048,576 rows) of 19 columns fits; the grid then takes ~1.3 GB.
DEFAULT_MAX_SHEET_CELLS = 20_000_000
#: Shared strings or one sheet's XML; a million-row export of ten columns is ~350 MB.
DEFAULT_MAX_PART_MB = 512

_CHUNK = 8 << 20
_LOCAL_HEADER = struct.Struct("<4s5HL2L2H")
# Parts calamine reads when it opens a workbook (compared lower-case, with '/' separators).
_OPEN_PARTS = ("xl/sharedstrings.xml", "xl/styles.xml", "xl/workbook.xml", "xl/_rels/workbook.xml.rels", "_rels/.rels")
_WORKBOOK = "xl/workbook.xml"
_WORKBOOK_RELS = "xl/_rels/workbook.xml.rels"
_RAISE_HINT = {
    "cells": "--max-sheet-cells N (qa.toml: max_sheet_cells = N)",
    "part": "--max-xlsx-part-mb N (qa.toml: max_xlsx_part_mb = N)",
}


@dataclass(frozen=True)
class ExcelLimits:
    """Bounds on what one workbook may make the reader allocate."""

    max_sheet_cells: int = DEFAULT_MAX_SHEET_CELLS
    max_part_mb: int = DEFAULT_MAX_PART_MB

    @property
    def max_part_bytes(self) -> int:
        """``max_part_mb`` in bytes."""
        return self.max_part_mb << 20


class LimitError(InputError):
    """A workbook over one of the :class:`ExcelLimits`."""


class _TooBig(Exception):
    pass


class _Restart(Exception):
    """The fast scan met cell markup it does not model; scan the part again, exactly."""


class _OverLimit(Exception):
    pass


def _column_number(letters: bytes) -> int:
    number = 0
    for byte in letters.upper():
        number = number * 26 + byte - 64
    return number


def _column_letters(number: int) -> str:
    letters = ""
    while number > 0:
        number, rest = divmod(number - 1, 26)
        letters = chr(65 + rest) + letters
    return letters or "A"


# Canonical cells, as Excel, WPS, LibreOffice, openpyxl and xlsxwriter write them: `<c r="B7" ...>`
# with the reference first. The quick scan bounds the area from the references alone (which
# is fast); only when that bound is over the limit is it computed exactly, without the
# self-closing cells, which hold no value and which calamine skips.
_QUICK_COLUMNS = re.compile(rb'<c r="([A-Za-z]+)[0-9]')
_QUICK_ROWS = re.compile(rb'<c r="[A-Za-z]+([0-9]+)"')
_EXACT_COLUMNS = re.compile(rb'<c r="([A-Za-z]+)[0-9]+"[^>]*(?<!/)>')
_EXACT_ROWS = re.compile(rb'<c r="[A-Za-z]+([0-9]+)"[^>]*(?<!/)>')
_ODD_CELL = re.compile(rb"<c[>\t\n\r]")  # a cell without a reference
_PREFIXED_CELL = re.compile(rb":c[\s>/]")
# Any row or cell tag, with a namespace prefix or not: the scan of everything else.
_TAG = re.compile(rb"<(/?)(?:[A-Za-z_][\w.\-]*:)?(row|c)(?=[\s/>])([^>]*)>")
_R_ATTR = re.compile(rb"""(?:^|\s)r\s*=\s*(?:"([^"]*)"|'([^']*)')""")
_CELL_REF = re.compile(rb"([A-Za-z]+)([0-9]+)")
QUICK, CANONICAL, TAGS = "quick", "canonical", "tags"


class _CellArea:
    """The area calamine allocates for a worksheet: A1 to the farthest cell holding a value."""

    def __init__(self, max_cells: int, mode: str = QUICK) -> None:
        self.max_cells = max_cells
        self.mode = mode
        self.rows = 0  # 1-based farthest row and column with a value
        self.columns = 0
        self._row = 0  # calamine's running position, for cells without a reference
        self._column = 0
        self._pending: list[bytes] = []

    @property
    def cells(self) -> int:
        """Cells in the area (rows x columns)."""
        return self.rows * self.columns

    def corner(self) -> str:
        """The far corner of the area, as a cell reference."""
        return f"{_column_letters(self.columns)}{self.rows}"

    def feed(self, data: bytes) -> None:
        """Scan the next piece of the part; tags cut by the piece's end wait for the next."""
        start = data.rfind(b"<")
        if start >= 0 and data.find(b">", start) < 0:
            self._scan(b"".join([*self._pending, data[:start]]))
            self._pending = [data[start:]]
        elif start >= 0 or data.find(b">") >= 0:
            self._scan(b"".join([*self._pending, data]))
            self._pending = []
        elif self._pending:  # still inside a long tag
            self._pending.append(data)
        # else: a piece of text between tags, which holds no cells

    def finish(self) -> None:
        """Scan what is left after the last piece."""
        if self._pending:
            self._scan(b"".join(self._pending))
            self._pending = []

    def _grow(self, row: int, column: int) -> None:
        if row > self.rows:
            self.rows = row
        if column > self.columns:
            self.columns = column

    def _scan(self, buffer: bytes) -> None:
        if not buffer:
            return
        if self.mode != TAGS:
            spaced = buffer.count(b"<c ")
            odd = spaced != buffer.count(b'<c r="')
            if not odd and buffer.count(b"<c") != spaced:  # other tags, such as <cols>: look closer
                odd = _ODD_CELL.search(buffer) is not None
            if odd or _PREFIXED_CELL.search(buffer):
                raise _Restart
            if self.mode == QUICK:
                columns = set(_QUICK_COLUMNS.findall(buffer))
                # (a buffer cut inside a cell tag may hold a column and no row: the row is seen elsewhere)
                if columns:
                    self._grow(max(map(int, _QUICK_ROWS.findall(buffer)), default=0), max(map(_column_number, columns)))
            else:
                columns = set(_EXACT_COLUMNS.findall(buffer))
                if columns:
                    self._grow(max(map(int, _EXACT_ROWS.findall(buffer)), default=0), max(map(_column_number, columns)))
        else:
            self._scan_tags(buffer)
        if self.cells > self.max_cells:
            raise _OverLimit

    def _scan_tags(self, buffer: bytes) -> None:
        # Mirrors calamine's cell reader: a row's r sets the running row, its end moves to the
        # next row and column A; a cell's r sets the position, else the running one is used;
        # every cell moves the running column on. Self-closing tags are a start and an end.
        for match in _TAG.finditer(buffer):
            closing, name, attributes = match.groups()
            empty = attributes.endswith(b"/")
            if name == b"row":
                if not closing:
                    found = _R_ATTR.search(attributes)
                    if found:
                        value = found.group(1) if found.group(1) is not None else found.group(2)
                        if value.isdigit():
                            self._row = int(value) - 1
                if closing or empty:
                    self._row += 1
                    self._column = 0
                continue
            if closing:
                continue
            found = _R_ATTR.search(attributes)
            row, column = self._row, self._column
            if found:
                value = found.group(1) if found.group(1) is not None else found.group(2)
                ref = _CELL_REF.fullmatch(value)
                if ref is None:
                    continue  # calamine stops with an error on such a reference
                row, column = int(ref.group(2)) - 1, _column_number(ref.group(1)) - 1
                self._column = column
            self._column += 1
            if not empty:
                self._grow(row + 1, column + 1)
                if self.cells > self.max_cells:
                    return


def _norm(name: str) -> str:
    return name.replace("\\", "/").lower()


class WorkbookLimits:
    """One workbook's zip, inspected against :class:`ExcelLimits` (see the module docstring)."""

    def __init__(self, path: str, archive: zipfile.ZipFile, limits: ExcelLimits) -> None:
        self.path = path
        self.limits = limits
        self._archive = archive
        self._parts: dict[str, list[zipfile.ZipInfo]] = {}
        for info in archive.infolist():
            self._parts.setdefault(_norm(info.filename), []).append(info)
        self._sheets: dict[str, str] = {}  # sheet name -> part name (normalized)

    def close(self) -> None:
        """Close the zip."""
        self._archive.close()

    def check_open(self) -> None:
        """Refuse the workbook when a part calamine reads on opening is over the size limit."""
        targets = self._relationship_targets()
        names = set(_OPEN_PARTS) | {t for t in targets.values() if t not in self._sheets.values()}
        for name in sorted(names):
            for info in self._parts.get(name, []):
                self._stream(info, None)

    def check_sheet(self, sheet: str) -> None:
        """Refuse ``sheet`` when its XML or its cell area is over the limits."""
        part = self._sheets.get(sheet)
        infos = self._parts.get(part, []) if part else []
        if not infos:  # not where calamine looks first: check every part it might read
            skip = set(_OPEN_PARTS)
            infos = [i for n, group in self._parts.items() if n not in skip for i in group]
        for info in infos:
            area = self._area(info, sheet)
            if area.cells > self.limits.max_sheet_cells:
                # The scan stops at the first cell over the limit: the grid is at least this big.
                raise LimitError(
                    f"{self.path}, sheet '{sheet}': values reach {area.corner()}, a grid of at least "
                    f"{area.rows:,} rows x {area.columns:,} columns ({area.cells:,} cells) from A1, over the limit "
                    f"of {self.limits.max_sheet_cells:,} cells; delete stray cells far from the data, or raise "
                    f"the limit with {_RAISE_HINT['cells']}"
                )

    # ----------------------------------------------------------------------------- internals

    def _area(self, info: zipfile.ZipInfo, sheet: str) -> _CellArea:
        """The cell area of one worksheet part; scanning stops once it is over the limit."""
        mode = QUICK
        while True:
            area = _CellArea(self.limits.max_sheet_cells, mode)
            try:
                self._stream(info, area, sheet)
                return area
            except _Restart:
                mode = TAGS
            except _OverLimit:
                if mode != QUICK:
                    return area
                mode = CANONICAL  # the quick bound is over: count exactly before refusing

    def _stream(self, info: zipfile.ZipInfo, area: _CellArea | None, sheet: str | None = None,
                keep: Callable[[bytes], None] | None = None) -> None:
        limit = self.limits.max_part_bytes
        total = 0  # counted as inflated, not taken from the zip directory, which can lie
        try:
            for piece in self._inflate(info):
                total += len(piece)
                if total > limit:
                    raise _TooBig
                if keep is not None:
                    keep(piece)
                if area is not None:
                    area.feed(piece)
            if area is not None:
                area.finish()
        except _TooBig:
            where = f", sheet '{sheet}'" if sheet else ""
            raise LimitError(
                f"{self.path}{where}: {info.filename} inflates to more than the limit of "
                f"{self.limits.max_part_mb:,} MB per part (from {info.compress_size:,} bytes compressed); "
                f"raise the limit with {_RAISE_HINT['part']}"
            ) from None

    def _inflate(self, info: zipfile.ZipInfo) -> Iterable[bytes]:
        """The part's bytes as calamine's zip reader sees them: the whole compressed stream is
        inflated, whatever size the zip directory declares."""
        if info.flag_bits & 0x1:
            return  # encrypted member: calamine refuses the workbook with its own error
        if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
            # Methods Excel never writes: Python's reader stops at the declared size, which the
            # size check above has already bounded.
            with self._archive.open(info) as stream:
                while piece := stream.read(_CHUNK):
                    yield piece
            return
        handle = self._archive.fp
        if handle is None:
            return
        handle.seek(info.header_offset)
        header = handle.read(_LOCAL_HEADER.size)
        if len(header) < _LOCAL_HEADER.size or header[:4] != b"PK\x03\x04":
            return  # calamine reports a broken zip
        name_length, extra_length = _LOCAL_HEADER.unpack(header)[-2:]
        handle.seek(info.header_offset + _LOCAL_HEADER.size + name_length + extra_length)
        remaining = info.compress_size
        inflater = zlib.decompressobj(-15) if info.compress_type == zipfile.ZIP_DEFLATED else None
        while remaining > 0:
            raw = handle.read(min(_CHUNK, remaining))
            if not raw:
                return
            remaining -= len(raw)
            if inflater is None:
                yield raw
                continue
            try:
                while raw:
                    piece = inflater.decompress(raw, _CHUNK)
                    raw = inflater.unconsumed_tail
                    if piece:
                        yield piece
                    if inflater.eof:
                        return
            except zlib.error:
                return  # corrupt stream: calamine stops there too, with an error

    def _small_part(self, name: str) -> bytes:
        chunks: list[bytes] = []
        for info in self._parts.get(name, [])[-1:]:
            self._stream(info, None, keep=chunks.append)
        return b"".join(chunks)

    def _relationship_targets(self) -> dict[str, str]:
        """Relationship id -> part (normalized), and sheet name -> part into ``_sheets``."""
        targets: dict[str, str] = {}
        rels = self._small_part(_WORKBOOK_RELS)
        for tag in re.findall(rb"<(?:[\w.\-]+:)?Relationship\s[^>]*>", rels):
            attributes = _attributes(tag)
            if "Id" in attributes and "Target" in attributes:
                targets[attributes["Id"]] = _resolve(attributes["Target"])
        book = self._small_part(_WORKBOOK)
        for tag in re.findall(rb"<(?:[\w.\-]+:)?sheet\s[^>]*>", book):
            attributes = _attributes(tag)
            rid = next((v for k, v in attributes.items() if k == "id" or k.endswith(":id")), None)
            if "name" in attributes and rid in targets:
                self._sheets[attributes["name"]] = targets[rid]
        return targets


_ATTRIBUTE = re.compile(rb"""([\w:.\-]+)\s*=\s*(?:"([^"]*)"|'([^']*)')""")
_ENTITIES = {"lt": "<", "gt": ">", "amp": "&", "quot": '"', "apos": "'"}


def _unescape(text: str) -> str:
    def one(match: re.Match[str]) -> str:
        name = match.group(1)
        if name.startswith("#x"):
            return chr(int(name[2:], 16))
        if name.startswith("#"):
            return chr(int(name[1:]))
        return _ENTITIES.get(name, match.group(0))

    try:
        return re.sub(r"&(#x[0-9A-Fa-f]+|#[0-9]+|\w+);", one, text)
    except (ValueError, OverflowError):
        return text


def _attributes(tag: bytes) -> dict[str, str]:
    found = {}
    for key, double, single in _ATTRIBUTE.findall(tag):
        value = double if double or not single else single
        found[key.decode("utf-8", "replace")] = _unescape(value.decode("utf-8", "replace"))
    return found


def _resolve(target: str) -> str:
    # calamine's rule: "/xl/a.xml" and "xl/a.xml" as they are, anything else under "xl/".
    target = target.replace("\\", "/")
    if target.startswith("/"):
        target = target[1:]
    elif not target.lower().startswith("xl/"):
        target = "xl/" + target
    return _norm(target)


def open_checked(path: str, limits: ExcelLimits) -> WorkbookLimits | None:
    """Inspect the workbook at ``path`` before calamine opens it: raises :class:`InputError`
    when a part read on opening is over the limits; returns the inspector for
    :meth:`WorkbookLimits.check_sheet`, or None when the file is not a zip at all (an
    encrypted or corrupt workbook, which calamine reports in its own words)."""
    try:
        archive = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError, ValueError, EOFError):
        return None
    checker = WorkbookLimits(path, archive, limits)
    try:
        checker.check_open()
    except BaseException:
        checker.close()
        raise
    return checker
