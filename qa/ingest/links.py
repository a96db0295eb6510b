"""Ids that an .xlsx keeps only in its cells' hyperlinks (飞鸽's 会话 column shows 查看会话 on every row; the
session id is the conversationId of the link behind it).

Read only when a column shows one short text without digits on every row below its header, the face of a
link: the workbook's XML is opened for that sheet's hyperlinks, and each linked cell takes the id its link
names (a query parameter ending in id, else the link's longest run of digits).
"""

from __future__ import annotations

import re
import zipfile
from posixpath import dirname, join, normpath
from urllib.parse import parse_qsl, urlsplit

import pandas as pd

from qa.ingest.header import field_of

_MAIN = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
_REL = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}"
_PKG = "{http://schemas.openxmlformats.org/package/2006/relationships}"
_CELL_REF = re.compile(r"^([A-Z]{1,3})(\d+)$")
_DIGITS = re.compile(r"\d{6,}")
# how many rows below the header show the link text before the links are looked for
_SAMPLE_ROWS = 30
_LINK_TEXT_MAX = 8


def link_text_column(cells: pd.DataFrame) -> int | None:
    """The session column (named so in its first cell) whose cells below, among the first rows, all show
    one short text without a digit (查看会话, 详情, View): the face of a link, or None. Only a session
    column is looked at: a column of one value (消息类型 文本, a shop's name) is common, reading a big
    sheet's links is not free."""
    head = cells.iloc[:_SAMPLE_ROWS]
    for at in range(head.shape[1]):
        values = [str(v).strip() for v in head.iloc[:, at].tolist() if str(v).strip()]
        if not values or field_of(values[0]) != "session_id":
            continue
        body = values[1:]
        if (len(body) >= 3 and len(set(body)) == 1 and len(body[0]) <= _LINK_TEXT_MAX
                and not any(ch.isdigit() for ch in body[0])):
            return at
    return None


def ids_from_links(path: str, sheet: str, cells: pd.DataFrame, at: int) -> tuple[pd.DataFrame, int]:
    """``cells`` with column ``at`` holding the id of each cell's hyperlink (the cell's text kept where
    it has none), and how many cells took one. Any failure to read the links leaves ``cells`` as is."""
    from xml.etree import ElementTree  # (here: only workbooks with linked ids read their links)

    column = _column_letters(at)
    found = {}
    try:
        for ref, url in _sheet_links(path, sheet).items():
            parts = _CELL_REF.match(ref)
            if parts and parts.group(1) == column:
                found[int(parts.group(2)) - 1] = _id_of(url)
    except (OSError, KeyError, ValueError, StopIteration, zipfile.BadZipFile, ElementTree.ParseError):
        return cells, 0  # a workbook whose links cannot be read keeps its cells' text
    found = {row: value for row, value in found.items() if value and 0 <= row < len(cells)}
    if not found:
        return cells, 0
    out = cells.copy()
    rows = list(found)
    out.iloc[rows, at] = [found[row] for row in rows]
    return out, len(rows)


def _sheet_links(path: str, sheet: str) -> dict[str, str]:
    """{cell reference: link target} of the sheet named ``sheet`` (ranges give each of their cells)."""
    from xml.etree import ElementTree

    with zipfile.ZipFile(path) as book:
        workbook = ElementTree.fromstring(book.read("xl/workbook.xml"))
        rel_id = next(s.get(f"{_REL}id") for s in workbook.iter(f"{_MAIN}sheet") if s.get("name") == sheet)
        rels = ElementTree.fromstring(book.read("xl/_rels/workbook.xml.rels"))
        target = next(r.get("Target") for r in rels.iter(f"{_PKG}Relationship") if r.get("Id") == rel_id)
        sheet_path = normpath(target.lstrip("/") if target.startswith("/") else join("xl", target))
        sheet_rels = join(dirname(sheet_path), "_rels", sheet_path.rsplit("/", 1)[-1] + ".rels")
        if sheet_rels not in book.namelist():
            return {}
        targets = {r.get("Id"): r.get("Target") or "" for r in
                   ElementTree.fromstring(book.read(sheet_rels)).iter(f"{_PKG}Relationship")}
        links: dict[str, str] = {}
        with book.open(sheet_path) as handle:
            for _, element in ElementTree.iterparse(handle):
                if element.tag == f"{_MAIN}hyperlink":
                    url = targets.get(element.get(f"{_REL}id"), "")
                    for ref in _cells_of(element.get("ref") or ""):
                        links[ref] = url
                elif element.tag == f"{_MAIN}row":
                    element.clear()  # a big sheet's rows are not kept
    return links


def _cells_of(ref: str) -> list[str]:
    """The cell references of ``A2`` or of a one-column range ``A2:A5`` (openpyxl, which reads them, is a
    test dependency only: the few lines are here)."""
    if ":" not in ref:
        return [ref]
    first, last = ref.split(":", 1)
    a, b = _CELL_REF.match(first), _CELL_REF.match(last)
    if not a or not b or a.group(1) != b.group(1):
        return [first]
    return [f"{a.group(1)}{row}" for row in range(int(a.group(2)), int(b.group(2)) + 1)]


def _column_letters(at: int) -> str:
    """Excel's letters of the 0-based column ``at`` (0 → A, 26 → AA)."""
    letters = ""
    at += 1
    while at:
        at, rest = divmod(at - 1, 26)
        letters = chr(ord("A") + rest) + letters
    return letters


def _id_of(url: str) -> str:
    """The id a link names: a query parameter whose name ends in id (conversationId=…), else its longest
    run of six or more digits."""
    parts = urlsplit(url)
    for key, value in parse_qsl(parts.query):
        if key.lower().endswith("id") and key.lower() not in ("shopid", "sellerid", "storeid", "userid") and value:
            return value
    runs = _DIGITS.findall(url)
    return max(runs, key=len) if runs else ""
