"""Masking personal data in everything the tool writes (``--no-mask`` turns it off).

Mainland mobile numbers, 18-character ID-card numbers and e-mail addresses keep only a
recognizable part:

=================  ==========================  ==========================
kind               written as                  example
=================  ==========================  ==========================
mobile             first 3 + ``****`` + last 4  ``138****5678``
ID card            ``*`` x 14 + last 4          ``**************123X``
e-mail             first character, the domain ``z*******@example.com``
=================  ==========================  ==========================

A mobile number is ``1[3-9]`` + 9 digits (also written ``138-1234-5678``, ``138 1234 5678``,
with ``+86``, or in full-width digits) that is not part of a longer run of digits, so order
numbers and amounts stay readable.

Masking keeps the length of every string, so a finding's span (computed on the original
text) still points at the same characters of the masked text. It is applied when outputs
are written, never before the rules run.
"""

from __future__ import annotations

import re

import pandas as pd

# Full-width digits, plus sign and X are matched as their ASCII forms: the text is translated
# for matching only (one character for one, so positions agree) and masked in the original.
_ASCII = str.maketrans("０１２３４５６７８９＋Ｘｘ", "0123456789+Xx")

_PATTERN = re.compile(
    # ID card: region (6 digits), birth date 19xx/20xx-MM-DD, sequence (3), check digit or X.
    r"(?P<id>(?<![0-9])[1-9][0-9]{5}(?:19|20)[0-9]{2}(?:0[1-9]|1[0-2])(?:0[1-9]|[12][0-9]|3[01])"
    r"[0-9]{3}[0-9Xx](?![0-9Xx]))"
    # Mobile: 1[3-9]x xxxx xxxx, optional - or space between the groups; +86 or 0086 may precede.
    r"|(?P<mobile>(?:(?<=\+86)|(?<=0086)|(?<![0-9]))1[3-9][0-9][- ]?[0-9]{4}[- ]?[0-9]{4}(?![0-9]))"
    # E-mail: the local part is masked but its first character, the domain is kept.
    r"|(?P<email>[A-Za-z0-9_%+-][A-Za-z0-9._%+-]*@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,})"
)
_WIDE = re.compile("[０-９＋Ｘｘ]")
# Cheap test for "might contain something to mask": four digits in a row, or an @.
_CANDIDATE = r"[0-9０-９]{4}|@"


def _masked(kind: str, value: str) -> str:
    if kind == "id":
        return "*" * (len(value) - 4) + value[-4:]
    if kind == "mobile":
        # Keep the first 3 and last 4 digits and any separators; star the 4 in between.
        digits = [i for i, char in enumerate(value) if char not in "- "]
        chars = list(value)
        for position in digits[3:7]:
            chars[position] = "*"
        return "".join(chars)
    local, _, domain = value.partition("@")
    return local[0] + "*" * (len(local) - 1) + "@" + domain


def mask_text(text: str) -> str:
    """Mask one string (the result has the same length as the input)."""
    if not text:
        return text
    ascii_text = text.translate(_ASCII) if _WIDE.search(text) else text
    pieces = []
    last = 0
    for match in _PATTERN.finditer(ascii_text):
        start, end = match.span()
        pieces.append(text[last:start])
        pieces.append(_masked(match.lastgroup or "", text[start:end]))
        last = end
    if not pieces:
        return text
    pieces.append(text[last:])
    return "".join(pieces)


def mask_series(values: pd.Series) -> pd.Series:
    """Mask a column of strings; missing values become "". Only rows that might hold a
    number or an address go through the regular expression."""
    text = values.fillna("").astype("str")
    if text.empty:
        return text
    candidates = text.str.contains(_CANDIDATE, regex=True).to_numpy(dtype=bool, na_value=False)
    if not candidates.any():
        return text
    masked = text.copy()
    done: dict[str, str] = {}  # repeated texts (canned replies, quoted lines) are masked once
    out = []
    for value in text[candidates].tolist():
        result = done.get(value)
        if result is None:
            result = done[value] = mask_text(value)
        out.append(result)
    masked[candidates] = out
    return masked


def maybe_mask(values: pd.Series, mask: bool) -> pd.Series:
    """``mask_series(values)`` when ``mask`` is true, else the strings unchanged ("" for missing)."""
    return mask_series(values) if mask else values.fillna("").astype("str")
