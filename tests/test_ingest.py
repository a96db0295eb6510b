"""Tests for qa.ingest: formats, encodings, column detection, roles, times, rejections."""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import io
import json
import os
from pathlib import Path

import numpy as np
import openpyxl
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tables import export_rows, write_export

from qa.errors import InputError
from qa.ingest import load_inputs, stream_inputs
from qa.model import MESSAGE_COLUMNS, REJECTED_COLUMNS, UNKNOWN_AGENT

TZ = "Asia/Shanghai"
HEADER = ["session_id", "timestamp", "role", "agent", "text"]


def write_csv(path: Path, rows: list[list[str]], *, encoding: str = "utf-8", delimiter: str = ",") -> str:
    """Write rows (header first) with proper quoting and return the path as a string."""
    buffer = io.StringIO(newline="")
    csv.writer(buffer, delimiter=delimiter, lineterminator="\n").writerows(rows)
    path.write_bytes(buffer.getvalue().encode(encoding))
    return str(path)


def write_text(path: Path, text: str, encoding: str = "utf-8") -> str:
    path.write_bytes(text.encode(encoding))
    return str(path)


def stamp(text: str, tz: str = TZ) -> pd.Timestamp:
    return (
        pd.Timestamp(text).tz_localize(tz)
        if pd.Timestamp(text).tzinfo is None
        else pd.Timestamp(text).tz_convert(tz)
    )


def assert_consistent(result) -> None:
    """Invariants every result must satisfy."""
    messages, rejected = result.messages, result.rejected
    assert list(messages.columns) == MESSAGE_COLUMNS
    assert list(rejected.columns) == REJECTED_COLUMNS
    assert result.input_rows == len(messages) + len(rejected)
    assert list(messages.index) == list(range(len(messages)))
    for name in ("session_id", "text", "role", "agent", "source_file", "source_sheet"):
        assert messages[name].dtype == "str", name
    assert isinstance(messages["timestamp"].dtype, pd.DatetimeTZDtype)
    assert messages["timestamp"].dtype.unit == "ns"
    assert messages["seq"].dtype == "float64"
    assert messages["source_row"].dtype == "int64"
    assert rejected["row"].dtype == "int64"
    assert set(messages["role"]) <= {"agent", "customer", "system"}
    assert (messages["session_id"] != "").all()


# --------------------------------------------------------------------------- basics


def test_basic_csv(tmp_path):
    path = write_csv(
        tmp_path / "day.csv",
        [
            HEADER,
            ["s1", "2026-11-20 14:03:27", "买家", "", "在吗"],
            ["s1", "2026-11-20 14:03:40", "客服", "小王", "您好，在的"],
        ],
    )
    result = load_inputs([path])
    assert_consistent(result)
    m = result.messages
    assert m["text"].tolist() == ["在吗", "您好，在的"]
    assert m["role"].tolist() == ["customer", "agent"]
    assert m["agent"].tolist() == ["", "小王"]
    assert m["timestamp"].tolist() == [stamp("2026-11-20 14:03:27"), stamp("2026-11-20 14:03:40")]
    assert str(m["timestamp"].dtype) == "datetime64[ns, Asia/Shanghai]"
    assert m["source_file"].tolist() == [path, path]
    assert m["source_row"].tolist() == [2, 3]
    assert m["source_sheet"].tolist() == ["", ""]
    assert m["seq"].isna().all()
    assert result.input_rows == 2 and len(result.rejected) == 0
    assert result.has_timestamps and result.files == [path]
    assert result.notes == []


def test_text_kept_as_written_ids_and_roles_stripped(tmp_path):
    path = write_text(
        tmp_path / "a.csv",
        'session_id,role,agent,text\n  s1 , 客服 , 小王 ,"  您好 \r"\n',
    )
    m = load_inputs([path]).messages
    assert m.loc[0, "session_id"] == "s1"
    assert m.loc[0, "agent"] == "小王"
    assert m.loc[0, "text"] == "  您好 "


# --------------------------------------------------------------------------- column aliases

ALIASES = {
    "session_id": [
        "session_id",
        "session",
        "conversation_id",
        "dialogue_id",
        "chat_id",
        "会话ID",
        "会话编号",
        "会话id",
        "对话ID",
        "会话",
    ],
    "timestamp": ["timestamp", "time", "datetime", "created_at", "send_time", "时间", "发送时间", "消息时间"],
    "role": ["role", "sender_role", "sender_type", "发送方", "角色", "发送者身份"],
    "agent": ["agent", "agent_name", "agent_id", "客服", "客服昵称", "客服账号", "接待客服"],
    "text": ["text", "content", "message", "msg", "内容", "消息内容", "聊天内容"],
    "seq": ["seq", "turn", "序号"],
}


@pytest.mark.parametrize(
    ("field", "alias"), [(field, alias) for field, aliases in ALIASES.items() for alias in aliases]
)
def test_column_alias(tmp_path, field, alias):
    names = {
        "session_id": "session_id",
        "timestamp": "timestamp",
        "role": "role",
        "agent": "agent",
        "text": "text",
        "seq": "seq",
    }
    names[field] = f" {alias.upper() if alias.isascii() else alias} "  # case and spaces do not matter
    values = {
        "session_id": "s1",
        "timestamp": "2026-11-20 14:03:27",
        "role": "客服",
        "agent": "小王",
        "text": "您好",
        "seq": "7",
    }
    path = write_csv(tmp_path / "a.csv", [list(names.values()), list(values.values())])
    m = load_inputs([path]).messages
    expected = {
        "session_id": "s1",
        "timestamp": stamp("2026-11-20 14:03:27"),
        "role": "agent",
        "agent": "小王",
        "text": "您好",
        "seq": 7.0,
    }
    assert m.loc[0, field] == expected[field]


@pytest.mark.parametrize(
    "alias", ["sender", "sender_name", "nickname", "from", "发送人", "发送者", "发送者昵称", "昵称"]
)
def test_sender_alias_infers_roles(tmp_path, alias):
    path = write_csv(
        tmp_path / "a.csv",
        [["会话ID", alias, "内容"], ["s1", "顾客甲", "在吗"], ["s1", "旗舰店:小王", "在的"]],
    )
    m = load_inputs([path]).messages
    assert m["role"].tolist() == ["customer", "agent"]
    assert m["agent"].tolist() == ["", "旗舰店:小王"]


def test_staff_named_by_their_post_are_agents(tmp_path):
    """A sender named 员工-…, 客服_… or 客服… is the shop's staff; other nicknames are customers."""
    path = write_csv(
        tmp_path / "a.csv",
        [["会话ID", "发送人", "内容"], ["s1", "🍇葡萄", "在吗"], ["s1", "员工-售后小林", "在的"],
         ["s1", "客服小美", "您说"], ["s1", "店长·阿梅", "好的"], ["s1", "员工甲乙", "嗯"],
         ["s1", "禾木-售前-七七", "这款有货"], ["s1", "售前_阿宁", "可以的"]],
    )
    m = load_inputs([path]).messages
    assert m["role"].tolist() == ["customer", "agent", "agent", "agent", "customer", "agent", "agent"]


def test_staff_named_after_the_shop_and_the_shops_robot(tmp_path):
    """小红书 千帆 names the shop first (雾屿-客服-晴天) and its robot by its post (雾屿-智能助手): staff are
    agents, the robot and 系统消息 the system, a nickname with a dash in it (momo-lee) a customer."""
    path = write_csv(
        tmp_path / "a.csv",
        [["会话编号", "发送者", "接收者", "发送时间", "消息内容"],
         ["x1", "momo-lee", "雾屿-客服-晴天", "2026/12/22 20:15:07", "在吗"],
         ["x1", "雾屿-智能助手", "momo-lee", "2026/12/22 20:15:08", "请问您要咨询什么"],
         ["x1", "雾屿-客服-晴天", "momo-lee", "2026/12/22 20:16:00", "在的 您说"],
         ["x1", "系统消息", "momo-lee", "2026/12/22 20:17:00", "客服已接入"],
         ["x2", "桃子", "雾屿_售后_小满", "2026/12/22 21:00:00", "东西坏了"],
         ["x2", "雾屿_售后_小满", "桃子", "2026/12/22 21:01:00", "我看下"]],
    )
    m = load_inputs([path]).messages
    assert m["role"].tolist() == ["customer", "system", "agent", "system", "customer", "agent"]
    assert sorted(set(m["agent"]) - {""}) == ["雾屿-客服-晴天", "雾屿_售后_小满"]


def test_staff_named_shop_dash_name_are_agents(tmp_path):
    """抖店飞鸽 names a shop's agents 店铺-名字 (拾光家居旗舰店-小橙): the shop part shared by two senders, or
    naming a shop (…旗舰店), makes them agents; a customer's own dashed nickname (小鹿-成都) or id
    (tb_123, 用户_88) stays a customer, the shop's robot the system."""
    path = write_csv(
        tmp_path / "a.csv",
        [["会话ID", "发送方", "消息内容"],
         ["s1", "小鹿-成都", "在吗"], ["s1", "木木良品-阿杰", "在的"],
         ["s2", "tb_123", "发货没"], ["s2", "木木良品-小橙", "今天发"],
         ["s3", "用户_88", "有赠品吗"], ["s3", "柚见官方旗舰店-七七", "有的"], ["s3", "柚见官方旗舰店-智能助手", "欢迎"]],
    )
    m = load_inputs([path]).messages
    assert m["role"].tolist() == ["customer", "agent", "customer", "agent", "customer", "agent", "system"]


def test_one_agent_shop_and_shop_words_make_staff(tmp_path):
    """A shop with one agent and a name no shop word ends (南山小院-阿福) is told by its agent answering
    three sessions; a shop word (…铺, …百货, …女装) is enough on its own; a staff name in Latin letters
    (美妆店-Coco) is no id; a customer's dashed nickname in one session (小鹿-成都) and an id with a
    digit (微信用户-ab_12, 阿狸-jd88) stay customers."""
    path = write_csv(
        tmp_path / "a.csv",
        [["会话ID", "发送人", "消息内容"],
         ["s1", "小鹿-成都", "在吗"], ["s1", "南山小院-阿福", "在的"],
         ["s2", "阿狸-jd88", "发货没"], ["s2", "南山小院-阿福", "今天发"],
         ["s3", "微信用户-ab_12", "有赠品吗"], ["s3", "南山小院-阿福", "有的"],
         ["s4", "夏天", "这个铺子卖什么"], ["s4", "半山零食铺-糖糖", "坚果"],
         ["s5", "冬天", "有货吗"], ["s5", "港货美妆店-Coco", "有的"],
         ["s6", "秋天", "尺码准吗"], ["s6", "南风女装-小桃", "标准码"]],
    )
    m = load_inputs([path]).messages
    assert m["role"].tolist() == ["customer", "agent"] * 6


def test_shop_dash_staff_generic_customers_and_chunks(tmp_path):
    """Generic customer names with an id (微信用户-3721) make no shop; the shop's bare name is its own
    account; two staff of a shop in different chunks of a streamed file still make it a shop from the
    chunk where the second appears (a chunk read before it cannot know: out-of-core chunks are large,
    a limitation the README states)."""
    path = write_csv(
        tmp_path / "a.csv",
        [["会话ID", "发送方", "消息内容"],
         ["s1", "微信用户-3721", "在吗"], ["s1", "木木良品-阿杰", "在的"],
         ["s2", "微信用户-5512", "发货没"], ["s2", "木木良品-小橙", "今天发"],
         ["s3", "木木良品", "欢迎光临"], ["s3", "小鹿", "你好"]],
    )
    roles = ["customer", "agent", "customer", "agent", "agent", "customer"]
    assert load_inputs([path]).messages["role"].tolist() == roles
    assert pd.concat(chunk.messages for chunk in stream_inputs([path], chunk_rows=4))["role"].tolist() == roles
    streamed = pd.concat(chunk.messages for chunk in stream_inputs([path], chunk_rows=3))
    assert streamed["role"].tolist()[3:] == roles[3:]


def test_role_column_holding_names_is_read_as_the_sender(tmp_path):
    """A WeCom archive's 发送方 holds names (王先生, 员工-售后小林, 自动回复), not roles: read as the
    sender, its staff are agents named as written, the auto-reply a system row, nothing rejected."""
    path = write_csv(
        tmp_path / "a.csv",
        [["会话", "发送方", "接收方", "发送时间", "消息内容"],
         ["客户-王先生(wm01)", "自动回复", "王先生", "2026/12/17 14:02", "您好 欢迎咨询"],
         ["客户-王先生(wm01)", "王先生", "员工-售后小林", "2026/12/17 14:03", "空调漏水了"],
         ["客户-王先生(wm01)", "员工-售后小林", "王先生", "2026/12/17 14:04", "我马上安排师傅"],
         ["客户-李女士(wm02)", "李女士", "员工-客服小周", "2026/12/17 15:00", "还没发货"],
         ["客户-李女士(wm02)", "员工-客服小周", "李女士", "2026/12/17 15:01", "我帮您查"]],
    )
    result = load_inputs([path])
    m = result.messages
    role_of = dict(zip(m["text"], m["role"]))
    assert [role_of[text] for text in ("您好 欢迎咨询", "空调漏水了", "我马上安排师傅", "还没发货", "我帮您查")] == [
        "system", "customer", "agent", "customer", "agent"]
    assert dict(zip(m["text"], m["agent"]))["我马上安排师傅"] == "员工-售后小林"
    assert len(result.rejected) == 0
    assert any("'发送方'" in note and "holds names" in note for note in result.notes)


def test_role_column_of_roles_is_kept_despite_a_few_unknown_values(tmp_path):
    path = write_csv(
        tmp_path / "a.csv",
        [["session_id", "发送方", "text"], ["s1", "客户", "在吗"], ["s1", "客服", "在的"], ["s1", "小王", "嗯"]],
    )
    result = load_inputs([path])
    assert result.messages["role"].tolist() == ["customer", "agent"]
    assert len(result.rejected) == 1


def test_bom_in_header_is_ignored(tmp_path):
    path = write_text(tmp_path / "a.csv", "\ufeffsession_id,role,text\ns1,客服,hi\n")
    assert load_inputs([path]).messages.loc[0, "session_id"] == "s1"


# --------------------------------------------------------------------------- encodings, delimiters

CHINESE_ROWS = [
    ["会话ID", "时间", "发送方", "客服昵称", "内容"],
    ["会话一", "2026-11-20 14:03:27", "客服", "小王", "亲，您好～请问有什么可以帮您"],
]


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gbk", "gb18030"])
def test_encodings_detected(tmp_path, encoding):
    path = write_csv(tmp_path / "a.csv", CHINESE_ROWS, encoding=encoding)
    result = load_inputs([path])
    assert result.messages.loc[0, "text"] == "亲，您好～请问有什么可以帮您"
    assert result.messages.loc[0, "session_id"] == "会话一"
    assert result.messages.loc[0, "role"] == "agent"
    assert (f"read {path} as GB18030 (GBK)" in result.notes) == (encoding in ("gbk", "gb18030"))


def test_utf16_tab_separated_excel_unicode_text(tmp_path):
    # Excel's "Unicode text": UTF-16 LE with BOM, tab-separated, CRLF line ends.
    text = "\r\n".join("\t".join(row) for row in CHINESE_ROWS) + "\r\n"
    path = write_text(tmp_path / "a.txt", "\ufeff" + text, encoding="utf-16-le")
    m = load_inputs([path]).messages
    assert m.loc[0, "text"] == "亲，您好～请问有什么可以帮您"
    assert m.loc[0, "agent"] == "小王"


def test_gb18030_detected_past_the_sniffed_head(tmp_path):
    # The first 64 KiB are ASCII (valid UTF-8); the GBK bytes come later.
    rows = [["session_id", "role", "text"]] + [["s1", "buyer", "x" * 100]] * 1000 + [["s2", "客服", "您好"]]
    path = write_csv(tmp_path / "a.csv", rows, encoding="gbk")
    result = load_inputs([path])
    assert result.messages["text"].iloc[-1] == "您好"
    assert len(result.messages) == 1001


def test_utf8_bom_file_with_bad_bytes_is_an_error(tmp_path):
    path = tmp_path / "a.csv"
    path.write_bytes(
        b"\xef\xbb\xbfsession_id,role,text\n" + b"s1,agent,ok\n" * 5000 + "s2,客服,坏".encode("gbk")
    )
    with pytest.raises(InputError, match=r"cannot read .*a\.csv as utf-8-sig"):
        load_inputs([str(path)])


def test_encoding_override(tmp_path):
    path = write_csv(tmp_path / "a.csv", CHINESE_ROWS, encoding="gbk")
    assert load_inputs([path], encoding="gbk").messages.loc[0, "agent"] == "小王"
    with pytest.raises(InputError, match=r"cannot read .*a\.csv as utf-8"):
        load_inputs([path], encoding="utf-8")
    with pytest.raises(InputError, match="unknown encoding 'klingon'"):
        load_inputs([path], encoding="klingon")


@pytest.mark.parametrize(
    ("delimiter", "suffix"), [(",", ".csv"), ("\t", ".csv"), (";", ".csv"), ("\t", ".tsv"), ("\t", ".txt")]
)
def test_delimiters(tmp_path, delimiter, suffix):
    rows = [HEADER, ["s1", "2026-11-20 14:03:27", "客服", "小王", "好的, 亲; 马上\t处理"]]
    path = write_csv(tmp_path / f"a{suffix}", rows, delimiter=delimiter)
    m = load_inputs([path]).messages
    assert m.loc[0, "text"] == "好的, 亲; 马上\t处理"
    assert m.loc[0, "agent"] == "小王"


def test_quoted_newlines_count_as_one_row(tmp_path):
    path = write_csv(
        tmp_path / "a.csv",
        [
            HEADER,
            ["s1", "", "客服", "a", "第一行\n第二行"],
            ["s1", "", "客服", "a", 'say "hi"'],
            ["s1", "", "客服", "a", "x"],
        ],
    )
    result = load_inputs([path])
    assert result.messages["source_row"].tolist() == [2, 3, 4]
    path = write_csv(
        tmp_path / "b.csv",
        [["session_id", "role", "text"], ["s1", "客服", "第一行\n第二行"], ["s1", "客服", 'say "hi"']],
    )
    m = load_inputs([path]).messages
    assert m["text"].tolist() == ["第一行\n第二行", 'say "hi"']
    assert m["source_row"].tolist() == [2, 3]


# --------------------------------------------------------------------------- times

TIMES = [
    ("2026-11-20 14:03:27", "2026-11-20 14:03:27+08:00"),
    ("2026/11/20 14:03", "2026-11-20 14:03:00+08:00"),
    ("2026/11/20 14:03:27", "2026-11-20 14:03:27+08:00"),
    ("2026-11-20 14:03", "2026-11-20 14:03:00+08:00"),
    ("2026-1-5 9:03:07", "2026-01-05 09:03:07+08:00"),
    ("2026-11-20T14:03:27", "2026-11-20 14:03:27+08:00"),
    ("2026-11-20 14:03:27.250", "2026-11-20 14:03:27.250+08:00"),
    ("2026年11月20日 14:03:27", "2026-11-20 14:03:27+08:00"),
    ("2026-11-20T14:03:27+08:00", "2026-11-20 14:03:27+08:00"),
    ("2026-11-20T06:03:27Z", "2026-11-20 14:03:27+08:00"),
    ("2026-11-20T07:03:27+01:00", "2026-11-20 14:03:27+08:00"),
    ("1763618607", "2025-11-20 14:03:27+08:00"),  # epoch seconds: a UTC instant
    ("1763618607000", "2025-11-20 14:03:27+08:00"),  # epoch milliseconds
    ("1763618607123", "2025-11-20 14:03:27.123+08:00"),
    ("1999999999", "2033-05-18 11:33:19+08:00"),  # digits only: epoch, not 1999-09-09 09:09:09
    ("46346.58", "2026-11-20 13:55:12+08:00"),  # Excel serial date, local
]


@pytest.mark.parametrize(("raw", "expected"), TIMES)
def test_time_formats(tmp_path, raw, expected):
    path = write_csv(tmp_path / "a.csv", [HEADER, ["s1", raw, "客服", "a", "hi"]])
    result = load_inputs([path])
    assert result.rejected.empty, result.rejected.to_dict("records")
    assert result.messages.loc[0, "timestamp"] == pd.Timestamp(expected)


def test_mixed_time_formats_in_one_column(tmp_path):
    rows = [HEADER] + [["s1", raw, "客服", "a", f"m{i}"] for i, (raw, _) in enumerate(TIMES)]
    result = load_inputs([write_csv(tmp_path / "a.csv", rows)])
    assert result.rejected.empty
    by_text = dict(zip(result.messages["text"], result.messages["timestamp"], strict=True))
    assert [by_text[f"m{i}"] for i in range(len(TIMES))] == [pd.Timestamp(e) for _, e in TIMES]


def test_layout_missing_from_the_sniffed_sample_still_parses(tmp_path):
    # The first 300 rows use one layout; others appear only further down.
    rows = [HEADER] + [["s1", "2026-11-20 14:03:27", "客服", "a", f"m{i}"] for i in range(300)]
    rows += [
        ["s2", "2026/11/21 09:00", "客服", "a", "late"],
        ["s3", "20261122080000", "客服", "a", "compact"],
    ]
    result = load_inputs([write_csv(tmp_path / "a.csv", rows)])
    assert result.rejected.empty
    assert result.messages["timestamp"].iloc[-2:].tolist() == [
        pd.Timestamp("2026-11-21 09:00+08:00"),
        pd.Timestamp("2026-11-22 08:00+08:00"),
    ]


def test_out_of_range_times_are_rejected(tmp_path):
    rows = [HEADER, ["s1", "9999-12-31 00:00:00", "客服", "a", "x"], ["s1", "1800-01-01", "客服", "a", "y"]]
    reasons = load_inputs([write_csv(tmp_path / "a.csv", rows)]).rejected["reason"].tolist()
    assert reasons == ["unparseable time '9999-12-31 00:00:00'", "unparseable time '1800-01-01'"]


def test_timezone_option(tmp_path):
    path = write_csv(
        tmp_path / "a.csv",
        [HEADER, ["s1", "2026-11-20 14:03:27", "客服", "a", "x"], ["s2", "1763618607", "客服", "a", "y"]],
    )
    m = load_inputs([path], timezone="Europe/Berlin").messages
    assert str(m["timestamp"].dtype) == "datetime64[ns, Europe/Berlin]"
    assert m.loc[0, "timestamp"] == pd.Timestamp("2026-11-20 14:03:27", tz="Europe/Berlin")
    assert m.loc[1, "timestamp"] == pd.Timestamp("2025-11-20 06:03:27", tz="UTC")
    with pytest.raises(InputError, match="unknown timezone 'Mars/Olympus'"):
        load_inputs([path], timezone="Mars/Olympus")


def test_time_column_without_any_value_means_no_times(tmp_path):
    path = write_csv(tmp_path / "a.csv", [HEADER, ["s1", "", "客服", "a", "x"], ["s1", " ", "买家", "", "y"]])
    result = load_inputs([path])
    assert result.rejected.empty and result.messages["timestamp"].isna().all()
    assert not result.has_timestamps
    assert f"time column 'timestamp' in {path} is empty: time-based rules skipped" in result.notes


def test_no_time_column(tmp_path):
    path = write_csv(tmp_path / "a.csv", [["session_id", "role", "text"], ["s1", "客服", "hi"]])
    result = load_inputs([path])
    assert_consistent(result)
    assert result.messages["timestamp"].isna().all()
    assert str(result.messages["timestamp"].dtype) == "datetime64[ns, Asia/Shanghai]"
    assert not result.has_timestamps
    assert f"no timestamp column in {path}: time-based rules skipped" in result.notes


# --------------------------------------------------------------------------- roles and agents

ROLE_VALUES = [
    *[(v, "agent") for v in ["agent", "AGENT", "客服", "商家", "seller", "staff", "1", " Agent "]],
    *[(v, "customer") for v in ["customer", "买家", "顾客", "用户", "客户", "buyer", "user", "0", "Buyer",
                                # 唯品会 names the customer 会员; 快手 a follower 粉丝; a guest 游客
                                "会员", "粉丝", "游客", "Member"]],
    *[(v, "system") for v in ["system", "系统", "机器人", "bot", "robot", "自动回复", "ROBOT"]],
]


@pytest.mark.parametrize(("value", "role"), ROLE_VALUES)
def test_role_values(tmp_path, value, role):
    path = write_csv(tmp_path / "a.csv", [["session_id", "role", "text"], ["s1", value, "hi"]])
    assert load_inputs([path]).messages.loc[0, "role"] == role


@pytest.mark.parametrize("alias", ["is_agent", "是否客服发送", "是否客服"])
def test_agent_flag_column(tmp_path, alias):
    path = write_csv(
        tmp_path / "a.csv",
        [["session_id", alias, "text"], ["s1", "0", "在吗"], ["s1", "1", "在的"], ["s1", "2", "?"]],
    )
    result = load_inputs([path])
    assert result.messages["role"].tolist() == ["customer", "agent"]
    assert result.messages["agent"].tolist() == ["", UNKNOWN_AGENT]
    assert result.rejected["reason"].tolist() == [f"unknown {alias} value '2'"]


def test_role_column_wins_over_agent_flag(tmp_path):
    # jddc2019 exports carry both; they must not conflict.
    path = write_csv(
        tmp_path / "a.csv", [["session_id", "role", "is_agent", "content"], ["s1", "客户", "1", "hi"]]
    )
    assert load_inputs([path]).messages.loc[0, "role"] == "customer"


