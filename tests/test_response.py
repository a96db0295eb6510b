"""Unit tests of the ``response`` check type with the ``ignored-complaint`` rule: trigger and
negation logic on single texts, reply classification, and the whole check on small tables."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from tables import message_table

from qa.checks.base import CheckContext
from qa.checks.response import _compile, classify_reply, run, triggers_in
from qa.classes import builtin_classes
from qa.normalize import normalize_text
from qa.regexutil import strip_lookarounds
from qa.rules import load_rule_file

RULE_PATH = Path(__file__).resolve().parent.parent / "rules" / "ignored-complaint.toml"


@pytest.fixture(scope="module")
def rule():
    return load_rule_file(RULE_PATH)


@pytest.fixture(scope="module")
def compiled(rule):
    return _compile(rule)


MUST_TRIGGER = [
    # 投诉 / 举报 / 维权
    ("我要投诉你们", "complaint"),
    ("我要投訴你們", "complaint"),
    ("你们这什么态度，我要投诉", "complaint"),
    ("再不给我处理我就去投诉", "complaint"),
    ("不给退款就投诉你们", "complaint"),
    ("不满意，我要投诉", "complaint"),
    ("不满意我要投诉", "complaint"),
    ("我已经投诉到平台了", "complaint"),
    ("本来不想投诉…只能去投诉了", "complaint"),
    ("本来不想投诉的，但是现在只能去投诉了", "complaint"),
    ("不得不投诉了", "complaint"),
    ("你们别逼我投诉", "complaint"),
    ("我要舉報你們", "complaint"),
    ("这事我一定要维权到底", "complaint"),
    # 315 / 12315 / regulators
    ("我要打315", "consumer-authority"),
    ("去315投诉", "consumer-authority"),
    ("3·15见", "consumer-authority"),
    ("等着上315晚会吧", "consumer-authority"),
    ("我会向315反映的", "consumer-authority"),
    ("打12315", "consumer-authority"),
    ("我已经打了12315", "consumer-authority"),
    ("再不处理我就打12315投诉你们！", "consumer-authority"),
    ("我要去工商局告你们", "consumer-authority"),
    ("我去市场监督管理局举报你们", "consumer-authority"),
    ("我会向消费者协会反映", "consumer-authority"),
    ("我找消协", "consumer-authority"),
    ("我要打12345投诉", "consumer-authority"),
    # media, police, legal
    ("我要曝光你们", "media"),
    ("我去找媒体", "media"),
    ("我要报警", "police"),
    ("我已经报警了", "police"),
    ("我要起诉你们", "legal"),
    ("我会请律师", "legal"),
    ("法院见", "legal"),
    ("你们等着吃官司吧", "legal"),
    ("我要告你们", "legal"),
    # personal safety
    ("孩子用了过敏了", "safety"),
    ("宝宝吃了以后拉肚子住院了", "safety"),
    ("充电的时候起火了", "safety"),
    ("我的手被划伤了", "safety"),
    ("划伤了孩子的手", "safety"),
    ("热水器漏电，差点出事", "safety"),
    ("孩子误食了里面的干燥剂", "safety"),
    ("吃了你们的东西食物中毒了", "safety"),
    ("杯子突然炸裂，手都割伤了", "safety"),
    ("用了你们的面霜脸上过敏，起了好多红疹", "safety"),
    ("电热毯把腿烫伤了", "safety"),
]

MUST_NOT_TRIGGER = [
    # negated complaints
    "我不投诉",
    "我不会投诉的，放心",
    "不会投诉的",
    "我没说要投诉",
    "没说要投诉",
    "我不是要投诉，就是问问",
    "不是要投诉",
    "不想投诉就是问问什么时候发货",
    "我不是投诉配送员，我只希望中午前给我送过来",
    "我也不想投诉，但是你们太慢了",
    "我不会去打315的",
    "没有报警",
    # 315 inside numbers, amounts, dates
    "订单号2026031512345",
    "我的手机号是13831512345",
    "一共¥315.00",
    "这个卖315元",
    "3月15日发货",
    "2023-03-15下的单",
    "我花了315",
    "价格降到315了",
    "房间号315",
    "链接是https://item.jd.com/3151585.html",
    # trade words and product talk
    "能用工商银行卡付款吗",
    "相机的曝光补偿怎么调",
    "音箱支持多媒体接口吗",
    "烟雾报警器怎么安装",
    "冰箱一直报警怎么回事",
    "告诉你们一下地址改了",
    "广告你们能删掉吗",
    "买家投诉我了怎么处理",
    "电脑中毒了能修吗",
    "如果是不小心中毒坏的可以换新吗",
    "空气炸锅怎么用",
    "这个漏电保护器好用吗",
    # safety words in questions and product attributes
    "这个面霜会过敏吗",
    "孕妇用了会不会过敏",
    "我对酒精过敏，这款含酒精吗",
    "宝宝是过敏体质可以用吗",
    "有防过敏的吗",
    "是防烫伤设计吗",
    "这个充电宝会爆炸吗",
    "这个不会爆炸吧",
    "手机屏幕有划伤",
    "收到的桌子有划伤",
    "用了不过敏，很好用",
    "万一烫伤了怎么办",
    # how a complaint already made is getting on: a question of progress, not a new complaint
    "我的投诉处理得怎么样了",
    # ordinary requests
    "什么时候发货",
    "好的谢谢",
]


@pytest.mark.parametrize(("text", "category"), MUST_TRIGGER, ids=[t for t, _ in MUST_TRIGGER])
def test_must_trigger(rule, text, category):
    found = triggers_in([text], rule)[0]
    assert found is not None, f"{text!r} should raise a sensitive complaint"
    # Personal safety is its own class (rules/classes.toml) with injury, illness, … categories.
    safety = {cat.name for cat in builtin_classes().get("safety").categories}
    assert found[2] == category or (category == "safety" and found[2] in safety)


@pytest.mark.parametrize("text", MUST_NOT_TRIGGER)
def test_must_not_trigger(rule, text):
    assert triggers_in([text], rule)[0] is None, f"{text!r} should not be a trigger"


def test_second_clause_raises_after_negated_first(rule):
    text = "本来不想投诉…只能去投诉了"
    start, end, _ = triggers_in([text], rule)[0]
    norm = normalize_text(text)
    assert norm[start:end] == "投诉" and start == norm.rindex("投诉")  # the second one


REPLIES = [
    # dismissive
    ("好的", "dismissive"),
    ("嗯", "dismissive"),
    ("嗯嗯", "dismissive"),
    ("恩、好的", "dismissive"),
    ("好的亲～", "dismissive"),
    ("收到。", "dismissive"),
    ("知道了", "dismissive"),
    ("OK", "dismissive"),
    ("哦哦", "dismissive"),
    ("好的😊", "dismissive"),
    ("可以的", "dismissive"),
    # emoji-only
    ("😊", "emoji"),
    ("👍👍", "emoji"),
    # guiding to a complaint channel
    ("投诉电话是400-123-4567", "guiding"),
    ("您可以去投诉", "guiding"),
    ("你可以打12315", "guiding"),
    ("我帮你转接投诉热线", "guiding"),
    ("随便你投诉", "guiding"),
    ("抱歉，投诉邮箱是 ts@example.com", "guiding"),
    ("这个您直接联系厂家售后吧", "guiding"),
    ("你找快递公司", "guiding"),
    # cold: no soothing, no handling offer
    ("请问还有什么可以帮您", "cold"),
    ("您还有其他问题吗", "cold"),
    ("这个是正常现象", "cold"),
    ("活动已经结束了", "cold"),
    ("这个处理不了", "cold"),
    ("这个不能退款哦", "cold"),
    ("无法为您处理", "cold"),
    ("您好", "cold"),
    # acceptable
    ("非常抱歉给您带来不便，我马上为您处理", ""),
    ("亲，别着急，我这边帮您核实一下", ""),
    ("理解您的心情，我们一定会给您一个满意的答复", ""),
    ("请问宝宝现在怎么样了？建议先就医，我们会全程跟进", ""),
    ("不好意思让您久等了", ""),
    ("我这边马上联系仓库给您补发", ""),
    ("抱歉，不需要您去投诉，我们马上处理", ""),
    ("非常抱歉，無需您撥打12315，我們立即處理", ""),
    ("我这边帮您联系厂家核实", ""),
]


@pytest.mark.parametrize(("reply", "kind"), REPLIES, ids=[r for r, _ in REPLIES])
def test_classify_reply(compiled, reply, kind):
    from qa.checks.response import EMOJI_TOKEN_PARAMS, emoji_only_mask
    from qa.rules import builtin_rules_dir, load_rule_file

    params = load_rule_file(builtin_rules_dir() / "ignored-complaint.toml").params
    lists = {key: params[key] for key in EMOJI_TOKEN_PARAMS}
    is_emoji = bool(emoji_only_mask(pd.Series([reply], dtype="str"), **lists).iloc[0])
    verdict = classify_reply(normalize_text(reply), is_emoji, compiled, builtin_classes(), "soothing", "handling")
    assert verdict[0] == kind


def test_strip_lookarounds_gives_a_superset():
    assert strip_lookarounds(r"(?<=(?:打|去))3[.·]?15(?![0-9]|\.[0-9])") == r"3[.·]?15"
    assert strip_lookarounds(r"(?<![广报])告(?:你|到)(?!诉)") == r"告(?:你|到)"
    assert strip_lookarounds(r"a\(?=b") == r"a\(?=b"  # an escaped paren is not a group


# --- the whole check on small message tables ---------------------------------------------------


def messages(rows: list[tuple[str, str, str]]) -> pd.DataFrame:
    """A sorted message table from (session, role, text) rows, without times."""
    return message_table(rows, timestamp=None)


def check(rule, rows):
    found = run(messages(rows), rule, CheckContext())
    return [(int(f.msg), int(f.context_msg), f.match, f.reason) for f in found.itertuples()]


def test_missing_reply_sits_on_trigger(rule):
    found = check(rule, [("S1", "customer", "我要打12315"), ("S1", "system", "会话已结束")])
    assert [(m, c, match) for m, c, match, _ in found] == [(0, -1, "12315")]
    assert "客服未回复" in found[0][3] and "12315" in found[0][3]


def test_reply_in_next_session_does_not_count(rule):
    found = check(rule, [("S1", "customer", "我要投诉"), ("S2", "agent", "非常抱歉，马上为您处理")])
    assert [(m, c) for m, c, _, _ in found] == [(0, -1)]


def test_consecutive_triggers_give_one_finding(rule):
    found = check(rule, [
        ("S1", "customer", "我要投诉"),
        ("S1", "customer", "还要打12315"),
        ("S1", "system", "客服正在输入"),
        ("S1", "agent", "好的"),
    ])
    assert [(m, c, match) for m, c, match, _ in found] == [(3, 0, "好的")]
    assert "仅敷衍" in found[0][3] and "「我要投诉」" in found[0][3]


def test_good_reply_later_does_not_excuse_bad_first(rule):
    found = check(rule, [
        ("S1", "customer", "我要投诉"),
        ("S1", "agent", "嗯"),
        ("S1", "agent", "非常抱歉，马上为您处理"),
    ])
    assert [(m, c) for m, c, _, _ in found] == [(1, 0)]


def test_good_first_reply_is_clean(rule):
    assert check(rule, [
        ("S1", "customer", "孩子用了过敏了"),
        ("S1", "agent", "非常抱歉，宝宝现在还好吗？建议先就医，我们马上为您处理"),
        ("S1", "customer", "我要投诉"),
        ("S1", "agent", "理解您的心情，这边立即为您跟进"),
    ]) == []


def test_greeting_continued_by_same_turn_is_passed_over(rule):
    assert check(rule, [
        ("S1", "customer", "我要投诉"),
        ("S1", "agent", "您好"),
        ("S1", "agent", "非常抱歉给您带来不便，马上为您处理"),
    ]) == []
    found = check(rule, [
        ("S1", "customer", "我要投诉"),
        ("S1", "agent", "亲"),
        ("S1", "agent", "好的"),
    ])
    assert [(m, c) for m, c, _, _ in found] == [(2, 0)]


def test_agent_text_never_triggers(rule):
    assert check(rule, [("S1", "agent", "您可以去投诉"), ("S1", "customer", "好的")]) == []


def test_guiding_match_is_the_phrase(rule):
    found = check(rule, [("S1", "customer", "我要投诉你们"), ("S1", "agent", "亲，投诉电话是400-123-4567")])
    assert [(m, c, match) for m, c, match, _ in found] == [(1, 0, "投诉电话")]
    assert "引导" in found[0][3]


def test_english_reason(rule):
    frame = messages([("S1", "customer", "我要投诉"), ("S1", "agent", "好的")])
    found = run(frame, rule, CheckContext(lang="en"))
    assert found["reason"].iloc[0].startswith("Customer raised a sensitive complaint '我要投诉'")
    assert "dismissive" in found["reason"].iloc[0]


def test_no_customer_messages(rule):
    assert check(rule, [("S1", "agent", "您好")]) == []


def test_bad_pattern_is_reported_with_the_rule_file(tmp_path):
    from qa.errors import RuleError

    text = RULE_PATH.read_text(encoding="utf-8").replace(
        'guiding_file = "lists/complaint-guiding.txt"', 'guiding = ["投诉(?<=未闭合"]'
    )
    bad = tmp_path / "ignored-complaint.toml"
    bad.write_text(text, encoding="utf-8")
    (tmp_path / "lists").symlink_to(RULE_PATH.parent / "lists")
    with pytest.raises(RuleError, match="ignored-complaint.toml:.*bad regular expression"):
        load_rule_file(bad)
