"""Required literals of a pattern (qa.literals) and the screen built from them: every match must
contain one of the words found, or a branch would be skipped where it matches."""

import pytest
import regex

from qa.classes import builtin_classes
from qa.literals import LiteralScreen, required_literals


@pytest.mark.parametrize(("pattern", "words"), [
    ("骗子|骗人", {"骗子", "骗人"}),
    ("(?:您|你)(?:没|没有)看到", {"您没看到", "你没看到", "您没有看到", "你没有看到"}),
    ("(?:您|你)(?:是|都)?没看", {"您没看", "你没看", "您是没看", "你是没看", "您都没看", "你都没看"}),
    ("[?!]{3,}", {a + b + c for a in "?!" for b in "?!" for c in "?!"}),
    (r"(?<!麻)烦人", {"烦人"}),  # a look-around is no part of the match
    (r"到底[^,.]{0,4}?(\p{Han}{1,2})[没不]\1", {"到底"}),
    (r"么(?:$|[^\p{Han}])", {"么"}),
    (r"\bab\b", {"ab"}),  # zero-width assertions keep the letters adjacent
])
def test_required_literals(pattern, words):
    assert required_literals(pattern) == frozenset(words)


@pytest.mark.parametrize("pattern", [
    "",
    "a?",  # may match the empty string
    "a|b?",
    r"\d+",
    "(?i)abc",  # case-insensitive: a match need not contain the lower-case word
    "(?i:abc)",
    "(?:abc){e<=1}",  # fuzzy: a match may hold none of the letters as written
    "[[:alpha:]]x",  # a POSIX class the standard parser reads as plain characters
    "{{macro}}",
    r"(?:a|b)\L<names>",
])
def test_no_literals(pattern):
    assert required_literals(pattern) is None


def test_every_match_of_a_builtin_class_pattern_holds_one_of_its_words():
    texts = ["你们什么服务啊???", "亲,您没有看到详情页吗", "难道你不会自己看吗?", "太离谱了吧", "我不要了,退款",
             "这个是假的吧", "孩子手被烫伤了", "你们就这服务?", "早知道就不买了", "再也不买了!!!"]
    classes = builtin_classes()
    checked = 0
    for cls in classes.classes.values():
        for category in cls.categories:
            for source in category.sources:
                words = required_literals(source) if source.strip() else None
                if words is None:
                    continue
                compiled = regex.compile(source)
                for text in texts:
                    if compiled.search(text):
                        checked += 1
                        assert any(word in text for word in words), (source, text, words)
    assert checked > 20


def test_screen_names_the_patterns_whose_words_occur():
    screen = LiteralScreen(["骗子|骗人", r"\d+", "(?:太|真)差"])
    assert screen.always == frozenset({1})
    assert screen.possible("真差劲") == [1, 2]
    assert screen.possible("你们是骗子") == [0, 1]
    assert screen.worded("好的") == set()


def test_worded_candidates_hold_every_member_and_only_prefilter_candidates():
    import numpy as np
    import pyarrow as pa

    classes = builtin_classes()
    texts = ["你们什么服务啊???", "太离谱了吧", "好的谢谢", "这个是假的吧", "孩子手被烫伤了", "我要投诉到消协",
             "请问什么时候发货", "你们就这服务?", "早知道就不买了", "再也不买了!!!"] * 8  # past the few-texts shortcut
    array = pa.array(texts)
    for name in ("upset", "doubt", "safety", "answer-due"):
        worded = classes._worded_candidates(name, array)
        members = np.array([classes.matches(name, text) for text in texts])
        assert not (members & ~worded).any(), name
        assert not (worded & ~classes._prefiltered(name, array)).any(), name


def test_a_screen_pickles_as_its_patterns_and_tokenizes_deterministically():
    """A screen travels to cluster workers (Spark pickles it, Dask also names tasks by a token of it): it is
    rebuilt there from its patterns and says the same, and its pickle is the same from one build to the next."""
    import pickle

    from qa.literals import LiteralScreen

    patterns = ["(?:您|你)(?:没|没有)(?:看到|看见)", "退(?:款|货)", r"\d+"]
    screen = LiteralScreen(patterns)
    again = pickle.loads(pickle.dumps(screen))
    assert again.possible("你没有看到吗 退款") == screen.possible("你没有看到吗 退款")
    assert pickle.dumps(screen) == pickle.dumps(LiteralScreen(patterns))
    assert screen.__dask_tokenize__() == LiteralScreen(patterns).__dask_tokenize__()
