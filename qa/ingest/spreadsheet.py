"""Spreadsheets (.xlsx, .xlsm, .xls, .ods) read through calamine, after the size checks of
:mod:`qa.xlsxlimits` (zip-based workbooks; a legacy .xls is one OLE file calamine reads as is).

A sheet is read whole (a sheet holds at most ~1M rows) and then cut into chunks."""

from __future__ import annotations

import os
import re
import sys
import tempfile
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import replace

import numpy as np
import pandas as pd

from qa.errors import InputError
from qa.ingest.build import WholeFileSource, columns_from_head
from qa.ingest.columns import AmbiguousColumns, ColumnMap
from qa.ingest.columnsets import column_sets
from qa.ingest.header import SCAN_ROWS, Header, at_row, field_of, find_header, header_note
from qa.ingest.headings import block_headings
from qa.ingest.links import ids_from_links, link_text_column
from qa.ingest.roles import _ROLE_WORDS, ROLE_SAMPLE_ROWS, SHEET_ROLE
from qa.ingest.staffdir import staff_directory
from qa.ingest.table import Format, IngestNotes, RawTable, ReadOptions, _blank_mask
from qa.ingest.transcript import exploded, message_columns_joined, pairs_exploded, transcript_at, turn_pairs_at
from qa.model import empty_rejected
from qa.xlsxlimits import LimitError, WorkbookLimits, open_checked

SPREADSHEET_EXTENSIONS = (".xlsx", ".xlsm", ".xls", ".ods")


class SpreadsheetSource(WholeFileSource):
    """A workbook's data sheets (``--sheet``, or every sheet with the needed columns: an export
    may hold one sheet per agent or per day), sheet after sheet."""

    def __init__(self, path: str, options: ReadOptions, chunk_rows: int | None) -> None:
        notes = IngestNotes()
        super().__init__(_read_excel(path, options, notes), notes, chunk_rows)


