"""Out-of-core audit: inputs larger than memory, in session-complete partitions.

:func:`audit_out_of_core` gives exactly the result of :func:`qa.pipeline.audit` (same findings,
in the same order and with the same message ids, same session and agent tables, same
accounting of rejected rows) while holding only one partition of messages at a time:

1. **spill**: the inputs are streamed in chunks (:func:`qa.ingest.stream_inputs`); each
   audited row goes to partition ``hash(session_id) % partitions`` (pandas' fixed-key
   SipHash, so the same on every run and machine), written as Parquet into a temporary
   folder. Rejected rows are kept (they are few), and each session's message count.
2. **audit partitions**: each partition holds whole sessions. Its rows are sorted as ingest
   sorts (session, time, seq, input order) and :func:`audit_partition` runs the stages of
   :func:`qa.pipeline.audit_messages` on them: normalize, checks, report findings, session
   scores. That function is the *core contract* (issue 8): any frame of whole sessions, in
   any row order, to findings plus one summary row per session.
3. **merge**: :func:`merge_partitions` concatenates the findings and the session rows and
   scores agents from the session rows (:func:`qa.score.score_agents`, which aggregates
   sessions into agents: mean of session scores, pooled metrics).

**Global message ids.** In the in-memory path a finding's ``msg`` is the row position in the
whole message table, which is sorted by session id first. Session ids sort the same way in
every partition, so the id of a message is known without the whole table: the number of
messages in the sessions whose id sorts before its session (from the message counts of the
spill) plus its position within its session. Partitions convert their local ids to these
global ids, so ``result.findings`` (sorted by ``msg``, then ``rule``) and ``context_msg`` do
not depend on the number of partitions.

**What the result holds instead of the message table.** ``result.ingest.messages`` cannot be
the whole table (that is what does not fit), but reports need its length, its time range and
the messages of the sessions whose transcripts the workbook shows. It is a table with one
row per audited message and the usual columns and index (global message ids), stored
compactly: string columns are categoricals, and ``text`` is filled only for the sessions the
workbook shows as transcripts (missing elsewhere). See :func:`transcript_sessions`.
"""

from __future__ import annotations

import math
import os
import shutil
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from qa.checks.base import CheckContext
from qa.core import (  # noqa: F401  (PartitionResult, sort_messages re-exported: they lived here first)
    PartitionResult,
    merge_credits,
    _global_ids,
    audit_partition,
    merge_partitions,
    merge_suppressed,
    sort_messages,
)
from qa.credits import load_credits
from qa.ingest import ORDER_COLUMN, StreamedInputs, expand_inputs, stream_inputs
from qa.model import MESSAGE_COLUMNS, AuditResult, IngestResult, empty_rejected
from qa.outputs import make_private_dir, owned_temp_name
from qa.rules import Rule, load_rules
from qa.score import Scoring, load_scoring

#: Input bytes per partition when the number of partitions is not given: a partition of
#: ~32 MB of CSV (~230k messages) audits in a few hundred MB; each partition costs ~0.1 s of
#: fixed overhead (rule setup), so much smaller partitions only add time.
PARTITION_BYTES = 32 << 20
#: Above this input size the CLI switches to the out-of-core path by itself. Measured on the
#: benchmark log (135 MB of CSV per 1M messages, 2 cores): 1M messages take 9.3 s and 1.35 GiB
#: in memory but 7.6 s and 0.65 GiB out of core; at 100k the spill costs ~0.4 s extra.
AUTO_THRESHOLD_BYTES = 64 << 20
#: Sessions whose texts are kept for the workbook's transcripts when its limit is unknown.
_DEFAULT_TRANSCRIPTS = 200

_CATEGORY_COLUMNS = ("session_id", "role", "agent", "source_file", "source_sheet")


