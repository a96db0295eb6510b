"""The cluster engines (qa.engines) give exactly the in-process results.

pandas (qa.audit.run.audit), Dask (synchronous scheduler) and Spark (local mode, one session
for the module) audit the same ~10k-message benchmark log; the JSON documents
(build_result, masked and not), the findings (message ids too), sessions, agents, rejected
rows, notes and the workbook must be identical, and so must the findings Parquet. Parquet
inputs (the warehouse case) give the same audit, except that a finding's file and row are the
Parquet file's. Spark tests skip, with the reason shown, without pyspark or Java 17+.
"""

from __future__ import annotations

import sys
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pa_csv
import pyarrow.parquet as pq
import pytest
from helpers import assert_same_workbook
from hypothesis import given, settings
from hypothesis import strategies as st

from qa.audit.run import AuditOptions, audit
from qa.engines import EngineOptions, run_engine, unavailable_reason, write_result_findings_parquet
from qa.engines.common import (
    MESSAGE_FIELDS,
    ROW_FIELDS,
    audit_rows,
    conform,
    make_setup,
    message_rows,
    rows_of,
    session_batches,
)
from qa.errors import QAError
from qa.ingest import ORDER_COLUMN, load_inputs
from qa.report.json_report import build_result

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = sorted(str(p) for p in (ROOT / "samples").iterdir() if p.suffix in (".csv", ".tsv", ".xlsx"))
# Every rule fires on this log (test_log_exercises_every_rule); a larger one only costs time.
LOG_MESSAGES = 10_000

sys.path.insert(0, str(ROOT / "benchmarks"))
from generate import Plan, write_log  # noqa: E402

# pyspark 4 on pandas 3 warns at every call that pandas 3 is not fully supported. The module
# starts Spark and Dask and audits a 10k log several times: it runs with -m slow (.ci/run).
pytestmark = [pytest.mark.filterwarnings("ignore:PySpark does not yet fully support pandas:FutureWarning"),
              pytest.mark.slow]


@pytest.fixture(scope="module")
def log(tmp_path_factory) -> str:
    path = tmp_path_factory.mktemp("log") / "log.csv"
    write_log(Plan(LOG_MESSAGES, seed=11), path)
    return str(path)


@pytest.fixture(scope="module")
def small_log(tmp_path_factory) -> str:
    """A short log for the CLI's wiring: the engines' equivalence on the 10k log is tested above."""
    path = tmp_path_factory.mktemp("small-log") / "log.csv"
    write_log(Plan(1_500, seed=11), path)
    return str(path)


@pytest.fixture(scope="module")
def transfer_log(tmp_path_factory) -> str:
    """Sessions transferred between agents (tests/test_transfer.py's chat) among the samples'
    and many more: agents are scored on their parts (qa.score.score_parts)."""
    from test_transfer import CHAT

    extra = "".join(f"U{i},2026-11-20 14:{i % 60:02d}:00,customer,,在吗\n"
                    f"U{i},2026-11-20 14:{i % 60:02d}:10,agent,{'阿杰' if i % 2 else '小美'},{'你有病吧' if i % 3 == 0 else '在的亲'}\n"
                    f"U{i},2026-11-20 14:{i % 60:02d}:20,agent,{'小美' if i % 4 == 1 else '阿杰'},好的\n" for i in range(60))
    path = tmp_path_factory.mktemp("transfer") / "transfer.csv"
    path.write_text(CHAT + extra, encoding="utf-8")
    return str(path)


@pytest.fixture(scope="module")
def expected(log, rules):
    """The in-process (pandas engine) result of the log."""
    return audit([log], AuditOptions(), rules=rules)


@pytest.fixture(scope="module")
def parquet_log(log, tmp_path_factory) -> str:
    """The log as a Parquet dataset of two files with several row groups, every column text
    (as a warehouse table loaded from the exports would hold it), in the CSV's row order."""
    folder = tmp_path_factory.mktemp("parquet") / "chats"
    folder.mkdir()
    table = pa_csv.read_csv(log, convert_options=pa_csv.ConvertOptions(
        column_types={name: pa.string() for name in ("session_id", "timestamp", "role", "agent", "text")},
        strings_can_be_null=False))
    half = table.num_rows // 2
    pq.write_table(table.slice(0, half), folder / "part-0.parquet", row_group_size=3000)
    pq.write_table(table.slice(half), folder / "part-1.parquet", row_group_size=3000)
    return str(folder)


