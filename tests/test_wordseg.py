"""qa.wordseg: jieba's segmentation with the dictionary read word by word from a cached table gives
exactly jieba's tokens, also after switching to the full dictionary, with the cache off, and when
the table on disk is not trustworthy."""

from __future__ import annotations

import csv
import os
from pathlib import Path

import pytest
from helpers import shared_folder

from qa import wordseg

REPO = Path(__file__).resolve().parent.parent


def _texts() -> list[str]:
    """Chat lines of the bundled samples and eval files, plus the tricky word-boundary shapes."""
    texts = ["滚筒洗衣机坏了你去死吧", "去死皮膏好用吗", "我有病历本", "废物利用做得很好", "中毒了吗电脑",
             # blocks of Han characters with digits and letters, routed run by run, and the dictionary
             # words that cross from one to the other (cut by jieba whole)
             "拍下后联系改价为22780元后续有进展第一时间告诉", "拍下后联系改价为3900元后续有进展第一时间告诉",
             "订单3000358804132887发出中通快递", "优惠3.5%再减10元", "买的T恤和T恤衫", "去4S店看了4s店说", "1号店发的货",
             "U盘插C盘", "c++和C#都不会", "AT&T的卡", "第2件半价第3件免费", "型号A1234黑色", "7天无理由退换哈",
             "12315投诉", "１２３１５", "3-5天发货", "99.9元包邮_限时"]
    for path in sorted((REPO / "tests" / "eval").glob("*.csv")) + [REPO / "samples" / "qianniu-day.csv"]:
        with path.open(encoding="utf-8-sig", newline="") as handle:
            for record in csv.reader(handle):
                texts.extend(cell for cell in record if len(cell) > 3 and any("\u4e00" <= ch <= "\u9fff" for ch in cell))
    return list(dict.fromkeys(texts))[:420]


@pytest.fixture(scope="module")
def reference() -> dict[str, list[str]]:
    import jieba

    jieba.setLogLevel(60)
    return {text: list(jieba.cut(text, HMM=True)) for text in _texts()}


def _build_table(folder: Path) -> None:
    previous = os.environ.get("QA_CACHE_DIR")
    os.environ["QA_CACHE_DIR"] = str(folder)
    try:
        wordseg._tokenizer = None
        list(wordseg.cut("建表"))
    finally:
        if previous is None:
            os.environ.pop("QA_CACHE_DIR")
        else:
            os.environ["QA_CACHE_DIR"] = previous


@pytest.fixture(scope="module")
def store_dir(tmp_path_factory) -> Path:
    """One cache folder with the dictionary table, built once for the run (~3 s) and shared by
    the xdist workers, as one user's processes share the cache folder."""
    return shared_folder(tmp_path_factory, "qa-cache", _build_table)


@pytest.fixture
def fresh(monkeypatch, store_dir):
    """A new tokenizer on the module's cache folder, as in a new process."""
    monkeypatch.setenv("QA_CACHE_DIR", str(store_dir))
    monkeypatch.setattr(wordseg, "_tokenizer", None)
    return store_dir


def test_lazy_dictionary_gives_jiebas_tokens(fresh, reference):
    assert len(reference) > 100
    assert {text: list(wordseg.cut(text)) for text in reference} == reference
    frequencies = wordseg._tokenizer.FREQ
    assert isinstance(frequencies, wordseg._LazyFrequencies)
    assert frequencies._full is None, "a few hundred lines must not need the whole dictionary"
    assert list(fresh.glob("jieba-*.sqlite")), "the table is kept in qa's cache folder"


def test_many_lookups_switch_to_the_full_dictionary(fresh, reference, monkeypatch):
    monkeypatch.setattr(wordseg, "LOOKUPS_BEFORE_FULL_LOAD", 50)
    assert {text: list(wordseg.cut(text)) for text in reference} == reference
    assert wordseg._tokenizer.FREQ._full is not None


def test_cache_off_loads_jiebas_dictionary(monkeypatch, reference):
    monkeypatch.setenv("QA_CACHE_DIR", "")
    monkeypatch.setattr(wordseg, "_tokenizer", None)
    assert {text: list(wordseg.cut(text)) for text in list(reference)[:50]} == dict(list(reference.items())[:50])
    assert isinstance(wordseg._tokenizer.FREQ, dict)


def test_a_table_others_may_write_is_not_read(monkeypatch, tmp_path, reference):
    import jieba

    monkeypatch.setenv("QA_CACHE_DIR", str(tmp_path))
    monkeypatch.setattr(wordseg, "_tokenizer", None)
    planted = wordseg._store_path(jieba)
    planted.write_bytes(b"not a dictionary")
    planted.chmod(0o666)
    built = []
    monkeypatch.setattr(wordseg, "_build_store", lambda path, _tokenizer: built.append(path))
    text = next(iter(reference))
    assert list(wordseg.cut(text)) == reference[text]
    assert built == [planted], "an untrusted table is rebuilt"
    assert isinstance(wordseg._tokenizer.FREQ, dict), "and until then jieba's own loading is used"


@pytest.mark.parametrize(("text", "word", "crossed"), [
    ("这床被子盖着太舒服了", "服了", True),      # 舒服|了: the match starts inside 舒服
    ("收到衣服了 谢谢", "服了", True),
    ("还是无语音的款吗", "无语", True),          # 无|语音: the match ends inside 语音
    ("火大小能调吗", "火大", True),
    ("真服了你们", "服了", False),               # one token holds the whole match
    ("太无语了吧", "无语", False),
    ("我服了", "服了", False),                   # 我服 is no dictionary word (jieba's HMM made it)
    ("无语", "无语", False),
])
def test_crosses_word_only_for_dictionary_words_across_the_match(text, word, crossed):
    start = text.index(word)
    assert wordseg.crosses_word(text, start, start + len(word)) is crossed


def test_runs_of_han_characters_share_their_route(fresh):
    """Replies differing only in a number are routed through their words once (the run's route is
    kept), and the tokens are still jieba's own (:func:`test_lazy_dictionary_gives_jiebas_tokens`)."""
    import jieba

    wordseg._ROUTES.clear()
    first, second = "改价为22780元后续有进展", "改价为3900元后续有进展"
    list(wordseg.cut(first))
    routed = dict(wordseg._ROUTES)
    assert set(routed) == {"改价为", "元后续有进展"}
    assert list(wordseg.cut(second)) == list(jieba.cut(second, HMM=True))
    assert wordseg._ROUTES == routed, "the second reply's runs were routed already"
