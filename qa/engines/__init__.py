"""Cluster engines: the same audit on Spark or Dask, with exactly the in-process results.

``qa audit --engine pandas|dask|spark`` (default pandas, the in-process path of
:mod:`qa.audit.run` / :mod:`qa.audit.outofcore`). The engines are optional extras
(``pip install 'qa[spark]'``, ``'qa[dask]'``); nothing here imports them until used.

Every engine runs the core contract (:func:`qa.audit.partition.audit_partition`: a frame of whole
sessions in, findings plus one row per session out) once per partition of many sessions,
and merges the partitions as :mod:`qa.engines.common` describes. :func:`run_engine` is what
the CLI calls.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from qa.engines.options import COLLECT_LIMIT, ENGINES, EngineOptions, parse_conf
from qa.errors import QAError

if TYPE_CHECKING:
    from qa.engines.common import EngineOutcome

# Nothing here imports pandas at import: the CLI builds and checks EngineOptions (qa.engines.options)
# before any input is read, and qa.engines.common is imported when an engine runs.


def unavailable_reason(engine: str) -> str | None:
    """Why ``engine`` cannot run here (None when it can): missing package or Java."""
    if engine == "spark":
        from qa.engines.spark import unavailable_reason as spark_reason

        return spark_reason()
    if engine == "dask":
        from qa.engines.dask import unavailable_reason as dask_reason

        return dask_reason()
    return None


def run_engine(
    inputs: Sequence[str],
    options,
    rules,
    engine_options: EngineOptions,
    *,
    mask: bool = True,
    timings: dict[str, float] | None = None,
    progress: Callable[[str], None] | None = None,
) -> EngineOutcome:
    """Audit on the Spark or Dask engine (``engine_options.engine``). ``outcome.result`` is the
    usual :class:`qa.model.AuditResult` (write the workbook and JSON from it as always) unless
    the audit was too large to collect; then ``outcome.summary_lines()`` says what was done.
    ``mask`` applies to the findings Parquet (the other outputs mask when written)."""
    engine_options.check()
    engine = engine_options.engine
    if engine == "pandas":
        raise QAError("run_engine runs the cluster engines; the pandas engine is qa.audit.run.audit")
    reason = unavailable_reason(engine)
    if reason:
        raise QAError(f"--engine {engine}: {reason}")
    parquet = str(engine_options.findings_parquet) if engine_options.findings_parquet else None
    common = dict(partitions=engine_options.partitions, findings_parquet=parquet, work_dir=engine_options.work_dir,
                  collect_limit=engine_options.collect_limit, mask=mask, timings=timings, progress=progress)
    if engine == "spark":
        from qa.engines.spark import audit_spark

        return audit_spark(list(inputs), options, rules, table=engine_options.table,
                           master=engine_options.spark_master, conf=dict(engine_options.spark_conf), **common)
    from qa.engines.dask import audit_dask

    return audit_dask(list(inputs), options, rules, scheduler=engine_options.dask_scheduler, **common)


def write_result_findings_parquet(result, path: Path | str, *, mask: bool = True) -> None:
    """``--findings-parquet`` for the pandas engine: the result's findings in the layout the
    cluster engines write (one Parquet file)."""
    from qa.engines.common import result_finding_rows, write_findings_parquet

    rows = result_finding_rows(result)
    if mask and len(rows):  # the session and agent names the workbook and JSON show
        from qa.mask import result_masker

        masker = result_masker(result, mask)
        rows = rows.assign(session_id=masker.sessions(rows["session_id"]).to_numpy(dtype=object),
                           agent=masker.agents(rows["agent"]).to_numpy(dtype=object))
    write_findings_parquet(rows, path, mask)


def __getattr__(name: str):
    """``EngineOutcome`` on first use: it lives in :mod:`qa.engines.common`, which imports pandas,
    and this package is imported for :class:`EngineOptions` before any input is read."""
    if name == "EngineOutcome":
        from qa.engines.common import EngineOutcome

        return EngineOutcome
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = ["COLLECT_LIMIT", "ENGINES", "EngineOptions", "EngineOutcome", "parse_conf", "run_engine", "unavailable_reason",
           "write_result_findings_parquet"]
