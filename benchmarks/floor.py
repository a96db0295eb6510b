"""The plain-pandas floor: the least a quality check of a chat log can cost on this machine.

A prototype with none of qa's guarantees (no row accounting, no normalization, no negation
scope, no masking, no rejected rows, two rules), written the fast obvious way, so that qa's
time can be compared with what the libraries alone need for the same log:

- read the CSV with pyarrow's multi-threaded reader;
- forbidden phrases: one Aho-Corasick automaton over the phrases of the forbidden-phrase
  lists (rules/lists/forbidden-*.txt, not the patterns), run on lower-cased agent messages;
- reply gaps, vectorized: an agent message answers the customer messages since the previous
  agent message in the session; it is late when the first of them is more than 300 s older;
- session scores (100 minus 5 per finding) and per-agent figures with groupby;
- an xlsxwriter workbook (findings, sessions, agents; constant_memory) and a JSON file.

    python benchmarks/floor.py benchmarks/data/synthetic-v2-s7-1000000.csv -o /tmp/floor
    python benchmarks/run.py 1000000 --compare-floor     # times qa and this in one run

Prints the time of each stage as ``timing: STAGE: SECONDS s`` (the format of ``qa --timings``).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from contextlib import contextmanager
from pathlib import Path

import ahocorasick
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pa_csv

LISTS = Path(__file__).resolve().parent.parent / "rules" / "lists"
MAX_WAIT_SECONDS = 300
POINTS = 5


def forbidden_phrases(lists: Path = LISTS) -> list[str]:
    """The plain phrases of the forbidden-phrase lists (patterns files are regexes: skipped)."""
    phrases = set()
    for path in sorted(lists.glob("forbidden-*.txt")):
        if path.stem.endswith("-patterns") or path.stem.endswith("-exceptions"):
            continue
        for line in path.read_text(encoding="utf-8").splitlines():
            line = line.strip()
            if line and not line.startswith("#"):
                phrases.add(line.lower())
    return sorted(phrases)


def automaton(phrases: list[str]) -> ahocorasick.Automaton:
    """An Aho-Corasick automaton whose values are the phrases."""
    machine = ahocorasick.Automaton()
    for phrase in phrases:
        machine.add_word(phrase, phrase)
    machine.make_automaton()
    return machine


def read(path: Path) -> pd.DataFrame:
    """The log as a DataFrame (pyarrow reader; times parsed by pyarrow, bad ones become null)."""
    table = pa_csv.read_csv(
        path,
        convert_options=pa_csv.ConvertOptions(
            column_types={"session_id": pa.string(), "timestamp": pa.string(), "role": pa.string(),
                          "agent": pa.string(), "text": pa.string()},
            strings_can_be_null=False,
        ),
    )
    frame = table.to_pandas()
    frame["timestamp"] = pd.to_datetime(frame["timestamp"], format="%Y-%m-%d %H:%M:%S", errors="coerce")
    return frame[(frame["text"] != "") & frame["timestamp"].notna()].reset_index(drop=True)


def phrase_findings(frame: pd.DataFrame, machine: ahocorasick.Automaton) -> pd.DataFrame:
    """One finding per agent message holding a forbidden phrase (the first one found)."""
    agent = frame.index[frame["role"].to_numpy() == "agent"]
    texts = frame["text"].to_numpy()[agent]
    rows, matches = [], []
    for row, text in zip(agent.tolist(), texts.tolist()):
        for _, phrase in machine.iter(text.lower()):
            rows.append(row)
            matches.append(phrase)
            break
    return pd.DataFrame({"msg": np.array(rows, dtype=np.int64), "rule": "forbidden-phrase", "match": matches})


def gap_findings(frame: pd.DataFrame) -> pd.DataFrame:
    """Agent messages that came more than MAX_WAIT_SECONDS after the first unanswered customer
    message of their session (system messages neither answer nor start the clock)."""
    ordered = frame.sort_values(["session_id", "timestamp"], kind="stable")
    is_agent = (ordered["role"] == "agent").to_numpy()
    is_customer = (ordered["role"] == "customer").to_numpy()
    session = ordered["session_id"].to_numpy()
    # Agents before each row within its session: the customer messages an agent message
    # answers are those with its own count (exclusive of itself).
    agents_before = pd.Series(is_agent.astype(np.int64)).groupby(session).cumsum().to_numpy() - is_agent
    seconds = ordered["timestamp"].to_numpy().astype("datetime64[s]").astype(np.int64)
    waiting = pd.DataFrame({"session": session[is_customer], "block": agents_before[is_customer],
                            "first": seconds[is_customer]})
    first = waiting.groupby(["session", "block"], sort=False)["first"].min()
    replies = pd.DataFrame({"session": session[is_agent], "block": agents_before[is_agent],
                            "at": seconds[is_agent], "msg": ordered.index.to_numpy()[is_agent]})
    replies = replies.join(first, on=["session", "block"], how="inner")
    wait = replies["at"] - replies["first"]
    late = replies[wait > MAX_WAIT_SECONDS]
    return pd.DataFrame({"msg": late["msg"].to_numpy(dtype=np.int64), "rule": "slow-reply",
                         "match": (wait[wait > MAX_WAIT_SECONDS].astype(str) + " s").to_numpy()})


def tables(frame: pd.DataFrame, findings: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Findings with their message, per-session scores and per-agent figures."""
    found = findings.join(frame[["session_id", "agent", "timestamp", "text"]], on="msg").sort_values(
        ["session_id", "msg", "rule"], kind="stable")
    per_session = found.groupby("session_id").size()
    sessions = frame.groupby("session_id", sort=True).agg(
        agent=("agent", "max"), messages=("text", "size"), start=("timestamp", "min"), end=("timestamp", "max"))
    sessions["findings"] = per_session.reindex(sessions.index, fill_value=0)
    sessions["score"] = (100 - POINTS * sessions["findings"]).clip(lower=0)
    sessions = sessions.reset_index()
    agents = sessions.groupby("agent").agg(score=("score", "mean"), sessions=("session_id", "size"),
                                           messages=("messages", "sum"), findings=("findings", "sum"))
    agents = agents.sort_values(["score", "findings"], ascending=[True, False]).reset_index()
    return found, sessions, agents


