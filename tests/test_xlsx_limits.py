"""Limits on Excel input (qa.xlsxlimits): hostile workbooks are refused with one line, before
calamine allocates, and a Rust panic never reaches the user. Every hostile file is built here,
in tmp_path, by editing the XML of a tiny workbook."""

from __future__ import annotations

import datetime
import resource
import struct
import subprocess
import sys
import zipfile
from pathlib import Path

import openpyxl
import pytest
from click.testing import CliRunner

from qa.cli import main
from qa.errors import InputError
from qa.ingest import load_inputs, stream_inputs
from qa.xlsxlimits import ExcelLimits

ROOT = Path(__file__).resolve().parents[1]
ROWS = [["会话ID", "角色", "客服", "内容"], ["s1", "买家", "", "在吗"], ["s1", "客服", "小王", "您好"]]


def workbook(path: Path, sheet_extra: str = "", *, edit=None, shared: str | None = None) -> str:
    """A small chat-log workbook; ``sheet_extra`` is XML appended inside <sheetData>, ``edit``
    rewrites the sheet XML, ``shared`` replaces xl/sharedStrings.xml."""
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = "chats"
    for row in ROWS:
        sheet.append(row)
    plain = path.with_suffix(".plain.xlsx")
    book.save(plain)
    with zipfile.ZipFile(plain) as source, zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            data = source.read(info.filename)
            if info.filename == "xl/worksheets/sheet1.xml":
                text = data.decode()
                if edit is not None:
                    text = edit(text)
                data = text.replace("</sheetData>", sheet_extra + "</sheetData>").encode()
            target.writestr(info.filename, data)
        if shared is not None:
            target.writestr("xl/sharedStrings.xml", shared)
    plain.unlink()
    return str(path)


def audit_in_subprocess(path: str, *args: str) -> subprocess.CompletedProcess:
    """Run `qa audit` in a child with bounded memory, so a regression cannot take pytest down."""

    def bound_memory() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (3 << 30, 3 << 30))

    return subprocess.run(
        [sys.executable, "-m", "qa", "audit", path, "-o", str(Path(path).with_name("r.xlsx")), *args],
        capture_output=True, text=True, timeout=300, cwd=ROOT, preexec_fn=bound_memory,
        env={"PYTHONPATH": str(ROOT), "RUST_BACKTRACE": "1", "PATH": "/usr/bin:/bin"},
    )


def test_value_at_xfd1048576_is_refused_in_one_line(tmp_path):
    # 5 KB on disk; calamine would ask for 512 GiB and abort the process.
    path = workbook(tmp_path / "tiny.xlsx", '<row r="1048576"><c r="XFD1048576"><v>1</v></c></row>')
    assert Path(path).stat().st_size < 10_000
    completed = audit_in_subprocess(path)
    assert completed.returncode == 2, completed.stderr[-2000:]
    lines = completed.stderr.strip().splitlines()
    assert len(lines) == 1, completed.stderr[-2000:]
    assert "tiny.xlsx" in lines[0] and "sheet 'chats'" in lines[0] and "XFD1048576" in lines[0]
    assert "20,000,000" in lines[0] and "--max-sheet-cells" in lines[0] and "max_sheet_cells" in lines[0]


def test_stray_value_far_from_the_data_is_refused_before_reading(tmp_path):
    # A grid of 104,900 cells, over a limit of 10,000: refused; read fast once the limit allows it.
    path = workbook(tmp_path / "stray.xlsx", '<row r="1049"><c r="CV1049"><v>1</v></c></row>')
    with pytest.raises(InputError, match=r"stray\.xlsx, sheet 'chats': values reach CV1049.*104,900 cells"):
        load_inputs([path], excel_limits=ExcelLimits(max_sheet_cells=10_000))
    with pytest.raises(InputError, match=r"values reach CV1049"):
        list(stream_inputs([path], excel_limits=ExcelLimits(max_sheet_cells=10_000)))
    # raised, the same workbook is read (the stray value is on a row without session or text)
    result = load_inputs([path], excel_limits=ExcelLimits(max_sheet_cells=110_000))
    assert result.messages["text"].tolist() == ["在吗", "您好"]


def test_declared_dimension_is_not_trusted(tmp_path):
    # <dimension> says A1:D3, a value sits at AD3000: the scan finds it anyway.
    path = workbook(tmp_path / "lie.xlsx", '<row r="3000"><c r="AD3000" t="inlineStr"><is><t>x</t></is></c></row>')
    assert b'<dimension ref="A1:D3"' in zipfile.ZipFile(path).read("xl/worksheets/sheet1.xml")
    with pytest.raises(InputError, match=r"values reach AD3000, a grid of at least 3,000 rows x 30 columns"):
        load_inputs([path], excel_limits=ExcelLimits(max_sheet_cells=50_000))


@pytest.mark.parametrize(
    "extra",
    [
        # cells without a reference follow the row's r and the running column, as in calamine
        '<row r="3000">' + "<c><v>1</v></c>" * 30 + "</row>",
        # a namespace prefix on the cell, single quotes and spaces around '='
        '<row r="3000"><x:c xmlns:x="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
        "r = 'AD3000'><x:v>1</x:v></x:c></row>",
        # the reference after another attribute, in lower case
        '<row r="3000"><c s="0" r="ad3000"><v>1</v></c></row>',
    ],
)
def test_unusual_cell_markup_is_placed_like_calamine_does(tmp_path, extra):
    # The grid is exactly A1:AD3000 = 90,000 cells: one cell less is refused, that many is read.
    path = workbook(tmp_path / "odd.xlsx", extra)
    with pytest.raises(InputError, match=r"values reach [A-Z]+3000"):
        load_inputs([path], excel_limits=ExcelLimits(max_sheet_cells=89_999))
    load_inputs([path], excel_limits=ExcelLimits(max_sheet_cells=90_000))