def test_nickname_inference(tmp_path):
    rows = [
        ["会话ID", "发送者昵称", "内容"],
        ["s1", "tb_buyer_88", "在吗"],
        ["s1", "某某旗舰店:小王", "在的"],
        ["s1", "某某旗舰店：小李", "全角冒号"],
        ["s1", "系统消息", "会话已转接"],
        ["s1", "自动回复", "您好"],
        ["s1", "旗舰店:机器人小蜜", "自动"],
        ["s1", ":奇怪", "冒号开头"],
        # a nickname ending in a smiley is a customer's, not 店铺名:客服名
        ["s1", "momo:)", "笑脸"],
        ["s1", "小鹿:-)", "笑脸"],
        ["s1", "lily:P", "吐舌"],
        ["s1", "小猫:3", "猫嘴"],
    ]
    result = load_inputs([write_csv(tmp_path / "a.csv", rows)])
    m = result.messages
    assert m["role"].tolist() == ["customer", "agent", "agent", "system", "system", "system", "customer",
                                  "customer", "customer", "customer", "customer"]
    assert m["agent"].tolist() == ["", "某某旗舰店:小王", "某某旗舰店：小李", "", "", "", "", "", "", "", ""]
    assert any("roles inferred from nicknames" in n for n in result.notes)


def test_agent_pattern_overrides_nickname_rule(tmp_path):
    rows = [
        ["session_id", "sender", "text"],
        ["s1", "客服-小王", "在的"],
        ["s1", "店:顾客", "hi"],
        ["s1", "系统", "x"],
    ]
    m = load_inputs([write_csv(tmp_path / "a.csv", rows)], agent_pattern=r"^客服-").messages
    assert m["role"].tolist() == ["agent", "customer", "system"]
    assert m["agent"].tolist() == ["客服-小王", "", ""]
    with pytest.raises(InputError, match="invalid agent pattern"):
        load_inputs([str(tmp_path / "a.csv")], agent_pattern="(")


def test_sender_names_agent_when_role_column_exists(tmp_path):
    rows = [
        ["session_id", "role", "sender", "text"],
        ["s1", "客服", "店:小王", "hi"],
        ["s1", "买家", "tb1", "yo"],
    ]
    assert load_inputs([write_csv(tmp_path / "a.csv", rows)]).messages["agent"].tolist() == ["店:小王", ""]


def test_agent_column_values(tmp_path):
    rows = [
        HEADER,
        ["s1", "2026-11-20 14:00:00", "客服", "", "a"],
        ["s1", "2026-11-20 14:00:01", "买家", " 小王 ", "b"],
        ["s1", "2026-11-20 14:00:02", "系统", "", "c"],
    ]
    m = load_inputs([write_csv(tmp_path / "a.csv", rows)]).messages
    assert m["agent"].tolist() == [UNKNOWN_AGENT, "小王", ""]


def test_no_agent_column(tmp_path):
    path = write_csv(
        tmp_path / "a.csv", [["session_id", "role", "text"], ["s1", "客服", "a"], ["s1", "买家", "b"]]
    )
    result = load_inputs([path])
    assert result.messages["agent"].tolist() == [UNKNOWN_AGENT, ""]
    assert f"no agent column in {path}: agent set to (unknown)" in result.notes


# --------------------------------------------------------------------------- rejections


def test_every_rejection_reason_with_row_numbers(tmp_path):
    text = (
        "session_id,timestamp,role,text\n"  # row 1
        "s1,2026-11-20 14:03:27,客服,ok\n"  # 2
        's2,2026-11-20 14:03:28,买家,"two\nlines"\n'  # 3 (one record over two lines)
        ",2026-11-20 14:03:29,客服,no session\n"  # 4
        "s3,2026-11-20 14:03:30,,   \n"  # 5 (no sender and no text: nothing says a message was sent)
        "s4,2026-11-20 14:03:31,wizard,x\n"  # 6
        "s5,不是时间,客服,x\n"  # 7
        "s6,,客服,x\n"  # 8
        "s7,2026-11-20 14:03:32,客服,x,extra\n"  # 9
        "\n"  # 10: blank, skipped and not counted
        "s8,2026-11-20 14:03:33\n"  # 11
        "s9,2026-11-20 14:03:34,,x\n"  # 12
        "s10,2026-11-20 14:03:35,客服,ok too\n"  # 13
    )
    path = write_text(tmp_path / "bad.csv", text)
    result = load_inputs([path])
    assert_consistent(result)
    assert result.messages["source_row"].tolist() == [2, 13, 3]  # sorted by session id: s1, s10, s2
    rejected = result.rejected
    assert rejected["file"].tolist() == [path] * 8
    assert rejected["row"].tolist() == [4, 5, 6, 7, 8, 9, 11, 12]
    assert rejected["reason"].tolist() == [
        "empty session id",
        "empty text",
        "unknown role 'wizard'",
        "unparseable time '不是时间'",
        "empty time",
        "expected 4 fields, found 5",
        "expected 4 fields, found 2",
        "empty role",
    ]
    assert rejected["raw"].tolist()[:2] == [
        ",2026-11-20 14:03:29,客服,no session",
        "s3,2026-11-20 14:03:30,,   ",
    ]
    assert rejected["raw"].iloc[5] == "s7,2026-11-20 14:03:32,客服,x,extra"
    assert result.input_rows == 11
    assert any("1 blank row" in n for n in result.notes)


def test_raw_is_truncated(tmp_path):
    path = write_csv(tmp_path / "a.csv", [["session_id", "role", "text"], ["", "客服", "长" * 500]])
    raw = load_inputs([path]).rejected.loc[0, "raw"]
    assert 150 <= len(raw) <= 201 and raw.startswith(",客服,长")


def test_all_rows_rejected_gives_typed_empty_table(tmp_path):
    path = write_csv(tmp_path / "a.csv", [HEADER, ["", "2026-11-20 14:03:27", "客服", "a", "x"]])
    result = load_inputs([path])
    assert_consistent(result)
    assert result.messages.empty and len(result.rejected) == 1


def test_excel_style_empty_rows_are_skipped(tmp_path):
    path = write_text(tmp_path / "a.csv", "session_id,role,text\ns1,客服,hi\n,,\n,,\ns2,买家,yo\n")
    result = load_inputs([path])
    assert result.input_rows == 2 and result.rejected.empty
    assert result.messages["source_row"].tolist() == [2, 5]


# --------------------------------------------------------------------------- sorting


def test_sorted_by_session_time_seq_then_input_order(tmp_path):
    rows = [
        ["session_id", "timestamp", "seq", "role", "text"],
        ["b", "2026-11-20 10:00:05", "", "客服", "b2"],
        ["a", "2026-11-20 10:00:09", "", "买家", "a3"],
        ["b", "2026-11-20 10:00:01", "", "买家", "b1"],
        ["a", "2026-11-20 10:00:01", "2", "客服", "a2"],
        ["a", "2026-11-20 10:00:01", "1", "买家", "a1"],
        ["b", "2026-11-20 10:00:05", "", "客服", "b3"],  # same time as b2: input order
    ]
    m = load_inputs([write_csv(tmp_path / "a.csv", rows)]).messages
    assert m["text"].tolist() == ["a1", "a2", "a3", "b1", "b2", "b3"]
    assert m["seq"].tolist()[:2] == [1.0, 2.0]


def test_sort_without_times_keeps_file_order_across_files(tmp_path):
    first = write_csv(
        tmp_path / "1.csv", [["session_id", "role", "text"], ["s", "买家", "x1"], ["t", "买家", "y1"]]
    )
    second = write_csv(
        tmp_path / "2.csv", [["session_id", "role", "text"], ["s", "客服", "x2"], ["t", "客服", "y2"]]
    )
    result = load_inputs([first, second])
    assert result.messages["text"].tolist() == ["x1", "x2", "y1", "y2"]
    assert result.messages["source_file"].tolist() == [first, second, first, second]
    assert result.files == [first, second]


# --------------------------------------------------------------------------- inputs


def _chat(path: Path, session: str) -> str:
    delimiter = "\t" if path.suffix == ".tsv" else ","
    return write_csv(path, [["session_id", "role", "text"], [session, "客服", "hi"]], delimiter=delimiter)


def test_directory_input(tmp_path):
    folder = tmp_path / "logs"
    folder.mkdir()
    _chat(folder / "b.csv", "b")
    _chat(folder / "a.tsv", "a")
    _chat(folder / ".hidden.csv", "h")
    _chat(folder / "~$lock.csv", "l")
    (folder / "README.md").write_text("notes")
    (folder / "readme.txt").write_text("notes")
    (folder / "photo.png").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00")
    (folder / "sub").mkdir()
    _chat(folder / "sub" / "c.csv", "c")
    result = load_inputs([str(folder)])
    # sub-folders are read through (a day a folder): they were once passed over without a word
    assert result.files == [os.path.join(str(folder), "a.tsv"), os.path.join(str(folder), "b.csv"),
                            os.path.join(str(folder), "sub", "c.csv")]
    assert sorted(result.messages["session_id"]) == ["a", "b", "c"]


def test_glob_input_and_duplicates(tmp_path):
    for name in ("x1.csv", "x2.csv", "y.csv"):
        _chat(tmp_path / name, name)
    pattern = str(tmp_path / "x*.csv")
    result = load_inputs([pattern, str(tmp_path / "x1.csv")])
    assert result.files == [str(tmp_path / "x1.csv"), str(tmp_path / "x2.csv")]
    with pytest.raises(InputError, match="no supported files match"):
        load_inputs([str(tmp_path / "zz*.csv")])


def test_several_inputs_merge_notes_and_timestamps(tmp_path):
    timed = write_csv(
        tmp_path / "t.csv",
        [["session_id", "time", "role", "text"], ["s", "2026-11-20 10:00:00", "客服", "x"]],
    )
    plain1 = _chat(tmp_path / "p1.csv", "p")
    plain2 = _chat(tmp_path / "p2.csv", "q")
    result = load_inputs([timed, plain1, plain2])
    assert result.has_timestamps
    assert f"no timestamp column in {plain1}, {plain2}: time-based rules skipped" in result.notes


# --------------------------------------------------------------------------- column overrides and errors


def test_column_override(tmp_path):
    rows = [["对话", "消息", "身份", "说明"], ["s1", "您好", "客服", "说明文字"]]
    path = write_csv(tmp_path / "a.csv", rows)
    m = load_inputs([path], columns={"session_id": "对话", "text": "消息", "role": "身份"}).messages
    assert (m.loc[0, "session_id"], m.loc[0, "text"], m.loc[0, "role"]) == ("s1", "您好", "agent")


def test_column_override_errors(tmp_path):
    path = write_csv(tmp_path / "a.csv", [["session_id", "role", "text"], ["s1", "客服", "hi"]])
    with pytest.raises(
        InputError, match=r"^unknown field 'words' in --column; fields: session_id, text, role"
    ):
        load_inputs([path], columns={"words": "text"})
    with pytest.raises(InputError) as info:
        load_inputs([path], columns={"text": "消息"})
    assert str(info.value) == f"column '消息' for text not found in {path}; found: session_id, role, text"


def test_alias_conflict_error_and_override_resolves_it(tmp_path):
    rows = [["session_id", "会话ID", "role", "text"], ["s1", "c1", "客服", "hi"]]
    path = write_csv(tmp_path / "a.csv", rows)
    with pytest.raises(InputError) as info:
        load_inputs([path])
    assert str(info.value) == (
        f"columns 'session_id' and '会话ID' both look like session_id in {path}; use --column session_id=NAME"
    )
    assert load_inputs([path], columns={"session_id": "会话ID"}).messages.loc[0, "session_id"] == "c1"


def test_missing_column_error_text(tmp_path):
    path = write_csv(
        tmp_path / "x.csv", [["会话ID", "时间", "发送方"], ["s1", "2026-11-20 14:03:27", "客服"]]
    )
    with pytest.raises(InputError) as info:
        load_inputs([path])
    assert (
        str(info.value)
        == f"missing column for text in {path}; found: 会话ID, 时间, 发送方; use --column text=NAME"
    )
    path = write_csv(tmp_path / "y.csv", [["会话ID", "内容"], ["s1", "hi"]])
    with pytest.raises(
        InputError,
        match=r"^missing column for role in .*y\.csv; found: 会话ID, 内容; use --column role=NAME$",
    ):
        load_inputs([path])


def test_file_errors(tmp_path):
    empty = write_text(tmp_path / "empty.csv", "")
    blank = write_text(tmp_path / "blank.csv", "\n\n  \n")
    header_only = write_text(tmp_path / "header.csv", "session_id,role,text\n")
    png = tmp_path / "photo.csv"
    png.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x10")
    cases = {
        empty: f"{empty} is empty",
        blank: f"{blank} is empty",
        header_only: f"{header_only} has no data rows (only a header)",
        str(png): f"cannot read {png}: not a text file (binary content)",
        "no/such.csv": "no such file: no/such.csv",
    }
    for path, message in cases.items():
        with pytest.raises(InputError) as info:
            load_inputs([path])
        assert str(info.value) == message
    (tmp_path / "doc.pdf").write_bytes(b"%PDF")
    with pytest.raises(InputError, match=r"unsupported file type: .*doc\.pdf"):
        load_inputs([str(tmp_path / "doc.pdf")])
    with pytest.raises(InputError, match="no input files given"):
        load_inputs([])
    (tmp_path / "nothing").mkdir()
    with pytest.raises(InputError, match="no supported files in"):
        load_inputs([str(tmp_path / "nothing")])


# --------------------------------------------------------------------------- Excel


def _workbook(path: Path, sheets: dict[str, list[list[object]]]) -> str:
    book = openpyxl.Workbook()
    book.remove(book.active)
    for name, rows in sheets.items():
        sheet = book.create_sheet(name)
        for row in rows:
            sheet.append(row)
    book.save(path)
    return str(path)


def test_xlsx_english_headers_epoch_ms(tmp_path):
    rows = [
        ["Session_ID", "Timestamp", "Role", "Agent", "Text", "Seq"],
        [12345, 1763618607000, "agent", "Amy", "hello", 1],
        [],  # a blank row keeps its number
        [12345, 1763618608000, "customer", None, "hi", 2],
        ["s2", dt.datetime(2026, 11, 20, 14, 3, 27), "customer", None, "typed date", None],
        ["s3", 46346.58, "agent", "Bo", "serial", None],
        ["s4", "不是时间", "agent", "Bo", "bad", None],
    ]
    path = _workbook(tmp_path / "chat.xlsx", {"chats": rows})
    result = load_inputs([path])
    assert_consistent(result)
    m = result.messages
    assert m["session_id"].tolist() == ["12345", "12345", "s2", "s3"]
    assert m["source_row"].tolist() == [2, 4, 5, 6]
    assert m["source_sheet"].tolist() == ["chats"] * 4
    assert m["timestamp"].tolist() == [
        pd.Timestamp("2025-11-20 14:03:27+08:00"),
        pd.Timestamp("2025-11-20 14:03:28+08:00"),
        pd.Timestamp("2026-11-20 14:03:27+08:00"),
        pd.Timestamp("2026-11-20 13:55:12+08:00"),
    ]
    assert m["agent"].tolist() == ["Amy", "", "", "Bo"]
    assert m["seq"].tolist()[:2] == [1.0, 2.0]
    assert result.rejected.to_dict("records") == [
        {"file": path, "row": 7, "reason": "unparseable time '不是时间'", "raw": "s4,不是时间,agent,Bo,bad,"}
    ]


def test_an_export_notes_sheet_is_called_a_cover_not_a_field_dictionary(tmp_path):
    """有赞: a first sheet 导出说明 (shop, export time, filters) before the 聊天记录 sheet is a cover sheet; only a
    sheet named for the fields (字段说明, 数据字典, 说明 alone) is called the field dictionary."""
    path = _workbook(
        tmp_path / "youzan.xlsx",
        {
            "导出说明": [["店铺：栖暖生活馆"], ["导出时间：2026-12-05 18:30"]],
            "聊天记录": [["会话编号", "角色", "消息内容"], ["y1", "客服", "在的"]],
        },
    )
    notes = load_inputs([path]).notes
    assert any("sheet '导出说明'" in note and "a cover sheet" in note for note in notes), notes
    assert not any("field dictionary" in note for note in notes)
    # a legend sheet named otherwise (数据说明, 代码说明) still tells the role codes
    for legend in ("数据说明", "代码说明", "说明 "):
        coded = _workbook(
            tmp_path / f"coded-{legend.strip()}.xlsx",
            {
                "聊天记录": [["会话编号", "发送方类型", "消息内容"], ["y1", "2", "在吗"], ["y1", "1", "在的"]],
                legend: [["字段", "取值"], ["发送方类型", "1-客服；2-买家"]],
            },
        )
        assert load_inputs([coded]).messages["role"].tolist() == ["customer", "agent"], legend


def test_xlsx_sheet_selection(tmp_path):
    path = _workbook(
        tmp_path / "book.xlsx",
        {
            "说明": [["导出说明"], ["本文件由系统导出"]],
            "day1": [["会话ID", "发送方", "内容"], ["d1", "客服", "one"]],
            "day2": [["会话ID", "发送方", "内容"], ["d2", "客服", "two"]],
        },
    )
    # default: every sheet with the needed columns (one sheet per day or per agent), the cover skipped
    result = load_inputs([path])
    assert result.messages["session_id"].tolist() == ["d1", "d2"]
    assert result.messages["source_sheet"].tolist() == ["day1", "day2"]
    assert any("read sheets 'day1', 'day2'" in note for note in result.notes)
    assert any("sheet '说明'" in note and "skipped" in note for note in result.notes)
    assert load_inputs([path], sheet="day2").messages["session_id"].tolist() == ["d2"]
    with pytest.raises(InputError) as info:
        load_inputs([path], sheet="day3")
    assert str(info.value) == f"no sheet 'day3' in {path}; sheets: 说明, day1, day2"
    with pytest.raises(InputError, match=r"missing column for session_id in .*\(sheet '说明'\)"):
        load_inputs([path], sheet="说明")


def test_xlsx_sheets_per_agent_all_audited_and_rejections_name_their_sheet(tmp_path):
    """A workbook with one sheet per agent loses no sheet; a rejected row names file, sheet and row."""
    path = _workbook(
        tmp_path / "agents.xlsx",
        {
            "小桃": [["会话ID", "发送方", "内容"], ["a1", "客户", "在吗"], ["a1", "客服", "在的"]],
            "阿北": [["会话ID", "发送方", "内容"], ["b1", "客户", "发货了吗"], ["b1", "火星人", "?"],
                     ["b1", "客服", "发了"]],
        },
    )
    result = load_inputs([path])
    assert sorted(set(result.messages["source_sheet"])) == ["小桃", "阿北"]
    assert len(result.messages) == 4
    assert result.rejected[["file", "row"]].values.tolist() == [[f"{path} (sheet '阿北')", 3]]


def test_xlsx_header_below_blank_rows(tmp_path):
    book = openpyxl.Workbook()
    sheet = book.active
    sheet["B3"], sheet["C3"], sheet["D3"] = "session_id", "role", "text"
    sheet["B4"], sheet["C4"], sheet["D4"] = "s1", "客服", "hi"
    book.save(tmp_path / "a.xlsx")
    m = load_inputs([str(tmp_path / "a.xlsx")]).messages
    assert m["source_row"].tolist() == [4]


def test_xlsx_cells_merged_over_a_session_s_rows_hold_their_value(tmp_path):
    """A BI report writes a session's id and agent once, merged over the session's rows (the other
    cells of the merge are empty in the file): every row is audited under its session; a title
    merged across the columns stays a title. The sheet starts at B2, so merges are placed by
    Excel's own coordinates."""
    book = openpyxl.Workbook()
    sheet = book.active
    sheet["B2"] = "会话明细报表"
    sheet.merge_cells("B2:E2")
    rows = [["会话ID", "客服账号", "角色", "内容"],
            ["s1", "小北", "顾客", "水壶漏水了"], [None, None, "客服", "抱歉 马上给您换"], [None, None, "顾客", "好"],
            ["s2", "阿芳", "顾客", "发票怎么开"], [None, None, "客服", "订单页申请就行"]]
    for offset, values in enumerate(rows):
        for column, value in zip("BCDE", values):
            if value is not None:
                sheet[f"{column}{4 + offset}"] = value
    sheet.merge_cells("B5:B7")
    sheet.merge_cells("C5:C7")
    sheet.merge_cells("B8:B9")
    sheet.merge_cells("C8:C9")
    book.save(tmp_path / "bi.xlsx")
    result = load_inputs([str(tmp_path / "bi.xlsx")])
    assert result.rejected.empty
    m = result.messages
    assert m["session_id"].tolist() == ["s1", "s1", "s1", "s2", "s2"]
    assert m["source_row"].tolist() == [5, 6, 7, 8, 9]
    assert m.loc[m["role"] == "agent", "agent"].tolist() == ["小北", "阿芳"]
    assert any("merges over several rows" in note for note in result.notes)


def test_no_session_column_a_session_is_the_customer_s_conversation(tmp_path):
    """A 千牛 export keyed by the buyer's 旺旺 has no session column: a session is the customer's
    conversation, one per 会话开始 when the export gives it; without one, the customer's."""
    header = "买家旺旺,客服子账号,会话开始,发送时间,发送人,消息\n"
    body = ("tb_1,店:可可,2026/12/17 14:03,2026/12/17 14:03:10,tb_1,在吗\n"
            "tb_1,店:可可,2026/12/17 14:03,2026/12/17 14:03:40,店:可可,在的\n"
            "tb_2,店:可可,2026/12/17 14:05,2026/12/17 14:05:00,tb_2,发货了吗\n"
            "tb_1,店:可可,2026/12/17 18:20,2026/12/17 18:20:00,tb_1,又是我\n")
    (tmp_path / "qn.csv").write_text(header + body, encoding="utf-8")
    result = load_inputs([str(tmp_path / "qn.csv")])
    assert sorted(set(result.messages["session_id"])) == [
        "tb_1 · 2026/12/17 14:03", "tb_1 · 2026/12/17 18:20", "tb_2 · 2026/12/17 14:05"]
    assert any("no session column" in note and "买家旺旺" in note for note in result.notes)
    (tmp_path / "plain.csv").write_text(header.replace("会话开始,", "") + "".join(
        ",".join(line.split(",")[:2] + line.split(",")[3:]) + "\n" for line in body.splitlines()), encoding="utf-8")
    plain = load_inputs([str(tmp_path / "plain.csv")]).messages
    assert sorted(set(plain["session_id"])) == ["tb_1 · 2026-12-17", "tb_2 · 2026-12-17"]


def test_without_a_session_column_or_start_a_customer_s_day_is_a_session(tmp_path):
    """企业微信 exports name the customer, not the session: the customer who comes back the next day
    starts another session (a 20-hour wait is no slow reply), a chat past midnight does not; with no
    times the customer's whole conversation stays one."""
    header = "客服账号,客户昵称,消息方向,日期,时间,内容\n"
    body = ("暖居-大熊,老周,客户发送,2026-11-28,21:50,灯不亮了\n"
            "暖居-大熊,老周,客服发送,2026-11-28,21:52,麻烦拍个视频\n"
            "暖居-大熊,老周,客户发送,2026-11-29,09:05,视频发你了\n"
            "暖居-大熊,阿兰,客户发送,2026-11-29,09:06,在吗\n"
            "暖居-大熊,阿兰,客户发送,2026-11-29,23:58,还在吗\n"
            "暖居-大熊,阿兰,客服发送,2026-11-30,00:04,在的\n")
    (tmp_path / "wx.csv").write_text(header + body, encoding="utf-8")
    result = load_inputs([str(tmp_path / "wx.csv")])
    assert result.messages["session_id"].tolist() == [
        "老周 · 2026-11-28", "老周 · 2026-11-28", "老周 · 2026-11-29", "阿兰 · 2026-11-29", "阿兰 · 2026-11-29",
        "阿兰 · 2026-11-29"]  # a chat past midnight stays one: days start at 04:00
    assert any("one per day" in note for note in result.notes)
    (tmp_path / "nt.csv").write_text("客户昵称,消息方向,内容\n老周,客户发送,在吗\n老周,客服发送,在的\n",
                                     encoding="utf-8")
    assert load_inputs([str(tmp_path / "nt.csv")]).messages["session_id"].tolist() == ["老周", "老周"]


def test_times_without_a_year_and_day_first_times(tmp_path):
    """拼多多 writes 12-17 10:02 (no year): read in the current year, or the year before when that
    would put it more than a month ahead, with a note; a European-locale Excel writes 17.12.2026 09:05."""
    now = pd.Timestamp.now(tz="Asia/Shanghai")
    ahead = (now + pd.Timedelta(days=60)).strftime("%m-%d")
    (tmp_path / "pdd.csv").write_text(
        "会话ID,发送方,时间,消息内容\n"
        f"a,买家,{now.strftime('%m-%d')} 23:58,在吗\n"
        f"b,买家,{ahead} 10:00,你好\n", encoding="utf-8")
    result = load_inputs([str(tmp_path / "pdd.csv")])
    assert result.rejected.empty
    years = dict(zip(result.messages["session_id"], result.messages["timestamp"].dt.year))
    assert years["a"] == now.year
    assert years["b"] == (now + pd.Timedelta(days=60)).year - 1
    assert any("without a year" in note for note in result.notes)
    (tmp_path / "eu.csv").write_text("会话ID;发送方;时间;消息内容\nx;买家;17.12.2026 09:05;在吗\n", encoding="utf-8")
    stamp = load_inputs([str(tmp_path / "eu.csv")]).messages["timestamp"].iloc[0]
    assert (stamp.year, stamp.month, stamp.day, stamp.hour, stamp.minute) == (2026, 12, 17, 9, 5)


