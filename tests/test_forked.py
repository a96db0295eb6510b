"""The in-memory audit in forked worker processes (qa.audit.forked) gives the one-process audit."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from helpers import assert_same_workbook

from qa.audit import forked
from qa.audit.forked import first_message_ids, session_slices, worker_processes
from qa.audit.partition import session_offsets
from qa.audit.run import AuditOptions, audit
from qa.errors import QAError
from qa.report.json_report import build_result

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = sorted(str(p) for p in (ROOT / "samples").iterdir() if p.suffix in (".csv", ".tsv", ".xlsx"))
EVAL = sorted(str(p) for p in (ROOT / "tests" / "eval").glob("*.csv"))

needs_fork = pytest.mark.skipif(not forked.fork_available(), reason="workers are forked on Linux only")


@pytest.fixture
def fork_small_tables(monkeypatch):
    """Let tables of any size be audited in worker processes."""
    monkeypatch.setattr(forked, "PARALLEL_MIN_MESSAGES", 1)


def assert_same_result(got, expected) -> None:
    assert build_result(got) == build_result(expected)
    assert build_result(got, mask=False) == build_result(expected, mask=False)
    for name in ("findings", "sessions", "agents", "credits"):
        pd.testing.assert_frame_equal(getattr(got, name), getattr(expected, name), obj=name)
    pd.testing.assert_frame_equal(got.ingest.messages, expected.ingest.messages)
    assert got.skipped_rules == expected.skipped_rules


@needs_fork
@pytest.mark.slow  # the eval files and samples audited three times; the stage-time and error tests below fork in the core run
@pytest.mark.parametrize("jobs", [2, 3])
def test_forked_audit_equals_one_process(rules, fork_small_tables, tmp_path, jobs):
    for inputs in (EVAL, SAMPLES):
        expected = audit(inputs, AuditOptions(jobs=1), rules=rules)
        got = audit(inputs, AuditOptions(jobs=jobs), rules=rules)
        assert len(expected.findings) > 20
        assert_same_result(got, expected)
    assert_same_workbook(expected, got, tmp_path)


@pytest.mark.slow
@needs_fork
def test_forked_audit_sums_the_workers_stage_times(rules, fork_small_tables):
    timings: dict[str, float] = {}
    audit(EVAL, AuditOptions(jobs=2), rules=rules, timings=timings)
    assert {"read", "normalize", "credits", "score"} <= set(timings)
    assert {f"rule {rule.id}" for rule in rules if rule.enabled} <= set(timings)


@pytest.mark.slow
@needs_fork
def test_a_worker_that_dies_is_a_clear_error(rules, fork_small_tables, monkeypatch):
    parent = os.getpid()
    real = forked.audit_partition

    def dies_in_a_worker(*args, **kwargs):
        if os.getpid() != parent:
            os._exit(9)  # as the kernel's out-of-memory killer would end it
        return real(*args, **kwargs)

    monkeypatch.setattr(forked, "audit_partition", dies_in_a_worker)
    with pytest.raises(QAError, match="worker process died"):
        audit(EVAL, AuditOptions(jobs=2), rules=rules)


def test_small_tables_stay_in_one_process():
    assert worker_processes(None, forked.PARALLEL_MIN_MESSAGES - 1) == 1
    assert worker_processes(4, 10) == 1
    if forked.fork_available():
        assert worker_processes(3, forked.PARALLEL_MIN_MESSAGES) == 3
        assert worker_processes(1, 10 * forked.PARALLEL_MIN_MESSAGES) == 1


@pytest.mark.parametrize("lengths, parts", [
    ([5, 1, 1, 7, 2, 2, 9, 3], 2),
    ([5, 1, 1, 7, 2, 2, 9, 3], 3),
    ([40], 4),  # one session: one slice
    ([1, 1, 1], 8),  # fewer sessions than parts
    ([3, 3, 3, 3, 3, 3], 6),
])
def test_session_slices_hold_whole_sessions(lengths, parts):
    ids = pd.Series(np.repeat([f"s{i:02d}" for i in range(len(lengths))], lengths))
    slices = session_slices(ids, parts)
    assert slices[0][0] == 0 and slices[-1][1] == len(ids)
    assert all(a[1] == b[0] for a, b in zip(slices, slices[1:]))
    assert 1 <= len(slices) <= min(parts, len(lengths))
    for start, _stop in slices[1:]:
        assert ids.iloc[start] != ids.iloc[start - 1]  # a cut falls between two sessions
    if lengths == [3, 3, 3, 3, 3, 3]:
        assert [stop - start for start, stop in slices] == [3] * 6


def test_first_message_ids_are_the_session_offsets_of_a_sorted_table():
    ids = pd.Series(["a", "a", "b", "c", "c", "c", "d"], dtype="str")
    expected = session_offsets(ids.value_counts(sort=False))
    got = first_message_ids(ids)
    pd.testing.assert_series_equal(got.sort_index(), expected.sort_index(), check_names=False)
    assert got.tolist() == [0, 2, 3, 6]


@needs_fork
def test_an_error_in_this_process_stops_the_workers_at_once(rules, fork_small_tables, monkeypatch):
    """A failure (or Ctrl-C) while this process audits its slice does not wait for the workers'."""
    import time

    parent = os.getpid()

    def slow_in_a_worker(*args, **kwargs):
        if os.getpid() != parent:
            time.sleep(60)
        raise RuntimeError("failed in this process")

    monkeypatch.setattr(forked, "audit_partition", slow_in_a_worker)
    started = time.perf_counter()
    with pytest.raises(RuntimeError, match="failed in this process"):
        audit(EVAL, AuditOptions(jobs=2), rules=rules)
    assert time.perf_counter() - started < 20
