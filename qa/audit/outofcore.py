"""Out-of-core audit: inputs larger than memory, in session-complete partitions.

:func:`audit_out_of_core` gives exactly the result of :func:`qa.audit.run.audit` (same findings,
in the same order and with the same message ids, same session and agent tables, same
accounting of rejected rows) while holding only one partition of messages at a time:

1. **spill**: the inputs are streamed in chunks (:func:`qa.ingest.stream_inputs`); each
   audited row goes to partition ``hash(session_id) % partitions`` (pandas' fixed-key
   SipHash, so the same on every run and machine), written as Parquet into a temporary
   folder. Rejected rows are kept (they are few), and each session's message count.
   A fingerprint of each row (8 bytes) finds the rows that may repeat an earlier message
   (:mod:`qa.ingest.duplicates`); only when some do are those rows read back, the repeats among
   them rejected and taken off their sessions' counts, as the in-memory read does.
2. **audit partitions**: each partition holds whole sessions. Its rows are sorted as ingest
   sorts (session, time, seq, input order) and :func:`audit_partition` runs the stages of
   :func:`qa.audit.run.audit_messages` on them: normalize, checks, report findings, session
   scores. That function is the *core contract* (issue 8): any frame of whole sessions, in
   any row order, to findings plus one summary row per session.
3. **merge**: :func:`qa.audit.assemble.assemble` concatenates the findings and the session
   rows and scores agents from the session rows (:func:`qa.score.score_agents`, which
   aggregates sessions into agents: mean of session scores, pooled metrics).

Partitions convert their local message ids to global ids (:func:`qa.audit.partition.global_ids`,
from the message counts of the spill), so ``result.findings`` (sorted by ``msg``, then ``rule``)
and ``context_msg`` do not depend on the number of partitions. ``result.ingest.messages`` cannot
be the whole table (that is what does not fit): it is :class:`qa.audit.compact.CompactMessages`.
"""

from __future__ import annotations

import contextlib
import math
import multiprocessing
import os
import pickle
import shutil
import signal
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from qa.audit.assemble import assemble
from qa.audit.compact import CompactMessages, transcript_sessions
from qa.audit.forked import terminate_workers
from qa.audit.partition import PartitionResult, audit_partition, empty_partition, session_offsets, sort_messages
from qa.audit.run import input_bytes
from qa.checks.base import CheckContext
from qa.credits import load_credits
from qa.errors import QAError
from qa.ingest import ORDER_COLUMN, IngestNotes, StreamedInputs, stream_inputs
from qa.ingest.duplicates import find_duplicates, fingerprints, note_duplicates, possible_duplicates
from qa.memory import release_memory
from qa.model import AuditResult, IngestResult, empty_rejected
from qa.outputs import make_private_dir, owned_temp_name
from qa.rules import Rule, load_rules
from qa.score import Scoring, load_scoring
from qa.textindex import Carry, carrying

#: Input bytes per partition when the number of partitions is not given: a partition of
#: ~32 MB of CSV (~230k messages) audits in a few hundred MB; each partition costs ~0.1 s of
#: fixed overhead (rule setup), so much smaller partitions only add time.
PARTITION_BYTES = 32 << 20
def default_partitions(inputs: Sequence[str]) -> int:
    """Partitions for inputs of this total size (one per :data:`PARTITION_BYTES`)."""
    return max(1, math.ceil(input_bytes(inputs) / PARTITION_BYTES))


