"""The workbook (and the findings CSV), opened the way a supervisor's tools would read them."""

from __future__ import annotations

import csv
import re
import zipfile
from pathlib import Path

import openpyxl
import pytest
import xlsxwriter
from openpyxl.cell.rich_text import CellRichText, TextBlock

from qa.audit.run import AuditOptions, audit
from qa.mask import mask_text
from qa.report.excel import audit_book, rows
from qa.report.excel.audit_book import write_workbook
from qa.report.excel.cells import MAX_CELL_CHARS
from qa.report.excel.words import SHEETS
from qa.report.findings_csv import write_findings_csv
from qa.rules import builtin_rules_dir, load_rule_file, rules_hash

HOSTILE = ['=HYPERLINK("http://x","click")', "+1", "@SUM(A1)", "-2+3", "<r><t>x</t></r>"]

CHAT = """session_id,timestamp,role,agent,text
S1,2026-11-20 10:00:00,customer,,我的快递还没到，电话13812345678
S1,2026-11-20 10:01:00,agent,小美,我已经说过很多遍了，你不会看上面的记录吗
S1,2026-11-20 10:02:00,customer,,"=HYPERLINK(""http://x"",""click"")"
S1,2026-11-20 10:03:00,agent,小美,"=HYPERLINK(""http://x"",""click"") 爱买不买"
S2,2026-11-20 11:00:00,customer,,+1
S2,2026-11-20 11:00:20,agent,阿杰,@SUM(A1) 你有病吧
S2,2026-11-20 11:01:00,customer,,-2+3
S2,2026-11-20 11:01:30,agent,阿杰,<r><t>x</t></r>
S3,2026-11-20 12:00:00,customer,,请问什么时候发货
S3,2026-11-20 12:00:30,agent,小丽,亲，今天就发货哦
S3,2026-11-20 12:01:00,system,,会话已结束
S4,2026-11-20 13:00:00,wizard,,在吗
S4,2026-11-20 13:00:10,agent,小丽,爱买不买
"""


def forbidden_phrase_only():
    return [load_rule_file(builtin_rules_dir() / "forbidden-phrase.toml")]


@pytest.fixture(scope="module")
def result(tmp_path_factory):
    folder = tmp_path_factory.mktemp("chat")
    path = folder / "chat.csv"
    path.write_text(CHAT, encoding="utf-8")
    return audit([str(path)], AuditOptions(), rules=forbidden_phrase_only())


@pytest.fixture(scope="module")
def book_zh(result, tmp_path_factory):
    path = tmp_path_factory.mktemp("out") / "audit.xlsx"
    write_workbook(result, path)
    return path


@pytest.fixture(scope="module")
def book_en(result, tmp_path_factory):
    path = tmp_path_factory.mktemp("out") / "audit-en.xlsx"
    write_workbook(result, path, lang="en")
    return path


def load(path, **kwargs):
    return openpyxl.load_workbook(path, rich_text=True, **kwargs)


def header_row(sheet, first_header: str) -> int:
    for row in sheet.iter_rows(min_row=1, max_row=5):
        if row[0].value == first_header:
            return row[0].row
    raise AssertionError(f"no header starting {first_header!r} in {sheet.title}")


def plain(value) -> str:
    return str(value) if isinstance(value, CellRichText) else ("" if value is None else str(value))


def visible_sheets(path) -> list[str]:
    return [sheet.title for sheet in load(path).worksheets if sheet.sheet_state == "visible"]


def test_sheet_names_in_both_languages(book_zh, book_en):
    assert visible_sheets(book_zh) == [zh for zh, _ in SHEETS.values()]
    assert visible_sheets(book_en) == [en for _, en in SHEETS.values()]
    assert visible_sheets(book_zh) == ["概览", "客服评分", "违规明细", "亮点", "会话", "对话记录", "规则", "异常行"]
    # The data qa review rescores from (qa.review), very hidden.
    assert load(book_zh)["qa_data"].sheet_state == "veryHidden"


def test_one_row_per_agent_worst_first(result, book_zh):
    sheet = load(book_zh)["客服评分"]
    top = header_row(sheet, "客服")
    rows = [r for r in sheet.iter_rows(min_row=top + 1, values_only=True) if r[0] is not None]
    assert [r[0] for r in rows] == list(result.agents["agent"])
    assert len(rows) == len(result.agents) == 3
    scores = [r[1] for r in rows]
    assert scores == sorted(scores)
    assert sheet.freeze_panes == f"B{top + 1}"  # header and agent column frozen
    assert sheet.auto_filter.ref.startswith(f"A{top}:")
    assert sheet.conditional_formatting  # the colour scale on the score


