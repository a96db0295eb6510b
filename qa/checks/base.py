"""What the implementations of the check types share: rendering reasons, building findings.

A check type's declaration (parameters, flags) is in :mod:`qa.checktypes`; the code here is
what its ``run`` uses. :class:`CheckContext`, the facts about the audit a ``run`` receives, is
declared beside the check types and importable from here too.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from qa.checktypes.base import CheckContext
from qa.model import FINDING_COLUMNS, empty_findings

__all__ = ["CheckContext", "findings_frame", "render", "role_mask"]


def render(template: dict[str, str], lang: str, **values: Any) -> str:
    """Render a rule's message template in ``lang`` (falls back to zh) with named fields."""
    text = template.get(lang) or template.get("zh") or next(iter(template.values()), "")
    try:
        return text.format(**values)
    except (KeyError, IndexError, ValueError):
        return text


def findings_frame(
    msg: Sequence[int] | np.ndarray,
    rule: str,
    severity: Sequence[str] | str,
    reason: Sequence[str] | str,
    match: Sequence[str] | str = "",
    span_start: Sequence[int] | int = -1,
    span_end: Sequence[int] | int = -1,
    context_msg: Sequence[int] | int = -1,
) -> pd.DataFrame:
    """Build a finding table from columns (scalars are broadcast)."""
    msg_array = np.asarray(msg, dtype="int64")
    if len(msg_array) == 0:
        return empty_findings()
    n = len(msg_array)

    def column(value: Any, dtype: str) -> pd.Series:
        if isinstance(value, (str, int, np.integer)):
            return pd.Series([value] * n, dtype=dtype)
        return pd.Series(list(value), dtype=dtype)

    frame = pd.DataFrame(
        {
            "msg": msg_array,
            "rule": column(rule, "str"),
            "severity": column(severity, "str"),
            "match": column(match, "str"),
            "span_start": column(span_start, "int64"),
            "span_end": column(span_end, "int64"),
            "reason": column(reason, "str"),
            "context_msg": column(context_msg, "int64"),
        }
    )
    return frame[FINDING_COLUMNS]


def role_mask(messages: pd.DataFrame, roles: Sequence[str]) -> pd.Series:
    """Boolean mask of the messages whose role is one of ``roles``."""
    return messages["role"].isin(list(roles))


def preceding_turns(replies: np.ndarray, turn: np.ndarray, new_session: np.ndarray,
                    positions: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The turn each reply answers, by position arithmetic over the whole table: for each of
    ``positions``, the rows of ``turn`` (a bool mask) after the previous ``replies`` row (a bool mask)
    of the same session (``new_session``: True at each session's first row) and before the position.
    Returns ``(turn_positions, left, right)``: position i's turn is ``turn_positions[left[i]:right[i]]``,
    in order."""
    order = np.arange(len(turn))
    session_start = np.maximum.accumulate(np.where(new_session, order, 0))
    last_reply = np.maximum.accumulate(np.where(replies, order, -1))
    turn_positions = order[turn]
    positions = np.asarray(positions, dtype=np.int64)
    previous = np.where(positions > 0, last_reply[np.maximum(positions - 1, 0)], -1)
    low = np.maximum(session_start[positions], previous + 1)
    return turn_positions, np.searchsorted(turn_positions, low), np.searchsorted(turn_positions, positions)


def turn_holds(classes, names: list[str], norm_all: pd.Series, turn: np.ndarray, replies: np.ndarray,
               sessions: np.ndarray, positions: np.ndarray) -> np.ndarray:
    """For each of ``positions``: does the turn just before it (the ``turn`` rows since the session's
    previous ``replies`` row, other roles passed) hold a message of the classes ``names`` (names of no
    class are left out)? A welcome line (请问有什么可以帮您) is no reply to a problem told before it, but it
    is the agent's answer to 人呢; a bare 您去吧 dares only a customer who just threatened to complain."""
    new_session = np.r_[True, sessions[1:] != sessions[:-1]] if len(sessions) else np.zeros(0, dtype=bool)
    turn_positions, left, right = preceding_turns(replies, turn, new_session, positions)
    counts = right - left
    holds = np.zeros(len(positions), dtype=bool)
    known = [name for name in names if name in classes.classes]
    if counts.sum() and known:
        owner = np.repeat(np.arange(len(positions)), counts)
        rows = turn_positions[concatenated_ranges(left, counts)]
        holds[owner[classes.row_mask_any(known, norm_all, rows)]] = True
    return holds


def concatenated_ranges(starts: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """``starts[i], starts[i] + 1, …`` (``counts[i]`` values) for each i, one after another: the
    indices of many short runs at once (``[3, 7], [2, 1]`` -> ``[3, 4, 7]``)."""
    counts = np.asarray(counts, dtype=np.int64)
    total = int(counts.sum())
    within = np.arange(total) - np.repeat(np.cumsum(counts) - counts, counts)
    return np.repeat(np.asarray(starts, dtype=np.int64), counts) + within