def input_bytes(inputs: Sequence[str]) -> int:
    """Total size of the input files (folders and globs expanded), for the CLI's automatic
    switch to the out-of-core path above :data:`AUTO_THRESHOLD_BYTES`. Raises InputError
    like the audit would for a missing input."""
    return sum(os.path.getsize(p) for p in expand_inputs(inputs))


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
) -> AuditResult:
    """Audit ``inputs`` like :func:`qa.pipeline.audit`, one partition of sessions at a time.

    ``partitions``: how many session partitions (default: one per 32 MB of input);
    ``work_dir``: where the temporary Parquet spill goes (default: the system temporary
    folder; it needs about the input's size of free space, and is removed afterwards);
    ``timings`` collects seconds per stage (read = stream + spill, then normalize, each rule
    and score summed over partitions, merge); ``progress`` receives short status lines.
    """
    from qa.pipeline import AuditOptions

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
        partitions = default_partitions(stream.paths)
    partitions = max(1, int(partitions))
    # Named after this process, so a later run sweeps it away if this one is killed.
    work = owned_temp_name("qa-outofcore-", work_dir)
    try:
        make_private_dir(work)
        started = time.perf_counter()
        spill = _spill(stream, work, partitions, say)
        _release_memory()
        timings["read"] = time.perf_counter() - started

        context = CheckContext(lang=options.lang, has_timestamps=spill.any_time, timezone=options.timezone)
        offsets = spill.session_offsets()
        results: list[PartitionResult] = []
        skeleton = _Skeleton(spill.total, options.timezone)
        for index in range(partitions):
            say(f"auditing partition {index + 1}/{partitions}")
            frame = spill.read(index)
            if frame is None:
                continue
            result = audit_partition(frame, rules, context, session_offsets=offsets, scoring=scoring,
                                     timings=timings, keep_messages=True, suppressions=options.suppressions,
                                     credits=credit_defs)
            skeleton.add(result.messages, offsets)
            skeleton.keep_texts(result.messages, transcript_sessions(result.sessions), offsets)
            result.messages = None
            results.append(result)
            del frame, result
            _release_memory()
        if not results:  # nothing audited: the checks still decide which rules are skipped
            empty = spill.empty_frame(options.timezone)
            results.append(audit_partition(empty, rules, context, session_offsets=offsets, scoring=scoring,
                                           timings=timings, suppressions=options.suppressions, credits=credit_defs))

        started = time.perf_counter()
        say("merging partitions")
        findings, sessions, agents = merge_partitions(results, [rule.id for rule in rules if rule.enabled],
                                                      [credit.id for credit in credit_defs if credit.enabled])
        suppressed = merge_suppressed(results)
        credits = merge_credits(results)
        skipped = results[0].skipped
        del results
        say("building the message table")
        messages = skeleton.frame(transcript_sessions(sessions))
        del skeleton
        timings["merge"] = time.perf_counter() - started
    finally:
        shutil.rmtree(work, ignore_errors=True)

    ingest = IngestResult(
        messages=messages,
        rejected=spill.rejected(),
        input_rows=stream.input_rows,
        files=stream.files,
        has_timestamps=stream.has_timestamps,
        notes=stream.notes,
    )
    return AuditResult(
        scoring=scoring,
        suppressed=suppressed if options.suppressions else None,
        credits=credits,
        credit_defs=credit_defs,
        ingest=ingest,
        findings=findings,
        sessions=sessions,
        agents=agents,
        skipped_rules=skipped,
        rules=rules,
        timezone=options.timezone,
        inputs=list(inputs) or ingest.files,
        rule_paths=list(options.rule_paths),
    )


# --------------------------------------------------------------------------- spill