def audit_out_of_core(
    inputs: Sequence[str],
    options=None,
    rules: list[Rule] | None = None,
    *,
    partitions: int | None = None,
    work_dir: Path | str | None = None,
    timings: dict[str, float] | None = None,
    chunk_rows: int | None = None,
    progress: Callable[[str], None] | None = None,
    jobs: int | None = None,
) -> AuditResult:
    """Audit ``inputs`` like :func:`qa.audit.run.audit`, one partition of sessions at a time.

    ``jobs``: worker processes auditing partitions side by side (default: one per core this
    process may use, never more than there are partitions; 1 audits in this process);
    ``partitions``: how many session partitions (default: one per 32 MB of input, rounded up
    to a multiple of the workers);
    ``work_dir``: where the temporary Parquet spill goes (default: the system temporary
    folder; it needs about the input's size of free space, and is removed afterwards);
    ``timings`` collects seconds per stage (read = stream + spill, then normalize, each rule
    and score summed over partitions, merge); ``progress`` receives short status lines.
    """
    from qa.audit.run import AuditOptions

    options = options or AuditOptions()
    timings = timings if timings is not None else {}
    say = progress or (lambda _line: None)
    if rules is None:
        rules = load_rules(list(options.rule_paths))
    scoring = _scoring(options)
    credit_defs = load_credits(list(options.rule_paths))
    stream = stream_inputs(
        inputs, **options.reader_options(), **({"chunk_rows": chunk_rows} if chunk_rows else {})
    )
    if partitions is None:
        partitions = balanced_partitions(default_partitions(stream.paths), jobs)
    partitions = max(1, int(partitions))
    # Named after this process, so a later run sweeps it away if this one is killed.
    work = owned_temp_name("qa-outofcore-", work_dir)
    # The workers start now: their start (a fresh interpreter, the imports, the rules) overlaps
    # the read, which leaves a core mostly idle, instead of following it.
    workers = _Workers(_StaticJob(rules, scoring, options.suppressions, credit_defs),
                       worker_count(jobs, partitions))
    try:
        make_private_dir(work)
        started = time.perf_counter()
        spill = _spill(stream, work, partitions, say)
        spill.take_out_duplicates()
        _release_memory()
        timings["read"] = time.perf_counter() - started

        context = CheckContext(lang=options.lang, has_timestamps=spill.any_time, timezone=options.timezone)
        offsets = spill.session_offsets()
        job = _PartitionJob(rules, context, offsets, scoring, options.suppressions, credit_defs, spill.duplicates)
        results: list[PartitionResult] = []
        compact = CompactMessages(spill.total, options.timezone)
        filled = [paths for paths in spill.files if paths]
        # Results come back in partition order whatever the number of workers, and the merge
        # below only ever sees that order: 1 and N workers give byte-identical outputs.
        for done, (result, texts, spent) in enumerate(workers.audit(job, filled), 1):
            say(f"audited partition {done}/{len(filled)}")
            compact.add(result.messages, offsets)
            compact.keep_texts(texts, transcript_sessions(result.sessions), offsets)
            for stage, seconds in spent.items():
                timings[stage] = timings.get(stage, 0.0) + seconds
            result.messages = None
            results.append(result)
            del result, texts
            _release_memory()
        workers.close()  # idle from here on
        if not results:  # nothing audited: the checks still decide which rules are skipped
            results.append(audit_partition(empty_partition(options.timezone), rules, context,
                                           session_offsets=offsets, scoring=scoring, timings=timings,
                                           suppressions=options.suppressions, credits=credit_defs))

        started = time.perf_counter()
        say("merging partitions")
        ingest = IngestResult(
            messages=None,
            rejected=spill.rejected(),
            input_rows=stream.input_rows,
            files=stream.files,
            has_timestamps=stream.has_timestamps,
            notes=stream.notes + spill.duplicate_notes(),
            refused=list(stream.refused),
        )

        def messages_of(sessions: pd.DataFrame) -> pd.DataFrame:
            say("building the message table")
            return compact.frame(transcript_sessions(sessions))

        result = assemble(
            results, ingest, rules=rules, credit_defs=credit_defs, scoring=scoring, timezone=options.timezone,
            inputs=inputs, rule_paths=options.rule_paths, suppressions=options.suppressions,
            messages_of=messages_of, release=True,
        )
        del results
        compact = None  # messages_of is done with it: free the table before the reports
        # What the merge freed (the partitions' tables, glibc's heap) goes back to the system
        # before the reports: measured at 10M messages, 2.26 -> ~1.5 GiB entering the workbook.
        _release_memory()
        timings["merge"] = time.perf_counter() - started
    finally:
        workers.close()
        shutil.rmtree(work, ignore_errors=True)
    return result


# --------------------------------------------------------------------------- workers


def balanced_partitions(partitions: int, jobs: int | None) -> int:
    """``partitions`` rounded up to whole rounds of the workers that would audit them: 5
    partitions on 2 workers leave one worker auditing the last alone while the other waits;
    6 smaller ones finish together (no partition grows, so neither does the memory)."""
    workers = worker_count(jobs, partitions)
    return math.ceil(partitions / workers) * workers


