"""The core contract: audit a frame of WHOLE sessions (one partition of an audit).

Every way of running an audit goes through :func:`audit_partition`: the in-memory path
(:mod:`qa.audit.run`, one partition holding everything), the out-of-core path
(:mod:`qa.audit.outofcore`, session partitions spilled to disk) and cluster engines. A frame
of whole sessions in any row order gives findings plus one row per session;
:func:`qa.audit.assemble.assemble` turns the partitions' results into the audit, so all
paths give identical results.

**Global message ids.** In the in-memory path a finding's ``msg`` is the row position in the
whole message table, which is sorted by session id first. Session ids sort the same way in
every partition, so the id of a message is known without the whole table: the number of
messages in the sessions whose id sorts before its session (:func:`session_offsets`) plus
its position within its session (:func:`global_ids`).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from qa.checks.base import CheckContext
from qa.checks.stage import report_findings, run_checks, session_agents
from qa.classes import builtin_classes, classes_of, mark_auto_replies
from qa.credits import Credit, builtin_credits, detect_credits, report_credits
from qa.ingest import ORDER_COLUMN
from qa.memory import release_memory
from qa.model import MESSAGE_COLUMNS, SkippedRule, empty_messages
from qa.normalize import add_norm_column
from qa.rules import Rule
from qa.score import SESSION_COLUMNS, Scoring, score_parts, score_sessions
from qa.suppress import Suppressions, apply_suppressions


@dataclass
class PartitionResult:
    """What :func:`audit_partition` returns for one frame of whole sessions."""

    findings: pd.DataFrame  # FINDING_REPORT_COLUMNS; msg/context_msg are GLOBAL ids when offsets given
    sessions: pd.DataFrame  # SESSION_COLUMNS, one row per session, sorted by session id
    skipped: list[SkippedRule] = field(default_factory=list)
    messages: pd.DataFrame | None = None  # the sorted partition table with norm, when kept
    suppressed: pd.DataFrame | None = None  # findings removed by suppression files, if any
    credits: pd.DataFrame | None = None  # qa.credits.CREDIT_REPORT_COLUMNS, global ids like findings
    # The parts of its transferred sessions (qa.score.score_parts: SESSION_COLUMNS, one row per
    # session and agent taking part), from which with the sessions the agents are scored.
    parts: pd.DataFrame | None = None


def sort_messages(frame: pd.DataFrame) -> pd.DataFrame:
    """Sort whole sessions into the canonical order of ingest (session, time, seq, input
    order) with a fresh RangeIndex; ``frame`` needs :data:`qa.ingest.ORDER_COLUMN`."""
    return frame.sort_values(
        ["session_id", "timestamp", "seq", ORDER_COLUMN], kind="stable", na_position="last"
    ).reset_index(drop=True)


def audit_partition(
    frame: pd.DataFrame,
    rules: list[Rule],
    context: CheckContext,
    *,
    session_offsets: pd.Series | None = None,
    scoring: Scoring | None = None,
    timings: dict[str, float] | None = None,
    keep_messages: bool = False,
    suppressions: Suppressions | None = None,
    credits: Sequence[Credit] | None = None,
    score: bool = True,
    prepared: bool = False,
) -> PartitionResult:
    """Audit a frame holding one or more WHOLE sessions (any row order): the core contract.

    ``frame`` has :data:`qa.model.MESSAGE_COLUMNS` and :data:`qa.ingest.ORDER_COLUMN` (the
    row's input position, the last sort key). ``context`` must describe the whole audit
    (``has_timestamps`` of all inputs, not of this frame); ``scoring`` is the scoring in
    effect (default: the built-in one). ``session_offsets`` maps each
    session id to the global id of its first message; with it, ``msg`` and ``context_msg``
    of the findings are global ids, otherwise ids into the sorted frame.

    ``credits`` are the credits for good practice in effect (default: the built-in ones);
    they are found on the same messages and carried like findings.

    Returns the report findings (sorted by msg, rule), one row per session
    (:data:`qa.score.SESSION_COLUMNS`) and the parts of the transferred sessions
    (:func:`qa.score.score_parts`), from which :func:`qa.audit.assemble.merge_partitions` makes
    the agent scorecards. Without ``score`` only the findings are worked out: no credits
    are looked for and the session table is empty (a rule's test cases need no more).

    With ``prepared`` the frame has been through :func:`prepare_partition` already (a contiguous
    run of sessions of a prepared table, with a fresh RangeIndex, will do) and is audited as it is.
    """
    timings = timings if timings is not None else {}
    if prepared:
        normalized = frame
    else:
        started = time.perf_counter()
        normalized = prepare_partition(frame, rules)
        _add_time(timings, "normalize", started)
    raw, skipped = run_checks(normalized, rules, context, local := {})
    release_memory()  # the rules' intermediate Arrow buffers and heap, before scoring builds its tables
    for stage, seconds in local.items():
        timings[stage] = timings.get(stage, 0.0) + seconds
    started = time.perf_counter()
    credit_defs = list(builtin_credits() if credits is None else credits) if score else []
    classes = classes_of(rules[0]) if rules else builtin_classes()
    raw_credits = detect_credits(normalized, credit_defs, context, classes)
    _add_time(timings, "credits", started)
    started = time.perf_counter()
    agents_by_session = session_agents(normalized)
    findings = report_findings(raw, normalized, agents_by_session, context.timezone)
    found_credits = report_credits(raw_credits, normalized, agents_by_session, context.timezone)
    findings, suppressed = apply_suppressions(findings, suppressions)  # before scoring
    if score:
        sessions = score_sessions(
            normalized, findings, agents_by_session, scoring=scoring, has_timestamps=context.has_timestamps,
            credits=found_credits,
        )
        parts = score_parts(normalized, findings, sessions, scoring=scoring, has_timestamps=context.has_timestamps,
                            credits=found_credits)
    else:
        sessions = pd.DataFrame(columns=SESSION_COLUMNS)
        parts = pd.DataFrame(columns=SESSION_COLUMNS)
    if session_offsets is not None:
        ids = global_ids(normalized["session_id"], session_offsets)
        findings = _to_global(findings, ids)
        suppressed = _to_global(suppressed, ids)
        found_credits = _to_global(found_credits, ids)
    _add_time(timings, "score", started)
    return PartitionResult(findings, sessions, skipped, normalized if keep_messages else None, suppressed,
                           found_credits, parts)


def prepare_partition(frame: pd.DataFrame, rules: list[Rule]) -> pd.DataFrame:
    """The first step of :func:`audit_partition`: ``frame`` sorted into the canonical order, with
    the normalized text (``norm``) and the auto-replies sent under an agent's name marked as
    system messages. It depends on each row alone, so a table prepared whole and then cut into
    sessions gives each part what preparing the part would."""
    normalized = add_norm_column(sort_messages(frame)[MESSAGE_COLUMNS])
    # Auto-replies sent under an agent's name (【自动回复】…) are system messages for every rule
    # and metric: they do not answer the customer.
    return mark_auto_replies(normalized, classes_of(rules[0]) if rules else builtin_classes())


def _to_global(findings: pd.DataFrame, global_ids: np.ndarray) -> pd.DataFrame:
    """Findings with ``msg`` and ``context_msg`` turned from partition ids into global ids."""
    if not len(findings):
        return findings
    findings = findings.copy()
    findings["msg"] = global_ids[findings["msg"].to_numpy(dtype=np.int64)]
    context_ids = findings["context_msg"].to_numpy(dtype=np.int64, copy=True)
    has_context = context_ids >= 0
    context_ids[has_context] = global_ids[context_ids[has_context]]
    findings["context_msg"] = context_ids
    return findings


def session_offsets(counts: pd.Series) -> pd.Series:
    """Global id of each session's first message, from the messages per session (``counts``,
    indexed by session id, any order): the messages of the sessions sorting before it."""
    if not len(counts):
        return pd.Series([], dtype="int64", index=pd.Index([], dtype="str"))
    # Sort ids exactly as ingest's sort_values does (same dtype, same algorithm).
    ids = pd.Series(counts.index.astype("str"), dtype="str")
    order = ids.sort_values(kind="stable").index.to_numpy()
    counts = counts.iloc[order]
    starts = np.concatenate([[0], np.cumsum(counts.to_numpy(dtype=np.int64))[:-1]])
    return pd.Series(starts, index=counts.index, dtype="int64")


def global_ids(session_ids: pd.Series, offsets: pd.Series) -> np.ndarray:
    """Global message id of each row of a sorted table of whole sessions (``offsets``:
    :func:`session_offsets`)."""
    values = session_ids.to_numpy(dtype=object)
    n = len(values)
    if not n:
        return np.zeros(0, dtype=np.int64)
    starts = np.flatnonzero(np.r_[True, values[1:] != values[:-1]])
    lengths = np.diff(np.r_[starts, n])
    first = offsets.reindex(pd.Index(values[starts], dtype="str")).to_numpy(dtype=np.int64)
    position = np.arange(n, dtype=np.int64) - np.repeat(starts, lengths)
    return np.repeat(first, lengths) + position


def empty_partition(timezone: str) -> pd.DataFrame:
    """A partition without messages: audited, it tells which rules the audit skips
    (disabled, or needing times the input lacks) and gives the empty tables."""
    frame = empty_messages(timezone)
    frame[ORDER_COLUMN] = pd.Series([], dtype="int64")
    return frame


def _add_time(timings: dict[str, float], stage: str, started: float) -> None:
    timings[stage] = timings.get(stage, 0.0) + time.perf_counter() - started
