"""Check type ``content_class``, :func:`emoji_only_mask` and the emoji-only rule's token lists."""

from __future__ import annotations

import dataclasses

import pandas as pd
import pytest
from tables import message_table

from qa.checks import CHECK_TYPES
from qa.checks.base import CheckContext
from qa.checks.content_class import _answered_customers, build_class, emoji_only_mask
from qa.errors import RuleError
from qa.normalize import normalize_column
from qa.rules import builtin_rules_dir, load_rule_file

# The token mechanics are tested with the answer-due condition off (every emoji-only reply);
# when an answer is due is tested in tests/rules/emoji-only.toml.
_LOADED = load_rule_file(builtin_rules_dir() / "emoji-only.toml")
RULE = dataclasses.replace(_LOADED, params={**_LOADED.params, "answer_due_class": ""})
RUN = CHECK_TYPES["content_class"].run
# The built-in rule's token lists: emoji_only_mask knows only what it is given.
LISTS = {key: _LOADED.params[key] for key in ("emoticons", "kaomoji", "token_patterns", "attachments")}


def emoji_only(texts: pd.Series, **options) -> pd.Series:
    """:func:`emoji_only_mask` with the built-in emoji-only rule's lists (``options`` override)."""
    return emoji_only_mask(texts, **{**LISTS, **options})


def messages(rows: list[tuple[str, str] | tuple[str, str, str]]) -> pd.DataFrame:
    """A message table from (role, text) or (session, role, text) rows."""
    return message_table(rows)


EMOJI_ONLY = [
    "👍",
    "👍🏻😊",
    "❤️",
    "👨‍👩‍👧",
    "🇨🇳",
    "1️⃣",
    "🫨",  # Unicode 15: known to the regex module's tables
    "[微笑]",
    "[捂脸][玫瑰]",
    "[微笑] 👍",
    "【微笑】",
    "[愛心]",  # traditional form of a listed name
    "[OK]",
    "[表情]",
    "[动画表情]",
    "/:^_^",
    "/:068",
    "/:)",
    "/:rose",
    "#E-s57",
    "#E-s21",
    "#E-抱拳",
    "#E-b12",
    "#E-j3",
    "#E-s[数字x]",
    "#E-s2[数字x]",
    "#E-s[数字x]#E-s[数字x] #E-s[数字x]",
    "~O(∩_∩)O~",
    "^_^",
    "(^o^)/",
    "o(╥﹏╥)o",
    "(｡･ω･｡)",
    "T_T",
    "orz",
    ":)",
    "：）",
    "。。。",
    "？？",
    "??",
    "~~",
    "…",
    "!!!",
    "！",
    "　👌　",
]

NOT_EMOJI_ONLY = [
    "好的👍",
    "谢谢[微笑]",
    "#E-s[数字x]您好",
    "嗯",
    "ok",
    "OK~",
    "666",
    "1",
    "hello :)",
    "[图片]",
    "[圖片]",
    "[图片][微笑]",
    "[商品链接]👍",
    "[订单]",
    "[订单卡片]",
    "[视频]",
    "[语音]",
    "[文件]",
    "[链接x]",
    "[数字x]",
    "[姓名x]",
    "[ORDERID_10125992]",
    "[收到]",
    "https://item.jd.com/123.html",
    "",
    "   ",
]


@pytest.mark.parametrize("text", EMOJI_ONLY)
def test_emoji_only(text):
    assert emoji_only(pd.Series([text])).iloc[0]


@pytest.mark.parametrize("text", NOT_EMOJI_ONLY)
def test_not_emoji_only(text):
    assert not emoji_only(pd.Series([text])).iloc[0]


@pytest.mark.parametrize("text", EMOJI_ONLY + NOT_EMOJI_ONLY)
def test_raw_and_normalized_texts_agree(text):
    raw = emoji_only(pd.Series([text]))
    norm = emoji_only(normalize_column(pd.Series([text])), normalized=True)
    assert raw.iloc[0] == norm.iloc[0]


def test_mask_keeps_index_and_dtypes():
    texts = pd.Series(["👍", "好的", None], index=[10, 20, 30], dtype="object")
    assert emoji_only(texts).to_dict() == {10: True, 20: False, 30: False}
    arrow = pd.Series(["👍", "好的"], index=[3, 1], dtype="str")
    assert emoji_only(arrow).to_dict() == {3: True, 1: False}
    assert emoji_only(pd.Series([], dtype="str")).empty


def test_mask_families_can_be_switched_off():
    texts = pd.Series(["。。。", "👍", "[微笑]", "#E-s57", "/:068"])
    assert list(emoji_only(texts, punctuation=False)) == [False, True, True, True, True]
    assert list(emoji_only(texts, emoticons=[])) == [True, True, False, True, True]
    assert list(emoji_only(texts, jd_codes=False)) == [True, True, True, False, True]
    assert list(emoji_only(texts, wangwang=False)) == [True, True, True, True, False]
    assert list(emoji_only(texts, attachments=["微笑"])) == [True, True, False, True, True]


def test_build_class_refuses_bad_token_pattern_and_empty_class():
    with pytest.raises(RuleError):
        build_class((), (), ("(?<=a)b",), ())
    with pytest.raises(RuleError):
        build_class((), (), (), (), False, False, False, False, False)


# --- the check on message tables ---------------------------------------------------------------


def test_only_agent_messages_are_flagged_with_whole_text_as_match():
    frame = messages([
        ("customer", "👍"),
        ("system", "[微笑]"),
        ("agent", " [微笑] "),
        ("agent", "[图片]"),
        ("agent", "好的[微笑]"),
    ])
    found = RUN(frame, RULE, CheckContext())
    assert list(found["msg"]) == [2]
    row = found.iloc[0]
    assert (row["match"], row["span_start"], row["span_end"]) == ("[微笑]", 1, 5)
    assert row["severity"] == "minor"
    assert row["context_msg"] == -1
    assert "[微笑]" in row["reason"]


