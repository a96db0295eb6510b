"""Out-of-core audit (qa.audit.outofcore) and streamed ingest (qa.ingest.stream_inputs).

Both are checked against the in-memory path on the same inputs: the streamed chunks must
rebuild load_inputs' tables exactly, and audit_out_of_core must give the same JSON, the same
findings (with the same message ids), sessions, agents and workbook as qa.audit.run.audit,
whatever the number of partitions and the chunk size.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from helpers import assert_same_workbook
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tables import export_rows, write_export

from qa.audit.outofcore import audit_out_of_core, partition_of, worker_count
from qa.audit.partition import audit_partition, sort_messages
from qa.audit.run import AuditOptions, audit
from qa.checks.base import CheckContext
from qa.errors import InputError
from qa.ingest import ORDER_COLUMN, IngestNotes, load_inputs, stream_inputs
from qa.ingest.duplicates import drop_duplicates, note_duplicates
from qa.model import MESSAGE_COLUMNS
from qa.report.json_report import build_result

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = sorted(str(p) for p in (ROOT / "samples").iterdir() if p.suffix in (".csv", ".tsv", ".xlsx"))
EVAL = sorted(str(p) for p in (ROOT / "tests" / "eval").glob("*.csv"))


def streamed(inputs, chunk_rows=3, **options):
    """The streamed chunks put back together the way load_inputs builds its tables (sorted, the
    repeats of earlier messages taken out and noted), and the stream's notes with that note."""
    stream = stream_inputs(inputs, chunk_rows=chunk_rows, **options)
    chunks = list(stream)
    messages = pd.concat([c.messages for c in chunks], ignore_index=True)
    assert (messages[ORDER_COLUMN].to_numpy() == np.arange(len(messages))).all()
    messages = sort_messages(messages)
    messages, repeats = drop_duplicates(messages[MESSAGE_COLUMNS], messages[ORDER_COLUMN].to_numpy())
    rejected = pd.concat([c.rejected for c in chunks] + [repeats], ignore_index=True)
    notes = IngestNotes()
    note_duplicates(repeats, notes)
    return stream, messages, rejected, stream.notes + notes.render()


def assert_streams_like_load(inputs, chunk_rows=3, **options):
    try:
        loaded = load_inputs(inputs, **options)
    except InputError as error:
        with pytest.raises(InputError) as streamed_error:
            streamed(inputs, chunk_rows, **options)
        assert str(streamed_error.value) == str(error)
        return None
    stream, messages, rejected, notes = streamed(inputs, chunk_rows, **options)
    pd.testing.assert_frame_equal(messages, loaded.messages)
    pd.testing.assert_frame_equal(rejected, loaded.rejected)
    assert stream.input_rows == loaded.input_rows
    assert stream.files == loaded.files
    assert stream.has_timestamps == loaded.has_timestamps
    assert notes == loaded.notes
    return loaded


def assert_same_audit(inputs, rules, *, partitions, chunk_rows=5, options=None, workbook_dir=None, jobs=1):
    """audit_out_of_core == audit: JSON, findings (msg ids too), sessions, agents, messages."""
    options = options or AuditOptions()
    expected = audit(inputs, options, rules=rules)
    got = audit_out_of_core(inputs, options, rules, partitions=partitions, chunk_rows=chunk_rows, jobs=jobs)
    assert build_result(got) == build_result(expected)
    assert build_result(got, mask=False) == build_result(expected, mask=False)
    pd.testing.assert_frame_equal(got.findings, expected.findings)
    pd.testing.assert_frame_equal(got.sessions, expected.sessions)
    pd.testing.assert_frame_equal(got.parts, expected.parts)  # of the transferred sessions (some samples have them)
    pd.testing.assert_frame_equal(got.agents, expected.agents)
    assert got.skipped_rules == expected.skipped_rules
    assert got.ingest.notes == expected.ingest.notes
    assert got.ingest.input_rows == expected.ingest.input_rows
    pd.testing.assert_frame_equal(got.ingest.rejected, expected.ingest.rejected)
    # The compact message table: same rows, ids and values; texts only where kept.
    mine, theirs = got.ingest.messages, expected.ingest.messages
    assert list(mine.columns) == list(theirs.columns)
    assert mine.index.equals(theirs.index)
    for name in ("session_id", "role", "agent", "source_file", "source_sheet"):
        assert mine[name].astype("str").tolist() == theirs[name].tolist(), name
    pd.testing.assert_series_equal(mine["timestamp"], theirs["timestamp"])
    pd.testing.assert_series_equal(mine["seq"], theirs["seq"])
    pd.testing.assert_series_equal(mine["source_row"], theirs["source_row"])
    for name in ("text", "norm"):
        kept = mine[name].notna().to_numpy()
        assert mine[name][kept].astype("str").tolist() == theirs[name][kept].tolist()
    if workbook_dir is not None:
        assert_same_workbook(expected, got, Path(workbook_dir))
    return expected, got


