"""One audit from its partitions: every path (in memory, out of core, cluster engines) ends here.

The paths differ only in how they produce :class:`qa.audit.partition.PartitionResult`\\ s;
:func:`assemble` merges them into the :class:`qa.model.AuditResult` the reports read.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from qa.audit.partition import PartitionResult
from qa.credits import builtin_credits, merge_credit_frames
from qa.memory import concat_sorted, release_memory
from qa.model import AuditResult, IngestResult
from qa.score import SESSION_COLUMNS, Scoring, score_agents


def assemble(
    results: Sequence[PartitionResult],
    ingest: IngestResult,
    *,
    rules: list,
    credit_defs: Sequence[Any],
    scoring: Scoring,
    timezone: str,
    inputs: Sequence[str],
    rule_paths: Sequence[Path],
    suppressions: Any = None,
    agents: pd.DataFrame | None = None,
    messages_of: Callable[[pd.DataFrame], pd.DataFrame] | None = None,
    release: bool = False,
) -> AuditResult:
    """The :class:`AuditResult` of the partitions' results (audited with global ids; at least
    one, so the skipped rules are known) and the input's accounting in ``ingest``.

    ``agents``: scorecards already scored elsewhere (a cluster's groupBy), else scored here
    from the session rows. ``messages_of`` builds the message table from the merged session
    rows when the paths cannot hold it whole (it needs the sessions to know which
    transcripts to keep); otherwise ``ingest.messages`` is kept. ``suppressed`` is None
    unless ``suppressions`` were given. With ``release`` the partitions' tables are emptied
    as they are merged (the caller is done with them), and the memory they held is handed
    back before the message table is built.
    """
    parts = merge_parts(results, release=release)
    findings, sessions, scored = merge_partitions(
        results, [rule.id for rule in rules if rule.enabled], [credit.id for credit in credit_defs if credit.enabled],
        score=agents is None, release=release, parts=parts,
    )
    credits = merge_credits(results, release=release)
    suppressed = merge_suppressed(results) if suppressions else None
    skipped = results[0].skipped
    if release:
        release_memory()
    if messages_of is not None:
        ingest.messages = messages_of(sessions)
    return AuditResult(
        ingest=ingest,
        findings=findings,
        sessions=sessions,
        agents=scored if agents is None else agents,
        skipped_rules=skipped,
        rules=rules,
        timezone=timezone,
        inputs=list(inputs) or ingest.files,
        rule_paths=list(rule_paths),
        scoring=scoring,
        suppressed=suppressed,
        credits=credits,
        credit_defs=list(credit_defs),
        parts=parts,
    )


def merge_partitions(
    results: Iterable[PartitionResult], rule_ids: Iterable[str] | None = None,
    credit_ids: Iterable[str] | None = None, *, score: bool = True, release: bool = False,
    parts: pd.DataFrame | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame | None]:
    """Findings, sessions and agents of the whole audit from the partitions' results.

    Findings are ordered by global message id then rule (the in-memory order), sessions by
    session id; agents are scored from the session rows and the parts of the transferred
    sessions (``parts``: :func:`merge_parts` of the same results, merged here when not given) by
    :func:`qa.score.score_agents` (``rule_ids``: the enabled rules, each agent gets a count for each; ``credit_ids``
    likewise for the enabled credits, default the built-in ones). Credits merge with
    :func:`merge_credits`. Without ``score`` the agents are None (scored elsewhere).
    Partitions must have been audited with global ids (``session_offsets``). With
    ``release`` the partitions' findings and sessions are emptied as they are merged
    (:func:`qa.memory.concat_sorted`).
    """
    results = list(results)
    if score and parts is None:
        parts = merge_parts(results)
    finding_frames = [r.findings for r in results if len(r.findings)]
    if finding_frames:
        findings = concat_sorted(finding_frames, ["msg", "rule"], release=release)
    else:
        findings = results[0].findings if results else pd.DataFrame()
    session_frames = [r.sessions for r in results if len(r.sessions)]
    if session_frames:
        sessions = concat_sorted(session_frames, ["session_id"], release=release)
    else:
        sessions = results[0].sessions if results else pd.DataFrame(columns=SESSION_COLUMNS)
    if not score:
        return findings, sessions, None
    if credit_ids is None:
        credit_ids = [credit.id for credit in builtin_credits() if credit.enabled]
    return findings, sessions, score_agents(sessions, rule_ids=rule_ids, credit_ids=credit_ids, parts=parts)


def merge_parts(results: Iterable[PartitionResult], *, release: bool = False) -> pd.DataFrame:
    """The parts of the transferred sessions of all partitions, by session id (a session's parts
    in their own order: each partition holds whole sessions)."""
    frames = [r.parts for r in results if r.parts is not None and len(r.parts)]
    if not frames:
        return pd.DataFrame(columns=SESSION_COLUMNS)
    return concat_sorted(frames, ["session_id"], release=release)


def merge_credits(results: Iterable[PartitionResult], *, release: bool = False) -> pd.DataFrame:
    """The credits of all partitions in the in-memory order (msg, credit), exactly as
    :func:`merge_partitions` orders findings (``release``: as there)."""
    return merge_credit_frames((r.credits for r in results if r.credits is not None), release=release)


def merge_suppressed(results: Iterable[PartitionResult]) -> pd.DataFrame | None:
    """The suppressed findings of all partitions, in the findings' order (None when none
    of the partitions was audited with suppressions)."""
    frames = [r.suppressed for r in results if r.suppressed is not None]
    if not frames:
        return None
    non_empty = [f for f in frames if len(f)]
    if not non_empty:
        return frames[0]
    merged = pd.concat(non_empty, ignore_index=True)
    return merged.sort_values(["msg", "rule"], kind="stable").reset_index(drop=True)