def assert_same(got, expected, workbook_dir: Path | None = None) -> None:
    """Identical JSON (masked and not), findings with ids, sessions, agents and accounting."""
    assert build_result(got) == build_result(expected)
    assert build_result(got, mask=False) == build_result(expected, mask=False)
    pd.testing.assert_frame_equal(got.findings, expected.findings)
    pd.testing.assert_frame_equal(got.sessions, expected.sessions)
    if expected.parts is not None and len(expected.parts):  # the parts of transferred sessions
        pd.testing.assert_frame_equal(got.parts, expected.parts)
    pd.testing.assert_frame_equal(got.agents, expected.agents)
    pd.testing.assert_frame_equal(got.ingest.rejected, expected.ingest.rejected)
    assert got.skipped_rules == expected.skipped_rules
    assert got.ingest.notes == expected.ingest.notes
    assert got.ingest.input_rows == expected.ingest.input_rows
    assert got.ingest.files == expected.ingest.files
    assert len(got.ingest.messages) == len(expected.ingest.messages)
    # The sparse message table holds the transcripts' messages at their global ids.
    mine, theirs = got.ingest.messages, expected.ingest.messages
    kept = mine["session_id"].notna().to_numpy()
    assert kept.any() == bool(len(expected.findings))
    for name in ("session_id", "text", "role", "agent", "norm"):
        assert mine[name][kept].astype("str").tolist() == theirs[name][kept].tolist(), name
    pd.testing.assert_series_equal(mine["timestamp"][kept], theirs["timestamp"][kept])
    for extreme in ("min", "max"):  # the period: the earliest and the latest time (NaT when none)
        mine_value, their_value = getattr(mine["timestamp"], extreme)(), getattr(theirs["timestamp"], extreme)()
        assert mine_value == their_value or (pd.isna(mine_value) and pd.isna(their_value))
    if workbook_dir is not None:
        assert_same_workbook(expected, got, workbook_dir)


def without_locations(document: dict) -> dict:
    """A JSON document without what depends on the input's format (file, row, finding id)."""
    def strip(records):
        return [{k: v for k, v in r.items() if k not in ("id", "file", "row")} for r in records]

    return {**document, "findings": strip(document["findings"]), "sessions": strip(document["sessions"]),
            "credits": strip(document.get("credits", [])),
            "rejected": [{k: v for k, v in r.items() if k == "reason"} for r in document["rejected"]]}


def read_findings_parquet(path) -> pd.DataFrame:
    table = pq.read_table(path)
    return table.to_pandas().sort_values(["id", "rule"], kind="stable").reset_index(drop=True)


# --------------------------------------------------------------------------- the shared core (no engine)


def test_log_exercises_every_rule(expected, rules):
    assert set(expected.findings["rule"]) == {rule.id for rule in rules if rule.enabled}
    assert len(expected.ingest.rejected) > 0
    assert len(expected.ingest.messages) > LOG_MESSAGES * 0.95


@settings(max_examples=40, deadline=None)
@given(sizes=st.lists(st.integers(1, 400), min_size=1, max_size=12), rows=st.integers(1, 700))
def test_session_batches_never_cut_a_session(sizes, rows):
    ids = np.repeat([f"s{i:03d}" for i in range(len(sizes))], sizes)
    frame = pd.DataFrame({"session_id": ids, "n": np.arange(len(ids))})
    cuts = np.cumsum([37, 101, 3, 250, 64] * 20)
    bounds = [0, *cuts[cuts < len(frame)].tolist(), len(frame)]
    batches = [frame.iloc[a:b] for a, b in zip(bounds[:-1], bounds[1:])]
    out = list(session_batches((b for b in batches), rows))
    assert pd.concat(out, ignore_index=True)["n"].tolist() == list(range(len(ids)))
    seen: set[str] = set()
    for piece in out:
        here = set(piece["session_id"])
        assert not (here & seen), "a session was cut across two calls"
        seen |= here
    for piece, following in zip(out[:-1], out[1:]):  # a cut only once `rows` rows were gathered
        carried = (following["session_id"] == following["session_id"].iloc[0]).sum()
        assert len(piece) + carried >= rows


