"""Credits for good practice (qa.credits): per-credit cases, workbook, JSON and bonus scoring."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path

import pandas as pd
import pytest

from qa.audit.run import AuditOptions, audit
from qa.credits import load_credits
from qa.errors import RuleError
from qa.report.excel.audit_book import write_workbook
from qa.report.json_report import build_result
from qa.review import build_run_data, rescore_run
from qa.score import load_scoring

CASES_DIR = Path(__file__).parent / "credits"
CREDIT_IDS = ["apology-first", "confirm-understanding", "follow-up-time", "multiple-solutions", "quick-first-reply"]


def _cases():
    for path in sorted(CASES_DIR.glob("*.toml")):
        data = tomllib.loads(path.read_text(encoding="utf-8"))
        for case in data["case"]:
            yield pytest.param(data["credit"], case, id=f"{data['credit']}:{case['name']}")


def _audit(tmp_path: Path, chat: str, name: str = "chat.csv", **options):
    path = tmp_path / name
    path.write_text(chat.lstrip("\n"), encoding="utf-8")
    return audit([str(path)], AuditOptions(**options), rules=[])


def test_every_builtin_credit_has_cases_both_ways():
    counts = {credit_id: [0, 0] for credit_id in CREDIT_IDS}
    for param in _cases():
        credit_id, case = param.values
        counts[credit_id][0 if case["expect"] else 1] += 1
    assert [c.id for c in load_credits()] == CREDIT_IDS
    for credit_id, (credit, clean) in counts.items():
        assert credit >= 1 and clean >= 2, (credit_id, credit, clean)


@pytest.mark.parametrize("credit_id, case", list(_cases()))
def test_credit_case(tmp_path, credit_id, case):
    result = _audit(tmp_path, case["chat"])
    found = result.credits[result.credits["credit"] == credit_id] if len(result.credits) else result.credits
    got = [{"row": int(r), "match": m} for r, m in zip(found["row"].tolist(), found["match"].tolist())] if len(found) else []
    expected = case["expect"]
    assert [g["row"] for g in got] == [e["row"] for e in expected], got
    for g, e in zip(got, expected):
        if "match" in e:
            assert g["match"] == e["match"]


CHAT = """
session_id,timestamp,role,agent,text
S1,2026-05-01 09:00:00,customer,,等了一周还没发货，太差劲了！！！我电话13812345678
S1,2026-05-01 09:00:20,agent,阿兰,非常抱歉让您久等，您看是退款还是换货呢？13812345678这个号码对吗
S1,2026-05-01 09:01:00,agent,阿兰,你自己看着办吧
S2,2026-05-01 10:00:00,customer,,在吗
S2,2026-05-01 10:03:00,agent,小周,在的
"""


def test_credits_in_sessions_agents_json(tmp_path):
    result = _audit(tmp_path, CHAT)
    assert sorted(result.credits["credit"]) == ["apology-first", "multiple-solutions", "quick-first-reply"]
    assert set(result.credits["row"]) == {3}
    sessions = result.sessions.set_index("session_id")
    assert sessions.loc["S1", "credits"] == 3 and sessions.loc["S2", "credits"] == 0
    assert sessions.loc["S1", "bonus_points"] == 0.0
    document = build_result(result)
    assert document["summary"]["credits"] == 3
    assert document["summary"]["by_credit"] == {
        "apology-first": 1, "confirm-understanding": 0, "follow-up-time": 0, "multiple-solutions": 1,
        "quick-first-reply": 1}
    records = {r["credit"]: r for r in document["credits"]}
    assert records["multiple-solutions"]["match"] == "退款还是换货"
    assert "13812345678" not in json.dumps(document, ensure_ascii=False)  # masked like findings
    assert records["apology-first"]["context"].startswith("等了一周还没发货")
    agents = {a["agent"]: a for a in document["agents"]}
    assert agents["阿兰"]["credits"]["quick-first-reply"] == 1
    assert agents["阿兰"]["credits"]["per_100_sessions"]["apology-first"] == 100.0
    assert agents["小周"]["credits"]["quick-first-reply"] == 0
    # Additive: the existing top-level keys come first, unchanged.
    assert list(document) == ["version", "summary", "findings", "sessions", "agents", "rejected", "credits"]


def test_default_scoring_gives_no_bonus(tmp_path):
    result = _audit(tmp_path, CHAT)
    sessions = result.sessions.set_index("session_id")
    assert sessions.loc["S1", "score"] == 100.0 - sessions.loc["S1", "points_deducted"]
    assert load_scoring().credit_points == {}


def _pack(tmp_path: Path, text: str) -> Path:
    pack = tmp_path / "pack"
    pack.mkdir()
    (pack / "scoring.toml").write_text(text, encoding="utf-8")
    return pack


def test_configured_bonus_is_capped_and_offsets_deductions(tmp_path):
    plain = _audit(tmp_path, CHAT).sessions.set_index("session_id")
    pack = _pack(tmp_path, "[credits]\nquick-first-reply = 1\napology-first = 2\nmultiple-solutions = 3\nmax_bonus = 4\n")
    result = _audit(tmp_path, CHAT, rule_paths=[pack])
    sessions = result.sessions.set_index("session_id")
    assert sessions.loc["S1", "bonus_points"] == 4.0  # 1 + 2 + 3, capped at 4
    expected = min(100.0, 100.0 - sessions.loc["S1", "points_deducted"] + 4.0)
    assert sessions.loc["S1", "score"] == expected
    assert sessions.loc["S2", "score"] == plain.loc["S2", "score"] == 100.0  # never above 100


def test_bonus_does_not_lift_a_vetoed_session(tmp_path):
    chat = """
