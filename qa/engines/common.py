"""What the cluster engines share: plain pandas functions, no Spark or Dask imports.

An engine (:mod:`qa.engines.spark`, :mod:`qa.engines.dask`) moves rows; everything that
decides a result happens here, in the same code the in-process path runs:

1. **messages in**: rows of :data:`MESSAGE_FIELDS` — the message table of :mod:`qa.ingest`
   with the time as int64 nanoseconds (UTC; :data:`NAT` when missing), so no timestamp ever
   crosses the Python/JVM boundary as a timestamp (no session-timezone or precision trap),
   plus the input order (the last sort key) and a ``kind`` column that lets rejected rows
   and note counts of Parquet inputs ride along (:func:`interpret_cells`).
2. **audit**: :func:`audit_rows` takes a frame holding WHOLE sessions (any row order, any
   number of sessions) and runs :func:`qa.audit.partition.audit_partition` on it (the core
   contract: normalize, checks, findings, session scores). It returns rows of
   :data:`ROW_FIELDS`: one per finding (kind ``f``), suppressed finding (``x``), session
   (``s``), part of a transferred session (``p``: one per agent taking part, as a session
   row), credit for good practice (``c``: a finding row with the credit id as rule and no
   severity), rejected input row (``r``) and note count (``n``). Findings carry the message's
   position within its session, not a global id: that needs every session (step 4).
   :func:`session_batches` is the adapter for engines that deliver a sorted partition in
   batches (Spark): a session cut at a batch boundary is carried into the next batch.
3. **scorecards**: :func:`agent_rows` scores one agent's session and part rows
   (:func:`qa.score.score_agents`); engines run it per agent (a groupBy).
4. **assemble** (driver): :func:`assemble_rows` turns the collected rows into one
   partition's result with global message ids (:func:`qa.audit.partition.global_ids`) and
   hands it to :func:`qa.audit.assemble.assemble`, as the in-process paths do; the message
   table is compact (:class:`qa.audit.compact.CompactMessages`) and holds the workbook's
   transcripts.

Every integer column is non-null (missing times are :data:`NAT`) because engines hand
nullable integers to pandas as float64, which cannot hold nanosecond times exactly.
"""

from __future__ import annotations

import json
import math
import uuid
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from qa.audit.assemble import assemble
from qa.audit.compact import CompactMessages, transcript_sessions
from qa.audit.partition import PartitionResult, audit_partition, empty_partition, session_offsets, sort_messages
from qa.checks.base import CheckContext
from qa.classes import builtin_classes, classes_of, mark_auto_replies
from qa.errors import QAError
from qa.identity import finding_ids
from qa.ingest import ORDER_COLUMN
from qa.model import FINDING_REPORT_COLUMNS, MESSAGE_COLUMNS, REJECTED_COLUMNS, AuditResult, IngestResult, naive_times
from qa.normalize import add_norm_column
from qa.score import AGENT_COLUMNS, SESSION_COLUMNS, Scoring, score_agents

#: Missing time (NaT) as int64 nanoseconds.
NAT = np.iinfo(np.int64).min

#: Messages handed to the audit: (name, kind) with kind one of str, int, float, bool.
MESSAGE_FIELDS: list[tuple[str, str]] = [
    ("kind", "str"),  # m: message; r: rejected input row; n: note count (Parquet inputs)
    ("session_id", "str"),
    ("text", "str"),  # r: the raw row
    ("role", "str"),
    ("ts_ns", "int"),  # UTC nanoseconds, NAT when missing
    ("seq", "float"),
    ("agent", "str"),
    ("source_file", "str"),
    ("source_row", "int"),  # n: the count
    ("source_sheet", "str"),
    ("input_order", "int"),
    ("reason", "str"),  # r: why it was rejected; n: which note (blank, seq)
]
MESSAGE_NAMES = [name for name, _ in MESSAGE_FIELDS]

#: What :func:`audit_rows` returns, one row per finding / suppressed finding / session /
#: rejected row / note count (``kind`` f, x, s, r, n); columns that do not apply are "" or 0.
ROW_FIELDS: list[tuple[str, str]] = [
    ("kind", "str"),
    ("session_id", "str"),
    ("agent", "str"),
    ("file", "str"),
    ("sheet", "str"),
    ("row", "int"),
    ("text", "str"),
    ("reason", "str"),
    # findings (f) and suppressed findings (x)
    ("finding_id", "str"),
    ("rule", "str"),
    ("severity", "str"),
    ("time_local_ns", "int"),  # the report's naive local time
    ("time_ns", "int"),  # the same instant, UTC
    ("match", "str"),
    ("span_start", "int"),
    ("span_end", "int"),
    ("context_text", "str"),
    ("pos", "int"),  # position of the message in its session (canonical order)
    ("context_pos", "int"),  # -1 when none
    ("suppression", "str"),
    ("suppression_reason", "str"),
    # sessions (s)
    ("started_at_ns", "int"),
    ("messages", "int"),
    ("customer_messages", "int"),
    ("agent_messages", "int"),
    ("customer_runs", "int"),
    ("replied_runs", "int"),
    ("first_response_s", "float"),
    ("avg_response_s", "float"),
    ("longest_wait_s", "float"),
    ("findings", "int"),
    ("findings_by_rule", "str"),  # JSON object, in the rule order score_sessions gives
    ("points_deducted", "float"),
    ("veto", "bool"),
    ("score", "float"),
    ("credits", "int"),
    ("credits_by_id", "str"),  # JSON object, as score_sessions gives it
    ("bonus_points", "float"),
    ("agents", "str"),  # JSON array: the agents taking part, in order of their first message
    ("first_ns", "int"),  # earliest and latest time of the session (UTC), NAT when none
    ("last_ns", "int"),
    ("timed", "int"),  # messages with a time
]

