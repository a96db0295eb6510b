"""Normalize message text once, for matching; reports keep the original text.

Normalization = Unicode NFKC (full-width -> half-width, compatibility forms), traditional ->
simplified Chinese (OpenCC ``t2s``), lower case, and every run of whitespace collapsed to one
space with the ends stripped. Checks match against the ``norm`` column; a finding's span is
mapped back to the original text with :func:`original_span`.
"""

from __future__ import annotations

import unicodedata
from functools import lru_cache

import opencc
import pandas as pd
import regex

_WHITESPACE = regex.compile(r"\s+")
# OpenCC is fastest on one long string; messages are joined with a separator that NFKC and
# whitespace collapsing have already removed from every message.
_JOIN = "\n"


@lru_cache(maxsize=1)
def _t2s() -> opencc.OpenCC:
    return opencc.OpenCC("t2s")


def normalize_text(text: str) -> str:
    """Normalize one string the same way :func:`normalize_column` does."""
    folded = unicodedata.normalize("NFKC", text).lower()
    collapsed = _WHITESPACE.sub(" ", folded).strip()
    return _t2s().convert(collapsed)


def normalize_column(texts: pd.Series) -> pd.Series:
    """Normalize a whole column of message texts; returns a str Series with the same index."""
    if texts.empty:
        return texts.astype("str")
    folded = texts.astype("str").str.normalize("NFKC").str.lower()
    collapsed = folded.str.replace(r"\s+", " ", regex=True).str.strip()
    converted = _t2s().convert(_JOIN.join(collapsed.tolist())).split(_JOIN)
    if len(converted) != len(collapsed):  # OpenCC never adds newlines; guard anyway
        converted = [_t2s().convert(t) for t in collapsed.tolist()]
    return pd.Series(converted, index=texts.index, dtype="str")


def add_norm_column(messages: pd.DataFrame) -> pd.DataFrame:
    """Return the message table with the ``norm`` column added."""
    out = messages.copy()
    out["norm"] = normalize_column(messages["text"])
    return out


def _char_pieces(text: str) -> list[str]:
    """Normalized form of each original character, in order (whitespace handled by caller)."""
    converter = _t2s()
    return [converter.convert(unicodedata.normalize("NFKC", ch).lower()) for ch in text]


def original_span(text: str, norm_start: int, norm_end: int) -> tuple[int, int]:
    """Map a span of the normalized text back to a span of the original ``text``.

    Builds the offset map character by character, so it costs O(len(text)); it is only
    called for findings, never for every message.
    """
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