FORMAT = Format(
    "spreadsheet",
    SPREADSHEET_EXTENSIONS,
    (b"PK\x03\x04", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"),  # zip (xlsx, ods), OLE (xls)
    SpreadsheetSource,
)


# The very hidden sheet every qa workbook carries (qa.review.DATA_SHEET; not imported, to keep
# the reader free of the report code).
_QA_DATA_SHEET = "qa_data"


def _read_excel(path: str, options: ReadOptions, notes: IngestNotes) -> list[RawTable]:
    limits = open_checked(path, options.excel_limits)  # before calamine allocates anything
    try:
        return _read_workbook(path, options, notes, limits)
    finally:
        if limits is not None:
            limits.close()


def _read_workbook(
    path: str, options: ReadOptions, notes: IngestNotes, limits: WorkbookLimits | None
) -> list[RawTable]:
    try:
        with _calamine(f"cannot read {path}: not a readable Excel workbook"):
            book = pd.ExcelFile(path, engine="calamine")
    except InputError:
        if _encrypted(path):
            raise InputError(f"cannot read {path}: the workbook is password-protected (encrypted); open it in Excel "
                             "and save a copy without a password") from None
        raise
    with book:
        names = [str(n) for n in book.sheet_names]
        if options.sheet is not None:
            if options.sheet not in names:
                raise InputError(f"no sheet '{options.sheet}' in {path}; sheets: {', '.join(names)}")
            tables = _read_sheet(book, path, options.sheet, options, limits, notes)
            if not tables:
                raise InputError(f"sheet '{options.sheet}' of {path} is empty")
            return [_checked_sheet(table, path, options.sheet) for table in tables]
        if _QA_DATA_SHEET in names:
            raise InputError(f"{path}: this is a qa report; audit the original export")
        errors: list[InputError] = []
        unread: list[str] = []
        read: list[RawTable] = []
        header_only: list[str] = []
        directory: tuple[tuple[str, str, str], ...] = ()
        # a data platform's field dictionary beside the data (字段说明: sender_type 发送方类型 … 1-客服；2-买家)
        # explains a role column of codes
        read_cells: dict[str, tuple[pd.DataFrame, int]] = {}  # each sheet is read to cells once

        def cells_of(name: str) -> tuple[pd.DataFrame, int]:
            if name not in read_cells:
                read_cells[name] = _sheet_cells(book, path, name, limits)
            return read_cells[name]

        dictionary = _dictionary_lines(names, cells_of)
        for name in names:
            cells = None
            try:
                cells, merged = cells_of(name)
                try:
                    tables = sheet_tables(cells, path, name, options, notes, merged, dictionary)
                except InputError as exc:
                    # an export split by sender (买家消息, 客服消息, 系统消息): the sheet says who wrote;
                    # a sheet per session (智齿): the session's id stands in the block above the header
                    missing = str(exc)
                    completed = (_role_from_sheet_name(cells, name, options) if "missing column for role" in missing
                                 else _session_from_block(cells, options) if "missing column for session_id" in missing
                                 else None)
                    if completed is None:
                        raise
                    cells, why = completed
                    tables = sheet_tables(cells, path, name, options, notes, merged, dictionary)
                    notes.add(f"{{files}} (sheet '{name}'): {why}", path)
            except LimitError:
                raise  # never skipped for the next sheet: it may be the one with the data
            except InputError as exc:
                if cells is None:
                    # the sheet itself cannot be read (damaged): never skipped as if it had no chat in it
                    raise
                errors.append(exc)  # (what the run says when no sheet holds chat, the directory's too)
                listed = () if directory else staff_directory(cells)
                if listed:
                    directory = listed
                    shown = ", ".join(f"{account} = {who}" + (" (system)" if role == "system" else "")
                                      for account, who, role in listed[:4]) + (" …" if len(listed) > 4 else "")
                    notes.add(f"sheet '{name}' of {{files}} read as the staff directory: {shown}", path)
                    continue
                unread.append(name)
                continue
            if any(len(table.cells) for table in tables):
                read.extend(table for table in tables if len(table.cells))
            elif tables:
                header_only.append(name)
        if not read and header_only:
            raise InputError(f"{path} has no data rows (only a header) in sheet '{header_only[0]}'")
        if read:
            if len(names) > 1:
                listed = ", ".join(f"'{table.sheet}'" for table in read)
                notes.add(f"read sheet{'s' if len(read) > 1 else ''} {listed} of {{files}}", path)
            for skipped in unread:  # sheets without chat columns
                what = "the field dictionary, no chat" if dictionary and _FIELDS_SHEET.search(skipped) else \
                    "no chat columns (a cover sheet?)"
                notes.add(f"sheet '{skipped}' of {{files}} skipped: {what}", path)
            for skipped in header_only:
                notes.add(f"sheet '{skipped}' of {{files}} skipped: a header without rows", path)
            if len(read) > 1:  # row numbers repeat from sheet to sheet: rejected rows name theirs
                for table in read:
                    table.label = f"{path} (sheet '{table.sheet}')"
            if directory:
                for table in read:
                    table.columns = replace(table.columns, staff_directory=directory)
            return read
    if not errors:
        raise InputError(f"{path} is empty")
    if len(names) == 1:
        raise errors[0]
    raise InputError(
        f"{errors[0]} (no sheet has the needed columns; sheets: {', '.join(names)}; use --sheet NAME)"
    )


# A band row naming the shop of the block below it (E店宝 多店铺导出: 店铺：棉小暖天猫旗舰店｜平台：天猫｜…).
_SHOP_BAND = re.compile(r"^\s*(?:店铺|店铺名称|店名|门店|所属店铺)\s*[:：]\s*([^｜|,，;；\s]+)")
_SHOP_BAND_START = re.compile(r"^\s*(?:店铺|店铺名称|店名|门店|所属店铺)\s*[:：]\s*[^｜|,，;；\s]")
_BAND_HEADER = "所属店铺"


def _shop_bands(cells: pd.DataFrame, blank: np.ndarray, header_at: int) -> tuple[pd.DataFrame, np.ndarray] | None:
    """``cells`` with a column giving each row the shop of the band row above it, and the band rows; None
    when no row below the header holds only a first cell naming a shop. Session numbers restart in each
    shop's block, so the shop scopes them."""
    if cells.shape[1] < 2:
        return None
    first = cells.iloc[:, 0]
    candidates = np.flatnonzero(first.str.contains(_SHOP_BAND_START).to_numpy(dtype=bool, na_value=False))
    candidates = candidates[candidates > header_at]
    if not len(candidates):
        return None
    rest = cells.iloc[candidates, 1:].to_numpy(dtype=str)
    alone = (np.char.strip(rest) == "").all(axis=1)
    bands = candidates[alone]
    if not len(bands):
        return None
    band_rows = np.zeros(len(cells), dtype=bool)
    band_rows[bands] = True
    shops = pd.Series(None, index=cells.index, dtype=object)
    shops.iloc[bands] = first.iloc[bands].str.extract(_SHOP_BAND)[0].to_numpy()
    return _with_column(cells, header_at, _BAND_HEADER, shops.ffill().fillna("")), band_rows


# A sheet named after the party whose messages it holds (买家消息, 客服消息, 系统消息; roles.SHEET_ROLE) gets
# a role column of this name.
_ADDED_ROLE_HEADER = "发送方"


def _role_from_sheet_name(cells: pd.DataFrame, sheet: str, options: ReadOptions) -> tuple[pd.DataFrame, str] | None:
    """``cells`` with a role column added from the sheet's name, and the note saying so; None when
    the name names no party. A row whose cells hold a role word of their own (回复类型 机器人 /
    自动回复 on the agents' sheet) takes that word instead."""
    found = SHEET_ROLE.match(sheet)
    if not found:
        return None
    header = find_header(cells.iloc[:SCAN_ROWS].values.tolist(), options.columns)
    if header is None:
        return None
    word = found.group(1)
    role = pd.Series(word, index=cells.index, dtype=object)
    if _ROLE_WORDS.get(word) in ("agent", "customer"):
        system_words = [w for w, r in _ROLE_WORDS.items() if r == "system"]
        for at in range(cells.shape[1]):
            values = cells.iloc[:, at].str.strip()
            said = values.isin(system_words)
            if said.any():
                role = role.where(~said, values)
    return (_with_column(cells, header.index, _ADDED_ROLE_HEADER, role),
            "no role column: the sheet's name says who wrote its rows (a role word in a row, 机器人/自动回复, still tells)")


# The session's id in an information block above the header (会话ID： 49aa…, 会话编号: S1).
_BLOCK_SESSION = re.compile(r"^\s*(?:会话|对话|咨询|工单)\s*(?:ID|id|编号|号|单号)\s*[:：]?\s*(.*?)\s*$")


def _session_from_block(cells: pd.DataFrame, options: ReadOptions) -> tuple[pd.DataFrame, str] | None:
    """``cells`` with a session column holding the id that a block above the header names (a sheet
    per session: 会话ID： in A1, its value beside it or after the colon), and the note saying so;
    None when no such block stands above the header."""
    header = find_header(cells.iloc[:SCAN_ROWS].values.tolist(), options.columns)
    if header is None or header.index == 0:
        return None
    for row in cells.iloc[: header.index].values.tolist():
        for at, cell in enumerate(row):
            found = _BLOCK_SESSION.match(str(cell))
            if not found:
                continue
            value = found.group(1) or next((str(v).strip() for v in row[at + 1:] if str(v).strip()), "")
            if value:
                column = pd.Series(value, index=cells.index, dtype=object)
                return (_with_column(cells, header.index, _ADDED_SESSION_HEADER, column),
                        f"no session column: the block above the header names the session ('{value}')")
    return None


_ADDED_SESSION_HEADER = "会话ID"


def _with_column(cells: pd.DataFrame, header_at: int, name: str, values: pd.Series) -> pd.DataFrame:
    """``cells`` with one more column: ``name`` on the header row, ``values`` on the non-blank rows below."""
    blank = _blank_mask(cells)
    column = values.astype(object).copy()
    column[: header_at] = ""
    column[header_at] = name
    column[blank] = ""
    added = cells.copy()
    added[cells.shape[1]] = column.astype(str)
    return added


_DICTIONARY_SHEET = re.compile(r"字段说明|字段解释|字段含义|字段定义|数据字典|说明|(?:data\s*)?dictionary|schema|fields",
                               re.IGNORECASE)
# …of which a sheet is called the field dictionary in the notes only when named for the fields: 导出说明 or 使用说明
# may hold a legend too (read above), but is a cover sheet to the reader
_FIELDS_SHEET = re.compile(r"字段|数据字典|代码说明|^\s*说明\s*$|dictionary|schema|fields", re.IGNORECASE)


def _dictionary_lines(names: Sequence[str], cells_of: Callable[[str], tuple[pd.DataFrame, int]]) -> list[str]:
    """The rows of the workbook's field dictionary sheets (named 字段说明, 数据字典 …; ``cells_of`` reads a sheet)
    as lines of text (their cells joined by spaces); a sheet that cannot be read, or too big to be a
    dictionary, gives none."""
    lines: list[str] = []
    for name in names:
        if not _DICTIONARY_SHEET.search(name):
            continue
        try:
            cells, _ = cells_of(name)
        except (InputError, LimitError):
            continue
        if len(cells) <= 500:
            lines += [" ".join(str(cell).strip() for cell in row if str(cell).strip()) for row in cells.values.tolist()]
    return lines


def _checked_sheet(table: RawTable, path: str, sheet: str) -> RawTable:
    if not len(table.cells):
        raise InputError(f"{path} has no data rows (only a header) in sheet '{sheet}'")
    return table


def _read_sheet(
    book: pd.ExcelFile, path: str, sheet: str, options: ReadOptions, limits: WorkbookLimits | None,
    notes: IngestNotes | None = None,
) -> list[RawTable]:
    """Read one sheet (its tables: one, or one per column set of exports joined); none when it has no cells. The header is found by
    :func:`qa.ingest.header.find_header` (or ``--header-row``); its note goes to ``notes``; the
    workbook's field dictionary sheets may explain its role codes."""
    notes = notes if notes is not None else IngestNotes()
    cells, merged = _sheet_cells(book, path, sheet, limits)
    dictionary = _dictionary_lines([name for name in book.sheet_names if name != sheet],
                                   lambda name: _sheet_cells(book, path, name, limits))
    return sheet_tables(cells, path, sheet, options, notes, merged, dictionary)


def _sheet_cells(book: pd.ExcelFile, path: str, sheet: str,
                 limits: WorkbookLimits | None) -> tuple[pd.DataFrame, int]:
    """A sheet's cells as strings, as Excel shows them (merged cells filled), and how many merges were
    filled. header=None keeps leading and inner blank rows, so index + 1 is the row Excel shows."""
    if limits is not None:
        limits.check_sheet(sheet)
    with _calamine(f"cannot read sheet '{sheet}' of {path}"):
        frame = pd.read_excel(book, sheet_name=sheet, header=None, dtype=object)
        frame, merged = merges_filled(book, sheet, frame)
    return (frame.map(_excel_cell_text).astype("str") if len(frame) else frame), merged


def grid_tables(path: str, grids, options: ReadOptions, notes: IngestNotes, nothing: str) -> list[RawTable]:
    """The tables of a file of several grids (an HTML page's tables, an XML workbook's sheets): each
    ``(name, cells)`` of ``grids`` read by :func:`sheet_tables` (``cells`` a function making its cells,
    so a grid over the limits is refused before it is made); a grid without the needed columns is
    passed over, the first one's error raised when none has them (``nothing`` when none failed). With
    several, rejected rows name their grid (row numbers repeat)."""
    read: list[RawTable] = []
    errors: list[InputError] = []
    for name, cells in grids:
        try:
            found = sheet_tables(cells(), path, name, options, notes)
        except LimitError:
            raise
        except InputError as exc:
            errors.append(exc)
            continue
        read.extend(table for table in found if len(table.cells))
    if not read:
        if errors:
            raise errors[0]
        raise InputError(nothing)
    if len(read) > 1:
        for table in read:
            table.label = f"{path} ({table.sheet})"
    return read


def sheet_tables(cells: pd.DataFrame, path: str, sheet: str, options: ReadOptions, notes: IngestNotes,
                 merged: int = 0, dictionary: Sequence[str] = ()) -> list[RawTable]:
    """A sheet's cells (as text, one row per row the sheet shows: index + 1 is its row number) as the
    reader's table: the header found, the columns mapped, blank rows dropped; none when it has no
    cells, one per column set when two exports of other columns were joined into it."""
    if not len(cells):
        return []
    blank = _blank_mask(cells)
    if blank.all():
        return []
    linked_at = link_text_column(cells) if path.lower().endswith((".xlsx", ".xlsm")) else None
    if linked_at is not None:
        cells, linked = ids_from_links(path, sheet, cells, linked_at)
        if linked:
            notes.add(f"{{files}} (sheet '{sheet}'): {linked} cell(s) showing a link's text read as the id in "
                      "their link (会话: 查看会话 → conversationId)", path)
    split = _fields_in_one_column(cells, blank)
    if split is not None:
        cells, delimiter, width = split
        notes.add(f"{{files}} (sheet '{sheet}'): every row is one cell of '{delimiter}'-separated fields (a text export "
                  f"saved as a workbook): read as {width} columns, the last one taking any further '{delimiter}'", path)
    # The header is the row naming most known columns among the first ones (title rows, a
    # merged title, a group row of a two-level header sit above it); see qa.ingest.header.
    top = cells.iloc[:SCAN_ROWS].values.tolist()
    if options.header_row is not None:
        if options.header_row > len(cells) or blank[options.header_row - 1]:
            raise InputError(f"--header-row {options.header_row}: row {options.header_row} of {path} "
                             f"(sheet '{sheet}') is blank or beyond its {len(cells)} rows")
        found = at_row(cells.iloc[: options.header_row].values.tolist(), options.header_row - 1)
    else:
        found = find_header(top, options.columns)
    header_at = found.index
    joined = message_columns_joined(cells, header_at, found.names) if "text" not in options.columns else None
    if joined is not None:
        cells, names = joined
        found = Header(found.index, names, found.fields)
        blank = _blank_mask(cells)
        notes.add(f"{{files}} (sheet '{sheet}'): a session a row, a message a column (消息1, 消息2…): read as "
                  "the session's messages in order", path)
    head = cells.iloc[header_at + 1 : header_at + 1 + ROLE_SAMPLE_ROWS].values.tolist()
    fields = {field_of(name) for name in found.names if name}
    if "text" not in options.columns and "text" not in fields:
        at = transcript_at(found.names, head)
        if at is not None:
            return [_transcript_table(cells, blank, header_at, found.names, at, path, sheet, options, notes)]
        pairs = turn_pairs_at(found.names) if not set(options.columns) & {"role", "sender"} else None
        if pairs is not None:
            return [_pairs_table(cells, blank, header_at, found.names, pairs, path, sheet, options, notes)]
    elif not ({"role", "sender", "agent_flag"} & (fields | set(options.columns))):
        # a text column and nothing telling who wrote: a helpdesk turn per row, its messages as 顾客：… lines
        at = transcript_at(found.names, head, roles_only=True)
        if at is not None:
            return [_transcript_table(cells, blank, header_at, found.names, at, path, sheet, options, notes)]
    not_messages = np.zeros(len(cells), dtype=bool)
    names = found.names
    blocks = block_headings(cells, blank, header_at, names) if "session_id" not in options.columns else None
    if blocks is not None:
        cells, not_messages, names = blocks.cells, blocks.not_messages, blocks.names
        notes.add(f"{{files}} (sheet '{sheet}'): a transcript in blocks: {blocks.count} heading lines (会话：…) give "
                  "the rows below them their conversation and its date", path)
    bands = _shop_bands(cells, blank, header_at) if blocks is None else None
    if bands is not None:
        cells, band_rows = bands
        not_messages = not_messages | band_rows
        names = [*names, *[""] * (cells.shape[1] - 1 - len(names)), _BAND_HEADER]
        notes.add(f"{{files}} (sheet '{sheet}'): {int(band_rows.sum())} band row(s) naming a shop (店铺：…) above "
                  "blocks of rows: a session is its number within its shop", path)
    sample = cells.iloc[header_at + 1 : header_at + 1 + ROLE_SAMPLE_ROWS][~not_messages[header_at + 1 : header_at + 1 + ROLE_SAMPLE_ROWS]].values.tolist()
    above = " ".join(" ".join(row) for row in cells.iloc[:header_at].values.tolist())
    where = f"{path} (sheet '{sheet}')" if sheet else path  # (a text file read as a grid has no sheet)
    skip = blank | not_messages
    try:
        sets = [(columns_from_head(names, options.columns, where, above, sample, dictionary), ~skip)]
    except AmbiguousColumns as error:
        # two exports of other columns joined (pd.concat): each read by the columns it fills
        found_sets = column_sets(cells, header_at, names, skip, error.names) if error.field not in options.columns else None
        if found_sets is None:
            raise
        sets = [(columns_from_head(set_names, options.columns, where, above,
                                   cells[own].iloc[:ROLE_SAMPLE_ROWS].values.tolist(), dictionary), own & ~skip)
                for set_names, own in found_sets]
        spans = "; ".join(_set_span(set_columns, own, error.field) for set_columns, own in sets)
        notes.add(f"{{files}}{'' if not sheet else f' (sheet {sheet!r})'}: two exports of different columns joined "
                  f"into one ({spans}): each row read by its own export's columns", path)
    if bands is not None:
        sets = [(replace(columns, positions={**columns.positions, "session_scope": cells.shape[1] - 1})
                 if columns.has("session_id") and not columns.has("session_scope") else columns, keep)
                for columns, keep in sets]
    note = header_note(path, sheet, header_at + 1)
    if note:
        notes.add(note.replace(path, "{files}", 1), path)
    if merged:
        notes.add(f"{{files}} (sheet '{sheet}'): {merged} cell(s) of merges over several rows read as the "
                  "merge's value (a session's id written once over its rows)", path)
    tables = []
    for columns, keep in sets:
        keep = keep.copy()
        keep[: header_at + 1] = False
        data = cells[keep].reset_index(drop=True)
        data.columns = range(data.shape[1])
        rows = np.flatnonzero(keep).astype(np.int64) + 1
        tables.append(RawTable(path, sheet, columns, data, rows, empty_rejected()))
    return tables


def _set_span(columns: ColumnMap, rows: np.ndarray, field: str) -> str:
    """Where a column set of a joined table is: its column of ``field`` and its first and last row."""
    at = np.flatnonzero(rows)
    return f"'{columns.label(field)}' on rows {at[0] + 1}–{at[-1] + 1}" if len(at) else f"'{columns.label(field)}'"


# Delimiters a text export is split on when Excel kept each line in one cell: 竖线, tab, semicolon, comma.
_ONE_CELL_DELIMITERS = ("|", "\t", ";", ",")


def _fields_in_one_column(cells: pd.DataFrame, blank: np.ndarray) -> tuple[pd.DataFrame, str, int] | None:
    """The cells split into columns when the sheet holds everything in its first column and the header
    found there splits on a delimiter into three or more named fields (旺店通's 竖线 txt opened in Excel
    and saved as .xlsx); the last field takes the rest of each row (a message with a | in it). None
    when the sheet has columns of its own."""
    if cells.shape[1] < 1:
        return None
    if cells.shape[1] > 1:
        # the top rows first: a sheet with columns of its own is told there without a pass over all its cells
        others = cells.iloc[:SCAN_ROWS, 1:].to_numpy(dtype=str)
        if (np.char.strip(others) != "").any() or (np.char.strip(cells.iloc[:, 1:].to_numpy(dtype=str)) != "").any():
            return None
    column = cells.iloc[:, 0]
    top = column[~blank][:SCAN_ROWS].tolist()
    for delimiter in _ONE_CELL_DELIMITERS:
        for line in top:
            fields = [part.strip() for part in line.split(delimiter)]
            if len(fields) < 3 or not all(fields):
                continue
            if sum(1 for name in fields if field_of(name)) < 3:
                continue
            width = len(fields)
            parts = column.str.split(delimiter, n=width - 1, regex=False, expand=True)
            parts = parts.reindex(columns=range(width)).fillna("")
            parts.columns = range(width)
            return parts.astype(str), delimiter, width
    return None


def _transcript_table(cells: pd.DataFrame, blank: np.ndarray, header_at: int, names: list[str], at: int, path: str,
                      sheet: str, options: ReadOptions, notes: IngestNotes) -> RawTable:
    """A session list whose ``at`` column holds each conversation whole, as a table of its messages
    (see :mod:`qa.ingest.transcript`); every message keeps its session's row number."""
    return _messages_table(cells, blank, header_at, lambda data, rows: exploded(data, rows, names, at), path, sheet,
                           options, notes, f"one row per conversation (or turn), its messages in '{names[at]}': each "
                           "message read as a row of its own (its row number the conversation's)")


def _pairs_table(cells: pd.DataFrame, blank: np.ndarray, header_at: int, names: list[str], at: dict[str, int],
                 path: str, sheet: str, options: ReadOptions, notes: IngestNotes) -> RawTable:
    """A table of question-and-answer rows (see :func:`qa.ingest.transcript.pairs_exploded`) as a table of
    its messages; both messages of a row keep its row number."""
    return _messages_table(cells, blank, header_at, lambda data, rows: pairs_exploded(data, rows, names, at), path,
                           sheet, options, notes,
                           f"a question and its answer per row ('{names[at['ask_text']]}' the customer's, "
                           f"'{names[at['answer_text']]}' the reply, each at its own time): each read as a message of "
                           "its own (its row number the row's)")


def _messages_table(cells: pd.DataFrame, blank: np.ndarray, header_at: int, explode: Callable, path: str, sheet: str,
                    options: ReadOptions, notes: IngestNotes, how: str) -> RawTable:
    """The data rows below the header made into message rows by ``explode`` (data, row numbers -> cells,
    each message's row number, names), with their columns and the note ``how`` they were read."""
    keep = ~blank
    keep[: header_at + 1] = False
    data, rows, message_names = explode(cells[keep].reset_index(drop=True), np.flatnonzero(keep) + 1)
    where = f"{path} (sheet '{sheet}')" if sheet else path
    columns = columns_from_head(message_names, options.columns, where, "", data.iloc[:ROLE_SAMPLE_ROWS].values.tolist())
    notes.add(f"{{files}}{f' (sheet {sheet!r})' if sheet else ''}: {how}", path)
    return RawTable(path, sheet, columns, data, rows, empty_rejected())


def merges_filled(book: pd.ExcelFile, sheet: str, frame: pd.DataFrame) -> tuple[pd.DataFrame, int]:
    """``frame`` with every cell of a merge spanning several rows holding the merge's value, as
    Excel shows it: a BI report writes a session's id and agent once, merged over the session's
    rows, and only the first row of the merge holds the value in the file. Merges within one row
    (a title over the columns, a group header) are left as they are."""
    workbook = getattr(book, "book", None)
    try:
        ranges = workbook.get_sheet_by_name(sheet).merged_cell_ranges or []
    except Exception:  # a reader without merge information (some .xls/.ods): cells as stored
        return frame, 0
    tall = [(top, bottom) for top, bottom in ranges if bottom[0] > top[0]]
    if not tall:
        return frame, 0
    values = frame.to_numpy(dtype=object, copy=True)
    rows, columns = values.shape
    filled = 0
    for (first_row, first_column), (last_row, last_column) in tall:
        if first_row >= rows or first_column >= columns:
            continue
        value = values[first_row, first_column]
        if pd.isna(value):
            continue
        block = values[first_row : last_row + 1, first_column : last_column + 1]
        empty = pd.isna(block)
        block[empty] = value
        filled += int(empty.sum())
    return pd.DataFrame(values, index=frame.index, columns=frame.columns), filled


@contextmanager
def _calamine(failure: str) -> Iterator[None]:
    """Turn every failure of calamine into one line starting with ``failure``, a Rust panic
    included: pyo3 raises those as PanicException, a BaseException that ``except Exception``
    misses, after Rust's panic hook has printed a backtrace on stderr, which is held back."""
    with _native_stderr_held() as drop:
        try:
            yield
        except Exception as exc:  # calamine raises its own error types for corrupt files
            raise InputError(f"{failure} ({_first_line(exc)})") from None
        except BaseException as exc:
            if type(exc).__name__ != "PanicException":
                raise  # KeyboardInterrupt, SystemExit
            drop()
            raise InputError(f"{failure} (the Excel reader failed: {_first_line(exc)})") from None


# An encrypted Office file is an OLE2 container holding an EncryptedPackage stream (its name in UTF-16)
_OLE2 = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_ENCRYPTED_PACKAGE = "EncryptedPackage".encode("utf-16-le")


def _encrypted(path: str) -> bool:
    """Is ``path`` a password-protected Office workbook (asked only of a file the reader refused)?"""
    try:
        with open(path, "rb") as handle:
            head = handle.read(4 << 20)
    except OSError:
        return False
    return head.startswith(_OLE2) and _ENCRYPTED_PACKAGE in head


@contextmanager
def _native_stderr_held() -> Iterator[Callable[[], None]]:
    """Divert what native code writes to file descriptor 2 during the block; it is written
    out afterwards, unless the block calls the function it was given."""
    try:
        sys.stderr.flush()
        saved = os.dup(2)
    except (OSError, ValueError, AttributeError):  # no usable stderr: nothing to hold
        yield lambda: None
        return
    dropped = False

    def drop() -> None:
        nonlocal dropped
        dropped = True

    with tempfile.TemporaryFile() as held:
        os.dup2(held.fileno(), 2)
        try:
            yield drop
        finally:
            try:
                sys.stderr.flush()
            except (OSError, ValueError):
                pass
            os.dup2(saved, 2)
            os.close(saved)
            if not dropped:
                held.seek(0)
                while piece := held.read(1 << 16):
                    os.write(2, piece)


def _excel_cell_text(value: object) -> str:
    """A cell as the text a user sees: 12345 not 12345.0, dates in ISO form."""
    if value is None or value is pd.NaT or (isinstance(value, float) and np.isnan(value)):
        return ""
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, pd.Timestamp):
        return value.isoformat(sep=" ")
    if hasattr(value, "isoformat") and not isinstance(value, str):
        try:
            return value.isoformat(sep=" ")  # datetime
        except TypeError:
            return value.isoformat()  # date, time
    return str(value)


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