def write_workbook(path: Path, found: pd.DataFrame, sessions: pd.DataFrame, agents: pd.DataFrame) -> None:
    """Three sheets with xlsxwriter in constant-memory mode, times as text."""
    with pd.ExcelWriter(path, engine="xlsxwriter", engine_kwargs={"options": {"constant_memory": True}}) as book:
        for name, table in (("agents", agents), ("findings", found), ("sessions", sessions)):
            table = table.copy()
            for column in table.columns:
                if pd.api.types.is_datetime64_any_dtype(table[column]):
                    table[column] = table[column].dt.strftime("%Y-%m-%d %H:%M:%S")
            table.to_excel(book, sheet_name=name, index=False)


def write_json(path: Path, found: pd.DataFrame, sessions: pd.DataFrame, agents: pd.DataFrame) -> None:
    """One JSON document: findings, sessions and agents as lists of records."""
    parts = {name: table.to_json(orient="records", force_ascii=False, date_format="iso")
             for name, table in (("findings", found), ("sessions", sessions), ("agents", agents))}
    path.write_text("{" + ",".join(f"{json.dumps(k)}:{v}" for k, v in parts.items()) + "}", encoding="utf-8")


@contextmanager
def timed(stages: dict[str, float], stage: str):
    started = time.perf_counter()
    yield
    stages[stage] = time.perf_counter() - started


def run(path: Path, out: Path) -> dict[str, float]:
    """Audit ``path`` the floor way, writing ``out``/floor.xlsx and floor.json; stage times."""
    stages: dict[str, float] = {}
    out.mkdir(parents=True, exist_ok=True)
    with timed(stages, "read"):
        frame = read(path)
    with timed(stages, "rule forbidden-phrase"):
        phrases = phrase_findings(frame, automaton(forbidden_phrases()))
    with timed(stages, "rule slow-reply"):
        gaps = gap_findings(frame)
    with timed(stages, "score"):
        found, sessions, agents = tables(frame, pd.concat([phrases, gaps], ignore_index=True))
    with timed(stages, "write workbook"):
        write_workbook(out / "floor.xlsx", found, sessions, agents)
    with timed(stages, "write json"):
        write_json(out / "floor.json", found, sessions, agents)
    stages["rows"] = len(frame)
    stages["findings"] = len(found)
    return stages


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="The plain-pandas floor: a minimal audit of a synthetic log.")
    parser.add_argument("log", type=Path, help="a CSV written by benchmarks/generate.py")
    parser.add_argument("-o", "--out", type=Path, required=True, help="folder for floor.xlsx and floor.json")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    stages = run(args.log, args.out)
    rows, findings = stages.pop("rows"), stages.pop("findings")
    for stage, seconds in stages.items():
        print(f"timing: {stage}: {seconds:.3f} s", file=sys.stderr)
    print(f"floor: {rows:,} messages, {findings:,} findings in {time.perf_counter() - started:.2f} s",
          file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