#: Session columns the scorecards need, as they travel to :func:`agent_rows` (the session rows,
#: kind s, and the parts of the transferred sessions, kind p).
SESSION_ROW_NAMES = [
    "kind", "session_id", "agent", "file", "started_at_ns", "messages", "customer_messages", "agent_messages",
    "customer_runs", "replied_runs", "first_response_s", "avg_response_s", "longest_wait_s", "findings",
    "findings_by_rule", "points_deducted", "veto", "score", "credits", "credits_by_id", "bonus_points", "agents",
]

#: One row per agent from :func:`agent_rows` (AGENT_COLUMNS; dicts as JSON objects).
AGENT_FIELDS: list[tuple[str, str]] = [
    ("agent", "str"),
    ("score", "float"),
    ("sessions", "int"),
    ("messages", "int"),
    ("customer_messages", "int"),
    ("first_response_median_s", "float"),
    ("first_response_mean_s", "float"),
    ("avg_response_s", "float"),
    ("reply_rate", "float"),
    ("qa_ratio", "float"),
    ("findings", "int"),
    ("findings_per_100_sessions", "float"),
    ("findings_by_rule", "str"),
    ("per_100_sessions_by_rule", "str"),
    ("vetoes", "int"),
    ("credits", "str"),  # JSON object
]
assert [name for name, _ in AGENT_FIELDS] == AGENT_COLUMNS

#: Rows handed to the audit per call when an engine delivers batches: each call has a fixed
#: cost (~0.1 s of rule setup), so calls of many sessions, never one call per session.
ROWS_PER_CALL = 100_000

_NULL_OF_KIND = {"str": "", "int": 0, "float": np.nan, "bool": False}


@dataclass
class AuditSetup:
    """Everything a worker needs to audit rows; pickled once per task."""

    rules: list
    context: CheckContext
    scoring: Scoring
    suppressions: Any = None
    rows_per_call: int = ROWS_PER_CALL
    credits: Any = None  # list[qa.credits.Credit]; None = the built-in ones
    # Dask names every task after its arguments' tokens; tokenizing the rules walks thousands of
    # compiled patterns (3-30 s per graph), so a setup is named when it is made (and by its context,
    # which the engines settle after reading).
    token: str = field(default_factory=lambda: uuid.uuid4().hex, repr=False, compare=False)

    def __dask_tokenize__(self) -> tuple:
        return (self.token, repr(self.context), self.rows_per_call)

    def credit_ids(self) -> list[str]:
        """The enabled credits' ids (every agent gets a count for each)."""
        from qa.credits import builtin_credits

        return [c.id for c in (self.credits if self.credits is not None else builtin_credits()) if c.enabled]

    @property
    def timezone(self) -> str:
        """The audit's timezone."""
        return self.context.timezone


def make_setup(options, rules, rows_per_call: int = ROWS_PER_CALL) -> AuditSetup:
    """The setup of an audit with ``options`` (qa.audit.run.AuditOptions): the rules (loaded
    from ``options.rule_paths`` unless given), the scoring in effect, the suppressions.
    ``context.has_timestamps`` is decided later, from the input (:func:`with_times`)."""
    from qa.audit.run import scoring_file
    from qa.credits import load_credits
    from qa.rules import load_rules
    from qa.score import load_scoring

    rules = rules if rules is not None else load_rules(list(options.rule_paths))
    context = CheckContext(lang=options.lang, has_timestamps=True, timezone=options.timezone)
    return AuditSetup(rules, context, load_scoring(scoring_file(options.rule_paths)),
                      options.suppressions or None, rows_per_call, load_credits(list(options.rule_paths)))


def with_times(context: CheckContext, has_timestamps: bool) -> CheckContext:
    """``context`` saying whether the audit has times (all inputs, not one partition)."""
    return CheckContext(lang=context.lang, has_timestamps=bool(has_timestamps), timezone=context.timezone)


# --------------------------------------------------------------------------- frames


def empty_frame(fields: Sequence[tuple[str, str]]) -> pd.DataFrame:
    """A frame with no rows and the columns of ``fields`` in their engine dtypes."""
    return conform(pd.DataFrame({name: [] for name, _ in fields}), fields)


def conform(frame: pd.DataFrame, fields: Sequence[tuple[str, str]]) -> pd.DataFrame:
    """``frame`` with exactly the columns of ``fields`` (missing ones filled with "", 0,
    NaN or False) in engine dtypes: strings as object (pandas' str columns do not
    serialize through every Arrow bridge), int64, float64, bool."""
    n = len(frame)
    columns = {}
    for name, kind in fields:
        if name in frame:
            values = frame[name]
        else:
            values = pd.Series([_NULL_OF_KIND[kind]] * n, index=frame.index, dtype=object)
        if kind == "str":
            array = values.astype(object).to_numpy(dtype=object, copy=True)
            array[pd.isna(array)] = ""
            # An explicit object Series: pandas 3 would infer its str dtype from a bare array.
            columns[name] = pd.Series(array, dtype=object, copy=False)
        elif kind == "int":
            if values.dtype.kind == "f" or values.dtype == object:
                values = values.fillna(0)
            columns[name] = pd.Series(values.to_numpy(dtype=np.int64), copy=False)
        elif kind == "float":
            columns[name] = pd.Series(values.to_numpy(dtype=np.float64, na_value=np.nan), copy=False)
        else:
            columns[name] = pd.Series(values.fillna(False).to_numpy(dtype=bool), copy=False)
    return pd.DataFrame(columns).set_axis(pd.RangeIndex(n))


def _str(values) -> pd.Series:
    """pandas' str column of ``values`` (no copy when they already are one)."""
    if isinstance(values, pd.Series):
        if values.dtype == "str":
            return values.reset_index(drop=True)
        return values.astype(object).where(values.notna(), "").astype("str").reset_index(drop=True)
    return pd.Series(np.asarray(values, dtype=object), dtype="str")


