"""Helpers for the review, suppression and history tests: run the CLI, edit a real workbook
the way a trainer does (openpyxl), read sheets back."""

from __future__ import annotations

import json
from pathlib import Path

import openpyxl
from helpers import run

# Seven sessions: forbidden-phrase in S1, S2 (the same text), S5 (longer text) and S6
# (traditional characters); ignored-complaint in S3; slow-reply in S4; a veto (abuse) in S7, whose
# message is also a rhetorical question and leaves the impatient customer unsoothed.
CHAT = """session_id,timestamp,role,agent,text
S1,2026-11-20 10:00:00,customer,,这个能便宜点吗
S1,2026-11-20 10:00:30,agent,小美,爱买不买
S2,2026-11-20 11:00:00,customer,,还能再便宜吗
S2,2026-11-20 11:00:20,agent,小美,爱买不买
S3,2026-11-20 12:00:00,customer,,我要投诉你们
S3,2026-11-20 12:00:30,agent,阿杰,嗯
S4,2026-11-20 13:00:00,customer,,在吗
S4,2026-11-20 13:07:00,agent,阿杰,亲，在的呢，请问有什么可以帮您
S5,2026-11-20 14:00:00,customer,,发票怎么开
S5,2026-11-20 14:00:30,agent,阿杰,爱买不买，发票找平台去
S6,2026-11-20 15:00:00,customer,,手机号13812345678能改吗
S6,2026-11-20 15:00:30,agent,小美,愛買不買
S7,2026-11-20 16:00:00,customer,,到底什么时候发货
S7,2026-11-20 16:00:30,agent,阿杰,你有病吧
"""


def audit(folder: Path, text: str = CHAT, name: str = "day", *extra) -> tuple[Path, dict]:
    """Audit ``text`` written as ``folder/name.csv``; returns (workbook, JSON result)."""
    source = folder / f"{name}.csv"
    source.write_text(text, encoding="utf-8")
    book, js = folder / f"{name}-qa.xlsx", folder / f"{name}-qa.json"
    result = run("audit", source, "-o", book, "--json", js, *extra)
    assert result.exit_code == 0, result.output
    return book, json.loads(js.read_text(encoding="utf-8"))


def findings_of(data: dict, **match) -> list[dict]:
    return [f for f in data["findings"] if all(f.get(k) == v for k, v in match.items())]


def table(sheet, first_header: str, scan: int = 10) -> tuple[int, dict[str, int]]:
    """(header row, column index by header) of the first table among the sheet's first
    ``scan`` rows whose header starts with ``first_header``."""
    for row in sheet.iter_rows(min_row=1, max_row=scan):
        if row[0].value == first_header:
            return row[0].row, {c.value: c.column for c in row if c.value}
    raise AssertionError(f"no header {first_header!r} in {sheet.title}")


def rows_as_dicts(path: Path, sheet_name: str, first_header: str, scan: int = 10) -> list[dict]:
    sheet = openpyxl.load_workbook(path)[sheet_name]
    top, columns = table(sheet, first_header, scan)
    out = []
    for row in sheet.iter_rows(min_row=top + 1, values_only=True):
        if any(v is not None for v in row):
            out.append({name: row[col - 1] for name, col in columns.items()})
    return out


def review_in_excel(
    path: Path,
    verdicts: dict[str, tuple[str, str]],
    *,
    lang: str = "zh",
    reverse_rows: bool = False,
    who: str | None = None,
    save_as: Path | None = None,
) -> Path:
    """Set Review / Comment cells of the findings with the given ids, as a trainer would; with
    ``reverse_rows`` the data rows are first put in reverse order (as a sort in Excel does)."""
    book = openpyxl.load_workbook(path, rich_text=True)
    sheet = book["违规明细" if lang == "zh" else "Findings"]
    top, columns = table(sheet, "时间" if lang == "zh" else "Time")
    id_col = columns["编号" if lang == "zh" else "ID"]
    review_col = columns["复核" if lang == "zh" else "Review"]
    comment_col = columns["备注" if lang == "zh" else "Comment"]
    if reverse_rows:
        values = [[c.value for c in row] for row in sheet.iter_rows(min_row=top + 1)]
        for offset, row_values in enumerate(reversed(values)):
            for col, value in enumerate(row_values, start=1):
                sheet.cell(top + 1 + offset, col).value = value
    for row in sheet.iter_rows(min_row=top + 1):
        finding = row[id_col - 1].value
        if finding in verdicts:
            word, comment = verdicts[finding]
            row[review_col - 1].value = word
            row[comment_col - 1].value = comment or None
    if who is not None:
        book.properties.lastModifiedBy = who
    target = save_as or path
    book.save(target)
    return target


def read_qa_data(book) -> tuple[dict, list[dict]]:
    """(header, runs) of an openpyxl workbook's hidden ``qa_data`` sheet."""
    import base64
    import zlib

    sheet = book["qa_data"]
    cells = [row[0] for row in sheet.iter_rows(min_col=1, max_col=1, values_only=True) if row[0]]
    header = json.loads(cells[0])
    runs = json.loads(zlib.decompress(base64.b64decode("".join(cells[1:]))).decode("utf-8"))["runs"]
    return header, runs


def write_qa_data(book, cells: list[str]) -> None:
    """Replace the ``qa_data`` sheet's column A with ``cells`` (as a script editing it would)."""
    sheet = book["qa_data"]
    for row in range(1, sheet.max_row + 1):
        sheet.cell(row, 1).value = None
    for row, value in enumerate(cells, start=1):
        sheet.cell(row, 1).value = value