def test_more_export_shapes_read_without_options(tmp_path):
    """A helpdesk's English export (ticket_id, author_type end-user/agent, body), a 消息发送者 column
    of roles, a recalled message's notice (消息类型 撤回消息) as a system row."""
    (tmp_path / "desk.csv").write_text(
        "ticket_id,author_type,author_name,created_at,body\n"
        "7,end-user,Amy,2026-12-17T06:03:21Z,<p>脸发红</p>\n"
        "7,agent,Lena,2026-12-17T06:05:04Z,<p>很抱歉 先停用</p>\n", encoding="utf-8")
    desk = load_inputs([str(tmp_path / "desk.csv")]).messages
    assert desk["role"].tolist() == ["customer", "agent"] and desk["agent"].tolist()[1] == "Lena"
    (tmp_path / "fg.csv").write_text(
        "会话ID,客服昵称,消息发送者,发送时间,消息类型,消息内容\n"
        "f1,小林,用户,2026-12-17 10:00:00,文本,在吗\n"
        "f1,小林,客服,2026-12-17 10:00:20,撤回消息,客服撤回了一条消息\n"
        "f1,小林,客服,2026-12-17 10:00:30,文本,在的\n", encoding="utf-8")
    assert load_inputs([str(tmp_path / "fg.csv")]).messages["role"].tolist() == ["customer", "system", "agent"]


def test_an_api_dump_naming_the_sender_by_from_role_reads_without_options(tmp_path):
    """A shop's API dump (快手小店: conversation_id, from_role buyer/seller/robot/system, sender_nick,
    msg_time in epoch milliseconds): from_role is the role column, so the robot's auto-replies are
    system rows, not an agent's, and the agent is the seller's nickname; send_role and the like too."""
    header = "conversation_id,msg_id,from_role,sender_nick,msg_type,content,msg_time"
    rows = ("k1,1,buyer,快手用户1,text,在吗 我的货到哪了,1796518884000",
            "k1,2,robot,小店助手,text,【自动回复】您好，稍后为您处理,1796518886000",
            "k1,3,seller,鹿鸣-豆豆,text,我查一下,1796518926000")
    m = _messages_of(tmp_path / "ks.csv", header, *rows)
    assert m["role"].tolist() == ["customer", "system", "agent"]
    assert m["agent"].tolist()[2] == "鹿鸣-豆豆"
    assert (m["timestamp"].iloc[2] - m["timestamp"].iloc[0]).total_seconds() == 42
    for name in ("sender_role", "sender_side_role", "msg_from_role"):
        other = _messages_of(tmp_path / f"{name}.csv", header.replace("from_role", name), *rows)
        assert other["role"].tolist() == ["customer", "system", "agent"], name
    # a receiver's role beside the sender's (recv_role, send_role) is not taken for it, and a column of sender
    # names called msg_from is no role column
    both = _messages_of(tmp_path / "both.csv", "conversation_id,recv_role,send_role,sender_nick,content,msg_time",
                        "k1,seller,buyer,快手用户1,在吗,1796518884000", "k1,buyer,seller,鹿鸣-豆豆,在的,1796518926000")
    assert both["role"].tolist() == ["customer", "agent"]
    names = _messages_of(tmp_path / "names.csv", "conversation_id,msg_from,sender_nick,content,msg_time",
                         "k1,买家小王,买家小王,在吗,1796518884000", "k1,鹿鸣-豆豆,鹿鸣-豆豆,在的,1796518926000",
                         "k2,买家小李,买家小李,发货了吗,1796518884000", "k2,鹿鸣-豆豆,鹿鸣-豆豆,发了,1796518926000",
                         "k3,买家小赵,买家小赵,好的,1796518884000", "k3,鹿鸣-豆豆,鹿鸣-豆豆,嗯嗯,1796518926000")
    assert names["role"].tolist() == ["customer", "agent"] * 3


def test_a_media_message_holding_only_its_link_reads_as_its_placeholder_before_the_link(tmp_path):
    """An API dump gives a picture's content as its link (kwimg://…, https://….jpg) or file name: the
    message is audited as the picture sent ([图片] before the link, which stays for the reader; a sticker is
    audited as one, [表情], as emoji-only judges it); a text message that is a link, and a picture with a caption,
    keep their text."""
    m = _messages_of(tmp_path / "media.csv", "conversation_id,from_role,sender_nick,msg_type,content,msg_time",
                     "k1,buyer,买家1,text,你们是正品吗,1796518884000",
                     "k1,seller,鹿鸣-豆豆,image,kwimg://im/20261206/472cf211842b.jpg,1796518926000",
                     "k1,seller,鹿鸣-豆豆,video,IMG_0231.MP4,1796518930000",
                     "k1,seller,鹿鸣-豆豆,text,https://shop.example.com/item/1,1796518940000",
                     "k1,seller,鹿鸣-豆豆,image,授权书见图,1796518950000",
                     "k1,seller,鹿鸣-豆豆,file,质检报告.pdf,1796518960000",
                     "k1,seller,鹿鸣-豆豆,sticker,kwimg://emoji/smile.gif,1796518970000")
    assert m["text"].tolist() == ["你们是正品吗", "[图片] kwimg://im/20261206/472cf211842b.jpg", "[视频] IMG_0231.MP4",
                                  "https://shop.example.com/item/1", "授权书见图", "[文件] 质检报告.pdf", "[表情]"]


def test_sender_and_receiver_archive_sessions_are_the_two_people(tmp_path):
    """企业微信 会话存档 with only 发送者 and 接收者: a session is the conversation of the two, and
    senders named 名字@微信 are the customers, the others staff."""
    (tmp_path / "wecom.csv").write_text(
        "消息时间,发送者,接收者,消息内容\n"
        "2026-12-17 10:00:00,阿朵,王女士@微信,您好\n"
        "2026-12-17 10:00:30,王女士@微信,阿朵,能转二段吗\n"
        "2026-12-17 10:01:00,小周,李妈妈@微信,在的\n"
        "2026-12-17 10:01:30,阿朵,王女士@微信,可以的\n", encoding="utf-8")
    result = load_inputs([str(tmp_path / "wecom.csv")])
    m = result.messages
    assert m["session_id"].nunique() == 2
    assert dict(zip(m["text"], m["role"])) == {"您好": "agent", "能转二段吗": "customer", "在的": "agent",
                                               "可以的": "agent"}
    assert sorted(set(m.loc[m["role"] == "agent", "agent"])) == ["小周", "阿朵"]


def test_qianniu_sender_receiver_log_sessions_are_a_customer_s_day(tmp_path):
    """千牛 聊天记录 with 日期 + 时间, 发送方 and 接收方 and no session column: the customer of a row is the
    sender of a customer's message and the receiver of the shop's, a transfer notice from 系统消息 stays
    in the customer's session, and a buyer who comes back the next day starts another session."""
    (tmp_path / "qn.csv").write_text(
        "日期,时间,发送方,接收方,消息内容\n"
        "2026-12-17,10:00:00,阿福,木森家居:小雨,在吗 柜子少了个螺丝\n"
        "2026-12-17,10:00:30,木森家居:小雨,阿福,亲 我看一下\n"
        "2026-12-17,10:01:00,系统消息,阿福,会话已由 木森家居:小雨 转接至 木森家居:阿杰\n"
        "2026-12-17,10:01:30,木森家居:阿杰,阿福,螺丝给您补发两颗\n"
        "2026-12-17,10:02:00,糖糖酱,木森家居:小雨,发货了吗\n"
        "2026-12-17,10:02:30,木森家居:小雨,糖糖酱,今天发\n"
        "2026-12-18,09:30:00,阿福,木森家居:阿杰,螺丝收到了\n", encoding="utf-8")
    first = _buyer_day_sessions(tmp_path / "qn.csv", "在吗 柜子少了个螺丝", "螺丝收到了")
    assert first["text"].tolist()[:4] == ["在吗 柜子少了个螺丝", "亲 我看一下",
                                          "会话已由 木森家居:小雨 转接至 木森家居:阿杰", "螺丝给您补发两颗"]
    assert first["role"].tolist()[:4] == ["customer", "agent", "system", "agent"]


def _buyer_day_sessions(path, opening: str, next_day: str) -> pd.DataFrame:
    """The session holding ``opening`` of a three-session 千牛 log, checked to differ from the one holding
    ``next_day`` (the same buyer's next day)."""
    m = load_inputs([str(path)]).messages
    assert m["session_id"].nunique() == 3
    first = m[m["session_id"] == m.loc[m["text"] == opening, "session_id"].iloc[0]]
    assert m.loc[m["text"] == next_day, "session_id"].iloc[0] != first["session_id"].iloc[0]
    return first


def test_qianniu_main_account_log_with_sender_and_receiver_names_sessions_are_a_buyer_s_day(tmp_path):
    """千牛's main-account export (发送人, 接收人): a buyer writes to the shop's main account before anyone takes
    the chat, then to a sub-account; the bot, a transfer notice and a colleague answer; all of it is one
    session (not one per pair of names), and the buyer's next day is another."""
    (tmp_path / "qn.csv").write_text(
        '"发送人","接收人","发送时间","消息"\r\n'
        '"阿福","木森家居旗舰店","2026-12-17 10:00:00","在吗 柜子少了个螺丝"\r\n'
        '"木森家居旗舰店:店小蜜","阿福","2026-12-17 10:00:05","【店小蜜】亲 人工客服马上为您服务"\r\n'
        '"木森家居旗舰店:小雨","阿福","2026-12-17 10:00:30","亲 我看一下"\r\n'
        '"系统消息","阿福","2026-12-17 10:01:00","会话已转接至 木森家居旗舰店:阿杰"\r\n'
        '"木森家居旗舰店:阿杰","阿福","2026-12-17 10:01:30","螺丝给您补发两颗"\r\n'
        '"阿福","木森家居旗舰店:阿杰","2026-12-17 10:02:00","好的谢谢"\r\n'
        '"糖糖酱","木森家居旗舰店:小雨","2026-12-17 10:02:10","发货了吗"\r\n'
        '"木森家居旗舰店:小雨","糖糖酱","2026-12-17 10:02:30","今天发"\r\n'
        '"阿福","木森家居旗舰店:阿杰","2026-12-18 09:30:00","螺丝收到了"\r\n', encoding="utf-8")
    first = _buyer_day_sessions(tmp_path / "qn.csv", "在吗 柜子少了个螺丝", "螺丝收到了")
    assert len(first) == 6
    assert first.loc[first["role"] == "agent", "agent"].tolist() == ["木森家居旗舰店:小雨", "木森家居旗舰店:阿杰"]


def test_wangwang_workbook_with_a_sheet_per_day_and_a_speaker_column(tmp_path):
    """1688 旺旺 saved by hand: a sheet per day titled with the date, times of day only, 买家 on every row and
    发言人 naming who wrote it (the buyer, 店铺:名字 sub-accounts, the bot, 系统): each buyer's day is a session,
    the bot is no agent, and the day comes from the sheet's title."""
    book = openpyxl.Workbook()
    book.remove(book.active)
    for day in ("2026-12-01", "2026-12-02"):
        sheet = book.create_sheet(day)
        sheet.append([f"旺旺聊天记录 {day}"])
        sheet.merge_cells("A1:D1")
        sheet.append([])
        sheet.append(["时间", "买家", "发言人", "内容"])
        sheet.append(["10:00:01", "小王杂货", "小王杂货", "起订量多少"])
        sheet.append(["10:00:03", "小王杂货", "优品工厂店:旺旺机器人", "【自动回复】您好 稍后回复"])
        sheet.append(["10:01:00", "李姐文具", "李姐文具", "样品能寄吗"])
        sheet.append(["10:02:00", "李姐文具", "优品工厂店:小敏", "可以的 运费到付"])
        sheet.append(["10:09:00", "小王杂货", "优品工厂店:阿杰", "亲 起订50个"])
    book.save(tmp_path / "ww.xlsx")
    m = load_inputs([str(tmp_path / "ww.xlsx")]).messages
    assert m["session_id"].nunique() == 4
    assert sorted(set(m.loc[m["role"] == "agent", "agent"])) == ["优品工厂店:小敏", "优品工厂店:阿杰"]
    assert m.loc[m["text"].str.startswith("【自动回复】"), "role"].eq("system").all()
    days = {str(t)[:10] for t in m["timestamp"]}
    assert days == {"2026-12-01", "2026-12-02"}


def test_role_words_with_a_receiver_and_no_session_ask_for_the_session_column(tmp_path):
    (tmp_path / "roles.csv").write_text(
        "时间,发送方,接收方,消息内容\n"
        "2026-12-17 10:00:00,买家,客服,在吗\n"
        "2026-12-17 10:00:30,客服,买家,在的\n", encoding="utf-8")
    with pytest.raises(InputError, match="missing column for session_id"):
        load_inputs([str(tmp_path / "roles.csv")])


def test_a_session_list_is_told_apart_from_message_records(tmp_path):
    (tmp_path / "sessions.csv").write_text(
        "会话ID,访客名称,接待客服,会话开始时间,会话结束时间,满意度,聊天记录\n"
        "q1,Lily,木木,2026-12-17 10:12:30,2026-12-17 10:16:05,满意,\"Lily 10:12\n在吗\"\n", encoding="utf-8")
    with pytest.raises(InputError, match="list of sessions, one row per session"):
        load_inputs([str(tmp_path / "sessions.csv")])


def test_an_export_s_summary_lines_are_rejected_as_such(tmp_path):
    (tmp_path / "qn.csv").write_text(
        "会话ID,发送方,客服,发送时间,内容\n"
        "a,买家,,2026-12-17 10:00:00,在吗\n"
        "a,客服,小芸,2026-12-17 10:00:20,在的\n"
        "合计,,,,共2条\n"
        "导出人：店长,,,,\n", encoding="utf-8")
    result = load_inputs([str(tmp_path / "qn.csv")])
    assert len(result.messages) == 2
    assert result.rejected["reason"].str.contains("summary or page line").all() and len(result.rejected) == 2


def _csv_of(path: Path, header: str, *lines: str) -> str:
    """A UTF-8 CSV of ``header`` and ``lines`` written at ``path``, as a path string."""
    path.write_text("\n".join((header, *lines)) + "\n", encoding="utf-8")
    return str(path)


def _messages_of(path: Path, header: str, *lines: str):
    """The messages read from a UTF-8 CSV of ``header`` and ``lines``."""
    return load_inputs([_csv_of(path, header, *lines)]).messages


def test_a_column_repeating_its_times_parses_each_distinct_time_as_among_the_others():
    """A busy log repeats its times: they are parsed once per distinct value, with the same
    result, reason and year notice as parsing every row (layouts of every parser, a DST gap and
    a repeated hour, blanks and garbage among them)."""
    from qa.ingest import times

    layouts = ["2026-12-17 09:05:33", "2026/12/17 09:05", "17.12.2026 09:05", "1716203471", "1716203471123",
               "46346.58", "2026-12-17T08:30:12+08:00", "12-17 10:02", "12月17日 10:02:05", "2026/12/17 下午 2:03:21",
               "2026-12-17 2:03 PM", "2026-12-17 08:30:12.457 +0800 CST", "20261217090533", "", "  ", "not a time",
               "1850-01-01 00:00:00", "2026-03-08 02:30:00", "2026-11-01 01:30:00", " 2026-12-17 09:05:33 "]
    column = pd.Series(layouts * 30, dtype="str")
    assert times._repeats_times(column.str.strip())
    years: list[int] = []
    utc, reason = times._parse_times(column, "America/New_York", years.append)
    text = column.str.strip()
    formats = times._likely_formats(text[text != ""].iloc[: times._SNIFF_SAMPLE + 1])
    each_years: list[int] = []
    each_utc, each_reason = times._parse_each(text, formats, "America/New_York", each_years.append)
    np.testing.assert_array_equal(utc, each_utc)  # NaT where NaT
    assert list(reason) == list(each_reason) and years == each_years
    assert (~pd.isna(utc)).sum() > 15 * 30  # most layouts parsed


def test_twelve_hour_clock_and_an_offset_with_its_zone_name(tmp_path):
    """Excel in a Chinese locale writes 2026/12/17 下午 2:03:21 (上午 12:05 is just after midnight);
    Go writes 2026-12-17 08:30:12.457 +0800 CST (CST is China's time here)."""
    m = _messages_of(tmp_path / "t.csv", "会话ID,发送方,发送时间,内容",
                     "a,买家,2026/12/17 下午 2:03:21,在吗", "a,客服,2026/12/17 上午 12:05:00,在的",
                     "b,买家,2026-12-17 08:30:12.457 +0800 CST,你好")
    stamps = dict(zip(m["text"], m["timestamp"].dt.strftime("%H:%M:%S")))
    assert stamps == {"在吗": "14:03:21", "在的": "00:05:00", "你好": "08:30:12"}


def test_java_date_strings_in_the_shop_s_zone_and_in_utc(tmp_path):
    """A Java back end logs Date.toString(): Tue Dec 15 21:40:05 CST 2026. CST is the shop's (China's)
    time, not US Central; a UTC or GMT stamp is UTC."""
    m = _messages_of(tmp_path / "j.csv", "会话ID,发送方,发送时间,内容",
                     "a,买家,Tue Dec 15 21:40:05 CST 2026,到了吗", "a,客服,Tue Dec 15 13:41:10 UTC 2026,查一下",
                     "a,客服,Tue Dec 15 21:42:00 HKT 2026,查到了", "a,客服,Tue Dec 15 05:43:00 PST 2026,明天到",
                     "a,买家,Wed Dec 16 00:02:00 GMT+08:00 2026,还在吗")
    stamps = dict(zip(m["text"], m["timestamp"].dt.strftime("%m-%d %H:%M:%S")))
    assert stamps == {"到了吗": "12-15 21:40:05", "查一下": "12-15 21:41:10", "查到了": "12-15 21:42:00",
                      "明天到": "12-15 21:43:00", "还在吗": "12-16 00:02:00"}


def test_a_java_date_in_an_unknown_zone_is_rejected_not_read_in_the_shop_s_zone(tmp_path):
    result = load_inputs([_csv_of(tmp_path / "z.csv", "会话ID,发送方,发送时间,内容",
                                  "a,买家,Tue Dec 15 21:40:05 CST 2026,到了吗", "a,客服,Tue Dec 15 21:41:05 XYZ 2026,在的")])
    assert result.messages["text"].tolist() == ["到了吗"]
    assert "unparseable time" in result.rejected["reason"].iloc[0]


def test_a_taiwan_shop_s_big5_export_with_traditional_headers(tmp_path):
    """Traditional headers and roles (對話編號, 發送者: 買家/賣家) match the vocabularies; a Big5 file,
    which GB18030 also decodes into other characters, is read as Big5."""
    text = ("對話編號,客服人員,發送者,發送時間,訊息內容\n"
            "t1,小舖-小許,買家,2026-12-17 10:05:00,請問這支鋼筆是什麼筆尖\n"
            "t1,小舖-小許,賣家,2026-12-17 10:05:38,是F尖，寫字比較細\n")
    (tmp_path / "tw.csv").write_bytes(text.encode("big5"))
    result = load_inputs([str(tmp_path / "tw.csv")])
    assert result.rejected.empty
    assert result.messages["role"].tolist() == ["customer", "agent"]
    assert result.messages["text"].iloc[0] == "請問這支鋼筆是什麼筆尖"


def test_roles_from_a_legend_a_sender_column_of_roles_and_the_platforms_robots(tmp_path):
    """发送方 codes explained only in the title line (1=顾客); a column of codes without a legend is
    refused, naming them, never guessed; a 发送者 column of role words is the role; 京东's robot JIMI under the agent
    column and a 【系统消息】 without a role are system rows."""
    (tmp_path / "legend.csv").write_text(
        "客服聊天记录导出（发送方：1=顾客，2=客服，3=机器人）\n"
        "会话ID,接待客服,发送方,发送时间,消息内容\n"
        "v1,大海,3,2026-12-17 09:05:33,您好 请问有什么可以帮您\n"
        "v1,大海,1,2026-12-17 09:05:40,鞋子偏大吗\n"
        "v1,大海,2,2026-12-17 09:06:10,偏大半码\n", encoding="utf-8")
    assert load_inputs([str(tmp_path / "legend.csv")]).messages["role"].tolist() == ["system", "customer", "agent"]
    (tmp_path / "codes.csv").write_text(
        "会话ID,接待客服,发送方,发送时间,消息内容\n"
        "v1,大海,1,2026-12-17 09:05:40,鞋子偏大吗\n"
        "v1,大海,2,2026-12-17 09:06:10,偏大半码\n"
        "v1,大海,3,2026-12-17 09:06:20,感谢咨询\n", encoding="utf-8")
    with pytest.raises(InputError, match=r"'发送方' in .*codes.csv holds role codes \(1, 2, 3\) and no legend"):
        load_inputs([str(tmp_path / "codes.csv")])
    (tmp_path / "jd.csv").write_text(
        "会话ID,客服账号,发送者,发送时间,内容\n"
        "j1,JIMI,客服,2026-12-17 09:00:00,您好 我是JIMI\n"
        "j1,,,2026-12-17 09:00:05,【系统消息】已为您转接人工\n"
        "j1,pop_kf01,顾客,2026-12-17 09:00:20,在吗\n"
        "j1,pop_kf01,客服,2026-12-17 09:00:40,在的\n", encoding="utf-8")
    m = load_inputs([str(tmp_path / "jd.csv")]).messages
    assert m["role"].tolist() == ["system", "system", "customer", "agent"]


def test_layouts_that_are_not_message_records_are_refused_naming_why(tmp_path):
    (tmp_path / "pairs.csv").write_text(
        "会话ID,买家昵称,接待客服,买家消息,客服回复\nq1,小王,阿杰,在吗,在的\n", encoding="utf-8")
    with pytest.raises(InputError, match="side by side"):
        load_inputs([str(tmp_path / "pairs.csv")])
    # a question left unanswered leaves the reply empty: the other rows still show the pairs
    (tmp_path / "unanswered.csv").write_text(
        "会话ID,接待客服,买家消息,客服回复\nq1,阿杰,在吗,在的\nq1,阿杰,有货吗,\nq1,阿杰,几天到,两天\n", encoding="utf-8")
    with pytest.raises(InputError, match="side by side"):
        load_inputs([str(tmp_path / "unanswered.csv")])
    (tmp_path / "bare.tsv").write_text("P-1\t小王\t买家\t2026-12-17 10:01:30\t牛轧糖什么口味\n", encoding="utf-8")
    with pytest.raises(InputError, match="no header row"):
        load_inputs([str(tmp_path / "bare.tsv")])
    # a dataset's rows without a time: the ids and the 0/1 flags of the first line are values, not names
    (tmp_path / "dataset.txt").write_text(
        "0000b82c62117aa4\tUSER_1\t0\t0\t在吗\n0000b82c62117aa4\tUSER_1\t1\t0\t在的\n", encoding="utf-8")
    with pytest.raises(InputError, match=r"has no header row: its first line already holds data \('0000b82c62117aa4'\)"):
        load_inputs([str(tmp_path / "dataset.txt")])


def test_wrapped_headers_seat_status_and_a_repeated_header(tmp_path):
    """A header cell wrapped onto two lines or ending in a colon (会话\\nID, 消息内容：) names its column;
    an agent's status after the name (小林(在线), 小林[组长]) is the same agent; a page's title and its
    header repeated mid-sheet are rejected as such."""
    book = openpyxl.Workbook()
    sheet = book.active
    rows = [["会话\nID", "客服", "发送方:", "发送\n时间", "消息内容："],
            ["a", "花颜-小林(在线)", "买家", "2026-12-17 10:00:00", "在吗"],
            ["a", "花颜-小林[组长]", "客服", "2026-12-17 10:00:30", "在的"],
            ["客服聊天记录 第2页/共2页", None, None, None, None],
            ["会话\nID", "客服", "发送方:", "发送\n时间", "消息内容："],
            ["a", "花颜-小林（忙碌）", "客服", "2026-12-17 10:01:00", "稍等"]]
    for row in rows:
        sheet.append(row)
    book.save(tmp_path / "paged.xlsx")
    result = load_inputs([str(tmp_path / "paged.xlsx")])
    m = result.messages
    assert len(m) == 3 and set(m.loc[m["role"] == "agent", "agent"]) == {"花颜-小林"}
    reasons = result.rejected["reason"].tolist()
    assert len(reasons) == 2 and any("page line" in r for r in reasons) and any("header repeated" in r for r in reasons)


def test_a_role_column_found_by_its_values_and_english_erp_headers(tmp_path):
    """A column whose name no vocabulary knows (类型) but whose values are the roles is the role
    column; an ERP's seller_nick names the agent and 平台 rows are the platform's."""
    (tmp_path / "old.csv").write_bytes(
        ("会话号,客服,类型,时间,内容\r\n"
         "w1,王哥,买家,2026-12-17 08:30:12,电钻能打混凝土吗\r\n"
         "w1,王哥,客服,2026-12-17 08:31:00,冲击钻模式可以").encode("gbk") + b"\x1a")
    m = load_inputs([str(tmp_path / "old.csv")]).messages
    assert m["role"].tolist() == ["customer", "agent"] and m["text"].iloc[1] == "冲击钻模式可以"
    erp = _messages_of(tmp_path / "erp.csv", "session_id,buyer_nick,seller_nick,sender,send_time,content",
                       "t1,爬山的猫,户外:小杨,买家,2026-12-17 09:30:00,内胆能单穿吗",
                       "t1,爬山的猫,户外:小杨,平台,2026-12-17 09:30:10,买家已下单",
                       "t1,爬山的猫,户外:小杨,卖家,2026-12-17 09:30:42,可以的")
    assert erp["role"].tolist() == ["customer", "system", "agent"]
    assert erp.loc[erp["role"] == "agent", "agent"].tolist() == ["户外:小杨"]