def to_messages(frame: pd.DataFrame, timezone: str) -> pd.DataFrame:
    """Rows of :data:`MESSAGE_FIELDS` (kind m) as ingest's message table: MESSAGE_COLUMNS
    plus :data:`qa.ingest.ORDER_COLUMN`, with ingest's exact dtypes."""
    ns = frame["ts_ns"].to_numpy(dtype=np.int64)
    return pd.DataFrame(
        {
            "session_id": _str(frame["session_id"]),
            "text": _str(frame["text"]),
            "role": _str(frame["role"]),
            "timestamp": pd.DatetimeIndex(ns.view("datetime64[ns]")).tz_localize("UTC").tz_convert(timezone),
            "seq": frame["seq"].to_numpy(dtype=np.float64, na_value=np.nan),
            "agent": _str(frame["agent"]),
            "source_file": _str(frame["source_file"]),
            "source_row": frame["source_row"].to_numpy(dtype=np.int64),
            "source_sheet": _str(frame["source_sheet"]),
            ORDER_COLUMN: frame["input_order"].to_numpy(dtype=np.int64),
        }
    )


def message_rows(messages: pd.DataFrame) -> pd.DataFrame:
    """Ingest's message table (MESSAGE_COLUMNS + ORDER_COLUMN, tz-aware times) as rows of
    :data:`MESSAGE_FIELDS` (kind m)."""
    return conform(
        pd.DataFrame(
            {
                "kind": np.full(len(messages), "m", dtype=object),
                "session_id": messages["session_id"].to_numpy(dtype=object),
                "text": messages["text"].to_numpy(dtype=object),
                "role": messages["role"].to_numpy(dtype=object),
                "ts_ns": utc_ns(messages["timestamp"]),
                "seq": messages["seq"].to_numpy(dtype=np.float64),
                "agent": messages["agent"].to_numpy(dtype=object),
                "source_file": messages["source_file"].to_numpy(dtype=object),
                "source_row": messages["source_row"].to_numpy(dtype=np.int64),
                "source_sheet": messages["source_sheet"].to_numpy(dtype=object),
                "input_order": messages[ORDER_COLUMN].to_numpy(dtype=np.int64),
            }
        ),
        MESSAGE_FIELDS,
    )


def message_table(messages: pd.DataFrame):
    """:func:`message_rows` as an Arrow table straight from ingest's Arrow-backed columns
    (no Python strings): what exports are staged as."""
    import pyarrow as pa

    n = len(messages)
    columns = {
        "kind": pa.DictionaryArray.from_arrays(pa.array(np.zeros(n, dtype=np.int32)), pa.array(["m"])).cast(pa.string()),
        "session_id": messages["session_id"],
        "text": messages["text"],
        "role": messages["role"],
        "ts_ns": utc_ns(messages["timestamp"]),
        "seq": messages["seq"].to_numpy(dtype=np.float64),
        "agent": messages["agent"],
        "source_file": messages["source_file"],
        "source_row": messages["source_row"].to_numpy(dtype=np.int64),
        "source_sheet": messages["source_sheet"],
        "input_order": messages[ORDER_COLUMN].to_numpy(dtype=np.int64),
        "reason": pa.nulls(n, pa.string()),
    }
    kinds = {"str": pa.string(), "int": pa.int64(), "float": pa.float64(), "bool": pa.bool_()}
    arrays = [pa.array(columns[name], type=kinds[kind]) if not isinstance(columns[name], pa.Array)
              else columns[name] for name, kind in MESSAGE_FIELDS]
    return pa.Table.from_arrays(arrays, names=MESSAGE_NAMES)


def utc_ns(timestamps: pd.Series) -> np.ndarray:
    """int64 UTC nanoseconds of tz-aware (or naive UTC) times, :data:`NAT` for NaT."""
    return naive_times(timestamps, "UTC").to_numpy(dtype="datetime64[ns]").view(np.int64)


def _naive_ns(values: pd.Series | np.ndarray) -> np.ndarray:
    """int64 nanoseconds of naive times (NaT -> NAT); all-missing object columns too."""
    series = pd.Series(values)
    if series.dtype == object:
        series = pd.to_datetime(series)
    return naive_times(series).to_numpy(dtype="datetime64[ns]").view(np.int64)


# --------------------------------------------------------------------------- the audit step


def session_batches(batches: Iterable[pd.DataFrame], rows: int = ROWS_PER_CALL) -> Iterator[pd.DataFrame]:
    """Frames of whole sessions from batches of a partition sorted by session id.

    Batches are gathered until they hold ``rows`` rows; the trailing session (the run of the
    last row's session id) is cut off and carried into the next frame, because the next
    batch may continue it. A session longer than ``rows`` keeps gathering until it ends.
    """
    pending: list[pd.DataFrame] = []
    count = 0
    for batch in batches:
        if not len(batch):
            continue
        pending.append(batch)
        count += len(batch)
        if count < rows:
            continue
        frame = pd.concat(pending, ignore_index=True) if len(pending) > 1 else pending[0].reset_index(drop=True)
        ids = frame["session_id"].to_numpy(dtype=object)
        others = np.flatnonzero(ids != ids[-1])
        cut = int(others[-1]) + 1 if len(others) else 0
        if cut == 0:  # one session so far: it may go on
            pending, count = [frame], len(frame)
            continue
        yield frame.iloc[:cut]
        rest = frame.iloc[cut:].reset_index(drop=True)
        pending, count = [rest], len(rest)
    if pending:
        yield pd.concat(pending, ignore_index=True) if len(pending) > 1 else pending[0].reset_index(drop=True)


