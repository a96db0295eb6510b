"""Accuracy of ``qa audit`` against the hand-labelled evaluation set in ``tests/eval/``.

Every eval file is a chat export in one of the layouts the tool reads, plus a column
``expect``: the rule ids (``;``-separated) that must flag THAT message; empty = the message
must stay clean. The labels follow the service standard (``STANDARDS.md``), not the tool.

For each file the tool runs as a user would run it::

    python -m qa audit FILE --json OUT.json -o OUT.xlsx

(in a temporary directory), and the predicted set of ``(file, row, rule)`` from the JSON
result is compared with the labelled set. ``row`` is the spreadsheet row (header = row 1;
a quoted cell with a line break is still one row). The script reads only the label column; the
role, session and time of each row are the tool's own reading (``qa.ingest.load_inputs``), so the
label checks (slow-reply against the times, labels on agent rows) hold for any layout the tool reads.

Usage::

    python benchmarks/accuracy.py                          # all tests/eval/*.csv, print the table
    python benchmarks/accuracy.py --min-precision 0.95 --min-recall 0.90   # exit 1 below target
    python benchmarks/accuracy.py --json metrics.json --keep out/          # metrics + tool outputs
    python benchmarks/accuracy.py --check-labels           # only validate the labels
    python benchmarks/accuracy.py --qa-command qa          # an installed qa instead of python -m qa

The tool measured is the code of the checkout this script lives in (its folder goes first on
``PYTHONPATH``, whatever ``--qa-command`` says): to measure another commit, run that checkout's
own copy of the script (``git worktree add ../ref <commit>``, then ``python ../ref/benchmarks/accuracy.py``).

Exit codes: 0 every rule meets the targets (or none were given); 1 some rule is below a
target; 2 the labels are invalid or the tool failed on a file.

Tests import this file by path (``importlib.util.spec_from_file_location``); the public
functions are :func:`evaluate`, :func:`run_evaluation`, :func:`read_labels`,
:func:`check_labels`, :func:`predicted_from_result` and :func:`compare`.
"""

from __future__ import annotations

import argparse
import csv
import functools
import io
import json
import os
import re
import shlex
import subprocess
import sys
import tempfile
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
EVAL_DIR = REPO / "tests" / "eval"

#: The public rule ids of STANDARDS.md, in the order the table prints them.
RULES = (
    "forbidden-phrase",
    "rhetorical-question",
    "slow-reply",
    "repeated-soothing",
    "ignored-complaint",
    "emoji-only",
    "unsoothed-emotion",
    "repeated-solution",
    "brand-doubt",
)
#: Rules judged on the agent message itself.
AGENT_MESSAGE_RULES = {"forbidden-phrase", "rhetorical-question", "repeated-soothing", "emoji-only"}

LABEL_COLUMN = "expect"
LABEL_SEPARATORS = re.compile(r"[;；]")


WARNING = "warning: "
SLOW_REPLY_SECONDS = 5 * 60
# The tool's default working hours (rules/slow-reply.toml): a wait counts only inside them, so a
# question at 23:40 answered at 09:00 the next morning waited no working time.
WORKING_HOURS = (9, 23)
CHINA_TIME = "Asia/Shanghai"

DEFAULT_COMMAND = (sys.executable, "-m", "qa")
TOOL_TIMEOUT = 600


class LabelError(ValueError):
    """The eval file itself is malformed (missing column, unknown rule id ...)."""


class ToolError(RuntimeError):
    """``qa audit`` failed on an eval file or wrote no usable JSON result."""


# ---------------------------------------------------------------------------------------------
# Labels


@dataclass(frozen=True)
class Message:
    """One row of an eval file: its labels, and the message as the tool reads it."""

    file: str  # file name, e.g. "a_taobao.csv" (a workbook of several labelled sheets: "book.xlsx[sheet]")
    row: int  # spreadsheet row, header = 1
    session: str
    time: datetime | None  # China time, naive; None in a log without times
    role: str  # agent / customer / system; "unread" for a labelled row the tool did not read
    agent: str
    text: str
    labels: tuple[str, ...]


