"""Service metrics (standard 004) on tiny tables with exact expected numbers."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from qa.metrics import agent_metrics, metrics_note, session_metrics
from qa.model import MESSAGE_COLUMNS


def table(rows, timezone="Asia/Shanghai"):
    """rows: (session, "HH:MM:SS" or None, role, agent, text)."""
    frame = pd.DataFrame(rows, columns=["session_id", "timestamp", "role", "agent", "text"])
    times = pd.to_datetime(
        ["2026-11-20 " + t if t else None for t in frame["timestamp"]], format="%Y-%m-%d %H:%M:%S"
    )
    frame["timestamp"] = pd.Series(times).dt.tz_localize(timezone)
    frame["seq"] = np.nan
    frame["source_file"] = "chat.csv"
    frame["source_row"] = range(2, len(frame) + 2)
    frame["source_sheet"] = ""
    return frame[MESSAGE_COLUMNS]


ROWS = [
    # S1: the customer writes twice, a system auto-reply does not answer, the agent replies
    # 120 s after the FIRST customer message; then a second run answered in 20 s.
    ("S1", "10:00:00", "customer", "", "在吗"),
    ("S1", "10:00:30", "customer", "", "快递到哪了"),
    ("S1", "10:00:31", "system", "", "您好，客服马上就来"),
    ("S1", "10:02:00", "agent", "小美", "您好，我帮您查一下"),
    ("S1", "10:03:00", "customer", "", "好的"),
    ("S1", "10:03:20", "agent", "小美", "已经在派送了"),
    # S2: the agent speaks first (no first response time); one run answered in 360 s, the
    # last run never answered.
    ("S2", "11:00:00", "agent", "小美", "您好"),
    ("S2", "11:01:00", "customer", "", "我要退货"),
    ("S2", "11:07:00", "agent", "小美", "好的，已为您登记"),
    ("S2", "11:08:00", "customer", "", "谢谢"),
    # S3: another agent, a run answered in 10 s.
    ("S3", "12:00:00", "customer", "", "发票怎么开"),
    ("S3", "12:00:10", "agent", "阿杰", "在订单页申请即可"),
]


def test_session_metrics_exact():
    sessions = session_metrics(table(ROWS))
    s1, s2, s3 = (sessions.loc[s] for s in ("S1", "S2", "S3"))
    assert (s1.messages, s1.customer_messages, s1.agent_messages) == (6, 3, 2)
    assert (s1.customer_runs, s1.replied_runs) == (2, 2)
    assert s1.first_response_s == 120.0
    assert s1.avg_response_s == 70.0  # (120 + 20) / 2
    assert s1.longest_wait_s == 120.0
    assert (s2.customer_runs, s2.replied_runs) == (2, 1)
    assert math.isnan(s2.first_response_s)  # the agent spoke first
    assert s2.avg_response_s == 360.0
    assert s2.longest_wait_s == 360.0
    assert s3.first_response_s == 10.0
    assert str(s1.started_at) == "2026-11-20 10:00:00"
    assert s1.file == "chat.csv"


def test_agent_metrics_exact():
    sessions = session_metrics(table(ROWS))
    sessions["agent"] = ["小美", "小美", "阿杰"]
    agents = agent_metrics(sessions)
    mei = agents.loc["小美"]
    assert mei.messages == 4
    assert mei.customer_messages == 5
    assert mei.first_response_median_s == 120.0  # only S1 has one
    assert mei.first_response_mean_s == 120.0
    assert mei.avg_response_s == pytest.approx((120 + 20 + 360) / 3, abs=0.05)  # pooled over runs
    assert mei.reply_rate == 0.75  # 3 of 4 runs answered
    assert mei.qa_ratio == 1.25  # 5 customer messages / 4 agent messages
    jie = agents.loc["阿杰"]
    assert (jie.first_response_median_s, jie.avg_response_s, jie.reply_rate, jie.qa_ratio) == (10.0, 10.0, 1.0, 1.0)


def test_median_and_mean_first_response_differ():
    rows = []
    for i, wait in enumerate((10, 20, 90)):
        rows += [(f"S{i}", "10:00:00", "customer", "", "在吗"), (f"S{i}", f"10:0{wait // 60}:{wait % 60:02d}", "agent", "A", "在")]
    sessions = session_metrics(table(rows))
    sessions["agent"] = "A"
    agent = agent_metrics(sessions).loc["A"]
    assert agent.first_response_median_s == 20.0
    assert agent.first_response_mean_s == 40.0


def test_system_messages_never_reply_and_never_stop_the_clock():
    rows = [
        ("S1", "10:00:00", "customer", "", "在吗"),
        ("S1", "10:00:01", "system", "", "自动回复：您好"),
        ("S1", "10:07:00", "agent", "A", "您好"),
    ]
    sessions = session_metrics(table(rows))
    assert sessions.loc["S1", "first_response_s"] == 420.0
    only_system = session_metrics(table(rows[:2]))
    assert only_system.loc["S1", "replied_runs"] == 0
    assert math.isnan(only_system.loc["S1", "first_response_s"])


def test_no_timestamps_blank_times_but_counts_and_rates():
    rows = [(s, None, r, a, t) for s, _, r, a, t in ROWS]
    sessions = session_metrics(table(rows), has_timestamps=False)
    assert sessions[["first_response_s", "avg_response_s", "longest_wait_s"]].isna().all().all()
    assert sessions["started_at"].isna().all()
    sessions["agent"] = ["小美", "小美", "阿杰"]
    agents = agent_metrics(sessions)
    assert agents[["first_response_median_s", "first_response_mean_s", "avg_response_s"]].isna().all().all()
    assert agents.loc["小美", "reply_rate"] == 0.75  # needs no times
    assert metrics_note(False, "zh") and metrics_note(False, "en") and metrics_note(True) is None


def test_sessions_out_of_order_are_grouped_without_mixing():
    frame = table(ROWS)
    shuffled = pd.concat([frame.iloc[6:10], frame.iloc[:6], frame.iloc[10:]], ignore_index=True)
    assert session_metrics(shuffled).equals(session_metrics(frame))


def test_empty_table():
    sessions = session_metrics(table([]))
    assert len(sessions) == 0


@pytest.mark.slow  # a million-message table
def test_one_million_messages_vectorised():
    n, per_session = 1_000_000, 10
    rng = np.random.default_rng(0)
    session = np.repeat(np.arange(n // per_session), per_session)
    frame = pd.DataFrame(
        {
            "session_id": pd.array([f"S{i:07d}" for i in range(n // per_session)], dtype="str")[session],
            "text": "x",
            "role": pd.array(rng.choice(["customer", "agent", "system"], n, p=[0.5, 0.45, 0.05]), dtype="str"),
            "timestamp": pd.Series(
                np.datetime64("2026-11-20T08:00:00") + np.cumsum(rng.integers(1, 300, n)).astype("timedelta64[s]")
            ).dt.tz_localize("Asia/Shanghai"),
            "seq": np.nan,
            "agent": "A",
            "source_file": "big.csv",
            "source_row": np.arange(2, n + 2),
            "source_sheet": "",
        }
    )
    sessions = session_metrics(frame)  # timing is the benchmark's business, not a test's
    assert len(sessions) == n // per_session
