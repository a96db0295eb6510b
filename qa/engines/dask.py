"""The Dask engine: ``qa audit --engine dask`` (``pip install 'qa[dask]'``).

The plan, for exports and Parquet alike::

    messages (MESSAGE_FIELDS)            exports: staged by the driver (qa ingest), read_parquet
                                         Parquet: from_map over (file, row group), interpreted
      .shuffle(on="session_id")          every session in one partition
      .map_partitions(audit_rows, meta)  a whole partition per call; declared meta ROW_FIELDS
      .persist()
    findings  -> --findings-parquet (masked like every output)
    sessions, parts -> shuffle(on="agent").map_partitions(agent_rows)   the scorecards
    collected -> qa.engines.common.assemble_rows -> AuditResult         when <= collect_limit messages

``scheduler``: an address (``tcp://host:8786``: an existing cluster, whose workers need qa
installed and, for exports, ``work_dir`` on storage they see), ``"threads"``,
``"processes"`` or ``"sync"`` (Dask's local schedulers; tests use sync), or None for a
local cluster of one single-threaded worker process per core.
"""

from __future__ import annotations

import logging
import math
import os
import shutil
import time
from collections.abc import Callable, Sequence
from contextlib import ExitStack, contextmanager
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from qa.engines.common import (
    AGENT_FIELDS,
    FINDINGS_PARQUET_FIELDS,
    MESSAGE_FIELDS,
    MESSAGE_NAMES,
    NAT,
    ROW_FIELDS,
    ROWS_PER_CALL,
    SESSION_ROW_NAMES,
    AuditSetup,
    EngineOutcome,
    agent_rows,
    agents_frame,
    assemble_rows,
    audit_rows,
    chosen_sessions,
    collects_results,
    conform,
    empty_frame,
    findings_parquet_rows,
    make_setup,
    rows_of,
    to_messages,
    with_times,
)
from qa.engines.inputs import (
    MESSAGE_SCHEMA,
    arrow_cells,
    interpret_cells,
    parquet_accounting,
    parquet_files,
    parquet_spec,
    plan_inputs,
    stage_exports,
    time_column,
)
from qa.engines.options import COLLECT_LIMIT
from qa.errors import QAError
from qa.outputs import owned_temp_dir

LOCAL_SCHEDULERS = ("sync", "synchronous", "threads", "processes")


def unavailable_reason() -> str | None:
    """Why the Dask engine cannot run here (None when it can)."""
    try:
        import dask.dataframe  # noqa: F401
    except ImportError:
        return "dask is not installed (pip install 'qa[dask]')"
    return None


@contextmanager
def dask_scheduler(scheduler: str | None):
    """Run the block on ``scheduler`` (see the module docstring)."""
    import dask

    reason = unavailable_reason()
    if reason:
        raise QAError(f"--engine dask: {reason}")
    with ExitStack() as stack:
        # Keep the frames' own dtypes: the engine's functions give object strings.
        stack.enter_context(dask.config.set({"dataframe.convert-string": False}))
        if scheduler in LOCAL_SCHEDULERS:
            stack.enter_context(dask.config.set(scheduler="sync" if scheduler == "synchronous" else scheduler))
            yield None
            return
        try:
            from distributed import Client, LocalCluster
        except ImportError:
            raise QAError("--dask-scheduler needs distributed (pip install 'qa[dask]')") from None
        if scheduler:
            client = stack.enter_context(Client(scheduler))
        else:
            cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
            cluster = stack.enter_context(LocalCluster(n_workers=cores, threads_per_worker=1, processes=True,
                                                       dashboard_address=":0", silence_logs=logging.ERROR))
            client = stack.enter_context(Client(cluster))
        yield client


def _meta(fields: Sequence[tuple[str, str]]) -> pd.DataFrame:
    return empty_frame(fields)


# --------------------------------------------------------------------------- partition functions


def _audit_partition(frame: pd.DataFrame, setup: AuditSetup) -> pd.DataFrame:
    return audit_rows(conform(frame, MESSAGE_FIELDS), setup)


def _agents_partition(frame: pd.DataFrame, rule_ids: list[str], credit_ids: list[str]) -> pd.DataFrame:
    return agent_rows(frame, rule_ids, credit_ids)


