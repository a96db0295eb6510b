"""qa review: verdicts from a workbook edited as a trainer edits it, rescoring, rule precision,
clear errors for workbooks the tool cannot read."""

from __future__ import annotations

import json
import shutil

import openpyxl
import pytest
from review_helpers import CHAT, audit, findings_of, review_in_excel, rows_as_dicts, run

from qa.identity import finding_id
from qa.review import Verdict, parse_verdict, rescore_run


@pytest.fixture(scope="module")
def audited(tmp_path_factory):
    folder = tmp_path_factory.mktemp("audit")
    return audit(folder)


@pytest.fixture
def book(audited, tmp_path):
    """A fresh copy of the audited workbook for each test to edit."""
    path, data = audited
    copy = tmp_path / "day-qa.xlsx"
    shutil.copy(path, copy)
    return copy, data


def test_finding_ids_in_workbook_and_json_are_the_same_and_stable(audited):
    path, data = audited
    rows = rows_as_dicts(path, "违规明细", "时间")
    assert [r["编号"] for r in rows] == [f["id"] for f in data["findings"]]
    assert len({f["id"] for f in data["findings"]}) == len(data["findings"])
    first = data["findings"][0]
    assert first["id"] == finding_id(first["file"], "", first["row"], first["rule"], first["text"])
    assert finding_id("./a/../day.csv", "", 3, "r", "x") == finding_id("day.csv", "", 3, "r", "x")
    assert finding_id("day.csv", "", 3, "r", "x") != finding_id("day.csv", "", 4, "r", "x")


def test_ids_do_not_depend_on_masking_or_language(tmp_path):
    _, masked = audit(tmp_path)
    _, plain = audit(tmp_path, CHAT, "day", "--no-mask", "--lang", "en")
    assert [f["id"] for f in masked["findings"]] == [f["id"] for f in plain["findings"]]
    assert any("138****5678" in f.get("context", "") for f in masked["findings"])


def test_verdict_words_in_both_languages():
    assert parse_verdict("误报") is Verdict.FALSE_POSITIVE
    assert parse_verdict(" 确认 ") is Verdict.CONFIRMED
    assert parse_verdict("false positive") is Verdict.FALSE_POSITIVE
    assert parse_verdict("Pending") is Verdict.PENDING
    assert parse_verdict("") is None and parse_verdict(None) is None
    with pytest.raises(ValueError):
        parse_verdict("不对")