def _cell_text(value: Any) -> str:
    """An Excel cell as its text."""
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _sheet_records(path: Path) -> list[tuple[str, list[list[str]]]]:
    """Every sheet of an .xlsx (or old .xls) eval file as (name, rows of cell texts); row i is
    spreadsheet row i+1."""
    import pandas as pd  # calamine reads both formats; a dependency of the tool

    book = pd.ExcelFile(path, engine="calamine")
    out = []
    for name in book.sheet_names:
        frame = pd.read_excel(book, sheet_name=name, header=None, dtype=object)
        out.append((str(name), [[_cell_text(None if pd.isna(v) else v) for v in row]
                                for row in frame.itertuples(index=False)]))
    return out


def _text_records(path: Path) -> list[list[str]]:
    """The records of a delimited eval file (UTF-8, BOM allowed; UTF-16 with a BOM; else GB18030, as
    Chinese Windows tools export; comma- or tab-separated); record i is spreadsheet row i+1 (a quoted
    cell with a line break is still one record)."""
    raw = path.read_bytes()
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):  # Excel's "Unicode text": UTF-16 with a BOM
        content = raw.decode("utf-16")
    else:
        try:
            content = raw.decode("utf-8-sig")
        except UnicodeDecodeError:
            content = raw.decode("gb18030")
    # the header line decides (a title line above it may hold neither separator)
    lines = content.split("\n", 20)[:20]
    head = next((line for line in lines if LABEL_COLUMN in line), lines[0])
    delimiter = "\t" if path.suffix.lower() == ".tsv" or head.count("\t") > head.count(",") else ","
    return list(csv.reader(io.StringIO(content, newline=""), delimiter=delimiter))


def _label_row(records: list[list[str]]) -> int | None:
    """The header's index: an export's title lines (聊天记录导出,店铺:…) and blank lines may stand
    above it; the header is the first record holding the label column."""
    return next((i for i, record in enumerate(records[:20])
                 if LABEL_COLUMN in [str(name).strip() for name in record]), None)


def _labels_by_row(path: Path, records: list[list[str]]) -> dict[int, tuple[tuple[str, ...], str]]:
    """Spreadsheet row -> (labels, the row's cells joined) for every non-blank record under the header."""
    first = _label_row(records)
    if first is None:
        raise LabelError(f"{path.name}: no '{LABEL_COLUMN}' column")
    at = [str(name).strip() for name in records[first]].index(LABEL_COLUMN)
    rows = {}
    for number, record in enumerate(records[first + 1:], start=first + 2):
        if not any(cell.strip() for cell in record):
            continue
        cell = record[at] if len(record) > at else ""
        labels = tuple(part.strip() for part in LABEL_SEPARATORS.split(cell) if part.strip())
        rows[number] = (labels, " | ".join(c.strip() for i, c in enumerate(record) if i != at and c.strip()))
    return rows


def _labelled_tables(path: Path) -> list[tuple[str, str | None, dict[int, tuple[tuple[str, ...], str]]]]:
    """(file label, sheet, labels by row) of each table holding the label column: a delimited file's
    one table, or every labelled sheet of a workbook (one per agent or per day); with several, a
    message's file is named with its sheet, as the tool's findings name theirs."""
    if path.suffix.lower() in (".xlsx", ".xls"):
        labelled = [(name, records) for name, records in _sheet_records(path) if _label_row(records) is not None]
        if not labelled:
            raise LabelError(f"{path.name}: no '{LABEL_COLUMN}' column")
        many = len(labelled) > 1
        return [(f"{path.name}[{name}]" if many else path.name, name, _labels_by_row(path, records))
                for name, records in labelled]
    records = _text_records(path)
    if not records:
        raise LabelError(f"{path.name}: empty file")
    return [(path.name, None, _labels_by_row(path, records))]


def _tool_reading(path: Path):
    """The tool's own reading of ``path`` (qa.ingest, as ``qa audit FILE`` reads it): messages and
    rejected rows. The roles, sessions and times of the labelled rows are the tool's: this script
    keeps only the label logic, so a layout the tool reads needs nothing here."""
    sys.path.insert(0, str(REPO))  # the checkout this script measures
    from qa.errors import QAError
    from qa.ingest import load_inputs

    try:
        return load_inputs([str(path)], timezone=CHINA_TIME)
    except QAError as exc:
        raise LabelError(f"{path.name}: the tool cannot read it: {exc}") from exc