def _findings_partition(frame: pd.DataFrame, mask: bool) -> pd.DataFrame:
    rows = findings_parquet_rows(frame[frame["kind"] == "f"], mask)
    times = rows["timestamp"].to_numpy(dtype=np.int64)
    rows["timestamp"] = pd.Series(np.where(times == NAT, np.iinfo(np.int64).min, times // 1000 * 1000)
                                  .view("datetime64[ns]")).dt.tz_localize("UTC").dt.as_unit("us")
    return rows


def _read_staged(path: str) -> pd.DataFrame:
    """One staged part of the exports (MESSAGE_FIELDS rows)."""
    return conform(pq.read_table(path).to_pandas(), MESSAGE_FIELDS)


def _read_piece(piece: tuple[str, int, int], spec, sessions: frozenset | None = None) -> pd.DataFrame:
    """One row group of a Parquet file: its records interpreted (MESSAGE_FIELDS rows); with
    ``sessions``, only the records of those sessions."""
    path, group, first_row = piece
    table = pq.ParquetFile(path).read_row_group(group, columns=spec.header)
    cells = arrow_cells(table, spec.header)
    files = np.full(len(cells), path, dtype=object)
    rows = np.arange(first_row + 1, first_row + 1 + len(cells), dtype=np.int64)
    if sessions is not None:
        sid = pd.Series(cells.iloc[:, spec.columns.positions["session_id"]], dtype="str").str.strip()
        keep = sid.isin(sessions).to_numpy()
        cells, files, rows = cells[keep].reset_index(drop=True), files[keep], rows[keep]
    return interpret_cells(cells, files, rows, spec)


def _has_time_piece(piece: tuple[str, int, int], name: str) -> pd.DataFrame:
    path, group, _ = piece
    table = pq.ParquetFile(path).read_row_group(group, columns=[name])
    text = arrow_cells(table, [name])[name]
    return pd.DataFrame({"timed": [bool((pd.Series(text, dtype="str").str.strip() != "").any())]})


# --------------------------------------------------------------------------- the audit


def audit_dask(
    inputs: Sequence[str],
    options=None,
    rules=None,
    *,
    scheduler: str | None = None,
    partitions: int | None = None,
    findings_parquet: str | None = None,
    work_dir: str | Path | None = None,
    collect_limit: int = COLLECT_LIMIT,
    mask: bool = True,
    timings: dict[str, float] | None = None,
    progress: Callable[[str], None] | None = None,
) -> EngineOutcome:
    """Audit ``inputs`` (exports, or local Parquet files/folders) on Dask; see
    :func:`qa.engines.spark.audit_spark` for the arguments shared with it. ``partitions``:
    session partitions after the shuffle (default: one per 200k messages, at least one per
    worker core)."""
    from qa.audit.run import AuditOptions

    options = options or AuditOptions()
    timings = timings if timings is not None else {}
    say = progress or (lambda _line: None)
    setup = make_setup(options, rules, ROWS_PER_CALL)
    plan = plan_inputs(inputs)
    work = owned_temp_dir("qa-dask-", work_dir) if plan.exports else None
    try:
        started = time.perf_counter()
        with dask_scheduler(scheduler) as client:
            timings["engine start"] = time.perf_counter() - started
            return _audit(plan, inputs, options, setup, client, work, partitions, findings_parquet,
                          collect_limit, mask, timings, say)
    finally:
        if work is not None:
            shutil.rmtree(work, ignore_errors=True)


def _audit(plan, inputs, options, setup, client, work, partitions, findings_parquet, collect_limit, mask,
           timings, say) -> EngineOutcome:
    import dask.dataframe as dd

    started = time.perf_counter()
    if plan.exports:
        staged = stage_exports(plan.exports, options, work / "messages", progress=say)
        setup.context = with_times(setup.context, staged.accounting.has_timestamps and staged.any_time)
        messages = (dd.from_map(_read_staged, staged.files, meta=_meta(MESSAGE_FIELDS))
                    if staged.files else dd.from_pandas(_meta(MESSAGE_FIELDS), npartitions=1))
        expected = staged.messages
        spec = files = None
    else:
        files = parquet_files(plan.parquet)
        spec = parquet_spec(pq.ParquetFile(files[0]).schema_arrow.names, options, plan.label)
        pieces = []
        for path in files:
            metadata = pq.ParquetFile(path).metadata
            first = 0
            for group in range(metadata.num_row_groups):
                pieces.append((path, group, first))
                first += metadata.row_group(group).num_rows
        expected = sum(pq.ParquetFile(path).metadata.num_rows for path in files)
        name = time_column(spec)
        has_times = bool(name) and bool(
            dd.from_map(_has_time_piece, pieces, args=(name,), meta=pd.DataFrame({"timed": pd.Series([], dtype=bool)}))
            ["timed"].any().compute())
        spec = spec.with_files(files, has_times)
        setup.context = with_times(setup.context, has_times)
        messages = dd.from_map(_read_piece, pieces, args=(spec,), meta=_meta(MESSAGE_FIELDS))
    timings["read"] = time.perf_counter() - started
    collect = collects_results(expected, collect_limit, findings_parquet)

    started = time.perf_counter()
    say("auditing sessions")
    workers = len(client.scheduler_info().get("workers", {})) if client is not None else 1
    count = partitions or max(workers, math.ceil(max(expected, 1) / (2 * ROWS_PER_CALL)))
    shuffled = messages.shuffle(on="session_id", npartitions=count)
    audited = shuffled.map_partitions(_audit_partition, setup, meta=_meta(ROW_FIELDS)).persist()
    if client is not None:
        from distributed import wait

        wait(audited)  # the audit runs here, once; every later step reads the persisted rows
    timings["audit"] = time.perf_counter() - started

    if findings_parquet:
        started = time.perf_counter()
        say(f"writing {findings_parquet}")
        findings = audited.map_partitions(_findings_partition, mask, meta=_findings_meta())
        findings.to_parquet(str(findings_parquet), engine="pyarrow", write_index=False, overwrite=True,
                            schema=_findings_schema())
        timings["write findings parquet"] = time.perf_counter() - started

    started = time.perf_counter()
    say("scoring agents")
    rule_ids = [rule.id for rule in setup.rules if rule.enabled]
    sessions = audited[audited["kind"] == "s"][SESSION_ROW_NAMES]
    scored_rows = audited[audited["kind"].isin(["s", "p"])][SESSION_ROW_NAMES]  # sessions and parts
    agent_frame = scored_rows.shuffle(on="agent", npartitions=max(1, min(count, 8))).map_partitions(
        _agents_partition, rule_ids, setup.credit_ids(), meta=_meta(AGENT_FIELDS))
    agents = agents_frame(agent_frame.compute())
    timings["scorecards"] = time.perf_counter() - started

    started = time.perf_counter()
    if not collect:
        kinds = audited["kind"].value_counts().compute()
        finding_rows = audited[audited["kind"] == "f"]
        by_rule = finding_rows["rule"].value_counts().compute()
        by_severity = finding_rows["severity"].value_counts().compute()
        total = int(sessions["messages"].sum().compute())
        rejected = len(staged.accounting.rejected) if plan.exports else int(kinds.get("r", 0))
        counts = {
            "messages": total, "sessions": int(kinds.get("s", 0)), "findings": int(kinds.get("f", 0)),
            "by_rule": {str(k): int(v) for k, v in by_rule.items()},
            "by_severity": {str(k): int(v) for k, v in by_severity.items()}, "rejected": rejected,
            "input_rows": staged.accounting.input_rows if plan.exports else total + rejected,
            "collect_limit": collect_limit,
        }
        timings["counts"] = time.perf_counter() - started
        return EngineOutcome(None, agents, counts, str(findings_parquet))
    say("collecting results")
    rows = conform(audited.compute(), ROW_FIELDS)
    chosen = chosen_sessions(rows)
    if chosen:
        if plan.exports:
            picked = messages[messages["session_id"].isin(chosen)].compute()
        else:  # interpret only the records of these sessions
            picked = dd.from_map(_read_piece, pieces, args=(spec, frozenset(chosen)), meta=_meta(MESSAGE_FIELDS)).compute()
        picked = picked[(picked["kind"] == "m").to_numpy() & picked["session_id"].isin(chosen).to_numpy()]
    else:
        picked = pd.DataFrame({name: [] for name in MESSAGE_NAMES})
    transcripts = to_messages(conform(picked, MESSAGE_FIELDS), setup.timezone)
    if plan.exports:
        accounting = staged.accounting
    else:
        accounting = parquet_accounting(rows, spec, files, int(rows_of(rows, "s")["messages"].sum()))
    result = assemble_rows(rows, agents, transcripts, accounting, setup=setup, options=options, inputs=list(inputs))
    timings["collect"] = time.perf_counter() - started
    return EngineOutcome(result, agents, {}, str(findings_parquet) if findings_parquet else None)


def _findings_schema() -> pa.Schema:
    kinds = {"str": pa.string(), "int": pa.int64(), "time": pa.timestamp("us", tz="UTC")}
    return pa.schema([(name, kinds[kind]) for name, kind in FINDINGS_PARQUET_FIELDS])


def _findings_meta() -> pd.DataFrame:
    meta = {}
    for name, kind in FINDINGS_PARQUET_FIELDS:
        if kind == "str":
            meta[name] = pd.Series([], dtype=object)
        elif kind == "int":
            meta[name] = pd.Series([], dtype=np.int64)
        else:
            meta[name] = pd.Series([], dtype=pd.DatetimeTZDtype("us", "UTC"))
    return pd.DataFrame(meta)


__all__ = ["MESSAGE_SCHEMA", "audit_dask", "dask_scheduler", "unavailable_reason"]