def test_review_rescores_without_false_positives_after_rows_are_reordered(book, tmp_path):
    path, data = book
    veto = findings_of(data, session_id="S7")[0]  # 你有病吧: critical, vetoes its session
    # The same message is also judged by other rules (a rhetorical question, an unsoothed
    # customer); the reviewer marks only the abuse, so those still deduct (major: 5 each).
    others = [f for f in findings_of(data, session_id="S7") if f["id"] != veto["id"]]
    assert veto["rule"] == "forbidden-phrase" and all(f["severity"] == "major" for f in others)
    s7_after = 100 - 5 * len(others)
    s1 = findings_of(data, session_id="S1")[0]
    s2 = findings_of(data, session_id="S2")[0]
    s3 = findings_of(data, session_id="S3")[0]
    review_in_excel(
        path,
        {veto["id"]: ("误报", "客户先骂人，客服复述"), s1["id"]: ("误报", "议价玩笑"), s2["id"]: ("确认", ""),
         s3["id"]: ("待定", "")},
        reverse_rows=True, who="王老师",
    )
    out = tmp_path / "reviewed.xlsx"
    result = run("review", path, "-o", out)
    assert result.exit_code == 0, result.stderr

    sessions_before = {s["session_id"]: s for s in data["sessions"]}
    assert sessions_before["S7"]["score"] == 0.0 and sessions_before["S7"]["veto"]
    sessions = {r["会话"]: r for r in rows_as_dicts(out, "会话", "会话")}
    assert sessions["S7"]["复核前得分"] == 0 and sessions["S7"]["复核后得分"] == s7_after  # the veto is lifted
    assert sessions["S1"]["复核后得分"] == 100 and sessions["S1"]["误报数"] == 1
    assert sessions["S2"]["复核后得分"] == sessions_before["S2"]["score"]  # confirmed still deducts
    assert sessions["S3"]["复核后得分"] == sessions_before["S3"]["score"]  # pending still deducts

    agents = {r["客服"]: r for r in rows_as_dicts(out, "客服评分", "客服")}
    before = {a["agent"]: a for a in data["agents"]}
    for name in ("小美", "阿杰"):
        mine = [s for s in data["sessions"] if s["agent"] == name]
        after = [100.0 if s["session_id"] == "S1" else s7_after if s["session_id"] == "S7" else s["score"]
                 for s in mine]
        assert agents[name]["复核前得分"] == before[name]["score"]
        assert agents[name]["复核后得分"] == pytest.approx(round(sum(after) / len(after), 1))
        assert agents[name]["变化"] == pytest.approx(round(agents[name]["复核后得分"] - before[name]["score"], 1))

    # Who changed what: each verdict with its reviewer, where it came from and its effect.
    findings = {r["编号"]: r for r in rows_as_dicts(out, "违规明细", "时间")}
    assert len(findings) == len(data["findings"])
    marked = findings[veto["id"]]
    assert marked["复核"] == "误报" and marked["备注"] == "客户先骂人，客服复述"
    assert marked["复核人"] == "王老师"
    assert marked["复核来源"].startswith("day-qa.xlsx 违规明细!K")
    assert marked["复核后扣分"] == 0 and marked["会话得分（复核后）"] == s7_after
    assert all(findings[f["id"]]["复核后扣分"] == 5 and not findings[f["id"]]["复核"] for f in others)
    assert findings[s2["id"]]["复核"] == "确认" and findings[s2["id"]]["复核后扣分"] == 5
    assert findings[s3["id"]]["复核"] == "待定"

    # Measured precision per rule, in the terminal and in the workbook.
    assert "forbidden-phrase" in result.stdout
    line = next(text for text in result.stdout.splitlines() if text.startswith("forbidden-phrase"))
    assert line.split()[1:6] == ["5", "3", "1", "2", "0"]  # findings reviewed confirmed false pending
    assert "33% (n=3)" in line
    quality = {r["规则"]: r for r in rows_as_dicts(out, "复核结果", "规则")}
    assert quality["forbidden-phrase"]["误报"] == 2 and quality["forbidden-phrase"]["确认"] == 1
    assert quality["forbidden-phrase"]["准确率"] == pytest.approx(1 / 3, abs=1e-3)
    assert quality["ignored-complaint"]["待定"] == 1 and quality["ignored-complaint"]["准确率"] is None
    assert "议价玩笑" in result.stdout  # the most frequent false positives, with the trainers' comments


def test_review_output_is_itself_reviewable(book, tmp_path):
    path, data = book
    s1 = findings_of(data, session_id="S1")[0]
    review_in_excel(path, {s1["id"]: ("误报", "")})
    first = tmp_path / "first.xlsx"
    assert run("review", path, "-o", first).exit_code == 0
    s2 = findings_of(data, session_id="S2")[0]
    review_in_excel(first, {s2["id"]: ("误报", "")})
    second = tmp_path / "second.xlsx"
    result = run("review", first, "-o", second)
    assert result.exit_code == 0, result.stderr
    agents = {r["客服"]: r for r in rows_as_dicts(second, "客服评分", "客服")}
    assert agents["小美"]["误报数"] == 2  # both verdicts count, against the audit's own scores
    assert agents["小美"]["复核前得分"] == {a["agent"]: a for a in data["agents"]}["小美"]["score"]


