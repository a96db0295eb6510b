"""The Spark engine: ``qa audit --engine spark`` (``pip install 'qa[spark]'``, Java 17+).

The plan, for exports and Parquet alike::

    messages (MESSAGE_FIELDS)                 exports: staged by the driver (qa ingest)
                                              Parquet / --table: read here, interpreted per batch
      .repartition(session_id)                every session in one partition
      .sortWithinPartitions(session, time, seq, input order)
      .mapInPandas(audit_batches)             session_batches carries a session cut at a batch
                                              boundary into the next batch; audit_rows per
                                              ~100k rows; declared schema ROW_FIELDS
      .persist()
    findings   -> --findings-parquet (masked like every output, TIMESTAMP_MICROS)
    sessions, parts -> groupBy(agent).applyInPandas(agent_rows)     the scorecards
    collected  -> qa.engines.common.assemble_rows -> AuditResult     when <= collect_limit messages

Traps of pyspark 4.x with pandas 3 handled here: pandas str columns returned from a UDF do
not always serialize (every string column is cast to object); pyspark warns once per call
that pandas 3 is not fully supported (silenced on the driver and, through
``spark.executorEnv.PYTHONWARNINGS``, on the workers); workers must run this Python
(``PYSPARK_PYTHON``); timestamps reach pandas naive in the session time zone and nullable
longs reach it as float64 — so times travel as int64 UTC nanoseconds with a NaT sentinel
and the driver collects through Arrow (``toArrow``); the session time zone is UTC and
Parquet timestamps are written as TIMESTAMP_MICROS so they round-trip.
"""

from __future__ import annotations

import math
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import warnings
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

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
    audit_batches,
    chosen_sessions,
    collects_results,
    conform,
    default_partitions,
    findings_parquet_rows,
    make_setup,
    rows_of,
    to_messages,
    with_times,
)
from qa.engines.inputs import (
    interpret_cells,
    local_path,
    parquet_accounting,
    parquet_spec,
    plan_inputs,
    stage_exports,
    time_column,
)
from qa.engines.options import COLLECT_LIMIT
from qa.errors import QAError
from qa.outputs import owned_temp_dir

PANDAS3_WARNING = "PySpark does not yet fully support pandas"
warnings.filterwarnings("ignore", message=PANDAS3_WARNING, category=FutureWarning)

#: Settings qa needs or prefers; ``--spark-conf`` wins over them.
DEFAULT_CONF = {
    "spark.sql.session.timeZone": "UTC",
    "spark.sql.parquet.outputTimestampType": "TIMESTAMP_MICROS",
    "spark.sql.execution.arrow.pyspark.enabled": "true",
    "spark.sql.adaptive.enabled": "true",
    "spark.ui.showConsoleProgress": "false",
    "spark.executorEnv.PYTHONWARNINGS": f"ignore:{PANDAS3_WARNING}:FutureWarning",
}
#: Settings for tests and small local runs (one or two cores, small inputs).
LOCAL_TEST_CONF = {
    "spark.sql.shuffle.partitions": "4",
    "spark.default.parallelism": "2",
    "spark.ui.enabled": "false",
    "spark.driver.memory": "1g",
    "spark.sql.adaptive.coalescePartitions.initialPartitionNum": "4",
}
_LOG4J = """\
rootLogger.level = error
rootLogger.appenderRef.stderr.ref = console
appender.console.type = Console
appender.console.name = console
appender.console.target = SYSTEM_ERR
appender.console.layout.type = PatternLayout
appender.console.layout.pattern = %d{yy/MM/dd HH:mm:ss} %p %c{1}: %m%n
# PySpark counts as a shell: without these Spark resets the level to WARN and says so.
logger.repl.name = org.apache.spark.repl.Main
logger.repl.level = error
logger.gateway.name = org.apache.spark.api.python.PythonGatewayServer
logger.gateway.level = error
"""
MIN_JAVA = 17
#: Sessions per scorecard group (a group is one pandas frame on one worker).
SESSIONS_PER_BUCKET = 500_000


# --------------------------------------------------------------------------- availability


