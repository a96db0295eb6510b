"""Sessions transferred between agents (转接): each agent is scored on their own part.

T1: 阿杰 answers abusively (forbidden-phrase, critical: a veto), the chat is transferred and 小美
answers twice (小美 is the responsible agent: most agent messages). T2: 小美 alone. T3: 阿杰 answers
twice, 小美 once, then the customer's complaint goes unanswered (ignored-complaint on a customer
message: the responsible agent's, 阿杰). T4: 小美 alone, no finding.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from helpers import run
from review_helpers import findings_of, review_in_excel, rows_as_dicts
from test_metrics import table

from qa.audit.outofcore import audit_out_of_core
from qa.audit.run import AuditOptions, audit
from qa.checks.stage import session_agents
from qa.engines.common import agent_rows, agents_frame, audit_rows, make_setup, message_rows, rows_of
from qa.ingest import ORDER_COLUMN, load_inputs
from qa.report.json_report import build_result
from qa.score import PER_100, Scoring, score_agents, score_sessions

CHAT = """session_id,timestamp,role,agent,text
T1,2026-11-20 10:00:00,customer,,这个什么时候发货
T1,2026-11-20 10:00:10,agent,阿杰,你有病吧
T1,2026-11-20 10:00:20,system,,会话已转接给小美
T1,2026-11-20 10:01:00,customer,,你怎么骂人
T1,2026-11-20 10:01:30,agent,小美,非常抱歉亲，给您带来不好的体验了，我来帮您查一下
T1,2026-11-20 10:02:00,customer,,好的
T1,2026-11-20 10:02:20,agent,小美,您的订单今天下午发出哦
T2,2026-11-20 11:00:00,customer,,在吗
T2,2026-11-20 11:00:10,agent,小美,亲，在的呢，请问有什么可以帮您
T3,2026-11-20 12:00:00,customer,,发票怎么开
T3,2026-11-20 12:00:20,agent,阿杰,亲，在订单页申请就可以哦
T3,2026-11-20 12:00:30,agent,阿杰,有问题随时找我
T3,2026-11-20 12:00:40,system,,会话已转接给小美
T3,2026-11-20 12:01:00,agent,小美,亲，我是小美，接下来由我为您服务
T3,2026-11-20 12:02:00,customer,,我要投诉你们，东西一直不到
T4,2026-11-20 13:00:00,customer,,发什么快递
T4,2026-11-20 13:00:30,agent,小美,默认中通快递哦亲
"""


@pytest.fixture(scope="module")
def chat(tmp_path_factory) -> str:
    path = tmp_path_factory.mktemp("transfer") / "transfer.csv"
    path.write_text(CHAT, encoding="utf-8")
    return str(path)


@pytest.fixture(scope="module")
def result(chat, rules):
    return audit([chat], AuditOptions(), rules=rules)


def agents_of(result) -> dict:
    return {a["agent"]: a for a in build_result(result, mask=False)["agents"]}


def test_abuse_before_the_transfer_counts_against_its_sender_not_the_responsible_agent(result):
    sessions = result.sessions.set_index("session_id")
    assert sessions.loc["T1", "agent"] == "小美"  # responsible: most agent messages, as before
    assert sessions.loc["T1", "agents"] == ["阿杰", "小美"]  # in order of their first message
    assert sessions.loc["T1", "score"] == 0.0 and sessions.loc["T1", "veto"]  # the session keeps all its findings
    agents = agents_of(result)
    jie, mei = agents["阿杰"], agents["小美"]
    assert jie["findings_by_rule"]["forbidden-phrase"] == 1 and jie["vetoes"] == 1
    assert mei["findings_by_rule"]["forbidden-phrase"] == 0 and mei["vetoes"] == 0


def test_every_session_taken_part_in_counts_and_a_veto_zeroes_only_its_own_part(result):
    agents = agents_of(result)
    jie, mei = agents["阿杰"], agents["小美"]
    assert mei["sessions"] == 4  # T1, T3 (parts) and T2, T4 (her own)
    assert jie["sessions"] == 2  # T1 and T3 (parts)
    assert mei["score"] == 100.0  # her part of T1 is not vetoed by his abuse; no finding of hers
    assert mei["findings"] == 0 and mei["findings_per_100_sessions"] == 0.0
    parts = result.parts.set_index(["session_id", "agent"])
    assert parts.loc[("T1", "阿杰"), "score"] == 0.0 and parts.loc[("T1", "阿杰"), "veto"]
    assert parts.loc[("T1", "小美"), "score"] == 100.0 and not parts.loc[("T1", "小美"), "veto"]
    assert jie["score"] == pytest.approx((0.0 + 80.0) / 2)
    assert jie["findings_per_100_sessions"] == 100.0  # 2 findings in 2 sessions


def test_a_finding_on_a_customer_message_goes_to_the_responsible_agent(result):
    complaint = result.findings[result.findings["rule"] == "ignored-complaint"]
    assert complaint["session_id"].tolist() == ["T3"] and complaint["agent"].tolist() == ["阿杰"]
    parts = result.parts.set_index(["session_id", "agent"])
    assert parts.loc[("T3", "阿杰"), "findings_by_rule"] == {"ignored-complaint": 1}
    assert parts.loc[("T3", "小美"), "findings"] == 0 and parts.loc[("T3", "小美"), "score"] == 100.0
    agents = agents_of(result)
    assert agents["阿杰"]["findings_by_rule"]["ignored-complaint"] == 1
    assert agents["小美"]["findings_by_rule"]["ignored-complaint"] == 0


def test_reply_metrics_of_a_part_count_its_agents_replies(result):
    parts = result.parts.set_index(["session_id", "agent"])
    jie, mei = parts.loc[("T1", "阿杰")], parts.loc[("T1", "小美")]
    assert (jie.agent_messages, jie.customer_messages, jie.customer_runs, jie.replied_runs) == (1, 1, 1, 1)
    assert jie.first_response_s == 10.0 and jie.avg_response_s == 10.0
    assert (mei.agent_messages, mei.customer_messages, mei.customer_runs, mei.replied_runs) == (2, 2, 2, 2)
    assert np.isnan(mei.first_response_s) and mei.avg_response_s == 25.0 and mei.longest_wait_s == 30.0
    # T3's unanswered complaint is a run of the responsible agent's part, like its finding.
    assert parts.loc[("T3", "阿杰"), "customer_runs"] == 2 and parts.loc[("T3", "阿杰"), "replied_runs"] == 1
    assert parts.loc[("T3", "小美"), "customer_runs"] == 0
    agents = agents_of(result)
    assert agents["阿杰"]["messages"] == 3 and agents["小美"]["messages"] == 5
    assert agents["阿杰"]["first_response_median_s"] == 15.0  # T1 10 s, T3 20 s
    assert agents["小美"]["first_response_median_s"] == 20.0  # T2 10 s, T4 30 s


def test_json_and_sessions_sheet_name_the_agents_taking_part(chat, tmp_path):
    book, js = tmp_path / "t.xlsx", tmp_path / "t.json"
    assert run("audit", chat, "-o", book, "--json", js, "--no-history").exit_code == 0
    data = json.loads(js.read_text(encoding="utf-8"))
    assert [s["agents"] for s in data["sessions"]] == [["阿杰", "小美"], ["小美"], ["阿杰", "小美"], ["小美"]]
    assert [s["agent"] for s in data["sessions"]] == ["小美", "小美", "阿杰", "小美"]
    assert list(data["sessions"][0])[-1] == "agents"  # additive: after every earlier field
    sessions = {r["会话"]: r for r in rows_as_dicts(book, "会话", "会话")}
    assert sessions["T1"]["客服"] == "小美" and sessions["T1"]["参与客服（转接顺序）"] == "阿杰 → 小美"
    assert sessions["T2"]["参与客服（转接顺序）"] == "小美"
    agents = {r["客服"]: r for r in rows_as_dicts(book, "客服评分", "客服")}
    assert agents["小美"]["会话数"] == 4 and agents["阿杰"]["会话数"] == 2


def test_agent_names_in_the_sessions_agents_are_masked(tmp_path):
    path = tmp_path / "masked.csv"
    path.write_text(CHAT.replace("阿杰", "13812345678"), encoding="utf-8")
    js = tmp_path / "m.json"
    assert run("audit", path, "-o", tmp_path / "m.xlsx", "--json", js, "--no-history").exit_code == 0
    data = json.loads(js.read_text(encoding="utf-8"))
    assert data["sessions"][0]["agents"] == ["138****5678", "小美"]
    assert "138****5678" in {a["agent"] for a in data["agents"]}
    assert "13812345678" not in js.read_text(encoding="utf-8")


def test_without_a_transfer_there_are_no_parts_and_the_sessions_sheet_is_as_before(tmp_path, rules):
    single = "\n".join(line for line in CHAT.splitlines() if not line.startswith(("T1", "T3"))) + "\n"
    path = tmp_path / "single.csv"
    path.write_text(single, encoding="utf-8")
    result = audit([str(path)], AuditOptions(), rules=rules)
    assert result.parts is not None and not len(result.parts)
    assert result.sessions["agents"].tolist() == [["小美"], ["小美"]]
    ids = {"rule_ids": [r.id for r in rules if r.enabled], "credit_ids": [c.id for c in result.credit_defs if c.enabled]}
    pd.testing.assert_frame_equal(score_agents(result.sessions, **ids), result.agents)
    book = tmp_path / "s.xlsx"
    assert run("audit", path, "-o", book, "--no-history").exit_code == 0
    assert "参与客服（转接顺序）" not in rows_as_dicts(book, "会话", "会话")[0]


def test_credits_and_their_bonus_go_to_the_part_of_the_agent_credited():
    from qa.score import score_parts

    rows = [
        ("S1", "10:00:00", "customer", "", "在吗"),
        ("S1", "10:00:05", "agent", "A", "在的"),
        ("S1", "10:01:00", "customer", "", "能便宜点吗"),
        ("S1", "10:01:30", "agent", "B", "爱买不买"),
        ("S1", "10:02:00", "agent", "B", "还有别的问题吗"),
    ]
    messages = table(rows)
    agents = session_agents(messages)
    assert agents["S1"] == "B"
    findings = pd.DataFrame({"session_id": ["S1"], "agent": ["B"], "rule": ["forbidden-phrase"], "severity": ["major"]})
    credits = pd.DataFrame({"session_id": ["S1", "S1"], "agent": ["A", "B"], "credit": ["quick-first-reply", "follow-up-time"]})
    scoring = Scoring(points={"minor": 2.0, "major": 5.0, "critical": 20.0},
                      credit_points={"quick-first-reply": 3.0, "follow-up-time": 1.0})
    sessions = score_sessions(messages, findings, agents, scoring=scoring, credits=credits)
    parts = score_parts(messages, findings, sessions, scoring=scoring, credits=credits).set_index("agent")
    assert parts.loc["A", "credits_by_id"] == {"quick-first-reply": 1} and parts.loc["A", "bonus_points"] == 3.0
    assert parts.loc["A", "score"] == 100.0  # no finding; a bonus never lifts above 100
    assert parts.loc["B", "credits_by_id"] == {"follow-up-time": 1} and parts.loc["B", "score"] == 96.0  # 100 - 5 + 1
    scored = score_agents(sessions, parts=parts.reset_index()[sessions.columns]).set_index("agent")
    assert scored.loc["A", "credits"]["quick-first-reply"] == 1 and scored.loc["A", "credits"][PER_100]["quick-first-reply"] == 100.0
    assert scored.loc["B", "credits"].get("quick-first-reply", 0) == 0
    assert scored.loc["A", "score"] == 100.0 and scored.loc["B", "score"] == 96.0


def test_unnamed_agent_messages_are_the_responsible_agents():
    from qa.score import score_parts

    rows = [
        ("S1", "10:00:00", "customer", "", "在吗"),
        ("S1", "10:00:05", "agent", "A", "在的"),
        ("S1", "10:00:06", "agent", "A", "请讲"),
        ("S1", "10:01:00", "customer", "", "好"),
        ("S1", "10:01:30", "agent", "", "嗯"),
    ]
    messages = table(rows)
    sessions = score_sessions(messages, pd.DataFrame(columns=["session_id", "rule", "severity"]), session_agents(messages))
    assert sessions["agents"].tolist() == [["A"]]
    assert not len(score_parts(messages, pd.DataFrame(columns=["session_id", "rule", "severity"]), sessions))


# Worker processes start in the second (-m slow).
@pytest.mark.parametrize("partitions, chunk_rows, jobs", [(3, 4, 1), pytest.param(5, 7, 2, marks=pytest.mark.slow)])
def test_out_of_core_partitions_and_jobs_score_parts_as_in_memory(chat, rules, tmp_path, partitions, chunk_rows, jobs):
    # The transferred sessions among others, cut into partitions and chunks that split them.
    extra = "".join(f"U{i},2026-11-20 14:{i:02d}:00,customer,,在吗\nU{i},2026-11-20 14:{i:02d}:10,agent,{'阿杰' if i % 2 else '小美'},"
                    f"{'你有病吧' if i % 3 == 0 else '在的亲'}\nU{i},2026-11-20 14:{i:02d}:20,agent,{'小美' if i % 4 == 1 else '阿杰'},好的\n"
                    for i in range(12))
    path = tmp_path / "more.csv"
    path.write_text(CHAT + extra, encoding="utf-8")
    expected = audit([str(path)], AuditOptions(), rules=rules)
    assert (expected.sessions["agents"].map(len) > 1).sum() >= 5
    got = audit_out_of_core([str(path)], AuditOptions(), rules, partitions=partitions, chunk_rows=chunk_rows, jobs=jobs)
    assert build_result(got, mask=False) == build_result(expected, mask=False)
    pd.testing.assert_frame_equal(got.sessions, expected.sessions)
    pd.testing.assert_frame_equal(got.parts, expected.parts)
    pd.testing.assert_frame_equal(got.agents, expected.agents)


def test_engine_rows_score_parts_as_in_process(chat, rules, result):
    """The engines' row format: session and part rows, shuffled into any split and grouped by
    agent (or by buckets of agents), score the agents as the in-process path does."""
    loaded = load_inputs([chat])
    messages = loaded.messages.assign(**{ORDER_COLUMN: np.arange(len(loaded.messages))})
    rows = message_rows(messages.sample(frac=1, random_state=5))
    setup = make_setup(AuditOptions(), rules)
    split = pd.util.hash_pandas_object(rows["session_id"], index=False).to_numpy() % 2
    out = pd.concat([audit_rows(rows[split == p], setup) for p in range(2)], ignore_index=True)
    assert len(rows_of(out, "p")) == 4 and len(rows_of(out, "s")) == 4
    scored = out[out["kind"].isin(["s", "p"])].sample(frac=1, random_state=1)
    rule_ids = [r.id for r in rules if r.enabled]
    by_agent = pd.concat([agent_rows(group, rule_ids, setup.credit_ids()) for _, group in scored.groupby("agent")])
    pd.testing.assert_frame_equal(agents_frame(by_agent), result.agents)
    pd.testing.assert_frame_equal(agents_frame(agent_rows(scored, rule_ids, setup.credit_ids())), result.agents)


def test_review_rescores_the_part_of_the_agent_whose_finding_is_false(chat, tmp_path):
    book, js = tmp_path / "t.xlsx", tmp_path / "t.json"
    assert run("audit", chat, "-o", book, "--json", js).exit_code == 0
    data = json.loads(js.read_text(encoding="utf-8"))
    abuse = findings_of(data, session_id="T1", rule="forbidden-phrase")[0]
    assert abuse["agent"] == "阿杰"
    review_in_excel(book, {abuse["id"]: ("误报", "客户先骂人")})
    out = tmp_path / "reviewed.xlsx"
    result = run("review", book, "-o", out)
    assert result.exit_code == 0, result.stderr
    agents = {r["客服"]: r for r in rows_as_dicts(out, "客服评分", "客服")}
    assert agents["阿杰"]["复核前得分"] == 40.0
    assert agents["阿杰"]["复核后得分"] == 90.0  # his T1 part 0 -> 100, T3 part 80: (100 + 80) / 2
    assert agents["阿杰"]["误报数"] == 1
    assert agents["小美"]["复核前得分"] == 100.0 and agents["小美"]["复核后得分"] == 100.0
    assert agents["小美"]["误报数"] == 0
    sessions = {r["会话"]: r for r in rows_as_dicts(out, "会话", "会话")}
    assert sessions["T1"]["复核前得分"] == 0 and sessions["T1"]["复核后得分"] == 100  # the session's veto is lifted


def test_history_records_the_agents_scored_on_their_parts_and_the_review_updates_them(chat, tmp_path):
    from qa.history import load_trends

    history = tmp_path / "h.sqlite"
    book, js = tmp_path / "t.xlsx", tmp_path / "t.json"
    assert run("audit", chat, "-o", book, "--json", js, "--history", history).exit_code == 0
    trends = load_trends(history)
    assert trends.agents["阿杰"] == [40.0] and trends.agents["小美"] == [100.0]
    assert trends.details["阿杰"][0]["sessions"] == 2 and trends.details["小美"][0]["sessions"] == 4
    abuse = findings_of(json.loads(js.read_text(encoding="utf-8")), session_id="T1", rule="forbidden-phrase")[0]
    review_in_excel(book, {abuse["id"]: ("误报", "")})
    assert run("review", book, "-o", tmp_path / "reviewed.xlsx").exit_code == 0
    assert load_trends(history).agents["阿杰"] == [90.0]


def test_part_metrics_of_one_part_per_session_are_the_session_metrics():
    """The parts' run arithmetic is the sessions': with one part per session (every agent
    message and the unanswered runs in it) the metrics agree, also without times."""
    from test_metrics import ROWS

    from qa.metrics import PART_METRIC_COLUMNS, part_metrics, session_metrics

    for rows, timed in ((ROWS, True), ([(s, None, r, a, t) for s, _, r, a, t in ROWS], False)):
        messages = table(rows)
        codes, _ = pd.factorize(messages["session_id"], sort=True)
        part_of_agent = np.where((messages["role"] == "agent").to_numpy(), codes, -1)
        sessions = session_metrics(messages, has_timestamps=timed)
        parts = part_metrics(messages, part_of_agent, np.arange(len(sessions)), len(sessions), has_timestamps=timed)
        expected = sessions[PART_METRIC_COLUMNS].reset_index(drop=True)
        # A part's messages are its agent and customer messages (system messages belong to no part).
        expected["messages"] = expected["customer_messages"] + expected["agent_messages"]
        pd.testing.assert_frame_equal(parts, expected)