def read_messages(path: Path) -> list[Message]:
    """Every row of one eval file with its labels, as the tool reads it (roles, sessions, times);
    a labelled row the tool does not read (it rejects it, or it lies outside what it reads) comes
    with role ``unread`` and its cells as text."""
    path = Path(path)
    tables = _labelled_tables(path)
    reading = _tool_reading(path)
    frame = reading.messages
    sheets = frame["source_sheet"].fillna("").astype(str).to_numpy()
    times = frame["timestamp"]
    if getattr(times.dt, "tz", None) is not None:
        times = times.dt.tz_convert(CHINA_TIME).dt.tz_localize(None)
    read_rows: dict[tuple[str, int], Message] = {}
    for (session, text, role, agent, row), sheet, when in zip(
            frame[["session_id", "text", "role", "agent", "source_row"]].itertuples(index=False, name=None),
            sheets, times):
        read_rows[(sheet, int(row))] = Message("", int(row), str(session), None if when is None or when != when
                                               else when.to_pydatetime(), str(role),
                                               "" if agent is None or agent != agent else str(agent), str(text), ())
    rejected: dict[tuple[str, int], str] = {}
    for where, row, reason in reading.rejected[["file", "row", "reason"]].itertuples(index=False, name=None):
        sheet = re.search(r" \(sheet '([^']*)'\)$", str(where))
        rejected[(sheet.group(1) if sheet else "", int(row))] = str(reason)
    messages = []
    for label, sheet, labels_by_row in tables:
        key_sheet = sheet or ""
        for row, message in sorted((r, m) for (s, r), m in read_rows.items() if s == key_sheet):
            labels = labels_by_row.get(row, ((), ""))[0]
            messages.append(Message(label, row, message.session, message.time, message.role, message.agent,
                                    message.text, labels))
        for row, (labels, cells) in sorted(labels_by_row.items()):
            if labels and (key_sheet, row) not in read_rows:
                why = rejected.get((key_sheet, row), "not read")
                messages.append(Message(label, row, "", None, "unread", "", f"{cells} ({why})", labels))
    return messages


def read_labels(path: Path) -> set[tuple[str, int, str]]:
    """The labelled set ``{(file name, row, rule)}`` of one eval file."""
    return {(m.file, m.row, rule) for m in read_messages(path) for rule in m.labels}


def _sessions(messages: list[Message]) -> dict[str, list[Message]]:
    """Messages per session, in time order (file order breaks ties)."""
    sessions: dict[str, list[Message]] = {}
    for message in messages:
        sessions.setdefault(message.session, []).append(message)
    return {
        sid: sorted(rows, key=lambda m: (m.time or datetime.min, m.row))
        for sid, rows in sessions.items()
    }


_PARTICLES = "哦呢哈啦呀哟嘛了"


@functools.cache
def _t2s():
    """opencc's traditional-to-simplified converter, built once (building one loads its
    dictionaries: done per message it was most of check_labels' time), or None without opencc."""
    try:
        import opencc  # a dependency of the tool; optional here

        return opencc.OpenCC("t2s")
    except Exception:  # noqa: BLE001 - any failure just skips the folding
        return None


def _same_line_key(text: str) -> str:
    """A rough "same soothing line" key for label checks only: no punctuation, symbols,
    spaces or final particles; traditional folded to simplified when opencc is present."""
    converter = _t2s()
    if converter is not None:
        try:
            text = converter.convert(text)
        except Exception:  # noqa: BLE001 - any failure just skips the folding
            pass
    kept = "".join(ch for ch in text if unicodedata.category(ch)[0] in "LN")
    return kept.rstrip(_PARTICLES)


_SENTENCE_SPLIT = re.compile(r"[，,。！？!?；;～~\s]+")