def audit_batches(batches: Iterable[pd.DataFrame], setup: AuditSetup) -> Iterator[pd.DataFrame]:
    """:func:`audit_rows` over :func:`session_batches` (the Spark ``mapInPandas`` body)."""
    for frame in session_batches(batches, setup.rows_per_call):
        yield audit_rows(frame, setup)


def audit_rows(frame: pd.DataFrame, setup: AuditSetup) -> pd.DataFrame:
    """Audit a frame of :data:`MESSAGE_FIELDS` rows holding WHOLE sessions (any order):
    rows of :data:`ROW_FIELDS` (findings, suppressed findings, sessions), plus the
    rejected rows and note counts that rode along."""
    kind = frame["kind"].to_numpy(dtype=object)
    is_message = kind == "m"
    out: list[pd.DataFrame] = []
    if not is_message.all():
        out.append(_passed_rows(frame[~is_message]))
    if is_message.any():
        messages = to_messages(frame[is_message] if not is_message.all() else frame, setup.timezone)
        out.extend(_audit_messages(messages, setup))
    if not out:
        return empty_frame(ROW_FIELDS)
    # Each part is conformed before the concatenation: a column one part lacks would make
    # the other part's int64 nanoseconds float64 (inexact).
    parts = [conform(part, ROW_FIELDS) for part in out]
    return pd.concat(parts, ignore_index=True) if len(parts) > 1 else parts[0]


def _passed_rows(frame: pd.DataFrame) -> pd.DataFrame:
    """Rejected rows (r) and note counts (n) as output rows."""
    return pd.DataFrame(
        {
            "kind": frame["kind"].to_numpy(dtype=object),
            "session_id": frame["session_id"].to_numpy(dtype=object),
            "file": frame["source_file"].to_numpy(dtype=object),
            "row": frame["source_row"].to_numpy(dtype=np.int64),
            "text": frame["text"].to_numpy(dtype=object),
            "reason": frame["reason"].to_numpy(dtype=object),
        }
    )


def _audit_messages(messages: pd.DataFrame, setup: AuditSetup) -> list[pd.DataFrame]:
    extra = {"suppressions": setup.suppressions} if setup.suppressions is not None else {}
    if getattr(setup, "credits", None) is not None:
        extra["credits"] = setup.credits
    result = audit_partition(messages, setup.rules, setup.context, scoring=setup.scoring, keep_messages=True, **extra)
    table = result.messages  # sorted canonically, RangeIndex: findings' msg indexes it
    ids = table["session_id"].to_numpy(dtype=object)
    n = len(ids)
    starts = np.flatnonzero(np.r_[True, ids[1:] != ids[:-1]])
    start_of_row = np.repeat(starts, np.diff(np.r_[starts, n]))
    instants = utc_ns(table["timestamp"])

    rows = [_finding_rows(result.findings, "f", start_of_row, instants)]
    suppressed = getattr(result, "suppressed", None)
    if suppressed is not None and len(suppressed):
        rows.append(_finding_rows(suppressed, "x", start_of_row, instants))
    credits = getattr(result, "credits", None)
    if credits is not None and len(credits):
        as_findings = credits.rename(columns={"credit": "rule"}).assign(severity="")
        rows.append(_finding_rows(as_findings, "c", start_of_row, instants))
    rows.append(_session_rows(result.sessions, ids, starts, instants))
    parts = getattr(result, "parts", None)
    if parts is not None and len(parts):
        rows.append(_session_rows(parts, ids, starts, instants, kind="p"))
    return [r for r in rows if len(r)]


def _finding_rows(findings: pd.DataFrame, kind: str, start_of_row: np.ndarray, instants: np.ndarray) -> pd.DataFrame:
    if not len(findings):
        return pd.DataFrame()
    msg = findings["msg"].to_numpy(dtype=np.int64)
    context = findings["context_msg"].to_numpy(dtype=np.int64)
    has_context = context >= 0
    context_pos = np.full(len(context), -1, dtype=np.int64)
    context_pos[has_context] = context[has_context] - start_of_row[context[has_context]]
    rows = pd.DataFrame(
        {
            "kind": kind,
            "session_id": findings["session_id"].to_numpy(dtype=object),
            "agent": findings["agent"].to_numpy(dtype=object),
            "file": findings["file"].to_numpy(dtype=object),
            "sheet": findings["sheet"].to_numpy(dtype=object),
            "row": findings["row"].to_numpy(dtype=np.int64),
            "text": findings["text"].to_numpy(dtype=object),
            "reason": findings["reason"].to_numpy(dtype=object),
            "finding_id": np.asarray(finding_ids(findings), dtype=object) if kind != "c" else "",
            "rule": findings["rule"].to_numpy(dtype=object),
            "severity": findings["severity"].to_numpy(dtype=object),
            "time_local_ns": _naive_ns(findings["timestamp"]),
            "time_ns": instants[msg],
            "match": findings["match"].to_numpy(dtype=object),
            "span_start": findings["span_start"].to_numpy(dtype=np.int64),
            "span_end": findings["span_end"].to_numpy(dtype=np.int64),
            "context_text": findings["context_text"].to_numpy(dtype=object),
            "pos": msg - start_of_row[msg],
            "context_pos": context_pos,
        }
    )
    if kind == "x":
        rows["suppression"] = findings["suppression"].to_numpy(dtype=object)
        rows["suppression_reason"] = findings["suppression_reason"].to_numpy(dtype=object)
    return rows


