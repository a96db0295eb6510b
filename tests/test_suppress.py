"""Suppressions: false positives from a review, emitted as a file, honoured by the next audit,
counted and listed, never silently dropped."""

from __future__ import annotations

import tomllib

import openpyxl
import pytest
from review_helpers import CHAT, audit, findings_of, review_in_excel, rows_as_dicts, run

from qa.suppress import Suppression, format_suppressions, parse_suppressions, suppression_key, write_suppressions


def test_round_trip_review_emit_audit(tmp_path):
    book, data = audit(tmp_path)
    s1, s2 = findings_of(data, session_id="S1")[0], findings_of(data, session_id="S2")[0]
    s3 = findings_of(data, session_id="S3")[0]  # ignored-complaint: 嗯 after 我要投诉你们
    s4 = findings_of(data, session_id="S4")[0]  # slow-reply: about timing, not text
    review_in_excel(book, {
        s1["id"]: ("误报", "议价时的口头禅"), s2["id"]: ("误报", ""), s3["id"]: ("误报", "已电话处理"),
        s4["id"]: ("误报", "系统时间错"),
    })
    suppress = tmp_path / "suppressions.toml"
    result = run("review", book, "-o", tmp_path / "reviewed.xlsx", "--emit-suppressions", suppress)
    assert result.exit_code == 0, result.stderr
    assert "slow-reply false positives left out" in result.stderr

    entries = tomllib.loads(suppress.read_text(encoding="utf-8"))["suppress"]
    by_rule = {e["rule"]: e for e in entries}
    assert set(by_rule) == {"forbidden-phrase", "ignored-complaint"}
    assert by_rule["forbidden-phrase"]["text"] == "爱买不买"
    assert by_rule["forbidden-phrase"]["count"] == 2
    assert by_rule["forbidden-phrase"]["reason"] == "议价时的口头禅"
    assert "context" not in by_rule["forbidden-phrase"]
    assert by_rule["ignored-complaint"]["text"] == "嗯"
    assert by_rule["ignored-complaint"]["context"] == "我要投诉你们"  # a reply is judged with what it answered

    again = tmp_path / "again.xlsx"
    js = tmp_path / "again.json"
    result = run("audit", tmp_path / "day.csv", "-o", again, "--json", js, "--suppress", suppress)
    assert result.exit_code == 0, result.output
    assert "suppressed: 4 findings (forbidden-phrase 3, ignored-complaint 1)" in result.stderr
    import json

    after = json.loads(js.read_text(encoding="utf-8"))
    remaining = {(f["session_id"], f["rule"]) for f in after["findings"]}
    # S1, S2 and S6 (愛買不買: the same text once normalized) are suppressed; S5 says more than
    # the suppressed text, so it stays; the complaint answered with 嗯 is suppressed.
    # S7 answers an impatient 到底什么时候发货 with 你有病吧: abuse (not also a rhetorical question:
    # abuse beats it) that does not soothe the customer — nothing suppressed touches it.
    assert remaining == {("S4", "slow-reply"), ("S5", "forbidden-phrase"), ("S7", "forbidden-phrase"),
                         ("S7", "unsoothed-emotion")}
    summary = after["summary"]["suppressed"]
    assert summary["count"] == 4
    assert summary["by_rule"] == {"forbidden-phrase": 3, "ignored-complaint": 1}
    assert {f["id"] for f in summary["findings"]} == {s1["id"], s2["id"], s3["id"], findings_of(data, session_id="S6")[0]["id"]}
    assert all(f["suppression"].startswith(str(suppress)) for f in summary["findings"])
    assert after["summary"]["findings"] == len(after["findings"]) == 4
    scores = {s["session_id"]: s["score"] for s in after["sessions"]}
    assert scores["S1"] == scores["S2"] == scores["S3"] == scores["S6"] == 100.0

    # Listed on the Rules sheet with why, never silently dropped.
    rules_sheet = openpyxl.load_workbook(again)["规则"]
    texts = [str(c.value) for row in rules_sheet.iter_rows() for c in row if c.value is not None]
    assert any("已屏蔽的违规" in t and "4" in t for t in texts)
    assert texts.count("议价时的口头禅") == 3
    assert s1["id"] in texts
    summary_sheet = openpyxl.load_workbook(again)["概览"]
    assert any("4 条违规被屏蔽" in str(c.value) for row in summary_sheet.iter_rows() for c in row)