def test_sessions_numbered_per_agent_are_the_agent_s(tmp_path):
    """会话序号 restarts at 1 for each agent: a session is the agent's with that number."""
    (tmp_path / "perf.csv").write_text(
        "客服,会话序号,发送方,时间,内容\n"
        "阿宝,1,买家,2026-12-17 09:10:00,狗粮是无谷的吗\n"
        "阿宝,1,客服,2026-12-17 09:10:40,是的\n"
        "小糖,1,买家,2026-12-17 09:12:00,猫砂结团吗\n"
        "小糖,1,客服,2026-12-17 09:12:30,结团的\n", encoding="utf-8")
    result = load_inputs([str(tmp_path / "perf.csv")])
    assert result.messages["session_id"].nunique() == 2
    assert any("numbers each agent's sessions" in note for note in result.notes)


def test_per_party_text_columns_give_each_row_its_text_and_role(tmp_path):
    """No text and no role column (1688 旺旺 plug-in): a row's text is in the column of its
    sender (买家发言 / 客服发言 / 系统提示); a row with two parties' text is no one message."""
    path = tmp_path / "split.csv"
    path.write_text(
        "会话ID,买家,客服,时间,买家发言,客服发言,系统提示\n"
        "AL-1,小店主,星光:阿玲,2026-12-17 08:50:00,,,买家发起咨询\n"
        "AL-1,小店主,星光:阿玲,2026-12-17 08:50:10,发夹起批量多少,,\n"
        "AL-1,小店主,星光:阿玲,2026-12-17 08:50:40,,单款50个起批,\n"
        "AL-1,小店主,星光:阿玲,2026-12-17 08:51:30,200个什么价,200个以上1.2元,\n"
        "AL-1,小店主,星光:阿玲,2026-12-17 08:52:00,,,\n"
        "AL-1,小店主,星光:阿玲,2026-12-17 08:52:10,能开票吗,,\n"
        "AL-1,小店主,星光:阿玲,2026-12-17 08:52:40,,可以开普票,\n", encoding="utf-8")
    result = load_inputs([str(path)])
    assert_consistent(result)
    m = result.messages
    assert m["text"].tolist() == ["买家发起咨询", "发夹起批量多少", "单款50个起批", "能开票吗", "可以开普票"]
    assert m["role"].tolist() == ["system", "customer", "agent", "customer", "agent"]
    assert set(m.loc[m["role"] == "agent", "agent"]) == {"星光:阿玲"}
    assert dict(zip(result.rejected["row"], result.rejected["reason"])) == {
        5: "text in '买家发言' and '客服发言': one row must hold one message, in its sender's column",
        6: "empty text"}
    assert any("each row's text is in the column of its sender" in note for note in result.notes)
    english = _messages_of(tmp_path / "en.csv", "ticket_id,time,customer_message,agent_message",
                           "T1,2026-12-17 09:00:00,where is my parcel,", "T1,2026-12-17 09:01:00,,on its way")
    assert english["role"].tolist() == ["customer", "agent"] and english["text"].tolist()[1] == "on its way"


def test_a_message_exported_twice_is_rejected_naming_the_row_it_repeats(tmp_path):
    """Two overlapping exports joined (the overlap pasted twice), or given as two files: a row equal
    to an earlier one in session, time, role, agent and text, with other rows between them, is a
    duplicate; the same words at another time or from the other side, equal rows in a row (photos
    sent at once), and rows without any time are messages of their own."""
    first = tmp_path / "morning.csv"
    first.write_text(
        "会话ID,客服,发送方,时间,内容\n"
        "d1,小鹿,买家,2026-12-17 10:57:13,在吗\n"
        "d1,小鹿,买家,2026-12-17 10:57:35,在吗\n"
        "d1,小鹿,客服,2026-12-17 11:00:22,在的\n"
        "d1,小鹿,买家,2026-12-17 11:00:22,在的\n"
        "d1,小鹿,客服,2026-12-17 11:00:22,在的\n"
        "d1,小鹿,买家,2026-12-17 11:00:40,[图片]\n"
        "d1,小鹿,买家,2026-12-17 11:00:40,[图片]\n"
        "d1,小鹿,客服,2026-12-17 11:01:00,亲 稍等\n", encoding="utf-8")
    second = tmp_path / "noon.csv"
    second.write_text(
        "会话ID,客服,发送方,时间,内容\n"
        "d1,小鹿,买家,2026-12-17 11:00:40,[图片]\n"
        "d1,小鹿,买家,2026-12-17 11:00:40,[图片]\n"
        "d1,小鹿,客服,2026-12-17 11:01:00,亲 稍等\n"
        "d1,小鹿,买家,2026-12-17 11:02:00,好的\n", encoding="utf-8")
    result = load_inputs([str(first), str(second)])
    assert_consistent(result)
    m = result.messages
    assert m["text"].tolist() == ["在吗", "在吗", "在的", "在的", "[图片]", "[图片]", "亲 稍等", "好的"]
    assert list(zip(m["source_file"], m["source_row"])) == [(str(first), row) for row in (2, 3, 4, 5, 7, 8, 9)] + [
        (str(second), 5)]
    rejected = result.rejected
    assert rejected[["file", "row"]].values.tolist() == [[str(first), 6], [str(second), 2], [str(second), 3],
                                                         [str(second), 4]]
    same = "duplicate: the same session, time, role, agent and text as row"
    assert rejected["reason"].tolist() == [f"{same} 4 (a message exported twice)",
                                           f"{same} 7 of {first} (a message exported twice)",
                                           f"{same} 7 of {first} (a message exported twice)",
                                           f"{same} 9 of {first} (a message exported twice)"]
    noted = "row(s) repeat an earlier row exactly (overlapping exports joined?): rejected as duplicates"
    assert [note for note in result.notes if noted in note] == [f"{first}: 1 {noted}", f"{second}: 3 {noted}"]
    untimed = load_inputs([write_csv(tmp_path / "untimed.csv", [["会话ID", "发送方", "内容"], ["u", "买家", "好的"],
                                                                ["u", "客服", "嗯"], ["u", "买家", "好的"]])])
    assert len(untimed.messages) == 3 and untimed.rejected.empty


def test_two_columns_of_the_same_name_are_refused_naming_them(tmp_path):
    (tmp_path / "twice.csv").write_text(
        "会话ID,时间,发送方,时间,内容\nq1,2026-12-17 10:00,买家,2026-12-17 10:00:05,在吗\n", encoding="utf-8")
    with pytest.raises(InputError, match="columns 2, 4 .* are all named '时间'"):
        load_inputs([str(tmp_path / "twice.csv")])


def test_a_sender_column_named_twice_is_not_called_a_sessions_start(tmp_path):
    source = tmp_path / "d.csv"
    source.write_text("会话ID,时间,发送者昵称,发送者昵称,内容\nS1,2026-11-20 10:00:00,tb_1,店:小美,在吗\n", encoding="utf-8")
    with pytest.raises(InputError, match="are all named '发送者昵称'") as caught:
        load_inputs([str(source)])
    assert "session's start" not in str(caught.value)


def test_xlsx_without_usable_sheet_and_corrupt(tmp_path):
    path = _workbook(tmp_path / "a.xlsx", {"one": [["a", "b"], [1, 2]], "two": [["x"], [1]]})
    with pytest.raises(InputError, match=r"use --sheet NAME"):
        load_inputs([path])
    (tmp_path / "broken.xlsx").write_bytes(b"not a zip")
    with pytest.raises(InputError, match=r"cannot read .*broken\.xlsx"):
        load_inputs([str(tmp_path / "broken.xlsx")])


# --------------------------------------------------------------------------- real corpus (when present)

CORPUS = Path(__file__).resolve().parents[2] / "shared" / "corpus"


@pytest.mark.skipif(not CORPUS.is_dir(), reason="shared corpus not available")
def test_real_corpus_loads():
    uss = load_inputs(
        [str(CORPUS / "uss-jddc" / "test_jddc.derived.csv")],
        columns={"session_id": "dialogue_id", "seq": "turn"},
    )
    assert_consistent(uss)
    assert uss.rejected.empty and set(uss.messages["role"]) == {"agent", "customer"}
    jddc = load_inputs([str(CORPUS / "jddc2019-sample" / "chat_0.1per.derived.csv")])
    assert_consistent(jddc)
    assert jddc.rejected.empty and set(jddc.messages["role"]) == {"agent", "customer"}


# --------------------------------------------------------------------------- property test

_TEXT = st.text(
    alphabet=st.one_of(
        st.sampled_from(list(",;\"\t\n\r '，。？！：:")),
        st.sampled_from(list("您好请问亲退款物流客服买家系统")),
        st.characters(codec="utf-8", exclude_characters="\x00"),
    ),
    max_size=12,
)


@pytest.mark.slow  # 80 generated files, each read in full
@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows=export_rows(_TEXT))
def test_random_rows_never_crash(tmp_path, rows):
    path = write_export(tmp_path / "random.csv", rows)
    try:
        result = load_inputs([str(path)])
    except InputError:
        return
    assert_consistent(result)
    # every data row is accounted for exactly once, under its own row number
    rows = result.messages["source_row"].tolist() + result.rejected["row"].tolist()
    assert len(rows) == len(set(rows)) and min(rows, default=2) >= 2
    sessions = result.messages["session_id"].tolist()
    assert sessions == sorted(sessions)


def test_taiwan_words_in_a_header_name_their_columns(tmp_path):
    """A Taiwan shop's export says 身分 (not 身份), 訊息 (not 消息) and 帳號 (not 账号): the role
    column is 身分, and a semicolon file keeps the commas and the quoted ';' of its texts."""
    (tmp_path / "shopee.csv").write_text(
        "\ufeff對話ID;買家帳號;發送者;身分;訊息內容;發送時間\r\n"
        "TW1;kiki;kiki;買家;我身高160, 體重52, 穿M可以嗎;2024-10-05 13:23:15\r\n"
        'TW1;kiki;Amber;賣家;"可以的, M號胸圍88cm; 腰圍70cm";2024-10-05 13:24:02\r\n'
        "TW1;kiki;小島選物;自動回覆;您好，會盡快回覆您。;2024-10-05 13:24:03\r\n", encoding="utf-8")
    result = load_inputs([str(tmp_path / "shopee.csv")])
    m = result.messages
    assert m["role"].tolist() == ["customer", "agent", "system"]
    assert m["text"].tolist()[:2] == ["我身高160, 體重52, 穿M可以嗎", "可以的, M號胸圍88cm; 腰圍70cm"]
    assert m.loc[m["role"] == "agent", "agent"].tolist() == ["Amber"]
    assert not any("columns found by their names" in note for note in result.notes)  # 訊息內容 is known


def test_an_epoch_column_named_a_timestamp_in_chinese(tmp_path):
    """抖店's BI download names its epoch-milliseconds column 发送时间戳: it is the time column, read
    in Beijing time with the milliseconds kept."""
    m = _messages_of(tmp_path / "feige.csv", "会话ID,用户昵称,发送者角色,发送者,消息内容,发送时间戳",
                     "7389021548120001,用户88,用户,用户88,这个粉底液干皮能用吗,1720405805041",
                     "7389021548120001,用户88,商家客服,奈斯-可乐,可以的,1720405846512")
    assert m["timestamp"].tolist() == [stamp("2024-07-08 10:30:05.041"), stamp("2024-07-08 10:30:46.512")]


def test_the_platform_s_staff_are_no_shop_agent(tmp_path):
    """官方客服 (抖音电商's own staff) or 平台小二 writing in a shop's chat is a system row: neither rejected
    as an unknown role nor one of the shop's agents."""
    result = load_inputs([_csv_of(tmp_path / "feige.csv", "会话ID,发送者角色,发送者,消息内容,发送时间",
                                  "s3,用户,momo,怎么还不发货,2024-07-08 20:12:40",
                                  "s3,官方客服,抖音电商官方客服-小抖,已催促商家,2024-07-08 20:15:02",
                                  "s3,平台小二,小二-阿里,已介入,2024-07-08 20:16:00",
                                  "s3,商家客服,奈斯-糖糖,今天发出,2024-07-08 20:18:45")])
    assert result.rejected.empty
    assert result.messages["role"].tolist() == ["customer", "system", "system", "agent"]


def test_a_role_column_named_the_sending_role_is_known_by_name(tmp_path):
    """得物's merchant export names its role column 发送角色 (用户 / 商家客服 / 智能助手 / 系统): a known name,
    read without guessing (no "found by their names" note)."""
    result = load_inputs([_csv_of(tmp_path / "dewu.csv", "会话编号,用户ID,发送角色,客服工号,消息内容,发送时间",
                                  "D1,u_1,用户,,是正品吗,2026-12-06 09:00:00",
                                  "D1,u_1,智能助手,,【自动回复】您好,2026-12-06 09:00:01",
                                  "D1,u_1,商家客服,KF1-阿泽,正品的 支持鉴定,2026-12-06 09:00:30")])
    assert result.messages["role"].tolist() == ["customer", "system", "agent"]
    assert not any("found by their names" in note for note in result.notes)


def test_a_robot_reply_under_the_agent_s_account_is_a_system_row(tmp_path):
    """咚咚 sends its auto-replies under the agent's own account with 发送方 客服; only the text's
    【自动回复】 tells them apart: a system row, still carrying the account, never the agent's reply."""
    m = _messages_of(tmp_path / "jd.csv", "会话ID,客服账号,发送方,发送时间,消息内容",
                     "JD1,绿野户外_小北,顾客,2024-06-03 09:15:02,这个帐篷防水指数多少",
                     "JD1,绿野户外_小北,客服,2024-06-03 09:15:03,【自动回复】您好，客服小北正在赶来",
                     "JD1,绿野户外_小北,客服,2024-06-03 09:17:40,您好，PU3000mm",
                     "JD1,绿野户外_小北,客服,2024-06-03 09:18:00,[自動回覆] 感謝您的訊息")
    assert m["role"].tolist() == ["customer", "system", "agent", "system"]
    assert m["agent"].tolist()[1] == "绿野户外_小北"


def test_a_platform_notice_under_the_agent_s_account_is_a_system_row(tmp_path):
    """千牛 files its transfer notice under the old agent's account (发送人 店铺:子账号): 【系统提示】会话已转接至…
    is no reply of the agent's, so the customer's wait runs on to the new agent's answer. An agent's own
    bracketed heading (【通知】, 【温馨提示】) stays the agent's."""
    m = _messages_of(tmp_path / "qn.csv", "会话ID,发送人,发送方,发送时间,消息内容",
                     "Q1,tb_kk,买家,2026-12-06 12:10:50,那退货运费谁出呀",
                     "Q1,棉里家纺:小满,客服,2026-12-06 12:10:55,【系统提示】会话已转接至 棉里家纺:阿青",
                     "Q1,棉里家纺:小满,客服,2026-12-06 12:10:56,[系統訊息] 會話已轉接",
                     "Q1,棉里家纺:小满,客服,2026-12-06 12:10:57,【系统】对方已结束会话",
                     "Q1,棉里家纺:阿青,客服,2026-12-06 12:16:15,【温馨提示】7天内可以无理由退",
                     "Q1,棉里家纺:阿青,客服,2026-12-06 12:16:20,【通知】运费险会自动理赔",
                     # the agent's own words behind the bracket: they speak to the customer, so they are judged
                     "Q1,棉里家纺:阿青,客服,2026-12-06 12:16:30,【系统】显示已放驿站 亲去问下可以吗",
                     "Q1,棉里家纺:阿青,客服,2026-12-06 12:16:40,【系统提示】你烦不烦")
    assert m["role"].tolist() == ["customer", "system", "system", "system", "agent", "agent", "agent", "agent"]


def test_a_text_s_mark_after_any_leading_space_still_marks_it(tmp_path):
    """Texts are matched against the marks (【自动回复】, 【系统消息】) only when they open with a
    bracket or a space: every space Python's regex skips (ideographic, no-break, U+2028…) counts."""
    m = _messages_of(tmp_path / "jd.csv", "会话ID,客服账号,发送方,发送时间,消息内容",
                     "JD1,小北,客服,2024-06-03 09:15:03,\u3000【自动回复】您好",
                     "JD1,小北,客服,2024-06-03 09:15:04,\xa0[自动回复] 您好",
                     "JD1,小北,客服,2024-06-03 09:15:05,\u2028\u205f【机器人】您好",
                     "JD1,小北,客服,2024-06-03 09:15:06,\u200b【自动回复】您好",  # a zero-width space is no space
                     "JD1,小北,,2024-06-03 09:15:07,\u2003【系统消息】已转接")
    assert m["role"].tolist() == ["system", "system", "system", "agent", "system"]


def test_the_first_byte_test_knows_every_space_python_s_regex_skips():
    import sys

    from qa.ingest.roles import _opens_with_space_or_bracket

    chars = [chr(code) for code in range(sys.maxunicode + 1) if not 0xD800 <= code <= 0xDFFF]
    opens = _opens_with_space_or_bracket(pd.Series([f"{c}x" for c in chars] + [""], dtype="str"))
    assert all(opens[:-1][[c.isspace() or c in "【[" for c in chars]]) and not opens[-1]
    # (with other characters of the leading bytes, 。 and 「 among them) but no Chinese character
    assert not opens[:-1][[0x4E00 <= ord(c) <= 0x9FFF for c in chars]].any()


_BILINGUAL_QIANNIU = (
    "\ufeff买家昵称,发送人,发送时间,消息内容\r\n"
    "buyer_nick,sender_nick,send_time,content\r\n"
    "tb_林小满,tb_林小满,2024-05-17 10:02:11,在吗？这款四件套是纯棉的吗\r\n"
    "tb_林小满,森屿家居旗舰店:小芸,2024-05-17 10:02:40,亲，在的哦～\r\n"
    "tb_林小满,tb_林小满,2024-05-17 10:03:15,1.8米的床拿哪个尺寸\r\n"
    "tb_林小满,小芸,2024-05-17 10:03:52,建议拿2.0m款\r\n"
    "tb_阿飞飞,tb_阿飞飞,2024-05-17 14:20:05,枕头有股味道\r\n"
    "tb_阿飞飞,系统消息,2024-05-17 14:20:06,当前咨询人数较多，已为您转接客服阿哲\r\n"
    "tb_阿飞飞,阿哲,2024-05-17 14:21:30,非常抱歉\r\n")


def test_without_a_role_column_the_customer_column_tells_the_customer(tmp_path):
    """千牛's 子账号 export: no role column, 发送人 equal to the row's 买家昵称 is the customer, 系统消息
    the system, any other sender an agent, with or without the shop's name (店铺:小芸 and 小芸 are
    one agent). Streamed in chunks of two rows, the reading is the same."""
    path = write_text(tmp_path / "qianniu.csv", _BILINGUAL_QIANNIU)
    m = load_inputs([path]).messages
    assert m["role"].tolist() == ["customer", "agent", "customer", "agent", "customer", "system", "agent"]
    assert m.loc[m["role"] == "agent", "agent"].tolist() == ["小芸", "小芸", "阿哲"]
    streamed = [chunk.messages for chunk in stream_inputs([path], chunk_rows=2)]
    assert pd.concat(streamed)["agent"].tolist() == m.sort_values("source_row")["agent"].tolist()


def test_a_second_header_line_in_other_words_is_rejected_as_a_header(tmp_path):
    """The English line under a Chinese header (buyer_nick, content) names the same columns: it is
    rejected as a header line, not as a message with an unparseable time."""
    result = load_inputs([write_text(tmp_path / "qianniu.csv", _BILINGUAL_QIANNIU)])
    assert_consistent(result)
    assert result.rejected["row"].tolist() == [2]
    assert result.rejected["reason"].iloc[0].startswith("the header in other words")
    assert len(result.messages) == 7


def test_a_member_name_column_keys_the_sessions_and_a_total_line_is_refused(tmp_path):
    """1688's export through an ERP: no session column, the buyer's 买家会员名 keys the sessions (the
    hidden 序号 numbers the rows, one per row, and keys nothing); the 共 N 条 line under the data is
    rejected as a total line."""
    path = _workbook(tmp_path / "1688.xlsx", {"Sheet1": [
        ["序号", "买家会员名", "接待客服", "发送方", "发送时间", "消息内容"],
        [1, "hzlily2020", "小陈", "买家", "2024-04-22 09:10:05", "这款耳钉批发价多少"],
        [2, "hzlily2020", "小陈", "卖家", "2024-04-22 09:12:30", "1.8元一对"],
        [3, "深圳饰界贸易", "阿丽", "买家", "2024-04-22 14:30:12", "电镀掉色了"],
        [4, "深圳饰界贸易", "阿丽", "卖家", "2024-04-22 14:32:00", "非常抱歉"],
        [None, "共 4 条", None, None, None, None]]})
    book = openpyxl.load_workbook(path)
    book["Sheet1"].column_dimensions["A"].hidden = True
    book.save(path)
    result = load_inputs([path])
    assert_consistent(result)
    assert result.messages.groupby("session_id").size().to_dict() == {"hzlily2020 · 2024-04-22": 2,
                                                                      "深圳饰界贸易 · 2024-04-22": 2}
    assert result.rejected["row"].tolist() == [6] and "summary" in result.rejected["reason"].iloc[0]


def test_a_date_written_on_the_first_row_of_each_day_is_filled_down(tmp_path):
    """七鱼's grouped report writes 日期 on the first row of each day only: the rows below take it,
    in file order (a session crossing midnight, and the next session dated by another's row), also
    when the file is read in chunks. A date missing from a column dated on every row is not guessed."""
    path = _workbook(tmp_path / "qiyu.xlsx", {"会话消息": [
        ["会话ID", "访客名称", "接待客服", "发送方", "日期", "时间", "消息内容"],
        ["q2", "访客_9527", "刘洋", "访客", "2024-03-14", "23:55:40", "有优惠吗"],
        ["q2", "访客_9527", "刘洋", "客服", None, "23:56:20", "满399减40"],
        ["q2", "访客_9527", "刘洋", "访客", "2024-03-15", "00:03:12", "好的已下单"],
        ["q2", "访客_9527", "刘洋", "客服", None, "00:04:01", "晚安～"],
        ["q3", "Lily妈妈", "王敏", "访客", None, "09:20:44", "发票怎么开"]]})
    expected = [stamp(t) for t in ("2024-03-14 23:55:40", "2024-03-14 23:56:20", "2024-03-15 00:03:12",
                                   "2024-03-15 00:04:01", "2024-03-15 09:20:44")]
    result = load_inputs([path])
    assert result.rejected.empty and result.messages["timestamp"].tolist() == expected
    streamed = pd.concat(chunk.messages for chunk in stream_inputs([path], chunk_rows=2))
    assert streamed["timestamp"].tolist() == expected
    damaged = _messages_of(tmp_path / "damaged.csv", "会话ID,发送方,日期,时间,消息内容",
                           "q1,访客,2024-03-14,20:11:05,在吗", "q1,客服,,20:11:30,在的",
                           "q1,访客,2024-03-14,20:12:00,好的")
    assert len(damaged) == 2


def test_of_two_columns_named_like_the_role_the_one_holding_role_words_is_the_role(tmp_path):
    """快手 and 有赞 write 发送方 (the sender's name) beside 角色, 美团 发送方 beside 发送方类型: both are
    named like the role, and the values tell which is which, as a person reading the rows would;
    the other is the sender, whose name is the agent's. An Excel table's totals row (汇总 in its
    first column) is rejected as a summary line, its count no seq value ignored. Two columns that
    both hold names are still refused."""
    path = _workbook(tmp_path / "youzan.xlsx", {"会话明细": [
        ["序号", "会话ID", "发送时间", "发送方", "角色", "消息内容"],
        [1, "y1", "2024-05-25 09:48:30", "有赞买家_林", "客户", "能补差价吗"],
        [2, "y1", "2024-05-25 09:49:20", "小唐", "客服", "可以的亲"],
        [3, "y1", "2024-05-25 09:49:40", "系统", "系统", "会话已结束"],
        ["汇总", None, None, None, None, 3]]})
    result = load_inputs([path])
    assert_consistent(result)
    m = result.messages
    assert m["role"].tolist() == ["customer", "agent", "system"]
    assert m.loc[m["role"] == "agent", "agent"].tolist() == ["小唐"]
    assert result.rejected["row"].tolist() == [5] and "summary" in result.rejected["reason"].iloc[0]
    assert not any("seq" in note for note in result.notes)
    meituan = _messages_of(tmp_path / "meituan.csv", "会话ID,发送时间,发送方,发送方类型,消息内容",
                           "m1,2024-05-29 11:20:15,美团用户_小鹿,顾客,汤洒了",
                           "m1,2024-05-29 11:21:30,小周,客服,非常抱歉")
    assert meituan["role"].tolist() == ["customer", "agent"] and meituan["agent"].iloc[1] == "小周"
    with pytest.raises(InputError, match="both look like role"):
        load_inputs([_csv_of(tmp_path / "names.csv", "会话ID,发送时间,发送方,角色,消息内容",
                             "m1,2024-05-29 11:20:15,小鹿,小鹿,汤洒了", "m1,2024-05-29 11:21:30,小周,小周,抱歉")])