def _session_rows(sessions: pd.DataFrame, ids: np.ndarray, starts: np.ndarray, instants: np.ndarray,
                  kind: str = "s") -> pd.DataFrame:
    if not len(sessions):
        return pd.DataFrame()
    timed = instants != NAT
    # Canonical order puts each session's times first, ascending: its earliest time is its
    # first row, its latest the last timed row.
    lengths = np.diff(np.r_[starts, len(ids)])
    timed_count = np.add.reduceat(timed.astype(np.int64), starts) if len(starts) else np.zeros(0, np.int64)
    first = np.where(timed_count > 0, instants[starts], NAT)
    last = np.where(timed_count > 0, instants[starts + np.maximum(timed_count, 1) - 1], NAT)
    extremes = pd.DataFrame({"first_ns": first, "last_ns": last, "timed": timed_count, "n": lengths},
                            index=pd.Index(ids[starts], dtype=object))
    extremes = extremes.reindex(sessions["session_id"].to_numpy(dtype=object))
    as_json = ("findings_by_rule", "credits_by_id", "agents")
    rows = pd.DataFrame({name: sessions[name].to_numpy() for name in SESSION_COLUMNS if name not in as_json})
    rows["kind"] = kind
    rows["credits_by_id"] = [json.dumps(d, ensure_ascii=False) for d in sessions["credits_by_id"].tolist()]
    rows["agents"] = [json.dumps(list(a), ensure_ascii=False) for a in sessions["agents"].tolist()]
    rows["started_at_ns"] = _naive_ns(sessions["started_at"])
    rows["findings_by_rule"] = [json.dumps(d, ensure_ascii=False) for d in sessions["findings_by_rule"].tolist()]
    rows["first_ns"] = extremes["first_ns"].to_numpy(dtype=np.int64)
    rows["last_ns"] = extremes["last_ns"].to_numpy(dtype=np.int64)
    rows["timed"] = extremes["timed"].to_numpy(dtype=np.int64)
    return rows.drop(columns=["started_at"])


# --------------------------------------------------------------------------- scorecards


def agent_rows(sessions: pd.DataFrame, rule_ids: Sequence[str], credit_ids: Sequence[str] | None = None) -> pd.DataFrame:
    """Score the agents of a frame of session and part rows (SESSION_ROW_NAMES, kinds s and p;
    one agent or more, each agent's rows all in the frame): rows of :data:`AGENT_FIELDS`.
    Sessions are put in id order first, as the in-process path has them, so sums and means add
    up in the same order (identical floats). A transferred session counts by its parts: its
    session row is in the frame only with its responsible agent's part, which replaces it."""
    if not len(sessions):
        return empty_frame(AGENT_FIELDS)
    is_part = sessions["kind"].to_numpy(dtype=object) == "p"
    table = sessions_frame(sessions[~is_part])
    parts = parts_frame(sessions[is_part]) if is_part.any() else None
    if credit_ids is None:
        from qa.credits import builtin_credits

        credit_ids = [c.id for c in builtin_credits() if c.enabled]
    agents = score_agents(table, rule_ids=list(rule_ids), credit_ids=list(credit_ids), parts=parts)
    rows = agents.drop(columns=["findings_by_rule", "per_100_sessions_by_rule", "credits"])
    rows["credits"] = [json.dumps(d, ensure_ascii=False) for d in agents["credits"].tolist()]
    rows["findings_by_rule"] = [json.dumps(d, ensure_ascii=False) for d in agents["findings_by_rule"].tolist()]
    rows["per_100_sessions_by_rule"] = [
        json.dumps(d, ensure_ascii=False) for d in agents["per_100_sessions_by_rule"].tolist()
    ]
    return conform(rows, AGENT_FIELDS)


def sessions_frame(rows: pd.DataFrame) -> pd.DataFrame:
    """Session rows back as ``result.sessions`` (SESSION_COLUMNS, in-process dtypes), sorted
    by session id."""
    frame = pd.DataFrame(
        {
            "session_id": _str(rows["session_id"]),
            "agent": _str(rows["agent"]),
            "started_at": rows["started_at_ns"].to_numpy(dtype=np.int64).view("datetime64[ns]"),
            "file": _str(rows["file"]),
            **{name: rows[name].to_numpy(dtype=np.int64) for name in
               ("messages", "customer_messages", "agent_messages", "customer_runs", "replied_runs")},
            **{name: rows[name].to_numpy(dtype=np.float64, na_value=np.nan) for name in
               ("first_response_s", "avg_response_s", "longest_wait_s")},
            "findings": rows["findings"].to_numpy(dtype=np.int64),
            "findings_by_rule": [json.loads(value) for value in rows["findings_by_rule"].tolist()],
            "points_deducted": rows["points_deducted"].to_numpy(dtype=np.float64),
            "veto": rows["veto"].to_numpy(dtype=bool),
            "score": rows["score"].to_numpy(dtype=np.float64),
            "credits": rows["credits"].to_numpy(dtype=np.int64),
            "credits_by_id": [json.loads(value) for value in rows["credits_by_id"].tolist()],
            "bonus_points": rows["bonus_points"].to_numpy(dtype=np.float64),
            "agents": [json.loads(value) for value in rows["agents"].tolist()],
        }
    )
    return frame.sort_values("session_id", kind="stable").reset_index(drop=True)[SESSION_COLUMNS]


def parts_frame(rows: pd.DataFrame) -> pd.DataFrame:
    """Part rows (kind p) back as ``result.parts``: as :func:`sessions_frame`, a session's parts
    in the order of its agents."""
    frame = sessions_frame(rows)
    if not len(frame):
        return frame
    rank = [agents.index(agent) if agent in agents else len(agents)
            for agent, agents in zip(frame["agent"].tolist(), frame["agents"].tolist())]
    keys = frame[["session_id"]].assign(_rank=rank)
    order = keys.sort_values(["session_id", "_rank"], kind="stable").index.to_numpy()
    return frame.take(order).reset_index(drop=True)