# --------------------------------------------------------------------------- streamed ingest


@pytest.mark.parametrize("path", SAMPLES + EVAL, ids=lambda p: Path(p).name)
# One row per chunk is the strictest split and the slowest (a chunk per row): with -m slow, as
# are 4 and 9 rows; the default run reads each file as one chunk (a chunk costs a fixed ~25 ms;
# test_stream_edge_files cuts small files at every row by default).
@pytest.mark.parametrize("chunk_rows", [pytest.param(1, marks=pytest.mark.slow), pytest.param(4, marks=pytest.mark.slow),
                                        pytest.param(9, marks=pytest.mark.slow), 1000])
def test_stream_rebuilds_load_inputs_on_samples(path, chunk_rows):
    assert assert_streams_like_load([path], chunk_rows) is not None


@pytest.mark.slow
def test_stream_of_several_inputs_merges_notes_like_load():
    # 20 rows a chunk still splits every sample file (the finer splits run file by file above)
    assert_streams_like_load(SAMPLES, chunk_rows=20)


def write(path: Path, text: str, encoding: str = "utf-8") -> str:
    path.write_bytes(text.encode(encoding))
    return str(path)


HEAD = "session_id,timestamp,role,agent,text\n"

EDGE_FILES = {
    # malformed rows send the file to the csv parser; row numbers must survive chunking
    "malformed": HEAD + "s1,2026-11-20 14:03:27,客服,a,ok\ns2,2026-11-20 14:03:28,买家,,x,extra\n"
    "s2,2026-11-20 14:03:29\n\ns3,2026-11-20 14:03:30,买家,,fine\n" * 3,
    "blank rows": "session_id,role,text\ns1,客服,hi\n,,\n,,\ns2,买家,yo\n,,\ns3,买家,last\n",
    "quoted newlines and crlf": HEAD.replace("\n", "\r\n")
    + 's1,2026-11-20 14:03:27,客服,a,"第一行\r\n第二行"\r\ns1,2026-11-20 14:03:28,买家,,"say ""hi"""\r\n' * 3,
    "seq": "session_id,seq,role,text\ns1,2,客服,b\ns1,x,买家,a\ns1,1,买家,c\ns2,?,客服,d\ns2,,客服,e\n",
    "empty time column": HEAD + "s1,,客服,a,x\ns1,,买家,,y\n" * 4,
    "late first time": HEAD + "s1,,客服,a,x\n" * 5 + "s2,2026-11-20 14:03:27,买家,,y\n",
    "no time column": "session_id,role,agent,text\ns1,客服,a,x\ns2,买家,,y\n" * 3,
    "rejections": HEAD + ",2026-11-20 14:03:29,客服,a,no session\ns3,2026-11-20 14:03:30,客服,a,   \n"
    "s4,2026-11-20 14:03:31,wizard,a,x\ns5,不是时间,客服,a,x\ns6,,客服,a,x\ns7,1763618607,买家,,ok\n",
    "only a header": HEAD,
    "empty": "",
    "whitespace": " \n\n ",
    "nickname roles": "session_id,sender,text\ns1,店铺:小王,x\ns1,买家A,y\ns1,系统,z\ns2,,w\n",
    # a role column holding names (企业微信 发送方): decided on the rows below the header, whatever the chunking
    "names in the role column": "会话,发送方,消息内容\nw1,自动回复,欢迎\nw1,王先生,在吗\nw1,员工-小林,在的\n"
    "w2,李女士,发货没\nw2,员工-小周,发了\nw2,火星人,?\n",
    "a role column with one odd value": "session_id,发送方,text\ns1,客户,在吗\ns1,客服,在的\ns1,火星人,?\n",
}


@pytest.mark.parametrize("name", list(EDGE_FILES))
@pytest.mark.parametrize("chunk_rows", [1, 2, 100])
def test_stream_edge_files(tmp_path, name, chunk_rows):
    path = write(tmp_path / "a.csv", EDGE_FILES[name])
    assert_streams_like_load([path], chunk_rows)