def test_audit_rows_of_any_split_merge_to_the_in_process_result(log, rules, expected):
    """The core contract through the engine row format, on arbitrary session partitions."""
    loaded = load_inputs([log])
    messages = loaded.messages.assign(**{ORDER_COLUMN: np.arange(len(loaded.messages))})
    rows = message_rows(messages.sample(frac=1, random_state=3))
    setup = make_setup(AuditOptions(), rules)
    part = pd.util.hash_pandas_object(rows["session_id"], index=False).to_numpy() % 3
    out = pd.concat([audit_rows(rows[part == p], setup) for p in range(3)], ignore_index=True)
    assert sorted(rows_of(out, "f")["finding_id"]) == sorted(f["id"] for f in build_result(expected)["findings"])
    assert len(rows_of(out, "s")) == len(expected.sessions)
    assert list(conform(out, ROW_FIELDS).columns) == [name for name, _ in ROW_FIELDS]


def test_pandas_findings_parquet_layout(expected, tmp_path):
    write_result_findings_parquet(expected, tmp_path / "f.parquet")
    frame = read_findings_parquet(tmp_path / "f.parquet")
    assert len(frame) == len(expected.findings)
    assert str(frame["timestamp"].dtype) == "datetime64[us, UTC]"
    assert (frame["position"] >= 0).all()
    assert ((frame["context_position"] >= -1) & (frame["context_position"] < frame["position"] + 1)).all()


def test_engine_options_are_checked():
    with pytest.raises(QAError, match="need --engine spark"):
        EngineOptions(engine="dask", spark_master="local[2]").check()
    with pytest.raises(QAError, match="needs --engine dask"):
        EngineOptions(engine="spark", dask_scheduler="tcp://x:8786").check()
    with pytest.raises(QAError, match="unknown engine"):
        EngineOptions(engine="ray").check()


# --------------------------------------------------------------------------- Dask


dask_reason = unavailable_reason("dask")
needs_dask = pytest.mark.skipif(bool(dask_reason), reason=f"Dask engine: {dask_reason}")


def dask_run(inputs, rules, **options):
    mask = options.pop("mask", True)
    suppressions = options.pop("suppressions", None)
    engine = EngineOptions(engine="dask", dask_scheduler="sync", **options)
    return run_engine(inputs, AuditOptions(suppressions=suppressions), rules, engine, mask=mask)


@needs_dask
def test_dask_equals_pandas_on_the_log(log, rules, expected, tmp_path):
    outcome = dask_run([log], rules, partitions=5, findings_parquet=tmp_path / "findings")
    assert_same(outcome.result, expected, workbook_dir=tmp_path)
    write_result_findings_parquet(expected, tmp_path / "pandas.parquet")
    pd.testing.assert_frame_equal(read_findings_parquet(tmp_path / "findings"),
                                  read_findings_parquet(tmp_path / "pandas.parquet"))


@needs_dask
@pytest.mark.parametrize("timezone", ["Asia/Shanghai", "America/New_York"])
def test_dask_equals_pandas_on_samples(rules, timezone):
    expected = audit(SAMPLES, AuditOptions(timezone=timezone), rules=rules)
    engine = EngineOptions(engine="dask", dask_scheduler="sync", partitions=3)
    assert_same(run_engine(SAMPLES, AuditOptions(timezone=timezone), rules, engine).result, expected)


@needs_dask
def test_dask_scores_parts_of_transferred_sessions_like_pandas(transfer_log, rules, tmp_path):
    expected = audit([transfer_log], AuditOptions(), rules=rules)
    assert (expected.sessions["agents"].map(len) > 1).sum() > 10
    assert_same(dask_run([transfer_log], rules, partitions=3).result, expected, workbook_dir=tmp_path)


EDGE_FILES = {
    "nothing audited": "session_id,timestamp,role,agent,text\n,2026-11-20 14:03:27,客服,a,x\ns1,2026-11-20 14:03:27,客服,a,  \n",
    "no times": "session_id,role,agent,text\ns1,客服,a,你好\ns1,买家,,在吗\ns2,买家,,我要投诉\n",
}