def test_emitting_again_merges_with_the_existing_file(tmp_path):
    path = tmp_path / "s.toml"
    first = Suppression(rule="forbidden-phrase", text="爱买不买", reason="a", count=2)
    assert write_suppressions(path, [first]) == (1, 0)
    second = Suppression(rule="forbidden-phrase", text="愛買不買", reason="b", count=1)  # the same once normalized
    third = Suppression(rule="rhetorical-question", text="您看可以吗？", reason="c")
    assert write_suppressions(path, [second, third]) == (1, 1)
    entries = parse_suppressions(path.read_text(encoding="utf-8"), path)
    assert [(e.rule, e.text, e.reason, e.count) for e in entries] == [
        ("forbidden-phrase", "爱买不买", "a / b", 2), ("rhetorical-question", "您看可以吗？", "c", 1),
    ]


def test_written_file_escapes_what_toml_needs():
    entry = Suppression(rule="forbidden-phrase", text='他说"爱买不买"\\', reason="line\nbreak\t\x01", count=1)
    parsed = tomllib.loads(format_suppressions([entry]))["suppress"][0]
    assert parsed["text"] == entry.text and parsed["reason"] == entry.reason


def test_matching_is_on_the_masked_normalized_whole_message():
    assert suppression_key("  愛買不買　") == suppression_key("爱买不买")
    assert suppression_key("电话13812345678") == suppression_key("电话13899995678")  # masked digits
    assert suppression_key("爱买不买，发票找平台去") != suppression_key("爱买不买")


@pytest.mark.parametrize(
    "text, expected",
    [
        ('version = 1\n[[suppress]]\nrule = "no-such-rule"\ntext = "x"\n', "s.toml:2: rule 'no-such-rule' is not loaded"),
        ('version = 1\n\n[[suppress]]\nrule = "slow-reply"\ntext = "x"\n', "s.toml:3: findings of slow-reply (check reply_gap) cannot be suppressed by text"),
        ('[[suppress]]\nrule = "forbidden-phrase"\ntext = "x"\ncolour = "red"\n', "s.toml:1: unknown key 'colour'"),
        ('[[suppress]]\nrule = "forbidden-phrase"\n', 's.toml:1: [[suppress]] needs text = "..."'),
        ("version = 7\n", "suppression file version 7 is newer than this qa reads"),
        ("[[suppress]\n", "not valid TOML"),
    ],
)
def test_bad_suppression_files_are_refused_with_file_and_line(tmp_path, monkeypatch, text, expected):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "s.toml").write_text(text, encoding="utf-8")
    (tmp_path / "day.csv").write_text(CHAT, encoding="utf-8")
    result = run("audit", "day.csv", "-o", "out.xlsx", "--suppress", "s.toml")
    assert result.exit_code == 2
    assert expected in result.stderr
    assert not (tmp_path / "out.xlsx").exists()


def test_no_suppression_file_no_change(tmp_path):
    book, data = audit(tmp_path)
    assert data["summary"]["suppressed"]["count"] == 0
    rules_sheet = openpyxl.load_workbook(book)["规则"]
    assert not any("已屏蔽" in str(c.value) for row in rules_sheet.iter_rows() for c in row)
    assert rows_as_dicts(book, "违规明细", "时间")


def test_suppression_with_context_suppresses_only_replies_to_that_message(tmp_path):
    # the same dismissive 嗯 answers two different complaints; the trainer suppressed it as a
    # reply to one of them only: the other stays a finding
    chat = CHAT + ("S8,2026-11-20 17:00:00,customer,,我要去12315投诉你们\n"
                   "S8,2026-11-20 17:00:30,agent,阿杰,嗯\n")
    _, before = audit(tmp_path, chat)
    complaints = findings_of(before, rule="ignored-complaint")
    assert {f["session_id"] for f in complaints} == {"S3", "S8"}
    suppress = tmp_path / "s.toml"
    write_suppressions(suppress, [Suppression(rule="ignored-complaint", text="嗯", context="我要投诉你们", reason="已电话处理")])
    _, after = audit(tmp_path, chat, "day", "--suppress", suppress)
    assert {f["session_id"] for f in findings_of(after, rule="ignored-complaint")} == {"S8"}
    assert [f["session_id"] for f in after["summary"]["suppressed"]["findings"]] == ["S3"]
    # without context the entry covers every reply of that text
    write_suppressions(tmp_path / "all.toml", [Suppression(rule="ignored-complaint", text="嗯", reason="x")])
    _, every = audit(tmp_path, chat, "day", "--suppress", tmp_path / "all.toml")
    assert findings_of(every, rule="ignored-complaint") == []
