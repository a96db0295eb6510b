"""repeated-solution's remedy terms: the vectorised pre-test of many key pairs agrees with the test of one pair."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from qa.checks import repeated_offer
from qa.checks.repeated_offer import RemedyTerms
from qa.rules import builtin_rules_dir, load_rule_file

PARAMS = load_rule_file(builtin_rules_dir() / "repeated-solution.toml").params

# Solution keys as the check makes them (soothing and filler words gone), in our own words: synonyms of one
# remedy (重启 / 重新开机), shared digits, keys too short to share three characters, an empty key, a
# character outside the BMP, full-width digits.
KEYS = ["长按电源键10秒强制重启", "按住开机键10秒重新开机", "重启路由器", "拔掉电源等一分钟再插上", "断电再通电",
        "申请退款", "申请换货", "补发一个", "退", "", "寄回检测", "寄回来给您检测", "𠀀𠀁𠀂检测", "１２３元券", "123元券",
        "换根数据线试试", "建议换一根数据线"]


@pytest.mark.parametrize("chunk", [200_000, 7])
def test_many_pairs_at_once_agree_with_one_pair_at_a_time(monkeypatch, chunk):
    monkeypatch.setattr(repeated_offer._GramTable, "CHUNK", chunk)  # 7: the pairs in several passes
    terms = RemedyTerms(PARAMS)
    pairs = np.array(list(itertools.product(range(len(KEYS)), repeat=2)), dtype=np.int64)
    expected = [terms.may_be_alike(KEYS[a], KEYS[b]) for a, b in pairs.tolist()]
    assert RemedyTerms(PARAMS).may_be_alike_many(KEYS, pairs[:, 0], pairs[:, 1]).tolist() == expected
    assert any(expected) and not all(expected)


def test_synonyms_share_their_group_word_characters():
    terms = RemedyTerms(PARAMS)
    one, other = np.array([0, 5]), np.array([1, 6])  # 长按…重启 / 按住…重新开机; 申请退款 / 申请换货
    assert terms.may_be_alike_many(KEYS, one, other).tolist() == [True, False]
    assert terms.may_be_alike_many(KEYS, np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)).shape == (0,)


# Pairs whose equal terms do not settle them, where a term inside another (裁缝/裁缝店, 膜/钢化膜) decides,
# beside keys of the list above: our own wording.
CONTAINING = ["找裁缝改一下裤长", "去裁缝店改一下裤长", "贴钢化膜防摔", "贴膜防摔", "手机壳换一个", "换个手机壳",
              "重新下单补差价", "补差价重新拍"]


@pytest.mark.parametrize("chunk", [200_000, 5])
def test_alike_of_many_pairs_agrees_with_one_pair_at_a_time(monkeypatch, chunk):
    monkeypatch.setattr(repeated_offer._GramTable, "CHUNK", chunk)
    keys = KEYS + CONTAINING
    pairs = np.array(list(itertools.product(range(len(keys)), repeat=2)), dtype=np.int64)
    one_at_a_time = RemedyTerms(PARAMS)
    one_at_a_time.index(keys)
    expected = [one_at_a_time.alike(keys[a], keys[b]) for a, b in pairs.tolist()]
    assert RemedyTerms(PARAMS).alike_many(keys, pairs[:, 0], pairs[:, 1]).tolist() == expected
    assert not all(expected)
    # a pair settled only by containment is among them
    settled_by_containment = [
        (a, b) for (a, b), alike in zip(pairs.tolist(), expected)
        if alike and len(set(one_at_a_time.terms(keys[a])) & set(one_at_a_time.terms(keys[b])))
        < max(PARAMS["term_min_hits"], PARAMS["term_share"] * len(one_at_a_time.terms(keys[b])))]
    assert settled_by_containment


def test_alike_of_no_pairs_is_empty():
    empty = np.zeros(0, dtype=np.int64)
    assert RemedyTerms(PARAMS).alike_many(KEYS, empty, empty).shape == (0,)