def test_empty_styled_cells_far_away_do_not_count(tmp_path):
    # Self-closing cells hold no value; calamine skips them, so they do not widen its grid.
    path = workbook(tmp_path / "styled.xlsx", '<row r="1048576"><c r="XFD1048576" s="0"/></row>')
    result = load_inputs([path], excel_limits=ExcelLimits(max_sheet_cells=1_000))
    assert result.messages["text"].tolist() == ["在吗", "您好"]


def test_shared_strings_bomb_is_refused_even_when_the_zip_directory_lies(tmp_path):
    big = "<si><t>" + "哈" * 1000 + "</t></si>"
    shared = (
        '<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" count="3000" uniqueCount="3000">'
        + big * 3000 + "</sst>"
    )  # 9 MB of text, a few KB compressed
    path = Path(workbook(tmp_path / "bomb.xlsx", shared=shared))
    assert path.stat().st_size < 200_000
    with pytest.raises(InputError, match=r"bomb\.xlsx: xl/sharedStrings\.xml inflates to more than the limit of 2 MB .*--max-xlsx-part-mb"):
        load_inputs([str(path)], excel_limits=ExcelLimits(max_part_mb=2))
    # The same part, declared as 100 bytes in both zip headers: its real size is measured.
    data = bytearray(path.read_bytes())
    name = b"xl/sharedStrings.xml"
    for signature, size_at, name_at in ((b"PK\x03\x04", 22, 30), (b"PK\x01\x02", 24, 46)):
        start = 0
        while (start := data.find(signature, start)) >= 0:
            if data[start + name_at:start + name_at + len(name)] == name:
                struct.pack_into("<L", data, start + size_at, 100)
            start += 4
    path.write_bytes(bytes(data))
    assert zipfile.ZipFile(path).getinfo("xl/sharedStrings.xml").file_size == 100
    with pytest.raises(InputError, match=r"xl/sharedStrings\.xml inflates to more than the limit of 2 MB"):
        load_inputs([str(path)], excel_limits=ExcelLimits(max_part_mb=2))


def test_rust_panic_becomes_one_line(tmp_path, capfd):
    # A date-formatted cell holding -1e300 makes calamine panic (chrono overflow).
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["会话ID", "时间", "内容"])
    sheet.append(["s1", datetime.datetime(2024, 1, 1, 10), "在吗"])
    plain = tmp_path / "plain.xlsx"
    book.save(plain)
    path = tmp_path / "panic.xlsx"
    with zipfile.ZipFile(plain) as source, zipfile.ZipFile(path, "w") as target:
        for info in source.infolist():
            data = source.read(info.filename)
            if info.filename == "xl/worksheets/sheet1.xml":
                start = data.index(b"<v>", data.index(b'r="B2"'))
                data = data[: start + 3] + b"-1e300" + data[data.index(b"</v>", start):]
            target.writestr(info.filename, data)
    capfd.readouterr()
    with pytest.raises(InputError, match=r"cannot read sheet 'Sheet' of .*panic\.xlsx \(the Excel reader failed: "):
        load_inputs([str(path)])
    captured = capfd.readouterr()
    assert "panicked" not in captured.err and "backtrace" not in captured.err


def test_broken_and_encrypted_workbooks_keep_their_clear_errors(tmp_path):
    good = Path(workbook(tmp_path / "good.xlsx"))
    (tmp_path / "cut.xlsx").write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    with pytest.raises(InputError, match=r"cannot read .*cut\.xlsx: not a readable Excel workbook"):
        load_inputs([str(tmp_path / "cut.xlsx")])
    # An encrypted workbook is an OLE compound file, not a zip.
    (tmp_path / "locked.xlsx").write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(4096))
    with pytest.raises(InputError, match=r"cannot read .*locked\.xlsx"):
        load_inputs([str(tmp_path / "locked.xlsx")])


def test_limits_from_the_command_line_and_qa_toml(tmp_path, monkeypatch):
    path = workbook(tmp_path / "far.xlsx", '<row r="300"><c r="J300"><v>1</v></c></row>')
    monkeypatch.chdir(tmp_path)
    out = str(tmp_path / "r.xlsx")
    refused = CliRunner().invoke(main, ["audit", path, "-o", out, "--max-sheet-cells", "2000"])
    assert refused.exit_code == 2
    assert "over the limit of 2,000 cells" in refused.output and "--max-sheet-cells" in refused.output
    assert CliRunner().invoke(main, ["audit", path, "-o", out, "--max-sheet-cells", "3000"]).exit_code == 0
    (tmp_path / "qa.toml").write_text("max_sheet_cells = 2000\n", encoding="utf-8")
    assert CliRunner().invoke(main, ["audit", path, "-o", out]).exit_code == 2
    assert CliRunner().invoke(main, ["audit", path, "-o", out, "--max-sheet-cells", "3000"]).exit_code == 0
    (tmp_path / "qa.toml").write_text("max_xlsx_part_mb = 0\n", encoding="utf-8")
    bad = CliRunner().invoke(main, ["audit", path, "-o", out])
    assert bad.exit_code == 2 and "qa.toml:1: max_xlsx_part_mb must be a positive whole number" in bad.output