def test_findings_rows_equal_the_findings_table(result, book_zh):
    sheet = load(book_zh)["违规明细"]
    top = header_row(sheet, "时间")
    rows = list(sheet.iter_rows(min_row=top + 1, values_only=True))
    findings = result.findings
    names = {rule.id: rule.name["zh"] for rule in result.rules}  # each rule file's [name]
    assert len(rows) == len(findings) >= 4
    for row, finding in zip(rows, findings.itertuples(index=False)):
        assert row[1] == finding.agent
        assert row[2] == finding.session_id
        assert row[3] == names[finding.rule]
        assert row[8] == finding.file
        assert row[9] == finding.row
        assert plain(row[6]) == mask_text(finding.text)
        assert row[5] == finding.reason
    assert sheet.freeze_panes == f"A{top + 1}"
    assert sheet.auto_filter.ref == f"A{top}:M{top + len(findings)}"  # M: the finding id


def test_highlighted_fragment_is_rich_text(result, book_zh):
    sheet = load(book_zh)["违规明细"]
    top = header_row(sheet, "时间")
    found = {}
    for row in sheet.iter_rows(min_row=top + 1):
        value = row[6].value
        if isinstance(value, CellRichText):
            for block in value:
                if isinstance(block, TextBlock) and block.font.b:
                    found[block.text] = block.font.color.rgb
    assert found.get("我已经说过很多遍了") == "FFC00000"
    assert found.get("爱买不买") == "FFC00000"
    # A message that is only the match is wholly red and bold.
    whole = [row[6] for row in sheet.iter_rows(min_row=top + 1) if plain(row[6].value) == "爱买不买"]
    assert whole and whole[0].font.b and whole[0].font.color.rgb == "FFC00000"


def all_cells(path):
    for sheet in load(path).worksheets:
        for row in sheet.iter_rows():
            yield from row


@pytest.mark.parametrize("book", ["book_zh", "book_en"])
def test_no_formula_cells_even_for_hostile_text(book, request):
    path = request.getfixturevalue(book)
    texts = set()
    for cell in all_cells(path):
        assert cell.data_type != "f", f"{cell.coordinate} in {cell.parent.title} is a formula: {cell.value!r}"
        texts.add(plain(cell.value))
    joined = "\n".join(texts)
    for hostile in HOSTILE:
        assert hostile in joined, f"{hostile!r} missing"
    with zipfile.ZipFile(path) as archive:
        for name in archive.namelist():
            if name.startswith("xl/worksheets/"):
                xml = archive.read(name).decode("utf-8")
                assert "<f>" not in xml and "<f " not in xml, name
                assert "<hyperlink" not in xml, name


def test_personal_data_masked_by_default_and_not_with_mask_false(result, book_zh, tmp_path):
    masked = "\n".join(plain(c.value) for c in all_cells(book_zh))
    assert "13812345678" not in masked
    assert "138****5678" in masked
    unmasked_path = tmp_path / "unmasked.xlsx"
    write_workbook(result, unmasked_path, mask=False)
    unmasked = "\n".join(plain(c.value) for c in all_cells(unmasked_path))
    assert "13812345678" in unmasked
    # Masking happens at write time only: the findings table keeps the original text.
    assert result.ingest.messages["text"].str.contains("13812345678").any()


@pytest.mark.parametrize("book, choices", [("book_zh", "确认,误报,待定"), ("book_en", "Confirmed,False positive,Pending")])
def test_review_column_has_drop_down(book, choices, request):
    sheet = load(request.getfixturevalue(book)).worksheets[2]
    top = 1
    review_col = [c.value for c in sheet[top]].index("复核" if "确认" in choices else "Review") + 1
    letter = openpyxl.utils.get_column_letter(review_col)
    validations = sheet.data_validations.dataValidation
    assert len(validations) == 1
    validation = validations[0]
    assert validation.type == "list"
    assert validation.formula1 == f'"{choices}"'
    assert f"{letter}{top + 1}" in validation.sqref


def test_english_headers_and_values(book_en):
    workbook = load(book_en)
    findings = workbook["Findings"]
    assert [c.value for c in findings[1]] == [
        "Time", "Agent", "Session", "Rule", "Severity", "Reason", "Message (match in red)",
        "Customer message (answered)", "File", "Row", "Review", "Comment", "ID",
    ]
    assert findings["D2"].value == "Forbidden phrase"
    assert findings["E2"].value in ("minor", "major", "critical")
    assert workbook["Agents"]["A1"].value == "Agent"


