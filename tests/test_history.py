"""Run history: three nightly audits, replacing a re-run, reviews updating stored scores, the
Trends sheet and `qa history`, schema migration and refusal of newer files."""

from __future__ import annotations

import json
import sqlite3
import zipfile
from pathlib import Path
from types import SimpleNamespace

import openpyxl
import pytest
from review_helpers import audit, findings_of, review_in_excel, rows_as_dicts, run

from qa.config import configured_history
from qa.history import DEFAULT_HISTORY, SCHEMA_VERSION, load_trends, open_history

HEADER = "session_id,timestamp,role,agent,text\n"


def day(date: str, rude: int) -> str:
    """A day of chats: 小美 is rude in ``rude`` of her three sessions; 阿杰 is always fine."""
    lines = []
    for i in range(3):
        lines.append(f"M{date}{i},{date} 10:0{i}:00,customer,,这个能便宜点吗")
        lines.append(f"M{date}{i},{date} 10:0{i}:30,agent,小美,{'爱买不买' if i < rude else '亲，这已经是活动价了呢'}")
        lines.append(f"J{date}{i},{date} 11:0{i}:00,customer,,什么时候发货")
        lines.append(f"J{date}{i},{date} 11:0{i}:20,agent,阿杰,亲，今天下午就发货哦")
    return HEADER + "\n".join(lines) + "\n"


@pytest.fixture(scope="module")
def three_days(tmp_path_factory):
    folder = tmp_path_factory.mktemp("nightly")
    history = folder / "reports" / "qa-history.sqlite"
    books = {}
    for name, date, rude in (("d1", "2026-11-18", 3), ("d2", "2026-11-19", 2), ("d3", "2026-11-20", 1)):
        books[name] = audit(folder, day(date, rude), name, "--history", history)
    return folder, history, books


def test_three_audits_three_runs_with_trends(three_days):
    folder, history, books = three_days
    trends = load_trends(history)
    assert [run.label for run in trends.runs] == ["#1 2026-11-18", "#2 2026-11-19", "#3 2026-11-20"]
    assert trends.agents["小美"] == [95.0, 96.7, 98.3]
    assert trends.agents["阿杰"] == [100.0, 100.0, 100.0]
    assert trends.rules["forbidden-phrase"] == [50.0, 33.3, 16.7]  # per 100 sessions (6 a day)

    # The workbook of the third night shows the three runs, with native line charts.
    book, _ = books["d3"]
    workbook = openpyxl.load_workbook(book)
    assert "趋势" in workbook.sheetnames and workbook.sheetnames.index("趋势") == 2
    cells = [c.value for row in workbook["趋势"].iter_rows() for c in row if c.value is not None]
    assert "#3 2026-11-20" in cells and "#1 2026-11-18" in cells and "小美" in cells
    with zipfile.ZipFile(book) as archive:
        charts = [archive.read(n).decode() for n in archive.namelist() if n.startswith("xl/charts/chart")]
    assert sum("<c:lineChart>" in chart for chart in charts) == 2


def test_same_inputs_and_rules_replace_their_run(three_days):
    folder, history, _ = three_days
    result = run("audit", folder / "d2.csv", "-o", folder / "d2-again.xlsx", "--history", history)
    assert result.exit_code == 0, result.output
    assert "history: replaced run #2 2026-11-19" in result.stderr
    assert len(load_trends(history).runs) == 3


def test_qa_history_prints_the_trends(three_days):
    _, history, _ = three_days
    result = run("history", "--history", history)
    assert result.exit_code == 0, result.stderr
    lines = result.stdout.splitlines()
    xiaomei = next(line for line in lines if line.startswith("小美"))
    assert xiaomei.split()[1:] == ["95.0", "96.7", "98.3", "+3.3"]
    assert any(line.startswith("forbidden-phrase") and "50.0" in line for line in lines)

    result = run("history", "--history", history, "--agent", "美", "--last", "2")
    assert result.exit_code == 0, result.stderr
    assert "agent 小美" in result.stdout and "#1 2026-11-18" not in result.stdout
    assert "#3 2026-11-20" in result.stdout

    result = run("history", "--history", history, "--agent", "nobody")
    assert result.exit_code == 2 and "no agent 'nobody'" in result.stderr and "小美" in result.stderr