def agents_frame(rows: pd.DataFrame) -> pd.DataFrame:
    """Agent rows (from :func:`agent_rows`, any order) as ``result.agents``: AGENT_COLUMNS in
    the in-process dtypes and order (worst first)."""
    if not len(rows):
        return pd.DataFrame({column: pd.Series([], dtype="object") for column in AGENT_COLUMNS})
    frame = pd.DataFrame(
        {
            name: (
                _str(rows[name]) if kind == "str" and not (name.endswith("by_rule") or name == "credits")
                else [json.loads(v) for v in rows[name].tolist()] if kind == "str"
                else rows[name].to_numpy(dtype=np.int64) if kind == "int"
                else rows[name].to_numpy(dtype=np.float64, na_value=np.nan)
            )
            for name, kind in AGENT_FIELDS
        }
    )
    # score_agents: agents in id order, then a stable sort worst first.
    frame = frame.sort_values("agent", kind="stable").reset_index(drop=True)
    return frame.sort_values(
        ["score", "vetoes", "findings_per_100_sessions", "agent"], ascending=[True, False, False, True], kind="stable"
    ).reset_index(drop=True)[AGENT_COLUMNS]


# --------------------------------------------------------------------------- the driver


@dataclass
class Accounting:
    """What the driver knows about the input besides the audited rows."""

    input_rows: int
    files: list[str]
    rejected: pd.DataFrame  # REJECTED_COLUMNS (raw kept for the workbook)
    has_timestamps: bool
    notes: list[str] = field(default_factory=list)
    refused: list[tuple[str, str]] = field(default_factory=list)  # inputs not read (qa.model.IngestResult)


def rows_of(rows: pd.DataFrame, kind: str) -> pd.DataFrame:
    """The collected rows of one ``kind`` (findings, sessions …), renumbered."""
    selected = rows[rows["kind"].to_numpy(dtype=object) == kind]
    return selected.reset_index(drop=True)


def offsets_of(sessions: pd.DataFrame) -> pd.Series:
    """Global id of each session's first message (:func:`qa.audit.partition.session_offsets`)
    from session rows."""
    return session_offsets(pd.Series(sessions["messages"].to_numpy(dtype=np.int64),
                                     index=pd.Index(sessions["session_id"].to_numpy(dtype=object), dtype="str")))


def findings_frame(rows: pd.DataFrame, offsets: pd.Series, *, suppressed: bool = False) -> pd.DataFrame:
    """Finding rows as ``result.findings`` (FINDING_REPORT_COLUMNS, global ids, (msg, rule)
    order); with ``suppressed`` the suppression columns too."""
    columns = FINDING_REPORT_COLUMNS + (["suppression", "suppression_reason"] if suppressed else [])
    if not len(rows):
        return pd.DataFrame({column: pd.Series([], dtype="object") for column in columns})
    first = offsets.reindex(pd.Index(rows["session_id"].to_numpy(dtype=object), dtype="str")).to_numpy(dtype=np.int64)
    msg = first + rows["pos"].to_numpy(dtype=np.int64)
    context_pos = rows["context_pos"].to_numpy(dtype=np.int64)
    context = np.where(context_pos >= 0, first + context_pos, -1)
    frame = pd.DataFrame(
        {
            "rule": _str(rows["rule"]),
            "severity": _str(rows["severity"]),
            "session_id": _str(rows["session_id"]),
            "agent": _str(rows["agent"]),
            "timestamp": rows["time_local_ns"].to_numpy(dtype=np.int64).view("datetime64[ns]"),
            "file": _str(rows["file"]),
            "sheet": _str(rows["sheet"]),
            "row": rows["row"].to_numpy(dtype=np.int64),
            "text": _str(rows["text"]),
            "match": _str(rows["match"]),
            "span_start": rows["span_start"].to_numpy(dtype=np.int64),
            "span_end": rows["span_end"].to_numpy(dtype=np.int64),
            "reason": _str(rows["reason"]),
            "context_text": _str(rows["context_text"]),
            "msg": msg,
            "context_msg": context.astype(np.int64),
        }
    )
    if suppressed:
        frame["suppression"] = _str(rows["suppression"])
        frame["suppression_reason"] = _str(rows["suppression_reason"])
    return frame.sort_values(["msg", "rule"], kind="stable").reset_index(drop=True)[columns]


def credits_frame(rows: pd.DataFrame, offsets: pd.Series) -> pd.DataFrame:
    """Credit rows (kind c) as ``result.credits`` (qa.credits.CREDIT_REPORT_COLUMNS, global
    ids, (msg, credit) order): they travel as finding rows."""
    from qa.credits import CREDIT_REPORT_COLUMNS

    if not len(rows):
        return pd.DataFrame({column: pd.Series([], dtype="object") for column in CREDIT_REPORT_COLUMNS})
    frame = findings_frame(rows, offsets).rename(columns={"rule": "credit"})
    return frame.sort_values(["msg", "credit"], kind="stable").reset_index(drop=True)[CREDIT_REPORT_COLUMNS]


def rejected_frame(rows: pd.DataFrame, file_order: Sequence[str]) -> pd.DataFrame:
    """Rejected rows (kind r) as ``ingest.rejected``, by file (input order) then row."""
    rank = {name: i for i, name in enumerate(file_order)}
    frame = pd.DataFrame(
        {
            "file": _str(rows["file"]),
            "row": rows["row"].to_numpy(dtype=np.int64),
            "reason": _str(rows["reason"]),
            "raw": _str(rows["text"]),
        },
        columns=REJECTED_COLUMNS,
    )
    order = np.lexsort((frame["row"].to_numpy(), frame["file"].map(lambda f: rank.get(f, len(rank))).to_numpy()))
    return frame.iloc[order].reset_index(drop=True)