def test_excel_s_leading_apostrophe_is_no_part_of_ids_and_times(tmp_path):
    """A 1688 plug-in writes '1716203471 and '2024-05-30 09:15:27 so that Excel keeps them as text:
    a column whose every value opens with the mark loses it (also read in chunks), and a 10-digit
    message id stays an id; a message that opens with an apostrophe keeps it. Its 发送方 holds names,
    and 发送方角色 beside it the roles."""
    path = _csv_of(tmp_path / "1688.csv", "消息ID,会话ID,发送时间,发送方角色,发送方,内容",
                   "'1716203471,'20240530000101,'2024-05-30 09:15:27,买家,义乌批发部,拿500个什么价",
                   "'1716203508,'20240530000101,'2024-05-30 09:15:29,机器人,阿里店小蜜,欢迎光临",
                   "'1716203545,'20240530000101,'2024-05-30 09:16:17,卖家,小芳,'8.5元' 一个",
                   "'1716203582,'20240530000101,'2024-05-30 09:16:47,卖家,老陈,含税")
    result = load_inputs([path])
    assert_consistent(result)
    m = result.messages
    assert result.rejected.empty and m["session_id"].unique().tolist() == ["20240530000101"]
    assert m["timestamp"].tolist() == [stamp(t) for t in ("2024-05-30 09:15:27", "2024-05-30 09:15:29",
                                                          "2024-05-30 09:16:17", "2024-05-30 09:16:47")]
    assert m["role"].tolist() == ["customer", "system", "agent", "agent"]
    assert m.loc[m["role"] == "agent", "agent"].tolist() == ["小芳", "老陈"] and m["text"].iloc[2] == "'8.5元' 一个"
    streamed = pd.concat(chunk.messages for chunk in stream_inputs([path], chunk_rows=2))
    assert streamed["timestamp"].tolist() == m["timestamp"].tolist()


def test_the_receiver_s_role_before_the_sender_s_is_no_role_column(tmp_path):
    """A data-platform dump puts 接收方角色 and 接收方 before 发送方角色 and 发送方: the roles are the
    sender's (发送方角色), never the receiver's, which would turn every customer into an agent."""
    m = _messages_of(tmp_path / "dump.csv", "会话ID,消息时间,接收方角色,接收方,发送方角色,发送方,消息内容",
                     "k1,2026-12-12 12:01:18,客服,果园-阿强,买家,大刘,苹果坏了三个",
                     "k1,2026-12-12 12:01:30,买家,大刘,客服,果园-阿强,亲 坏了几个呢",
                     "k1,2026-12-12 12:02:10,客服,果园-阿强,买家,大刘,四个",
                     "k1,2026-12-12 12:02:40,买家,大刘,系统,系统通知,会话已转接",
                     "k2,2026-12-12 13:00:05,客服,果园-阿香,买家,小芳,土豆发芽了",
                     "k2,2026-12-12 13:00:50,买家,小芳,客服,果园-阿香,抱歉 给您补发")
    assert m["role"].tolist() == ["customer", "agent", "customer", "system", "customer", "agent"]
    assert m.loc[m["role"] == "agent", "agent"].tolist() == ["果园-阿强", "果园-阿香"]


def test_a_session_s_date_beside_each_message_s_time_of_day(tmp_path):
    """七鱼's message detail gives the date once per session (会话日期) and each message's time of
    day (消息时间): the two make the message's time, each session on its own day; the 接待客服 written
    on the session's robot and system rows makes none of them an agent's."""
    m = _messages_of(tmp_path / "qiyu.csv", "会话ID,会话日期,接待客服,消息时间,发送方,消息内容",
                     "q1,2024-05-20,李婷,09:05:10,访客,地址填错了", "q1,2024-05-20,李婷,09:05:39,客服,可以修改",
                     "q1,2024-05-20,李婷,09:08:37,系统,会话已结束", "q2,2024-05-22,周航,16:02:37,访客,在吗",
                     "q2,2024-05-22,周航,16:02:40,机器人,您好")
    assert m["timestamp"].tolist() == [stamp(t) for t in ("2024-05-20 09:05:10", "2024-05-20 09:05:39",
                                                          "2024-05-20 09:08:37", "2024-05-22 16:02:37",
                                                          "2024-05-22 16:02:40")]
    assert m["role"].tolist() == ["customer", "agent", "system", "customer", "system"]
    assert m.loc[m["role"] == "agent", "agent"].tolist() == ["李婷"]


def test_a_send_date_beside_a_send_moment(tmp_path):
    """小红书's export writes 发送日期 and 发送时刻 (the moment of the day): the two make the timestamp, so
    the time rules run instead of being skipped."""
    m = _messages_of(tmp_path / "xhs.csv", "会话ID,用户昵称,客服昵称,发送方,消息类型,消息内容,发送日期,发送时刻",
                     "x1,小红薯A1,小桃,用户,文本,面膜赠品少了,2026-12-05,09:02:17",
                     "x1,小红薯A1,小桃,客服,文本,抱歉亲 给您补发,2026-12-05,09:03:31")
    assert m["timestamp"].tolist() == [stamp("2026-12-05 09:02:17"), stamp("2026-12-05 09:03:31")]
    assert m["role"].tolist() == ["customer", "agent"]


def test_an_agent_s_status_title_and_desk_prefix_leave_one_name_per_agent(tmp_path):
    """飞鸽 names an agent 客服-小王, 客服-小王(离线) and 阿珍[主管] in its sender column: with a role column
    saying who is an agent, the desk's word and the status or title are no part of the name (one
    agent each); a customer's nickname is left as written. Its dates read 2024年5月19日 10:02."""
    m = _messages_of(tmp_path / "feige.csv", "会话ID,发送者,身份,发送时间,消息内容",
                     "f1,用户(离线),用户,2024年5月19日 10:02,杯子裂了", "f1,客服-小王,客服,2024年5月19日 10:02,抱歉",
                     "f1,客服-小王(离线),客服,2024年5月19日 10:04,给您补发", "f2,阿珍[主管],客服,2024年5月9日 9:05,您好")
    assert m.loc[m["role"] == "agent", "agent"].tolist() == ["小王", "小王", "阿珍"]
    assert m.loc[m["role"] == "customer", "agent"].tolist() == [""]
    assert m["timestamp"].tolist() == [stamp(t) for t in ("2024-05-19 10:02", "2024-05-19 10:02",
                                                          "2024-05-19 10:04", "2024-05-09 09:05")]
    path = str(tmp_path / "feige.csv")
    chunks = stream_inputs([path], chunk_rows=1)
    assert pd.concat(chunk.messages for chunk in chunks)["agent"].tolist() == m["agent"].tolist()
    assert chunks.notes == load_inputs([path]).notes
    account = _messages_of(tmp_path / "account.csv", "会话ID,接待客服,身份,发送时间,消息内容",
                           "c1,客服-小林,客服,2024-05-19 10:02,您好", "c1,客服-小林(在线),客服,2024-05-19 10:03,在的")
    assert account["agent"].tolist() == ["客服-小林", "客服-小林"]


def test_english_helpdesk_headers_spaced_and_capitalised(tmp_path):
    """A helpdesk export writes Ticket ID, Author Role, Created At, Body: spaces, case and underscores do
    not matter to the header names, and end-user is the customer."""
    path = write_csv(
        tmp_path / "zd.csv",
        [["Ticket ID", "Comment ID", "Author", "Author Role", "Created At", "Body"],
         ["88101", "1", "lily@example.com", "end-user", "2026-11-27T06:41:09Z", "在吗 订单还没发"],
         ["88101", "2", "Amy Chen", "agent", "2026-11-27T06:42:00Z", "您好，我马上帮您查"]],
    )
    m = load_inputs([path]).messages
    assert m["session_id"].tolist() == ["88101", "88101"]
    assert m["role"].tolist() == ["customer", "agent"]
    assert m["agent"].tolist() == ["", "Amy Chen"]
    assert str(m["timestamp"].iloc[0].tz_convert("Asia/Shanghai")) == "2026-11-27 14:41:09+08:00"



def test_a_file_read_whole_is_parsed_by_pyarrow_below_its_title_lines(tmp_path):
    """Title lines above the header do not send a clean file read whole to the slow exact
    parser: pyarrow reads from the header on, as it does for the file streamed."""
    from qa.ingest.delimited import _DelimitedStream
    from qa.ingest.table import make_options

    path = write_text(tmp_path / "titled.csv", "客服聊天记录导出 2026年12月\n导出人：张三\n"
                      "session_id,timestamp,role,agent,text\n"
                      "s1,2026-12-17 09:00:00,customer,,你好\ns1,2026-12-17 09:00:05,agent,小王,在的\n")
    options = make_options(None, None, None, TZ, None, None, None)
    for chunk_rows in (None, 1):
        assert not _DelimitedStream(path, options, chunk_rows).exact
    messages = load_inputs([path]).messages
    assert messages["source_row"].tolist() == [4, 5] and messages["text"].tolist() == ["你好", "在的"]


def test_repeated_header_in_the_head_does_not_hide_a_role_word_sender_column(tmp_path):
    """A 拼多多 export joined from two pages repeats its header inside the first rows; 发送者 still holds the
    role words (买家 / 商家 / 系统) and is read as the role, not as nicknames."""
    path = write_csv(
        tmp_path / "a.csv",
        [["会话ID", "买家昵称", "客服账号", "时间", "发送者", "聊天内容"],
         ["p1", "pdd_11", "果园-小果", "2026-11-25 18:22:45", "买家", "少发了一个"],
         ["p1", "pdd_11", "果园-小果", "2026-11-25 18:23:14", "商家", "亲，我马上核实"],
         ["会话ID", "买家昵称", "客服账号", "时间", "发送者", "聊天内容"],
         ["p1", "pdd_11", "果园-小果", "2026-11-25 18:24:00", "系统", "人工已接入"],
         ["p2", "pdd_22", "果园-小果", "2026-11-25 19:00:00", "买家", "在吗"]],
        encoding="gb18030",
    )
    m = load_inputs([path]).messages
    assert m["role"].tolist() == ["customer", "agent", "system", "customer"]


def test_customer_id_column_makes_sessions_per_customer_per_day(tmp_path):
    """有赞 without a session column: 客户ID names the customer; a conversation is one customer on one day."""
    path = write_csv(
        tmp_path / "a.csv",
        [["客户ID", "客服", "发送时间", "发送方", "消息内容"],
         ["yz1", "小店-阿宁", "2026-11-26 10:01:18", "客户", "香味有点冲"],
         ["yz2", "小店-阿宁", "2026-11-26 10:02:00", "客户", "发货了吗"],
         ["yz1", "小店-阿宁", "2026-11-26 10:03:33", "客服", "抱歉，给您换一瓶"],
         ["yz1", "小店-阿宁", "2026-11-27 09:00:00", "客户", "收到了"]],
    )
    m = load_inputs([path]).messages
    sessions = dict(zip(m["text"], m["session_id"]))
    assert sessions["香味有点冲"] == sessions["抱歉，给您换一瓶"] != sessions["发货了吗"]
    assert sessions["收到了"] != sessions["香味有点冲"]


def test_platform_robot_account_with_a_suffix_and_a_revoke_row_are_system(tmp_path):
    """京东 咚咚: 客服pin is the agent column and a robot account with a suffix (jimi_robot) is the system, a staff
    account whose name merely contains the letters (robin_kf) is not; a 企业微信 revoke row is a notice."""
    path = write_csv(
        tmp_path / "a.csv",
        [["会话ID", "用户pin", "客服pin", "消息时间", "消息方向", "消息类型", "消息内容"],
         ["d1", "jd_1", "shop_kf01", "2026-11-25 11:06:27", "客户→客服", "text", "拍错了"],
         ["d1", "jd_1", "jimi_robot", "2026-11-25 11:06:30", "客服→客户", "text", "人工马上来，先帮您看看"],
         ["d1", "jd_1", "robin_kf", "2026-11-25 11:07:00", "客服→客户", "text", "在的亲"],
         ["d1", "jd_1", "robin_kf", "2026-11-25 11:07:30", "客户→客服", "revoke", "jd_1 撤回了一条消息"]],
    )
    m = load_inputs([path]).messages
    assert m["role"].tolist() == ["customer", "system", "agent", "system"]
    assert m["agent"].tolist()[2] == "robin_kf"


def _china_times(path: Path, rows: list[list[str]]) -> pd.Series:
    """The message times of a CSV of ``rows`` as read, in China time."""
    return load_inputs([write_csv(path, rows)]).messages["timestamp"].dt.tz_convert("Asia/Shanghai")


def test_bilingual_headers_day_first_times_and_sessions_written_once(tmp_path):
    """Headers glossed in brackets (会话ID(Session ID)) are matched by the name before the brackets; a Hong Kong
    shop's day-first times (29/11/2026 15:21) are read day first; a merged-cells export writes the 工单号 on each
    conversation's first row only and the rows below take it (the same across the chunks of a streamed read)."""
    bilingual = write_csv(
        tmp_path / "b.csv",
        [["会话ID(Session ID)", "发送时间(Send Time)", "角色(Role)", "客服(Agent)", "内容(Content)"],
         ["s1", "2026-11-27T23:58:31.694Z", "客户", "", "在吗"],
         ["s1", "2026-11-28T00:01:02.120Z", "客服", "阿明", "在的"]],
    )
    m = load_inputs([bilingual]).messages
    assert m["role"].tolist() == ["customer", "agent"] and m["session_id"].nunique() == 1
    times = _china_times(tmp_path / "h.csv", [["對話編號", "時間", "發送者", "客服名稱", "訊息內容"],
                                              ["h1", "29/11/2026 15:21", "顧客", "", "幾時到貨"],
                                              ["h1", "01/12/2026 09:05", "客服", "阿詩", "今日寄出"]])
    assert [(t.month, t.day) for t in times] == [(11, 29), (12, 1)]
    rows = [["工单号", "时间", "发送者身份", "客服", "内容"]]
    for n in range(1, 7):
        rows += [[f"T{n}", f"2026-11-2{n} 10:00:00", "买家", "", "发货了吗"],
                 ["", f"2026-11-2{n} 10:01:00", "客服", "小雨", "今天发"],
                 ["", f"2026-11-2{n} 10:02:00", "买家", "", "好的"]]
    merged = write_csv(tmp_path / "m.csv", rows)
    whole = load_inputs([merged])
    assert len(whole.rejected) == 0 and whole.messages["session_id"].tolist() == [f"T{n}" for n in range(1, 7) for _ in range(3)]
    streamed = pd.concat(chunk.messages for chunk in stream_inputs([merged], chunk_rows=4))
    assert streamed["session_id"].tolist() == whole.messages["session_id"].tolist()


def test_us_clock_chinese_clock_units_and_a_system_sender_in_the_agent_column(tmp_path):
    """A US-locale Excel's 11/28/2026 2:03:27 PM is month first (its AM/PM tells it from the day-first layouts);
    a time of day in Chinese units (14时03分27秒) beside 日期 is the clock's 14:03:27; 系统 in the agent column of a
    two-text-columns export sends notices, not replies."""
    local = _china_times(tmp_path / "u.csv", [["会话ID", "时间", "角色", "客服", "内容"],
                                               ["u1", "11/28/2026 11:58:34 AM", "客户", "", "在吗"],
                                               ["u1", "11/28/2026 12:01:02 PM", "客服", "Amy", "在的"]])
    assert [(t.month, t.day, t.hour) for t in local] == [(11, 28, 11), (11, 28, 12)]
    local = _china_times(tmp_path / "c.csv", [["会话ID", "日期", "时间", "发送方", "客服", "内容"],
                                               ["c1", "2026年11月28日", "14时03分27秒", "客户", "", "发货没"],
                                               ["c1", "2026年11月28日", "14时05分02秒", "客服", "小禾", "今天发"]])
    assert [t.strftime("%H:%M:%S") for t in local] == ["14:03:27", "14:05:02"]
    two = write_csv(
        tmp_path / "t.csv",
        [["会话ID", "时间", "客服", "客户消息", "客服回复"],
         ["t1", "2026-11-28 11:00:00", "小禾", "在吗", ""],
         ["t1", "2026-11-28 11:01:00", "小禾", "", "在的"],
         ["t1", "2026-11-28 11:20:00", "系统", "", "本次服务已完成"]],
    )
    assert load_inputs([two]).messages["role"].tolist() == ["customer", "agent", "system"]


def test_a_buyer_flag_an_html_message_and_a_robot_sender(tmp_path):
    """是否买家 1 marks the customer's messages (the reverse of 是否客服); on the shop's side a sender named
    系统 or 智能机器人 is the system; a message exported as HTML reads as the text it shows, so an
    auto-reply wrapped in <p> is still one and an emoticon <img alt> is the emoticon."""
    path = write_csv(
        tmp_path / "f.csv",
        [["会话ID", "发送者", "是否买家", "发送时间", "消息内容"],
         ["z1", "小雨点", "1", "2026-11-28 10:00:00", "我的快递三天没动了"],
         ["z1", "智能机器人", "0", "2026-11-28 10:00:02", "您好，请问有什么可以帮您"],
         ["z1", "阿哲", "0", "2026-11-28 10:01:00", "<p>【自动回复】亲，客服马上就来</p>"],
         ["z1", "阿哲", "0", "2026-11-28 10:02:00", "<p>抱歉久等&nbsp;我查一下<br/>单号稍等</p>"],
         ["z1", "小雨点", "1", "2026-11-28 10:03:00", '<img src="https://x.example/a.jpg">'],
         ["z1", "阿哲", "0", "2026-11-28 10:04:00", '<img class="emoji" alt="[微笑]" src="https://x.example/e.png"/>'],
         ["z1", "小雨点", "1", "2026-11-28 10:05:00", "a<b 我就问问 <3"]],
    )
    m = load_inputs([path]).messages
    assert m["role"].tolist() == ["customer", "system", "system", "agent", "customer", "agent", "customer"]
    assert m["text"].tolist()[3:] == ["抱歉久等 我查一下\n单号稍等", "[图片]", "[微笑]", "a<b 我就问问 <3"]


def test_minguo_dates_and_a_shopee_helper_robot(tmp_path):
    """A Taiwan shop's 民國 dates (115/12/01 is 2026-12-01) are read as such, across a month's end; the
    platform's helper robot (聊聊小幫手) answering under the agent column is the system."""
    path = write_csv(
        tmp_path / "tw.csv",
        [["對話編號", "買家帳號", "客服人員", "傳送者", "傳送時間", "訊息內容"],
         ["t1", "阿偉", "聊聊小幫手", "賣家", "115/11/30 23:59:10", "您好，請問需要什麼協助？"],
         ["t1", "阿偉", "", "買家", "115/12/01 00:00:30", "我要找真人"],
         ["t1", "阿偉", "Winnie", "賣家", "民國115年12月01日 00:02:00", "您好，我是Winnie"]],
        encoding="cp950",
    )
    m = load_inputs([path]).messages
    local = m["timestamp"].dt.tz_convert(TZ)
    assert [(t.year, t.month, t.day) for t in local] == [(2026, 11, 30), (2026, 12, 1), (2026, 12, 1)]
    assert m["role"].tolist() == ["system", "customer", "agent"]


def test_a_date_written_on_each_conversation_s_first_row_turns_at_midnight(tmp_path):
    """An agent's own view (我 is the agent, 客户 names the customer) dates each conversation on its first
    row only: the rows below take its date, and a time of day earlier than the row above it in the same
    conversation is on the next day; the next conversation's written date starts afresh."""
    rows = [["会话编号", "客户", "日期", "时间", "发送方", "内容"],
            ["w1", "大白兔", "2026/11/29", "23:58:10", "大白兔", "在吗"],
            ["w1", "大白兔", "", "23:59:40", "我", "在的亲"],
            ["w1", "大白兔", "", "00:00:04", "大白兔", "怎么退"],
            ["w1", "大白兔", "", "00:01:38", "阿杰", "订单页申请售后就行"],
            ["w2", "小白马", "2026-11-30", "00:31:05", "小白马", "什么时候发货"],
            ["w2", "小白马", "", "00:32:00", "我", "今天发"]]
    for n in range(3, 6):
        rows += [[f"w{n}", f"客人{n}", "2026-11-30", "10:00:00", f"客人{n}", "你好"],
                 [f"w{n}", f"客人{n}", "", "10:00:30", "我", "您好"]]
    path = write_csv(tmp_path / "me.csv", rows)
    whole = load_inputs([path])
    m = whole.messages
    assert len(whole.rejected) == 0
    local = m["timestamp"].dt.tz_convert(TZ).dt.strftime("%m-%d %H:%M").tolist()
    assert local[:6] == ["11-29 23:58", "11-29 23:59", "11-30 00:00", "11-30 00:01", "11-30 00:31", "11-30 00:32"]
    assert m["role"].tolist()[:6] == ["customer", "agent", "customer", "agent", "customer", "agent"]
    streamed = pd.concat(chunk.messages for chunk in stream_inputs([path], chunk_rows=3))
    assert streamed["timestamp"].tolist() == m["timestamp"].tolist()


def test_without_a_session_column_a_customer_s_chats_about_two_orders_are_two_sessions(tmp_path):
    """飞鸽 without a session column: a customer's day is cut by the order asked about (订单号), so two
    chats of one buyer on one day about two orders are two sessions; pre-sales rows without an order stay the
    customer's day."""
    path = write_csv(
        tmp_path / "fg.csv",
        [["订单号", "买家昵称", "发送者", "发送时间", "消息内容"],
         ["6969210180574818286", "胖橘", "胖橘", "2026-11-27 14:06:20", "我要退款"],
         ["6969210180574818286", "胖橘", "商家客服:可可", "2026-11-27 14:07:55", "好的给您处理"],
         ["6975963522111895796", "胖橘", "胖橘", "2026-11-27 15:39:21", "地址写错了能拦截吗"],
         ["6975963522111895796", "胖橘", "商家客服:小橙", "2026-11-27 15:40:54", "帮您联系快递拦截"],
         ["", "小马", "小马", "2026-11-27 16:00:00", "有现货吗"],
         ["", "小马", "商家客服:可可", "2026-11-27 16:01:00", "有的"]],
    )
    m = load_inputs([path]).messages
    assert m["session_id"].nunique() == 3
    assert m.groupby("session_id")["text"].count().tolist() == [2, 2, 2]


def test_without_a_session_or_customer_column_a_chat_is_the_order_it_is_about(tmp_path):
    """A food-delivery merchant IM export (美团外卖): one chat per order, 订单号 on every row, no session and no
    customer column, the date and the time of day in two columns. Each order is a session; a row without an order
    number is rejected with its reason, not merged into another chat."""
    path = write_csv(
        tmp_path / "mt.csv",
        [["订单号", "会话日期", "发送方", "昵称", "时间", "消息"],
         ["MT2026120500000001", "2026/12/05", "顾客", "吃货小王", "11:42:07", "汤洒了一半"],
         ["MT2026120500000002", "2026/12/05", "顾客", "阿乐", "11:43:10", "能多放辣吗"],
         ["MT2026120500000001", "2026/12/05", "商家", "张记-小周", "11:43:30", "抱歉 给您退汤的钱"],
         ["MT2026120500000002", "2026/12/05", "商家", "张记-小周", "11:44:02", "可以的 给您备注"],
         ["", "2026/12/05", "顾客", "路人", "11:50:00", "在吗"]],
    )
    loaded = load_inputs([path])
    m = loaded.messages
    assert sorted(m.groupby("session_id")["text"].count().tolist()) == [2, 2]
    assert set(m["session_id"]) == {"MT2026120500000001", "MT2026120500000002"}
    assert len(loaded.rejected) == 1
    assert str(m["timestamp"].iloc[0])[:16] == "2026-12-05 11:42"


def test_a_transcript_in_blocks_takes_each_conversation_from_its_heading(tmp_path):
    """A transcript exported in blocks: a heading line per conversation (会话：… 买家：… 客服：… 开始时间：…), the
    header again under it, times of day only. Each heading gives the rows below it their session, agent and date
    (turning at midnight); headings and repeated headers are no messages; a summary line naming a 会话 count at the
    end of an ordinary export heads no block."""
    book = openpyxl.Workbook()
    sheet = book.active
    for row in [["聊天记录导出（导出时间：2026-11-29 09:12:03）"], [],
                ["会话：2100  买家：jack88  客服：糖糖  开始时间：2026-11-28 23:58:45"], ["时间", "发送方", "内容"],
                ["23:58:45", "买家", "定金能退吗"], ["00:01:10", "客服", "亲，定金不支持退哦"], [],
                ["会话：2107  买家：momo  客服：客服-可可  开始时间：2026-11-29 10:29:53"], ["时间", "发送方", "内容"],
                ["10:29:53", "买家", "饼干吃了肚子疼"], ["10:30:43", "客服", "非常抱歉！孩子现在好些了吗"]]:
        sheet.append(row)
    path = tmp_path / "blocks.xlsx"
    book.save(path)
    result = load_inputs([str(path)])
    m = result.messages
    assert len(result.rejected) == 0
    assert m["session_id"].tolist() == ["2100", "2100", "2107", "2107"]
    assert m["source_row"].tolist() == [5, 6, 10, 11]
    assert m["agent"].tolist() == ["糖糖", "糖糖", "客服-可可", "客服-可可"]  # the block's agent, as an agent column gives it
    local = m["timestamp"].dt.tz_convert(TZ).dt.strftime("%m-%d %H:%M").tolist()
    assert local == ["11-28 23:58", "11-29 00:01", "11-29 10:29", "11-29 10:30"]
    plain = openpyxl.Workbook()
    for row in [["买家", "时间", "发送方", "内容"], ["jack", "2026-11-28 10:00:00", "买家", "在吗"],
                ["jack", "2026-11-28 10:01:00", "客服", "在的"], [], ["合计 会话：1 消息：2"]]:
        plain.active.append(row)
    plain.save(tmp_path / "plain.xlsx")
    assert load_inputs([str(tmp_path / "plain.xlsx")]).messages["session_id"].nunique() == 1


