"""Check type ``reply_gap``: a customer waited too long for the next agent reply.

The message table is walked as a whole (vectorised, no loop over sessions):

* only ``agent`` and ``customer`` messages take part; system messages (auto-replies, transfer
  notices, robot answers) neither stop the clock nor count as a reply;
* a wait starts at the FIRST customer message after an agent message (or at the start of the
  session): when the customer sends several messages in a row, the clock does not restart;
* it ends at the next agent message of the same session, which carries the finding
  (``context_msg`` = the first waiting customer message);
* customer messages left unanswered at the end of a session are not flagged (nobody replied
  late; the chat ended or was closed);
* a pair where either end has no timestamp (NaT) is skipped;
* only time inside ``working_hours`` counts, in the audit's timezone: asked 22:58 with hours
  until 23:00, answered 09:03 the next day = 2 min + 3 min = 5 min.

Parameters (rule ``[params]``):

``max_wait_seconds`` (int, default 300)
    Longest allowed wait; a wait strictly greater is flagged (exactly the limit is fine).
``channel`` (str, ``online`` | ``phone``, default ``online``)
    The message table has no channel column, so the channel is chosen per rule (e.g. a rules
    folder for phone-channel audits overrides ``channel = "phone"``).
``phone_max_wait_seconds`` (int, default 30)
    The limit used instead of ``max_wait_seconds`` when ``channel = "phone"``.
``working_hours`` (str, default ``""``)
    Comma-separated local time windows ``HH:MM-HH:MM`` (``09:00-23:00``,
    ``09:00-12:00,13:30-18:00``, overnight ``20:00-02:00``); empty = the clock always runs.
    Every day is a working day (no weekend/holiday calendar).

Message fields: ``{wait}`` and ``{limit}`` (durations in words in the report language),
``{wait_seconds}`` and ``{limit_seconds}`` (whole seconds).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from qa.checks.base import CheckContext, findings_frame, render
from qa.errors import RuleError
from qa.model import Role, naive_times
from qa.regexcache import compile_regex

_DAY = 86_400
_NS = 1_000_000_000
_WINDOW = compile_regex(r"^\s*(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})\s*$")


def parse_working_hours(text: str) -> list[tuple[int, int]] | None:
    """``"09:00-23:00"`` -> ``[(32400, 82800)]`` (seconds of the day, end exclusive);
    overnight windows are split at midnight. ``None`` means the clock always runs."""
    if not text.strip():
        return None
    windows: list[tuple[int, int]] = []
    for part in text.split(","):
        found = _WINDOW.match(part)
        if not found:
            raise ValueError(f"working_hours: '{part.strip()}' is not HH:MM-HH:MM")
        h1, m1, h2, m2 = (int(g) for g in found.groups())
        if h1 > 24 or h2 > 24 or m1 > 59 or m2 > 59 or h1 * 60 + m1 > 1440 or h2 * 60 + m2 > 1440:
            raise ValueError(f"working_hours: '{part.strip()}' is not a time of day")
        start, end = h1 * 3600 + m1 * 60, h2 * 3600 + m2 * 60
        if start == end:
            raise ValueError(f"working_hours: '{part.strip()}' is an empty window")
        if start < end:
            windows.append((start, end))
        else:  # overnight: until midnight, then from midnight
            windows.append((start, _DAY))
            if end > 0:
                windows.append((0, end))
    windows.sort()
    for (_, end_a), (start_b, _) in zip(windows, windows[1:]):
        if start_b < end_a:
            raise ValueError(f"working_hours: windows overlap in '{text}'")
    if windows == [(0, _DAY)]:
        return None
    return windows


def _local_ns(times: pd.Series, timezone: str) -> tuple[np.ndarray, np.ndarray]:
    """Wall-clock nanoseconds since 1970-01-01 local time, and a mask of missing times.

    Tz-aware input is converted to ``timezone`` first; naive input is taken as local already.
    Integers, not floats: a wait of exactly the limit must compare equal to it.
    """
    values = naive_times(times, timezone).to_numpy(dtype="datetime64[ns]")
    missing = np.isnat(values)
    ns = values.astype("int64")
    ns[missing] = 0
    return ns, missing


def working_ns(start_ns: np.ndarray, end_ns: np.ndarray, windows: list[tuple[int, int]] | None
               ) -> np.ndarray:
    """Nanoseconds of working time between local wall-clock instants (int64 arrays).

    With W(t) = working time from the epoch to t = whole days * working time per day + working
    time of the day before t, the wait is W(end) - W(start); multi-day and overnight gaps need
    no special case.
    """
    if windows is None:
        return end_ns - start_ns
    per_day = sum(end - start for start, end in windows) * _NS

    def cumulative(ns: np.ndarray) -> np.ndarray:
        days = ns // (_DAY * _NS)
        of_day = ns - days * (_DAY * _NS)
        total = days * per_day
        for start, end in windows:
            total = total + np.clip(of_day - start * _NS, 0, (end - start) * _NS)
        return total

    return cumulative(end_ns) - cumulative(start_ns)


def format_duration(seconds: int, lang: str) -> str:
    """``393`` -> ``6分33秒`` / ``6 min 33 s``; ``300`` -> ``5分钟`` / ``5 min``;
    ``3900`` -> ``1小时5分钟`` / ``1 h 5 min``."""
    hours, rest = divmod(max(int(seconds), 0), 3600)
    minutes, secs = divmod(rest, 60)
    if lang == "en":
        parts = [f"{hours} h"] if hours else []
        if minutes:
            parts.append(f"{minutes} min")
        if secs or not parts:
            parts.append(f"{secs} s")
        return " ".join(parts)
    text = f"{hours}小时" if hours else ""
    if minutes:
        text += f"{minutes}分" if secs else f"{minutes}分钟"
    if secs or not text:
        text += f"{secs}秒"
    return text


def session_runs(sessions: pd.Series) -> np.ndarray:
    """Number of the contiguous session block each row belongs to (the table is sorted by
    session): each id compared with the previous one, vectorised."""
    changed = sessions.ne(sessions.shift()).to_numpy(dtype=bool)
    return np.cumsum(changed)


def reply_pairs(messages: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """Positions of (first waiting customer message, agent reply) for every answered customer
    turn, vectorised over the whole sorted table.

    System (and any other) rows are dropped; then an agent row directly after a customer row
    of the same session is a reply, and its wait started at the last customer row that
    followed a non-customer row or the session start.
    """
    role = messages["role"]
    is_customer_all = (role == Role.CUSTOMER.value).to_numpy(dtype=bool)
    keep = is_customer_all | (role == Role.AGENT.value).to_numpy(dtype=bool)
    rows = np.flatnonzero(keep)
    empty = np.array([], dtype="int64")
    if len(rows) < 2:
        return empty, empty
    is_customer = is_customer_all[rows]
    session = session_runs(messages["session_id"])[rows]
    prev_customer = np.zeros(len(rows), dtype=bool)
    prev_customer[1:] = is_customer[:-1] & (session[1:] == session[:-1])
    starts = is_customer & ~prev_customer
    last_start = np.maximum.accumulate(np.where(starts, np.arange(len(rows)), -1))
    replies = np.flatnonzero(~is_customer & prev_customer)
    return rows[last_start[replies]], rows[replies]


def _reasons(seconds: np.ndarray, rule, lang: str, limit: int) -> list[str]:
    """One reason per wait; rendered once per distinct number of seconds."""
    distinct, inverse = np.unique(seconds, return_inverse=True)
    limit_words = format_duration(limit, lang)
    texts = [
        render(rule.message, lang, wait=format_duration(int(value), lang), limit=limit_words,
               wait_seconds=int(value), limit_seconds=limit)
        for value in distinct
    ]
    return np.asarray(texts, dtype=object)[inverse].tolist()


def run(messages: pd.DataFrame, rule, context: CheckContext) -> pd.DataFrame:
    """Flag each agent reply that came more than the limit after the customer started waiting."""
    params = rule.params
    limit = params["phone_max_wait_seconds"] if params["channel"] == "phone" else params["max_wait_seconds"]
    try:
        windows = parse_working_hours(params["working_hours"] or "")
    except ValueError as error:
        raise RuleError(f"{rule.path}: {error}") from None
    if messages.empty:
        return findings_frame([], rule.id, "", "")
    waiting_at, reply_at = reply_pairs(messages)
    if len(reply_at) == 0:
        return findings_frame([], rule.id, "", "")
    local, missing = _local_ns(messages["timestamp"], context.timezone)
    wait = working_ns(local[waiting_at], local[reply_at], windows)
    late = (wait > limit * _NS) & ~missing[waiting_at] & ~missing[reply_at]
    if not late.any():
        return findings_frame([], rule.id, "", "")
    # Whole seconds, rounded up: a wait just over the limit never reads as the limit itself.
    late_seconds = -(-wait[late] // _NS)
    ids = messages.index.to_numpy()
    return findings_frame(
        ids[reply_at[late]], rule.id, rule.severity.value,
        _reasons(late_seconds, rule, context.lang, limit), context_msg=ids[waiting_at[late]],
    )

def validate(params: dict) -> list[tuple[str, str]]:
    """Problems the loader reports with the rule file and line (beyond the declared types)."""
    problems = []
    for key in ("max_wait_seconds", "phone_max_wait_seconds"):
        if params[key] < 0:
            problems.append((key, f"{key} must be 0 or more, got {params[key]}"))
    try:
        parse_working_hours(params["working_hours"] or "")
    except ValueError as error:
        problems.append(("working_hours", str(error)))
    return problems
