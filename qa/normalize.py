"""Normalize message text once, for matching; reports keep the original text.

Normalization = Unicode NFKC (full-width -> half-width, compatibility forms) with the ideographic
full stop 。 as ".", traditional -> simplified Chinese (OpenCC ``t2s``), the characters only written
Cantonese or Shanghainese uses, and a few Sichuan and northern words, read as their Mandarin words (我哋 -> 我们,
唔关 -> 不关, 冇 -> 没; 侬 -> 你, 对勿起 -> 对不起; 啥子 -> 什么, 俺 -> 我; one character for one), lower case, and
every run of whitespace collapsed to one space with the ends stripped.
Checks match against the ``norm`` column; a finding's span is mapped back to the original text with
:func:`original_span`.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable
from functools import lru_cache

import opencc
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from qa.regexcache import compile_regex
from qa.textindex import register

_NEEDS_COLLAPSE = compile_regex(r"^\s|\s$|\s\s|[^\S ]")
# OpenCC is fastest on one long string; messages are joined with a separator that whitespace
# collapsing has already removed from every message.
_JOIN = "\n"
# Distinct texts normalized at once by normalize_column (bounds the Python strings held).
_NORMALIZE_BLOCK = 1 << 16


@lru_cache(maxsize=1)
def t2s_converter() -> opencc.OpenCC:
    """The one traditional -> simplified converter (OpenCC ``t2s``) of the process."""
    return opencc.OpenCC("t2s")


# NFKC turns the full-width ，？！；： into , ? ! ; : but leaves the ideographic full stop alone: it
# becomes "." as well, so that every pattern that ends a clause or sentence at "." ends it at 。 too
# (我家没有鞋柜。算了 is a 算了 opening a sentence). One character for one: spans map back unchanged.
_FULL_STOP, _STOP = "\u3002", "."

# Written Cantonese (粤语) has characters of its own for words Mandarin writes otherwise: 我哋 (我们), 佢 (他),
# 嘅 (的), 咗 (了), 冇 (没), 睇 (看), 谂 (想), 喺 (在), 嚟 (来), 啲 (点), 俾/畀 (给), 攞 (拿), 揾 (找), 嗰 (那).
# Read as Mandarin, the classes of the rules (不关我们事, 自己看物流) find a Cantonese-speaking agent's words
# without a Cantonese copy of every list. Only characters Mandarin does not use; 唔 (不) only before a
# character (唔关, 唔好 = 不要), since a lone 唔 is Mandarin's "hmm". One character for one: spans map back unchanged.
_CANTONESE = str.maketrans({"哋": "们", "佢": "他", "嘅": "的", "咗": "了", "冇": "没", "睇": "看", "谂": "想",
                            "喺": "在", "嚟": "来", "啲": "点", "俾": "给", "畀": "给", "攞": "拿", "揾": "找",
                            "嗰": "那"})
_CANTONESE_NOT = compile_regex(r"唔好(?!意思)|唔(?=\p{Han})")
# Two-character Cantonese words with a character Mandarin does not use, read as their two-character
# Mandarin ones before 唔 is read: 唔该 (谢谢, not 不该), 讲嘢 (说话), 做嘢 (做事), 乜嘢 (什么); 晒 after thanks (辛苦晒你,
# 多谢晒) as 了: the thanks said in full. (晒 elsewhere is Mandarin's 晒太阳.) (点解, 而家 and 边度
# stay: Mandarin writes 一点解决, 然而家里, 这边度过.)
_CANTONESE_WORDS = compile_regex(r"唔该|讲嘢|做嘢|乜嘢|(?<=辛苦|多谢|谢谢|麻烦|唔该)晒")
_CANTONESE_READING = {"唔该": "谢谢", "讲嘢": "说话", "做嘢": "做事", "乜嘢": "什么", "晒": "了"}


# Written Shanghainese (吴语) likewise: 侬 (你), 阿拉 (我们), 勿 (不: 对勿起, 勿好意思), 覅 (别), 搿 (这), 格么 (那么),
# 今朝 (今天), the question particle 伐 (好伐 = 好吗) and the particle 额 after a person or ending a clause (侬额 = 你的;
# 理解额 = 理解的; not 金额/余额 and the other amounts).
# Mandarin's own 勿 forbids (请勿, 切勿, 勿忘, 稍安勿躁, 闲人勿进) and stays; 阿拉伯 and 伐 of 砍伐/步伐 stay. One for one.
# Sichuan and northern speech too: 啥子 (什么), 咋个 (怎么), 莫得 (没有), 要得 standing alone (好的), 嘎哈 (干啥),
# 俺 (我), 甭 (别): 甭着急 soothes like 别着急, 你咋个不早说 asks back like 你怎么不早说. 晓得 stays: Mandarin
# knows it, and read as 知道 it cost a false flag on a held half.
_DIALECT = str.maketrans({"侬": "你", "覅": "别", "搿": "这", "俺": "我", "甭": "别"})
_DIALECT_WORDS = compile_regex(r"阿拉(?!伯|斯加|丁|善|蕾)|(?<![请切务万毋安缺])勿(?!忘|扰|施|躁|以|滥|进|念)|格么|今朝"
                          r"|(?<=[好对是要行有来可])伐(?=[?!.,~ ]|$)|(?<=[你们伊拉]|^好|[^\p{Han}]好)额(?![度外头满定数])"
                          r"|(?<=\p{Han})(?<![金余名限份定差超总面税配数票欠售营产投])额(?=[?!.,~ ]|$)"
                          r"|啥子|咋个|莫得(?!罪)|(?<!\p{Han})要得(?=[嘛哈哦的啊呀,.!?~ ]|$)|嘎哈")
_DIALECT_READING = {"阿拉": "我们", "勿": "不", "格么": "那么", "今朝": "今天", "伐": "吗", "额": "的",
               "啥子": "什么", "咋个": "怎么", "莫得": "没有", "要得": "好的", "嘎哈": "干啥"}


def _mandarin(text: str) -> str:
    """Written Cantonese, Shanghainese, Sichuan and northern words as their Mandarin ones (one for one, see
    :data:`_CANTONESE` and :data:`_DIALECT`); 唔好 is 不要 (唔好问我), except in 唔好意思 (不好意思)."""
    text = text.translate(_CANTONESE)
    if "唔" in text or "嘢" in text or "晒" in text:
        text = _CANTONESE_WORDS.sub(lambda m: _CANTONESE_READING[m.group()], text)
    if "唔" in text:
        text = _CANTONESE_NOT.sub(lambda m: "不要" if len(m.group()) == 2 else "不", text)
    text = text.translate(_DIALECT)
    if any(c in text for c in "阿勿格今伐额啥咋莫要嘎"):
        text = _DIALECT_WORDS.sub(lambda m: _DIALECT_READING[m.group()], text)
    return text


def _fold(array: pa.Array) -> list[str]:
    """NFKC, lower case, the ideographic full stop as "." and whitespace collapsing over an Arrow
    string array (C++ kernels)."""
    folded = pc.utf8_normalize(array.fill_null(""), form="NFKC")
    folded = pc.replace_substring(pc.utf8_lower(folded), pattern=_FULL_STOP, replacement=_STOP)
    folded = pc.replace_substring_regex(folded, pattern=r"[\s\p{Z}]+", replacement=" ")
    return pc.utf8_trim(folded, characters=" ").to_pylist()


# normalize_text's results by text (cleared when full).
_NORMALIZED: dict[str, str] = {}
_NORMALIZED_MAX = 65536


def normalize_text(text: str) -> str:
    """Normalize one string exactly as :func:`normalize_column` does."""
    try:
        return _NORMALIZED[text]
    except KeyError:
        return normalize_texts([text])[0]


def normalize_texts(texts: Iterable[str]) -> list[str]:
    """:func:`normalize_text` of each of ``texts``, those not normalized before folded in one
    Arrow pass: a rule's word lists are normalized when it is compiled, and one kernel call
    per word (four, each with its own start-up) cost more than the words."""
    items = list(texts)
    found = {text: _NORMALIZED[text] for text in items if text in _NORMALIZED}
    todo = [text for text in dict.fromkeys(items) if text not in found]
    if todo:
        convert = t2s_converter().convert
        for text, folded in zip(todo, _fold(pa.array(todo, type=pa.string()))):
            found[text] = _mandarin(convert(folded))
        if len(_NORMALIZED) + len(todo) > _NORMALIZED_MAX:
            _NORMALIZED.clear()
        _NORMALIZED.update((text, found[text]) for text in todo)
    return [found[text] for text in items]


def normalize_column(texts: pd.Series) -> pd.Series:
    """Normalize a whole column of message texts; returns a str Series with the same index.

    Each distinct text is normalized once (chat logs repeat greetings, 好的, auto-replies).
    NFKC, lower case and whitespace run in Arrow's C++ kernels; OpenCC then converts all
    distinct texts joined into one string (whitespace collapsing has removed every newline,
    so the separator is unambiguous).
    """
    if texts.empty:
        return texts.astype("str")
    codes, distinct = pd.factorize(texts.astype("str"), use_na_sentinel=False)
    distinct = pa.array(pd.Series(distinct, dtype="str"), type=pa.string())
    # A block of distinct texts at a time: the folded texts as Python strings, joined, converted
    # and split again held ~1 KB per distinct text at once (1.1 GB on a million mostly distinct
    # messages); OpenCC's start-up per call is nothing beside a block's conversion.
    convert = t2s_converter().convert
    blocks = []
    for begin in range(0, len(distinct), _NORMALIZE_BLOCK):
        folded = _fold(distinct.slice(begin, _NORMALIZE_BLOCK))
        converted = _mandarin(convert(_JOIN.join(folded))).split(_JOIN)
        if len(converted) != len(folded):  # OpenCC never adds newlines; stay correct regardless
            converted = [_mandarin(convert(text)) for text in folded]
        del folded
        blocks.append(pa.array(converted, type=pa.large_string()))
        del converted
    del distinct
    distinct_norm = pd.array(pa.chunked_array(blocks, type=pa.large_string()), dtype="str")
    out = pd.Series(distinct_norm.take(codes), index=texts.index, dtype="str")
    # Checks judge classes per distinct text: hand them this factorization.
    uniques = getattr(distinct_norm, "_pa_array", None)
    if uniques is not None:
        register(out, codes, uniques.combine_chunks() if isinstance(uniques, pa.ChunkedArray) else uniques)
    return out


def add_norm_column(messages: pd.DataFrame) -> pd.DataFrame:
    """Return the message table with the ``norm`` column added."""
    out = messages.copy()
    out["norm"] = normalize_column(messages["text"])
    return out


def _char_pieces(text: str) -> list[str]:
    """Normalized form of each original character, in order (whitespace handled by caller)."""
    converter = t2s_converter()
    return [converter.convert(unicodedata.normalize("NFKC", ch).lower().replace(_FULL_STOP, _STOP)).translate(_CANTONESE)
            for ch in text]


def original_span(text: str, norm_start: int, norm_end: int, norm: str | None = None) -> tuple[int, int]:
    """Map a span of the normalized text back to a span of the original ``text``.

    Builds the offset map character by character, so it costs O(len(text)); it is only
    called for findings, never for every message.
    """
    if norm is None:
        norm = normalize_text(text)
    if (
        len(norm) == len(text)
        and not _NEEDS_COLLAPSE.search(text)
        and len(unicodedata.normalize("NFKC", text)) == len(text)
    ):
        # Same length, nothing to collapse, NFKC one for one: positions agree (the common
        # case; skips the per-character map below).
        return (norm_start, min(norm_end, len(text)))
    starts: list[int] = []  # starts[i] = original index of normalized char i
    pieces = _char_pieces(text)
    space_at = -1  # original index of the whitespace run being collapsed, -1 when none
    began = False
    for index, piece in enumerate(pieces):
        if not piece.strip():
            if began and space_at < 0:
                space_at = index
            continue
        if space_at >= 0:
            starts.append(space_at)  # the single collapsed space stands for the whole run
            space_at = -1
        began = True
        starts.extend([index] * len(piece))
    if not starts or norm_start >= len(starts):
        return (-1, -1)
    start = starts[norm_start]
    end_index = min(norm_end, len(starts)) - 1
    end = starts[end_index] + 1 if end_index >= 0 else start
    return (start, max(end, start))