@needs_dask
@pytest.mark.parametrize("name", list(EDGE_FILES))
def test_dask_edge_inputs(rules, tmp_path, name):
    path = tmp_path / "edge.csv"
    path.write_text(EDGE_FILES[name], encoding="utf-8")
    expected = audit([str(path)], AuditOptions(), rules=rules)
    assert_same(dask_run([str(path)], rules).result, expected)


@needs_dask
def test_dask_on_parquet_gives_the_same_audit(parquet_log, rules, expected):
    got = dask_run([parquet_log], rules, partitions=4).result
    assert without_locations(build_result(got)) == without_locations(build_result(expected))
    assert got.findings["file"].str.endswith(".parquet").all()
    assert got.ingest.input_rows == expected.ingest.input_rows


@needs_dask
def test_dask_result_too_large_to_collect(log, rules, expected, tmp_path):
    with pytest.raises(QAError, match="--findings-parquet"):
        dask_run([log], rules, collect_limit=1000)
    outcome = dask_run([log], rules, collect_limit=1000, findings_parquet=tmp_path / "f", partitions=3)
    assert outcome.result is None
    summary = build_result(expected)["summary"]
    assert outcome.counts["findings"] == summary["findings"]
    assert outcome.counts["messages"] == summary["audited_rows"]
    assert outcome.counts["rejected"] == summary["rejected_rows"]
    assert {r: n for r, n in outcome.counts["by_rule"].items()} == {r: n for r, n in summary["by_rule"].items() if n}
    assert outcome.findings_at_or_above("critical") == int((expected.findings["severity"] == "critical").sum())
    pd.testing.assert_frame_equal(outcome.agents, expected.agents)
    assert len(read_findings_parquet(tmp_path / "f")) == summary["findings"]
    assert any("not collected" in line for line in outcome.summary_lines())


@needs_dask
def test_dask_applies_suppressions_like_pandas(log, rules, expected, tmp_path):
    from qa.suppress import load_suppressions

    texts = expected.findings[expected.findings["rule"] == "emoji-only"]["text"].value_counts().index[:2]
    lines = ["version = 1"] + [f'[[suppress]]\nrule = "emoji-only"\ntext = "{t}"' for t in texts]
    path = tmp_path / "suppress.toml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    suppressions = load_suppressions([path], rules=rules)
    wanted = audit([log], AuditOptions(suppressions=suppressions), rules=rules)
    got = dask_run([log], rules, partitions=4, suppressions=suppressions).result
    assert build_result(wanted)["summary"]["suppressed"]["count"] > 0
    assert_same(got, wanted)


# --------------------------------------------------------------------------- Spark (local mode)


spark_reason = unavailable_reason("spark")


@pytest.fixture(scope="module")
def spark(tmp_path_factory):
    """One local SparkSession (2 cores, small shuffles) for the module."""
    if spark_reason:
        warnings.warn(f"Spark engine tests skipped: {spark_reason}", stacklevel=1)
        pytest.skip(f"Spark engine: {spark_reason}")
    from qa.engines.spark import LOCAL_TEST_CONF, spark_session

    warehouse = tmp_path_factory.mktemp("spark-warehouse")
    session = spark_session("local[2]", {**LOCAL_TEST_CONF, "spark.sql.warehouse.dir": str(warehouse)},
                            app_name="qa tests")
    yield session
    session.stop()


def spark_run(spark, inputs, rules, *, table=None, mask=True, **options):
    from qa.engines.spark import audit_spark

    return audit_spark(inputs, AuditOptions(), rules, spark=spark, table=table, mask=mask, **options)


def test_spark_equals_pandas_on_the_log(spark, log, rules, expected, tmp_path):
    outcome = spark_run(spark, [log], rules, findings_parquet=str(tmp_path / "findings"))
    assert_same(outcome.result, expected, workbook_dir=tmp_path)
    write_result_findings_parquet(expected, tmp_path / "pandas.parquet")
    pd.testing.assert_frame_equal(read_findings_parquet(tmp_path / "findings"),
                                  read_findings_parquet(tmp_path / "pandas.parquet"))