session_id,timestamp,role,agent,text
V1,2026-05-01 09:00:00,customer,,在吗
V1,2026-05-01 09:00:10,agent,阿兰,在的，您看是退款还是换货，24小时内给您回复
V1,2026-05-01 09:00:30,agent,阿兰,你有病吧
"""
    from qa.rules import load_rules

    # A pack's scoring.toml replaces the built-in one: the veto is restated.
    pack = _pack(tmp_path, '[credits]\nquick-first-reply = 5\nfollow-up-time = 5\nmax_bonus = 10\n'
                           '[rules.forbidden-phrase]\nveto = "critical"\n')
    path = tmp_path / "v.csv"
    path.write_text(chat.lstrip("\n"), encoding="utf-8")
    result = audit([str(path)], AuditOptions(rule_paths=[pack]), rules=load_rules())
    row = result.sessions.set_index("session_id").loc["V1"]
    assert row["veto"] and row["bonus_points"] == 10.0 and row["score"] == 0.0


def test_unknown_credit_in_scoring_is_refused(tmp_path):
    pack = _pack(tmp_path, "[credits]\nquick-reply = 1\n")
    with pytest.raises(RuleError, match=r"scoring.toml:2: \[credits\] quick-reply names no loaded credit"):
        load_scoring(pack / "scoring.toml", credit_ids=CREDIT_IDS)
    bad = tmp_path / "bad.toml"
    bad.write_text("[credits]\nmax_bonus = -1\n", encoding="utf-8")
    with pytest.raises(RuleError, match="credits.max_bonus must be a number"):
        load_scoring(bad)


def test_pack_can_switch_a_credit_off_and_change_its_threshold(tmp_path):
    pack = tmp_path / "pack"
    (pack / "credits").mkdir(parents=True)
    (pack / "credits" / "off.toml").write_text('id = "multiple-solutions"\nenabled = false\n', encoding="utf-8")
    text = (load_credits()[-1].path and Path(load_credits()[-1].path).read_text(encoding="utf-8"))
    (pack / "credits" / "quick-first-reply.toml").write_text(text.replace("max_seconds = 30", "max_seconds = 10"),
                                                              encoding="utf-8")
    result = _audit(tmp_path, CHAT, rule_paths=[pack])
    assert sorted(result.credits["credit"]) == ["apology-first"]
    assert "multiple-solutions" not in build_result(result)["summary"]["by_credit"]


def test_bad_credit_file_names_the_file(tmp_path):
    pack = tmp_path / "pack"
    (pack / "credits").mkdir(parents=True)
    (pack / "credits" / "x.toml").write_text('id = "x"\ncheck = "magic"\n', encoding="utf-8")
    with pytest.raises(RuleError, match=r"x.toml: check must be one of"):
        load_credits([pack])


def test_highlights_sheet_and_agent_columns(tmp_path):
    result = _audit(tmp_path, CHAT)
    for lang, sheet, agents_sheet in (("zh", "亮点", "客服评分"), ("en", "Highlights", "Agents")):
        out = tmp_path / f"r-{lang}.xlsx"
        write_workbook(result, out, lang=lang)
        book = pd.read_excel(out, sheet_name=None, header=None, engine="calamine")
        highlights = book[sheet]
        header = highlights.index[highlights[0].astype(str).isin(["时间", "Time"])][0]
        rows = highlights.iloc[header + 1:]
        assert len(rows) == 3
        assert all("138****5678" in str(t) or "13812345678" not in str(t) for t in rows[5])
        assert "13812345678" not in highlights.to_string()
        agents = book[agents_sheet]
        header_cells = [str(v) for v in agents.iloc[0 if lang == "zh" else 0].tolist()]
        wanted = "亮点：首次响应快 每百会话" if lang == "zh" else "Credit Quick first reply: per 100 sessions"
        assert wanted in header_cells
        column = header_cells.index(wanted)
        by_agent = dict(zip(agents.iloc[1:, 0], agents.iloc[1:, column]))
        assert by_agent["阿兰"] == 100 and by_agent["小周"] == 0


def test_review_rescoring_keeps_the_bonus(tmp_path):
    from qa.rules import load_rules

    pack = _pack(tmp_path, "[credits]\nquick-first-reply = 1\napology-first = 1\n")
    path = tmp_path / "c.csv"
    path.write_text(CHAT.lstrip("\n"), encoding="utf-8")
    result = audit([str(path)], AuditOptions(rule_paths=[pack]), rules=load_rules())
    run = build_run_data(result, mask=True, shown=len(result.findings), lang="zh")
    assert run["sessions"]["bonus_points"] == [2.0]
    rescored = rescore_run(run, {}, "run")
    sessions = rescored.sessions
    assert (sessions["score_after"] == sessions["score_before"]).all()
