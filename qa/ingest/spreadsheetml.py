"""Excel 2003 XML (SpreadsheetML): the workbook format older ERPs (吉客云, 管易) still write, usually
named .xls. It is XML, not BIFF nor OOXML, so openpyxl and pandas refuse it; Excel opens it without
a word. Each worksheet is read like a sheet. Empty cells and rows are not written: a cell's
``ss:Index`` names its column and a row's its row number, so the columns stay in place and every
row keeps the number Excel shows. A ``ss:MergeAcross`` cell fills its first column.
"""

from __future__ import annotations

import pandas as pd

from qa.errors import InputError
from qa.ingest.build import WholeFileSource
from qa.ingest.table import Format, IngestNotes, RawTable, ReadOptions
from qa.xlsxlimits import LimitError

SPREADSHEETML_EXTENSIONS = (".xml",)
# the namespace of Excel 2003 XML workbooks: what tells one from another XML page
NAMESPACE = "urn:schemas-microsoft-com:office:spreadsheet"
_SS = "{" + NAMESPACE + "}"
# a row or column Index beyond this is no sheet of chat messages (a damaged or hostile file)
_MAX_INDEX = 1_048_576
_MAX_COLUMNS = 256


class SpreadsheetMLSource(WholeFileSource):
    """The worksheets of an Excel 2003 XML workbook that have the needed columns, sheet after sheet."""

    def __init__(self, path: str, options: ReadOptions, chunk_rows: int | None) -> None:
        notes = IngestNotes()
        super().__init__(_read_sheets(path, options, notes), notes, chunk_rows)


def _read_sheets(path: str, options: ReadOptions, notes: IngestNotes) -> list[RawTable]:
    from lxml import etree  # only for such an input: qa's start stays quick

    from qa.ingest.spreadsheet import grid_tables

    # no entities expanded, nothing fetched: a workbook is data, never instructions
    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False)
    try:
        root = etree.parse(path, parser).getroot()
    except OSError as exc:
        raise InputError(f"cannot read {path}: {exc.strerror or exc}") from None
    except etree.XMLSyntaxError as exc:
        raise InputError(f"cannot read {path}: not a readable Excel 2003 XML workbook ({exc})") from None
    sheets = root.findall(f"{_SS}Worksheet")
    if options.sheet is not None:
        sheets = [sheet for sheet in sheets if sheet.get(f"{_SS}Name") == options.sheet]
        if not sheets:
            raise InputError(f"{path} has no sheet named '{options.sheet}'")
    limit = options.excel_limits.max_sheet_cells
    grids = []
    for number, sheet in enumerate(sheets, 1):
        name = sheet.get(f"{_SS}Name") or f"Sheet{number}"
        table = sheet.find(f"{_SS}Table")
        if table is not None:
            grids.append((name, lambda table=table, name=name: _cells(table, path, name, limit)))
    read = grid_tables(path, grids, options, notes, f"{path} holds no sheet with chat messages")
    notes.add(f"{{files}} is an Excel 2003 XML workbook{' named ' + path.rsplit('.', 1)[-1] if not path.lower().endswith('.xml') else ''}: "
              "read as a workbook", path)
    return read


def _cells(table, path: str, sheet: str, max_cells: int) -> pd.DataFrame:
    """A worksheet's cells as text, placed by their ``ss:Index`` (1-based) where the file skips
    empty ones; a row not written is a blank row. A sheet whose span (its last row times its last
    column) passes ``max_cells`` is refused before the grid is made (a damaged or hostile index)."""
    rows: dict[int, dict[int, str]] = {}
    downs: list[tuple[int, int, int, str]] = []  # (row, column, rows below, value) of cells merged down
    row_at = 0
    for row in table.findall(f"{_SS}Row"):
        row_at = _index(row, row_at + 1)
        cells = rows.setdefault(row_at, {})
        column = 0
        for cell in row.findall(f"{_SS}Cell"):
            column = _index(cell, column + 1)
            if column > _MAX_COLUMNS:
                break
            data = cell.find(f"{_SS}Data")
            text = "" if data is None else "".join(data.itertext())
            cells[column] = text.replace("\r\n", "\n").strip()
            down = cell.get(f"{_SS}MergeDown")
            if down and down.isdigit() and int(down) > 0:
                downs.append((row_at, column, min(int(down), _MAX_INDEX), cells[column]))
            span = cell.get(f"{_SS}MergeAcross")
            column += int(span) if span and span.isdigit() else 0
    for top, column, below, value in downs:
        # a session's id or agent written once over its rows: each row shows it (as the .xlsx reader fills merges)
        for at in range(top + 1, min(top + below, _MAX_INDEX) + 1):
            rows.setdefault(at, {}).setdefault(column, value)
    if not rows:
        return pd.DataFrame(dtype="str")
    height = max(rows)
    width = max((max(cells) for cells in rows.values() if cells), default=0)
    if height * width > max_cells:
        raise LimitError(f"{path} (sheet '{sheet}') spans {height:,} rows × {width} columns, over --max-sheet-cells "
                         f"{max_cells:,}: refused (raise the limit if the sheet is really that large)")
    grid = [[rows.get(r, {}).get(c, "") for c in range(1, width + 1)] for r in range(1, height + 1)]
    return pd.DataFrame(grid, dtype="str")


def _index(element, default: int) -> int:
    """An element's ``ss:Index`` (where the file skipped empty ones), else the next position."""
    value = element.get(f"{_SS}Index")
    if value is None or not value.isdigit():
        return default
    return min(max(int(value), default), _MAX_INDEX)


FORMAT = Format("Excel 2003 XML", SPREADSHEETML_EXTENSIONS, (), SpreadsheetMLSource)