def audit_nothing(rules: list, context: CheckContext, scoring: Scoring) -> PartitionResult:
    """The core contract on no messages: the rules the audit skips (disabled, or needing
    times the input lacks), decided as the checks decide them, and the empty tables of an
    audit without messages."""
    return audit_partition(empty_partition(context.timezone), rules, context, scoring=scoring)


def assemble_rows(
    rows: pd.DataFrame,
    agents: pd.DataFrame,
    transcripts: pd.DataFrame,
    accounting: Accounting,
    *,
    setup: AuditSetup,
    options,
    inputs: Sequence[str],
) -> AuditResult:
    """The :class:`AuditResult` of collected rows (:data:`ROW_FIELDS`), the agent rows of the
    scorecard groupBy, and the messages of the transcript sessions (ingest's table, from
    :func:`to_messages`): the rows become one partition's result for
    :func:`qa.audit.assemble.assemble`, as every path's partitions do."""
    context = setup.context
    session_rows = rows_of(rows, "s")
    timed = session_rows[session_rows["timed"].to_numpy(dtype=np.int64) > 0]
    if context.has_timestamps != bool(len(timed)):  # e.g. every timed row was rejected
        context = with_times(context, bool(len(timed)))
    nothing = audit_nothing(setup.rules, context, setup.scoring)
    sessions = sessions_frame(session_rows) if len(session_rows) else nothing.sessions
    offsets = offsets_of(sessions)
    part_rows = rows_of(rows, "p")
    part = PartitionResult(
        findings=findings_frame(rows_of(rows, "f"), offsets),
        sessions=sessions,
        parts=parts_frame(part_rows) if len(part_rows) else None,
        skipped=nothing.skipped,
        suppressed=findings_frame(rows_of(rows, "x"), offsets, suppressed=True) if setup.suppressions else None,
        credits=credits_frame(rows_of(rows, "c"), offsets),
    )
    total = int(sessions["messages"].sum()) if len(sessions) else 0

    # The messages stayed on the cluster: the table holds the transcripts and, so the
    # period is right, the times of the earliest and the latest message.
    compact = CompactMessages(total, setup.timezone)
    if len(timed):
        start = offsets.reindex(pd.Index(timed["session_id"].to_numpy(dtype=object), dtype="str")).to_numpy(np.int64)
        first, last = timed["first_ns"].to_numpy(np.int64), timed["last_ns"].to_numpy(np.int64)
        i, j = int(np.argmin(first)), int(np.argmax(last))
        compact.set_times([(int(start[i]), int(first[i])),
                           (int(start[j] + timed["timed"].to_numpy(np.int64)[j] - 1), int(last[j]))])
    chosen: list[str] = []
    if len(transcripts):
        table = add_norm_column(sort_messages(transcripts)[MESSAGE_COLUMNS])
        # The transcripts show auto-replies as system messages, as the audit judged them.
        table = mark_auto_replies(table, classes_of(setup.rules[0]) if setup.rules else builtin_classes())
        chosen = table["session_id"].astype("str").unique().tolist()
        compact.add(table, offsets)
        compact.keep_texts(table, chosen, offsets)

    ingest = IngestResult(
        messages=compact.frame(chosen),
        rejected=accounting.rejected,
        input_rows=accounting.input_rows,
        files=list(accounting.files),
        has_timestamps=accounting.has_timestamps,
        notes=list(accounting.notes),
        refused=list(accounting.refused),
    )
    return assemble(
        [part], ingest, rules=setup.rules,
        credit_defs=list(setup.credits) if getattr(setup, "credits", None) is not None else [],
        scoring=setup.scoring, timezone=setup.timezone, inputs=inputs, rule_paths=options.rule_paths,
        suppressions=setup.suppressions, agents=agents,
    )


def chosen_sessions(rows: pd.DataFrame) -> list[str]:
    """The sessions whose messages the workbook may show as transcripts."""
    return transcript_sessions(sessions_frame(rows_of(rows, "s")))


def default_partitions(messages: int, minimum: int = 1) -> int:
    """Session partitions for ``messages`` rows: one per :data:`ROWS_PER_CALL` x 2."""
    return max(minimum, math.ceil(messages / (2 * ROWS_PER_CALL)))


# --------------------------------------------------------------------------- outcome, Parquet findings

def collects_results(expected: int, collect_limit: int, findings_parquet: Any) -> bool:
    """Whether an engine collects the results of ``expected`` messages into the workbook and
    JSON (at most ``collect_limit``); above it the findings must go to ``findings_parquet``,
    and without one the audit is refused before it runs."""
    if expected <= collect_limit:
        return True
    if not findings_parquet:
        raise QAError(f"{expected:,} messages are more than the workbook and JSON hold ({collect_limit:,}); "
                      "give --findings-parquet PATH to keep the findings")
    return False

#: Columns of ``--findings-parquet`` (every engine writes the same): the report's finding
#: columns, with the time as an instant (UTC) and the message's position in its session
#: (``position``; ``context_position``: the customer message it relates to, -1 when none).
FINDINGS_PARQUET_FIELDS: list[tuple[str, str]] = [
    ("id", "str"), ("rule", "str"), ("severity", "str"), ("session_id", "str"), ("agent", "str"),
    ("timestamp", "time"), ("file", "str"), ("sheet", "str"), ("row", "int"), ("text", "str"),
    ("match", "str"), ("span_start", "int"), ("span_end", "int"), ("reason", "str"),
    ("context_text", "str"), ("position", "int"), ("context_position", "int"),
]