def test_spark_equals_pandas_on_samples_in_small_batches(spark, rules):
    """Tiny batches: sessions are cut at batch boundaries and carried over."""
    expected = audit(SAMPLES, AuditOptions(), rules=rules)
    spark.conf.set("spark.sql.execution.arrow.maxRecordsPerBatch", "7")
    try:
        got = spark_run(spark, SAMPLES, rules, partitions=2, rows_per_call=10).result
    finally:
        spark.conf.unset("spark.sql.execution.arrow.maxRecordsPerBatch")
    assert_same(got, expected)


def test_spark_scores_parts_of_transferred_sessions_like_pandas(spark, transfer_log, rules, tmp_path):
    expected = audit([transfer_log], AuditOptions(), rules=rules)
    assert_same(spark_run(spark, [transfer_log], rules, partitions=3).result, expected, workbook_dir=tmp_path)


@pytest.mark.skipif(bool(dask_reason), reason=f"Dask engine: {dask_reason}")
def test_spark_and_dask_read_parquet_alike(spark, parquet_log, rules, expected, tmp_path):
    got = spark_run(spark, [parquet_log], rules, findings_parquet=str(tmp_path / "spark")).result
    assert without_locations(build_result(got)) == without_locations(build_result(expected))
    by_dask = dask_run([parquet_log], rules, partitions=4, findings_parquet=tmp_path / "dask").result
    assert build_result(got) == build_result(by_dask)  # files and rows too: the same Parquet records
    pd.testing.assert_frame_equal(read_findings_parquet(tmp_path / "spark"), read_findings_parquet(tmp_path / "dask"))


def test_spark_reads_typed_parquet_and_tables(spark, rules, tmp_path):
    """A table with real timestamps (an instant keeps its time zone), a numeric seq and an
    is_agent flag, read as files and as a catalog table."""
    sample = ROOT / "samples" / "qianniu-day.csv"
    loaded = load_inputs([str(sample)])
    messages = loaded.messages
    frame = pd.DataFrame({
        "会话ID": messages["session_id"].astype(object),
        "发送时间": messages["timestamp"].dt.tz_convert("UTC"),
        "是否客服": (messages["role"] == "agent").astype(int),
        "客服": messages["agent"].astype(object),
        "内容": messages["text"].astype(object),
        "seq": np.arange(len(messages), dtype=float),
    })
    frame = frame[messages["role"] != "system"].reset_index(drop=True)
    path = tmp_path / "typed.parquet"
    table = pa.Table.from_pandas(frame, preserve_index=False)
    pq.write_table(table, path)  # pandas' nanoseconds: Spark cannot read them
    with pytest.raises(QAError, match="TIMESTAMP_MICROS"):
        spark_run(spark, [str(path)], rules)
    pq.write_table(table, path, coerce_timestamps="us")
    got = spark_run(spark, [str(path)], rules).result
    assert got.ingest.input_rows == len(frame)
    assert len(got.ingest.rejected) == 0
    expected_times = frame["发送时间"].dt.tz_convert("Asia/Shanghai").sort_values().reset_index(drop=True)
    assert got.ingest.messages["timestamp"].min() == expected_times.iloc[0]
    assert any("roles taken from '是否客服'" in note for note in got.ingest.notes)
    spark.read.parquet(str(path)).write.mode("overwrite").saveAsTable("qa_test_chats")
    try:
        from_table = spark_run(spark, [], rules, table="qa_test_chats").result
    finally:
        spark.sql("DROP TABLE IF EXISTS qa_test_chats")
    assert without_locations(build_result(from_table)) == without_locations(build_result(got))


@pytest.mark.parametrize("name", list(EDGE_FILES))
def test_spark_edge_inputs(spark, rules, tmp_path, name):
    path = tmp_path / "edge.csv"
    path.write_text(EDGE_FILES[name], encoding="utf-8")
    expected = audit([str(path)], AuditOptions(), rules=rules)
    assert_same(spark_run(spark, [str(path)], rules).result, expected)


