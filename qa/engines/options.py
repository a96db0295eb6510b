"""What the CLI sets for an engine (``--engine`` and its companions), checked before any input is
read. Nothing here imports pandas (:mod:`qa.engines.common` does): a usage error is told at once."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from qa.errors import QAError

ENGINES = ("pandas", "dask", "spark")

#: Audited messages above which an engine leaves the results on the cluster (findings as
#: Parquet) instead of collecting them into the workbook and JSON.
COLLECT_LIMIT = 10_000_000


@dataclass(frozen=True)
class EngineOptions:
    """How to run an audit on an engine (the CLI's --engine and its companions)."""

    engine: str = "pandas"
    spark_master: str | None = None
    spark_conf: dict[str, str] = field(default_factory=dict)
    dask_scheduler: str | None = None
    table: str | None = None
    findings_parquet: Path | None = None
    partitions: int | None = None
    work_dir: Path | None = None
    collect_limit: int = COLLECT_LIMIT

    def check(self) -> None:
        """Refuse option combinations that cannot work, before any input is read."""
        if self.engine not in ENGINES:
            raise QAError(f"unknown engine '{self.engine}'; engines: {', '.join(ENGINES)}")
        if self.engine != "spark" and (self.spark_master or self.spark_conf or self.table):
            raise QAError("--spark-master, --spark-conf and --table need --engine spark")
        if self.engine != "dask" and self.dask_scheduler:
            raise QAError("--dask-scheduler needs --engine dask")


def parse_conf(pairs) -> dict[str, str]:
    """``--spark-conf KEY=VALUE`` pairs as a dict (QAError on a malformed pair)."""
    conf: dict[str, str] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise QAError(f"--spark-conf '{pair}' is not KEY=VALUE (e.g. spark.executor.memory=4g)")
        conf[key.strip()] = value.strip()
    return conf