def java_version() -> int | None:
    """Major version of the Java that Spark would start (JAVA_HOME, else PATH), or None."""
    home = os.environ.get("JAVA_HOME")
    java = os.path.join(home, "bin", "java") if home else shutil.which("java")
    if not java or not os.path.exists(java):
        return None
    try:
        completed = subprocess.run([java, "-version"], capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.SubprocessError):
        return None
    found = re.search(r'version "(\d+)(?:\.(\d+))?', completed.stderr + completed.stdout)
    if not found:
        return None
    major = int(found.group(1))
    return int(found.group(2) or 0) if major == 1 else major  # "1.8.0" is Java 8


def unavailable_reason() -> str | None:
    """Why the Spark engine cannot run here (None when it can)."""
    try:
        import pyspark  # noqa: F401
    except ImportError:
        return "pyspark is not installed (pip install 'qa[spark]')"
    version = java_version()
    if version is None:
        return f"no Java found (Spark needs Java {MIN_JAVA}+; set JAVA_HOME or put java on PATH)"
    if version < MIN_JAVA:
        return f"Java {version} found, Spark needs Java {MIN_JAVA}+"
    return None


# --------------------------------------------------------------------------- session


def spark_session(master: str | None = None, conf: dict[str, str] | None = None, *, app_name: str = "qa audit"):
    """The active SparkSession, or a new one: ``master`` (default: what spark-submit set,
    else ``local[*]``), :data:`DEFAULT_CONF` under ``conf``, quiet logs (errors only)."""
    reason = unavailable_reason()
    if reason:
        raise QAError(f"--engine spark: {reason}")
    # Workers must run this interpreter (and its qa); a cluster sets spark.pyspark.python.
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    os.environ.setdefault("PYSPARK_DRIVER_PYTHON", sys.executable)
    from pyspark import SparkContext
    from pyspark.sql import SparkSession

    settings = {**DEFAULT_CONF, **(conf or {})}
    under_submit = "PYSPARK_GATEWAY_PORT" in os.environ  # spark-submit started us: its master and JVM
    builder = SparkSession.builder.appName(app_name)
    if master:
        builder = builder.master(master)
    elif not under_submit and "spark.master" not in settings:
        builder = builder.master("local[*]")
    if not under_submit and SparkContext._gateway is None:  # the JVM starts now: quiet logs
        settings["spark.driver.extraJavaOptions"] = (
            settings.get("spark.driver.extraJavaOptions", "") + f" -Dlog4j2.configurationFile={_log4j_file()}"
        ).strip()
    for key, value in settings.items():
        builder = builder.config(key, value)
    session = builder.getOrCreate()
    session.sparkContext.setLogLevel("ERROR")
    for key, value in settings.items():  # an existing session keeps its static settings
        if key.startswith("spark.sql.") and session.conf.get(key, None) != value:
            try:
                session.conf.set(key, value)
            except Exception:  # static SQL settings cannot change on a running session
                pass
    return session


def _log4j_file() -> str:
    path = Path(tempfile.gettempdir()) / "qa-spark-log4j2.properties"
    if not path.exists() or path.read_text() != _LOG4J:
        path.write_text(_LOG4J)
    return str(path)


# --------------------------------------------------------------------------- schemas


def struct(fields: Sequence[tuple[str, str]]):
    """The Spark schema of engine fields."""
    from pyspark.sql import types as T

    kinds = {"str": T.StringType(), "int": T.LongType(), "float": T.DoubleType(), "bool": T.BooleanType()}
    return T.StructType([T.StructField(name, kinds[kind], nullable=True) for name, kind in fields])


def _quiet() -> None:
    warnings.filterwarnings("ignore", message=PANDAS3_WARNING, category=FutureWarning)


def _audit_udf(setup: AuditSetup) -> Callable[[Iterator[pd.DataFrame]], Iterator[pd.DataFrame]]:
    def run(batches: Iterator[pd.DataFrame]) -> Iterator[pd.DataFrame]:
        _quiet()
        yield from audit_batches(batches, setup)

    return run