def test_sessions_sheet_one_row_per_session(result, book_zh):
    sheet = load(book_zh)["会话"]
    rows = [r for r in sheet.iter_rows(min_row=2, values_only=True) if r[0]]
    assert sorted(r[0] for r in rows) == sorted(result.sessions["session_id"])
    by_id = {r[0]: r for r in rows}
    s1 = result.sessions.set_index("session_id").loc["S1"]
    assert by_id["S1"][4] == s1.messages and by_id["S1"][9] == s1.score
    assert by_id["S1"][5] == 60  # longest customer wait: 10:00:00 -> 10:01:00
    assert by_id["S2"][8] == "是"  # abuse is 一票否决
    assert by_id["S2"][9] == 0


def test_transcripts_show_flagged_sessions_worst_first_with_marks(book_zh):
    sheet = load(book_zh)["对话记录"]
    top = header_row(sheet, "会话")
    rows = list(sheet.iter_rows(min_row=top + 1, values_only=True))
    banners = [r[0] for r in rows if r[0] and r[0].startswith("会话 ")]
    assert banners[0].startswith("会话 S2")  # the vetoed session first
    assert {b.split()[1] for b in banners} == {"S1", "S2", "S4"}  # S3 has no finding
    flagged = [r for r in rows if r[6]]
    assert any(r[6] == "服务禁语" and "爱买不买" in plain(r[5]) for r in flagged)
    assert any(isinstance(r[5], CellRichText) for r in flagged)


def test_rules_sheet_lists_rules_points_and_skipped(tmp_path):
    path = tmp_path / "chat.csv"
    # No times: time-based rules are skipped, and the Rules sheet says why.
    path.write_text("session_id,role,agent,text\nS1,agent,小美,爱买不买\n", encoding="utf-8")
    result = audit([str(path)])
    out = tmp_path / "a.xlsx"
    write_workbook(result, out)
    workbook = load(out)
    sheet = workbook["规则"]
    values = [[plain(c) for c in row] for row in sheet.iter_rows(values_only=True)]
    ids = [row[0] for row in values[1:] if row[0]]
    for rule in result.rules:
        assert rule.id in ids
    phrase = next(row for row in values if row[0] == "forbidden-phrase")
    assert "严重 -5" in phrase[4] and "致命 -20" in phrase[4]
    assert phrase[5]  # veto from critical
    for skipped in result.skipped_rules:
        assert any(row[0] == skipped.rule and row[1] == skipped.reason for row in values)
    # Without times the metrics are blank and a note says so.
    agents = workbook["客服评分"]
    assert "时间" in agents["A1"].value
    top = header_row(agents, "客服")
    assert agents.cell(top + 1, 5).value is None  # first response median


def test_summary_facts_and_charts(result, book_zh):
    sheet = load(book_zh)["概览"]
    facts = {row[0]: row[1] for row in sheet.iter_rows(values_only=True) if row[0]}
    assert facts["规则版本"] == rules_hash(result.rules)
    assert facts["审核行数"] == len(result.ingest.messages)
    assert facts["异常行数（见“异常行”）"] == len(result.ingest.rejected) == 1
    assert facts["时间范围"] == "2026-11-20 10:00 – 2026-11-20 13:00"
    assert len(sheet._charts) == 2
    values = [plain(v) for row in sheet.iter_rows(values_only=True) for v in row]
    assert "最需辅导的客服" in values and "阿杰" in values


def test_rejected_rows_listed(result, book_zh):
    sheet = load(book_zh)["异常行"]
    rows = [r for r in sheet.iter_rows(min_row=2, values_only=True) if r[0]]
    assert len(rows) == len(result.ingest.rejected) == 1
    assert rows[0][1] == 13


def test_findings_cap_says_so_in_first_row(result, tmp_path, monkeypatch):
    monkeypatch.setattr(audit_book, "MAX_DETAIL_ROWS", 2)
    path = tmp_path / "capped.xlsx"
    write_workbook(result, path)
    sheet = load(path)["违规明细"]
    assert "--findings-csv" in sheet["A1"].value
    assert sheet["A2"].value == "时间"
    assert len([r for r in sheet.iter_rows(min_row=3, values_only=True) if r[2]]) == 2
    assert sheet.freeze_panes == "A3"


def test_public_api_fallback_gives_the_same_cells(result, book_zh, tmp_path, monkeypatch):
    """If xlsxwriter internals change, the slow public path writes the same workbook."""
    original = rows.Cells.__init__

    def slow(self, *args, **kwargs):
        original(self, *args, **kwargs)
        self.fast = False

    monkeypatch.setattr(rows.Cells, "__init__", slow)
    path = tmp_path / "slow.xlsx"
    write_workbook(result, path)
    fast_book, slow_book = load(book_zh), load(path)
    for name in fast_book.sheetnames:
        fast_values = [[plain(v) for v in row] for row in fast_book[name].iter_rows(values_only=True)]
        slow_values = [[plain(v) for v in row] for row in slow_book[name].iter_rows(values_only=True)]
        assert fast_values == slow_values, name