def test_copies_reviewed_by_two_trainers_are_merged_and_conflicts_named(book, tmp_path):
    path, data = book
    s1, s2 = findings_of(data, session_id="S1")[0], findings_of(data, session_id="S2")[0]
    copy_a = review_in_excel(path, {s1["id"]: ("误报", "")}, save_as=tmp_path / "a.xlsx")
    copy_b = review_in_excel(path, {s2["id"]: ("误报", "")}, save_as=tmp_path / "b.xlsx")
    out = tmp_path / "merged.xlsx"
    result = run("review", copy_a, copy_b, "-o", out)
    assert result.exit_code == 0, result.stderr
    agents = {r["客服"]: r for r in rows_as_dicts(out, "客服评分", "客服")}
    assert agents["小美"]["误报数"] == 2

    conflicting = review_in_excel(copy_b, {s1["id"]: ("确认", "")}, save_as=tmp_path / "c.xlsx")
    result = run("review", copy_a, conflicting, "-o", out)
    assert result.exit_code == 2
    assert f"finding {s1['id']}" in result.stderr and "a.xlsx 违规明细!K" in result.stderr and "c.xlsx" in result.stderr


def test_english_workbook_and_verdicts(tmp_path):
    book_en, data = audit(tmp_path, CHAT, "day", "--lang", "en")
    s1 = findings_of(data, session_id="S1")[0]
    s2 = findings_of(data, session_id="S2")[0]
    review_in_excel(book_en, {s1["id"]: ("false positive", ""), s2["id"]: ("Confirmed", "")}, lang="en")
    out = tmp_path / "en-reviewed.xlsx"
    result = run("review", book_en, "-o", out)
    assert result.exit_code == 0, result.stderr
    workbook = openpyxl.load_workbook(out)
    assert [s.title for s in workbook.worksheets if s.sheet_state == "visible"] == ["Review", "Agents", "Findings", "Sessions"]
    findings = {r["ID"]: r for r in rows_as_dicts(out, "Findings", "Time")}
    assert findings[s1["id"]]["Review"] == "False positive"
    assert findings[s1["id"]]["Points after review"] == 0


@pytest.mark.parametrize(
    "edit, expected",
    [
        ("word", "违规明细!K{row}: unknown review '不对'"),
        ("no_review_column", "no 复核 / Review column"),
        ("edited_id", "违规明细!M{row}: unknown finding id 'abc'"),
        ("review_without_id", "违规明细!M{row}: a row with a review or comment but no finding id"),
        ("no_data", "no sheet 'qa_data'"),
        ("no_findings_sheet", "no sheet 违规明细 or Findings"),
        ("no_id_column", "sheet 违规明细: no header row with an 编号 / ID column"),
        ("damaged_data", "sheet 'qa_data' is damaged"),
        ("newer_data", "sheet 'qa_data' has format 9, newer than this qa reads"),
    ],
)
def test_workbooks_edited_beyond_reading_give_one_clear_error(book, edit, expected):
    path, data = book
    workbook = openpyxl.load_workbook(path, rich_text=True)
    sheet = workbook["违规明细"]
    row = 3
    if edit == "word":
        sheet.cell(row, 11).value = "不对"
    elif edit == "no_review_column":
        sheet.cell(1, 11).value = "我的列"
    elif edit == "edited_id":
        sheet.cell(row, 13).value = "abc"
    elif edit == "review_without_id":
        sheet.cell(row, 13).value = None
        sheet.cell(row, 11).value = "误报"
    elif edit == "no_data":
        del workbook["qa_data"]
    elif edit == "no_findings_sheet":
        sheet.title = "明细"
    elif edit == "no_id_column":
        sheet.cell(1, 13).value = "id?"
    elif edit == "damaged_data":
        workbook["qa_data"]["A2"].value = "edited"
    elif edit == "newer_data":
        header = json.loads(workbook["qa_data"]["A1"].value)
        workbook["qa_data"]["A1"].value = json.dumps({**header, "format": 9})
    workbook.save(path)
    result = run("review", path)
    assert result.exit_code == 2
    assert result.stderr.startswith("qa: error: ")
    assert len(result.stderr.strip().splitlines()) == 1
    assert expected.format(row=row) in result.stderr
    assert str(path) in result.stderr