def _interpret_udf(spec) -> Callable[[Iterator[pd.DataFrame]], Iterator[pd.DataFrame]]:
    def run(batches: Iterator[pd.DataFrame]) -> Iterator[pd.DataFrame]:
        _quiet()
        for batch in batches:
            if not len(batch):
                continue
            files = np.array([local_path(f) for f in batch["_file"].tolist()], dtype=object)
            yield interpret_cells(batch[spec.header], files, batch["_row"].to_numpy(np.int64), spec)

    return run


def _agents_udf(rule_ids: list[str], credit_ids: list[str]) -> Callable[[pd.DataFrame], pd.DataFrame]:
    def run(sessions: pd.DataFrame) -> pd.DataFrame:
        _quiet()
        return agent_rows(sessions, rule_ids, credit_ids)

    return run


def _parquet_udf(mask: bool) -> Callable[[Iterator[pd.DataFrame]], Iterator[pd.DataFrame]]:
    def run(batches: Iterator[pd.DataFrame]) -> Iterator[pd.DataFrame]:
        _quiet()
        for batch in batches:
            yield conform(findings_parquet_rows(batch, mask), _PARQUET_ROW_FIELDS)

    return run


def _collect(frame) -> pd.DataFrame:
    """A Spark DataFrame on the driver through Arrow (longs stay exact)."""
    return frame.toArrow().to_pandas()


# --------------------------------------------------------------------------- the audit