def test_fast_rich_text_matches_write_rich_string(tmp_path):
    workbook = xlsxwriter.Workbook(str(tmp_path / "x.xlsx"))
    formats = audit_book.make_formats(workbook)
    sheet = workbook.add_worksheet("a", worksheet_class=rows.BulkSheet)
    cells = rows.Cells(workbook, formats.highlight, formats.plain, sheet)
    assert cells.fast
    for before, match, after in [(" 前 ", "你有病", " 后&<> "), ("", "你有病", "后"), ("前", "你有病", "")]:
        parts = ([before] if before else []) + [formats.highlight, match] + ([after] if after else [])
        sheet.write_rich_string(0, 0, *parts)
        native = list(workbook.str_table.string_table)[-1]
        assert cells.rich_key(before, match, after) == native
    workbook.close()


def test_control_characters_and_long_text(tmp_path):
    path = tmp_path / "chat.csv"
    long_text = "爱买不买" + "啊😊" * 20_000
    path.write_text(
        f'session_id,timestamp,role,agent,text\nS1,2026-11-20 10:00:00,agent,小美,"响铃\x07爱买不买"\n'
        f"S2,2026-11-20 10:00:00,agent,小美,{long_text}\n",
        encoding="utf-8",
    )
    result = audit([str(path)], rules=forbidden_phrase_only())
    out = tmp_path / "a.xlsx"
    write_workbook(result, out)
    values = [plain(c.value) for c in all_cells(out)]
    assert any(v.startswith("响铃") for v in values)
    assert any(v.startswith("爱买不买啊😊") for v in values)
    utf16_units = max(len(v.encode("utf-16-le")) // 2 for v in values)
    assert MAX_CELL_CHARS < utf16_units < 32_767  # cut, with a mark saying so
    assert any(v.startswith("爱买不买啊😊") and v.endswith(" 字]") and "…[已截断 " in v for v in values)


@pytest.mark.parametrize(("lang", "mark"), [("zh", "[已截断 "), ("en", "[truncated ")])
def test_match_beyond_the_cell_limit_is_shown_in_a_window(tmp_path, lang, mark):
    # 40,000 characters with the forbidden phrase near the end: the head that fits in a cell
    # would hide it, so the cell shows a window around it, each cut end marked.
    path = tmp_path / "chat.csv"
    text = "啊" * 39_000 + "爱买不买" + "呢" * 996
    path.write_text(f"session_id,timestamp,role,agent,text\nS1,2026-11-20 10:00:00,agent,小美,{text}\n", encoding="utf-8")
    result = audit([str(path)], rules=forbidden_phrase_only())
    assert result.findings["span_start"].tolist() == [39_000]
    out = tmp_path / "a.xlsx"
    write_workbook(result, out, lang=lang)
    book = load(out)
    sheet = book[SHEETS["findings"][0 if lang == "zh" else 1]]
    top = header_row(sheet, "时间" if lang == "zh" else "Time")
    value = sheet.cell(top + 1, 7).value
    assert isinstance(value, CellRichText)
    shown = plain(value)
    assert len(shown) < 32_767 and shown.startswith(mark) and shown.endswith("呢" * 996)
    red = [b.text for b in value if isinstance(b, TextBlock) and b.font.b]
    assert red == ["爱买不买"]
    cut = int(shown[len(mark):shown.index("]")].split()[0].replace(",", ""))
    assert cut + len(shown) - shown.index("…") - 1 == len(text)  # the mark counts what was cut
    # The transcript shows the same window, with the match highlighted.
    transcript = book[SHEETS["transcripts"][0 if lang == "zh" else 1]]
    cells = [c.value for row in transcript.iter_rows() for c in row if isinstance(c.value, CellRichText)]
    assert any([b.text for b in v if isinstance(b, TextBlock) and b.font.b] == ["爱买不买"] for v in cells)


def test_atomic_write_leaves_no_temporary_file(result, tmp_path):
    out = tmp_path / "new" / "folder" / "a.xlsx"
    write_workbook(result, out)
    assert out.is_file()
    assert [p.name for p in out.parent.iterdir()] == ["a.xlsx"]


def test_findings_csv_has_bom_every_finding_and_defused_formulas(result, tmp_path):
    path = tmp_path / "findings.csv"
    write_findings_csv(result, path, lang="en", mask=True)
    raw = path.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    with path.open(encoding="utf-8-sig", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == len(result.findings)
    assert [r["session_id"] for r in rows] == list(result.findings["session_id"])
    texts = [r["text"] for r in rows]
    assert "'=HYPERLINK(\"http://x\",\"click\") 爱买不买" in texts
    assert "'@SUM(A1) 你有病吧" in texts
    signed_number = re.compile(r"[+-][0-9]+(\.[0-9]+)?")
    assert all(not t.startswith(("=", "+", "-", "@")) or signed_number.fullmatch(t) for r in rows for t in r.values())
    assert "+1" in [r["context"] for r in rows]  # a plain number is data, kept as it is
    assert "13812345678" not in raw.decode("utf-8-sig")
    assert rows[0]["rule"] == "forbidden-phrase" and rows[0]["severity"] in ("major", "critical")


def test_findings_csv_chinese_headers_and_unmasked(result, tmp_path):
    path = tmp_path / "findings.csv"
    write_findings_csv(result, path, lang="zh", mask=False)
    with path.open(encoding="utf-8-sig", newline="") as handle:
        reader = csv.reader(handle)
        header = next(reader)
        rows = list(reader)
    assert header[:6] == ["时间", "客服", "会话", "规则", "严重程度", "原因"]
    assert len(rows) == len(result.findings)


def test_workbook_for_empty_result(tmp_path):
    path = tmp_path / "chat.csv"
    path.write_text("session_id,timestamp,role,agent,text\nS1,2026-11-20 10:00:00,agent,小美,您好\n", encoding="utf-8")
    result = audit([str(path)], rules=forbidden_phrase_only())
    out = tmp_path / "a.xlsx"
    write_workbook(result, out)
    workbook = load(out)
    assert workbook["违规明细"].max_row == 1
    write_findings_csv(result, tmp_path / "f.csv")
    assert Path(tmp_path / "f.csv").read_text(encoding="utf-8-sig").count("\n") == 1


def test_the_fast_row_writer_is_pinned_to_the_xlsxwriter_it_was_written_for(tmp_path):
    # rows.py overrides xlsxwriter's private Worksheet._write_rows and reads its internals; a
    # new xlsxwriter must be checked (this file's fast-path tests) before the range is widened.
    from xlsxwriter.worksheet import Worksheet

    installed = tuple(int(part) for part in xlsxwriter.__version__.split(".")[:2])
    low, high = rows.XLSXWRITER_VERSIONS
    assert low <= installed < high, f"xlsxwriter {xlsxwriter.__version__} outside {rows.XLSXWRITER_VERSIONS}"
    assert callable(getattr(Worksheet, "_write_rows", None))
    workbook = xlsxwriter.Workbook(str(tmp_path / "pin.xlsx"))
    formats = audit_book.make_formats(workbook)
    sheet = workbook.add_worksheet("a", worksheet_class=rows.BulkSheet)
    assert rows.Cells(workbook, formats.highlight, formats.plain, sheet).fast
    workbook.close()


@pytest.mark.parametrize("batch", [4096, 3])
def test_the_fast_shared_strings_writer_writes_what_xlsxwriter_writes(monkeypatch, batch):
    # rows._FastSharedStrings skips xlsxwriter's per-string regular expressions; every case
    # those expressions handle must come out byte for byte as xlsxwriter writes it.
    from io import StringIO

    from xlsxwriter.sharedstrings import SharedStrings, SharedStringTable

    monkeypatch.setattr(rows, "_SST_BATCH", batch)
    strings = [
        "您好", " leading", "trailing ", "tab\t", "\u3000全角空格", "行尾换行\n", "a\nb", "a&b<c>d", "_x0041_ literal",
        "bell\x07", "\x1cfile separator", "nonchar\ufffe\uffff", "<r><t>rich</t></r>", "<r><t>r&amp;</t></r> ",
        "emoji 😡", "", "_x00zz_", "plain", "\xa0nbsp", "x\x85",
    ]

    def written(writer_class):
        table = SharedStringTable()
        for string in strings:
            table._get_shared_string_index(string)
        table._sort_string_data()
        writer = writer_class()
        writer.string_table = table
        handle = StringIO()
        writer._set_xml_writer(handle)
        writer._assemble_xml_file()
        return handle.getvalue()

    assert written(rows._FastSharedStrings) == written(SharedStrings)
    strings[:] = [s for s in strings if not rows._SPECIAL.search(s)]  # the batch path alone
    assert written(rows._FastSharedStrings) == written(SharedStrings)