@pytest.mark.parametrize(
    "customer",
    ["我要投诉你们", "再不处理我打12315", "打315投诉", "你们什么态度", "骗子！", "气死我了", "给你们差评", "？？？",
     "退款不给退是吧", "你们什麼服務啊"],
)
def test_upset_customer_upgrades_to_major(customer):
    frame = messages([("customer", "在吗"), ("customer", customer), ("agent", "[微笑]")])
    found = RUN(frame, RULE, CheckContext())
    row = found.iloc[0]
    assert row["severity"] == "major"
    assert row["context_msg"] == 1
    assert "情绪激动/投诉" in row["reason"]


@pytest.mark.parametrize(
    "customer",
    ["好的谢谢", "我不投诉，就问问", "订单号123156789", "金额3150元", "放心不会给差评的", "垃圾袋有货吗", "没生气"],
)
def test_calm_customer_stays_minor(customer):
    frame = messages([("customer", customer), ("agent", "👍")])
    row = RUN(frame, RULE, CheckContext()).iloc[0]
    assert (row["severity"], row["context_msg"]) == ("minor", -1)


def test_upgrade_looks_only_at_the_messages_the_reply_answers():
    frame = messages([
        ("S1", "customer", "我要投诉"),
        ("S1", "agent", "非常抱歉，我马上为您处理"),
        ("S1", "agent", "[玫瑰]"),  # follows the agent's own answer: minor
        ("S2", "customer", "垃圾服务，我要投诉"),
        ("S3", "agent", "[微笑]"),  # another session: minor
        ("S4", "customer", "我要投诉"),
        ("S4", "system", "客服正在赶来"),
        ("S4", "customer", "快点"),
        ("S4", "agent", "。。。"),  # the complaint two customer messages back counts
    ])
    found = RUN(frame, RULE, CheckContext()).set_index("msg")
    assert found.loc[2, "severity"] == "minor"
    assert found.loc[4, "severity"] == "minor"
    assert (found.loc[8, "severity"], found.loc[8, "context_msg"]) == ("major", 5)


def test_lookback_and_upgrade_can_be_turned_off():
    frame = messages([("customer", "我要投诉"), ("customer", "好"), ("agent", "👍")])
    one = dataclasses.replace(RULE, params={**RULE.params, "upset_lookback": 1})
    assert RUN(frame, one, CheckContext()).iloc[0]["severity"] == "minor"
    off = dataclasses.replace(RULE, params={**RULE.params, "upgrade_severity": ""})
    assert RUN(frame, off, CheckContext()).iloc[0]["severity"] == "minor"
    assert RUN(frame, RULE, CheckContext()).iloc[0]["severity"] == "major"


def test_english_reasons():
    frame = messages([("customer", "我要投诉"), ("agent", "👍"), ("customer", "好"), ("agent", "👍")])
    found = RUN(frame, RULE, CheckContext(lang="en"))
    assert found.iloc[0]["reason"].startswith("The customer was upset")
    assert found.iloc[1]["reason"].startswith("Agent replied with emoji")


def test_answered_customers_positions():
    frame = messages([
        ("S1", "customer", "a"), ("S1", "customer", "b"), ("S1", "agent", "x"),
        ("S2", "customer", "c"), ("S2", "system", "s"), ("S2", "agent", "y"),
    ])
    assert _answered_customers(frame, [2, 5], 3) == [[1, 0], [3]]
    assert _answered_customers(frame, [2], 1) == [[1]]


def test_empty_table():
    assert RUN(messages([]), RULE, CheckContext()).empty


@pytest.mark.parametrize(
    ("params", "key"),
    [
        ({"upset_patterns": ["投诉("]}, "upset_patterns"),
        ({"upset_exclude": ["(?<=x"]}, "upset_exclude"),
        ({"token_patterns": ["(?<=a)b"]}, "token_patterns"),
        ({"emoticons": [], "kaomoji": [], "token_patterns": [], "emoji": False, "symbols": False,
          "punctuation": False, "wangwang": False, "jd_codes": False}, "emoji"),
    ],
)
def test_validate_names_the_bad_key(params, key):
    problems = CHECK_TYPES["content_class"].validate({**RULE.params, **params})
    assert problems and problems[0][0] == key


def test_validate_accepts_the_builtin_rule():
    assert CHECK_TYPES["content_class"].validate(RULE.params) == []


@pytest.mark.parametrize(
    ("customer", "severity"),
    [
        ("我要打315", "major"),
        ("去315投诉你们", "major"),
        ("3·15晚会见", "major"),
        ("这个315元的有货吗", "minor"),
        ("订单号2026031512345", "minor"),
        ("我用工商银行付的", "minor"),
        ("宝宝用了以后过敏了，起了好多红疹", "major"),
        ("这个会过敏吗", "minor"),
        ("孩子皮肤敏感，会不会过敏", "minor"),
        ("多媒体播放器有货吗", "minor"),
    ],
)
def test_upset_complaint_words(customer, severity):
    frame = messages([("customer", customer), ("agent", "[微笑]")])
    assert RUN(frame, RULE, CheckContext()).iloc[0]["severity"] == severity


def test_mask_knows_only_the_lists_it_is_given():
    # No hidden defaults: without the rule's lists an emoticon code is just text in brackets.
    assert not emoji_only_mask(pd.Series(["[微笑]"])).iloc[0]
    assert emoji_only_mask(pd.Series(["👍"])).iloc[0]