def test_a_workbook_not_written_by_qa_is_refused():
    result = run("review", "samples/qiyu-export.xlsx")
    assert result.exit_code == 2
    assert "not a workbook written by qa audit" in result.stderr


def test_output_may_not_overwrite_a_reviewed_workbook(book):
    path, _ = book
    result = run("review", path, "-o", path)
    assert result.exit_code == 2 and "is one of the reviewed workbooks" in result.stderr


def test_rescoring_floor_and_veto_unit():
    run_data = {
        "inputs": ["x.csv"],
        "findings": {
            "id": ["a", "b", "c"], "session_id": ["S", "S", "T"], "agent": ["A", "A", "A"],
            "rule": ["r", "v", "r"], "severity": ["critical", "critical", "major"], "points": [20.0, 20.0, 5.0],
            "veto": [False, True, False], "text": ["x", "y", "z"], "context": ["", "", ""],
        },
        "sessions": {"session_id": ["S", "T"], "agent": ["A", "A"], "findings": [7, 1],
                     "points_deducted": [140.0, 5.0], "veto_findings": [1, 0], "score": [0.0, 95.0]},
        "agents": {"agent": ["A"], "sessions": [3], "score": [65.0], "score_sum": [195.0], "findings": [8]},
    }
    verdicts = {key: type("V", (), {"verdict": Verdict.FALSE_POSITIVE, "comment": "", "reviewer": "", "where": "w"})()
                for key in ("a", "b")}
    reviewed = rescore_run(run_data, verdicts, "x")
    session = reviewed.sessions.set_index("session_id").loc["S"]
    assert session["score_after"] == 0.0  # 140 - 40 = 100 points still deducted: floor 0, veto lifted
    assert reviewed.agents.loc[0, "score_after"] == 65.0
    verdicts["b"] = type("V", (), {"verdict": None, "comment": "", "reviewer": "", "where": ""})()
    reviewed = rescore_run(run_data, verdicts, "x")
    assert reviewed.sessions.set_index("session_id").loc["S", "score_after"] == 0.0  # still vetoed


def test_json_findings_carry_ids(audited):
    _, data = audited
    assert all(isinstance(f["id"], str) and len(f["id"]) == 12 for f in data["findings"])
    assert json.dumps(data["summary"]["suppressed"]) == json.dumps({"count": 0, "by_rule": {}, "findings": []})


def _id_rows(path, lang="zh"):
    """{finding id: (worksheet row number, ID column letter)} of a workbook's Findings sheet."""
    from openpyxl.utils import get_column_letter
    from review_helpers import table

    sheet = openpyxl.load_workbook(path)["违规明细" if lang == "zh" else "Findings"]
    top, columns = table(sheet, "时间" if lang == "zh" else "Time")
    id_col = columns["编号" if lang == "zh" else "ID"]
    rows = {sheet.cell(r, id_col).value: r for r in range(top + 1, sheet.max_row + 1) if sheet.cell(r, id_col).value}
    return rows, get_column_letter(id_col)


