"""rhetorical-question's learned recall aid: the model file, its scoring, and its place in the check.

The sentences here are written for this test and are not in the model's training data (the
agent messages of tests/eval and tests/rules/rhetorical-question.toml)."""

from __future__ import annotations

import dataclasses
import itertools
import math
import pickle
from collections import Counter

import numpy as np
import pytest
from tables import message_table

from qa.checks import CHECK_TYPES
from qa.checks.base import CheckContext
from qa.checks.pattern import matcher_for
from qa.normalize import normalize_text
from qa.questionmodel import QuestionModel, char_wb_ngrams
from qa.rules import builtin_rules_dir, load_rule_file

RULE = load_rule_file(builtin_rules_dir() / "rhetorical-question.toml")
MODEL = QuestionModel.from_lines(RULE.params["model"])

# A reproach through a question in words no pattern of rules/lists/rhetorical-patterns.txt lists.
REPROACH = "洗衣机说明书第一页就写了要先拆运输螺栓，您装的时候一眼都不瞧的吗？"
# Genuine questions of ten or more Han characters: checks, offers, a choice.
GENUINE = [
    "快递显示昨天已经签收了，您这边要不要再看看门口或者快递柜呢？",
    "您好，请问收到的是哪一个颜色呢？方便拍张照片给我看看吗？",
    "退款已经原路退回了，您看一下银行卡有没有到账呢？",
    "您是想换大一码还是直接退款呢？两种我都可以帮您处理",
]


def test_char_wb_ngrams_pad_each_word():
    # each word padded with a space: " 您 " and " 好 "; n=1 then n=2 per word
    assert Counter(char_wb_ngrams("您  好", 1, 2)) == Counter([" ", "您", " ", " 您", "您 ",
                                                               " ", "好", " ", " 好", "好 "])


def test_probability_is_tfidf_logistic_by_hand():
    model = QuestionModel.from_lines(["intercept\t-1.0", "threshold\t0.5",
                                      '2.0\t3.0\t"a"', '1.0\t-1.0\t"\\u0020a"'])
    # "aa": the word " aa ": 1-grams " ", "a", "a", " " ; 2-grams " a", "aa", "a "; known: a (2), " a" (1)
    a, space_a = (1 + math.log(2)) * 2.0, 1.0 * 1.0
    norm = math.hypot(a, space_a)
    expected = 1 / (1 + math.exp(-(-1.0 + 3.0 * a / norm - 1.0 * space_a / norm)))
    assert model.probability("aa") == pytest.approx(expected)
    assert model.probability("zz") == pytest.approx(1 / (1 + math.e))  # nothing known: the intercept alone


def test_model_file_needs_intercept_and_threshold():
    with pytest.raises(ValueError, match="intercept"):
        QuestionModel.from_lines(['1.0\t1.0\t"a"'])


def test_builtin_model_is_loaded_with_a_strict_threshold():
    assert len(MODEL.features) > 1000
    assert 0.9 <= MODEL.threshold < 1.0
    assert RULE.params["model_min_han"] == 10


def test_model_separates_a_new_reproach_from_genuine_questions():
    assert MODEL.flags(normalize_text(REPROACH))
    assert not any(MODEL.flags(normalize_text(text)) for text in GENUINE)


def test_the_check_flags_through_the_model_what_no_pattern_finds():
    assert matcher_for(RULE.params).find(normalize_text(REPROACH)) is None  # the patterns miss it
    frame = message_table([("customer", "洗衣机一开就晃得厉害"), ("agent", REPROACH)] + [("agent", t) for t in GENUINE])
    found = CHECK_TYPES["pattern"].run(frame, RULE, CheckContext())
    assert list(found["msg"]) == [1]
    row = found.iloc[0]
    assert row["match"] == "您装的时候一眼都不瞧的吗？"  # the last question, in the original text
    assert frame["text"][1][row["span_start"] : row["span_end"]] == row["match"]


def test_short_questions_and_customers_are_not_scored():
    frame = message_table([("customer", REPROACH), ("agent", "您不瞧的吗？")])
    assert CHECK_TYPES["pattern"].run(frame, RULE, CheckContext()).empty


def test_without_a_model_only_patterns_flag():
    rule = dataclasses.replace(RULE, params={**RULE.params, "model": []})
    frame = message_table([("agent", REPROACH)])
    assert CHECK_TYPES["pattern"].run(frame, rule, CheckContext()).empty


# Texts for the batch scorer: words of every length, repeated n-grams (sublinear tf), several
# spaces and other whitespace, characters in no feature, emoji beyond the BMP, empty texts.
BATCH_TEXTS = [normalize_text(text) for text in [REPROACH, *GENUINE]] + [
    "", " ", "a", "好好好好", "  您  好 ", "\t您\n好\u3000呢 ", "😀您😀", "xyz qwe", "您说的是哪个呢 ？？ 吗吗",
    "亲 这个 我们 这边 也 没办法 呢", "ok", "您好您好您好您好您好您好您好您好",
]


