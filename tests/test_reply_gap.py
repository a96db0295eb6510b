"""Unit tests of the check type ``reply_gap`` (rule slow-reply) on small message tables."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest

from qa.checks import CHECK_TYPES
from qa.checks.base import CheckContext
from qa.checks.reply_gap import format_duration, parse_working_hours, reply_pairs, run, working_ns
from qa.checks.stage import run_checks
from qa.errors import RuleError
from qa.rules import builtin_rules_dir, load_rule_file

TZ = "Asia/Shanghai"
BUILTIN = load_rule_file(builtin_rules_dir() / "slow-reply.toml")
# The built-in rule counts 09:00-23:00 (test_builtin_default_counts_working_hours_only); the
# tests below state the hours they use so that a change of default does not change them.
RULE = dataclasses.replace(BUILTIN, params={**BUILTIN.params, "working_hours": "09:00-23:00"})


def rule(**params):
    return dataclasses.replace(RULE, params={**RULE.params, **params})


def table(rows, tz=TZ, index=None):
    """Message table from (session, time or None, role, text) tuples, in the given order."""
    frame = pd.DataFrame(rows, columns=["session_id", "timestamp", "role", "text"])
    times = pd.to_datetime(frame["timestamp"])
    frame["timestamp"] = times.dt.tz_localize(tz) if tz else times
    frame["agent"] = np.where(frame["role"] == "agent", "小美", "")
    frame["norm"] = frame["text"]
    if index is not None:
        frame.index = index
    return frame


def found(frame, the_rule=RULE, lang="zh"):
    result = run(frame, the_rule, CheckContext(lang=lang, timezone=TZ))
    return list(zip(result["msg"], result["context_msg"], result["reason"]))


def test_check_type_is_registered_and_needs_timestamps():
    assert CHECK_TYPES["reply_gap"].needs_timestamps
    assert RULE.check == "reply_gap" and RULE.severity.value == "major"
    assert RULE.params["max_wait_seconds"] == 300


def test_auto_reply_does_not_answer_the_customer():
    frame = table([
        ("S1", "2026-11-20 14:00:00", "customer", "在吗"),
        ("S1", "2026-11-20 14:00:01", "system", "您好，客服马上就来"),
        ("S1", "2026-11-20 14:07:00", "agent", "您好"),
    ])
    assert found(frame) == [(2, 0, "客户等待 7分钟才得到回复，上限 5分钟")]


def test_reason_in_words_zh_and_en():
    frame = table([
        ("S1", "2026-11-20 10:00:00", "customer", "q"),
        ("S1", "2026-11-20 10:06:33", "agent", "a"),
    ])
    assert found(frame)[0][2] == "客户等待 6分33秒才得到回复，上限 5分钟"
    assert found(frame, lang="en")[0][2] == "customer waited 6 min 33 s for a reply (limit 5 min)"


def test_exactly_the_limit_is_not_late_one_second_more_is():
    on_time = table([("S1", "2026-11-20 10:00:00", "customer", "q"), ("S1", "2026-11-20 10:05:00", "agent", "a")])
    late = table([("S1", "2026-11-20 10:00:00", "customer", "q"), ("S1", "2026-11-20 10:05:01", "agent", "a")])
    assert found(on_time) == []
    assert found(late) == [(1, 0, "客户等待 5分1秒才得到回复，上限 5分钟")]


def test_sub_second_wait_over_the_limit_reads_above_the_limit():
    frame = table([
        ("S1", "2026-11-20 10:00:00.000", "customer", "q"),
        ("S1", "2026-11-20 10:05:00.250", "agent", "a"),
    ])
    assert found(frame)[0][2] == "客户等待 5分1秒才得到回复，上限 5分钟"


def test_several_customer_messages_count_from_the_first():
    frame = table([
        ("S1", "2026-11-20 10:00:00", "customer", "你好"),
        ("S1", "2026-11-20 10:00:30", "customer", "在吗"),
        ("S1", "2026-11-20 10:04:00", "customer", "人呢"),
        ("S1", "2026-11-20 10:05:10", "agent", "在的"),
    ])
    assert found(frame) == [(3, 0, "客户等待 5分10秒才得到回复，上限 5分钟")]


def test_unanswered_end_of_session_and_system_only_replies_are_not_flagged():
    frame = table([
        ("S1", "2026-11-20 10:00:00", "customer", "q"),
        ("S1", "2026-11-20 10:01:00", "agent", "a"),
        ("S1", "2026-11-20 10:02:00", "customer", "谢谢"),
        ("S1", "2026-11-20 10:30:00", "system", "会话结束"),
        ("S2", "2026-11-20 10:40:00", "agent", "您好"),  # a new session, not a reply to S1
    ])
    assert found(frame) == []


def test_agent_follow_up_after_own_message_is_not_a_reply():
    frame = table([
        ("S1", "2026-11-20 10:00:00", "customer", "查退款"),
        ("S1", "2026-11-20 10:02:00", "agent", "请稍等"),
        ("S1", "2026-11-20 10:20:00", "agent", "退款已到账"),
    ])
    assert found(frame) == []


def test_each_turn_is_measured_separately():
    frame = table([
        ("S1", "2026-11-20 10:00:00", "customer", "q1"),
        ("S1", "2026-11-20 10:06:00", "agent", "a1"),
        ("S1", "2026-11-20 10:07:00", "customer", "q2"),
        ("S1", "2026-11-20 10:08:00", "agent", "a2"),
        ("S1", "2026-11-20 10:09:00", "customer", "q3"),
        ("S1", "2026-11-20 10:09:30", "system", "转接中"),
        ("S1", "2026-11-20 10:19:00", "agent", "a3"),
    ])
    assert [(msg, ctx) for msg, ctx, _ in found(frame)] == [(1, 0), (6, 4)]


def test_working_hours_overnight_and_before_opening():
    frame = table([
        ("S1", "2026-11-20 22:58:00", "customer", "q"),   # 2 min + 3 min = 5 min: fine
        ("S1", "2026-11-21 09:03:00", "agent", "a"),
        ("S2", "2026-11-20 22:55:00", "customer", "q"),   # 5 min + 2 min = 7 min: late
        ("S2", "2026-11-21 09:02:00", "agent", "a"),
        ("S3", "2026-11-21 02:00:00", "customer", "q"),   # clock starts at 09:00: 4 min
        ("S3", "2026-11-21 09:04:00", "agent", "a"),
        ("S4", "2026-11-21 08:30:00", "customer", "q"),   # 6 min after opening: late
        ("S4", "2026-11-21 09:06:00", "agent", "a"),
    ])
    assert [(msg, reason) for msg, _, reason in found(frame)] == [
        (3, "客户等待 7分钟才得到回复，上限 5分钟"),
        (7, "客户等待 6分钟才得到回复，上限 5分钟"),
    ]
    all_day = found(frame, rule(working_hours=""))
    assert [msg for msg, _, _ in all_day] == [1, 3, 5, 7]


def test_multi_day_gap_counts_only_working_time():
    frame = table([
        ("S1", "2026-11-20 15:00:00", "customer", "q"),
        ("S1", "2026-11-23 15:00:00", "agent", "a"),
    ])
    assert found(frame)[0][2] == "客户等待 42小时才得到回复，上限 5分钟"


def test_timestamps_in_another_timezone_are_read_in_the_audit_timezone():
    # 01:00 UTC is 09:00 in Shanghai: the shop has just opened, a 6 min wait is late. Read as
    # UTC wall-clock time the message would be outside working hours and only 0 s late.
    frame = table([
        ("S1", "2026-11-20 00:58:00", "customer", "q"),
        ("S1", "2026-11-20 01:06:00", "agent", "a"),
    ], tz="UTC")
    assert found(frame)[0][2] == "客户等待 6分钟才得到回复，上限 5分钟"


def test_naive_timestamps_are_taken_as_local():
    frame = table([("S1", "2026-11-20 22:58:00", "customer", "q"), ("S1", "2026-11-21 09:03:00", "agent", "a")], tz=None)
    assert found(frame) == []


def test_missing_times_skip_only_their_pair():
    frame = table([
        ("S1", None, "customer", "q"),
        ("S1", "2026-11-20 10:30:00", "agent", "a"),
        ("S1", "2026-11-20 10:31:00", "customer", "q2"),
        ("S1", None, "agent", "a2"),
        ("S1", "2026-11-20 11:00:00", "customer", "q3"),
        ("S1", "2026-11-20 11:10:00", "agent", "a3"),
    ])
    assert [(msg, ctx) for msg, ctx, _ in found(frame)] == [(5, 4)]


def test_phone_channel_and_limit_params():
    frame = table([("S1", "2026-11-20 10:00:00", "customer", "喂"), ("S1", "2026-11-20 10:00:40", "agent", "您好")])
    assert found(frame) == []
    assert found(frame, rule(channel="phone"))[0][2] == "客户等待 40秒才得到回复，上限 30秒"
    assert found(frame, rule(max_wait_seconds=30))[0][2] == "客户等待 40秒才得到回复，上限 30秒"


def test_index_labels_are_message_ids():
    frame = table([("S1", "2026-11-20 10:00:00", "customer", "q"), ("S1", "2026-11-20 10:10:00", "agent", "a")],
                  index=[40, 41])
    assert [(msg, ctx) for msg, ctx, _ in found(frame)] == [(41, 40)]


def test_empty_and_agent_only_tables():
    assert found(table([])) == []
    assert found(table([("S1", "2026-11-20 10:00:00", "agent", "a")])) == []


def test_engine_skips_the_rule_without_timestamps():
    frame = table([("S1", None, "customer", "q"), ("S1", None, "agent", "a")])
    findings, skipped = run_checks(frame, [RULE], CheckContext(has_timestamps=False))
    assert findings.empty
    assert [(s.rule, s.reason) for s in skipped] == [("slow-reply", "no timestamps")]


def test_reply_pairs_positions():
    frame = table([
        ("S1", "2026-11-20 10:00:00", "customer", "a"),
        ("S1", "2026-11-20 10:00:01", "system", "b"),
        ("S1", "2026-11-20 10:00:02", "customer", "c"),
        ("S1", "2026-11-20 10:00:03", "agent", "d"),
        ("S1", "2026-11-20 10:00:04", "agent", "e"),
        ("S2", "2026-11-20 10:00:05", "agent", "f"),
        ("S2", "2026-11-20 10:00:06", "customer", "g"),
        ("S3", "2026-11-20 10:00:07", "agent", "h"),
    ])
    waiting, reply = reply_pairs(frame)
    assert waiting.tolist() == [0] and reply.tolist() == [3]


@pytest.mark.parametrize(
    ("text", "windows"),
    [
        ("", None),
        ("00:00-24:00", None),
        ("09:00-23:00", [(32400, 82800)]),
        ("9:00 - 18:30", [(32400, 66600)]),
        ("09:00-12:00, 13:30-18:00", [(32400, 43200), (48600, 64800)]),
        ("20:00-02:00", [(0, 7200), (72000, 86400)]),
        ("22:00-00:00", [(79200, 86400)]),
    ],
)
def test_parse_working_hours(text, windows):
    assert parse_working_hours(text) == windows


@pytest.mark.parametrize("text", ["9-18", "09:00", "25:00-26:00", "09:70-10:00", "10:00-10:00", "09:00-12:00,11:00-13:00"])
def test_bad_working_hours_are_refused(text):
    with pytest.raises(ValueError):
        parse_working_hours(text)
    frame = table([("S1", "2026-11-20 10:00:00", "customer", "q"), ("S1", "2026-11-20 10:10:00", "agent", "a")])
    with pytest.raises(RuleError, match="working_hours"):
        run(frame, rule(working_hours=text), CheckContext())


def test_working_ns_two_windows_and_overnight():
    ns = 1_000_000_000
    day = 86_400 * ns
    lunch = parse_working_hours("09:00-12:00,13:00-18:00")
    start = np.array([11 * 3600 * ns + 55 * 60 * ns])  # 11:55
    end = np.array([13 * 3600 * ns + 5 * 60 * ns])     # 13:05 -> 5 + 5 min
    assert working_ns(start, end, lunch).tolist() == [600 * ns]
    night = parse_working_hours("20:00-02:00")
    start = np.array([day + 23 * 3600 * ns])            # 23:00
    end = np.array([2 * day + 1 * 3600 * ns])           # next day 01:00 -> 2 h
    assert working_ns(start, end, night).tolist() == [7200 * ns]
    assert working_ns(start, end, None).tolist() == [7200 * ns]


@pytest.mark.parametrize(
    ("seconds", "zh", "en"),
    [(393, "6分33秒", "6 min 33 s"), (300, "5分钟", "5 min"), (45, "45秒", "45 s"), (0, "0秒", "0 s"),
     (3600, "1小时", "1 h"), (3900, "1小时5分钟", "1 h 5 min"), (3903, "1小时5分3秒", "1 h 5 min 3 s")],
)
def test_format_duration(seconds, zh, en):
    assert format_duration(seconds, "zh") == zh
    assert format_duration(seconds, "en") == en


def synthetic(n: int, seed: int = 0) -> pd.DataFrame:
    """A sorted message table of n rows, 20 per session, about a minute and a half apart."""
    rng = np.random.default_rng(seed)
    per = 20
    n -= n % per
    sessions = np.repeat(np.arange(n // per), per)
    roles = rng.choice(["customer", "agent", "system"], size=n, p=[0.45, 0.45, 0.10])
    gaps = rng.exponential(90, size=n).astype("int64")
    within = np.cumsum(gaps) - np.repeat(np.cumsum(gaps)[::per], per)
    base = pd.Timestamp("2026-11-20 08:00", tz=TZ).value
    ts = base + (np.repeat(rng.integers(0, 30 * 86_400, n // per), per) + within) * 1_000_000_000
    return pd.DataFrame({
        "session_id": pd.Series(sessions.astype(str), dtype="str"),
        "timestamp": pd.to_datetime(ts, utc=True).tz_convert(TZ),
        "role": pd.Series(roles, dtype="str"),
        "text": pd.Series(["x"] * n, dtype="str"),
    }).sort_values(["session_id", "timestamp"], kind="stable").reset_index(drop=True)


def test_bad_params_are_refused_when_the_rule_loads(tmp_path):
    text = (builtin_rules_dir() / "slow-reply.toml").read_text(encoding="utf-8")
    for old, new, problem in [
        ('working_hours = "09:00-23:00"', 'working_hours = "9点-23点"', "working_hours"),
        ("max_wait_seconds = 300", "max_wait_seconds = -1", "max_wait_seconds"),
    ]:
        path = tmp_path / "slow-reply.toml"
        path.write_text(text.replace(old, new), encoding="utf-8")
        with pytest.raises(RuleError, match=problem) as error:
            load_rule_file(path)
        assert str(path) in str(error.value)


OVERNIGHT = "session_id,timestamp,role,agent,text\n" + "\n".join([
    "N1,2026-11-20 22:58:00,customer,,在吗",
    "N1,2026-11-21 09:03:00,agent,小美,早上好亲，在的",
    "N2,2026-11-21 14:00:00,customer,,在吗",
    "N2,2026-11-21 14:06:00,agent,小美,在的亲",
]) + "\n"


def test_builtin_default_counts_working_hours_only(tmp_path):
    """002 §一.5 counts a wait "during working hours": the rule's default is 09:00-23:00, so a
    question at 22:58 answered at 09:03 waited 5 minutes (not late), while an all-day clock
    (working_hours = "", as a shop sets in qa.toml) finds it late; a 6-minute daytime wait is
    late either way. The rule file, `qa rules explain` and the behaviour say the same."""
    from click.testing import CliRunner

    from qa.audit.run import audit
    from qa.cli import main
    from qa.rules import load_rules, with_working_hours

    assert BUILTIN.params["working_hours"] == "09:00-23:00"
    path = tmp_path / "night.csv"
    path.write_text(OVERNIGHT, encoding="utf-8")
    default = audit([str(path)]).findings
    assert sorted(default.loc[default["rule"] == "slow-reply", "session_id"]) == ["N2"]
    all_day = with_working_hours(load_rules([]), "")
    flagged = audit([str(path)], rules=all_day).findings
    assert sorted(flagged.loc[flagged["rule"] == "slow-reply", "session_id"]) == ["N1", "N2"]
    explained = CliRunner().invoke(main, ["rules", "explain", "slow-reply"]).output
    assert "working_hours = '09:00-23:00'" in explained
    assert "默认 09:00-23:00" in explained
