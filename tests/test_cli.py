"""The command line end to end: exit codes, error lines, outputs and the JSON contract."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from helpers import run

CHAT = """session_id,timestamp,role,agent,text
S1,2026-11-20 10:00:00,customer,,我的快递怎么还没到
S1,2026-11-20 10:01:00,agent,店:小美,我已经说过很多遍了，明天到
S2,2026-11-20 10:02:00,customer,,能开发票吗
S2,2026-11-20 10:03:00,agent,店:阿杰,可以的呢，麻烦提供一下抬头
S2,不是时间,customer,,好的谢谢
"""


@pytest.fixture
def chat_file(tmp_path: Path) -> Path:
    path = tmp_path / "day.csv"
    path.write_text(CHAT, encoding="utf-8")
    return path


def test_audit_writes_workbook_and_json_with_exact_accounting(chat_file, tmp_path):
    out, js = tmp_path / "out.xlsx", tmp_path / "out.json"
    result = run("audit", str(chat_file), "-o", str(out), "--json", str(js))
    assert result.exit_code == 0, result.output
    assert out.is_file() and out.stat().st_size > 0
    data = json.loads(js.read_text(encoding="utf-8"))
    assert data["version"] == 1
    summary = data["summary"]
    assert summary["input_rows"] == 5
    assert summary["audited_rows"] == 4
    assert summary["rejected_rows"] == 1
    assert summary["input_rows"] == summary["audited_rows"] + summary["rejected_rows"]
    assert summary["sessions"] == 2 and summary["agents"] == 2
    assert data["rejected"] == [{"file": str(chat_file), "row": 6, "reason": "unparseable time '不是时间'"}]
    finding = next(f for f in data["findings"] if f["rule"] == "forbidden-phrase")
    assert finding["row"] == 3 and finding["session_id"] == "S1" and finding["agent"] == "店:小美"
    assert finding["timestamp"] == "2026-11-20T10:01:00"
    assert finding["match"] == "我已经说过很多遍了"
    assert finding["text"][finding["span"][0] : finding["span"][1]] == finding["match"]
    assert summary["by_rule"]["forbidden-phrase"] == 1
    assert {a["agent"] for a in data["agents"]} == {"店:小美", "店:阿杰"}


def test_json_is_deterministic(chat_file, tmp_path):
    outputs = []
    for name in ("a", "b"):
        js = tmp_path / f"{name}.json"
        assert run("audit", str(chat_file), "-o", str(tmp_path / f"{name}.xlsx"), "--json", str(js)).exit_code == 0
        outputs.append(js.read_text(encoding="utf-8"))
    assert outputs[0] == outputs[1]


def test_fail_on_major_exits_1_and_lists_offending_findings(chat_file, tmp_path):
    result = run("audit", str(chat_file), "-o", str(tmp_path / "o.xlsx"), "--fail-on", "major")
    assert result.exit_code == 1
    assert f"{chat_file}:3 forbidden-phrase major" in result.stdout


def test_fail_on_critical_passes_when_only_major(chat_file, tmp_path):
    result = run("audit", str(chat_file), "-o", str(tmp_path / "o.xlsx"), "--fail-on", "critical")
    assert result.exit_code == 0


def _assert_one_line_error(result, *fragments: str) -> None:
    assert result.exit_code == 2
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("qa: error: ")
    assert "Traceback" not in result.output
    for fragment in fragments:
        assert fragment in lines[0]


def test_an_export_of_agent_messages_only_is_audited(tmp_path):
    """No customer message at all (an export of the shop's side, or customer rows all rejected): the
    checks that follow the customer find nothing to follow; none may crash (repeated-solution did)."""
    path = tmp_path / "agents.csv"
    path.write_text("session_id,timestamp,role,agent,text\n" + "".join(
        f"S1,2026-11-20 10:0{minute}:00,agent,小雅,亲，可以申请退货退款哦\n" for minute in range(4)), encoding="utf-8")
    js = tmp_path / "out.json"
    result = run("audit", str(path), "-o", str(tmp_path / "out.xlsx"), "--json", str(js))
    assert result.exit_code == 0, result.output
    report = json.loads(js.read_text(encoding="utf-8"))
    assert report["summary"]["audited_rows"] == 4
    assert not [f for f in report["findings"] if f["rule"] == "repeated-solution"]


def test_missing_file(tmp_path):
    _assert_one_line_error(run("audit", str(tmp_path / "nope.csv"), "-o", str(tmp_path / "o.xlsx")), "nope.csv")


def test_empty_file(tmp_path):
    path = tmp_path / "empty.csv"
    path.write_bytes(b"")
    _assert_one_line_error(run("audit", str(path), "-o", str(tmp_path / "o.xlsx")), "empty")


def test_binary_file(tmp_path):
    path = tmp_path / "picture.csv"
    path.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x01\x00" * 20)
    _assert_one_line_error(run("audit", str(path), "-o", str(tmp_path / "o.xlsx")), "picture.csv")


def test_file_without_text_column(tmp_path):
    path = tmp_path / "notext.csv"
    path.write_text("会话ID,时间,发送方\nS1,2026-11-20 10:00:00,客服\n", encoding="utf-8")
    _assert_one_line_error(
        run("audit", str(path), "-o", str(tmp_path / "o.xlsx")), "missing column for text", "--column text="
    )


def test_output_may_not_overwrite_an_input(chat_file):
    _assert_one_line_error(run("audit", str(chat_file), "-o", str(chat_file)), "one of the inputs")


def test_unknown_timezone(chat_file, tmp_path):
    _assert_one_line_error(
        run("audit", str(chat_file), "-o", str(tmp_path / "o.xlsx"), "--timezone", "Mars/Base"), "timezone"
    )


def test_bad_column_option(chat_file, tmp_path):
    result = run("audit", str(chat_file), "-o", str(tmp_path / "o.xlsx"), "--column", "text")
    assert result.exit_code == 2 and "FIELD=SOURCE" in result.stderr


def test_no_timestamps_skips_time_rules(tmp_path):
    path = tmp_path / "jd.tsv"
    path.write_text("会话编号\t是否客服发送\t内容\nA\t0\t在吗\nA\t1\t在的亲\n", encoding="utf-8")
    js = tmp_path / "o.json"
    result = run("audit", str(path), "-o", str(tmp_path / "o.xlsx"), "--json", str(js))
    assert result.exit_code == 0, result.output
    data = json.loads(js.read_text(encoding="utf-8"))
    assert {"rule": "slow-reply", "reason": "no timestamps"} in data["summary"]["skipped_rules"]
    assert data["findings"] == [] or all(f["timestamp"] is None for f in data["findings"])


@pytest.mark.slow  # a real process through the installed entry point
def test_installed_command_runs(chat_file, tmp_path):
    """The console script installed by pip works, as a user would call it."""
    script = Path(sys.executable).parent / "qa"
    command = [str(script)] if script.exists() else [sys.executable, "-m", "qa"]
    completed = subprocess.run(
        command + ["audit", str(chat_file), "-o", str(tmp_path / "o.xlsx"), "--fail-on", "major"],
        capture_output=True, text=True, timeout=120,
    )
    assert completed.returncode == 1, completed.stderr
    assert "forbidden-phrase" in completed.stdout
    assert "audited 4 of 5 rows" in completed.stderr


def test_a_closed_output_pipe_is_a_quiet_stop_not_an_internal_error():
    import os

    read_end, write_end = os.pipe()
    os.close(read_end)  # the reader is gone before qa writes (qa rules list | head -0)
    try:
        completed = subprocess.run([sys.executable, "-m", "qa", "rules", "list"], stdout=write_end,
                                   stderr=subprocess.PIPE, text=True, timeout=120)
    finally:
        os.close(write_end)
    assert completed.returncode == 2
    assert "internal error" not in completed.stderr and "Traceback" not in completed.stderr


def _workbook_cells(path):
    """Every sheet's name, state and cell values, as openpyxl reads them."""
    from openpyxl import load_workbook

    book = load_workbook(path)
    return [(sheet.title, sheet.sheet_state, [[cell.value for cell in row] for row in sheet.iter_rows()])
            for sheet in book.worksheets]


@pytest.mark.slow
def test_json_written_beside_the_workbook_is_the_same(tmp_path, monkeypatch):
    """A large audit writes its JSON in a forked process while the workbook is written: the
    bytes are those of the sequential run, and the child's error reaches the user as one line."""
    import qa.cli

    sample = Path(__file__).resolve().parent.parent / "samples" / "qianniu-day.csv"
    assert run("audit", sample, "-o", tmp_path / "a.xlsx", "--json", tmp_path / "a.json", "--no-history").exit_code == 0
    monkeypatch.setattr(qa.cli, "JSON_BESIDE_MIN_MESSAGES", 0)
    assert run("audit", sample, "-o", tmp_path / "b.xlsx", "--json", tmp_path / "b.json", "--no-history").exit_code == 0
    assert (tmp_path / "b.json").read_bytes() == (tmp_path / "a.json").read_bytes()
    # the workbook's hidden data cells come from the same child: the workbook is the same too,
    # with the JSON beside it or without
    assert run("audit", sample, "-o", tmp_path / "d.xlsx", "--no-history").exit_code == 0
    expected = _workbook_cells(tmp_path / "a.xlsx")
    assert _workbook_cells(tmp_path / "b.xlsx") == expected
    assert _workbook_cells(tmp_path / "d.xlsx") == expected
    failed = run("audit", sample, "-o", tmp_path / "c.xlsx", "--json", "/proc/c.json", "--no-history")
    assert failed.exit_code == 2
    assert "cannot write /proc/c.json" in failed.stderr


@pytest.mark.parametrize("mode", ["--in-memory", "--out-of-core"])
def test_a_refused_file_in_a_folder_does_not_stop_the_others(tmp_path, mode):
    """A nightly folder with one export the reader refuses (role codes and no legend): the other
    files are audited and reported, the refused one is named with its reason as skipped, and the
    run exits 2 (never green with an input left unread)."""
    folder = tmp_path / "day"
    folder.mkdir()
    (folder / "a.csv").write_text(CHAT, encoding="utf-8")
    (folder / "b.csv").write_text("会话ID,时间,发送方类型,内容\nS9,2026-11-20 10:00:00,1,在吗\n"
                                  "S9,2026-11-20 10:01:00,2,在的\nS9,2026-11-20 10:02:00,4,评价邀请\n", encoding="utf-8")
    out, js = tmp_path / "out.xlsx", tmp_path / "out.json"
    result = run("audit", folder, "-o", out, "--json", js, "--no-history", mode)
    assert result.exit_code == 2
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith("qa: error: 1 input file(s) not read, the others audited:") and "b.csv" in last
    assert "role codes" in last
    assert any(line.startswith("note: skipped") and "b.csv" in line for line in result.stderr.splitlines())
    data = json.loads(js.read_text(encoding="utf-8"))
    assert data["summary"]["audited_rows"] == 4 and data["summary"]["rejected_rows"] == 1  # a.csv only
    assert [f["file"] for f in data["summary"]["files_not_read"]] == [str(folder / "b.csv")]
    assert {f["rule"] for f in data["findings"]} >= {"forbidden-phrase"}
    assert out.exists()


def test_a_single_refused_file_still_stops_with_one_line(tmp_path):
    path = tmp_path / "b.csv"
    path.write_text("会话ID,时间,发送方类型,内容\nS9,2026-11-20 10:00:00,1,在吗\nS9,2026-11-20 10:01:00,2,在的\n"
                    "S9,2026-11-20 10:02:00,4,评价邀请\n", encoding="utf-8")
    _assert_one_line_error(run("audit", path, "-o", tmp_path / "o.xlsx"), "role codes")


def test_an_input_error_quoting_a_cell_is_masked_on_stderr(tmp_path):
    """A refusal that quotes the file's first cells (a headerless export starting with a phone
    number) shows the number masked, alone or in a folder: stderr reaches CI logs."""
    bad = tmp_path / "day" / "bad.csv"
    bad.parent.mkdir()
    bad.write_text("13812345678,张三,在吗\n13812345678,客服,在的\n", encoding="utf-8")
    alone = run("audit", bad, "-o", tmp_path / "a.xlsx", "--no-history")
    (bad.parent / "good.csv").write_text(CHAT, encoding="utf-8")
    folder = run("audit", bad.parent, "-o", tmp_path / "b.xlsx", "--no-history")
    for result in (alone, folder):
        assert result.exit_code == 2
        assert "13812345678" not in result.stderr and "138****5678" in result.stderr