def worker_count(jobs: int | None, partitions: int) -> int:
    """Worker processes for ``partitions`` partitions: ``jobs`` if given, else one per core this
    process may run on; never more than the partitions, never fewer than one."""
    if jobs is None:
        try:
            jobs = len(os.sched_getaffinity(0))
        except AttributeError:  # not on Linux
            jobs = os.cpu_count() or 1
    return max(1, min(int(jobs), partitions))


@dataclass(frozen=True)
class _PartitionJob:
    """What every partition's audit needs besides its rows (sent once to each worker)."""

    rules: list[Rule]
    context: CheckContext
    offsets: pd.Series
    scoring: Scoring
    suppressions: object
    credits: object
    duplicates: np.ndarray  # the input order of the rows that repeat an earlier message (not audited)


def _audit_files(job: _PartitionJob, paths: list[Path], carry: Carry | None = None
                 ) -> tuple[PartitionResult, pd.DataFrame, dict[str, float]]:
    """Audit one spilled partition: its result with a slim message table (no texts), the texts
    of the sessions the workbook may show, and the seconds each stage took. ``carry`` keeps
    per-text results from one partition to the next (the same process's partitions)."""
    table = pa.concat_tables(_parquet().read_table(path) for path in paths)
    for path in paths:
        path.unlink()
    frame = table.to_pandas()
    del table
    if len(job.duplicates):
        frame = frame[~np.isin(frame[ORDER_COLUMN].to_numpy(), job.duplicates)]
    spent: dict[str, float] = {}
    with carrying(carry):
        result = audit_partition(frame, job.rules, job.context, session_offsets=job.offsets, scoring=job.scoring,
                                 timings=spent, keep_messages=True, suppressions=job.suppressions,
                                 credits=job.credits)
    del frame
    messages = result.messages
    shown = messages["session_id"].isin(transcript_sessions(result.sessions)).to_numpy()
    texts = messages.loc[shown, ["session_id", "text", "norm"]].reset_index(drop=True)
    # Texts are most of a partition's memory and only the shown sessions' are kept: leave the
    # rest behind rather than send them back from a worker.
    result.messages = messages.drop(columns=["text", "norm"])
    return result, texts, spent


@dataclass(frozen=True)
class _StaticJob:
    """The part of :class:`_PartitionJob` known before the read (sent once to each worker
    when it starts)."""

    rules: list[Rule]
    scoring: Scoring
    suppressions: object
    credits: object


_WORKER_STATIC: _StaticJob | None = None
_WORKER_CARRY: Carry | None = None
_WORKER_READ: tuple[bytes, tuple] | None = None  # the last pickled (context, offsets, duplicates), unpickled


def _start_worker(job_file: str) -> None:
    global _WORKER_STATIC, _WORKER_CARRY
    with open(job_file, "rb") as handle:
        _WORKER_STATIC = pickle.load(handle)
    _WORKER_CARRY = Carry()


def _audit_in_worker(read: bytes, paths: list[Path]):
    """Audit one partition in a worker; ``read`` is the pickled (context, offsets, duplicates)
    of the read, the same for every partition of a run (unpickled once per worker)."""
    global _WORKER_READ
    static = _WORKER_STATIC
    assert static is not None, "worker started without its job"
    if _WORKER_READ is None or _WORKER_READ[0] != read:
        _WORKER_READ = (read, pickle.loads(read))
    context, offsets, duplicates = _WORKER_READ[1]
    job = _PartitionJob(static.rules, context, offsets, static.scoring, static.suppressions, static.credits,
                        duplicates)
    return _audit_files(job, paths, _WORKER_CARRY)