def test_swapped_id_cells_do_not_move_a_verdict_to_another_finding(book, tmp_path):
    """Sorting the ID column alone (a partial sort) swaps ids between rows: the verdict a
    trainer typed next to S1's message would land on S2's finding (same rule, same text)."""
    path, data = book
    s1, s2 = findings_of(data, session_id="S1")[0], findings_of(data, session_id="S2")[0]
    rows, letter = _id_rows(path)
    workbook = openpyxl.load_workbook(path, rich_text=True)
    sheet = workbook["违规明细"]
    cell_1, cell_2 = sheet[f"{letter}{rows[s1['id']]}"], sheet[f"{letter}{rows[s2['id']]}"]
    cell_1.value, cell_2.value = cell_2.value, cell_1.value
    sheet.cell(rows[s1["id"]], 11).value = "误报"  # typed next to S1's message
    workbook.save(path)
    out = tmp_path / "out.xlsx"
    result = run("review", path, "-o", out)
    assert result.exit_code == 2
    assert len(result.stderr.strip().splitlines()) == 1
    assert f"违规明细!{letter}{rows[s1['id']]}: finding id '{s2['id']}' is not the finding shown on its row" in result.stderr
    assert "session S1 ≠ S2" in result.stderr and "no verdict was applied" in result.stderr
    assert not out.exists()

    # Whole rows sorted (every cell moves with its id) stay fine.
    review_in_excel(path, {}, reverse_rows=True)
    workbook = openpyxl.load_workbook(path, rich_text=True)
    sheet = workbook["违规明细"]
    rows, _ = _id_rows(path)
    cell_1, cell_2 = sheet[f"{letter}{rows[s1['id']]}"], sheet[f"{letter}{rows[s2['id']]}"]
    cell_1.value, cell_2.value = cell_2.value, cell_1.value  # swap back: each id on its own row again
    workbook.save(path)
    assert run("review", path, "-o", out).exit_code == 0


def test_an_edited_qa_data_is_refused(book):
    """Decoding qa_data, raising an agent's score to 400 and packing it again keeps it well
    formed, but it no longer matches the checksum qa stored in A1."""
    from review_helpers import read_qa_data, write_qa_data

    from qa.review import data_chunks

    path, _ = book
    workbook = openpyxl.load_workbook(path, rich_text=True)
    header, runs = read_qa_data(workbook)
    assert header["format"] == 2 and len(header["sha256"]) == 64
    runs[0]["agents"]["score"][0] = 400.0
    cells = data_chunks(runs)
    write_qa_data(workbook, [json.dumps(header), *cells[1:]])  # the data edited, A1 as qa wrote it
    workbook.save(path)
    result = run("review", path)
    assert result.exit_code == 2
    assert len(result.stderr.strip().splitlines()) == 1
    assert "sheet 'qa_data' was edited after qa wrote it (cell A2 do not match the checksum in cell A1)" in result.stderr
    assert str(path) in result.stderr


@pytest.mark.parametrize(
    "edit, expected",
    [
        ("score_400", "audit 1: agents.score[0] is 400.0, not a score from 0 to 100"),
        ("missing_points", "audit 1: missing findings.points"),
        ("veto_text", 'audit 1: findings.veto[0] is "yes", not true or false'),
        ("id_number", "audit 1: findings.id[1] is 7, not a text"),
        ("sessions_list", "audit 1: sessions is not a table"),
        ("short_column", "audit 1: the columns of findings differ in length"),
        ("runs_missing", "cell A2: no audit in it"),
        ("rules_strings", "audit 1: rules is not a list of rules with id and check"),
    ],
)
def test_malformed_qa_data_names_sheet_and_cells(book, edit, expected):
    """Wrong types or a missing key in qa_data (packed with a matching checksum, so only the
    structure check can catch them) are one line naming the sheet and cells, not an internal error."""
    from review_helpers import read_qa_data, write_qa_data

    from qa.review import data_chunks

    path, _ = book
    workbook = openpyxl.load_workbook(path, rich_text=True)
    _, runs = read_qa_data(workbook)
    data = runs[0]
    if edit == "score_400":
        data["agents"]["score"][0] = 400.0
    elif edit == "missing_points":
        del data["findings"]["points"]
    elif edit == "veto_text":
        data["findings"]["veto"][0] = "yes"
    elif edit == "id_number":
        data["findings"]["id"][1] = 7
    elif edit == "sessions_list":
        data["sessions"] = []
    elif edit == "short_column":
        data["findings"]["text"].pop()
    elif edit == "rules_strings":
        data["rules"] = ["forbidden-phrase"]
    cells = data_chunks([] if edit == "runs_missing" else runs)
    write_qa_data(workbook, cells)
    workbook.save(path)
    result = run("review", path)
    assert result.exit_code == 2, result.stderr
    assert result.stderr.startswith("qa: error: ") and "internal error" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert f"{path}: sheet 'qa_data' is damaged" in result.stderr
    assert expected in result.stderr


