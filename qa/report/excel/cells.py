"""Cell values prepared a column at a time (pandas/numpy): Excel dates, fitted and masked
texts, row heights."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

from qa.mask import maybe_mask
from qa.model import naive_times
from qa.report.excel.rows import Later
from qa.report.excel.words import pick

MAX_CELL_CHARS = 32_000

DATETIME_FORMAT = "yyyy-mm-dd hh:mm:ss"
_EXCEL_EPOCH = np.datetime64("1899-12-30T00:00:00", "ns")
_NS_PER_DAY = 86_400 * 1_000_000_000


# ---------------------------------------------------------------------------------------
# Column preparation (vectorised)


def excel_dates(values: pd.Series) -> np.ndarray:
    """Excel serial day numbers (float, NaN for missing) of naive or aware timestamps;
    aware ones are shown in their own timezone's wall time."""
    if len(values) == 0:
        return np.array([], dtype="float64")
    values = naive_times(pd.to_datetime(values, errors="coerce"))
    array = values.to_numpy(dtype="datetime64[ns]")
    missing = np.isnat(array)
    serial = (array.view("int64") - _EXCEL_EPOCH.view("int64")) / _NS_PER_DAY
    serial[missing] = np.nan
    return serial


# Row heights for wrapped text: Excel, WPS and LibreOffice do not all re-fit rows when they
# open a file, so detail rows get an estimated height (a CJK character is about 1.8 column
# width units; 16 points a line; at most MAX_ROW_LINES lines, the cell holds the rest).
POINTS_PER_LINE = 16.0
_UNITS_PER_CHAR = 1.8
MAX_ROW_LINES = 8


def row_heights(wrapped: list[tuple[pd.Series, float]]) -> list[float | None]:
    """Estimated heights of rows whose wrapped cells hold ``(texts, column width)``."""
    if not wrapped:
        return []
    lines = np.ones(len(wrapped[0][0]))
    for texts, width in wrapped:
        per_line = max(width / _UNITS_PER_CHAR, 1.0)
        lengths = texts.str.len().to_numpy(dtype="float64", na_value=0.0)
        breaks = texts.str.count("\n").to_numpy(dtype="float64", na_value=0.0)
        lines = np.maximum(lines, np.ceil(lengths / per_line) + breaks)
    lines = np.clip(lines, 1, MAX_ROW_LINES)
    return [None if n <= 1 else n * POINTS_PER_LINE for n in lines.tolist()]


_CUT_MARK = ("[已截断 {n} 字]", "[truncated {n} chars]")


def _units(text: str) -> int:
    """Length in UTF-16 units, as Excel counts (an emoji is two)."""
    return len(text) + sum(1 for char in text if ord(char) > 0xFFFF)


def _cut(n: int, lang: str) -> str:
    return pick(_CUT_MARK, lang).format(n=f"{n:,}")


def fit_cell(text: str, lang: str = "zh") -> str:
    """``text`` cut to MAX_CELL_CHARS UTF-16 units, ending in a mark that says how many
    characters were cut (Excel refuses longer cells)."""
    units = 0
    for position, char in enumerate(text):
        units += 2 if ord(char) > 0xFFFF else 1
        if units > MAX_CELL_CHARS:
            return text[:position] + "…" + _cut(len(text) - position, lang)
    return text



def detail_cells(part: pd.DataFrame, lang: str):
    """Reason, message, context and the marked message of finding-like rows (findings, credits):
    the message is cut around its marked span so the highlight stays visible."""
    reasons = cell_text(part["reason"], False, lang)
    texts = cell_text(part["text"], False, lang, cut=False)
    contexts = cell_text(part["context_text"], False, lang)
    starts, ends = part["span_start"], part["span_end"]

    def make_marked() -> list[tuple[str, int, int]]:
        return [
            fit_marked(*cell, lang)
            for cell in zip(
                as_list(texts), as_list(starts.fillna(-1).astype("int64")), as_list(ends.fillna(-1).astype("int64")),
            )
        ]

    # Made when the sheet writes that column (a tuple and a string per row: see Later).
    marked = Later(len(part), make_marked)
    return reasons, texts, contexts, marked

def fit_marked(text: str, start: int, end: int, lang: str) -> tuple[str, int, int]:
    """A highlighted cell ``(text, start, end)`` within Excel's limit. When the match lies
    beyond the head that fits, the cell shows a window of the text around the match instead,
    each cut end marked, so that the highlighted fragment stays visible."""
    if len(text) <= MAX_CELL_CHARS // 2 or _units(text) <= MAX_CELL_CHARS:
        return text, start, end
    head = fit_cell(text, lang)
    kept = head.rfind("…")
    if not 0 <= start < end <= len(text) or end <= kept:
        return head, (start if end <= kept else -1), (end if end <= kept else -1)
    end = min(end, start + MAX_CELL_CHARS // 2)  # a match longer than the cell: its beginning
    before = min(start, (MAX_CELL_CHARS - (end - start)) // 2)  # context on both sides
    last = min(len(text), start - before + MAX_CELL_CHARS)
    first = max(0, last - MAX_CELL_CHARS)
    while (excess := _units(text[first:last]) - MAX_CELL_CHARS) > 0:  # emoji count twice
        if last - end >= start - first:  # give up context on the side that has more
            last = max(end, last - excess)
        else:
            first = min(start, first + excess)
    lead = _cut(first, lang) + "…" if first else ""
    tail = "…" + _cut(len(text) - last, lang) if last < len(text) else ""
    return lead + text[first:last] + tail, len(lead) + start - first, len(lead) + end - first


def cell_text(values: pd.Series, mask: bool, lang: str = "zh", cut: bool = True,
               memo: dict[str, str] | None = None) -> pd.Series:
    """Strings ready for cells: masked if asked (through ``memo``, the masked texts known),
    missing as "", cut to Excel's cell limit (``cut=False`` leaves that to :func:`fit_marked`)."""
    text = maybe_mask(values, mask, memo)
    # Only a text longer than half the limit can exceed it in UTF-16 units.
    long = (text.str.len() > MAX_CELL_CHARS // 2).to_numpy(dtype=bool, na_value=False)
    if cut and long.any():
        text = text.copy()
        text[long] = [fit_cell(value, lang) for value in text[long].tolist()]
    return text


def as_list(values: Any) -> list:
    """``values`` (a Series, array or iterable) as a list."""
    return values.tolist() if hasattr(values, "tolist") else list(values)


def number_values(values: pd.Series) -> list[float | None]:
    """Python floats with None for missing or infinite values (written as blank cells)."""
    array = pd.to_numeric(values, errors="coerce").to_numpy(dtype="float64", na_value=np.nan)
    return [v if math.isfinite(v) else None for v in array.tolist()]