def test_a_text_first_export_with_in_out_directions_and_a_message_over_lines(tmp_path):
    """An ERP export puts the message first and writes the direction as IN / OUT / SYS; a quoted message with line
    breaks in that first column is a message (its last line is followed by the row's other fields), not a stray
    quote; English-locale times read 29-Nov-2026 10:00."""
    path = tmp_path / "erp.csv"
    path.write_text(
        "消息内容,方向,客服账号,买家账号,消息时间,平台会话号\n"
        "我要退货寄到哪,IN,店:阿柯,豆豆妈,29-Nov-2026 17:41,179628866921634368\n"
        '"亲，退货地址是：\n杭州市余杭区文一西路1288号\n收件人：售后组",OUT,店:阿柯,豆豆妈,29-Nov-2026 17:42,179628866921634368\n'
        "邀请您对本次服务进行评价,SYS,,豆豆妈,29-Nov-2026 17:45,179628866921634368\n",
        encoding="utf-8")
    result = load_inputs([str(path)])
    m = result.messages
    assert len(result.rejected) == 0
    assert m["role"].tolist() == ["customer", "agent", "system"]
    assert m["text"].iloc[1].count("\n") == 2
    assert m["timestamp"].dt.tz_convert(TZ).dt.strftime("%d %H:%M").tolist() == ["29 17:41", "29 17:42", "29 17:45"]


def test_a_withdrawn_message_and_a_robot_named_in_the_sender_column_are_system_rows(tmp_path):
    """消息状态 已撤回 makes the row the platform's placeholder (system) whoever it is marked as, and so does the
    placeholder text itself (该消息已撤回, 对方撤回了一条消息) without a status column; a robot named in the sender
    column (智能客服小赞) under the shop's role is no agent."""
    path = write_csv(
        tmp_path / "yz.csv",
        [["会话链接", "发送时间", "发送方", "发送者", "消息状态", "消息内容"],
         ["https://x.example/im?sid=1", "2026-11-28 16:13:29", "客服", "智能客服小赞", "正常", "您好，我是智能助手"],
         ["https://x.example/im?sid=1", "2026-11-28 16:14:37", "客户", "一颗柠檬", "正常", "穿M还是L"],
         ["https://x.example/im?sid=1", "2026-11-28 16:14:43", "客户", "一颗柠檬", "已撤回", "该消息已撤回"],
         ["https://x.example/im?sid=1", "2026-11-28 16:15:10", "客服", "小满", "已撤回", "该消息已撤回"],
         ["https://x.example/im?sid=1", "2026-11-28 16:15:40", "客服", "小满", "正常", "165穿M就好"]],
    )
    assert load_inputs([path]).messages["role"].tolist() == ["system", "customer", "system", "system", "agent"]
    plain = write_csv(
        tmp_path / "p.csv",
        [["会话ID", "时间", "角色", "内容"],
         ["s1", "2026-11-28 10:00:00", "买家", "对方撤回了一条消息"],
         ["s1", "2026-11-28 10:00:05", "买家", "我撤回的是问价格的"],
         ["s1", "2026-11-28 10:01:00", "客服", "好的亲"]],
    )
    assert load_inputs([plain]).messages["role"].tolist() == ["system", "customer", "agent"]


def test_two_exports_joined_with_the_second_header_in_another_column_order(tmp_path):
    """Two shops' exports joined into one file: below a blank line the second export's header names the same
    columns in another order; the rows under it are read by that order (also when a streamed read's chunk starts
    after it), and the header line itself is rejected as the header repeated."""
    rows = [["店铺名称", "会话ID", "发送时间", "发送者角色", "发送者昵称", "消息内容"],
            ["悦品(淘宝)", "TB1", "2026-11-28 13:56:41", "买家", "小鱼", "充电宝能带上飞机吗"],
            ["悦品(淘宝)", "TB1", "2026-11-28 13:57:36", "客服", "小棠", "可以的亲"],
            [],
            ["会话ID", "消息内容", "发送者昵称", "发送者角色", "发送时间", "店铺名称"]]
    for n in range(3):
        rows += [["PD1", f"热水壶漏电{n}", "柠檬", "买家", f"2026/11/28 14:0{n}", "悦品拼多多店"],
                 ["PD1", f"马上给您退{n}", "拼拼客服-大米", "商家", f"2026/11/28 14:0{n}", "悦品拼多多店"]]
    path = write_csv(tmp_path / "joined.csv", rows)
    whole = load_inputs([path])
    m = whole.messages.sort_values("source_row")
    assert m["session_id"].tolist() == ["TB1", "TB1"] + ["PD1"] * 6
    assert m["role"].tolist() == ["customer", "agent"] + ["customer", "agent"] * 3
    assert m["text"].iloc[2] == "热水壶漏电0"
    assert whole.rejected["reason"].str.startswith("the header repeated").tolist() == [True]
    streamed = pd.concat(chunk.messages for chunk in stream_inputs([path], chunk_rows=3))
    assert sorted(streamed["text"].tolist()) == sorted(m["text"].tolist())


@pytest.mark.parametrize("kind", ["csv", "xlsx"])
def test_a_session_list_with_each_conversation_in_one_cell_is_read_message_by_message(tmp_path, kind):
    """One row per conversation, its messages in one cell as '[hh:mm:ss] 名字：…' lines: each message is a row of its
    own with its conversation's row number, dated by the conversation's start (the next day past midnight); the
    sender equal to the customer column is the customer, another the agent (a transfer included); a line without
    a time goes on the message above."""
    header = ["会话ID", "客户昵称", "接待客服", "会话开始时间", "会话结束时间", "满意度", "聊天记录"]
    rows = [header,
            ["CS-1", "晴天娃娃", "客服可可", "2026-11-28 23:55:41", "2026-11-29 00:03:00", "未评价",
             "[23:55:41] 晴天娃娃：这个还有货吗\n[23:58:02] 客服可可：有的亲\n[00:00:37] 晴天娃娃：颜色呢\n"
             "[00:01:10] 客服小王：您好我是小王，颜色有两种：\n2.灰色的\n[00:02:00] 晴天娃娃：好"],
            ["CS-2", "小鹿", "客服小王", "2026-11-29 11:25:53", "2026-11-29 11:32:34", "满意",
             "[11:25:53] 小鹿：饼干里吃出头发了\n[11:26:42] 客服小王：非常抱歉，孩子现在好些了吗？"]]
    if kind == "csv":
        path = write_csv(tmp_path / "sessions.csv", rows)
    else:
        book = openpyxl.Workbook()
        for row in rows:
            book.active.append(row)
        book.save(tmp_path / "sessions.xlsx")
        path = str(tmp_path / "sessions.xlsx")
    result = load_inputs([path])
    m = result.messages.sort_values(["source_row", "timestamp"])
    assert len(result.rejected) == 0
    assert m["source_row"].tolist() == [2] * 5 + [3] * 2
    assert m["role"].tolist() == ["customer", "agent", "customer", "agent", "customer", "customer", "agent"]
    assert m["agent"].tolist()[:4] == ["", "客服可可", "", "客服小王"]
    assert m["text"].tolist()[3] == "您好我是小王，颜色有两种：\n2.灰色的"
    local = m["timestamp"].dt.tz_convert(TZ).dt.strftime("%m-%d %H:%M").tolist()
    assert local[:5] == ["11-28 23:55", "11-28 23:58", "11-29 00:00", "11-29 00:01", "11-29 00:02"]


def test_a_helpdesk_turn_per_row_with_role_lines_is_read_message_by_message(tmp_path):
    """A helpdesk export writes a turn per row (轮次, 轮次开始时间) and the turn's messages in one cell as 顾客：… /
    客服：… / 机器人：… / 系统：… lines without times, the session's id and agent merged over its turns: each line is a
    message of that role at its turn's time, of the session's agent; a text column read with a role column beside it
    stays one message per row, whatever lines its texts hold."""
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = "会话轮次"
    sheet.append(["会话编号", "客户", "接待客服", "轮次", "轮次开始时间", "对话内容"])
    sheet.append(["HD-1", "南风", "客服小满", 1, dt.datetime(2026, 11, 28, 9, 8, 4),
                  "机器人：亲，欢迎光临~\n顾客：这件毛衣起球吗\n系统：会话已转接至 客服小满\n客服：正常穿着轻微起球是有的"])
    sheet.append([None, None, None, 2, dt.datetime(2026, 11, 28, 9, 10, 33), "顾客：那我拍S\n客服：好的亲"])
    sheet.append(["HD-2", "郭先生", "客服阿宁", 1, dt.datetime(2026, 11, 28, 13, 50, 18),
                  "顾客：鞋标歪的，是不是假货\n顾客：[图片]\n客服：亲，我们是品牌授权经销"])
    sheet.merge_cells("A2:A3")
    sheet.merge_cells("B2:B3")
    sheet.merge_cells("C2:C3")
    book.save(tmp_path / "turns.xlsx")
    result = load_inputs([str(tmp_path / "turns.xlsx")])
    m = result.messages.sort_values(["source_row", "timestamp"], kind="stable")
    assert len(result.rejected) == 0
    assert m["session_id"].tolist() == ["HD-1"] * 6 + ["HD-2"] * 3
    assert m["role"].tolist() == ["system", "customer", "system", "agent", "customer", "agent",
                                  "customer", "customer", "agent"]
    assert m.loc[m["role"] == "agent", "agent"].tolist() == ["客服小满", "客服小满", "客服阿宁"]
    local = m["timestamp"].dt.tz_convert(TZ).dt.strftime("%H:%M:%S").tolist()
    assert local == ["09:08:04"] * 4 + ["09:10:33"] * 2 + ["13:50:18"] * 3
    records = write_csv(tmp_path / "records.csv", [
        ["会话ID", "时间", "角色", "消息内容"],
        ["s1", "2026-11-28 09:00:00", "客服", "顾客：能便宜吗\n客服：不能"],
        ["s1", "2026-11-28 09:01:00", "买家", "客服：你刚才说的\n顾客：我记下了"]])
    plain = load_inputs([records]).messages
    assert plain["role"].tolist() == ["agent", "customer"]
    turns = write_csv(tmp_path / "turns.csv", [
        ["会话编号", "客户", "接待客服", "轮次", "轮次开始时间", "对话内容"],
        ["HD-3", "阿珂", "客服橙子", "1", "2026-11-28 09:08:04", "顾客：有S码吗\n客服：有的亲"],
        ["HD-3", "阿珂", "客服橙子", "2", "2026-11-28 09:12:00", "顾客：好\n机器人：感谢咨询"]])
    from_csv = load_inputs([turns]).messages
    assert from_csv["role"].tolist() == ["customer", "agent", "customer", "system"]


def test_dotted_api_headers_media_without_text_excel_day_fractions_and_scientific_ids(tmp_path):
    """A flattened API dump names its columns sender.role, message.created_at, content.text: each is known whole
    (as the JSON reader joins it) or by its last part; an image or video message without text is the platform's
    placeholder ([图片], [视频]), not an empty row. A time read as Excel's fraction of a day (0.5915) beside a
    date is that time; ids Excel rewrote as 1.79613E+17 (digits lost) tell sessions apart with the customer."""
    api = write_csv(
        tmp_path / "api.csv",
        [["conversation.id", "message.created_at", "sender.role", "sender.nick", "sender.is_robot", "content.type",
          "content.text", "content.url"],
         ["c1", "2026-11-28T14:29:53.772+0800", "卖家", "小助手", "true", "text", "欢迎光临", ""],
         ["c1", "2026-11-28T14:30:37.535+0800", "买家", "Cici", "false", "image", "", "https://x.example/1.jpg"],
         ["c1", "2026-11-28T14:31:00.000+0800", "买家", "Cici", "false", "video", "", "https://x.example/2.mp4"],
         ["c1", "2026-11-28T14:32:10.000+0800", "卖家", "安然", "false", "text", "收到，我看一下", ""]],
    )
    m = load_inputs([api]).messages
    assert m["text"].tolist() == ["欢迎光临", "[图片]", "[视频]", "收到，我看一下"]
    assert m["role"].tolist() == ["system", "customer", "customer", "agent"]
    book = openpyxl.Workbook()
    for row in [["会话ID", "日期", "时间", "客户昵称", "角色", "客服", "内容"],
                ["W1", "2026/11/28", 0.5915046296296296, "老陈", "买家", None, "手机壳发黄了"],
                ["W1", "2026/11/28", 0.5919328703703703, "老陈", "客服", "安然", "亲，抱歉"]]:
        book.active.append(row)
    book.save(tmp_path / "frac.xlsx")
    local = load_inputs([str(tmp_path / "frac.xlsx")]).messages["timestamp"].dt.tz_convert(TZ)
    assert local.dt.strftime("%m-%d %H:%M:%S").tolist() == ["11-28 14:11:46", "11-28 14:12:23"]
    sci = write_csv(
        tmp_path / "sci.csv",
        [["会话ID", "用户昵称", "客服昵称", "发送方", "发送时间", "消息内容"],
         ["1.79613E+17", "星河", "小禾", "用户", "2026/11/29 13:54", "能装热牛奶吗"],
         ["1.79613E+17", "星河", "小禾", "客服", "2026/11/29 13:55", "可以的"],
         ["1.79613E+17", "胖橘", "小禾", "用户", "2026/11/29 14:10", "发货了吗"],
         ["1.79613E+17", "胖橘", "小禾", "客服", "2026/11/29 14:11", "今天发"]],
    )
    loaded = load_inputs([sci])
    assert loaded.messages["session_id"].nunique() == 2
    assert any("scientific notation" in note for note in loaded.notes)


def test_wecom_ids_tell_customers_from_staff_with_the_same_plain_names(tmp_path):
    """微信客服's export names customers and staff alike by plain names (a customer 王磊 served by agent 王磊); the
    ids tell them apart: an external userid (wm… / wo…, 32 characters) is the customer, the kf account (wk…) and an
    empty id the system, any other id (wmeng included) staff. A session is the customer's id per day, whoever
    writes; the person who wrote is the agent, not the shared 客服账号."""
    customer, other, kf = "wm" + "A" * 30, "wo" + "b" * 30, "wk" + "C" * 30
    path = write_csv(
        tmp_path / "kf.csv",
        [["消息时间", "客服账号", "发送者ID", "发送者", "接收者ID", "接收者", "消息类型", "消息内容"],
         ["2026-11-28 10:08:04", "售后", "", "系统", customer, "王磊", "event", "王磊 进入会话"],
         ["2026-11-28 10:08:05", "售后", kf, "售后", customer, "王磊", "text", "您好，欢迎咨询"],
         ["2026-11-28 10:08:06", "售后", customer, "王磊", "", "", "text", "水壶盖子弹开烫伤了"],
         ["2026-11-28 10:09:57", "售后", "ZhangJie01", "王磊", customer, "王磊", "text", "您先用冷水冲一下"],
         ["2026-11-28 10:10:00", "售后", other, "陈晨", "", "", "text", "加湿器不出雾"],
         ["2026-11-28 10:11:00", "售后", "wmeng", "王萌", other, "陈晨", "text", "您看下水箱"]],
    )
    m = load_inputs([path]).messages.sort_values("source_row")
    assert m["role"].tolist() == ["system", "system", "customer", "agent", "customer", "agent"]
    assert m["session_id"].str.startswith(customer).tolist() == [True] * 4 + [False] * 2
    assert m["session_id"].nunique() == 2
    assert m["agent"].tolist()[3] == "王磊" and m["agent"].tolist()[5] == "王萌"


def test_message_order_from_the_sequence_column_and_a_transfer_written_into_the_customer_column(tmp_path):
    """快手: times to the minute, rows of one minute sorted by sender, only 消息序号 gives the order; on a transfer the
    export writes the new agent (老杨家-小米, who answers as an agent elsewhere) into 买家昵称: that row is still the
    agent's, while the buyer's own rows stay the customer's."""
    path = write_csv(
        tmp_path / "ks.csv",
        [["会话ID", "消息序号", "买家昵称", "发送人", "发送时间", "消息内容"],
         ["K1", "2", "大虎", "大虎", "2026-11-27 20:25", "这件穿什么码"],
         ["K1", "1", "大虎", "智能客服", "2026-11-27 20:25", "您好，我是智能助手"],
         ["K1", "3", "老杨家-小米", "老杨家-小米", "2026-11-27 20:26", "亲，95斤选S"],
         ["K1", "4", "大虎", "大虎", "2026-11-27 20:27", "好"],
         ["K2", "1", "阿福", "阿福", "2026-11-27 21:00", "发货了吗"],
         ["K2", "2", "阿福", "老杨家-小米", "2026-11-27 21:01", "今天发"]],
    )
    m = load_inputs([path]).messages
    k1 = m[m["session_id"] == "K1"]
    assert k1["text"].tolist() == ["您好，我是智能助手", "这件穿什么码", "亲，95斤选S", "好"]
    assert k1["role"].tolist() == ["system", "customer", "agent", "customer"]


def test_a_session_the_robot_served_alone_is_no_robot_s_scorecard(tmp_path):
    """An export names the serving 客服 on every row; a session the robot (智能客服) served alone names the robot
    there: it is no agent, so the session has no agent to score (unknown), while a human's session keeps its agent."""
    from qa.checks.stage import session_agents

    path = write_csv(
        tmp_path / "robot.csv",
        [["会话ID", "客服", "消息方向", "时间", "内容"],
         ["r1", "智能客服", "接收", "2026-11-27 11:00:00", "有货吗"],
         ["r1", "智能客服", "发送", "2026-11-27 11:00:01", "您好，智能客服为您服务"],
         ["h1", "小王", "接收", "2026-11-27 12:00:00", "水壶漏水"],
         ["h1", "小王", "发送", "2026-11-27 12:01:00", "抱歉，给您换新"]],
    )
    m = load_inputs([path]).messages
    agents = session_agents(m)
    assert agents["r1"] == UNKNOWN_AGENT and agents["h1"] == "小王"


def test_a_session_only_the_named_robot_answered_is_no_robot_s_scorecard(tmp_path):
    """有赞: the robot answers under its own nickname (角色 智能助手, 客服名称 栖暖小管家) and no human ever does; the
    customer rows name nobody. The robot's name is no agent's: the session has none (unknown), so a supervisor sees an
    unattended chat, not a robot at the bottom of the scorecards."""
    from qa.checks.stage import session_agents

    path = write_csv(
        tmp_path / "youzan.csv",
        [["会话编号", "客服名称", "角色", "发送时间", "消息内容"],
         ["y1", "", "客户", "2026-11-27 11:00:00", "电暖器外壳烫伤了孩子的手"],
         ["y1", "栖暖小管家", "智能助手", "2026-11-27 11:00:01", "您好，人工客服正在赶来哦"],
         ["y2", "", "客户", "2026-11-27 12:00:00", "有货吗"],
         ["y2", "栖暖小管家", "智能助手", "2026-11-27 12:00:01", "您好，人工客服正在赶来哦"],
         ["y2", "阿满", "客服", "2026-11-27 12:01:00", "有的亲"],
         # a notice naming the human the chat was assigned to keeps that agent responsible, answered or not
         ["y3", "", "客户", "2026-11-27 13:00:00", "电热毯冒烟了 床单烧了个洞"],
         ["y3", "小林", "系统通知", "2026-11-27 13:00:01", "会话已分配给客服小林"]],
    )
    m = load_inputs([path]).messages
    assert m["role"].tolist()[:2] == ["customer", "system"]
    agents = session_agents(m)
    assert agents["y1"] == UNKNOWN_AGENT and agents["y2"] == "阿满" and agents["y3"] == "小林"


def test_a_customer_group_chat_takes_its_staff_from_the_row_s_staff_list(tmp_path):
    """企业微信 customer groups: no role column, plain names for everyone; the 群内员工 list on each row names the
    shop's staff (周敏(客服)) and robot (青禾小助手(机器人)): a listed sender is an agent or the system, everyone else in
    the group a customer; an auto-reply addressed to a member (@王丽 【自动回复】…) is the system; a session is the
    group's day."""
    staff = "周敏(客服)、王磊(客服)、青禾小助手(机器人)"
    path = write_csv(
        tmp_path / "group.csv",
        [["群名称", "发送时间", "发送人", "消息类型", "消息内容", "群内员工"],
         ["VIP群", "2026-11-28 19:45:11", "青禾小助手", "文本", "欢迎光临~", staff],
         ["VIP群", "2026-11-28 19:46:20", "王丽", "文本", "穿什么码", staff],
         ["VIP群", "2026-11-28 19:46:30", "王磊", "文本", "@王丽 【自动回复】客服稍后回复您", staff],
         ["VIP群", "2026-11-28 19:47:29", "周敏", "文本", "@王丽 95斤选S", staff],
         ["VIP群", "2026-11-28 19:48:00", "系统", "系统消息", "周敏 邀请 郑雪 加入了群聊", staff],
         ["VIP群", "2026-11-29 10:00:00", "郑雪", "文本", "我也想问尺码", staff]],
    )
    m = load_inputs([path]).messages.sort_values("source_row")
    assert m["role"].tolist() == ["system", "customer", "system", "agent", "system", "customer"]
    assert m["session_id"].nunique() == 2


def test_rows_holding_finds_a_word_in_the_texts_bytes_never_across_two_texts():
    """The byte search behind the markup and withdrawn-message tests: a word found in a text's own bytes, never
    in the joined bytes of two neighbours (撤 then 回), in every chunk."""
    from qa.ingest.table import rows_holding

    texts = pd.Series(["a<b", "无", "该消息已撤回", "撤", "回", "撤回了撤回", ""], dtype="str")
    assert rows_holding(texts, "撤回").tolist() == [2, 5]
    assert rows_holding(texts, "<").tolist() == [0]
    assert rows_holding(texts.iloc[3:], "撤回").tolist() == [2]
    assert rows_holding(texts, "zz").tolist() == []


def test_a_note_may_quote_braces_from_an_agent_pattern_or_a_header(tmp_path):
    """Notes quote the user's --agent-pattern and the file's header names: braces in them (^\\d{4}$, 内容{1}) are
    text, never a placeholder (they made the audit stop with an internal error)."""
    path = write_csv(
        tmp_path / "ids.csv",
        [["会话ID", "消息时间", "发送人", "接收人", "消息内容{1}"],
         ["D1", "2026-11-28 10:50:05", "jd_6b1c", "1024", "能带上飞机吗"],
         ["D1", "2026-11-28 10:51:13", "1024", "jd_6b1c", "可以的"]],
    )
    result = load_inputs([path], agent_pattern=r"^\d{4}$", columns={"text": "消息内容{1}"})
    assert result.messages["role"].tolist() == ["customer", "agent"]
    assert any(r"/^\d{4}$/" in note for note in result.notes)


def test_rows_holding_only_text_are_the_further_lines_of_the_message_above(tmp_path):
    """A web table pasted into Excel spills a message's line breaks into rows of their own, every cell
    but the text empty: they are joined to the message above, line by line, and listed as such (not
    lost as rows without a session); one under a blank row has no message to join and stays refused."""
    result = load_inputs([_csv_of(tmp_path / "paste.csv", "用户昵称,接待客服,发送方,发送时间,消息内容",
                                  "阿青,小满,用户,2026-12-09 10:00:00,地址改一下",
                                  "阿青,小满,用户,2026-12-09 10:00:20,杭州市文三路8号",
                                  ",,,,华星大厦8楼 王女士",
                                  "阿青,小满,客服,2026-12-09 10:01:00,请回复数字：",
                                  ",,,,1. 查物流",
                                  ",,,,2. 转人工",
                                  "阿青,小满,客服,2026-12-09 10:01:30,好的",
                                  "",
                                  ",,,,孤零零的一行")])
    m = result.messages
    assert m["text"].tolist() == ["地址改一下", "杭州市文三路8号\n华星大厦8楼 王女士", "请回复数字：\n1. 查物流\n2. 转人工", "好的"]
    reasons = dict(zip(result.rejected["row"], result.rejected["reason"]))
    assert {row for row, why in reasons.items() if "joined to it" in why} == {4, 6, 7}
    assert reasons[10] == "empty session id"
    assert any("joined to the message above" in note for note in result.notes)


def test_a_sender_written_with_the_customer_s_role_word_is_the_customer(tmp_path):
    """快麦 writes the role before the name (买家-…, 客服-…) and no role column: a buyer whose nickname holds
    客服 or 店小二 is still the customer, a dashed nickname keeps its dash, and a notice account named
    for what it announces (平台通知) is the system."""
    m = _messages_of(tmp_path / "kuaimai.csv", "时间,发送人,内容,会话ID",
                     "2026-12-29 19:21:18,买家-客服姐姐你好,饼干里吃出头发了,s1",
                     "2026-12-29 19:21:53,客服-豆豆,非常抱歉！方便拍张照片吗？,s1",
                     "2026-12-29 19:23:05,买家-客服姐姐你好,拍好了,s1",
                     "2026-12-29 19:30:00,平台通知,退款已到账,s1",
                     "2026-12-29 20:06:32,买家-小-鱼,还没发货？,s2",
                     "2026-12-29 20:07:10,客服-阿满,今天发出,s2",
                     "2026-12-29 20:07:40,买家-店小二家的狗,好,s2")
    assert m["role"].tolist() == ["customer", "agent", "customer", "system", "customer", "agent", "customer"]


