"""HTML tables (.html, .htm, and the many web consoles' "Excel" exports that are an HTML page named
.xls): each table of the page is read like a sheet, a ``<tr>`` a row (title and separator rows
spanning the table count as rows, as the page shows them), parsed by lxml with the charset the page
declares (its ``<meta>``)."""

from __future__ import annotations

import pandas as pd

from qa.errors import InputError
from qa.ingest.build import WholeFileSource
from qa.ingest.table import Format, IngestNotes, RawTable, ReadOptions

HTML_EXTENSIONS = (".html", ".htm")


class HtmlTableSource(WholeFileSource):
    """The tables of an HTML page that have the needed columns, table after table."""

    def __init__(self, path: str, options: ReadOptions, chunk_rows: int | None) -> None:
        notes = IngestNotes()
        super().__init__(self.read_tables(path, options, notes), notes, chunk_rows)

    def read_tables(self, path: str, options: ReadOptions, notes: IngestNotes) -> list[RawTable]:
        """The file's tables with the needed columns (a subclass reads another kind of page file)."""
        return _read_tables(path, options, notes)


def _read_tables(path: str, options: ReadOptions, notes: IngestNotes) -> list[RawTable]:
    try:
        with open(path, "rb") as handle:
            content = handle.read()
    except OSError as exc:
        raise InputError(f"cannot read {path}: {exc.strerror or exc}") from None
    read = page_tables(path, [("", content, None)], options, notes)
    notes.add(f"{{files}} is an HTML page{' named ' + path.rsplit('.', 1)[-1] if not path.lower().endswith(HTML_EXTENSIONS) else ''}: "
              f"read its table{'s' if len(read) > 1 else ''} as a sheet", path)
    return read


def page_tables(path: str, pages: list[tuple[str, bytes, str | None]], options: ReadOptions,
                notes: IngestNotes) -> list[RawTable]:
    """The tables of the HTML ``pages`` of ``path`` (each ``(name, content, charset)``: a page of
    an archive is named, its charset given by the archive or else declared by the page) that
    have the needed columns; a table nested in another is part of it."""
    from lxml import etree, html  # only for an HTML input: qa's start stays quick

    from qa.ingest.spreadsheet import grid_tables

    grids = []
    for page_name, content, charset in pages:
        try:
            parser = html.HTMLParser(encoding=charset) if charset else None
            page = html.document_fromstring(content, parser=parser)
        except LookupError:
            page = html.document_fromstring(content)  # a charset lxml does not know: the page's own
        except (etree.ParserError, ValueError) as exc:
            raise InputError(f"cannot read {path}: not a readable HTML page ({exc})") from None
        tables = [table for table in page.iter("table") if not any(True for _ in table.iterancestors("table"))]
        prefix = f"{page_name} " if page_name else ""
        grids += [(f"{prefix}table {number}", lambda table=table: _cells(table)) for number, table in enumerate(tables, 1)]
    return grid_tables(path, grids, options, notes, f"{path} holds no table with chat messages")


def _cells(table) -> pd.DataFrame:
    """A table's rows as text cells: a cell spanning columns fills the first (the others blank), a
    ``<br>`` is a line break, non-breaking spaces are spaces; a nested table's rows are not its rows."""
    rows: list[list[str]] = []
    for row in table.iter("tr"):
        if next(row.iterancestors("table")) is not table:
            continue
        cells: list[str] = []
        for cell in row:
            if cell.tag not in ("td", "th"):
                continue
            for br in cell.iter("br"):
                br.tail = "\n" + (br.tail or "")
            text = "\n".join(line.strip() for line in cell.text_content().replace("\xa0", " ").split("\n")).strip()
            span = cell.get("colspan") or "1"
            cells += [text] + [""] * (max(1, min(int(span) if span.isdigit() else 1, 256)) - 1)
        rows.append(cells)
    width = max((len(row) for row in rows), default=0)
    return pd.DataFrame([row + [""] * (width - len(row)) for row in rows], dtype="str")


FORMAT = Format("HTML table", HTML_EXTENSIONS, (), HtmlTableSource)