@contextlib.contextmanager
def _workers_ignore_ctrl_c():
    """While worker processes are started, SIGINT is ignored here, so they start ignoring it: Ctrl-C, sent
    to the whole process group, stops the run through this process (which stops the workers) instead of
    printing each worker's traceback."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    # (a spawned interpreter keeps an ignored signal ignored. The window is the processes' creation only,
    # milliseconds: what each is sent at its start is small, the job waits in a file, _Workers)
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


class _Workers:
    """The partitions' auditors: this process when ``count`` is 1, else that many worker
    processes, started at once (spawned: a fresh interpreter, no state shared with this
    one's threads; each gets the rules once)."""

    def __init__(self, static: _StaticJob, count: int) -> None:
        self.pool = None
        if count <= 1:
            return
        from concurrent.futures import ProcessPoolExecutor

        context = multiprocessing.get_context("spawn")
        # The job (the rules: ~2 MB pickled) waits in a file: sent with the start, it kept this process
        # writing to each new worker while the worker imported qa (a second; Ctrl-C ignored meanwhile).
        self._folder = tempfile.mkdtemp(prefix="qa-workers-")
        job_file = os.path.join(self._folder, "job.pickle")
        with open(job_file, "wb") as handle:
            pickle.dump(static, handle, protocol=pickle.HIGHEST_PROTOCOL)
        self.pool = ProcessPoolExecutor(max_workers=count, mp_context=context, initializer=_start_worker,
                                        initargs=(job_file,))

    def audit(self, job: _PartitionJob, partitions: list[list[Path]]):
        """Each partition's :func:`_audit_files`, in partition order."""
        if self.pool is None:
            carry = Carry()
            for paths in partitions:
                yield _audit_files(job, paths, carry)
            return
        from concurrent.futures.process import BrokenProcessPool

        read = pickle.dumps((job.context, job.offsets, job.duplicates), protocol=pickle.HIGHEST_PROTOCOL)
        try:
            with _workers_ignore_ctrl_c():
                results = self.pool.map(_audit_in_worker, [read] * len(partitions), partitions)  # (spawns them)
            yield from results
        except BrokenProcessPool as error:
            raise QAError(f"a worker process died while auditing ({error}); it may have run out of memory: "
                          "try --jobs 1 or more --partitions") from None

    def close(self) -> None:
        if self.pool is None:
            return
        # On an error, Ctrl-C or SIGTERM: stop the workers now, not after their partitions. When
        # all partitions are done the workers are idle: stopped too, rather than waited for while
        # each interpreter frees its heap on the way out (measured: 0.6 s after the last partition).
        terminate_workers(self.pool)
        self.pool.shutdown(wait=True, cancel_futures=True)
        self.pool = None
        shutil.rmtree(self._folder, ignore_errors=True)


# --------------------------------------------------------------------------- spill


class _Spill:
    """The partitions on disk, plus what the merge needs to know about all rows.

    A chunk's partition files are written by a background thread (Arrow's take and Parquet
    writer run without the GIL) while this thread reads and interprets the next chunk; at
    most one chunk is being written at a time, and :meth:`finish` waits for the last."""

    def __init__(self, work: Path, partitions: int) -> None:
        self.work = work
        self.partitions = partitions
        self.files: list[list[Path]] = [[] for _ in range(partitions)]
        self.total = 0
        self.any_time = False
        self._counts: list[pd.Series] = []
        self._rejected: list[pd.DataFrame] = []
        self._fingerprints: list[np.ndarray] = []  # qa.ingest.duplicates.fingerprints, by input order
        self.duplicates = np.zeros(0, dtype=np.int64)  # input order of the repeats (take_out_duplicates)
        self._repeats = empty_rejected()
        self._writer: ThreadPoolExecutor | None = None
        self._writing: Future | None = None

    def add(self, index: int, messages: pd.DataFrame, rejected: pd.DataFrame) -> None:
        if len(rejected):
            self._rejected.append(rejected)
        if not len(messages):
            return
        self.total += len(messages)
        self.any_time = self.any_time or bool(messages["timestamp"].notna().any())
        self._counts.append(messages["session_id"].value_counts(sort=False))
        self._fingerprints.append(fingerprints(messages))
        part = partition_of(messages["session_id"], self.partitions)
        order = np.argsort(part, kind="stable")
        bounds = np.searchsorted(part[order], np.arange(self.partitions + 1))
        table = pa.Table.from_pandas(messages, preserve_index=False)
        pieces = []
        for p in range(self.partitions):
            lo, hi = bounds[p], bounds[p + 1]
            if lo == hi:
                continue
            path = self.work / f"p{p:05d}-c{index:06d}.parquet"
            pieces.append((path, order[lo:hi]))
            self.files[p].append(path)
        self._wait()  # the chunk before this one is written
        if self._writer is None:
            self._writer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="qa-spill")
        self._writing = self._writer.submit(_write_pieces, table, pieces)

    def _wait(self) -> None:
        writing, self._writing = self._writing, None
        if writing is not None:
            writing.result()  # raises the writer's error here

    def finish(self) -> None:
        """Wait until every partition file is written (raising a write's error), and stop the writer."""
        try:
            self._wait()
        finally:
            self.close()

    def close(self) -> None:
        """Stop the writer (after the chunk it is writing, if any)."""
        if self._writer is not None:
            self._writer.shutdown(wait=True)
            self._writer = None

    def take_out_duplicates(self) -> None:
        """Find the rows that repeat an earlier message (:mod:`qa.ingest.duplicates`), as the
        in-memory read does: they are rejected, and no longer count in their sessions. Only the
        rows whose fingerprint another row shares are read back (none in an ordinary export)."""
        values = np.concatenate(self._fingerprints) if self._fingerprints else np.zeros(0, dtype=np.uint64)
        self._fingerprints = []
        possible = possible_duplicates(values)
        if not len(possible):
            return
        rows = sort_messages(self._rows_at(possible))
        found = find_duplicates(rows, rows[ORDER_COLUMN].to_numpy())
        repeats = rows.iloc[found.positions]
        self.duplicates = np.sort(repeats[ORDER_COLUMN].to_numpy())
        self._repeats = found.rejected
        self.total -= len(repeats)
        self._counts.append(-repeats["session_id"].value_counts(sort=False))

    def _rows_at(self, orders: np.ndarray) -> pd.DataFrame:
        """The spilled messages with these input orders (sorted), from every partition file."""
        wanted = pa.array(orders)
        pieces = []
        for paths in self.files:
            for path in paths:
                table = _parquet().read_table(path)
                pieces.append(table.filter(pc.is_in(table.column(ORDER_COLUMN), value_set=wanted)))
        return pa.concat_tables(pieces).to_pandas()

    def duplicate_notes(self) -> list[str]:
        """The notes on the repeats, as the in-memory read words them."""
        notes = IngestNotes()
        note_duplicates(self._repeats, notes)
        return notes.render()

    def session_offsets(self) -> pd.Series:
        """Global id of each session's first message: messages of the sessions sorting before."""
        if not self._counts:
            return session_offsets(pd.Series([], dtype="int64"))
        return session_offsets(pd.concat(self._counts).groupby(level=0, sort=False).sum())

    def rejected(self) -> pd.DataFrame:
        """The rows the readers rejected, then the repeats (the in-memory read's order)."""
        frames = self._rejected + ([self._repeats] if len(self._repeats) else [])
        if not frames:
            return empty_rejected()
        return pd.concat(frames, ignore_index=True)


