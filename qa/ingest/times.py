"""Time values: whole-column formats sniffed from a sample, then offsets, epochs and Excel serials."""

from __future__ import annotations

import re
from collections.abc import Callable

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from qa.ingest.table import _clip, _no_reasons

# from a sample so that a million rows are normally parsed by exactly one format.
_TIME_FORMATS = (
    "%Y-%m-%d %H:%M:%S",
    "%Y/%m/%d %H:%M:%S",
    "%Y-%m-%d %H:%M",
    "%Y/%m/%d %H:%M",
    "%Y-%m-%dT%H:%M:%S",
    "%Y-%m-%d %H:%M:%S.%f",
    "%Y/%m/%d %H:%M:%S.%f",
    "%Y-%m-%dT%H:%M:%S.%f",
    "%Y年%m月%d日 %H:%M:%S",
    "%Y年%m月%d日 %H:%M",
    "%Y.%m.%d %H:%M:%S",
    "%Y.%m.%d %H:%M",
    # day first with dots, as a European-locale Excel writes it (17.12.2026 09:05); never ambiguous
    # with the year-first layouts above
    "%d.%m.%Y %H:%M:%S",
    "%d.%m.%Y %H:%M",
    # day first with slashes, as Hong Kong and Macau shops write it (29/11/2026 15:21); no month-first
    # layout is read, so a value parses under one format at most (11/28/2026 is refused, not guessed)
    "%d/%m/%Y %H:%M:%S",
    "%d/%m/%Y %H:%M",
    # month first only on a 12-hour English clock, as a US-locale Excel writes it (11/28/2026 2:03:27 PM): the
    # AM/PM keeps it apart from the day-first layouts
    "%m/%d/%Y %I:%M:%S %p",
    "%m/%d/%Y %I:%M %p",
    # day, English month abbreviation, year (29-Nov-2026 10:00), as English-locale consoles write it
    "%d-%b-%Y %H:%M:%S",
    "%d-%b-%Y %H:%M",
    "%d %b %Y %H:%M:%S",
    "%d %b %Y %H:%M",
    "%Y%m%d %H:%M:%S",
    "%Y-%m-%d",
    "%Y/%m/%d",
)
# The values a long column's formats are sniffed from.
_SNIFF_SAMPLE = 200
# All-digit layouts would also "parse" epoch seconds (1999999999 -> 1999-09-09 09:09:09), so
# they are tried only on what the epoch and Excel-serial patterns did not claim.
_DIGIT_TIME_FORMATS = ("%Y%m%d%H%M%S",)
_OFFSET_TIME = r"\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?\s*(?:Z|[+-]\d{2}(?::?\d{2})?)$"
_EPOCH_SECONDS = r"\d{10}(?:\.\d+)?"
_EPOCH_MILLIS = r"\d{13}"
_EXCEL_SERIAL = r"\d{5}(?:\.\d+)?"
# A month and day without a year (拼多多: 12-17 10:02; 12月17日 10:02:05): read in the current year,
# or the year before when that would put it more than a month ahead of today.
_YEARLESS = r"(\d{1,2})(?:[-/]|月)(\d{1,2})日?\s*(\d{1,2}:\d{2}(?::\d{2})?)"
_YEARLESS_AHEAD = pd.Timedelta(days=31)
# Times outside this window are typos or wrong units, and would overflow nanoseconds.
_TIME_MIN = pd.Timestamp("1900-01-01")
_TIME_MAX = pd.Timestamp("2200-01-01")


# --------------------------------------------------------------------------- times


def _parse_times(raw: pd.Series, timezone: str,
                 on_yearless: Callable[[int], None] | None = None) -> tuple[np.ndarray, np.ndarray]:
    """UTC instants (datetime64[ns], NaT when unusable) and a rejection reason per row.

    Whole-column formats run first (one C-level pass for a clean export); only what they
    leave goes through the slower classifiers for offsets, epochs and Excel serials, then
    month-day times without a year (``on_yearless`` hears the year they were read in).
    A column that repeats its times is parsed once per distinct time.
    """
    text = raw.str.strip().reset_index(drop=True)
    # the sample is the first values: no need to pick out all of a million
    formats = _likely_formats(text.iloc[np.flatnonzero((text != "").to_numpy(dtype=bool))[: _SNIFF_SAMPLE + 1]])
    if not _repeats_times(text):
        return _parse_each(text, formats, timezone, on_yearless)
    # Every step below reads a value on its own, so a time parses as it would among the others.
    codes, distinct = pd.factorize(text, use_na_sentinel=False)
    utc, reason = _parse_each(pd.Series(distinct, dtype=text.dtype), formats, timezone, on_yearless)
    return utc[codes], reason[codes]