class _Spill:
    """The partitions on disk, plus what the merge needs to know about all rows."""

    def __init__(self, work: Path, partitions: int) -> None:
        self.work = work
        self.partitions = partitions
        self.files: list[list[Path]] = [[] for _ in range(partitions)]
        self.total = 0
        self.any_time = False
        self._counts: list[pd.Series] = []
        self._rejected: list[pd.DataFrame] = []

    def add(self, index: int, messages: pd.DataFrame, rejected: pd.DataFrame) -> None:
        if len(rejected):
            self._rejected.append(rejected)
        if not len(messages):
            return
        self.total += len(messages)
        self.any_time = self.any_time or bool(messages["timestamp"].notna().any())
        self._counts.append(messages["session_id"].value_counts(sort=False))
        part = partition_of(messages["session_id"], self.partitions)
        order = np.argsort(part, kind="stable")
        bounds = np.searchsorted(part[order], np.arange(self.partitions + 1))
        table = pa.Table.from_pandas(messages, preserve_index=False)
        for p in range(self.partitions):
            lo, hi = bounds[p], bounds[p + 1]
            if lo == hi:
                continue
            path = self.work / f"p{p:05d}-c{index:06d}.parquet"
            pq.write_table(table.take(order[lo:hi]), path, compression="lz4")
            self.files[p].append(path)

    def read(self, p: int) -> pd.DataFrame | None:
        if not self.files[p]:
            return None
        table = pa.concat_tables(pq.read_table(path) for path in self.files[p])
        for path in self.files[p]:
            path.unlink()
        return table.to_pandas()

    def session_offsets(self) -> pd.Series:
        """Global id of each session's first message: messages of the sessions sorting before."""
        if not self._counts:
            return pd.Series([], dtype="int64", index=pd.Index([], dtype="str"))
        counts = pd.concat(self._counts).groupby(level=0, sort=False).sum()
        # Sort ids exactly as ingest's sort_values does (same dtype, same algorithm).
        ids = pd.Series(counts.index.astype("str"), dtype="str")
        order = ids.sort_values(kind="stable").index.to_numpy()
        counts = counts.iloc[order]
        starts = np.concatenate([[0], np.cumsum(counts.to_numpy(dtype=np.int64))[:-1]])
        return pd.Series(starts, index=counts.index, dtype="int64")

    def rejected(self) -> pd.DataFrame:
        if not self._rejected:
            return empty_rejected()
        return pd.concat(self._rejected, ignore_index=True)

    def empty_frame(self, timezone: str) -> pd.DataFrame:
        from qa.ingest import _empty_messages

        frame = _empty_messages(timezone)
        frame[ORDER_COLUMN] = pd.Series([], dtype="int64")
        return frame


def partition_of(session_ids: pd.Series, partitions: int) -> np.ndarray:
    """The partition of each session id: a stable 64-bit hash modulo ``partitions``."""
    hashes = pd.util.hash_pandas_object(session_ids.astype("str"), index=False).to_numpy()
    return (hashes % np.uint64(partitions)).astype(np.int64)


def _spill(stream: StreamedInputs, work: Path, partitions: int, say: Callable[[str], None]) -> _Spill:
    spill = _Spill(work, partitions)
    for index, chunk in enumerate(stream):
        spill.add(index, chunk.messages, chunk.rejected)
        say(f"read {spill.total:,} rows")
    return spill


# --------------------------------------------------------------------------- the compact message table


class _Skeleton:
    """The whole message table in global order, compactly (see the module docstring)."""

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
        ids = _global_ids(messages["session_id"], offsets)
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

    def keep_texts(self, messages: pd.DataFrame, sessions: list[str], offsets: pd.Series) -> None:
        if not sessions:
            return
        rows = messages[messages["session_id"].isin(sessions)]
        ids = _global_ids(rows["session_id"], offsets)
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
                columns[name] = self.seq if self.seq is not None else np.full(self.total, np.nan)
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
        from qa.report import excel

        limit = int(getattr(excel, "MAX_TRANSCRIPT_SESSIONS", _DEFAULT_TRANSCRIPTS))
        ordered = excel._worst_sessions(flagged)
    except (ImportError, AttributeError):
        limit = _DEFAULT_TRANSCRIPTS
        ordered = flagged.sort_values(["score", "findings", "session_id"], ascending=[True, False, True], kind="stable")
    return ordered["session_id"].head(limit).astype("str").tolist()


def _scoring(options) -> Scoring:
    """The scoring in effect, chosen as :func:`qa.pipeline.audit_messages` chooses it."""
    from qa.pipeline import scoring_file

    return load_scoring(scoring_file(options.rule_paths))


def _release_memory() -> None:
    """Hand memory the allocators keep for reuse (pyarrow's pool, glibc's heap) back to the
    system between partitions, so the peak is one partition's, not the sum of what each
    partition once needed (measured at 10M messages: ~300 MB less)."""
    pa.default_memory_pool().release_unused()
    if _LIBC is not None:
        _LIBC.malloc_trim(0)


def _load_libc():
    try:
        import ctypes
        import ctypes.util

        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        libc.malloc_trim  # noqa: B018 - glibc only
        return libc
    except (OSError, AttributeError):
        return None


_LIBC = _load_libc()


def _add_time(timings: dict[str, float], stage: str, started: float) -> None:
    timings[stage] = timings.get(stage, 0.0) + time.perf_counter() - started