def partition_of(session_ids: pd.Series, partitions: int) -> np.ndarray:
    """The partition of each session id: a stable 64-bit hash modulo ``partitions``."""
    hashes = pd.util.hash_pandas_object(session_ids.astype("str"), index=False).to_numpy()
    return (hashes % np.uint64(partitions)).astype(np.int64)


def _write_pieces(table: pa.Table, pieces: list[tuple[Path, np.ndarray]]) -> None:
    """Write the rows ``rows`` of ``table`` to ``path``, for each (path, rows) of ``pieces``."""
    for path, rows in pieces:
        _parquet().write_table(table.take(rows), path, compression="lz4")


def _spill(stream: StreamedInputs, work: Path, partitions: int, say: Callable[[str], None]) -> _Spill:
    spill = _Spill(work, partitions)
    try:
        for index, chunk in enumerate(stream):
            spill.add(index, chunk.messages, chunk.rejected)
            del chunk
            _release_memory()  # what this chunk's reading and interpreting used (measured: ~100 MB less peak)
            say(f"read {spill.total:,} rows")
        spill.finish()
    finally:
        spill.close()
    return spill


def _scoring(options) -> Scoring:
    """The scoring in effect, chosen as :func:`qa.audit.run.audit_messages` chooses it."""
    from qa.audit.run import scoring_file

    return load_scoring(scoring_file(options.rule_paths))


def _release_memory() -> None:
    """Hand memory the allocators keep for reuse (pyarrow's pool, glibc's heap) back to the
    system between partitions, so the peak is one partition's, not the sum of what each
    partition once needed (measured at 10M messages: ~300 MB less)."""
    release_memory()


def _add_time(timings: dict[str, float], stage: str, started: float) -> None:
    timings[stage] = timings.get(stage, 0.0) + time.perf_counter() - started


def _parquet():
    """``pyarrow.parquet``, imported when the spill is first written or read: its import
    (pyarrow's file systems, SSL; about 12 ms) is not needed by an audit held in memory."""
    import pyarrow.parquet as pq

    return pq