def test_spark_result_too_large_to_collect(spark, log, rules, expected, tmp_path):
    outcome = spark_run(spark, [log], rules, collect_limit=1000, findings_parquet=str(tmp_path / "f"))
    assert outcome.result is None
    summary = build_result(expected)["summary"]
    assert outcome.counts["findings"] == summary["findings"]
    assert outcome.counts["sessions"] == summary["sessions"]
    assert outcome.counts["rejected"] == summary["rejected_rows"]
    assert outcome.counts["by_severity"] == expected.findings["severity"].value_counts().to_dict()
    pd.testing.assert_frame_equal(outcome.agents, expected.agents)
    with pytest.raises(QAError, match="--findings-parquet"):
        spark_run(spark, [log], rules, collect_limit=1000)


def test_message_fields_are_the_staged_schema():
    from qa.engines.inputs import MESSAGE_SCHEMA

    assert MESSAGE_SCHEMA.names == [name for name, _ in MESSAGE_FIELDS]


# --------------------------------------------------------------------------- the CLI (qa audit --engine)


def _cli_has_engines() -> bool:
    from qa.cli import audit as audit_command

    return any(param.name == "engine" for param in audit_command.params)


needs_cli = pytest.mark.skipif(not _cli_has_engines(), reason="qa audit has no --engine option yet")


def cli(*args: str):
    from click.testing import CliRunner

    from qa.cli import main

    return CliRunner().invoke(main, ["audit", *args])


@needs_cli
def test_cli_engines_write_the_same_json(spark, small_log, tmp_path):
    """qa audit --engine pandas|dask|spark: byte-identical JSON; --findings-parquet on each."""
    documents = {}
    for engine, extra in (("pandas", []), ("dask", ["--dask-scheduler", "sync"]), ("spark", ["--spark-master", "local[2]"])):
        out = tmp_path / engine
        result = cli(small_log, "--engine", engine, *extra, "-o", str(out / "r.xlsx"), "--json", str(out / "r.json"),
                     "--findings-parquet", str(out / "findings"))
        assert result.exit_code == 0, result.output
        documents[engine] = (out / "r.json").read_bytes()
        assert len(read_findings_parquet(out / "findings")) > 0
    assert documents["dask"] == documents["pandas"]
    assert documents["spark"] == documents["pandas"]


@needs_cli
@needs_dask
def test_cli_engine_errors(log, tmp_path):
    result = cli(log, "--engine", "dask", "--spark-master", "local[2]", "-o", str(tmp_path / "r.xlsx"))
    assert result.exit_code == 2 and "--engine spark" in result.output
    result = cli("--engine", "dask", "-o", str(tmp_path / "r.xlsx"))
    assert result.exit_code == 2 and "--table" in result.output
    result = cli(log, "--engine", "dask", "--out-of-core", "-o", str(tmp_path / "r.xlsx"))
    assert result.exit_code == 2 and "--out-of-core" in result.output
    result = cli(log, "--engine", "spark", "--spark-conf", "nonsense", "-o", str(tmp_path / "r.xlsx"))
    assert result.exit_code == 2 and "KEY=VALUE" in result.output


@needs_cli
@needs_dask
def test_cli_dask_audits_a_folder_past_a_refused_file(small_log, tmp_path):
    """As in memory and out of core: a file the reader refuses in a folder is listed as not read,
    the others are audited, and the run exits 2."""
    import json
    import shutil

    folder = tmp_path / "day"
    folder.mkdir()
    shutil.copy(small_log, folder / "a.csv")
    (folder / "b.csv").write_text("会话ID,时间,发送方类型,内容\nS9,2026-11-20 10:00:00,1,在吗\n"
                                  "S9,2026-11-20 10:01:00,2,在的\nS9,2026-11-20 10:02:00,4,评价邀请\n", encoding="utf-8")
    result = cli(str(folder), "--engine", "dask", "--dask-scheduler", "sync", "-o", str(tmp_path / "r.xlsx"),
                 "--json", str(tmp_path / "r.json"), "--no-history")
    assert result.exit_code == 2 and "1 input file(s) not read" in result.output
    summary = json.loads((tmp_path / "r.json").read_text(encoding="utf-8"))["summary"]
    assert summary["audited_rows"] > 1000 and [f["file"] for f in summary["files_not_read"]] == [str(folder / "b.csv")]