def test_a_review_updates_the_stored_scores(tmp_path):
    history = tmp_path / "h.sqlite"
    book, data = audit(tmp_path, day("2026-11-21", 2), "d4", "--history", history)
    rude = findings_of(data, rule="forbidden-phrase")
    review_in_excel(book, {rude[0]["id"]: ("误报", "")})
    out = tmp_path / "d4-reviewed.xlsx"
    result = run("review", book, "-o", out)  # the workbook knows which history it was recorded in
    assert result.exit_code == 0, result.stderr
    assert "updated run #1 2026-11-21" in result.stderr
    trends = load_trends(history)
    assert trends.agents["小美"] == [98.3]
    assert trends.details["小美"][0]["audit_score"] == 96.7
    assert trends.rules["forbidden-phrase"] == [16.7]  # the false positive no longer counts
    assert trends.runs[0].reviewed
    assert "趋势" in openpyxl.load_workbook(out).sheetnames
    shown = run("history", "--history", history, "--agent", "小美")
    assert "98.3 (audit 96.7)" in shown.stdout

    result = run("review", book, "-o", out, "--no-history")
    assert result.exit_code == 0 and "not updated (--no-history)" in result.stderr


def test_history_is_off_unless_asked(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    book, _ = audit(tmp_path)
    assert not (tmp_path / DEFAULT_HISTORY).exists()
    assert "趋势" not in openpyxl.load_workbook(book).sheetnames
    config = SimpleNamespace(path=tmp_path / "sub" / "qa.toml", history="reports/h.sqlite")
    assert configured_history(config) == tmp_path / "sub" / "reports" / "h.sqlite"
    assert configured_history(SimpleNamespace(path=None, history=True)) == DEFAULT_HISTORY
    assert configured_history(SimpleNamespace(path=None, history=False)) is None
    assert configured_history(SimpleNamespace(path=None)) is None


def old_history(path: Path, version: int, qa_version: str) -> sqlite3.Connection:
    """A history at schema ``version`` holding one run (10 sessions) of agent 老员工 (88.5)."""
    connection = open_history(path, target=version)
    connection.execute(
        "INSERT INTO runs (id, run_key, inputs_hash, rules_hash, recorded_at, ordered_at, timezone, inputs, sessions, "
        "messages, findings, qa_version) VALUES (1, 'k', 'i', 'r', '2026-11-01T02:00:00Z', '2026-11-01T02:00:00Z', "
        f"'Asia/Shanghai', '[\"old.csv\"]', 10, 40, 3, '{qa_version}')"
    )
    connection.execute("INSERT INTO agent_runs (run_id, agent, score, sessions, findings) VALUES (1, '老员工', 88.5, 10, 3)")
    return connection


def test_an_older_schema_is_migrated_in_place(tmp_path):
    path = tmp_path / "old.sqlite"
    connection = old_history(path, 1, "0.0.9")
    connection.execute("INSERT INTO rule_runs VALUES (1, 'forbidden-phrase', 3, 30.0)")
    connection.close()
    assert sqlite3.connect(path).execute("PRAGMA user_version").fetchone()[0] == 1

    trends = load_trends(path)  # opening migrates
    assert sqlite3.connect(path).execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    assert trends.agents["老员工"] == [88.5]
    assert trends.details["老员工"][0]["audit_score"] == 88.5  # filled in by the migration
    assert trends.rules["forbidden-phrase"] == [30.0]

    # Recording into the migrated file works.
    book, _ = audit(tmp_path, day("2026-11-22", 1), "d5", "--history", path)
    assert len(load_trends(path).runs) == 2


def test_a_newer_history_is_refused_untouched(tmp_path):
    path = tmp_path / "new.sqlite"
    open_history(path).close()
    connection = sqlite3.connect(path)
    connection.execute("PRAGMA user_version = 99")
    connection.close()
    before = path.read_bytes()
    result = run("history", "--history", path)
    assert result.exit_code == 2
    assert "written by a newer qa (history schema 99" in result.stderr and "upgrade qa" in result.stderr
    (tmp_path / "d.csv").write_text(day("2026-11-23", 1), encoding="utf-8")
    result = run("audit", tmp_path / "d.csv", "-o", tmp_path / "d.xlsx", "--history", path)
    assert result.exit_code == 2 and "newer qa" in result.stderr
    assert path.read_bytes() == before


@pytest.mark.parametrize("kind", ["other-sqlite", "not-sqlite", "missing"])
def test_files_that_are_not_a_history_are_refused(tmp_path, kind):
    path = tmp_path / "h.sqlite"
    if kind == "other-sqlite":
        connection = sqlite3.connect(path)
        connection.execute("CREATE TABLE orders (id INTEGER)")
        connection.close()
    elif kind == "not-sqlite":
        path.write_text("session_id,text\n", encoding="utf-8")
    result = run("history", "--history", path)
    assert result.exit_code == 2
    expected = {"other-sqlite": "another program", "not-sqlite": "not a qa history file", "missing": "no history at"}[kind]
    assert expected in result.stderr


def test_review_sheet_lists_runs_in_the_order_audited(three_days):
    _, history, books = three_days
    rows = rows_as_dicts(books["d3"][0], "趋势", "运行", scan=40)
    assert [r["运行"] for r in rows[:3]] == ["#1 2026-11-18", "#2 2026-11-19", "#3 2026-11-20"]


@pytest.mark.slow  # three audits, a review and the history, end to end
def test_three_sample_days_as_a_new_user_would(tmp_path):
    """Audit three sample exports with history on, mark findings 误报, review, and audit again
    with the emitted suppressions: rescored workbook, precision, suppressed findings, trends."""
    samples = Path(__file__).resolve().parent.parent / "samples"
    history = tmp_path / "reports" / "qa-history.sqlite"
    outputs = {}
    for name in ("qianniu-day.csv", "gbk-day.csv", "qiyu-export.xlsx"):
        book, js = tmp_path / f"{name}-qa.xlsx", tmp_path / f"{name}-qa.json"
        result = run("audit", samples / name, "-o", book, "--json", js, "--history", history)
        assert result.exit_code == 0, result.output
        outputs[name] = (book, json.loads(js.read_text(encoding="utf-8")))
    book, data = outputs["qianniu-day.csv"]
    rhetorical = findings_of(data, rule="rhetorical-question", row=75)[0]
    soothing = findings_of(data, rule="repeated-soothing", row=34)[0]
    complaint = findings_of(data, rule="ignored-complaint", row=56)[0]
    review_in_excel(book, {rhetorical["id"]: ("误报", "是在解释"), soothing["id"]: ("误报", ""),
                           complaint["id"]: ("确认", "")}, who="培训师")
    suppress = tmp_path / "suppressions.toml"
    result = run("review", book, "--emit-suppressions", suppress)
    assert result.exit_code == 0, result.stderr
    assert (tmp_path / "qianniu-day.csv-qa-reviewed.xlsx").is_file()
    assert "updated run #1" in result.stderr
    assert any(line.startswith("rhetorical-question") and "0% (n=1)" in line for line in result.stdout.splitlines())
    assert any(line.startswith("ignored-complaint") and "100% (n=1)" in line for line in result.stdout.splitlines())

    again = tmp_path / "again.json"
    result = run("audit", samples / "qianniu-day.csv", "-o", tmp_path / "again.xlsx", "--json", again,
                 "--history", history, "--suppress", suppress)
    assert result.exit_code == 0, result.output
    summary = json.loads(again.read_text(encoding="utf-8"))["summary"]
    assert summary["suppressed"]["count"] == 2
    assert summary["findings"] == len(data["findings"]) - 2
    assert "replaced run #1" in result.stderr  # same inputs, same rules: still three runs
    workbook = openpyxl.load_workbook(tmp_path / "again.xlsx")
    labels = [c.value for row in workbook["趋势"].iter_rows() for c in row if str(c.value).startswith("#")]
    assert {"#1 2026-11-20", "#2 2026-11-20", "#3 2026-11-20"} <= set(labels)


def test_credits_are_recorded_per_agent_beside_the_findings(three_days):
    """Credits for good practice (JSON agents[].credits) are stored per agent and run and shown
    in the per-agent history, as the findings are."""
    folder, history, books = three_days
    _, data = books["d3"]
    counts = {a["agent"]: {k: v for k, v in a["credits"].items() if k != "per_100_sessions"} for a in data["agents"]}
    expected = {name: sum(per_id.values()) for name, per_id in counts.items()}
    assert any(expected.values())  # the day earns some credit, or this test proves nothing
    trends = load_trends(history)
    assert {name: detail[-1]["credits"] for name, detail in trends.details.items()} == expected
    stored = dict(sqlite3.connect(history).execute(
        "SELECT agent, credits_by_id FROM agent_runs WHERE run_id = 3").fetchall())
    assert counts == {name: json.loads(text) for name, text in stored.items()}
    result = run("history", "--history", history, "--agent", "阿杰")
    assert result.exit_code == 0, result.output
    assert any(line.startswith("run") and "credits" in line for line in result.stdout.splitlines())
    row = [line for line in result.stdout.splitlines() if line.startswith("#3")][-1]  # the agent table
    assert row.split()[7] == str(expected["阿杰"])  # label (2 words), score, sessions, findings, fp, per 100, credits


def test_runs_recorded_before_credits_show_no_count(tmp_path):
    path = tmp_path / "v2.sqlite"
    old_history(path, 2, "0.1.0").close()
    trends = load_trends(path)  # migrates to the credits columns
    assert sqlite3.connect(path).execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    assert trends.details["老员工"][0]["credits"] is None  # unknown, not zero
    from qa.history import format_trends

    row = [line for line in format_trends(trends, agent_detail=True) if line.startswith("#1")][-1]
    assert row.split()[7] == "-"


def test_a_history_the_folder_refuses_is_not_called_a_foreign_file(tmp_path, monkeypatch):
    """On a read-only file system SQLite says 'unable to open database file': that was reported as
    'not a qa history file'."""
    import sqlite3

    from qa.errors import QAError
    from qa.history import open_history

    def refuse(*_args, **_kwargs):
        raise sqlite3.OperationalError("unable to open database file")

    monkeypatch.setattr(sqlite3, "connect", refuse)
    with pytest.raises(QAError, match="cannot open history .*choose another --history"):
        open_history(tmp_path / "h.sqlite")


def test_a_run_whose_outputs_fail_to_be_written_is_taken_back_from_the_history(tmp_path, monkeypatch):
    """The history recorded the run before the workbook was written; Ctrl-C or an error while writing left
    the record of a run that reported itself interrupted."""
    from helpers import run

    import qa.report.excel.audit_book as audit_book

    sample = Path(__file__).resolve().parent.parent / "samples" / "qianniu-export.csv"
    history = tmp_path / "h.sqlite"

    def broken(*_args, **_kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(audit_book, "write_workbook", broken)
    failed = run("audit", str(sample), "-o", str(tmp_path / "r.xlsx"), "--history", str(history))
    assert failed.exit_code != 0
    with sqlite3.connect(history) as connection:
        assert connection.execute("SELECT count(*) FROM runs").fetchone()[0] == 0
    monkeypatch.undo()
    done = run("audit", str(sample), "-o", str(tmp_path / "r.xlsx"), "--history", str(history))
    assert done.exit_code == 0, done.output
    with sqlite3.connect(history) as connection:
        assert connection.execute("SELECT count(*) FROM runs").fetchone()[0] == 1