@pytest.mark.slow
def test_stream_encodings(tmp_path):
    text = HEAD + "s1,2026-11-20 14:03:27,客服,小王,亲，您好～\ns1,2026-11-20 14:03:29,买家,,在吗\n" * 3
    for encoding in ("gb18030", "utf-16", "utf-8-sig"):
        assert_streams_like_load([write(tmp_path / f"{encoding}.csv", text, encoding)], 2)
    # GBK bytes only after the sniffed 64 KiB head: detected while scanning
    late = "session_id,role,text\n" + "s1,buyer,xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\n" * 3000 + "s2,客服,您好\n"
    assert_streams_like_load([write(tmp_path / "late.csv", late, "gbk")], 1000)
    assert_streams_like_load([write(tmp_path / "forced.csv", text, "gbk")], 2, encoding="gbk")
    # a UTF-8 BOM file with GBK bytes further down is an error, with the same message
    bad = tmp_path / "bad.csv"
    bad.write_bytes(b"\xef\xbb\xbfsession_id,role,text\n" + b"s1,agent,ok\n" * 6000 + "s2,客服,坏".encode("gbk"))
    assert assert_streams_like_load([str(bad)]) is None


@pytest.mark.slow  # every sample streamed three rows at a time, twice
def test_stream_excel_and_options(tmp_path):
    assert_streams_like_load(SAMPLES, 3, timezone="UTC")
    assert_streams_like_load(EVAL[:2], 3, agent_pattern="^小")


_TEXT = st.text(alphabet=st.sampled_from(list('ab客服,"\n \r好的吗?') + ["\u3000"]), max_size=8)


@pytest.mark.slow  # 60 generated files, each read twice
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows=export_rows(_TEXT), chunk_rows=st.integers(1, 5))
def test_random_rows_stream_like_load(tmp_path, rows, chunk_rows):
    path = write_export(tmp_path / "random.csv", rows)
    assert_streams_like_load([str(path)], chunk_rows)


# --------------------------------------------------------------------------- out-of-core audit


# Chunks cut every eval and sample file (the smallest has 23 data rows) at least once, so sessions
# straddle chunk boundaries in each. Seconds per case, so -m slow only; the default run has the
# smaller in-memory/out-of-core comparisons below and in test_transfer.py.
@pytest.mark.slow
@pytest.mark.parametrize("partitions, eval_chunk, sample_chunk", [(1, 17, 5), (3, None, 13), (3, 100, 13), (8, 17, 5)])
def test_out_of_core_equals_in_memory_on_eval_and_samples(rules, partitions, eval_chunk, sample_chunk, tmp_path):
    if eval_chunk:
        assert_same_audit(EVAL, rules, partitions=partitions, chunk_rows=eval_chunk)
    assert_same_audit(SAMPLES, rules, partitions=partitions, chunk_rows=sample_chunk, workbook_dir=tmp_path)


@pytest.mark.slow  # a 6,000-message log, both paths and both workbooks; worker processes start
@pytest.mark.parametrize("jobs", [1, 3])
def test_out_of_core_equals_in_memory_on_synthetic_log(rules, tmp_path, jobs):
    """In one process or in worker processes (3: more workers than cores here), the partitions give
    the in-memory result."""
    import sys

    sys.path.insert(0, str(ROOT / "benchmarks"))
    from generate import Plan, write_log

    path = tmp_path / "log.csv"
    write_log(Plan(6000, seed=5), path)
    expected, got = assert_same_audit([str(path)], rules, partitions=5, chunk_rows=777, workbook_dir=tmp_path, jobs=jobs)
    assert len(expected.findings) > 50
    assert set(expected.findings["rule"]) == {r.id for r in rules if r.enabled}
    assert len(expected.ingest.rejected) > 0


@pytest.mark.slow
def test_partition_without_times_keeps_time_rules(rules, tmp_path):
    """A partition whose sessions have no times must not skip slow-reply when others have."""
    timed = write(tmp_path / "timed.csv", HEAD + "t1,2026-11-20 14:00:00,买家,,在吗\nt1,2026-11-20 14:09:00,客服,a,在的\n")
    untimed = write(tmp_path / "untimed.csv", "session_id,role,agent,text\n"
                    + "".join(f"u{i},买家,,在吗\nu{i},客服,b,在的\n" for i in range(12)))
    _, got = assert_same_audit([timed, untimed], rules, partitions=6, chunk_rows=2)
    assert "slow-reply" in set(got.findings["rule"])


