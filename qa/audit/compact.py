"""The message table of an audit whose messages were never all in memory at once.

``result.ingest.messages`` of the out-of-core and cluster paths cannot be the whole table
(that is what does not fit), but reports need its length, its time range and the messages of
the sessions whose transcripts the workbook shows. :class:`CompactMessages` is a table with
one row per audited message and the usual columns and index (global message ids), stored
compactly: string columns are categoricals, and ``text`` is filled only for the sessions the
workbook shows as transcripts (missing elsewhere; see :func:`transcript_sessions`); values
a path never saw are missing (codes -1, NaT, NaN, row 0).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from qa.audit.partition import global_ids
from qa.model import MESSAGE_COLUMNS

#: Sessions whose texts are kept for the workbook's transcripts when its limit is unknown.
_DEFAULT_TRANSCRIPTS = 200

_CATEGORY_COLUMNS = ("session_id", "role", "agent", "source_file", "source_sheet")


class CompactMessages:
    """The whole message table in global order, compactly (see the module docstring): fill it
    with :meth:`add` (every column but the texts), :meth:`keep_texts` and :meth:`set_times`,
    then take the table with :meth:`frame`."""

    def __init__(self, total: int, timezone: str) -> None:
        self.total = total
        self.timezone = timezone
        # Codes start as int8 and widen when a column gets more distinct values.
        self.codes = {name: np.full(total, -1, dtype=np.int8) for name in _CATEGORY_COLUMNS}
        self.categories: dict[str, dict[str, int]] = {name: {} for name in _CATEGORY_COLUMNS}
        self.timestamp = np.full(total, np.iinfo(np.int64).min, dtype=np.int64)  # NaT
        self.seq: np.ndarray | None = None  # allocated when a seq value shows up (most exports have none)
        self.source_row = np.zeros(total, dtype=np.int64)
        # Texts of each partition's candidate transcript sessions: session -> (ids, texts, norms).
        # The worst sessions overall are among the worst of their partition.
        self.texts: dict[str, tuple[np.ndarray, list[str], list[str]]] = {}

    def add(self, messages: pd.DataFrame, offsets: pd.Series) -> None:
        """Store a partition's message columns at their global ids (categories kept compact)."""
        ids = global_ids(messages["session_id"], offsets)
        for name in _CATEGORY_COLUMNS:
            codes, uniques = pd.factorize(messages[name])
            known = self.categories[name]
            mapping = np.array([known.setdefault(u, len(known)) for u in uniques.tolist()], dtype=np.int64)
            target = self.codes[name]
            if len(known) > np.iinfo(target.dtype).max:
                wider = np.int16 if len(known) <= np.iinfo(np.int16).max else np.int32
                target = self.codes[name] = target.astype(wider)
            target[ids] = mapping[codes] if len(codes) else codes
        utc = messages["timestamp"].dt.tz_convert("UTC").dt.tz_localize(None).to_numpy("datetime64[ns]")
        self.timestamp[ids] = utc.view(np.int64)
        seq = messages["seq"].to_numpy(dtype=float)
        if self.seq is None and not np.isnan(seq).all():
            self.seq = np.full(self.total, np.nan)
        if self.seq is not None:
            self.seq[ids] = seq
        self.source_row[ids] = messages["source_row"].to_numpy(dtype=np.int64)

    def set_times(self, times: Sequence[tuple[int, int]]) -> None:
        """Set the times (UTC ns) of some messages given as (global id, time) pairs."""
        for gid, value in times:
            self.timestamp[gid] = value

    def keep_texts(self, messages: pd.DataFrame, sessions: list[str], offsets: pd.Series) -> None:
        """Keep the texts of ``sessions`` (those with findings), the only texts the reports show."""
        if not sessions:
            return
        rows = messages[messages["session_id"].isin(sessions)]
        ids = global_ids(rows["session_id"], offsets)
        for session_id, positions in rows.groupby("session_id", sort=False).indices.items():
            self.texts[str(session_id)] = (
                ids[positions], rows["text"].iloc[positions].tolist(), rows["norm"].iloc[positions].tolist()
            )

    def frame(self, transcripts: list[str]) -> pd.DataFrame:
        """The table (taking over the arrays); ``text`` and ``norm`` hold the texts of the
        ``transcripts`` sessions only."""
        columns: dict[str, object] = {}
        for name in MESSAGE_COLUMNS:
            if name in self.codes:
                categories = pd.Index(list(self.categories[name]), dtype="str")
                columns[name] = pd.Categorical.from_codes(self.codes.pop(name), categories=categories)
            elif name == "text":
                columns[name] = self._texts(transcripts, 1)
            elif name == "timestamp":
                utc = pd.DatetimeIndex(self.timestamp.view("datetime64[ns]"))
                self.timestamp = None
                columns[name] = utc.tz_localize("UTC").tz_convert(self.timezone)
            elif name == "seq":
                # No seq anywhere (most exports): one read-only NaN seen ``total`` times (a
                # stride-0 view), not 8 bytes per message (80 MB at 10M) of the same NaN.
                columns[name] = self.seq if self.seq is not None else np.broadcast_to(np.float64(np.nan), (self.total,))
            elif name == "source_row":
                columns[name] = self.source_row
        columns["norm"] = self._texts(transcripts, 2)
        self.texts = {}
        return pd.DataFrame(columns, index=pd.RangeIndex(self.total), copy=False)

    def _texts(self, transcripts: list[str], which: int) -> pd.Categorical:
        codes = np.full(self.total, -1, dtype=np.int32)
        known: dict[str, int] = {}
        for session_id in transcripts:
            if session_id in self.texts:
                kept = self.texts[session_id]
                codes[kept[0]] = [known.setdefault(value, len(known)) for value in kept[which]]
        return pd.Categorical.from_codes(codes, categories=pd.Index(list(known), dtype="str"))


# --------------------------------------------------------------------------- transcripts


def transcript_sessions(sessions: pd.DataFrame) -> list[str]:
    """The sessions whose messages the workbook may show as transcripts (a superset of the
    workbook's choice: its own ordering and session limit, when it exposes them)."""
    flagged = sessions[sessions["findings"] > 0]
    try:
        from qa.report.excel import audit_book

        limit = int(getattr(audit_book, "MAX_TRANSCRIPT_SESSIONS", _DEFAULT_TRANSCRIPTS))
        ordered = audit_book.worst_sessions(flagged, limit)
    except (ImportError, AttributeError):
        limit = _DEFAULT_TRANSCRIPTS
        ordered = flagged.sort_values(["score", "findings", "session_id"], ascending=[True, False, True], kind="stable")
    return ordered["session_id"].head(limit).astype("str").tolist()
