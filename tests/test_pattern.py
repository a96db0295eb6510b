"""Check type ``pattern`` and the rhetorical-question rule's pattern lists, on small frames."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pandas as pd
import pytest
import regex
from tables import message_table

import qa.checks.pattern as pattern_module
from qa.checks import CHECK_TYPES
from qa.checks.base import CheckContext
from qa.checks.pattern import build_matcher, candidate_mask, expand_macros, find_matches, matcher_for
from qa.errors import RuleError
from qa.normalize import normalize_text
from qa.regexutil import join_alternatives, relax_counts
from qa.rules import builtin_rules_dir, load_rule_file

RULE = load_rule_file(builtin_rules_dir() / "rhetorical-question.toml")
MATCHER = matcher_for(RULE.params)


def messages(rows: list[tuple[str, str]]) -> pd.DataFrame:
    """A message table (the columns ingest produces) from (role, text) pairs, one session."""
    return message_table(rows)


def flagged(text: str) -> str | None:
    """The matched fragment of the normalized text, or None."""
    norm = normalize_text(text)
    span = MATCHER.find(norm)
    return None if span is None else norm[span[0] : span[1]]


# Agent messages that reproach through a question (002 §一.1, §服务类 1).
MUST_FLAG = [
    "难道你没看到商品详情页写着吗？",
    "難道你沒看到嗎",
    "难道这也要我教你吗",
    "难道不是您自己选的尺码吗？",
    "难道您不想换货吗",
    "你没看到上面写着吗？",
    "您没看到页面上写的吗？",
    "你是没看见我发的消息吗",
    "没看到上面写着7天无理由吗？",
    "你不会自己看吗",
    "您不会自己查一下订单吗？",
    "你就不能自己看一下吗",
    "你自己不会看啊",
    "你不会用吗？",
    "你不会往上翻翻吗",
    "还要我说几遍",
    "還要我說幾遍？",
    "我说了多少遍了？",
    "我已经跟您说了几次了？",
    "要我说多少遍你才明白",
    "不是说了吗",
    "我不是跟您说过了吗？",
    "说明书上不是写着吗",
    "我不是告诉过你了，要等三天",
    "这个不是您自己选的吗？",
    "不是你自己说要退的吗？",
    "凭什么给你退",
    "憑什麼要我們承擔運費？",
    "你怎么还不明白",
    "您怎麼還不明白呢？",
    "你怎么就听不懂呢",
    "怎么老是问同样的问题",
    "你为什么不看清楚再买",
    "这都不知道吗",
    "这个都看不懂吗",
    "连这个都不会",
    "这么简单的操作都不会吗",
    "这也要问吗",
    "你是不是不识字",
    "你識字嗎？",
    "你听不懂人话吗",
    "你是故意的吧",
    "解释这么多了还不明白吗",
    "懂不懂啊",
    "你看清楚了没有",
    "这有什么好问的",
    "我哪知道你什么时候在家",
    "问我有什么用",
    "你急什么",
    "谁让你不看清楚的",
    "这能怪我们吗",
    "你到底想怎么样",
    "不然呢？",
    "至于这么生气吗",
    "有完没完",
    "还要我怎么说？",
    "这样还不满意吗",
    "这还用说吗",
    "有那么难吗？",
    "我骗你干嘛",
    "怎么可能是假货",
    "你有没有在听我说",
    "能不能别催了",
    "重新下单不就可以了吗",
    "我什么时候说过能退？",
    "我说的还不够清楚吗？",
    "关我什么事",
    "你这人怎么回事",
    "你看不见吗",
    "你买之前不看的吗",
    "您没看说明书吗",
    "你有什么资格",
    "你直接后台处理下不就好了",
    "这个还要问我？",
    "难道你没听到我说的话吗",
    "你没看到我说的话吗",
]

# Genuine or recommended questions and look-alike wording by agents.
MUST_STAY_CLEAN = [
    "您看可以的吗？",
    "請問是這個訂單嗎？",
    "是不是付款遇到问题了呢？",
    "我理解了您的意思吗？",
    "您还有什么需要吗？",
    "请问您怎么还没收到呢？",
    "怎么还没到呢我帮您查一下",
    "不会的呢亲",
    "您不会错过的",
    "您放心，不会影响您的使用",
    "这个也不会影响您使用的哦",
    "凭什么条件可以退呢？",
    "请您凭取件码到驿站领取",
    "这都是我们应该做的",
    "您太客气了呢，这都是我应该做的呢~",
    "难道是物流出问题了吗？我马上帮您查",
    "这边确实没看到呢",
    "只是不用重复几遍而已",
    "您看不懂吗？我给您解释一下",
    "您是不会操作吗？小妹教您",
    "这个我们也不清楚呢，我帮您问一下仓库",
    "请问您还有不明白的地方吗？",
    "您着急什么时候用呢？",
    "请问您没看到短信吗？",
    "您没收到吗？我帮您查一下物流",
    "您那边看不到吗？我重新发一次链接",
    "这样也看不到吗？您试试重新登录",
    "我们不是不给您退，是需要您先寄回",
    "不是的亲，这个订单还没有发货",
    "您的问题不是小问题，我们很重视",
    "我刚才帮您催了几次了，快递说明天送",
    "您申请了几次了？我帮您查",
    "这个重复扣款了几次呢？",
    "我们不会骗您的，都是正品",
    "怎么可能让您白跑一趟呢，我帮您安排上门",
    "至于退款问题，我们会在24小时内处理",
    "有必要的话我帮您升级处理",
    "您确定要取消订单吗？",
    "请您确定一下收货地址是否正确",
    "这个不怪您，是我们的问题",
    "都怪我们没有说清楚，非常抱歉",
    "抱歉，是不是我没说清楚呢",
    "我解释清楚了吗？",
    "您是不是没收到短信呢？",
    "您想要怎么处理呢？",
    "您还想要怎么样的款式呢？",
    "还有什么可以帮您的吗",
    "我怎么才能知道您的地址呢？麻烦提供一下",
    "我们有什么办法可以帮您解决呢",
    "您是第一次在我们店购买吗",
    "您不是故意的，我们理解",
    "您太客气了",
    "好的您稍等",
    "您那边看不见吗？我再发一次",
    "下单前可以先看一下详情页哦",
    "请问您看过说明书了吗？",
    "有什么问题都来问我",
    "我们帮您处理好了",
    "亲没看到的话可以刷新一下吗",
    "需要加急什么的可以告诉我",
    "是谁让您联系这个电话的呢",
    "这个要怪我们，没说清楚",
    "重启之后还不行吗？",
    "这两个方案都不行吗？",
    "快递员去了几次都没看到人",
    "这个优惠券也看不到吗？",
    "您下单的时候没看到优惠券吗？",
    "您想让我怎么办呢",
]


@pytest.mark.parametrize("text", MUST_FLAG)
def test_rule_flags(text):
    assert flagged(text), f"not flagged: {text}"


@pytest.mark.parametrize("text", MUST_STAY_CLEAN)
def test_rule_stays_clean(text):
    assert flagged(text) is None, f"flagged {flagged(text)!r} in: {text}"


@pytest.mark.parametrize("text", MUST_FLAG)
def test_prefilter_keeps_every_flagged_message(text):
    norm = pd.Series([normalize_text(text)])
    assert candidate_mask(norm, MATCHER).iloc[0]


def test_rule_patterns_prefilter_themselves():
    assert MATCHER.prefilter is not None  # all patterns are RE2-valid, so the filter is vectorised


def test_run_only_checks_agent_messages_and_maps_span_to_original():
    frame = messages([
        ("customer", "难道你们没看到我的留言吗？凭什么不给退？"),
        ("system", "难道您还没看到我们的新品吗"),
        ("agent", "亲，難道你沒看到嗎？頁面寫了"),
        ("agent", "您看可以的吗？"),
    ])
    found = CHECK_TYPES["pattern"].run(frame, RULE, CheckContext())
    assert list(found["msg"]) == [2]
    row = found.iloc[0]
    assert row["match"] == "難道你沒看到嗎？"
    assert frame["text"][2][row["span_start"] : row["span_end"]] == row["match"]
    assert row["severity"] == "major"
    assert "難道你沒看到嗎？" in row["reason"]
    assert row["context_msg"] == -1


def test_roles_parameter():
    rule = dataclasses.replace(RULE, params={**RULE.params, "roles": ["customer"]})
    frame = messages([("customer", "凭什么不给退"), ("agent", "凭什么给你退")])
    found = CHECK_TYPES["pattern"].run(frame, rule, CheckContext())
    assert list(found["msg"]) == [0]


def test_english_reason():
    frame = messages([("agent", "还要我说几遍")])
    found = CHECK_TYPES["pattern"].run(frame, RULE, CheckContext(lang="en"))
    assert found.iloc[0]["reason"].startswith("Agent answered with a rhetorical")


def test_empty_and_clean_tables():
    run = CHECK_TYPES["pattern"].run
    assert run(messages([]), RULE, CheckContext()).empty
    assert run(messages([("agent", "好的亲")]), RULE, CheckContext()).empty


@pytest.mark.parametrize(
    ("scope", "text", "expected"),
    [
        ("overlap", "难道xx, 好的", None),  # the exclusion covers the match
        ("overlap", "难道yy, 好的", (0, 2)),
        ("clause", "难道yy好的", None),  # 好的 in the same clause
        ("clause", "难道yy, 好的", (0, 2)),  # 好的 in another clause
        ("message", "难道yy, 好的", None),
    ],
)
def test_exclude_scopes(scope, text, expected):
    exclude = ["难道xx"] if scope == "overlap" else ["好的"]
    matcher = build_matcher(("难道",), tuple(exclude), scope)
    assert matcher.find(text) == expected


def test_overlapping_matches_merge_and_later_match_survives_exclusion():
    matcher = build_matcher(("ab", "bcd", "xy"), ("^a",))
    assert matcher.find("abcd") == (1, 4)  # ab excluded, bcd kept
    matcher = build_matcher(("ab", "bcd"))
    assert matcher.find("abcde") == (0, 4)


def test_macros_expand_and_nest():
    assert expand_macros(["{{a}}x"], ["b = y", "a = {{b}}|z"]) == ["(?:(?:y)|z)x"]
    with pytest.raises(RuleError):
        expand_macros(["{{nope}}"], [])
    with pytest.raises(RuleError):
        expand_macros(["x"], ["not a macro"])


def test_relax_counts_widens_counted_repetitions():
    assert relax_counts("a{0,20}?b{3}c{1,}d\\{2,3}") == "a*b+c+d\\{2,3}"


def test_prefilter_choice():
    assert build_matcher(("难道.{0,5}吗",)).prefilter == "(?:难道.*吗)"
    assert build_matcher(("(?<!请问)难道",)).prefilter is None  # not RE2: every message searched
    assert build_matcher((r"\w吗",)).prefilter is None  # \w is ASCII-only in RE2
    assert build_matcher(("(?<!请问)难道",), prefilter=("难道",)).prefilter == "(?:难道)"
    with pytest.raises(RuleError):
        build_matcher(("x",), prefilter=("(?<!a)b",))
    with pytest.raises(RuleError):
        build_matcher(("(unclosed",))


def test_no_prefilter_still_finds_matches():
    matcher = build_matcher(("(?<!请问)难道",))
    norm = pd.Series(["请问难道", "难道", "好"])
    assert list(candidate_mask(norm, matcher)) == [True, True, True]
    assert [matcher.find(t) for t in norm] == [None, (0, 2), None]


def test_candidate_mask_accepts_object_and_arrow_columns(monkeypatch):
    monkeypatch.setattr(pattern_module, "FEW_TEXTS_TO_SCREEN", 0)  # screen even two texts
    matcher = build_matcher(("凭什么",))
    for dtype in ("object", "str"):
        norm = pd.Series(["凭什么", "好的"], dtype=dtype, index=[5, 9])
        assert candidate_mask(norm, matcher).to_dict() == {5: True, 9: False}


def test_a_few_texts_are_all_candidates_not_screened():
    # pyarrow compiles the RE2 screen on every call; a few texts are checked exactly instead
    matcher = build_matcher(("凭什么",))
    norm = pd.Series(["凭什么", "好的", None], dtype="object", index=[5, 9, 11])
    assert candidate_mask(norm, matcher).to_dict() == {5: True, 9: True, 11: False}
    assert find_matches(norm, matcher) == {5: (0, 3)}


def test_candidate_mask_of_a_column_with_no_text_at_all():
    # pandas leaves an all-missing column as object; Arrow infers its null type from it.
    matcher = build_matcher(("凭什么",))
    norm = pd.Series([None, None], dtype="object", index=[3, 4])
    assert candidate_mask(norm, matcher).to_dict() == {3: False, 4: False}


def test_rule_file_declares_pattern_check():
    assert RULE.check == "pattern"
    assert Path(RULE.path).name == "rhetorical-question.toml"
    assert RULE.message["en"] and RULE.message["zh"]


@pytest.mark.parametrize(
    ("params", "key"),
    [
        ({"patterns": ["难道(.*吗"]}, "patterns"),
        ({"exclude": ["(?<=x"]}, "exclude"),
        ({"macros": ["oops"]}, "macros"),
        ({"patterns": ["{{missing}}"]}, "patterns"),
        ({"prefilter": ["(?<!a)b"]}, "prefilter"),
    ],
)
def test_validate_names_the_bad_key(params, key):
    problems = CHECK_TYPES["pattern"].validate({**RULE.params, **params})
    assert problems and problems[0][0] == key
    assert "does not compile" in problems[0][1] or "macro" in problems[0][1]


def test_validate_accepts_the_builtin_rule():
    assert CHECK_TYPES["pattern"].validate(RULE.params) == []


@pytest.mark.parametrize(
    ("original", "start", "end"),
    [
        ("亲，難道你沒看到嗎？頁面寫了", 2, 10),
        ("  ＡＢ难道  你没看到吗", 2, 10),
        ("……难道你没看到吗", 6, 13),
        ("难道你没看到吗", 0, 7),
        ("我已經說過了。難道你沒看到嗎", 7, 14),
    ],
)
def test_map_span_agrees_with_original_span(original, start, end):
    from qa.checks.pattern import map_spans
    from qa.normalize import original_span

    normalized = normalize_text(original)
    assert map_spans([(original, normalized, start, end)])[0] == original_span(original, start, end)


def test_ideographic_full_stop_is_a_stop_of_the_same_length():
    """。 normalizes to "." (as NFKC makes ．. and ，,), one character for one: a match after it maps
    back to the same characters of the original."""
    from qa.normalize import normalize_column, original_span

    original = "放門口了。算了吧"
    norm = normalize_text(original)
    assert norm == "放门口了.算了吧"
    assert normalize_column(pd.Series([original])).tolist() == [norm]
    start = norm.index("算了")
    assert original_span(original, start, start + 2) == (5, 7)


def test_backreference_prefilter_matches_what_the_pattern_matches():
    """RE2 has no back-references: the pre-filter copies the group in, so it still matches every
    text the pattern does (到底退不退) and a class holding one keeps its vectorised pre-filter."""
    import regex

    from qa.classes import builtin_classes
    from qa.regexutil import expand_backreferences, re2_valid, strip_lookarounds

    pattern = r"到底[^,.!?;]{0,4}?(?![是有])(\p{Han}{1,2})[没不]\1"
    expanded = expand_backreferences(pattern)
    assert "\\1" not in expanded
    assert re2_valid(relax_counts(strip_lookarounds(expanded)))
    for text in ("你们到底退不退", "到底发没发货", "到底是不是"):
        if regex.search(pattern, text):
            assert regex.search(expanded, text)
    assert regex.search(expanded, "到底退不换")  # a superset: the copy need not repeat the group
    # a group tied to its position (an anchor) is not copied: any text may stand there
    assert expand_backreferences(r"(^a)b\1") == r"(^a)b(?s:.*)"
    # a back-reference inside a character class is an octal escape, left alone
    assert expand_backreferences(r"(a)[\1]") == r"(a)[\1]"
    assert builtin_classes()._prefilter("upset") is not None


def test_prefilter_runs_in_pieces_that_match_like_the_whole():
    """A long alternation is cut into RE2 pieces (one big one falls back to RE2's slow NFA);
    together they keep exactly the messages the whole alternation keeps."""
    import pyarrow as pa

    from qa.regexutil import match_pieces, prefilter_pieces

    patterns = [f"词{i}[^,]*尾{i}" for i in range(200)]
    pieces = prefilter_pieces(patterns, limit=100)
    assert len(pieces) > 1 and all(len(piece) <= 100 for piece in pieces)
    texts = pa.array(["词7abc尾7", "词7尾8", None, "x词199,尾199", "前词199尾199后"])
    assert match_pieces(texts, pieces).tolist() == [True, False, False, False, True]
    assert len(build_matcher(tuple(patterns)).prefilter_parts) > 1


@pytest.mark.parametrize(
    "patterns, text, expected",
    [
        # the A-not-A test after a pattern with a group of its own: joined naively, \1 would name
        # the first pattern's group and the second pattern would never match
        (["(满意)吗", r"(\p{Han})不\1"], "到底行不行", "行不行"),
        (["(满意)吗", r"(\p{Han})不\1"], "行不好", None),
        ([r"(\p{Han})不\1", "(满意)吗"], "到底行不行", "行不行"),
        (["(?P<x>满意)吗", "(a)(b)", r"(\p{Han})(\p{Han})不\1\2"], "好用不好用", "好用不好用"),
    ],
)
def test_joined_patterns_keep_their_own_back_references(patterns, text, expected):
    joined = regex.compile(join_alternatives(patterns))
    found = joined.search(text)
    assert (found.group() if found else None) == expected


def test_a_back_reference_sign_inside_a_character_class_is_left_alone():
    assert join_alternatives(["(a)", r"[\1]x"]) == r"(?:(a))|(?:[\1]x)"


def test_every_builtin_pattern_rule_screens_with_re2():
    """A built-in pattern rule whose patterns are not all RE2-valid (a look-around, \\w…) loses its
    vectorised pre-filter and searches every message in Python: one such pattern made
    rhetorical-question 25 times slower at 1M messages. Each built-in pattern rule keeps one."""
    for path in sorted(builtin_rules_dir().glob("*.toml")):
        try:
            rule = load_rule_file(path)
        except RuleError:
            continue  # not a rule file (scoring, classes)
        if rule.check != "pattern":
            continue
        assert matcher_for(rule.params).prefilter is not None, f"{rule.id}: a pattern is not RE2-valid"