def check_labels(paths: Iterable[Path]) -> list[str]:
    """Problems with the labels of the given eval files ([] = valid).

    Checks: every label is a known rule id, once per cell; the tool reads every labelled row;
    labels sit on rows of the right role as the tool reads it (system rows never; customer rows
    only ``ignored-complaint``): a role problem is the labels' or the tool's reading; a labelled customer
    complaint has no agent reply after it; an agent ``ignored-complaint`` follows a customer
    message; ``slow-reply`` labels are exactly the agent replies that come more than 5
    minutes after the first of a run of customer messages; a ``repeated-soothing`` label sits
    on at least the third use of that line by agents in the session; session ids are unique
    across files.
    """
    problems: list[str] = []
    seen_sessions: dict[str, str] = {}
    for path in paths:
        path = Path(path)
        try:
            messages = read_messages(path)
        except LabelError as exc:
            problems.append(str(exc))
            continue
        for m in messages:
            where = f"{m.file}:{m.row}"
            for label in m.labels:
                if label not in RULES:
                    problems.append(f"{where}: unknown rule id {label!r} (known: {', '.join(RULES)})")
            if len(set(m.labels)) != len(m.labels):
                problems.append(f"{where}: a rule id is repeated in {';'.join(m.labels)!r}")
            if m.role == "unread":
                problems.append(f"{where}: labelled {';'.join(m.labels)}, but the tool does not read the row: {m.text}")
            if m.role == "system" and m.labels:
                problems.append(f"{where}: a system message is labelled {';'.join(m.labels)} (the tool reads it as system)")
            if m.role == "customer" and set(m.labels) - {"ignored-complaint"}:
                problems.append(f"{where}: a customer message can only carry ignored-complaint (the tool reads it as "
                                "the customer's)")
            if m.time is None and "slow-reply" in m.labels:
                problems.append(f"{where}: slow-reply labelled in a file without times")
        for sid, rows in _sessions(messages).items():
            owner = seen_sessions.setdefault(sid, path.name)
            if owner != path.name:
                problems.append(f"{path.name}: session {sid} also in {owner}")
            problems.extend(_check_session(rows))
    return problems


def _working_seconds(start: datetime, end: datetime) -> float:
    """Seconds between ``start`` and ``end`` that fall inside :data:`WORKING_HOURS` of each day."""
    total, day = 0.0, start.replace(hour=0, minute=0, second=0, microsecond=0)
    while day < end:
        opens, closes = day + timedelta(hours=WORKING_HOURS[0]), day + timedelta(hours=WORKING_HOURS[1])
        total += max(0.0, (min(end, closes) - max(start, opens)).total_seconds())
        day += timedelta(days=1)
    return total


def _check_session(rows: list[Message]) -> list[str]:
    problems = []
    waiting_since: datetime | None = None
    agent_lines: dict[str, int] = {}
    for i, m in enumerate(rows):
        where = f"{m.file}:{m.row}"
        when = m.time
        if m.role == "customer":
            if waiting_since is None:
                waiting_since = when
            if "ignored-complaint" in m.labels and any(r.role == "agent" for r in rows[i + 1:]):
                problems.append(f"{where}: customer complaint labelled ignored-complaint, but an agent replies later "
                                "(label the agent reply instead)")
        elif m.role == "agent":
            late = (waiting_since is not None and when is not None
                    and _working_seconds(waiting_since, when) > SLOW_REPLY_SECONDS)
            if when is not None and late != ("slow-reply" in m.labels):
                wait = _working_seconds(waiting_since, when) if waiting_since else 0
                problems.append(f"{where}: slow-reply label {'missing' if late else 'wrong'} "
                                f"(customer waited {wait:.0f} s)")
            waiting_since = None
            if "ignored-complaint" in m.labels:
                previous = [r for r in rows[:i] if r.role != "system"]
                if not previous or previous[-1].role != "customer":
                    problems.append(f"{where}: ignored-complaint on an agent message that answers no customer message")
            # Soothing is counted per sentence (STANDARDS.md): the label needs the message or one
            # of its sentences at its 3rd or later use.
            uses = 0
            keys = {_same_line_key(part) for part in _SENTENCE_SPLIT.split(m.text)} | {_same_line_key(m.text)}
            for sentence in keys - {""}:
                agent_lines[sentence] = agent_lines.get(sentence, 0) + 1
                uses = max(uses, agent_lines[sentence])
            if "repeated-soothing" in m.labels and uses < 3:
                # The "same line" key here is rougher than the standard's (a soothing clause at
                # the head of messages with different endings is the same line): a warning.
                problems.append(f"{WARNING}{where}: repeated-soothing on use {uses} of that line (needs >= 3)")
    return problems


# ---------------------------------------------------------------------------------------------
# Running the tool and comparing


