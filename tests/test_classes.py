"""The shared semantic classes (qa/classes.py) and the negation scope (qa/negation.py)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from qa.classes import builtin_classes, load_classes, mark_auto_replies
from qa.errors import RuleError
from qa.negation import in_scope
from qa.normalize import normalize_text

CONTRACT = ["soothing", "handling", "closing", "sensitive-complaint", "safety", "upset", "rejection",
            "doubt", "clarification", "answer-due", "auto-reply"]


def has(name: str, text: str) -> bool:
    return builtin_classes().matches(name, normalize_text(text))


def test_every_contract_class_is_defined():
    assert set(CONTRACT) <= set(builtin_classes().names())


@pytest.mark.parametrize(
    "text, negated",
    [
        ("并不是不给您处理", True),
        ("我没说要投诉", True),
        ("我不满意，我要投诉", False),
        ("不满意我就去投诉", False),
        ("如果有不理解的地方随时问我", True),
    ],
)
def test_negation_or_condition_scope(text, negated):
    norm = normalize_text(text)
    target = "不给您处理" if "处理" in text and "不给" in text else ("投诉" if "投诉" in text else "不理解")
    start = norm.rindex(target)
    assert (in_scope(norm, start, start + len(target)) is not None) == negated


def test_scope_ends_at_clause_punctuation():
    norm = normalize_text("我不是这个意思，我要投诉")
    start = norm.index("投诉")
    assert in_scope(norm, start, start + 2) is None


@pytest.mark.parametrize("text", ["我要打１２３１５", "再不处理我就打三一五", "幺二三幺五投诉你们", "我要去消协"])
def test_sensitive_complaint_numbers_in_any_script(text):
    assert has("sensitive-complaint", text)


@pytest.mark.parametrize("text", ["订单号2026031512345", "一共315元", "3月15日下单", "我不会投诉的，补发就行", "工商银行的卡"])
def test_not_a_sensitive_complaint(text):
    assert not has("sensitive-complaint", text)


@pytest.mark.parametrize("text", ["胳膊让锅沿烫起了泡", "充电器那块冒烟了", "宝宝喝完一直吐", "昨晚送急诊了"])
def test_safety_in_own_words(text):
    assert has("safety", text)


@pytest.mark.parametrize("text", ["小孩用会不会过敏？", "这个防烫吗", "电脑中毒了能修吗", "有没有烟雾报警器"])
def test_safety_hypotheticals_and_innocent_words(text):
    assert not has("safety", text)


def test_soothing_handling_and_closing_are_separate():
    assert has("soothing", "真的很抱歉让您跑了一趟")
    assert not has("soothing", "好的，我理解您的意思了")
    assert has("handling", "您先把插头拔了别再用，我这边马上给您登记换新")
    assert not has("handling", "这个我们处理不了")
    assert has("closing", "还有其他可以帮您的吗")
    assert not has("soothing", "还有其他可以帮您的吗")


def test_answer_due_versus_courtesy():
    assert has("answer-due", "到底什么时候发")
    assert has("answer-due", "你们这服务太差劲了")
    for courtesy in ("好的谢谢", "收到", "嗯嗯", "拜拜"):
        assert not has("answer-due", courtesy)


def test_mask_agrees_with_find():
    texts = pd.Series(["脚被门夹肿了", "你好", "会被夹到吗", "插座烧焦了"])
    mask = builtin_classes().mask("safety", texts.map(normalize_text))
    assert mask.tolist() == [True, False, False, True]


def test_sentences_split_at_sentence_punctuation_not_commas():
    cs = builtin_classes()
    text = normalize_text("非常抱歉，给您添麻烦了！我帮您改顺丰。")
    spans = cs.sentences(text)
    assert [text[s:e] for s, e in spans] == ["非常抱歉,给您添麻烦了", "我帮您改顺丰"]


def test_auto_replies_become_system_messages():
    frame = pd.DataFrame({"role": ["agent", "agent", "customer"],
                          "text": ["【自动回复】您好，客服马上来", "扫地机器人在的", "在吗"]})
    frame["norm"] = frame["text"].map(normalize_text)
    out = mark_auto_replies(frame, builtin_classes())
    assert out["role"].tolist() == ["system", "agent", "customer"]


def test_pack_patches_a_class(tmp_path: Path):
    (tmp_path / "classes.toml").write_text('[add.classes.upset]\npatterns = ["无力吐槽"]\n', encoding="utf-8")
    assert not has("upset", "无力吐槽")
    patched = load_classes(tmp_path)
    assert patched.matches("upset", normalize_text("真是无力吐槽"))


def test_bad_class_file_names_file_and_line(tmp_path: Path):
    (tmp_path / "classes.toml").write_text('[classes.upset]\n\nnegatoin = true\n', encoding="utf-8")
    with pytest.raises(RuleError, match=r"classes.toml:3: unknown key"):
        load_classes(tmp_path)
