"""A small learned text classifier kept as rule data, scored without scikit-learn.

``benchmarks/train_question_model.py`` fits character n-grams (within words, as scikit-learn's
``char_wb``) with sublinear TF-IDF and a logistic regression, and writes the model as a list
file: ``name<TAB>value`` lines (``intercept``, ``threshold``) and one ``idf<TAB>weight<TAB>n-gram``
line per feature, the n-gram a JSON string (spaces and # escaped, so the list reader keeps
them). :class:`QuestionModel` reads those lines and scores a normalized text exactly as the
scikit-learn pipeline would (the training script checks the difference); :meth:`QuestionModel.flags_many`
scores a batch of texts as whole NumPy arrays, the same figures to rounding.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cached_property

import numpy as np

_WHITESPACE = re.compile(r"\s\s+")
# Texts scored per NumPy pass: bounds the arrays (about 60 bytes a character) on a million messages.
_BATCH = 50_000
# Fewer texts than this are scored one by one until the tables exist: building them (about 30 ms)
# costs more than scoring a thousand texts in Python (a small audit starts faster).
_FEW = 1000
# The largest dense bigram table (entries: the square of the characters in features, ~1,300 for the models
# written: 1.8 million); a model of more characters looks its bigrams up among sorted keys instead.
_DENSE_PAIRS = 1 << 24


def char_wb_ngrams(text: str, min_n: int, max_n: int) -> Iterator[str]:
    """The character n-grams of each whitespace-separated word padded with a space on both
    sides, as scikit-learn's ``char_wb`` analyzer makes them."""
    text = _WHITESPACE.sub(" ", text)
    for word in text.split():
        word = f" {word} "
        length = len(word)
        for n in range(min_n, max_n + 1):
            offset = 0
            yield word[offset : offset + n]
            while offset + n < length:
                offset += 1
                yield word[offset : offset + n]
            if offset == 0:  # a word shorter than n counts once
                break


def _json_string(field: str) -> str:
    """``json.loads(field)``, without the decoder for a string that has nothing to decode (no
    escape, quote or control character between its quotes: nearly every n-gram of a model file,
    and the decoder was most of reading the model)."""
    inner = field[1:-1]
    if len(field) >= 2 and field[0] == '"' == field[-1] and '"' not in inner and "\\" not in inner and inner.isprintable():
        return inner
    return json.loads(field)


@dataclass(frozen=True)
class _Tables:
    """A model's features for :meth:`QuestionModel.probabilities`: a character id per code point (0: in no
    feature), the feature of each id as a unigram (-1: none), the bigram features by the key id1 * side + id2
    (sorted keys and their features; also as one dense table when it is small), and each feature's idf and weight."""

    char_ids: np.ndarray
    unigram: np.ndarray
    side: int
    bigram_keys: np.ndarray
    bigram_features: np.ndarray
    dense: np.ndarray | None
    idf: np.ndarray
    weight: np.ndarray

    def bigrams(self, keys: np.ndarray) -> np.ndarray:
        """The feature of each bigram key, -1 where none."""
        if self.dense is not None:
            return self.dense[keys]
        if not len(self.bigram_keys):
            return np.full(len(keys), -1, dtype=self.bigram_features.dtype)
        at = np.minimum(np.searchsorted(self.bigram_keys, keys), len(self.bigram_keys) - 1)
        return np.where(self.bigram_keys[at] == keys, self.bigram_features[at], -1)


