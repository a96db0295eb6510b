"""A small learned text classifier kept as rule data, scored without scikit-learn.

``benchmarks/train_question_model.py`` fits character n-grams (within words, as scikit-learn's
``char_wb``) with sublinear TF-IDF and a logistic regression, and writes the model as a list
file: ``name<TAB>value`` lines (``intercept``, ``threshold``) and one ``idf<TAB>weight<TAB>n-gram``
line per feature, the n-gram a JSON string (spaces and # escaped, so the list reader keeps
them). :class:`QuestionModel` reads those lines and scores a normalized text exactly as the
scikit-learn pipeline would (the training script checks the difference).
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterator
from dataclasses import dataclass

_WHITESPACE = re.compile(r"\s\s+")


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