def test_a_role_column_beside_names_holds_role_words_though_a_table_below_fills_it(tmp_path):
    """发送方 holds names and 发送方角色 the roles, and a statistics table appended under the messages
    writes numbers into the same columns: the roles are still 发送方角色's (机器人 the system), and the
    appended rows are refused each with its reason."""
    result = load_inputs([_csv_of(tmp_path / "hx.csv", "会话ID,消息时间,访客昵称,发送方,发送方角色,技能组,消息内容",
                                  "u1,2026-12-10 12:42:08,访客7,小环,机器人,机器人,您好",
                                  "u1,2026-12-10 12:42:40,访客7,访客7,访客,售后组,耳机没声音了",
                                  "u1,2026-12-10 12:43:06,访客7,小鹿,坐席,售后组,抱歉 给您换新",
                                  "u2,2026-12-10 13:00:00,访客9,访客9,访客,售前组,有货吗",
                                  "u2,2026-12-10 13:00:30,访客9,阿木,坐席,售前组,有的",
                                  "u2,2026-12-10 13:01:00,访客9,访客9,访客,售前组,今天能发吗",
                                  "u2,2026-12-10 13:01:20,访客9,阿木,坐席,售前组,能",
                                  "u3,2026-12-10 14:00:00,访客5,小环,机器人,机器人,您好",
                                  "u3,2026-12-10 14:00:09,访客5,访客5,访客,售后组,转人工",
                                  "u3,2026-12-10 14:00:30,访客5,小鹿,坐席,售后组,在的",
                                  "",
                                  "坐席,技能组,接待会话数,消息数,平均首次响应(秒),满意率,备注",
                                  "小鹿,售后组,2,2,26,100%,")])
    assert result.messages["role"].tolist() == ["system", "customer", "agent", "customer", "agent", "customer",
                                                "agent", "system", "customer", "agent"]
    assert len(result.rejected) == 2 and result.rejected["reason"].str.len().gt(0).all()


def test_a_message_opening_with_a_lone_quote_in_an_unquoted_tsv_is_read(tmp_path):
    """旺店通's 导出Excel is tab-separated text written without quoting: a message that opens with a
    quote mark that never closes is read as it stands, and the rows after it as rows of their own."""
    path = tmp_path / "wdt.xls"
    path.write_text("会话ID\t发送方\t时间\t消息内容\n"
                    "w1\t买家\t2026-12-10 10:00:00\t\"胡桃色 这个发新疆吗\n"
                    "w1\t客服\t2026-12-10 10:01:00\t发的 运费到付\n"
                    "w1\t买家\t2026-12-10 10:02:00\t好\n", encoding="gb18030")
    result = load_inputs([str(path)])
    assert result.rejected.empty
    assert result.messages["text"].tolist() == ["\"胡桃色 这个发新疆吗", "发的 运费到付", "好"]


def test_an_agent_column_filled_on_a_session_s_first_row_only_takes_the_sender_s_name(tmp_path):
    """七鱼 writes 会话ID and 接待客服 on each session's header row only: an agent's message without its
    接待客服 is the agent's who sent it (发送方), not an unknown agent."""
    result = load_inputs([_csv_of(tmp_path / "qiyu.csv", "会话ID,访客,接待客服,时间,发送方,发送方类型,消息内容",
                                  "601,林小姐,阿宁,2026-12-09 11:17:30,,,会话开始｜来源：微信",
                                  ",,,2026-12-09 11:17:35,林小姐,访客,脸上起红疹子了",
                                  ",,,2026-12-09 11:18:29,阿宁,客服,非常抱歉！请先停用",
                                  "602,访客_a8,小周,2026-12-09 13:29:16,,,会话开始｜来源：网页",
                                  ",,,2026-12-09 13:29:21,访客_a8,访客,是正品吗",
                                  ",,,2026-12-09 13:29:50,小周,客服,是的 专柜同款")])
    m = result.messages
    assert m.loc[m["role"] == "agent", "agent"].tolist() == ["阿宁", "小周"]


def test_helpdesk_replies_internal_notes_and_a_copied_colleague(tmp_path):
    """Udesk's ticket replies name the role in 回复人类型 and how a reply went out in 回复方式: an internal
    note (内部备注) and a trigger's automatic mail are no agent's answer (system), a colleague copied on the
    mail (抄送人) is on the customer's side."""
    m = _messages_of(tmp_path / "udesk.csv", "工单编号,客户,回复人,回复人类型,回复方式,回复时间,回复内容",
                     "20452,刘敏,刘敏,客户,邮件,2026-12-17T10:00:00+08:00,发票抬头错了",
                     "20452,刘敏,售后-阿宁,客服,触发器,2026-12-17T10:00:05+08:00,【自动回复】工单已受理",
                     "20452,刘敏,售后-阿宁,客服,内部备注,2026-12-17T10:20:00+08:00,等仓库回复再答",
                     "20452,刘敏,售后-阿宁,客服,在线,2026-12-17T10:30:00+08:00,抱歉 马上给您重开",
                     "20452,刘敏,财务-李会计,抄送人,邮件,2026-12-17T03:00:00Z,附件是营业执照")
    assert m["role"].tolist() == ["customer", "system", "system", "agent", "customer"]
    assert m["timestamp"].iloc[-1] == pd.Timestamp("2026-12-17 11:00:00", tz="Asia/Shanghai")


def test_a_shop_side_direction_column_and_a_source_column_blank_on_the_buyer_s_rows(tmp_path):
    """万里牛's 收发 (收 the customer wrote, 发 the shop sent) is the role; 千牛's 消息来源 names how the shop's
    message was sent (人工, 快捷短语, 智能辅助 — a human's; 店小蜜 — the robot) and is blank on the buyer's rows,
    whom the sender equal to 买家昵称 tells."""
    m = _messages_of(tmp_path / "wln.csv", "会话编号,买家昵称,接待客服,收发,消息时间,消息内容",
                     "s1,小满,阿岚,收,2026-12-17 10:00:00,在吗", "s1,小满,阿岚,发,2026-12-17 10:00:30,在的")
    assert m["role"].tolist() == ["customer", "agent"]
    m = _messages_of(tmp_path / "qn.csv", "会话ID,买家昵称,发送人,消息来源,发送时间,消息内容",
                     "1,采购:小刘,店:小棠,店小蜜,2026-12-17 08:58:51,您好 机器人为您服务",
                     "1,采购:小刘,采购:小刘,,2026-12-17 08:59:04,我要人工",
                     "1,采购:小刘,店:小棠,人工,2026-12-17 09:00:22,您好 我是小棠",
                     "1,采购:小刘,采购:小刘,,2026-12-17 09:00:42,周日能装吗",
                     "1,采购:小刘,店:小棠,智能辅助,2026-12-17 09:00:58,可以的 已预约",
                     "1,采购:小刘,店:小棠,快捷短语,2026-12-17 09:01:10,您看还需要别的吗")
    assert m["role"].tolist() == ["system", "customer", "agent", "customer", "agent", "agent"]


def test_a_question_and_its_answer_per_row_are_two_messages(tmp_path):
    """晓多's 问答明细 writes a turn per row: the customer's message (提问时间, 买家消息) and the reply (回复时间,
    回复人, 回复内容). Each is a message at its own time; a row may hold only one; the reply's sender tells
    the robot and notices from the agents, and the session's 接待客服 summary names no one."""
    result = load_inputs([_csv_of(tmp_path / "xiaoduo.csv",
                                  "会话ID,买家账号,接待客服,轮次,提问时间,买家消息,回复时间,回复人,回复内容,响应时长(秒)",
                                  "x1,tb_小满,晓多机器人/极光-小鹿,1,,,2026-12-18 10:00:00,晓多机器人,您好 我是机器人,",
                                  "x1,tb_小满,晓多机器人/极光-小鹿,2,2026-12-18 10:00:20,音箱搜不到蓝牙,"
                                  "2026-12-18 10:00:21,晓多机器人,请长按配对键,1",
                                  "x1,tb_小满,晓多机器人/极光-小鹿,3,2026-12-18 10:01:00,转人工,2026-12-18 10:01:02,系统,已为您转接,2",
                                  "x1,tb_小满,晓多机器人/极光-小鹿,4,2026-12-18 10:01:30,在吗,2026-12-18 10:02:00,极光-小鹿,在的 您说,30",
                                  "x1,tb_小满,晓多机器人/极光-小鹿,5,2026-12-18 10:03:00,好的谢谢,,,,")])
    m = result.messages
    assert m["role"].tolist() == ["system", "customer", "system", "customer", "system", "customer", "agent", "customer"]
    assert m["source_row"].tolist() == [2, 3, 3, 4, 4, 5, 5, 6]
    assert m.loc[m["role"] == "agent", "agent"].tolist() == ["极光-小鹿"]
    assert m["timestamp"].iloc[6] == pd.Timestamp("2026-12-18 10:02:00", tz="Asia/Shanghai")


def test_a_staff_member_s_archive_tells_roles_by_who_sends_and_who_receives(tmp_path):
    """A 企业微信 SCRM archive (员工, 客户, 发送者, 接收者, no role): the staff member's messages are the agent's,
    those sent to them the customer's under whatever name (the remark the staff gave, a renamed nickname),
    the automatic 欢迎语 the system's; two customers both called 小雨, of two staff members, are two sessions."""
    result = load_inputs([_csv_of(tmp_path / "weiban.csv", "员工,员工账号,客户,客户备注,发送者,接收者,消息类型,消息内容,发送时间",
                                  "周敏,zhoumin,小月,小月-二宝妈,周敏,小月-二宝妈,欢迎语,您好 我是周敏,2026-12-20 09:00:00",
                                  "周敏,zhoumin,小月,小月-二宝妈,小月-二宝妈,周敏,文本,尿不湿到了吗,2026-12-20 09:01:00",
                                  "周敏,zhoumin,小月,小月-二宝妈,周敏,小月-二宝妈,文本,今天到,2026-12-20 09:02:00",
                                  "王磊,wanglei,小月,,小月,王磊,文本,在吗,2026-12-20 10:00:00",
                                  "王磊,wanglei,小月,,王磊,小月,文本,在的,2026-12-20 10:01:00",
                                  "王磊,wanglei,葡萄不甜,,🍇葡萄,王磊,文本,钱退了没,2026-12-20 11:00:00",
                                  "王磊,wanglei,葡萄不甜,,系统,王磊,系统,退款申请已通过,2026-12-20 11:01:00",
                                  "王磊,wanglei,葡萄不甜,,王磊,葡萄不甜,文本,退好了,2026-12-20 11:02:00")])
    m = result.messages.sort_values("source_row")
    assert m["role"].tolist() == ["system", "customer", "agent", "customer", "agent", "customer", "system", "agent"]
    assert m["session_id"].nunique() == 3


def test_role_codes_explained_by_a_field_dictionary_sheet(tmp_path):
    """A data platform's export writes the role as codes (1-客服；2-买家；3-机器人) and explains them only on a
    字段说明 sheet beside the data, in the line naming the role column: the codes are read from that line
    (not from another column's line), and an English field-name row under the header is no message."""
    from openpyxl import Workbook

    book = Workbook()
    data = book.active
    data.title = "Sheet0"
    for row in (["会话ID", "发送方类型", "发送方昵称", "发送时间", "消息内容"],
                ["session_id", "sender_type", "sender_nick", "send_time", "content"],
                ["s1", 2, "小满", "2026-12-21 10:00:00", "在吗"], ["s1", 3, "机器人", "2026-12-21 10:00:01", "您好"],
                ["s1", 1, "栖木-七七", "2026-12-21 10:00:30", "在的"], ["s2", 2, "阿木", "2026-12-21 11:00:00", "发货了吗"],
                ["s2", 1, "栖木-可乐", "2026-12-21 11:00:40", "发了"]):
        data.append(row)
    fields = book.create_sheet("字段说明")
    for row in (["字段名", "中文名", "类型", "说明"], ["channel", "渠道", "int", "1-买家App；2-客服工作台"],
                ["sender_type", "发送方类型", "int", "1-客服；2-买家；3-机器人"]):
        fields.append(row)
    path = tmp_path / "datahub.xlsx"
    book.save(path)
    result = load_inputs([str(path)])
    assert result.messages["role"].tolist() == ["customer", "system", "agent", "customer", "agent"]
    assert result.rejected["row"].tolist() == [2]


def test_review_of_the_new_readings_keeps_the_older_ones(tmp_path):
    """The readings added for readers8/9 leave the layouts they were not made for as they were: a direction
    column naming both words (方向（接收/发送）) is still the role; a 千牛 log with 客服昵称 beside 发送者/接收者,
    where a colleague answers too, is no staff member's archive (the colleague is an agent); a role-word prefix
    does not make a robot a customer (会员:店小蜜)."""
    m = _messages_of(tmp_path / "dir.csv", "会话ID,时间,昵称,方向（接收/发送）,内容",
                     "d1,2026-12-09 10:00:00,小王,接收,在吗", "d1,2026-12-09 10:00:30,阿宁,发送,在的",
                     "d1,2026-12-09 10:01:00,小王,接收,好", "d2,2026-12-09 11:00:00,小李,接收,发货没",
                     "d2,2026-12-09 11:00:30,阿宁,发送,发了")
    assert m["role"].tolist() == ["customer", "agent", "customer", "customer", "agent"]
    rows = [f"s{i},2026-12-09 1{i}:00:00,小芸,buyer{i},buyer{i},小芸,问{i}" for i in range(4)]
    rows += [f"s{i},2026-12-09 1{i}:00:30,小芸,buyer{i},小芸,buyer{i},答{i}" for i in range(4)]
    rows.append("s0,2026-12-09 10:01:00,小芸,buyer0,阿宁,buyer0,我来补充")
    m = _messages_of(tmp_path / "qn.csv", "会话ID,发送时间,客服昵称,买家昵称,发送者,接收者,消息内容", *rows)
    assert m.loc[m["text"] == "我来补充", "role"].tolist() == ["agent"]
    assert (m.loc[m["text"].str.startswith("问"), "role"] == "customer").all()
    m = _messages_of(tmp_path / "prefix.csv", "会话ID,时间,发送人,内容",
                     "p1,2026-12-09 10:00:00,买家-阿青,在吗", "p1,2026-12-09 10:00:05,会员:店小蜜,您好",
                     "p1,2026-12-09 10:00:30,客服-阿宁,在的")
    assert m["role"].tolist() == ["customer", "system", "agent"]


def test_a_field_dictionary_explains_codes_with_sheet_chosen_and_q_a_rows_without_text_are_rejected(tmp_path):
    """--sheet names the data sheet: the workbook's 字段说明 still explains its role codes. A question-and-answer
    row with neither a question nor an answer is rejected, not lost."""
    from openpyxl import Workbook

    book = Workbook()
    data = book.active
    data.title = "数据"
    for row in (["会话ID", "发送方类型", "发送方昵称", "发送时间", "消息内容"], ["s1", 2, "小满", "2026-12-21 10:00:00", "在吗"],
                ["s1", 1, "栖木-七七", "2026-12-21 10:00:30", "在的"], ["s1", 2, "小满", "2026-12-21 10:01:00", "好"]):
        data.append(row)
    book.create_sheet("字段说明").append(["sender_type", "发送方类型", "int", "1-客服；2-买家"])
    path = tmp_path / "dh.xlsx"
    book.save(path)
    result = load_inputs([str(path)], sheet="数据")
    assert result.messages["role"].tolist() == ["customer", "agent", "customer"]
    result = load_inputs([_csv_of(tmp_path / "qa.csv", "会话ID,买家账号,提问时间,买家消息,回复时间,回复人,回复内容",
                                  "x1,小满,2026-12-18 10:00:20,在吗,2026-12-18 10:00:30,阿宁,在的",
                                  "x1,小满,2026-12-18 10:01:00,,,,")])
    assert len(result.messages) == 2 and result.rejected["row"].tolist() == [3]


def test_role_words_with_a_status_escaped_text_and_unquoted_commas(tmp_path):
    """京麦's older export writes a status after the role word (顾客(PLUS会员), 客服（已离职）, 客服(快捷回复)) and
    marks the automatic reply in brackets (客服(自动回复)); a platform event filed under the buyer is a system
    row by its 消息类型 (系统通知); a web console's CSV writes its text HTML-escaped (&lt;p&gt;…, 【 as &#12304;);
    an ERP's CSV written without quoting splits a message at its commas."""
    m = _messages_of(tmp_path / "jm.csv", "会话ID,角色,昵称,时间,内容",
                     "j1,顾客(PLUS会员),阿青,2027-01-14 09:00:00,在吗",
                     "j1,客服(自动回复),小满,2027-01-14 09:00:01,您好 稍等",
                     "j1,客服（已离职）,小满,2027-01-14 09:01:00,在的",
                     "j1,顾客[新客],阿青,2027-01-14 09:02:00,好",
                     "j1,客服(快捷回复),小满,2027-01-14 09:02:30,您看还需要别的吗")
    assert m["role"].tolist() == ["customer", "system", "agent", "customer", "agent"]
    m = _messages_of(tmp_path / "ks.csv", "会话ID,买家信息,发送人,消息类型,消息内容,发送时间",
                     "k1,138****3150,138****3150,文本,坚果受潮了,2027-01-14 09:18:04",
                     "k1,138****3150,林家:阿月,文本,麻烦拍一下,2027-01-14 09:18:45",
                     "k1,138****3150,138****3150,系统通知,买家申请了仅退款,2027-01-14 09:23:40")
    assert m["role"].tolist() == ["customer", "agent", "system"]
    m = _messages_of(tmp_path / "hx.csv", "会话ID,发送者类型,发送者,发送时间,消息内容",
                     "h1,访客,Tom,2027-01-16 09:06:57,没声音了",
                     "h1,坐席,Amy,2027-01-16 09:07:00,&#12304;&#33258;&#21160;&#22238;&#22797;&#12305;&#31245;&#20505;",
                     "h1,坐席,Amy,2027-01-16 09:07:44,&lt;p&gt;您好&amp;amp;抱歉&lt;/p&gt;")
    assert m["role"].tolist() == ["customer", "system", "agent"] and m["text"].iloc[2] == "您好&抱歉"
    result = load_inputs([_csv_of(tmp_path / "gy.csv", "平台会话号,消息时间,消息内容,发送方,客服账号",
                                  "g1,2027-01-17 09:22:19,发票能开吗,买家,店:小橙",
                                  "g1,2027-01-17 09:22:53,能开,满20份还能打九折,卖家,店:小橙",
                                  "g1,2027-01-17 09:24:17,九折是多少钱,买家,店:小橙")])
    assert result.rejected.empty
    assert result.messages["text"].tolist() == ["发票能开吗", "能开,满20份还能打九折", "九折是多少钱"]
    assert result.messages["role"].tolist() == ["customer", "agent", "customer"]


def test_a_name_repeated_under_two_group_cells_takes_its_group_s_name(tmp_path):
    """京麦's 2025 export heads 账号 and 角色 twice, under the merged group cells 发送方 and 接收方: the roles are
    the sender's (发送方 角色), not the receiver's, nor refused as two role columns."""
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    sheet.append(["会话信息", None, "发送方", None, "接收方", None, "消息", None])
    sheet.append(["会话编号", "顾客账号", "账号", "角色", "账号", "角色", "发送时间", "消息内容"])
    for cells in (("jd_a", "用户", "shop_lu", "客服", "2027-01-13 09:20:35", "是正品吗"),
                  ("shop_lu", "客服", "jd_a", "用户", "2027-01-13 09:21:18", "是的 有防伪吊牌"),
                  ("jd_a", "用户", "shop_lu", "客服", "2027-01-13 09:22:32", "好")):
        sheet.append(["DD1", "jd_a", *cells])
    for cells in ("A1:B1", "C1:D1", "E1:F1", "G1:H1"):
        sheet.merge_cells(cells)
    path = tmp_path / "jm2025.xlsx"
    book.save(path)
    m = load_inputs([str(path)]).messages
    assert m["role"].tolist() == ["customer", "agent", "customer"]


def test_b2b_buyers_with_company_sub_accounts_are_customers(tmp_path):
    """On a B2B marketplace the buyers write as 公司:采购员, the same shape as the seller's 工厂:客服. The
    company present in every session is the shop; a company met in one of its sessions is a buyer, its
    bare main account too; the seller's bare main account is an agent."""
    m = _messages_of(tmp_path / "b2b.csv", "会话编号,发送者,接收者,消息时间,内容",
                     "s1,青松商贸有限公司:采购阿明,南湖塑料制品厂:小叶,2026-12-17 09:00:00,托盘怎么卖",
                     "s1,南湖塑料制品厂:小叶,青松商贸有限公司:采购阿明,2026-12-17 09:01:00,100个起批 每个8元",
                     "s2,北岸超市连锁:老周,南湖塑料制品厂:小叶,2026-12-17 10:00:00,上批货有裂的",
                     "s2,南湖塑料制品厂,北岸超市连锁:老周,2026-12-17 10:02:00,周总抱歉 给您补发",
                     "s3,东城五金店:阿娟,南湖塑料制品厂:阿凯,2026-12-17 11:00:00,能开票吗",
                     "s3,南湖塑料制品厂:阿凯,东城五金店:阿娟,2026-12-17 11:01:00,可以开",
                     "s3,东城五金店,南湖塑料制品厂:阿凯,2026-12-17 11:02:00,好的")
    assert m["role"].tolist() == ["customer", "agent", "customer", "agent", "customer", "agent", "customer"]


def test_a_session_column_holding_one_link_text_is_no_session_id(tmp_path):
    """A console export writes 查看会话 in every session cell (the id is in the cell's link): the rows of
    different customers are different sessions, a customer's conversation of one day each."""
    rows = [["会话", "用户昵称", "发送方", "发送时间", "消息内容"],
            ["查看会话", "阿布", "用户", "2026-12-17 10:00:00", "还没发货吗"],
            ["查看会话", "小米粒", "用户", "2026-12-17 10:00:30", "有优惠券吗"],
            ["查看会话", "阿布", "客服", "2026-12-17 10:01:00", "今天发"],
            ["查看会话", "小米粒", "客服", "2026-12-17 10:01:30", "有的 满99减10"]]
    result = load_inputs([_workbook(tmp_path / "links.xlsx", {"会话消息": rows})])
    sessions = result.messages.groupby("session_id")["text"].apply(list).to_dict()
    assert sorted(sessions.values()) == [["有优惠券吗", "有的 满99减10"], ["还没发货吗", "今天发"]]
    assert any("查看会话" in note for note in result.notes)


def test_an_agent_named_by_number_and_by_name_is_read_by_name(tmp_path):
    """客服工号 beside 客服昵称: both look like the agent; the name is the one a report shows."""
    m = _messages_of(tmp_path / "n.csv", "会话编号,客户会员名,客服工号,客服昵称,消息发送方,消息内容,时间",
                     "s1,阿布,100231,小橙,会员,在吗,2026-12-17 10:00:00",
                     "s1,阿布,100231,小橙,客服,在的,2026-12-17 10:00:20")
    assert m["agent"].tolist() == ["小橙", "小橙"]


def test_a_text_export_saved_as_a_workbook_with_every_line_in_one_cell(tmp_path):
    """A 竖线 txt opened in Excel and saved as .xlsx keeps each line in column A: the header's fields
    give the columns, and the last one keeps a | written in a message."""
    rows = [["店铺|会话号|买家昵称|发送方|客服账号|消息时间|消息内容"],
            ["小铺|h1|阿布|买家|小铺:阿杰|2026-12-17 10:00:00|型号A|型号B 哪个好"],
            ["小铺|h1|阿布|客服|小铺:阿杰|2026-12-17 10:00:40|A更静音"]]
    result = load_inputs([_workbook(tmp_path / "pipes.xlsx", {"聊天记录": rows})])
    assert result.rejected.empty
    assert result.messages["text"].tolist() == ["型号A|型号B 哪个好", "A更静音"]
    assert result.messages["role"].tolist() == ["customer", "agent"]


def test_an_export_split_into_a_sheet_per_sender(tmp_path):
    """买家消息 / 客服消息 / 系统消息 sheets with no role column: the sheet's name says who wrote; a robot's
    or auto-reply's row on the agents' sheet (回复类型) is the system's."""
    head = ["会话ID", "买家昵称", "发送时间", "消息内容"]
    sheets = {"买家消息": [head, ["c1", "阿布", "2026-12-17 10:00:00", "在吗"], ["c1", "阿布", "2026-12-17 10:02:00", "还在吗"]],
              "客服消息": [["会话ID", "买家昵称", "回复类型", "发送时间", "消息内容"],
                       ["c1", "阿布", "自动回复", "2026-12-17 10:00:01", "您好 稍等"],
                       ["c1", "阿布", "人工", "2026-12-17 10:03:00", "在的亲"]],
              "系统消息": [head, ["c1", "阿布", "2026-12-17 10:02:30", "已为您转接人工"]]}
    result = load_inputs([_workbook(tmp_path / "by_sender.xlsx", sheets)])
    m = result.messages.sort_values("timestamp")
    assert m["role"].tolist() == ["customer", "system", "customer", "system", "agent"]
    assert m["session_id"].nunique() == 1


def test_two_exports_joined_byte_for_byte_in_gbk_and_in_utf8(tmp_path):
    """copy /b of an older GBK export and a newer UTF-8 one (its BOM and header mid-file): each line is
    read in its own encoding, nothing rejected."""
    older = "会话ID,买家昵称,发送者,时间,聊天内容\r\ng1,阿布,买家,2026-12-16 10:00:00,橙子甜吗\r\ng1,阿布,客服,2026-12-16 10:00:30,很甜哦\r\n"
    newer = "会话ID,买家昵称,发送者,时间,聊天内容\r\nu1,小米粒,买家,2026-12-17 09:00:00,到了吗 🍊\r\n"
    path = tmp_path / "joined.csv"
    path.write_bytes(older.encode("gbk") + codecs.BOM_UTF8 + newer.encode("utf-8"))
    result = load_inputs([str(path)])
    assert result.rejected.empty
    assert result.messages["text"].tolist() == ["橙子甜吗", "很甜哦", "到了吗 🍊"]