@pytest.mark.parametrize("few", [0, 10_000])
def test_batch_scoring_agrees_with_text_by_text(monkeypatch, few):
    # few=0: the NumPy tables; few=10_000: a small batch scored one text at a time
    model = QuestionModel.from_lines(RULE.params["model"])
    monkeypatch.setattr("qa.questionmodel._FEW", few)
    expected = [model.probability(text) for text in BATCH_TEXTS]
    assert model.probabilities(BATCH_TEXTS) == pytest.approx(expected, rel=1e-12, abs=1e-12)
    assert list(model.flags_many(BATCH_TEXTS)) == [model.flags(text) for text in BATCH_TEXTS]
    assert ("_tables" in model.__dict__) == (few == 0)


def test_batch_scoring_in_several_passes_and_of_nothing(monkeypatch):
    model = QuestionModel.from_lines(RULE.params["model"])
    monkeypatch.setattr("qa.questionmodel._FEW", 0)
    monkeypatch.setattr("qa.questionmodel._BATCH", 3)  # five passes over the texts
    assert model.probabilities(BATCH_TEXTS) == pytest.approx([model.probability(t) for t in BATCH_TEXTS], abs=1e-12)
    assert model.probabilities([]).shape == (0,)


def test_by_hand_model_scores_the_same_in_a_batch(monkeypatch):
    monkeypatch.setattr("qa.questionmodel._FEW", 0)
    # a "two spaces" feature no word holds: not counted between two words nor between two texts in a row
    model = QuestionModel.from_lines(["intercept\t-1.0", "threshold\t0.5", '2.0\t3.0\t"a"', '1.0\t-1.0\t"\\u0020a"',
                                      '1.0\t5.0\t"\\u0020\\u0020"'])
    texts = ["aa", "zz", "a a", "a", "a"]
    assert model.probabilities(texts) == pytest.approx([model.probability(t) for t in texts])


def test_the_lookup_tables_are_not_kept_in_the_pickle():
    model = QuestionModel.from_lines(RULE.params["model"])
    model.probabilities(BATCH_TEXTS * 100)  # over _FEW: builds the tables
    assert "_tables" in model.__dict__
    restored = pickle.loads(pickle.dumps(model))
    assert "_tables" not in restored.__dict__
    assert restored.probabilities(BATCH_TEXTS) == pytest.approx(model.probabilities(BATCH_TEXTS), abs=1e-12)


def test_a_model_of_many_characters_looks_its_bigrams_up_among_sorted_keys(monkeypatch):
    monkeypatch.setattr("qa.questionmodel._FEW", 0)
    # 33,000 characters, each a feature: more ids than 16 bits hold, and too many for a dense bigram table
    chars = [chr(0x4E00 + i) for i in range(33_000)]
    lines = ["intercept\t0.5", "threshold\t0.5"] + [f'1.5\t{(i % 7 - 3) / 10}\t"{c}"' for i, c in enumerate(chars)]
    lines += [f'2.0\t0.8\t"{chars[1]}{chars[2]}"', '1.0\t-0.4\t"\\u0020' + chars[4000] + '"']
    model = QuestionModel.from_lines(lines)
    texts = ["".join(chars[i : i + 9]) for i in range(0, 33_000, 1_100)] + [chars[1] + chars[2] + chars[1], f"{chars[4000]} x"]
    assert model.probabilities(texts) == pytest.approx([model.probability(t) for t in texts], abs=1e-12)
    assert model._tables.char_ids.dtype == np.int32
    assert model._tables.dense is None


def test_a_model_of_many_bigrams_over_few_characters_scores_the_same(monkeypatch):
    monkeypatch.setattr("qa.questionmodel._FEW", 0)
    # 200 characters, 40,000 bigram features: 32-bit feature ids in a dense table
    chars = [chr(0x4E00 + i) for i in range(200)]
    lines = ["intercept\t-0.2", "threshold\t0.5"] + [
        f'1.0\t{((i * 7) % 11 - 5) / 10}\t"{a}{b}"' for i, (a, b) in enumerate(itertools.product(chars, chars))]
    model = QuestionModel.from_lines(lines)
    texts = ["".join(chars[i % 200] for i in range(start, start + 13)) for start in range(0, 400, 17)] + ["", "ab"]
    assert model.probabilities(texts) == pytest.approx([model.probability(t) for t in texts], abs=1e-12)
    assert model._tables.dense is not None and model._tables.dense.dtype == np.int32