def findings_parquet_rows(rows: pd.DataFrame, mask: bool) -> pd.DataFrame:
    """Finding rows (kind f) as ``--findings-parquet`` rows; times stay int64 UTC ns (the
    engine turns them into its timestamp type). With ``mask``, texts are masked as in
    every other output (:func:`qa.mask.mask_findings`)."""
    from qa.mask import mask_findings

    masked = mask_findings(pd.DataFrame({
        name: pd.Series(rows[name].to_numpy(dtype=object), dtype=object)
        for name in ("text", "match", "reason", "context_text", "session_id", "agent", "span_start", "span_end",
                     "file", "sheet")
    }), mask)

    def text(name: str) -> np.ndarray:
        if not len(masked):
            return np.zeros(0, dtype=object)
        return masked[name].fillna("").astype("str").to_numpy(dtype=object)

    def kept_nulls(name: str) -> np.ndarray:
        """The masked column, its missing values left missing (a file's sheet is none)."""
        values = rows[name].to_numpy(dtype=object)
        if not mask or not len(masked):
            return values
        return np.where(pd.isna(values), values, text(name))

    return pd.DataFrame(
        {
            "id": rows["finding_id"].to_numpy(dtype=object),
            "rule": rows["rule"].to_numpy(dtype=object),
            "severity": rows["severity"].to_numpy(dtype=object),
            "session_id": text("session_id"),
            "agent": text("agent"),
            "timestamp": rows["time_ns"].to_numpy(dtype=np.int64),
            "file": kept_nulls("file"),
            "sheet": kept_nulls("sheet"),
            "row": rows["row"].to_numpy(dtype=np.int64),
            "text": text("text"),
            "match": text("match"),
            "span_start": rows["span_start"].to_numpy(dtype=np.int64),
            "span_end": rows["span_end"].to_numpy(dtype=np.int64),
            "reason": text("reason"),
            "context_text": text("context_text"),
            "position": rows["pos"].to_numpy(dtype=np.int64),
            "context_position": rows["context_pos"].to_numpy(dtype=np.int64),
        }
    )


def result_finding_rows(result: AuditResult) -> pd.DataFrame:
    """An in-process result's findings as finding rows (kind f), for ``--findings-parquet``
    with the pandas engine."""
    findings = result.findings
    if not len(findings):
        return empty_frame(ROW_FIELDS)
    offsets = offsets_of(result.sessions)
    first = offsets.reindex(pd.Index(findings["session_id"].to_numpy(dtype=object), dtype="str")).to_numpy(np.int64)
    msg = findings["msg"].to_numpy(dtype=np.int64)
    context = findings["context_msg"].to_numpy(dtype=np.int64)
    times = result.ingest.messages["timestamp"]
    instants = utc_ns(times.iloc[msg]) if len(times) else np.zeros(0, np.int64)
    return conform(
        pd.DataFrame(
            {
                "kind": "f",
                "finding_id": np.asarray(finding_ids(findings), dtype=object),
                **{name: findings[name].to_numpy(dtype=object) for name in
                   ("rule", "severity", "session_id", "agent", "file", "sheet", "text", "match", "reason", "context_text")},
                "row": findings["row"].to_numpy(dtype=np.int64),
                "span_start": findings["span_start"].to_numpy(dtype=np.int64),
                "span_end": findings["span_end"].to_numpy(dtype=np.int64),
                "time_ns": instants,
                "pos": msg - first,
                "context_pos": np.where(context >= 0, context - first, -1),
            }
        ),
        ROW_FIELDS,
    )


def write_findings_parquet(rows: pd.DataFrame, path, mask: bool) -> None:
    """Finding rows as one Parquet file (the pandas engine's ``--findings-parquet``)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    frame = findings_parquet_rows(rows, mask)
    ns = frame["timestamp"].to_numpy(dtype=np.int64)
    arrays = []
    for name, kind in FINDINGS_PARQUET_FIELDS:
        if kind == "time":
            values = pa.array(ns // 1000, type=pa.int64(), mask=ns == NAT).cast(pa.timestamp("us", tz="UTC"))
        elif kind == "int":
            values = pa.array(frame[name].to_numpy(dtype=np.int64), type=pa.int64())
        else:
            values = pa.array(frame[name].tolist(), type=pa.string())
        arrays.append(values)
    table = pa.Table.from_arrays(arrays, names=[name for name, _ in FINDINGS_PARQUET_FIELDS])
    from pathlib import Path

    from qa.report.files import atomic_write

    atomic_write(Path(path), lambda temporary: pq.write_table(table, temporary))


@dataclass
class EngineOutcome:
    """What an engine run gives the CLI: the usual result when it was collected, else the
    scorecards and counts (the findings are in the Parquet dataset)."""

    result: AuditResult | None
    agents: pd.DataFrame
    counts: dict[str, Any]
    findings_parquet: str | None = None

    def summary_lines(self) -> list[str]:
        """What the CLI prints when the result stayed on the cluster."""
        c = self.counts
        lines = [
            f"audited {c['messages']} of {c['input_rows']} rows ({c['rejected']} rejected) in {c['sessions']} sessions, "
            f"{len(self.agents)} agents",
            f"findings: {c['findings']}" + (
                " (" + ", ".join(f"{r} {n}" for r, n in sorted(c["by_rule"].items())) + ")" if c["findings"] else ""),
            f"not collected into a workbook or JSON: more than {c['collect_limit']:,} messages",
        ]
        if len(self.agents):
            lowest = self.agents.head(5)
            lines.append("lowest scores: " + ", ".join(f"{a.agent} {a.score:.1f}" for a in lowest.itertuples(index=False)))
        if self.findings_parquet:
            lines.append(f"wrote {self.findings_parquet}")
        return lines

    def findings_at_or_above(self, severity: str) -> int:
        """Findings at or above ``severity`` (for ``--fail-on`` when nothing was collected)."""
        from qa.model import Severity

        threshold = Severity(severity).rank
        return sum(n for s, n in self.counts.get("by_severity", {}).items() if Severity(s).rank >= threshold)
