"""CSV written by qa (qa.report.csvfile): no row out of a bare carriage return, no formula
cell, ids that join with the JSON exactly, session ids that keep their leading zeros."""

from __future__ import annotations

import csv
import json
import re
from pathlib import Path

import openpyxl
import pandas as pd
import pytest
from review_helpers import run

from qa.report.csvfile import csv_fields, defuse, write_csv

ATTACK = "在吗\r=cmd|' /C calc'!A0"
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
PLAIN_NUMBER = re.compile(r"[+-][0-9]+(\.[0-9]+)?")


def runs_as_formula(cell: str) -> bool:
    """Whether a spreadsheet would run this cell (a plain signed number is read as a number)."""
    return cell.startswith(FORMULA_START) and not PLAIN_NUMBER.fullmatch(cell)


def write_chat(path: Path, rows: list[list[str]]) -> Path:
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["session_id", "timestamp", "role", "agent", "text"])
        writer.writerows(rows)
    return path


def read_csv_rows(path: Path) -> list[list[str]]:
    with path.open(encoding="utf-8-sig", newline="") as handle:
        return list(csv.reader(handle))


@pytest.fixture(scope="module")
def hostile(tmp_path_factory):
    """An audit of chat text with bare CRs before formulas, a session id with leading zeros
    and one that looks like a formula; (csv rows, json, workbook path)."""
    folder = tmp_path_factory.mktemp("hostile")
    source = write_chat(folder / "day.csv", [
        ["00123", "2026-11-20 10:00:00", "customer", "", ATTACK],
        ["00123", "2026-11-20 10:00:30", "agent", "小美", "爱买不买" + "\r=cmd|' /C calc'!A0"],
        ["=S2", "2026-11-20 11:00:00", "customer", "", "+1"],
        ["=S2", "2026-11-20 11:00:30", "agent", "@小美", "爱买不买\r@SUM(1+1)\r-2+3\r\t=1"],
    ])
    book, js, table = folder / "day.xlsx", folder / "day.json", folder / "day-findings.csv"
    result = run("audit", source, "-o", book, "--json", js, "--findings-csv", table, "--lang", "en")
    assert result.exit_code == 0, result.output
    return read_csv_rows(table), json.loads(js.read_text(encoding="utf-8")), book


def test_bare_carriage_return_makes_no_row_and_no_formula_cell(hostile):
    rows, data, _ = hostile
    header, body = rows[0], rows[1:]
    assert len(body) == len(data["findings"]) == 2
    assert all(len(row) == len(header) for row in body)
    assert not any(runs_as_formula(cell) for row in rows for cell in row)
    by_name = [dict(zip(header, row)) for row in body]
    # The CR stays inside its field: the whole message comes back, nothing spills into a cell.
    assert by_name[0]["context"] == ATTACK
    assert by_name[0]["text"] == "爱买不买\r=cmd|' /C calc'!A0"


def test_ids_and_plain_values_round_trip_exactly_and_join_with_the_json(hostile):
    rows, data, _ = hostile
    header, body = rows[0], rows[1:]
    records = [dict(zip(header, row)) for row in body]
    assert [r["id"] for r in records] == [f["id"] for f in data["findings"]]  # never defused
    assert [r["rule"] for r in records] == [f["rule"] for f in data["findings"]]
    assert [int(r["row"]) for r in records] == [f["row"] for f in data["findings"]]
    assert records[0]["session_id"] == "00123"
    assert records[1]["context"] == "+1"  # a plain number is data, not a formula
    # A session id that would run as a formula is defused like any other text.
    assert records[1]["session_id"] == "'=S2" and records[1]["agent"] == "'@小美"


def test_text_columns_are_quoted_so_leading_zeros_survive_quoted_as_text(hostile):
    _, _, book = hostile
    text = (book.parent / "day-findings.csv").read_text(encoding="utf-8-sig")
    line = text.split("\n")[1]
    assert ',"00123",' in line  # quoted: LibreOffice's "format quoted field as text" keeps 00123
    assert ',"forbidden-phrase","major",' in line or ',"forbidden-phrase","critical",' in line


def test_workbook_keeps_session_ids_as_text_cells(hostile):
    _, _, book = hostile
    workbook = openpyxl.load_workbook(book)
    found = []
    for sheet in workbook.worksheets:
        for row in sheet.iter_rows():
            for cell in row:
                if cell.value in ("00123", 123):
                    found.append((sheet.title, cell.data_type, cell.value))
    assert found, "the session id is shown somewhere"
    assert all(kind == "s" and value == "00123" for _, kind, value in found), found


def test_helper_quotes_cr_lf_delimiter_and_quote_fields_and_defuses_formulas(tmp_path):
    values = ["plain", "a\rb", "a\nb", "a,b", 'say "hi"', "=1+1", "+cmd", "-2+3", "@x", "\tx", "\rx", "-12", "+1.5",
              "00123", None, 7]
    table = pd.DataFrame({"value": pd.Series(values, dtype="object"), "n": range(len(values))})
    path = tmp_path / "t.csv"
    write_csv(path, table)
    with path.open(encoding="utf-8-sig", newline="") as handle:
        rows = list(csv.reader(handle))
    assert rows[0] == ["value", "n"] and len(rows) == len(values) + 1
    got = [row[0] for row in rows[1:]]
    assert got[:5] == ["plain", "a\rb", "a\nb", "a,b", 'say "hi"']
    assert got[5:11] == ["'=1+1", "'+cmd", "'-2+3", "'@x", "'\tx", "'\rx"]
    assert got[11:] == ["-12", "+1.5", "00123", "", "7"]
    assert [int(row[1]) for row in rows[1:]] == list(range(len(values)))
    assert defuse(pd.Series(["=a", "a="])).tolist() == ["'=a", "a="]
    assert csv_fields(pd.Series(["x"]), quote=True).tolist() == ['"x"']


def test_empty_table_writes_only_the_header(tmp_path):
    path = tmp_path / "t.csv"
    write_csv(path, pd.DataFrame({"a": pd.Series([], dtype="object")}))
    assert path.read_bytes() == b"\xef\xbb\xbfa\n"
