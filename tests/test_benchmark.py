"""The benchmark itself works: the generator makes the log the issue describes, the runner
produces figures, and the in-memory and out-of-core paths agree on it. No timed assertions."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

BENCHMARKS = Path(__file__).resolve().parent.parent / "benchmarks"
sys.path.insert(0, str(BENCHMARKS))

import generate  # noqa: E402
import run  # noqa: E402

SIZE = 10_000


@pytest.fixture(scope="module")
def log(tmp_path_factory) -> pd.DataFrame:
    path = run.log_for(SIZE, data=tmp_path_factory.mktemp("data"))
    return pd.read_csv(path, dtype=str, keep_default_na=False)


def test_generator_makes_a_realistic_log(log):
    assert len(log) == SIZE
    assert list(log.columns) == generate.COLUMNS
    sizes = log.groupby("session_id").size()
    assert sizes.iloc[:-1].between(10, 40).mean() > 0.99  # the last session takes the remainder
    agents = log.loc[log["role"] == "agent", "agent"].nunique()
    assert 200 <= agents <= 300
    assert 18 <= log["text"].str.len().mean() <= 32
    # sessions are interleaved by time, as exports are
    assert not log["session_id"].is_monotonic_increasing
    assert log["timestamp"].iloc[:-1].le(log["timestamp"].iloc[1:].to_numpy()).mean() > 0.99
    emoji = log["text"].str.contains(r"\[[^\]]+\]|/:|#E-|[\U0001F300-\U0001FAFF]", regex=True)
    assert 0.05 < emoji.mean() < 0.4
    roles = log.groupby("session_id")["role"].agg(set)
    assert (~roles.map(lambda r: "agent" in r)).sum() > 0  # some sessions get no reply


def test_generator_is_deterministic_and_bounded():
    first = generate.Plan(3000, seed=11)
    again = generate.Plan(3000, seed=11)
    assert [t.to_pylist() for t in first.chunks(1000)] == [t.to_pylist() for t in again.chunks(1000)]
    assert sum(t.num_rows for t in first.chunks(700)) == 3000
    assert np.all(np.diff(first.seconds) >= 0)


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    data = tmp_path_factory.mktemp("runs")
    memory = run.run_size(SIZE, data=data, keep_json=True)
    outofcore = run.run_size(SIZE, data=data, out_of_core=True, partitions=3, keep_json=True)
    return memory, outofcore


@pytest.mark.slow  # two audits of the 10k log in child processes
def test_runner_produces_figures(runs):
    for result in runs:
        stages = result["stages"]
        for stage in ("read", "normalize", "score", "write workbook", "write json"):
            assert stage in stages, stage
        rules = {name for name in stages if name.startswith("rule ")}
        assert {f"rule {r}" for r in result["summary"]["by_rule"]} <= rules
        assert result["wall"] > 0 and result["peak_mib"] > 50
        text = run.report(SIZE, result, "test")
        assert "peak RSS" in text and "findings per 1,000 messages" in text
    summary = runs[0]["summary"]
    assert summary["audited_rows"] + summary["rejected_rows"] == SIZE
    assert summary["rejected_rows"] > 0  # the generator's unusable rows are accounted for
    assert all(count > 0 for count in summary["by_rule"].values()), summary["by_rule"]


@pytest.mark.slow
def test_in_memory_and_out_of_core_agree(runs):
    memory, outofcore = runs
    assert outofcore["json"] == memory["json"]
