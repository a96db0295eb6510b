"""The in-memory audit on every core: whole-session slices of the prepared table audited by forked
worker processes.

The rules, credits and scores of a session depend on that session alone (the partition contract of
:mod:`qa.audit.partition`), so the table, prepared once (:func:`qa.audit.partition.prepare_partition`),
is cut into contiguous runs of whole sessions and each run is audited with global message ids; the
results are merged by :func:`qa.audit.assemble.assemble` exactly as the out-of-core partitions are:
the outputs are byte-identical to the one-process audit whatever the number of workers.

Workers are forked, not spawned: they find the prepared table and the rules in memory (shared
copy-on-write, nothing pickled on the way in) and send back only their findings, session rows and
credits. This process audits the first slice itself while they audit the others.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from qa.audit.partition import PartitionResult, audit_partition
from qa.checks.base import CheckContext
from qa.errors import QAError
from qa.rules import Rule
from qa.score import Scoring

#: Below this many messages the audit stays in one process: the fork and the merge (~0.1 s) cost
#: about what a second core saves. Measured on the benchmark log, 2 cores, whole `qa audit` runs
#: alternated: 20k messages 2.2-2.4 s forked against 2.3-2.9 s in one process, 40k 2.5-2.9 against
#: 2.8-3.0 s, 100k 3.6-3.9 against 4.3-4.4 s.
PARALLEL_MIN_MESSAGES = 20_000


def usable_cores() -> int:
    """The cores this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def terminate_workers(pool) -> None:
    """Stop a process pool's workers now (their running tasks are lost)."""
    if hasattr(pool, "terminate_workers"):  # Python 3.14+
        pool.terminate_workers()
        return
    for process in list((getattr(pool, "_processes", None) or {}).values()):
        process.terminate()


def fork_available() -> bool:
    """Whether workers may be forked here: on Linux. (macOS offers fork, but forking a process
    whose system libraries have started threads can crash the child; there the audit keeps one
    process.)"""
    import multiprocessing  # (here: a table too small for workers never asks)

    return sys.platform.startswith("linux") and "fork" in multiprocessing.get_all_start_methods()


def worker_processes(jobs: int | None, messages: int) -> int:
    """How many processes audit a prepared table of ``messages`` rows: ``jobs`` if given (else one
    per usable core), one for a table under :data:`PARALLEL_MIN_MESSAGES` rows or where workers
    cannot be forked (:func:`fork_available`)."""
    if messages < PARALLEL_MIN_MESSAGES or not fork_available():
        return 1
    return max(1, usable_cores() if jobs is None else int(jobs))


def _first_rows(values: np.ndarray) -> np.ndarray:
    """Row positions where a new session starts in session ids sorted by session."""
    if not len(values):
        return np.zeros(0, dtype=np.int64)
    return np.flatnonzero(np.r_[True, values[1:] != values[:-1]])


def session_slices(session_ids: pd.Series, parts: int) -> list[tuple[int, int]]:
    """``parts`` (or fewer) contiguous (start, stop) row ranges of a table sorted by session, each
    holding whole sessions and about as many rows as the others."""
    values = session_ids.to_numpy(dtype=object)
    n = len(values)
    if n == 0:
        return []
    starts = _first_rows(values)
    targets = (np.arange(1, parts) * n) // parts
    cuts = np.unique(starts[np.clip(np.searchsorted(starts, targets), 0, len(starts) - 1)])
    bounds = [0, *[int(c) for c in cuts if 0 < c < n], n]
    return [(a, b) for a, b in zip(bounds[:-1], bounds[1:]) if b > a]


def first_message_ids(session_ids: pd.Series) -> pd.Series:
    """Global id (row position) of each session's first message in a table sorted by session:
    :func:`qa.audit.partition.session_offsets` of the whole table."""
    values = session_ids.to_numpy(dtype=object)
    starts = _first_rows(values)
    return pd.Series(starts.astype(np.int64), index=pd.Index(values[starts], dtype="str"), dtype="int64")


@dataclass(frozen=True)
class _Job:
    """What every slice's audit shares (found by the forked workers in memory)."""

    prepared: pd.DataFrame
    slices: list[tuple[int, int]]
    rules: list[Rule]
    context: CheckContext
    offsets: pd.Series
    scoring: Scoring | None
    suppressions: Any
    credits: Sequence[Any] | None
    score: bool


_JOB: _Job | None = None  # set for the forked workers just before they start


def _audit_slice(number: int) -> tuple[PartitionResult, dict[str, float]]:
    job = _JOB
    assert job is not None, "worker forked without its job"
    start, stop = job.slices[number]
    part = job.prepared.iloc[start:stop].reset_index(drop=True)
    spent: dict[str, float] = {}
    result = audit_partition(part, job.rules, job.context, session_offsets=job.offsets, scoring=job.scoring,
                             timings=spent, suppressions=job.suppressions, credits=job.credits, score=job.score,
                             prepared=True)
    return result, spent


def audit_forked(
    prepared: pd.DataFrame,
    rules: list[Rule],
    context: CheckContext,
    workers: int,
    *,
    scoring: Scoring | None = None,
    timings: dict[str, float] | None = None,
    suppressions: Any = None,
    credits: Sequence[Any] | None = None,
    score: bool = True,
) -> list[PartitionResult]:
    """The partition results of ``prepared`` (a table through :func:`prepare_partition`, sorted by
    session, with a RangeIndex) audited in ``workers`` slices of whole sessions: this process
    audits the first, forked processes the others. ``timings`` get each stage's seconds summed over
    the slices (the processes' time, as the out-of-core path counts it)."""
    global _JOB
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor
    from concurrent.futures.process import BrokenProcessPool

    timings = timings if timings is not None else {}
    slices = session_slices(prepared["session_id"], workers)
    job = _Job(prepared, slices, rules, context, first_message_ids(prepared["session_id"]), scoring, suppressions,
               credits, score)
    pool = None
    if len(slices) > 1:
        _JOB = job
        try:
            pool = ProcessPoolExecutor(max_workers=len(slices) - 1, mp_context=multiprocessing.get_context("fork"))
            futures = [pool.submit(_audit_slice, number) for number in range(1, len(slices))]
        finally:
            _JOB = None
    finished = False
    try:
        _JOB = job
        try:
            outcomes = [_audit_slice(0)]
        finally:
            _JOB = None
        if pool is not None:
            try:
                outcomes += [future.result() for future in futures]
            except BrokenProcessPool as error:
                raise QAError(f"a worker process died while auditing ({error}); it may have run out of memory: "
                              "try --jobs 1") from None
        finished = True
    finally:
        if pool is not None:
            if not finished:
                # an error or Ctrl-C here: stop the workers now rather than wait for their slices
                terminate_workers(pool)
            pool.shutdown(wait=True, cancel_futures=True)
    for _, spent in outcomes:
        for stage, seconds in spent.items():
            timings[stage] = timings.get(stage, 0.0) + seconds
    return [result for result, _ in outcomes]