def run_tool(path: Path, work_dir: Path, command: Sequence[str] = DEFAULT_COMMAND) -> dict[str, Any]:
    """Run ``qa audit`` on one file inside ``work_dir``; return the parsed JSON result."""
    path = Path(path).resolve()
    json_path = work_dir / f"{path.stem}.json"
    xlsx_path = work_dir / f"{path.stem}.xlsx"
    argv = [*command, "audit", str(path), "--json", str(json_path), "-o", str(xlsx_path)]
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH", "")]))
    env.setdefault("PYTHONIOENCODING", "utf-8")
    try:
        proc = subprocess.run(argv, cwd=work_dir, env=env, capture_output=True, text=True,
                              encoding="utf-8", errors="replace", timeout=TOOL_TIMEOUT)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise ToolError(f"{path.name}: could not run {' '.join(argv[:3])}: {exc}") from exc
    # 0 = clean audit, 1 = findings at/above --fail-on; both produce the JSON result.
    if proc.returncode not in (0, 1):
        detail = (proc.stderr or proc.stdout).strip().splitlines()[-15:]
        raise ToolError(f"{path.name}: qa audit exited {proc.returncode}:\n    " + "\n    ".join(detail))
    try:
        result = json.loads(json_path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ToolError(f"{path.name}: no readable JSON result at {json_path.name}: {exc}") from exc
    if not isinstance(result, dict) or not isinstance(result.get("findings"), list):
        raise ToolError(f"{path.name}: JSON result has no 'findings' list")
    return result


def _same_file(reported: Any, path: Path) -> bool:
    if not isinstance(reported, str) or not reported:
        return False
    reported_path = Path(re.sub(r" \(sheet '[^']*'\)$", "", reported))
    if reported_path.name != path.name:
        return False
    try:
        return not reported_path.is_absolute() or reported_path.resolve() == path.resolve()
    except OSError:
        return True


Key = tuple[str, int, str]  # (file name, row, rule)


def predicted_from_result(result: dict[str, Any], path: Path,
                          by_sheet: bool = False) -> tuple[set[Key], dict[Key, dict]]:
    """The predicted set ``{(file name, row, rule)}`` for ``path`` from a JSON result, plus the
    first finding behind each key (for match/reason in the FP listing); ``by_sheet``: the file
    name carries the finding's sheet (``book.xlsx[sheet]``), as a workbook of several labelled
    sheets is read."""
    path = Path(path)
    keys: set[tuple[str, int, str]] = set()
    detail: dict[tuple[str, int, str], dict] = {}
    for finding in result.get("findings", []):
        if not _same_file(finding.get("file"), path):
            continue
        try:
            name = f"{path.name}[{finding.get('sheet') or ''}]" if by_sheet else path.name
            key = (name, int(finding["row"]), str(finding["rule"]))
        except (KeyError, TypeError, ValueError):
            continue
        keys.add(key)
        detail.setdefault(key, finding)
    return keys, detail


def _ratio(num: int, den: int) -> float:
    return num / den if den else 1.0


def compare(expected: set[tuple[str, int, str]], predicted: set[tuple[str, int, str]],
            rules: Sequence[str] = RULES) -> dict[str, dict[str, Any]]:
    """Per-rule TP/FP/FN, precision, recall, F1 of ``predicted`` against ``expected``.

    Precision with no predictions and recall with no labels are 1.0 (nothing was wrong).
    Predicted keys of rules outside ``rules`` are ignored here (see :func:`run_evaluation`).
    """
    metrics: dict[str, dict[str, Any]] = {}
    for rule in rules:
        exp = {k for k in expected if k[2] == rule}
        pred = {k for k in predicted if k[2] == rule}
        tp, fp, fn = len(exp & pred), len(pred - exp), len(exp - pred)
        precision, recall = _ratio(tp, tp + fp), _ratio(tp, tp + fn)
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        metrics[rule] = {
            "support": len(exp), "predicted": len(pred), "tp": tp, "fp": fp, "fn": fn,
            "precision": round(precision, 4), "recall": round(recall, 4), "f1": round(f1, 4),
            "false_positives": sorted(pred - exp), "false_negatives": sorted(exp - pred),
        }
    return metrics


@dataclass
class Evaluation:
    """Everything one evaluation run found."""

    files: list[str]
    metrics: dict[str, dict[str, Any]]
    false_positives: list[dict[str, Any]] = field(default_factory=list)
    false_negatives: list[dict[str, Any]] = field(default_factory=list)
    other_rules: dict[str, int] = field(default_factory=dict)
    rejected: list[dict[str, Any]] = field(default_factory=list)
    skipped_rules: list[dict[str, Any]] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def below(self, min_precision: float | None, min_recall: float | None) -> list[str]:
        """One line per rule under a target."""
        lines = []
        for rule, m in self.metrics.items():
            if min_precision is not None and m["precision"] < min_precision:
                lines.append(f"{rule}: precision {m['precision']:.3f} < {min_precision}")
            if min_recall is not None and m["recall"] < min_recall:
                lines.append(f"{rule}: recall {m['recall']:.3f} < {min_recall}")
        return lines

    def misses(self, rule: str | None = None) -> list[str]:
        """Readable FP/FN lines (``file:row rule [role] text``), optionally for one rule."""
        lines = []
        for kind, items in (("FP", self.false_positives), ("FN", self.false_negatives)):
            for item in items:
                if rule is None or item["rule"] == rule:
                    lines.append(_miss_line(kind, item))
        return lines

    def to_json(self, targets: dict[str, float | None] | None = None) -> dict[str, Any]:
        metrics = {rule: {k: v for k, v in m.items() if k not in ("false_positives", "false_negatives")}
                   for rule, m in self.metrics.items()}
        return {
            "files": self.files, "targets": targets or {}, "rules": metrics, "micro": _micro(self.metrics),
            "false_positives": self.false_positives, "false_negatives": self.false_negatives,
            "other_rules": self.other_rules, "rejected": self.rejected,
            "skipped_rules": self.skipped_rules, "errors": self.errors,
        }


def _micro(metrics: dict[str, dict[str, Any]]) -> dict[str, Any]:
    tp = sum(m["tp"] for m in metrics.values())
    fp = sum(m["fp"] for m in metrics.values())
    fn = sum(m["fn"] for m in metrics.values())
    return {"tp": tp, "fp": fp, "fn": fn,
            "precision": round(_ratio(tp, tp + fp), 4), "recall": round(_ratio(tp, tp + fn), 4)}


def _clip(text: str, width: int = 60) -> str:
    text = " ".join(text.split())
    return text if len(text) <= width else text[: width - 1] + "…"


def _miss_line(kind: str, item: dict[str, Any]) -> str:
    line = f"{kind} {item['file']}:{item['row']} {item['rule']} [{item.get('role', '?')}] {_clip(item.get('text', ''))}"
    if item.get("match"):
        line += f"  (match {item['match']!r})"
    if kind == "FP" and item.get("reason"):
        line += f"  — {_clip(item['reason'], 80)}"
    if kind == "FN" and item.get("also_flagged"):
        line += f"  (tool flagged this row as {', '.join(item['also_flagged'])})"
    return line


#: Files in this sub-folder of the eval set are labelled for the six original rules only: the
#: three rules STANDARDS.md added on 2026-12-03 are not scored on them.
SIX_RULE_DIR = "six-rules"


def eval_files() -> list[Path]:
    """The eval set: every ``tests/eval/*.csv`` and ``tests/eval/six-rules/*.csv``, sorted."""
    return sorted(EVAL_DIR.glob("*.csv")) + sorted((EVAL_DIR / SIX_RULE_DIR).glob("*.csv"))


def labelled_rules(path: Path) -> tuple[str, ...]:
    """The rule ids a file's labels cover; findings of other rules are not scored on it."""
    return RULES[:6] if Path(path).parent.name == SIX_RULE_DIR else RULES


def run_evaluation(paths: Sequence[Path] | None = None, *, command: Sequence[str] = DEFAULT_COMMAND,
                   keep_dir: Path | None = None, working_hours: str | None = None) -> Evaluation:
    """Run the tool on each file and compare. A file the tool fails on is reported in
    ``errors`` and its labels count as false negatives. ``working_hours`` (09:00-23:00) is the
    shop's, given to the tool through a qa.toml in its working folder."""
    paths = [Path(p) for p in (paths or eval_files())]
    expected: set[tuple[str, int, str]] = set()
    predicted: set[tuple[str, int, str]] = set()
    details: dict[tuple[str, int, str], dict] = {}
    by_row: dict[tuple[str, int], Message] = {}
    evaluation = Evaluation(files=[p.name for p in paths], metrics={})
    names = [p.name for p in paths]
    if len(set(names)) != len(names):
        raise LabelError("eval files must have distinct names")
    with tempfile.TemporaryDirectory(prefix="qa-accuracy-") as tmp:
        work_dir = Path(keep_dir) if keep_dir else Path(tmp)
        work_dir.mkdir(parents=True, exist_ok=True)
        if working_hours:
            (work_dir / "qa.toml").write_text(f'working_hours = "{working_hours}"\n', encoding="utf-8")
        for path in paths:
            messages = read_messages(path)
            by_row.update({(m.file, m.row): m for m in messages})
            expected |= {(m.file, m.row, rule) for m in messages for rule in m.labels}
            try:
                result = run_tool(path, work_dir, command)
            except ToolError as exc:
                evaluation.errors.append(str(exc))
                continue
            keys, found = predicted_from_result(result, path, by_sheet=len({m.file for m in messages}) > 1)
            scored = labelled_rules(path)
            keys = {key for key in keys if key[2] in scored}
            predicted |= keys
            details.update(found)
            for item in result.get("rejected") or []:
                if _same_file(item.get("file"), path):
                    evaluation.rejected.append({"file": path.name, "row": item.get("row"), "reason": item.get("reason")})
            for item in (result.get("summary") or {}).get("skipped_rules") or []:
                evaluation.skipped_rules.append({"file": path.name, **item})
    evaluation.metrics = compare(expected, predicted)
    for key in sorted(predicted):
        if key[2] not in RULES:
            evaluation.other_rules[key[2]] = evaluation.other_rules.get(key[2], 0) + 1

    def describe(key: tuple[str, int, str]) -> dict[str, Any]:
        message = by_row.get((key[0], key[1]))
        finding = details.get(key, {})
        item = {"file": key[0], "row": key[1], "rule": key[2],
                "session": message.session if message else finding.get("session_id", ""),
                "role": message.role if message else "?",
                "text": message.text if message else f"(no such row) {finding.get('text', '')}"}
        if finding:
            item["match"] = finding.get("match") or ""
            item["reason"] = finding.get("reason") or ""
        return item

    for rule in RULES:
        m = evaluation.metrics[rule]
        evaluation.false_positives += [describe(k) for k in m["false_positives"]]
        for key in m["false_negatives"]:
            item = describe(key)
            item["also_flagged"] = sorted(r for (f, row, r) in predicted if (f, row) == key[:2] and r != rule)
            evaluation.false_negatives.append(item)
    return evaluation


def evaluate(paths: Sequence[Path] | None = None, *,
             command: Sequence[str] = DEFAULT_COMMAND) -> dict[str, dict[str, Any]]:
    """Per-rule metrics (``tp fp fn support predicted precision recall f1 false_positives
    false_negatives``) of the tool on ``paths`` (default: the whole eval set).

    Raises :class:`ToolError` when the tool fails on a file, :class:`LabelError` when an eval
    file is malformed.
    """
    evaluation = run_evaluation(paths, command=command)
    if evaluation.errors:
        raise ToolError("\n".join(evaluation.errors))
    return evaluation.metrics


# ---------------------------------------------------------------------------------------------
# Command line


def format_table(evaluation: Evaluation, min_precision: float | None = None,
                 min_recall: float | None = None) -> str:
    """The metrics table plus the FP/FN listing, as printed by the command line."""
    lines = [f"{'rule':<21}{'labels':>7}{'TP':>5}{'FP':>5}{'FN':>5}{'precision':>11}{'recall':>8}{'F1':>7}"]
    lines.append("-" * len(lines[0]))
    for rule, m in evaluation.metrics.items():
        flag = ""
        if (min_precision is not None and m["precision"] < min_precision) or (
                min_recall is not None and m["recall"] < min_recall):
            flag = "  BELOW TARGET"
        lines.append(f"{rule:<21}{m['support']:>7}{m['tp']:>5}{m['fp']:>5}{m['fn']:>5}"
                     f"{m['precision']:>11.3f}{m['recall']:>8.3f}{m['f1']:>7.3f}{flag}")
    micro = _micro(evaluation.metrics)
    lines.append("-" * len(lines[0]))
    lines.append(f"{'all (micro)':<21}{micro['tp'] + micro['fn']:>7}{micro['tp']:>5}{micro['fp']:>5}{micro['fn']:>5}"
                 f"{micro['precision']:>11.3f}{micro['recall']:>8.3f}")
    if evaluation.other_rules:
        lines.append("other rules (not evaluated): "
                     + ", ".join(f"{r} {n}" for r, n in sorted(evaluation.other_rules.items())))
    for item in evaluation.skipped_rules:
        lines.append(f"skipped by the tool in {item['file']}: {item.get('rule')} ({item.get('reason')})")
    for item in evaluation.rejected:
        lines.append(f"rejected by the tool: {item['file']}:{item['row']} ({item['reason']})")
    for error in evaluation.errors:
        lines.append(f"ERROR {error}")
    misses = evaluation.misses()
    if misses:
        lines.append("")
        lines.append(f"misses ({len(evaluation.false_positives)} FP, {len(evaluation.false_negatives)} FN):")
        lines.extend("  " + line for line in misses)
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("paths", nargs="*", type=Path, help="eval files (default: tests/eval/*.csv and tests/eval/six-rules/*.csv)")
    parser.add_argument("--min-precision", type=float, help="exit 1 if a rule's precision is below this")
    parser.add_argument("--min-recall", type=float, help="exit 1 if a rule's recall is below this")
    parser.add_argument("--json", dest="json_path", type=Path, help="write the metrics as JSON here")
    parser.add_argument("--keep", type=Path, metavar="DIR", help="keep the tool's JSON/xlsx outputs in DIR")
    parser.add_argument("--check-labels", action="store_true", help="only validate the labels, do not run the tool")
    parser.add_argument("--qa-command", metavar="CMD",
                        help="how to start the tool, e.g. 'qa' for an installed one (default: this python -m qa)")
    parser.add_argument("--working-hours", metavar="HH:MM-HH:MM",
                        help="the shop's working hours, when the set's are not the tool's default 09:00-23:00")
    args = parser.parse_args(argv)
    if args.working_hours:
        global WORKING_HOURS
        # hours as a fraction (18:30 -> 18.5): the minutes count
        opens, closes = (int(part.split(":")[0]) + int((part.split(":") + ["0"])[1]) / 60
                         for part in args.working_hours.split("-"))
        WORKING_HOURS = (opens, closes)
    if hasattr(sys.stdout, "reconfigure"):
        sys.stdout.reconfigure(encoding="utf-8", errors="replace")

    # a folder stands for its CSV files (a six-rules folder inside it too)
    paths = [f for p in args.paths for f in (sorted(p.glob("*.csv")) + sorted((p / SIX_RULE_DIR).glob("*.csv"))
                                             if p.is_dir() else [p])] or eval_files()
    if not paths:
        print(f"no eval files in {EVAL_DIR}", file=sys.stderr)
        return 2
    problems = check_labels(paths)
    warnings = [problem for problem in problems if problem.startswith(WARNING)]
    problems = [problem for problem in problems if not problem.startswith(WARNING)]
    if warnings:
        print("label warnings:\n  " + "\n  ".join(warnings), file=sys.stderr)
    if problems:
        print("label problems:\n  " + "\n  ".join(problems), file=sys.stderr)
        return 2
    if args.check_labels:
        counts = {rule: 0 for rule in RULES}
        for path in paths:
            for _, _, rule in read_labels(path):
                counts[rule] += 1
        print("labels OK: " + ", ".join(f"{r} {n}" for r, n in counts.items()))
        return 0

    command = shlex.split(args.qa_command) if args.qa_command else DEFAULT_COMMAND
    evaluation = run_evaluation(paths, command=command, keep_dir=args.keep, working_hours=args.working_hours)
    print(format_table(evaluation, args.min_precision, args.min_recall))
    if args.json_path:
        targets = {"min_precision": args.min_precision, "min_recall": args.min_recall}
        args.json_path.write_text(json.dumps(evaluation.to_json(targets), ensure_ascii=False, indent=1) + "\n",
                                  encoding="utf-8")
    if evaluation.errors:
        return 2
    below = evaluation.below(args.min_precision, args.min_recall)
    if below:
        print("\nbelow target:\n  " + "\n  ".join(below))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