def audit_spark(
    inputs: Sequence[str],
    options=None,
    rules=None,
    *,
    table: str | None = None,
    spark=None,
    master: str | None = None,
    conf: dict[str, str] | None = None,
    partitions: int | None = None,
    findings_parquet: str | None = None,
    work_dir: str | Path | None = None,
    collect_limit: int = COLLECT_LIMIT,
    rows_per_call: int = ROWS_PER_CALL,
    mask: bool = True,
    timings: dict[str, float] | None = None,
    progress: Callable[[str], None] | None = None,
) -> EngineOutcome:
    """Audit ``inputs`` (exports, or Parquet paths/URIs) or the catalog ``table`` on Spark.

    The result (``outcome.result``) is exactly :func:`qa.audit.run.audit`'s for exports;
    it is collected when the audit has at most ``collect_limit`` messages, otherwise only
    the scorecards and counts come back and ``findings_parquet`` is required (checked
    before the audit). ``spark``: a session to use (else :func:`spark_session` with
    ``master`` and ``conf``); ``partitions``: session partitions (default: Spark's adaptive
    choice); ``work_dir``: where exports are staged (shared storage on a cluster).
    """
    from pyspark import StorageLevel
    from pyspark.sql import functions as F

    from qa.audit.run import AuditOptions

    options = options or AuditOptions()
    timings = timings if timings is not None else {}
    say = progress or (lambda _line: None)
    setup = make_setup(options, rules, rows_per_call)
    plan = plan_inputs(inputs, table)

    started = time.perf_counter()
    session = spark or spark_session(master, conf)
    timings["engine start"] = time.perf_counter() - started

    master = session.sparkContext.master
    if plan.exports and work_dir is None and not master.startswith("local"):
        raise QAError(f"CSV/XLSX inputs are staged as Parquet on this machine, which the executors of {master} "
                      "do not see: give --work-dir on storage they share (an NFS mount), or audit the Parquet "
                      "dataset or table the exports were loaded into")
    work = owned_temp_dir("qa-spark-", work_dir) if plan.exports else None
    audited = None
    try:
        started = time.perf_counter()
        if plan.exports:
            staged = stage_exports(plan.exports, options, work / "messages", progress=say)
            setup.context = with_times(setup.context, staged.accounting.has_timestamps and staged.any_time)
            messages = (session.read.schema(struct(MESSAGE_FIELDS)).parquet(*staged.files) if staged.files
                        else session.createDataFrame([], struct(MESSAGE_FIELDS)))
            expected = staged.messages
            spec = files = cells = None
        else:
            messages, spec, files, expected, cells = _parquet_messages(session, plan, options)
            setup.context = with_times(setup.context, spec.has_times)
        timings["read"] = time.perf_counter() - started
        collect = collects_results(expected, collect_limit, findings_parquet)

        started = time.perf_counter()
        say("auditing sessions")
        # An explicit count: Spark's adaptive coalescing does not reach through the persisted
        # mapInPandas, and 200 small shuffle partitions cost a rule setup each.
        cores = session.sparkContext.defaultParallelism
        count = partitions or default_partitions(expected, minimum=cores)
        ordered = messages.repartition(count, "session_id").sortWithinPartitions("session_id", "ts_ns", "seq",
                                                                                 "input_order")
        audited = ordered.mapInPandas(_audit_udf(setup), struct(ROW_FIELDS)).persist(StorageLevel.MEMORY_AND_DISK)
        audited.count()  # the audit runs here, once; every later step reads the persisted rows
        timings["audit"] = time.perf_counter() - started

        if findings_parquet:
            started = time.perf_counter()
            say(f"writing {findings_parquet}")
            findings = audited.where(F.col("kind") == "f").mapInPandas(_parquet_udf(mask), _parquet_struct_raw())
            findings = findings.withColumn(
                "timestamp",
                F.when(F.col("timestamp") == F.lit(NAT), F.lit(None)).otherwise(
                    F.timestamp_micros(F.floor(F.col("timestamp") / F.lit(1000)).cast("long"))),
            )
            findings.write.mode("overwrite").parquet(str(findings_parquet))
            timings["write findings parquet"] = time.perf_counter() - started

        started = time.perf_counter()
        say("scoring agents")
        rule_ids = [rule.id for rule in setup.rules if rule.enabled]
        # groupBy agent bucket, not agent: applyInPandas calls once per group and a call costs
        # ~9 ms (90 s per 10,000 agents); a bucket holds many agents and score_agents groups
        # them itself, with the same arithmetic per agent.
        buckets = max(cores, math.ceil(expected / SESSIONS_PER_BUCKET / 10))
        agent_frame = (audited.where(F.col("kind").isin("s", "p")).select(*SESSION_ROW_NAMES)
                       .withColumn("_bucket", F.pmod(F.hash("agent"), F.lit(buckets)))
                       .groupBy("_bucket").applyInPandas(_agents_udf(rule_ids, setup.credit_ids()), struct(AGENT_FIELDS)))
        agents = agents_frame(_collect(agent_frame))
        timings["scorecards"] = time.perf_counter() - started

        started = time.perf_counter()
        if not collect:
            counts = _counts(audited, collect_limit)
            if plan.exports:  # rejected rows of exports stayed with the driver
                counts["rejected"] = len(staged.accounting.rejected)
                counts["input_rows"] = staged.accounting.input_rows
            outcome = EngineOutcome(None, agents, counts, str(findings_parquet))
            timings["counts"] = time.perf_counter() - started
            return outcome
        say("collecting results")
        rows = _collect(audited)
        chosen = chosen_sessions(rows)
        picked = pd.DataFrame({name: [] for name in MESSAGE_NAMES})
        if chosen and plan.exports:
            picked = _collect(messages.where(F.col("session_id").isin(chosen)))
        elif chosen:  # interpret only the records that may belong to these sessions
            sid = F.col(f"`{spec.header[spec.columns.positions['session_id']]}`")
            near = cells.where(sid.rlike("|".join(re.escape(c) for c in chosen)))
            picked = _collect(near.mapInPandas(_interpret_udf(spec), struct(MESSAGE_FIELDS)))
        picked = picked[(picked["kind"] == "m").to_numpy() & picked["session_id"].isin(chosen).to_numpy()]
        transcripts = to_messages(picked, setup.timezone)
        if plan.exports:
            accounting = staged.accounting
        else:
            audited_messages = int(rows_of(rows, "s")["messages"].sum())
            accounting = parquet_accounting(rows, spec, files, audited_messages)
        result = assemble_rows(rows, agents, transcripts, accounting, setup=setup, options=options,
                          inputs=list(inputs) or ([table] if table else []))
        timings["collect"] = time.perf_counter() - started
        return EngineOutcome(result, agents, {}, str(findings_parquet) if findings_parquet else None)
    finally:
        if audited is not None:
            audited.unpersist()
        if work is not None:
            shutil.rmtree(work, ignore_errors=True)