# A log repeats its times (several messages a second in a busy shop): parsing each distinct time
# once pays when the first tenth of the column holds under this share of distinct values (the
# share pandas' to_datetime caches by, which it does for strptime layouts but not ISO 8601 ones).
_REPEATED_SHARE = 0.7


def _repeats_times(text: pd.Series) -> bool:
    """Whether the (stripped) time texts repeat enough to be parsed once per distinct value."""
    head = text.iloc[: max(len(text) // 10, _SNIFF_SAMPLE)]
    return len(head) > 0 and pc.count_distinct(pa.array(head)).as_py() < _REPEATED_SHARE * len(head)


def _parse_each(text: pd.Series, formats: list[str], timezone: str,
                on_yearless: Callable[[int], None] | None) -> tuple[np.ndarray, np.ndarray]:
    """:func:`_parse_times` of stripped time texts, the naive ``formats`` sniffed first."""
    utc = np.full(len(text), np.datetime64("NaT", "ns"))
    todo = (text != "").to_numpy(dtype=bool, copy=True)
    for fmt in formats:
        _fill(utc, todo, text, lambda values, fmt=fmt: _to_datetime(values, format=fmt), timezone)
        if not todo.any():
            break
    if todo.any():
        _parse_other_times(text, utc, todo, timezone)
    if todo.any():
        _parse_yearless(text, utc, todo, timezone, on_yearless)
    if todo.any():
        _parse_rewritten(text, utc, todo, timezone)
    reason = _no_reasons(len(text))
    empty = (text == "").to_numpy()
    reason[empty] = "empty time"
    failed = np.isnat(utc) & ~empty
    reason[failed] = [f"unparseable time '{_clip(v, 40)}'" for v in text[failed]]
    return utc, reason


def _likely_formats(values: pd.Series) -> list[str]:
    """The naive formats that parse a sample of the column, most successful first; every
    format, in table order, for a column no longer than the sample."""
    if not len(values):
        return []
    if len(values) <= _SNIFF_SAMPLE:
        # Sniffing would cost a parse per format, more than parsing such a column outright
        # (the caller stops at the first formats that take every value; a streamed audit in
        # small chunks sniffed each chunk). The order cannot change a result: the layouts
        # are exclusive, so a value parses under one format at most.
        return list(_TIME_FORMATS)
    sample = values.iloc[:_SNIFF_SAMPLE]
    scores = []
    for order, fmt in enumerate(_TIME_FORMATS):
        hits = int(_to_datetime(sample, format=fmt).notna().sum())
        if hits:
            scores.append((-hits, order, fmt))
    return [fmt for *_, fmt in sorted(scores)]


def _parse_other_times(text: pd.Series, utc: np.ndarray, todo: np.ndarray, timezone: str) -> None:
    """Times the sniffed formats left: offsets, epochs, Excel serials, then every other layout."""
    positions = np.flatnonzero(todo)
    if len(positions) < len(text):
        # Usually a handful of rows: each of the ~20 attempts below would otherwise scan
        # masks as long as the file.
        few_utc, few_todo = utc[positions], np.ones(len(positions), dtype=bool)
        _parse_other_times(text.iloc[positions].reset_index(drop=True), few_utc, few_todo, timezone)
        utc[positions], todo[positions] = few_utc, few_todo
        return
    rest = text.iloc[positions]
    kinds: list[tuple[pd.Series, Callable[[pd.Series], pd.Series], str | None]] = [
        (rest.str.contains(_OFFSET_TIME, regex=True), _parse_offset_times, None),
        (rest.str.fullmatch(_EPOCH_MILLIS), lambda v: _from_epoch(v, "ms"), None),
        (rest.str.fullmatch(_EPOCH_SECONDS), lambda v: _from_epoch(v, "s"), None),
        (rest.str.fullmatch(_EXCEL_SERIAL), _from_excel_serial, timezone),
    ]
    taken = np.zeros(len(rest), dtype=bool)
    for matches, parser, local in kinds:
        mask = matches.to_numpy(dtype=bool, na_value=False) & ~taken
        taken |= mask
        if mask.any():
            subset = np.zeros(len(text), dtype=bool)
            subset[positions[mask]] = True
            _fill(utc, subset, text, parser, local)
    # Whatever is left is naive text: a layout the sample did not show, or ISO 8601 variants.
    others = np.zeros(len(text), dtype=bool)
    others[positions[~taken]] = True
    for fmt in (*_TIME_FORMATS, *_DIGIT_TIME_FORMATS, "ISO8601"):
        if not others.any():
            break
        _fill(utc, others, text, lambda values, fmt=fmt: _to_datetime(values, format=fmt), timezone)
    todo &= np.isnat(utc)


def _parse_yearless(text: pd.Series, utc: np.ndarray, todo: np.ndarray, timezone: str,
                    on_yearless: Callable[[int], None] | None) -> None:
    """Month-day times without a year (12-17 10:02), read in the current year of ``timezone``,
    or the year before for a date more than a month ahead of today."""
    positions = np.flatnonzero(todo)
    parts = text.iloc[positions].str.fullmatch(_YEARLESS)
    hits = positions[parts.to_numpy(dtype=bool, na_value=False)]
    if not len(hits):
        return
    found = text.iloc[hits].str.extract("^" + _YEARLESS + "$")
    now = pd.Timestamp.now(tz=timezone).tz_localize(None)
    spelled = found[0].str.zfill(2) + "-" + found[1].str.zfill(2) + " " + found[2]
    stamps = _to_datetime(f"{now.year}-" + spelled, format="mixed")
    ahead = (stamps > now + _YEARLESS_AHEAD).to_numpy(dtype=bool, na_value=False)
    if ahead.any():
        stamps[ahead] = _to_datetime(f"{now.year - 1}-" + spelled[ahead], format="mixed")
    _fill_rows(utc, text, hits, stamps.to_numpy(), lambda v: pd.to_datetime(v), timezone)
    if on_yearless is not None and (~np.isnat(utc[hits])).any():
        on_yearless(now.year - 1 if ahead.all() else now.year)


# A 12-hour clock with the Chinese (or English) half of the day: 2026/12/17 下午 2:03:21 (Excel in a
# Chinese locale), 2026-12-17 2:03 PM.
_HALF_DAY = r"^(.*?\d)\s*(上午|下午|中午|晚上|凌晨|早上|早晨|傍晚|am|pm|AM|PM)\s*(\d{1,2}):(\d{2})(?::(\d{2}))?\s*$"
_HALF_DAY_AFTER = r"^(.*?\d)\s+(\d{1,2}):(\d{2})(?::(\d{2}))?\s*(am|pm|AM|PM)\s*$"
_AFTERNOON = {"下午", "晚上", "傍晚", "pm"}
_MORNING = {"上午", "凌晨", "早上", "早晨", "am"}
# An offset followed by a zone's abbreviation (Go's default: 2026-12-17 08:30:12.457 +0800 CST): the
# offset says it all, the abbreviation (CST is China here, not US Central) is dropped.
_OFFSET_ZONE = r"^(\d{4}-\d{2}-\d{2})[ T](\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?)\s*([+-]\d{2}:?\d{2})\s+[A-Za-z]{2,5}$"


# Java's Date.toString() (Fri Jan 29 09:15:42 CST 2027), as webhooks and Java back ends log it. CST is the
# shop's local zone (China here, not US Central); the other usual abbreviations and GMT+08:00 are their
# offsets; an unknown abbreviation leaves the row unparsed (rejected, not read in the wrong zone).
_JAVA_DATE = (r"^(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun)[a-z]*\.?\s+([A-Z][a-z]{2})[a-z]*\.?\s+(\d{1,2})\s+"
              r"(\d{1,2}:\d{2}:\d{2})\s+([A-Za-z]{2,5}(?:[+-]\d{1,2}(?::?\d{2})?)?)\s+(\d{4})$")
_ZONE_OFFSETS = {"UTC": "+00:00", "GMT": "+00:00", "HKT": "+08:00", "SGT": "+08:00", "AWST": "+08:00",
                 "JST": "+09:00", "KST": "+09:00", "IST": "+05:30", "PST": "-08:00", "PDT": "-07:00",
                 "MST": "-07:00", "MDT": "-06:00", "EST": "-05:00", "EDT": "-04:00", "CET": "+01:00",
                 "CEST": "+02:00", "BST": "+01:00", "AEST": "+10:00", "AEDT": "+11:00"}
_LOCAL_ZONES = {"CST"}
_MONTHS = {m: f"{i:02d}" for i, m in enumerate(
    ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"), start=1)}


def _java_zone_offset(zone: str) -> str | None:
    """The ±HH:MM of a Java zone name (HKT, GMT+08:00, GMT+8), "" for the shop's own zone (CST), None
    when unknown."""
    zone = zone.upper()
    if zone in _LOCAL_ZONES:
        return ""
    if zone in _ZONE_OFFSETS:
        return _ZONE_OFFSETS[zone]
    found = re.fullmatch(r"(?:GMT|UTC)([+-])(\d{1,2}):?(\d{2})?", zone)
    if found:
        return f"{found.group(1)}{int(found.group(2)):02d}:{found.group(3) or '00'}"
    return None


# A 民國 year of three digits (100 = 2011) before a month and a day, after an optional 民國.
_ROC_YEAR = r"^\s*(?:民[國国]\s*)?(1\d\d)(?=\s*[/.\-年]\s*\d{1,2}\s*[/.\-月]\s*\d{1,2})"
_ROC_EPOCH = 1911


def _parse_rewritten(text: pd.Series, utc: np.ndarray, todo: np.ndarray, timezone: str) -> None:
    """Times in a layout rewritten first: a 12-hour clock with 上午/下午 (or AM/PM), and an offset
    followed by a zone abbreviation."""
    positions = np.flatnonzero(todo)
    rest = text.iloc[positions]
    rewritten = pd.Series(None, index=rest.index, dtype="object")
    # a Taiwan shop dates by the 民國 year (115/11/29 15:17:27 is 2026-11-29)
    western = rest.str.replace(_ROC_YEAR, lambda m: str(int(m.group(1)) + _ROC_EPOCH), regex=True)
    roc = (western != rest).to_numpy(dtype=bool, na_value=False)
    if roc.any():
        rewritten[roc] = western[roc]
        rest = western
    for pattern, (date, half, hour, minute, second) in ((_HALF_DAY, (0, 1, 2, 3, 4)), (_HALF_DAY_AFTER, (0, 4, 1, 2, 3))):
        found = rest.str.extract(pattern)
        hit = (found[date].notna() & (rewritten.isna() | roc)).to_numpy()
        if not hit.any():
            continue
        found = found[hit]
        h, halves = found[hour].astype(int).to_numpy(), found[half].str.lower()
        h = np.where(halves.isin(_AFTERNOON).to_numpy() & (h < 12), h + 12,
                     np.where((halves == "中午").to_numpy() & (h < 11), h + 12,
                              np.where(halves.isin(_MORNING).to_numpy() & (h == 12), 0, h)))
        clock = pd.Series(h, index=found.index).astype(str).str.zfill(2)
        rewritten[hit] = found[date] + " " + clock + ":" + found[minute] + ":" + found[second].fillna("00")
    hits = rewritten.notna().to_numpy()
    if hits.any():
        for fmt in _TIME_FORMATS:
            _fill_rows(utc, text, positions[hits], rewritten[hits].to_numpy(),
                       lambda v, fmt=fmt: _to_datetime(v, format=fmt), timezone)
    zoned = rest.str.extract(_OFFSET_ZONE)
    hit = zoned[0].notna().to_numpy()
    if hit.any():
        _fill_rows(utc, text, positions[hit], (zoned[0] + "T" + zoned[1] + zoned[2])[hit].to_numpy(),
                   _parse_offset_times, None)
    java = rest.str.extract(_JAVA_DATE)
    hit = java[0].notna().to_numpy()
    if hit.any():
        java = java[hit]
        offsets = java[3].map(_java_zone_offset)
        months = java[0].map(_MONTHS)
        known = (offsets.notna() & months.notna()).to_numpy()
        stamp = java[4] + "-" + months.fillna("01") + "-" + java[1].str.zfill(2) + "T" + java[2].str.zfill(8)
        local = known & (offsets == "").to_numpy()
        zoned = known & ~local
        if local.any():
            _fill_rows(utc, text, positions[hit][local], stamp[local].to_numpy(),
                       lambda v: _to_datetime(v, format="%Y-%m-%dT%H:%M:%S"), timezone)
        if zoned.any():
            _fill_rows(utc, text, positions[hit][zoned], (stamp + offsets.fillna(""))[zoned].to_numpy(),
                       _parse_offset_times, None)
    todo &= np.isnat(utc)


def _fill_rows(utc: np.ndarray, text: pd.Series, rows: np.ndarray, values: np.ndarray,
               parser: Callable[[pd.Series], pd.Series], local: str | None) -> None:
    """Parse ``values`` (rewritten forms of ``text`` at positions ``rows``) into ``utc`` where
    those rows have no time yet."""
    open_rows = np.isnat(utc[rows])
    if not open_rows.any():
        return
    rows = rows[open_rows]
    subset = np.zeros(len(text), dtype=bool)
    subset[rows] = True
    column = pd.Series(None, index=text.index, dtype="object")
    column.iloc[rows] = np.asarray(values, dtype=object)[open_rows]
    _fill(utc, subset, column, parser, local)


def _fill(
    utc: np.ndarray,
    todo: np.ndarray,
    text: pd.Series,
    parser: Callable[[pd.Series], pd.Series],
    local: str | None,
) -> None:
    """Parse ``text[todo]`` into ``utc`` and clear what parsed from ``todo``.

    ``local`` is the timezone of naive results; None means they already are UTC.
    """
    where = np.flatnonzero(todo)
    parsed = pd.DatetimeIndex(parser(text if len(where) == len(text) else text.iloc[where]))
    if parsed.tz is not None:
        parsed = parsed.tz_convert("UTC").tz_localize(None)
    in_range = np.asarray((parsed >= _TIME_MIN) & (parsed < _TIME_MAX), dtype=bool)
    if not in_range.any():
        return
    instants = parsed[in_range]
    if local is not None:
        # DST gaps shift forward; repeated hours take the first (summer-time) reading.
        instants = (
            instants.tz_localize(
                local, ambiguous=np.ones(len(instants), dtype=bool), nonexistent="shift_forward"
            )
            .tz_convert("UTC")
            .tz_localize(None)
        )
    utc[where[in_range]] = instants.as_unit("ns").to_numpy()
    todo[where[in_range]] = False


def _to_datetime(values: pd.Series, **kwargs: object) -> pd.Series:
    """pd.to_datetime with errors="coerce" that never raises: bad values become NaT."""
    try:
        return pd.to_datetime(values, errors="coerce", **kwargs)
    except (ValueError, TypeError, OverflowError):
        # A whole-column call can still raise (mixed offsets, overflow): go value by value.
        parsed = {value: _to_datetime_one(value, kwargs) for value in pd.unique(values)}
        dtype = "datetime64[ns, UTC]" if kwargs.get("utc") else "datetime64[ns]"
        return pd.Series([parsed[v] for v in values], index=values.index, dtype=dtype)


def _to_datetime_one(value: object, kwargs: dict[str, object]) -> pd.Timestamp:
    try:
        stamp = pd.to_datetime(value, errors="coerce", **kwargs)
    except (ValueError, TypeError, OverflowError):
        return pd.NaT
    if stamp is pd.NaT or not _TIME_MIN <= stamp.tz_localize(None) < _TIME_MAX:
        return pd.NaT
    return stamp


def _parse_offset_times(values: pd.Series) -> pd.Series:
    return _to_datetime(values, format="ISO8601", utc=True)


def _from_epoch(values: pd.Series, unit: str) -> pd.Series:
    return _to_datetime(pd.to_numeric(values, errors="coerce"), unit=unit)


def _from_excel_serial(values: pd.Series) -> pd.Series:
    days = pd.to_numeric(values, errors="coerce")
    days = days.where((days >= 20000) & (days < 80000))  # 1954..2119: plausible chat dates
    # Day fractions are binary floats: round away the nanosecond noise (46346.58 -> 13:55:12).
    return (pd.Timestamp("1899-12-30") + pd.to_timedelta(days, unit="D")).dt.round("ms")