@dataclass(frozen=True)
class QuestionModel:
    """Features (n-gram -> (idf, weight)), intercept and decision threshold of a trained model."""

    features: dict[str, tuple[float, float]]
    intercept: float
    threshold: float
    min_n: int = 1
    max_n: int = 2

    @classmethod
    def from_lines(cls, lines: list[str], intercept: float | None = None) -> QuestionModel:
        """The model of a list file's entries (comments already dropped or still there)."""
        features: dict[str, tuple[float, float]] = {}
        meta: dict[str, float] = {}
        for line in lines:
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            fields = line.split("\t")
            if len(fields) == 2:
                meta[fields[0].strip()] = float(fields[1])
            elif len(fields) == 3:
                features[_json_string(fields[2])] = (float(fields[0]), float(fields[1]))
            else:
                raise ValueError(f"not a model line: {line[:60]!r}")
        if "threshold" not in meta or (intercept is None and "intercept" not in meta):
            raise ValueError("a model file needs 'intercept' and 'threshold' lines")
        sizes = {len(gram) for gram in features} or {1}
        return cls(features, meta["intercept"] if intercept is None else intercept, meta["threshold"],
                   min(sizes), max(sizes))

    def _grams(self, norm_text: str) -> list[str]:
        if (self.min_n, self.max_n) != (1, 2):
            return list(char_wb_ngrams(norm_text, self.min_n, self.max_n))
        # uni- and bigrams of each padded word (the padding makes every word 3+ characters long,
        # so none is counted once only): the same n-grams as char_wb_ngrams, without a generator
        grams: list[str] = []
        for word in norm_text.split():
            padded = f" {word} "
            grams.extend(padded)
            grams.extend(padded[i : i + 2] for i in range(len(padded) - 1))
        return grams

    def probability(self, norm_text: str) -> float:
        """The model's probability that ``norm_text`` (normalized) is of the class."""
        features = self.features
        counts: dict[str, int] = {}
        for gram in self._grams(norm_text):
            if gram in features:
                counts[gram] = counts.get(gram, 0) + 1
        if not counts:
            return 1.0 / (1.0 + math.exp(-self.intercept))
        # sublinear tf times idf, l2-normalized, dotted with the weights: one pass
        squares = dot = 0.0
        for gram, count in counts.items():
            idf, weight = features[gram]
            value = idf if count == 1 else (1.0 + math.log(count)) * idf
            squares += value * value
            dot += value * weight
        return 1.0 / (1.0 + math.exp(-(self.intercept + dot / math.sqrt(squares))))

    def flags(self, norm_text: str) -> bool:
        """Whether the model puts ``norm_text`` in the class."""
        return self.probability(norm_text) >= self.threshold

    def flags_many(self, norm_texts: list[str]) -> np.ndarray:
        """:meth:`flags` of each text, as a boolean array."""
        return self.probabilities(norm_texts) >= self.threshold

    def __getstate__(self) -> dict:
        # the lookup tables (about 6 MB) are rebuilt faster than the disk cache reads them back
        return {name: value for name, value in self.__dict__.items() if name != "_tables"}

    @cached_property
    def _tables(self) -> _Tables:
        """The features as lookup tables (:class:`_Tables`)."""
        chars = sorted({char for gram in self.features for char in gram})
        # 16-bit ids where they fit (the models written hold some 1,300 characters and 12,000 features):
        # half the memory, in every worker process
        small = max(len(chars) + 1, len(self.features)) <= np.iinfo(np.int16).max
        dtype = np.int16 if small else np.int32
        char_ids = np.zeros(0x110000, dtype=dtype)
        char_ids[[ord(char) for char in chars]] = np.arange(1, len(chars) + 1, dtype=dtype)
        side = len(chars) + 1
        unigram = np.full(side, -1, dtype=dtype)
        pairs: dict[int, int] = {}
        for index, gram in enumerate(self.features):
            ids = [int(i) for i in char_ids[[ord(char) for char in gram]]]
            if len(ids) == 1:
                unigram[ids[0]] = index
            else:
                pairs[ids[0] * side + ids[1]] = index
        space = int(char_ids[32])
        # no word's n-gram is two spaces: that pair, between two words or two texts, counts for nothing
        pairs.pop(space * side + space, None)
        keys = np.array(sorted(pairs), dtype=np.int64)
        features = np.array([pairs[key] for key in keys.tolist()], dtype=dtype)
        dense = None
        if side * side <= _DENSE_PAIRS:
            dense = np.full(side * side, -1, dtype=dtype)
            dense[keys] = features
        values = np.array(list(self.features.values()), dtype=np.float64).reshape(-1, 2)
        return _Tables(char_ids, unigram, side, keys, features, dense, values[:, 0].copy(), values[:, 1].copy())

    def probabilities(self, norm_texts: list[str]) -> np.ndarray:
        """:meth:`probability` of each text, computed over whole arrays: each text becomes its padded
        words' code points, every uni- and bigram looked up in the feature tables (:class:`_Tables`), and
        the sublinear tf-idf sums are bincounts per text. Only the uni- and bigram models the training
        script writes take this path; others, and a few texts before the tables are built, are scored text
        by text."""
        if (self.min_n, self.max_n) != (1, 2) or (len(norm_texts) < _FEW and "_tables" not in self.__dict__):
            return np.array([self.probability(t) for t in norm_texts], dtype=np.float64)
        if not norm_texts:
            return np.zeros(0)
        if len(norm_texts) > _BATCH:
            return np.concatenate([self.probabilities(norm_texts[i : i + _BATCH])
                                   for i in range(0, len(norm_texts), _BATCH)])
        count = len(norm_texts)
        # " w1  w2 ": each word padded with a space on both sides, as char_wb pads it; every pair of adjacent
        # characters of all the texts in a row is a bigram but the two spaces between words or between texts,
        # which the tables know as no feature
        padded = [f" {'  '.join(words)} " if (words := text.split()) else "" for text in norm_texts]
        lengths = np.fromiter(map(len, padded), dtype=np.int64, count=count)
        tables = self._tables
        idf, weight = tables.idf, tables.weight
        codes = np.frombuffer("".join(padded).encode("utf-32-le", "surrogatepass"), dtype=np.uint32)
        ids = tables.char_ids[codes].astype(np.int64)
        owner = np.repeat(np.arange(count, dtype=np.int64), lengths)
        grams = np.concatenate([tables.unigram[ids], tables.bigrams(ids[:-1] * tables.side + ids[1:])])
        grams_owner = np.concatenate([owner, owner[:-1]])
        known = grams >= 0
        # one (text, feature) pair a key: its count is the n-gram's count in the text
        features = len(idf)
        dtype = np.int32 if count * features < 2**31 else np.int64  # a 32-bit sort is the faster
        pair = np.sort((grams_owner[known] * features + grams[known]).astype(dtype))
        first = np.flatnonzero(np.concatenate([[True], pair[1:] != pair[:-1]]))
        tf = np.diff(np.append(first, len(pair)))
        text, feature = np.divmod(pair[first].astype(np.int64), features)
        value = np.where(tf == 1, 1.0, 1.0 + np.log(tf)) * idf[feature]
        squares = np.bincount(text, value * value, minlength=count)
        dot = np.bincount(text, value * weight[feature], minlength=count)
        scaled = np.divide(dot, np.sqrt(squares), out=np.zeros(count), where=squares > 0)
        return 1.0 / (1.0 + np.exp(-(self.intercept + scaled)))
