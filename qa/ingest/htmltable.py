"""HTML tables (.html, .htm, and the many web consoles' "Excel" exports that are an HTML page named
.xls): each table of the page is read like a sheet, a ``<tr>`` a row (title and separator rows
spanning the table count as rows, as the page shows them), decoded with the charset the page declares
(its ``<meta>``; see :func:`page_text`) and parsed by lxml."""

from __future__ import annotations

import codecs
import re

import pandas as pd

from qa.errors import InputError
from qa.ingest.build import WholeFileSource
from qa.ingest.encoding import UNICODE_BOMS, detect_encoding
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
    errors: list[str] = []
    for page_name, content, charset in pages:
        try:
            page = html.document_fromstring(_XML_DECLARATION.sub("", page_text(path, content, options.encoding or charset), count=1))
        except (etree.ParserError, ValueError) as exc:
            # an archive's empty frame or ad slot beside the chat page is passed over
            errors.append(f"{page_name or 'the page'}: {exc}")
            continue
        tables = [table for table in page.iter("table") if not any(True for _ in table.iterancestors("table"))]
        prefix = f"{page_name} " if page_name else ""
        grids += [(f"{prefix}table {number}", lambda table=table: _cells(table)) for number, table in enumerate(tables, 1)]
    if errors and len(errors) == len(pages):
        raise InputError(f"cannot read {path}: not a readable HTML page ({errors[0]})")
    return grid_tables(path, grids, options, notes, f"{path} holds no table with chat messages")


# The charset labels Chinese pages and archives give code page 936 text (IE and Chinese Excel write
# gb2312 for it), whose bytes Python's gb2312 and gbk codecs do not all read: GB18030 reads them all.
_CP936_LABELS = frozenset({"gb2312", "gb_2312", "gb_2312-80", "csgb2312", "iso-ir-58", "csiso58gb231280", "chinese",
                           "gbk", "x-gbk", "cp936", "ms936", "windows-936", "euc-cn", "x-euc-cn"})
_OTHER_LABELS = {"big5": "big5hkscs", "cn-big5": "big5hkscs", "csbig5": "big5hkscs", "x-x-big5": "big5hkscs",
                 "unicode": "utf-16", "x-unicode": "utf-16"}
_META_CHARSET = re.compile(rb"""<meta[^>]{0,200}?charset\s*=\s*["']?\s*([A-Za-z0-9_.:-]+)""", re.IGNORECASE)
_XML_DECLARATION = re.compile(r"^\s*<\?xml[^>]*\?>")


def page_text(path: str, content: bytes, charset: str | None = None) -> str:
    """An HTML page's text: decoded by its byte-order mark, else the ``charset`` its archive gives,
    else the one its ``<meta>`` declares (code page 936 labels read as GB18030), else as a delimited
    file's encoding is found (:func:`qa.ingest.encoding.detect_encoding`: UTF-8, GB18030 or Big5); a
    byte its charset cannot read becomes U+FFFD, so a row is never cut short."""
    encoding = None
    if not content.startswith(UNICODE_BOMS):
        if not charset:
            declared = _META_CHARSET.search(content[:8192])
            charset = declared.group(1).decode("ascii") if declared else None
        encoding = _codec(charset)
    return content.decode(encoding or detect_encoding(path, content, None, final=True), "replace")


def _codec(label: str | None) -> str | None:
    """The Python codec of a charset label, or None for no label or one Python does not know."""
    if not label:
        return None
    name = label.strip().strip("\"'").lower()
    if name in _CP936_LABELS:
        return "gb18030"
    name = _OTHER_LABELS.get(name, name)
    try:
        return codecs.lookup(name).name
    except LookupError:
        return None


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