def test_qa_data_from_before_checksums_is_still_read_and_range_checked(book, tmp_path):
    """Workbooks audited before format 2 have no checksum: still reviewable, and an out-of-range
    score in them is refused."""
    import base64
    import zlib

    from review_helpers import read_qa_data, write_qa_data

    path, data = book

    def legacy(runs):
        text = json.dumps({"runs": runs}, ensure_ascii=False, separators=(",", ":"))
        packed = base64.b64encode(zlib.compress(text.encode("utf-8"))).decode("ascii")
        header = {"format": 1, "kind": "qa-workbook-data", "encoding": "json+zlib+base64", "cells": 1}
        return [json.dumps(header), packed]

    workbook = openpyxl.load_workbook(path, rich_text=True)
    _, runs = read_qa_data(workbook)
    write_qa_data(workbook, legacy(runs))
    workbook.save(path)
    s1 = findings_of(data, session_id="S1")[0]
    review_in_excel(path, {s1["id"]: ("误报", "")})
    assert run("review", path, "-o", tmp_path / "ok.xlsx").exit_code == 0

    runs[0]["agents"]["score"][0] = 400.0
    workbook = openpyxl.load_workbook(path, rich_text=True)
    write_qa_data(workbook, legacy(runs))
    workbook.save(path)
    result = run("review", path, "-o", tmp_path / "no.xlsx")
    assert result.exit_code == 2 and "agents.score[0] is 400.0, not a score from 0 to 100" in result.stderr


CREDIT_CHAT = """session_id,timestamp,role,agent,text
C1,2026-11-20 10:00:00,customer,,你们怎么回事，太慢了！
C1,2026-11-20 10:00:10,agent,小美,非常抱歉让您久等了，我马上为您核实处理，10分钟内给您答复
C2,2026-11-20 11:00:00,customer,,在吗
C2,2026-11-20 11:00:05,agent,阿杰,在的亲，您可以选择退款或者补发
C3,2026-11-20 12:00:00,customer,,发货了吗
C3,2026-11-20 12:09:00,agent,阿杰,爱买不买
"""


def test_review_agents_sheet_shows_each_agents_credits(tmp_path):
    from review_helpers import read_qa_data, write_qa_data

    from qa.credits import load_credits
    from qa.review import data_chunks

    path, data = audit(tmp_path, CREDIT_CHAT, "credits")
    expected = {a["agent"]: {k: v for k, v in a["credits"].items() if k != "per_100_sessions"} for a in data["agents"]}
    assert sum(sum(c.values()) for c in expected.values()) >= 2  # the chat earns credits
    out = tmp_path / "reviewed.xlsx"
    assert run("review", path, "-o", out).exit_code == 0
    names = {credit.id: credit.label("zh") for credit in load_credits([])}
    rows = {r["客服"]: r for r in rows_as_dicts(out, "客服评分", "客服")}
    for agent, counts in expected.items():
        assert rows[agent]["亮点数"] == sum(counts.values())
        for credit, count in counts.items():
            assert rows[agent][f"亮点：{names[credit]} 次数"] == count

    # A workbook written before the data carried credits still loads: no credit columns.
    workbook = openpyxl.load_workbook(path, rich_text=True)
    _, runs = read_qa_data(workbook)
    for one in runs:
        del one["credits"]
        del one["agents"]["credits"]
    write_qa_data(workbook, data_chunks(runs))
    workbook.save(path)
    older = tmp_path / "older.xlsx"
    result = run("review", path, "-o", older)
    assert result.exit_code == 0, result.stderr
    row = next(iter(rows_as_dicts(older, "客服评分", "客服")))
    assert "亮点数" not in row and not any(str(key).startswith("亮点") for key in row)