@pytest.mark.slow
def test_messages_exported_twice_are_audited_once_in_both_paths(rules, tmp_path):
    """Two overlapping exports joined: the repeats are rejected in both paths, in chunks apart from
    their originals, and the message ids of the findings after them stay the in-memory ones; two
    photos sent at once are two messages."""
    def session(sid: str, minute: int) -> str:
        return (f"{sid},2026-11-20 14:{minute:02d}:00,买家,,你们这什么破东西\n"
                f"{sid},2026-11-20 14:{minute:02d}:10,买家,,[图片]\n{sid},2026-11-20 14:{minute:02d}:10,买家,,[图片]\n"
                f"{sid},2026-11-20 14:{minute:02d}:30,客服,a,你自己看着办吧\n"
                f"{sid},2026-11-20 14:{minute + 1:02d}:00,买家,,在吗\n")
    morning = "".join(session(f"s{i}", 2 * i) for i in range(6))
    overlap = session("s1", 2) + session("s2", 4)
    joined = write(tmp_path / "joined.csv", HEAD + morning + overlap + session("s9", 40))
    expected, got = assert_same_audit([joined], rules, partitions=3, chunk_rows=4)
    assert expected.ingest.rejected["row"].tolist() == list(range(32, 42))
    assert (expected.ingest.messages["text"] == "[图片]").sum() == 14
    assert expected.ingest.rejected["reason"].str.startswith("duplicate:").all()
    forbidden = expected.findings[expected.findings["rule"] == "forbidden-phrase"]
    assert sorted(forbidden["session_id"]) == sorted(f"s{i}" for i in (0, 1, 2, 3, 4, 5, 9))
    assert_same_audit([joined], rules, partitions=2, chunk_rows=5, jobs=2)


def test_nothing_audited(rules, tmp_path):
    path = write(tmp_path / "a.csv", HEAD + ",2026-11-20 14:03:27,客服,a,x\ns1,2026-11-20 14:03:27,客服,a,  \n")
    assert_same_audit([path], rules, partitions=3)


@pytest.mark.slow
def test_audit_partition_ignores_row_order(rules):
    loaded = load_inputs(EVAL)
    frame = loaded.messages.assign(**{ORDER_COLUMN: np.arange(len(loaded.messages))})
    context = CheckContext(has_timestamps=True)
    ordered = audit_partition(frame, rules, context)
    shuffled = audit_partition(frame.sample(frac=1, random_state=5), rules, context)
    pd.testing.assert_frame_equal(ordered.findings, shuffled.findings)
    pd.testing.assert_frame_equal(ordered.sessions, shuffled.sessions)


def test_partition_of_is_stable():
    ids = pd.Series(["2026112012345678", "s1", "会话-7"], dtype="str")
    assert partition_of(ids, 1).tolist() == [0, 0, 0]
    first = partition_of(ids, 16).tolist()
    assert first == partition_of(ids.astype(object), 16).tolist()  # dtype does not matter
    assert all(0 <= p < 16 for p in first)


def test_trailing_empty_fields_are_tolerated_by_both_readers(tmp_path):
    """Exports that end every data row (not the header) with a delimiter lose no rows; a row
    whose extra field holds a value is still rejected — in load_inputs and in the stream."""
    path = write(tmp_path / "trailing.csv", (
        "session_id,timestamp,role,agent,text\n"
        "S1,2026-11-20 10:00:00,customer,,在吗,\n"
        "S1,2026-11-20 10:01:00,agent,小美,在的亲,,\n"
        "S1,2026-11-20 10:02:00,agent,小美,多了一列,x\n"
    ))
    loaded = load_inputs([path])
    assert loaded.messages["text"].tolist() == ["在吗", "在的亲"]
    assert loaded.rejected[["row", "reason"]].to_dict("records") == [{"row": 4, "reason": "expected 5 fields, found 6"}]
    assert_streams_like_load([path], chunk_rows=1)


def test_worker_count_never_exceeds_partitions_or_goes_below_one():
    assert worker_count(4, 2) == 2
    assert worker_count(3, 10) == 3
    assert worker_count(1, 10) == 1
    assert worker_count(None, 1) == 1
    assert 1 <= worker_count(None, 1000) <= (os.cpu_count() or 1)


@pytest.mark.slow  # starts worker processes
def test_parallel_partitions_on_eval_and_samples(rules, tmp_path):
    assert_same_audit(SAMPLES, rules, partitions=4, chunk_rows=5, workbook_dir=tmp_path, jobs=2)
