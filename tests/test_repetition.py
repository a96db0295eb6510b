"""Unit tests of the check type ``repetition`` (rule repeated-soothing) on small message tables.

Timing both check types on a synthetic million-message table (from the repository root)::

    /work/venv/bin/python -c "
    import sys, time; sys.path[:0] = ['.', 'tests']
    from test_repetition import synthetic, RULE as soothing; from test_reply_gap import RULE as gap
    from qa.checks import CHECK_TYPES; from qa.checks.base import CheckContext
    frame = synthetic(1_000_000)
    for rule in (gap, soothing):
        run = CHECK_TYPES[rule.check].run; run(frame.head(100), rule, CheckContext()); best = 9
        for _ in range(3):
            t = time.perf_counter(); found = run(frame, rule, CheckContext()); best = min(best, time.perf_counter() - t)
        print(rule.id, len(frame), f'{best:.3f} s best of 3', len(found), 'findings')"

On a 2-core developer machine: slow-reply about 0.05 s, repeated-soothing about 0.35 s (a fifth
of the messages are soothing agent lines, far more than in real chats).
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest

from qa.checks import CHECK_TYPES
from qa.checks.base import CheckContext
from qa.checks.repetition import ordinal, run, soothing_lines
from qa.normalize import normalize_column
from qa.rules import builtin_rules_dir, load_rule_file

RULE = load_rule_file(builtin_rules_dir() / "repeated-soothing.toml")


def rule(**params):
    return dataclasses.replace(RULE, params={**RULE.params, **params})


def table(rows, index=None, arrow=True):
    """Message table from (session, role, text) tuples."""
    frame = pd.DataFrame(rows, columns=["session_id", "role", "text"])
    if not arrow:
        frame = frame.astype(object)
    frame["norm"] = normalize_column(frame["text"])
    if not arrow:
        frame["norm"] = frame["norm"].astype(object)
    if index is not None:
        frame.index = index
    return frame


def agent_session(*texts, session="S1"):
    return table([(session, "agent", text) for text in texts])


def flagged(frame, the_rule=RULE, lang="zh"):
    result = run(frame, the_rule, CheckContext(lang=lang))
    return result["msg"].tolist()


def key(text: str, the_rule=RULE) -> list[str]:
    """The soothing line keys of one agent message."""
    _, keys = soothing_lines(normalize_column(pd.Series([text], dtype="str")), the_rule.params)
    return keys


def test_check_type_is_registered():
    assert "repetition" in CHECK_TYPES
    assert not CHECK_TYPES["repetition"].needs_timestamps
    assert RULE.severity.value == "minor" and RULE.params["max_uses"] == 2


def test_the_standard_example_is_one_line():
    variants = ["非常抱歉给您带来不便了哦～", "非常抱歉給您帶來不便", "非常抱歉，给您带来不便！",
                "非常抱歉给您带来不便[微笑]", "非常抱歉給你帶來的不便"]
    assert {key(t)[0] for t in variants} == {"非常抱歉给您带来不便"}
    # (a clause that is a formula of its own, 给您带来不便 after the comma, is also a line: min_part_chars)
    assert {tuple(key(t)[1:]) for t in variants} == {(), ("给您带来不便",)}
    # a space between longer runs ends a sentence: two lines, and the joined one is the same line
    assert "非常抱歉给您带来不便" in key("非常抱歉 给您带来不便😊")


def test_two_soothing_sentences_are_two_lines_and_their_joined_line():
    # each sentence is a line of its own, and the same words with other punctuation still
    # make the joined line
    assert key("非常抱歉！给您带来不便。") == ["非常抱歉", "给您带来不便", "非常抱歉给您带来不便"]
    assert key("让您久等了。请您放心，马上为您处理") == ["让您久等", "请您放心", "让您久等请您放心"]
    # a final 了 or particle before a comma closes a sentence too, as a space between two runs does
    both = ["很抱歉让您久等", "请您耐心等待", "很抱歉让您久等请您耐心等待"]
    assert key("很抱歉让您久等了，请您耐心等待。") == key("很抱歉让您久等了 请您耐心等待哈") == both
    assert key("辛苦您，耐心等候哦") == key("辛苦您耐心等候 🙏")
    # a non-soothing sentence between them: no joined line
    assert key("让您久等了。我查一下。请您放心") == ["让您久等", "请您放心"]


@pytest.mark.parametrize(
    ("first", "second"),
    [
        ("亲亲，别着急！", "亲亲别着急哦"),
        ("辛苦您，耐心等候哦", "辛苦您耐心等候 🙏"),
        ("請您放心/:^_^", "#E-s57请您放心"),
        ("非常抱歉，我马上为您查一下订单", "非常抱歉，这个需要仓库确认"),
        ("非常抱歉我马上为您查一下订单", "非常抱歉，仓库说明天发"),
        ("收到。给您带来不便，还请您见谅~ 这边给您补发", "原来的不用寄回了 给您带来不便，还请您见谅~"),
        ("给您添麻烦了！", "给您添麻烦了呀"),
        ("ＦＵＬＬ 宽度：理解您的心情！！", "理解您的心情"),
    ],
)
def test_same_soothing_line(first, second):
    # the messages share a line (a second message of two sentences also holds each sentence), the
    # first message's whole soothing run
    assert key(first)[0] in key(second)
    # one line of the run (besides it, with min_part_chars, a formula clause of its own may be a line too)
    assert len(key(first, rule(min_part_chars=0))) == 1


def test_a_formula_clause_inside_a_longer_line_is_a_line_too():
    # 理解您的心情 as a clause of 抱歉亲，理解您的心情 is used again when said alone; a bare 非常抱歉 (4 characters)
    # before different lines is not a line on its own, nor is a formula without a clause of its own
    assert key("抱歉亲，理解您的心情，麻烦拍张照片") == ["抱歉亲理解您心情", "理解您心情"]
    assert "非常抱歉" not in key("非常抱歉，让您久等了")
    assert key("非常抱歉亲给您带来不便") == ["非常抱歉亲给您带来不便"]
    assert key("抱歉亲，理解您的心情", the_rule=rule(min_part_chars=0)) == ["抱歉亲理解您心情"]
    # a formula inside a longer line of the first message, then alone twice: the third use is flagged
    assert flagged(agent_session("抱歉亲，理解您的心情，麻烦拍张照片", "收到，理解您的心情，给您补发", "理解您的心情，那给您退20元")) == [2]


@pytest.mark.parametrize(
    ("first", "second"),
    [
        ("非常抱歉让您久等了", "非常抱歉给您带来不便"),
        ("非常抱歉", "很抱歉"),
        ("理解您的心情", "请您放心"),
        ("非常抱歉给您带来不便", "非常抱歉，请您谅解"),
    ],
)
def test_different_soothing_lines(first, second):
    assert key(first) != key(second)


def test_not_soothing():
    for text in ["好的", "请稍等", "麻烦您提供一下订单号", "感谢您对本店的支持", "我理解您的意思是要退货对吗",
                 "请问还有什么可以帮您的吗", "[图片]", "😊"]:
        assert key(text) == [], text


def test_soothing_is_the_shared_class_not_a_list():
    # lines no list of sentences names: promises, empathy in other words, thanks for patience
    assert key("我们保证给你一个合理的解释") == ["保证给您一个合理解释"]
    assert key("这种事搁谁身上都会生气的") == ["搁谁身上都会生气"]
    assert key("请您再耐心等候一下") == ["请您再耐心等候"]
    # thanks before a request is courtesy (like 麻烦您), not soothing; 理解您要… is understanding
    assert key("辛苦您提供一下订单号") == key("我理解您要换货") == []
    assert key("辛苦您了") == key("辛苦你了哦") == ["辛苦您"]


def test_a_pack_class_changes_what_is_counted(tmp_path):
    from qa.classes import load_classes

    (tmp_path / "classes.toml").write_text("[add.classes.soothing]\npatterns = ['稍安勿躁']\n", encoding="utf-8")
    classes = load_classes(tmp_path)
    texts = pd.Series(["稍安勿躁，马上处理", "稍安勿躁哦", "稍安勿躁！"], dtype="str")
    assert soothing_lines(texts, RULE.params)[1] == []
    assert soothing_lines(texts, RULE.params, classes)[1] == ["稍安勿躁"] * 3
    frame = agent_session(*texts)
    assert flagged(frame, dataclasses.replace(RULE, classes=classes)) == [2]


def test_understanding_exception_does_not_hide_a_real_apology():
    assert key("很抱歉没理解您的意思") == ["很抱歉"]


def test_a_short_core_with_words_before_it_is_a_wording_of_its_own():
    # 很抱歉 (under min_core_chars) opening its clause is the line whatever follows or what address precedes
    assert key("很抱歉我马上帮您查") == key("亲很抱歉") == key("很抱歉呢") == ["很抱歉"]
    # with other words before it in the clause, the clause is the line
    assert key("这个很抱歉") == ["这个很抱歉"]
    assert key("这个真的很抱歉") == ["这个真很抱歉"]  # (的 is a filler)
    # 4 characters and more: the core, as before
    assert key("这个非常抱歉") == ["非常抱歉"]


def test_final_particle_only_at_the_end_of_a_clause():
    assert key("辛苦您了") == key("辛苦您了哦") == ["辛苦您"]
    assert key("让您久等了") == key("让您久等") == ["让您久等"]  # short core: whole clause
    # 了 inside a line (了解) is kept; a soothing line never ends in the middle of a word
    assert key("给您带来不便了，了解您的需求后马上处理") == ["给您带来不便"]


def test_non_soothing_clause_between_two_soothing_ones_separates_lines():
    assert key("非常抱歉。我查一下。请您谅解") == ["非常抱歉", "请您谅解"]


def test_third_and_later_uses_are_flagged_with_the_count():
    frame = table([
        ("S1", "agent", "非常抱歉给您带来不便了哦～"),
        ("S1", "customer", "非常抱歉给您带来不便"),
        ("S1", "agent", "非常抱歉給您帶來不便"),
        ("S1", "system", "非常抱歉给您带来不便"),
        ("S1", "agent", "非常抱歉，给您带来不便！"),
        ("S1", "agent", "好的"),
        ("S1", "agent", "非常抱歉给您带来不便呢"),
    ])
    result = run(frame, RULE, CheckContext())
    assert result["msg"].tolist() == [4, 6]
    assert result["reason"].tolist() == ["同一安抚话术在本会话中第3次使用（上限2次）", "同一安抚话术在本会话中第4次使用（上限2次）"]
    assert result["match"].tolist() == ["非常抱歉，给您带来不便！", "非常抱歉给您带来不便呢"]
    assert result["span_start"].tolist() == [0, 0]
    assert result["span_end"].tolist() == [len("非常抱歉，给您带来不便！"), len("非常抱歉给您带来不便呢")]
    assert result["severity"].tolist() == ["minor", "minor"]
    assert result["context_msg"].tolist() == [-1, -1]
    english = run(frame, RULE, CheckContext(lang="en"))["reason"].tolist()
    assert english[0] == "the same soothing line used for the 3rd time in this session (limit 2)"


def test_two_uses_are_fine_and_sessions_count_apart():
    frame = table([
        ("S1", "agent", "请您放心"), ("S1", "agent", "请您放心"),
        ("S2", "agent", "请您放心"), ("S2", "agent", "请您放心"),
    ])
    assert flagged(frame) == []


def test_different_lines_and_non_soothing_repeats_are_fine():
    assert flagged(agent_session("非常抱歉让您久等了", "非常抱歉给您带来不便", "非常抱歉，请您谅解")) == []
    assert flagged(agent_session("好的", "好的", "好的", "请稍等", "请稍等", "请稍等")) == []


def test_uses_inside_one_message_count():
    assert flagged(agent_session("您放心，一定给您处理。您放心", "您放心")) == [1]


def test_one_finding_per_message():
    frame = agent_session("别着急", "别着急", "别着急。我查一下。别着急")
    result = run(frame, RULE, CheckContext())
    assert result["msg"].tolist() == [2]
    assert result["reason"].tolist() == ["同一安抚话术在本会话中第3次使用（上限2次）"]


def test_params_max_uses_unit_roles_particles():
    frame = agent_session("辛苦您了", "辛苦您了")
    assert flagged(frame, rule(max_uses=1)) == [1]
    content = agent_session("非常抱歉，我马上查", "非常抱歉，仓库确认中", "非常抱歉，明天发")
    assert flagged(content) == [2]
    assert flagged(content, rule(unit="message")) == []
    assert flagged(agent_session("亲，别着急，马上处理", "亲 别着急 马上处理哦", "亲，别着急，马上处理！"),
                   rule(unit="message")) == [2]
    customers = table([("S1", "customer", "不好意思")] * 3)
    assert flagged(customers) == []
    assert flagged(customers, rule(roles=["customer"])) == [2]
    with_address = agent_session("非常抱歉亲给您带来不便", "非常抱歉给您带来不便", "非常抱歉给您带来不便")
    assert flagged(with_address) == []
    assert flagged(with_address, rule(particles=[*RULE.params["particles"], "亲"])) == [2]


def test_object_columns_and_index_labels():
    frame = table([("S1", "agent", "理解您的心情")] * 3, index=[10, 11, 12], arrow=False)
    assert flagged(frame) == [12]


def test_empty_inputs():
    assert flagged(table([])) == []
    assert flagged(agent_session("好的", "[图片]", "")) == []
    assert flagged(agent_session("抱歉", "抱歉", "抱歉"), rule(phrases=[])) == []


@pytest.mark.parametrize(("n", "text"), [(1, "1st"), (2, "2nd"), (3, "3rd"), (4, "4th"), (11, "11th"),
                                         (12, "12th"), (13, "13th"), (21, "21st"), (22, "22nd"), (103, "103rd")])
def test_ordinal(n, text):
    assert ordinal(n) == text


LINES = np.array(["非常抱歉给您带来不便了哦～", "非常抱歉，我马上为您查一下订单", "好的亲，请稍等", "您的快递明天到",
                  "麻烦您提供下订单号", "請您放心，我們會盡快處理[微笑]", "让您久等了", "还有什么可以帮您的吗?",
                  "亲，这个已经帮您登记了", "理解您的心情，马上为您催促"])


def synthetic(n: int, seed: int = 0) -> pd.DataFrame:
    """The timed synthetic table of test_reply_gap with chat lines, half of them soothing, and
    the norm column: the benchmark input for both check types (see the module docstring)."""
    from test_reply_gap import synthetic as timed

    frame = timed(n, seed)
    rng = np.random.default_rng(seed + 1)
    frame["text"] = pd.Series(LINES[rng.integers(0, len(LINES), len(frame))], dtype="str")
    frame["norm"] = normalize_column(frame["text"])
    return frame


def test_bad_params_are_refused_when_the_rule_loads(tmp_path):
    from qa.errors import RuleError

    base = (builtin_rules_dir() / "repeated-soothing.toml").read_text(encoding="utf-8")
    for old, new, problem in [
        ("max_uses = 2", "max_uses = 0", "max_uses"),
        ('soothing_class = "soothing"', 'soothing_class = " "', "soothing_class"),
        ('final_particles = ["了"]', 'final_particles = ["了吧"]', "final_particles"),
        ('equivalent_chars = ["您你妳", "着著"]', 'equivalent_chars = ["您", "着著"]', "equivalent_chars"),
    ]:
        assert old in base
        path = tmp_path / "repeated-soothing.toml"
        path.write_text(base.replace(old, new), encoding="utf-8")
        with pytest.raises(RuleError, match=problem):
            load_rule_file(path)
    path.write_text(base, encoding="utf-8")
    assert load_rule_file(path).params["soothing_class"] == "soothing"


def test_unknown_class_is_named():
    from qa.errors import RuleError

    with pytest.raises(RuleError, match="no class 'calming'"):
        flagged(agent_session("别着急", "别着急", "别着急"), rule(soothing_class="calming"))