def _parquet_messages(session, plan, options):
    """Messages of a Parquet dataset or table: its columns as text (Spark SQL), its file
    and row, interpreted per batch by qa's ingest code."""
    from pyspark.sql import functions as F
    from pyspark.sql import types as T

    try:
        raw = session.table(plan.table) if plan.table else session.read.parquet(*plan.parquet)
    except Exception as error:
        if "TIMESTAMP(NANOS" in str(error):  # pandas writes nanoseconds unless told otherwise
            raise QAError(f"Spark cannot read the nanosecond timestamps of {plan.label}; write them as "
                          "TIMESTAMP_MICROS (pyarrow: coerce_timestamps='us'; Spark does by default)") from None
        raise
    spec = parquet_spec(raw.columns, options, plan.label)
    try:
        located = raw.select("*", F.col("_metadata.file_path").alias("_file"),
                             (F.col("_metadata.row_index") + F.lit(1)).alias("_row"))
        located.schema  # noqa: B018 - resolves _metadata now
    except Exception:  # a source without file metadata (a view, JDBC...): the table and read order
        located = raw.select("*", F.lit(plan.table or plan.label).alias("_file"),
                             (F.monotonically_increasing_id() + F.lit(1)).alias("_row"))
    columns = []
    for name in spec.header:
        kind = raw.schema[name].dataType
        column = F.col(f"`{name}`")
        if isinstance(kind, T.TimestampType):
            text = F.date_format(column, "yyyy-MM-dd'T'HH:mm:ss.SSSSSSXXX")
        elif isinstance(kind, T.TimestampNTZType):
            text = F.date_format(column, "yyyy-MM-dd HH:mm:ss.SSSSSS")
        elif isinstance(kind, T.StringType):
            text = column
        else:
            text = column.cast("string")
        columns.append(F.coalesce(text, F.lit("")).alias(name))
    cells = located.select(*columns, "_file", "_row")
    time_name = time_column(spec)
    has_times = bool(time_name) and bool(cells.where(F.trim(F.col(f"`{time_name}`")) != "").limit(1).count())
    files = sorted(local_path(f) for f in raw.inputFiles()) or [plan.table or plan.label]
    spec = spec.with_files(files, has_times)
    messages = cells.mapInPandas(_interpret_udf(spec), struct(MESSAGE_FIELDS))
    return messages, spec, files, raw.count(), cells


_PARQUET_ROW_FIELDS = [(name, "int" if kind == "time" else kind) for name, kind in FINDINGS_PARQUET_FIELDS]


def _parquet_struct_raw():
    from pyspark.sql import types as T

    kinds = {"str": T.StringType(), "int": T.LongType(), "time": T.LongType()}
    return T.StructType([T.StructField(name, kinds[kind], True) for name, kind in FINDINGS_PARQUET_FIELDS])


def _counts(audited, collect_limit: int) -> dict:
    from pyspark.sql import functions as F

    by_kind = {row["kind"]: row for row in audited.groupBy("kind").agg(
        F.count(F.lit(1)).alias("n"), F.sum("messages").alias("messages")).collect()}
    by_rule_severity = audited.where(F.col("kind") == "f").groupBy("rule", "severity").agg(
        F.count(F.lit(1)).alias("n")).collect()
    by_rule: dict[str, int] = {}
    by_severity: dict[str, int] = {}
    for row in by_rule_severity:
        by_rule[row["rule"]] = by_rule.get(row["rule"], 0) + int(row["n"])
        by_severity[row["severity"]] = by_severity.get(row["severity"], 0) + int(row["n"])
    messages = int(by_kind["s"]["messages"] or 0) if "s" in by_kind else 0
    rejected = int(by_kind["r"]["n"]) if "r" in by_kind else 0
    return {
        "messages": messages,
        "sessions": int(by_kind["s"]["n"]) if "s" in by_kind else 0,
        "findings": int(by_kind["f"]["n"]) if "f" in by_kind else 0,
        "by_rule": by_rule,
        "by_severity": by_severity,
        "rejected": rejected,
        "input_rows": messages + rejected,
        "collect_limit": collect_limit,
    }