def test_a_workbook_with_a_sheet_per_session_named_in_a_block_above_the_header(tmp_path):
    """An index sheet, then one sheet per session whose id stands in an information block (会话ID： …)
    above the header: each sheet is its session; the index sheet is skipped."""
    def session(sid, customer, first):
        return [["会话ID：", sid], ["客户：", customer], [], ["发送时间", "发送者", "发送者类型", "消息内容"],
                [f"2026-12-17 {first}:00:00", customer, "客户", "在吗"], [f"2026-12-17 {first}:00:30", "安安", "客服", "在的"]]
    sheets = {"目录": [["序号", "会话ID", "客户", "消息条数"], [1, "s-1", "阿布", 2], [2, "s-2", "阿布", 2]],
              "阿布_1": session("s-1", "阿布", "10"), "阿布_2": session("s-2", "阿布", "15")}
    result = load_inputs([_workbook(tmp_path / "per_session.xlsx", sheets)])
    assert result.rejected.empty
    assert result.messages.groupby("session_id")["text"].apply(list).to_dict() == {"s-1": ["在吗", "在的"], "s-2": ["在吗", "在的"]}


def test_a_shop_s_second_account_writing_to_the_customer_stays_the_shop_s(tmp_path):
    """Two sub-accounts of differently named shop companies in one session (旗舰店 and 售后中心) both write to
    the customer: neither is a B2B buyer (a buyer company writes to the shop's account)."""
    m = _messages_of(tmp_path / "two_accounts.csv", "会话编号,发送者,接收者,消息时间,内容",
                     "s1,阿布,南湖旗舰店:小叶,2026-12-17 09:00:00,盖子坏了",
                     "s1,南湖旗舰店:小叶,阿布,2026-12-17 09:01:00,我转给售后",
                     "s1,南湖售后中心:阿凯,阿布,2026-12-17 09:02:00,您好 这边是售后 给您补发",
                     "s2,小米粒,南湖旗舰店:小叶,2026-12-17 10:00:00,在吗",
                     "s2,南湖旗舰店:小叶,小米粒,2026-12-17 10:01:00,在的")
    assert m["role"].tolist() == ["customer", "agent", "agent", "customer", "agent"]


def test_session_ids_kept_only_in_the_cells_links(tmp_path):
    """飞鸽 shows 查看会话 in every session cell; the id is the conversationId of the cell's link. Each
    link's id is the session, so one customer's two sessions of a day stay apart."""
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = "会话消息"
    sheet.append(["会话", "用户昵称", "发送方", "发送时间", "消息内容"])
    rows = [("9001", "阿布", "用户", "2026-12-17 10:00:00", "在吗"), ("9001", "阿布", "客服", "2026-12-17 10:00:30", "在的"),
            ("9002", "阿布", "用户", "2026-12-17 15:00:00", "又是我"), ("9002", "阿布", "客服", "2026-12-17 15:00:20", "您说")]
    for sid, *rest in rows:
        sheet.append(["查看会话", *rest])
        sheet.cell(row=sheet.max_row, column=1).hyperlink = f"https://example.test/history?conversationId={sid}&shopId=7"
    path = tmp_path / "links.xlsx"
    book.save(path)
    result = load_inputs([str(path)])
    assert result.messages.groupby("session_id")["text"].apply(list).to_dict() == {"9001": ["在吗", "在的"], "9002": ["又是我", "您说"]}


def test_a_shop_named_after_robots_keeps_its_agents_human(tmp_path):
    """A robot-vacuum shop's name holds 机器人, so every sub-account does (扫地机器人旗舰店:小云): the robot word
    counts in the account part only; the shop's 店小蜜 is still the robot, a buyer named 机器人小白 still the buyer."""
    m = _messages_of(tmp_path / "robots.csv", "会话ID,买家昵称,发送人,发送时间,消息内容",
                     "s1,机器人小白,机器人小白,2026-12-17 10:00:00,能拖地吗",
                     "s1,机器人小白,洁宝扫地机器人旗舰店:店小蜜,2026-12-17 10:00:02,您好 我是智能助手",
                     "s1,机器人小白,洁宝扫地机器人旗舰店:小云,2026-12-17 10:01:00,能的亲 扫拖一体")
    assert m["role"].tolist() == ["customer", "system", "agent"]


def test_times_of_day_under_the_day_a_title_names_turn_the_day_past_midnight(tmp_path):
    """A night shift's export: 时间 holds 23:58:10 and 00:03:00 only, the day is in the title line. The rows take
    that day and the next one once the clock goes back past midnight; a conversation begun a little before the
    last one ended stays on its day."""
    path = tmp_path / "night.csv"
    path.write_text("药房夜班记录 班次：2026-12-16 20:00 至 次日 08:00\n会话ID,访客名称,发送者类型,时间,内容\n"
                    "n1,阿布,访客,23:50:00,在吗\nn2,小米粒,访客,23:49:30,你好\nn1,阿布,客服,23:58:10,在的\n"
                    "n1,阿布,访客,00:03:00,谢谢\nn2,小米粒,客服,00:04:00,您说\n", encoding="utf-8")
    m = load_inputs([str(path)]).messages
    stamps = dict(zip(m["text"], m["timestamp"].dt.strftime("%m-%d %H:%M")))
    assert stamps == {"在吗": "12-16 23:50", "你好": "12-16 23:49", "在的": "12-16 23:58", "谢谢": "12-17 00:03",
                      "您说": "12-17 00:04"}


def test_times_of_day_under_the_day_the_file_name_names(tmp_path):
    m = _messages_of(tmp_path / "chat_20261216.csv", "会话ID,访客名称,发送者类型,时间,内容",
                     "n1,阿布,访客,09:00:00,在吗", "n1,阿布,客服,09:00:40,在的")
    assert m["timestamp"].dt.strftime("%Y-%m-%d %H:%M").tolist() == ["2026-12-16 09:00", "2026-12-16 09:00"]


def test_a_long_message_cut_into_numbered_pieces_is_one_message(tmp_path):
    """An ERP cuts long messages into records numbered 1/2, 2/2 (分片): the later pieces join the first,
    each counted as joined, so an auto-reply's second half is no agent's reply."""
    result = load_inputs([_csv_of(tmp_path / "pieces.csv", "平台会话号,分片,发送时间,发送方类型,发送方,消息内容",
                                  "p1,1/1,2026-12-17 09:00:00,买家,阿布,奶粉几段",
                                  "p1,1/2,2026-12-17 09:00:03,客服,店:阿梨,【自动回复】您好 段数按月龄选：",
                                  "p1,2/2,2026-12-17 09:00:03,客服,店:阿梨,1段0-6个月 2段6-12个月",
                                  "p1,1/1,2026-12-17 09:02:00,客服,店:阿梨,宝宝多大了呢")])
    m = result.messages
    assert m["text"].tolist() == ["奶粉几段", "【自动回复】您好 段数按月龄选：1段0-6个月 2段6-12个月", "宝宝多大了呢"]
    assert m["role"].tolist() == ["customer", "system", "agent"]
    assert len(result.rejected) == 1 and "joined" in result.rejected["reason"].iloc[0]


def test_shop_bands_above_blocks_scope_the_session_numbers(tmp_path):
    """A multi-shop export with no shop column: a band row (店铺：…) above each shop's block, session numbers
    restarting in each block. The same number in two shops is two sessions; the bands are no messages."""
    rows = [["会话编号", "买家昵称", "发送方身份", "发送时间", "消息内容"],
            ["店铺：暖窝天猫店｜平台：天猫", None, None, None, None],
            ["001", "阿布", "买家", "2026-12-17 09:00:00", "有货吗"], ["001", "阿布", "客服", "2026-12-17 09:00:30", "有的"],
            ["店铺：暖窝京东店｜平台：京东", None, None, None, None],
            ["001", "小米粒", "买家", "2026-12-17 09:01:00", "发什么快递"], ["001", "小米粒", "客服", "2026-12-17 09:01:20", "京东物流"]]
    result = load_inputs([_workbook(tmp_path / "bands.xlsx", {"聊天记录": rows})])
    assert result.rejected.empty
    assert sorted(result.messages.groupby("session_id")["text"].apply(list).tolist()) == [["发什么快递", "京东物流"], ["有货吗", "有的"]]


def test_a_dump_without_a_header_line_is_read_by_what_its_columns_hold(tmp_path):
    """A warehouse download with its header off (tunnel download): the first line is a message. The
    columns are told by their content (an id repeated in runs is the session, the role words the
    role, the date-times the time, the long varied cells the text; the message's own id and the
    shop are neither), row 1 is a message, a quoted message over two lines is one, and a read in
    chunks gives the same rows."""
    lines = [
        "31000001,90000001,木木家居店,buyer_a1,买家,buyer_a1,2027-03-02 10:00:05,这个台灯能调光吗",
        "31000001,90000002,木木家居店,buyer_a1,机器人,木木家居店:小助手,2027-03-02 10:00:07,亲，可以三档调光哦",
        "31000001,90000003,木木家居店,buyer_a1,系统,,2027-03-02 10:00:09,已转接人工客服",
        "31000001,90000004,木木家居店,buyer_a1,客服,木木家居店:阿青,2027-03-02 10:01:10,\"您好，可以调的\n长按开关就能切换\"",
        "31000001,90000005,木木家居店,buyer_a1,买家,buyer_a1,2027-03-02 10:02:00,好的谢谢",
        "31000002,90000006,木木家居店,zhou_77,买家,zhou_77,2027-03-02 11:20:00,收到的灯罩裂了",
        "31000002,90000007,木木家居店,zhou_77,客服,木木家居店:阿青,2027-03-02 11:21:30,非常抱歉，麻烦拍张照片",
        "31000002,90000008,木木家居店,zhou_77,买家,zhou_77,2027-03-02 11:23:00,[图片]",
    ]
    path = tmp_path / "dump.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    result = load_inputs([str(path)])
    m = result.messages
    assert result.rejected.empty and len(m) == 8
    assert m["role"].tolist() == ["customer", "system", "system", "agent", "customer", "customer", "agent", "customer"]
    assert m["session_id"].nunique() == 2 and m["session_id"].iloc[0] == "31000001"
    assert m["source_row"].tolist() == [1, 2, 3, 4, 5, 6, 7, 8]  # records, as Excel shows them
    assert m["text"].iloc[0] == "这个台灯能调光吗" and m["text"].iloc[3].endswith("长按开关就能切换")
    assert m.loc[m["role"] == "agent", "agent"].unique().tolist() == ["木木家居店:阿青"]
    assert any("no header line" in note for note in result.notes)
    streamed = pd.concat(chunk.messages for chunk in stream_inputs([str(path)], chunk_rows=3))
    assert streamed["source_row"].tolist() == m["source_row"].tolist()
    assert streamed["role"].tolist() == m["role"].tolist()


def test_a_dump_without_a_header_or_a_role_column_tells_roles_by_the_senders(tmp_path):
    """No role column either: the sender column (the buyer, or the shop's 店铺:子账号) tells the roles."""
    lines = [
        "s-4410001,2027-03-02 09:00:01,tom_lee,tom_lee,快递到哪了",
        "s-4410001,2027-03-02 09:01:01,tom_lee,鹿角旗舰店:小米,我帮您查一下物流",
        "s-4410001,2027-03-02 09:02:01,tom_lee,tom_lee,好",
        "s-4410002,2027-03-02 09:10:01,amy88,amy88,能开发票吗",
        "s-4410002,2027-03-02 09:11:31,amy88,鹿角旗舰店:小米,可以的，下单时填写抬头",
        "s-4410002,2027-03-02 09:12:01,amy88,鹿角旗舰店:小禾,发票会随货寄出",
    ]
    path = tmp_path / "dump.txt"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    m = load_inputs([str(path)]).messages
    assert m["role"].tolist() == ["customer", "agent", "customer", "customer", "agent", "agent"]
    assert m["session_id"].tolist() == ["s-4410001"] * 3 + ["s-4410002"] * 3
    assert m["source_row"].tolist() == [1, 2, 3, 4, 5, 6]


def _box_table(header: list[str], rows: list[list[str]]) -> list[str]:
    """The lines the mysql client prints for a result: cells padded to the column's width on the
    screen, where a Chinese character takes two columns."""
    import unicodedata

    def width(text: str) -> int:
        return sum(2 if unicodedata.east_asian_width(c) in ("W", "F") else 1 for c in text)

    widths = [max(width(r[at]) for r in [header, *rows]) for at in range(len(header))]
    border = "+" + "+".join("-" * (w + 2) for w in widths) + "+"

    def line(cells: list[str]) -> str:
        return "|" + "|".join(f" {c}{' ' * (w - width(c))} " for c, w in zip(cells, widths)) + "|"

    return [border, line(header), border, *(line(r) for r in rows), border]


def test_a_database_client_s_table_pasted_into_a_text_file(tmp_path):
    """The mysql client's box table in a .txt: cells cut by the border's screen columns (a 中文
    cell is padded by display width; a message holding | stays one cell), NULL is no value, the
    prompt, the query and the row count are no rows, and each row keeps its line number."""
    table = _box_table(["session_id", "msg_time", "sender_type", "sender_nick", "content"], [
        ["88001", "2027-03-05 10:00:00", "BUYER", "小鹿妈妈", "奶瓶有几个口径"],
        ["88001", "2027-03-05 10:00:02", "ROBOT", "小助手", "有宽口|标准口两种哦"],
        ["88001", "2027-03-05 10:01:00", "STAFF", "阿雅", "您好，宽口的更好清洗"],
        ["88001", "2027-03-05 10:01:30", "SYSTEM", "NULL", "买家已下单"],
        ["88002", "2027-03-05 11:00:00", "BUYER", "tony", "发货了吗"],
        ["88002", "2027-03-05 11:02:00", "STAFF", "阿雅", "今天下午发出"],
    ])
    lines = ["mysql> SELECT session_id, msg_time, sender_type, sender_nick, content", "    -> FROM msg;",
             *table, "6 rows in set (0.01 sec)", "", "mysql> "]
    path = tmp_path / "query.txt"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    result = load_inputs([str(path)])
    m = result.messages
    assert result.rejected.empty
    assert m["text"].tolist()[:2] == ["奶瓶有几个口径", "有宽口|标准口两种哦"]
    assert m["role"].tolist() == ["customer", "system", "agent", "system", "customer", "agent"]
    assert m["source_row"].tolist() == [6, 7, 8, 9, 10, 11]
    assert m.loc[m["role"] == "agent", "agent"].unique().tolist() == ["阿雅"]


def test_excel_s_delimiter_line_an_api_s_waiter_and_a_wechat_nudge(tmp_path):
    """sep=^ on line 1 (Excel's hint, hidden when Excel opens the file) names the delimiter and is
    no header; 京东's API calls the agent WAITER; WeChat's 拍了拍 notice, filed under the customer who
    nudged, is a system row (a customer's 我拍了拍照片 is not)."""
    lines = ["sep=^", "会话ID^发送方^发送时间^内容",
             "w1^CUSTOMER^2027-02-14 10:00:00^\"情人节能送到吗^_^\"",
             "w1^WAITER^2027-02-14 10:01:00^可以的亲 今天下单今天送",
             "w1^CUSTOMER^2027-02-14 10:02:00^\"\"\"小美\"\" 拍了拍 \"\"客服阿青\"\"\"",
             "w1^CUSTOMER^2027-02-14 10:03:00^我拍了拍照片发你看下"]
    path = tmp_path / "caret.csv"
    path.write_bytes(("\n".join(lines) + "\n").encode("gb18030"))
    result = load_inputs([str(path)])
    m = result.messages
    assert result.rejected.empty
    assert m["text"].iloc[0] == "情人节能送到吗^_^"
    assert m["role"].tolist() == ["customer", "agent", "system", "customer"]
    assert m["source_row"].tolist() == [3, 4, 5, 6]


def test_hive_text_output_without_a_header_and_with_epoch_seconds(tmp_path):
    """Hive's INSERT OVERWRITE … DIRECTORY output: fields split by ^A (\\x01), no header, \\N for NULL,
    the time as epoch seconds; a buyer id of ten digits, in the same range, repeats on its session's
    rows and is no time."""
    a = "\x01"
    lines = [a.join(["88001", "1802657193", "小橙子", "buyer", "小橙子", "1802677266", "有满减吗", "20270215"]),
             a.join(["88001", "1802657193", "小橙子", "seller", "柚子店:阿柚", "1802677290", "满199减20哦", "20270215"]),
             a.join(["88001", "1802657193", "小橙子", "system", "\\N", "1802677300", "会话已结束", "20270215"]),
             a.join(["88002", "1802659999", "阿木", "buyer", "阿木", "1802680000", "发货了吗", "20270215"]),
             a.join(["88002", "1802659999", "阿木", "seller", "柚子店:阿柚", "1802680100", "今天发", "20270215"])]
    path = tmp_path / "000000_0.txt"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    m = load_inputs([str(path)]).messages
    assert m["role"].tolist() == ["customer", "agent", "system", "customer", "agent"]
    assert m["session_id"].tolist() == ["88001"] * 3 + ["88002"] * 2
    assert m["timestamp"].dt.strftime("%Y-%m-%d %H:%M:%S").iloc[0] == "2027-02-15 15:41:06"
    assert m["source_row"].tolist() == [1, 2, 3, 4, 5]


def test_readings_a_review_showed_wrong(tmp_path):
    """A mysql value holding a line break is one message, not a lost row; a dump's 0/1 flag column is
    no role column; a typed 你拍了拍我 is a message, not a nudge notice; in a conversation cell a line
    such as 上门时间(14:30)：… goes on the message above."""
    border = "+------------+---------------------+------+------------------+"
    box = ["mysql> select * from msg;", border, "| session_id | msg_time            | role | content          |", border,
           "| s2         | 2024-03-01 11:00:00 | 买家 | 你们什么态度", "我要投诉     |",
           "| s2         | 2024-03-01 11:01:00 | 客服 | 抱歉 马上处理    |", border, "2 rows in set (0.00 sec)"]
    (tmp_path / "box.txt").write_text("\n".join(box) + "\n", encoding="utf-8")
    boxed = load_inputs([str(tmp_path / "box.txt")])
    assert boxed.messages["text"].tolist() == ["你们什么态度\n我要投诉", "抱歉 马上处理"]
    assert boxed.messages["source_row"].tolist() == [5, 7]
    dump = ["2024030100001,2024-03-01 10:00:00,buyer1,0,你好 在吗",
            "2024030100001,2024-03-01 10:01:00,旗舰店:小王,1,在的亲",
            "2024030100001,2024-03-01 10:02:00,buyer1,1,什么时候发货",
            "2024030100002,2024-03-01 10:10:00,buyer2,0,有优惠吗",
            "2024030100002,2024-03-01 10:11:00,旗舰店:小王,1,满减哦",
            "2024030100002,2024-03-01 10:12:00,buyer2,1,好的"]
    (tmp_path / "dump.csv").write_text("\n".join(dump) + "\n", encoding="utf-8")
    assert load_inputs([str(tmp_path / "dump.csv")]).messages["role"].tolist() == [
        "customer", "agent", "customer", "customer", "agent", "customer"]
    m = _messages_of(tmp_path / "n.csv", "会话ID,发送方,发送时间,内容", "n1,客户,2027-02-14 10:00:00,在吗",
                     "n1,员工,2027-02-14 10:01:00,你拍了拍我 有啥事直接说")
    assert m["role"].tolist() == ["customer", "agent"]
    cell = _messages_of(tmp_path / "cell.csv", "会话ID,客户,会话开始时间,聊天记录",
                        '"c1","阿明","2024-03-01 10:00:00","10:00:00 阿明：我想预约明天安装\n'
                        '10:01:00 客服：好的亲，已为您预约\n上门时间(14:30)：师傅会提前联系您"')
    assert cell["text"].tolist() == ["我想预约明天安装", "好的亲，已为您预约\n上门时间(14:30)：师傅会提前联系您"]


def test_a_browser_s_json_stringified_csv_and_mysql_outfile_text(tmp_path):
    """Every value quoted with JSON's escapes (\\" for a quote, \\n for a break: 腾讯企点's console) is read
    as it means, a message ending in an inch mark included; MySQL INTO OUTFILE text (a backslash before
    an inner TAB, line break or backslash, \\N for NULL) is a record a row; 系统事件 is a system role."""
    rows = [["会话ID", "发送方", "发送时间", "消息内容"],
            ["QD1", "访客", "2027/2/24 09:15:03", '有适合iPad Pro 11"的壳吗'],
            ["QD1", "客服", "2027/2/24 09:16:00", "有的\n两种颜色"],
            ["QD1", "系统事件", "2027/2/24 09:20:00", "会话已结束"]]
    (tmp_path / "qd.csv").write_text("\ufeff" + "\n".join(",".join(json.dumps(v, ensure_ascii=False) for v in row)
                                                          for row in rows), encoding="utf-8")
    m = load_inputs([str(tmp_path / "qd.csv")]).messages
    assert m["text"].tolist() == ['有适合iPad Pro 11"的壳吗', "有的\n两种颜色", "会话已结束"]
    assert m["role"].tolist() == ["customer", "agent", "system"]
    assert m["source_row"].tolist() == [2, 3, 4]
    outfile = ("session_id\tsender_role\tsender_name\tsend_time\tcontent\n"
               "k1\tbuyer\t小花\t2027-02-23 10:00:00\t甲片怎么贴\n"
               "k1\tcs\t阿美\t2027-02-23 10:01:00\t第一步\\\n清洁甲面\\\n第二步\\\t贴\n"
               "k1\tsystem\t\\N\t2027-02-23 10:02:00\t会话结束\n")
    (tmp_path / "ks.txt").write_text(outfile, encoding="utf-8")
    k = load_inputs([str(tmp_path / "ks.txt")]).messages
    assert k["text"].tolist() == ["甲片怎么贴", "第一步\n清洁甲面\n第二步\t贴", "会话结束"]
    assert k["role"].tolist() == ["customer", "agent", "system"]
    assert k["source_row"].tolist() == [2, 3, 4]


def test_ordinary_tab_separated_text_is_no_mysql_outfile_and_a_real_one_named_tsv_is(tmp_path):
    """A TSV whose messages end in a typed backslash or hold \\N (Hive, pandas) is read as it is, in
    UTF-8 or UTF-16 (whose bytes hold 0x5C); MySQL OUTFILE text (an escaped break continuing a record)
    is read as one record a row even when named .tsv."""
    plain = ("会话ID\t发送方\t客服\t内容\n"
             "p1\t买家\t\\N\t截图在D:\\新建文件夹\\n1.jpg\n"
             "p1\t客服\t阿山\t好的亲\\\n"
             "p1\t买家\t\\N\t\\(^o^)/ 收到啦\n")
    (tmp_path / "plain.txt").write_text(plain, encoding="utf-8")
    m = load_inputs([str(tmp_path / "plain.txt")]).messages
    assert m["text"].tolist() == ["截图在D:\\新建文件夹\\n1.jpg", "好的亲\\", "\\(^o^)/ 收到啦"]
    (tmp_path / "plain16.txt").write_bytes(plain.encode("utf-16"))
    assert load_inputs([str(tmp_path / "plain16.txt")]).messages["text"].tolist()[1] == "好的亲\\"
    outfile = ("session_id\tsender_role\tsend_time\tcontent\n"
               "o1\tbuyer\t2027-02-23 10:00:00\t怎么贴\n"
               "o1\tcs\t2027-02-23 10:01:00\t第一步\\\n清洁\n"
               "o1\tbuyer\t2027-02-23 10:02:00\t好\n")
    (tmp_path / "dump.tsv").write_text(outfile, encoding="utf-8")
    o = load_inputs([str(tmp_path / "dump.tsv")]).messages
    assert o["text"].tolist() == ["怎么贴", "第一步\n清洁", "好"] and o["source_row"].tolist() == [2, 3, 4]


def test_json_stringified_csv_with_a_cut_last_line_and_a_half_emoji(tmp_path):
    """A line cut off mid-download is one rejected row (the others still read the JSON way, the inch
    mark kept); half an emoji (\\ud83d) becomes a replacement character, not a crash."""
    rows = [["会话ID", "发送方", "发送时间", "消息内容"], ["q1", "访客", "2027/2/24 09:15:03", '11"的壳有吗'],
            ["q1", "客服", "2027/2/24 09:16:00", "有的\ud83d"]]
    text = "\n".join(",".join(json.dumps(v) for v in row) for row in rows) + '\n"q1","访客","2027/2/24 09:1'
    (tmp_path / "cut.csv").write_text(text, encoding="utf-8")
    result = load_inputs([str(tmp_path / "cut.csv")])
    assert result.messages["text"].tolist() == ['11"的壳有吗', "有的\ufffd"]
    assert result.rejected["row"].tolist() == [4]


@pytest.mark.parametrize("sessions", [3, 70_000])
@pytest.mark.parametrize("in_time_order", [True, False])
def test_canonical_order_is_the_stable_sort_of_session_time_seq_and_position(sessions, in_time_order):
    # rows in time order take the radix sort of the session codes (more than 65,536 sessions: two
    # passes); others the lexsort: both are the stable sort_values of the keys
    from qa.ingest.build import canonical_order

    rng = np.random.default_rng(5)
    count = 200_000
    stamps = np.sort(rng.integers(0, 10**6, count)) if in_time_order else rng.integers(0, 10**6, count)
    messages = pd.DataFrame({
        "session_id": pd.array([f"s{k}" for k in rng.integers(0, sessions, count)], dtype="str"),
        "timestamp": pd.to_datetime(stamps * 10**9).tz_localize("UTC").tz_convert("Asia/Shanghai"),
        "seq": np.full(count, np.nan),
    })
    expected = messages.assign(_order=np.arange(count)).sort_values(
        ["session_id", "timestamp", "seq", "_order"], kind="stable").index.to_numpy()
    assert np.array_equal(canonical_order(messages), expected)
