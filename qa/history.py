"""Run history: every audit can record its results in an embedded SQLite database, so the
nightly audit shows who is improving (workbook Trends / 趋势 sheet, ``qa history``).

History is off unless asked for: ``qa audit --history PATH`` or ``history = "..."`` (or
``history = true`` for :data:`DEFAULT_HISTORY`) in qa.toml; ``--no-history`` turns a configured
history off for one run. A CI audit therefore has no side effect besides its outputs.

What a run stores: when it ran, the period its messages cover, the input files and a hash of
their contents, the rules hash (:func:`qa.rules.rules_hash`), sessions, messages, findings and
suppressed findings; per agent the score and the service metrics of the Agents sheet; per rule
the findings and findings per 100 sessions. Auditing the same inputs (same contents) with the
same rules again replaces that run (same run number) instead of adding one. ``qa review``
updates a run with the trainers' verdicts: each agent's score after review (the audit score
is kept beside it) and false positives per agent and rule; trends then show reviewed numbers.

Runs are ordered by the start of the period their messages cover (the day audited), or by
when they ran when the input has no times.

Schema: versioned with SQLite's ``user_version`` and marked with ``application_id``
(:data:`APPLICATION_ID`). Opening an older file migrates it in place, in one transaction
(:data:`MIGRATIONS`; a new file is built by the same steps); a file from a newer qa is refused
without being touched, and so is any SQLite file that is not a qa history.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import sqlite3
import unicodedata
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd

from qa import __version__
from qa.errors import QAError
from qa.model import period_text

DEFAULT_HISTORY = Path("reports/qa-history.sqlite")
#: Seconds to wait for a history another process has locked before saying so; the
#: environment variable ``QA_HISTORY_WAIT`` changes it (e.g. ``QA_HISTORY_WAIT=60``).
HISTORY_WAIT_SECONDS = 5.0
APPLICATION_ID = 0x51414831  # "QAH1"
TREND_RUNS = 10  # runs the Trends sheet and `qa history` show by default

_V1 = """
CREATE TABLE runs (
    id INTEGER PRIMARY KEY,
    run_key TEXT NOT NULL UNIQUE,
    inputs_hash TEXT NOT NULL,
    rules_hash TEXT NOT NULL,
    recorded_at TEXT NOT NULL,
    ordered_at TEXT NOT NULL,
    timezone TEXT NOT NULL,
    period_start TEXT,
    period_end TEXT,
    inputs TEXT NOT NULL,
    sessions INTEGER NOT NULL,
    messages INTEGER NOT NULL,
    findings INTEGER NOT NULL,
    qa_version TEXT NOT NULL
);
CREATE INDEX runs_order ON runs (ordered_at, id);
CREATE TABLE agent_runs (
    run_id INTEGER NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
    agent TEXT NOT NULL,
    score REAL,
    sessions INTEGER NOT NULL,
    messages INTEGER,
    customer_messages INTEGER,
    first_response_median_s REAL,
    first_response_mean_s REAL,
    avg_response_s REAL,
    reply_rate REAL,
    qa_ratio REAL,
    findings INTEGER NOT NULL,
    findings_per_100_sessions REAL,
    vetoes INTEGER,
    findings_by_rule TEXT,
    PRIMARY KEY (run_id, agent)
);
CREATE TABLE rule_runs (
    run_id INTEGER NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
    rule TEXT NOT NULL,
    findings INTEGER NOT NULL,
    per_100_sessions REAL NOT NULL,
    PRIMARY KEY (run_id, rule)
);
"""

# Version 2: suppressed findings per run, and trainers' reviews (qa review).
_V2 = """
ALTER TABLE runs ADD COLUMN suppressed INTEGER NOT NULL DEFAULT 0;
ALTER TABLE runs ADD COLUMN reviewed_at TEXT;
ALTER TABLE runs ADD COLUMN reviewed_by TEXT;
ALTER TABLE agent_runs ADD COLUMN audit_score REAL;
UPDATE agent_runs SET audit_score = score;
ALTER TABLE agent_runs ADD COLUMN false_positives INTEGER NOT NULL DEFAULT 0;
ALTER TABLE rule_runs ADD COLUMN confirmed INTEGER NOT NULL DEFAULT 0;
ALTER TABLE rule_runs ADD COLUMN false_positives INTEGER NOT NULL DEFAULT 0;
"""

# Version 3: credits for good practice per agent (issue 15), beside the findings; NULL in runs
# recorded before credits existed (shown as "-", not as zero).
_V3 = """
ALTER TABLE agent_runs ADD COLUMN credits INTEGER;
ALTER TABLE agent_runs ADD COLUMN credits_by_id TEXT;
"""

# (version, SQL): applied in order from a file's version to the newest.
MIGRATIONS: list[tuple[int, str]] = [(1, _V1), (2, _V2), (3, _V3)]
SCHEMA_VERSION = MIGRATIONS[-1][0]


def _statements(script: str) -> list[str]:
    return [s.strip() for s in script.split(";") if s.strip()]


def migrate(connection: sqlite3.Connection, path: Path, *, target: int = SCHEMA_VERSION) -> int:
    """Bring the database to ``target`` in one transaction; returns the version it had."""
    version = connection.execute("PRAGMA user_version").fetchone()[0]
    if version >= target:
        return version
    connection.execute("BEGIN IMMEDIATE")
    try:
        version = connection.execute("PRAGMA user_version").fetchone()[0]  # another process may have migrated
        for step, script in MIGRATIONS:
            if version < step <= target:
                for statement in _statements(script):
                    connection.execute(statement)
        connection.execute(f"PRAGMA application_id = {APPLICATION_ID}")
        connection.execute(f"PRAGMA user_version = {target}")
        connection.execute("COMMIT")
    except sqlite3.Error as error:
        connection.execute("ROLLBACK")
        raise QAError(f"{path}: cannot update the history schema: {error}") from None
    return version


def history_wait() -> float:
    """Seconds to wait for a locked history: ``QA_HISTORY_WAIT`` or :data:`HISTORY_WAIT_SECONDS`."""
    value = os.environ.get("QA_HISTORY_WAIT", "").strip()
    if not value:
        return HISTORY_WAIT_SECONDS
    try:
        seconds = float(value)
    except ValueError:
        raise QAError(f"QA_HISTORY_WAIT={value!r} is not a number of seconds") from None
    if not math.isfinite(seconds) or seconds < 0:
        raise QAError(f"QA_HISTORY_WAIT={value!r} is not a number of seconds")
    return seconds


def _owner_file(path: Path) -> Path:
    """While qa writes a history it says who it is in this file beside it, so a run that
    finds the history locked can name the writer."""
    return Path(f"{path}.writer")


def _claim(path: Path) -> Path | None:
    import socket

    owner = _owner_file(path)
    record = {"pid": os.getpid(), "host": socket.gethostname(), "since": _now(), "qa": __version__}
    try:
        owner.write_text(json.dumps(record), encoding="utf-8")
    except OSError:  # naming the writer is a courtesy; never a reason to fail
        return None
    return owner


def _release(owner: Path | None) -> None:
    if owner is None:
        return
    try:  # the next writer may already have put its own name there
        if json.loads(owner.read_text(encoding="utf-8")).get("pid") == os.getpid():
            owner.unlink()
    except (OSError, ValueError, AttributeError):
        pass


def _holder(path: Path) -> str:
    """Who holds the lock on the history, as far as can be told."""
    import socket

    try:
        record = json.loads(_owner_file(path).read_text(encoding="utf-8"))
        pid, host, since = int(record["pid"]), str(record["host"]), str(record.get("since", "?"))
    except (OSError, ValueError, KeyError, TypeError):
        return "another program"
    if host == socket.gethostname():
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return "another program"  # the file is left over from a qa that was killed
        except OSError:
            pass
        return f"another qa run (process {pid}, writing since {since})"
    return f"another qa run (process {pid} on {host}, writing since {since})"


def _is_locked(error: sqlite3.Error) -> bool:
    text = str(error).lower()
    return "locked" in text or "busy" in text


def _locked(path: Path) -> QAError:
    return QAError(
        f"history {path} is locked by {_holder(path)}; waited {history_wait():g} s. Run again when it is done "
        "(QA_HISTORY_WAIT=SECONDS waits longer)"
    )


@contextmanager
def _writing(connection: sqlite3.Connection, path: Path, failure: str) -> Iterator[None]:
    """One write transaction on the history at ``path`` (BEGIN IMMEDIATE, the writer named
    beside it): committed when the block ends; on a database error rolled back and raised as a
    QAError starting with ``failure`` (or naming the lock holder). Closes the connection."""
    owner = None
    try:
        connection.execute("BEGIN IMMEDIATE")
        owner = _claim(path)
        yield
        connection.execute("COMMIT")
    except sqlite3.Error as error:
        if connection.in_transaction:
            connection.execute("ROLLBACK")
        if _is_locked(error):
            raise _locked(path) from None
        raise QAError(f"{failure}: {error}") from None
    finally:
        connection.close()
        _release(owner)


def open_history(path: Path, *, create: bool = True, target: int = SCHEMA_VERSION) -> sqlite3.Connection:
    """Open (and create, migrate) a history file; refuse files that are not a qa history or
    come from a newer qa, without changing them."""
    path = Path(path)
    if path.is_dir():
        raise QAError(f"history {path} is a folder; give a file such as {DEFAULT_HISTORY}")
    if not path.exists():
        if not create:
            raise QAError(f"no history at {path} (record runs with: qa audit ... --history {path})")
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            raise QAError(f"cannot create folder {path.parent}: {error.strerror}") from None
    try:
        connection = sqlite3.connect(str(path), timeout=history_wait(), isolation_level=None)
        application = connection.execute("PRAGMA application_id").fetchone()[0]
        version = connection.execute("PRAGMA user_version").fetchone()[0]
        tables = connection.execute("SELECT count(*) FROM sqlite_master WHERE type = 'table'").fetchone()[0]
    except sqlite3.OperationalError as error:
        if _is_locked(error):
            raise _locked(path) from None
        if not path.exists() or "unable to open" in str(error):
            # (no file there to be wrong: the folder refuses it — read-only, no permission)
            why = "the folder is read-only" if not os.access(path.parent, os.W_OK) else str(error)
            raise QAError(f"cannot open history {path}: {why}; choose another --history or --no-history") from None
        raise QAError(f"{path} is not a qa history file ({error})") from None
    except sqlite3.DatabaseError as error:
        raise QAError(f"{path} is not a qa history file ({error})") from None
    if application not in (0, APPLICATION_ID) or (application == 0 and tables):
        connection.close()
        raise QAError(f"{path} is an SQLite database of another program, not a qa history file; choose another --history")
    if version > SCHEMA_VERSION:
        connection.close()
        raise QAError(
            f"{path} was written by a newer qa (history schema {version}; this qa {__version__} reads up to "
            f"{SCHEMA_VERSION}); upgrade qa to use it. The file was not changed."
        )
    connection.execute("PRAGMA foreign_keys = ON")
    try:
        migrate(connection, path, target=target)
    except sqlite3.OperationalError as error:
        connection.close()
        raise (_locked(path) if _is_locked(error) else QAError(f"{path}: {error}")) from None
    return connection


# ---------------------------------------------------------------------------------------
# Recording


def inputs_hash(files: Iterable[str]) -> str:
    """A hash of the input files' contents (independent of their names and order)."""
    digests = []
    for name in files:
        digest = hashlib.sha256()
        try:
            with open(name, "rb") as handle:
                for block in iter(lambda: handle.read(1 << 20), b""):
                    digest.update(block)
        except OSError as error:
            raise QAError(f"cannot read {name} to record it in the history: {error.strerror}") from None
        digests.append(digest.hexdigest())
    combined = hashlib.sha256("\n".join(sorted(digests)).encode()).hexdigest()
    return combined[:16]


def _utc(value: Any) -> str | None:
    if value is None or pd.isna(value):
        return None
    stamp = pd.Timestamp(value)
    if stamp.tzinfo is None:
        return stamp.strftime("%Y-%m-%dT%H:%M:%S")
    return stamp.tz_convert("UTC").strftime("%Y-%m-%dT%H:%M:%SZ")


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _number(value: Any) -> float | None:
    if value is None:
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


@dataclass
class RecordedRun:
    """What :func:`record_audit` did."""

    id: int
    run_key: str
    label: str
    replaced: bool
    path: Path


def record_audit(path: Path, result: Any, *, now: str | None = None, mask: bool = True) -> RecordedRun:
    """Record an audit (:class:`qa.model.AuditResult`) in the history at ``path``; the same
    inputs with the same rules replace their earlier run. With ``mask``, agent names that are
    phone numbers or e-mails are stored masked, as the workbook shows them (:mod:`qa.mask`)."""
    from qa.mask import result_masker
    from qa.rules import result_rules_hash

    masker = result_masker(result, mask)

    connection = open_history(path)
    files = list(result.ingest.files or result.inputs)
    key_inputs = inputs_hash(files)
    key_rules = result_rules_hash(result)
    run_key = f"{key_inputs}:{key_rules}"
    recorded_at = now or _now()
    times = result.ingest.messages["timestamp"].dropna() if "timestamp" in result.ingest.messages else pd.Series([])
    period_start = _utc(times.min()) if len(times) else None
    period_end = _utc(times.max()) if len(times) else None
    suppressed = getattr(result, "suppressed", None)
    n_suppressed = int(len(suppressed)) if isinstance(suppressed, pd.DataFrame) else 0
    run_values = {
        "run_key": run_key, "inputs_hash": key_inputs, "rules_hash": key_rules, "recorded_at": recorded_at,
        "ordered_at": period_start or recorded_at, "timezone": result.timezone,
        "period_start": period_start, "period_end": period_end,
        "inputs": json.dumps([masker.text(str(p)) for p in (result.inputs or files)], ensure_ascii=False),
        "sessions": int(len(result.sessions)), "messages": int(len(result.ingest.messages)),
        "findings": int(len(result.findings)), "qa_version": __version__, "suppressed": n_suppressed,
        "reviewed_at": None, "reviewed_by": None,
    }
    with _writing(connection, path, f"cannot record the run in {path}"):
        row = connection.execute("SELECT id FROM runs WHERE run_key = ?", (run_key,)).fetchone()
        if row is None:
            columns = ", ".join(run_values)
            marks = ", ".join("?" for _ in run_values)
            run_id = connection.execute(f"INSERT INTO runs ({columns}) VALUES ({marks})", list(run_values.values())).lastrowid
        else:
            run_id = row[0]
            assignments = ", ".join(f"{column} = ?" for column in run_values)
            connection.execute(f"UPDATE runs SET {assignments} WHERE id = ?", [*run_values.values(), run_id])
            connection.execute("DELETE FROM agent_runs WHERE run_id = ?", (run_id,))
            connection.execute("DELETE FROM rule_runs WHERE run_id = ?", (run_id,))
        connection.executemany(
            "INSERT INTO agent_runs (run_id, agent, score, audit_score, sessions, messages, customer_messages, "
            "first_response_median_s, first_response_mean_s, avg_response_s, reply_rate, qa_ratio, findings, "
            "findings_per_100_sessions, vetoes, findings_by_rule, credits, credits_by_id) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [
                (
                    run_id, masker.agent(a.agent), _number(a.score), _number(a.score), int(a.sessions), _int(a.messages),
                    _int(a.customer_messages), _number(a.first_response_median_s), _number(a.first_response_mean_s),
                    _number(a.avg_response_s), _number(a.reply_rate), _number(a.qa_ratio), int(a.findings),
                    _number(a.findings_per_100_sessions), _int(a.vetoes),
                    json.dumps({k: int(v) for k, v in (a.findings_by_rule or {}).items()}, ensure_ascii=False),
                    *_credit_counts(getattr(a, "credits", None)),
                )
                for a in result.agents.itertuples(index=False)
            ],
        )
        n_sessions = max(len(result.sessions), 1)
        counts = result.findings["rule"].value_counts() if len(result.findings) else pd.Series(dtype="int64")
        rule_ids = [rule.id for rule in result.rules if getattr(rule, "enabled", True)]
        rule_ids += sorted(set(counts.index) - set(rule_ids))
        connection.executemany(
            "INSERT INTO rule_runs (run_id, rule, findings, per_100_sessions) VALUES (?, ?, ?, ?)",
            [
                (run_id, rule, int(counts.get(rule, 0)), round(int(counts.get(rule, 0)) * 100.0 / n_sessions, 1))
                for rule in rule_ids
            ],
        )
    label = _label(run_id, period_start or recorded_at, result.timezone)
    return RecordedRun(id=int(run_id), run_key=run_key, label=label, replaced=row is not None, path=Path(path))


def forget_run(path: Path, run_id: int) -> None:
    """Remove run ``run_id`` (a run whose outputs were never written) from the history at ``path``."""
    connection = open_history(path, create=False)
    with _writing(connection, path, f"cannot take the run back from {path}"):
        for table in ("agent_runs", "rule_runs"):
            connection.execute(f"DELETE FROM {table} WHERE run_id = ?", (run_id,))
        connection.execute("DELETE FROM runs WHERE id = ?", (run_id,))


def _credit_counts(credits: Any) -> tuple[int | None, str | None]:
    """(total, JSON per credit id) of an agent's credits; (None, None) when the audit had none."""
    if not isinstance(credits, dict):
        return None, None
    # counts per credit id; nested tables (per_100_sessions) are derived, not counts
    counts = {str(k): int(v) for k, v in credits.items() if not isinstance(v, dict)}
    return sum(counts.values()), json.dumps(counts, ensure_ascii=False)


def _int(value: Any) -> int | None:
    number = _number(value)
    return None if number is None else int(number)


@dataclass
class ReviewUpdate:
    """One reviewed run's numbers for :func:`apply_review`."""

    run_key: str
    agents: dict[str, tuple[float | None, int]]  # agent -> (score after review, false positives)
    rules: dict[str, tuple[int, int]]  # rule -> (confirmed, false positives)
    reviewed_by: str = ""
    reviewed: bool = True  # False: no verdict at all (scores back to the audit's; not marked reviewed)


def apply_review(path: Path, updates: list[ReviewUpdate], *, now: str | None = None) -> tuple[list[str], list[str]]:
    """Store reviewed scores and verdict counts; returns (run labels updated, run keys not in
    the history)."""
    connection = open_history(path, create=False)
    updated, missing = [], []
    with _writing(connection, path, f"cannot update {path} with the review"):
        for update in updates:
            row = connection.execute(
                "SELECT id, ordered_at, timezone FROM runs WHERE run_key = ?", (update.run_key,)
            ).fetchone()
            if row is None:
                missing.append(update.run_key)
                continue
            run_id = row[0]
            for agent, (score, false_positives) in update.agents.items():
                connection.execute(
                    "UPDATE agent_runs SET score = ?, false_positives = ? WHERE run_id = ? AND agent = ?",
                    (_number(score), int(false_positives), run_id, agent),
                )
            for rule, (confirmed, false_positives) in update.rules.items():
                connection.execute(
                    "UPDATE rule_runs SET confirmed = ?, false_positives = ? WHERE run_id = ? AND rule = ?",
                    (int(confirmed), int(false_positives), run_id, rule),
                )
            connection.execute(
                "UPDATE runs SET reviewed_at = ?, reviewed_by = ? WHERE id = ?",
                ((now or _now()) if update.reviewed else None, (update.reviewed_by or None) if update.reviewed else None, run_id),
            )
            updated.append(_label(run_id, row[1], row[2]))
    return updated, missing


# ---------------------------------------------------------------------------------------
# Reading


def _local(stamp: str | None, timezone: str, fmt: str = "%Y-%m-%d %H:%M") -> str:
    if not stamp:
        return ""
    value = pd.Timestamp(stamp)
    if value.tzinfo is not None:
        try:
            value = value.tz_convert(timezone)
        except Exception:  # an unknown zone name in an old file: show UTC
            pass
    return value.strftime(fmt)


def _label(run_id: int, ordered_at: str | None, timezone: str) -> str:
    return f"#{run_id} {_local(ordered_at, timezone, '%Y-%m-%d')}".strip()


@dataclass
class TrendRun:
    """One run as trends show it."""

    id: int
    label: str
    ran: str  # when the audit ran (local time of its timezone)
    period: str  # first and last message time, or ""
    inputs: list[str]
    sessions: int
    findings: int
    suppressed: int
    reviewed: str  # when reviewed, or ""


@dataclass
class Trends:
    """The last runs of a history: per agent their score per run (None: not in that run),
    per rule findings per 100 sessions per run (false positives found by review excluded)."""

    path: Path
    runs: list[TrendRun] = field(default_factory=list)
    agents: dict[str, list[float | None]] = field(default_factory=dict)
    rules: dict[str, list[float | None]] = field(default_factory=dict)
    details: dict[str, list[dict[str, Any]]] = field(default_factory=dict)  # agent -> one dict per run
    current: int | None = None  # the run this audit recorded
    current_key: str | None = None  # its run key (stored in the workbook so qa review can update it)
    current_label: str | None = None
    total_runs: int = 0


def load_trends(path: Path, *, last: int = TREND_RUNS, agent: str | None = None, current: int | None = None) -> Trends:
    """The last ``last`` runs (by period audited), oldest first. ``agent`` keeps the agents
    whose name is ``agent`` or, failing that, contains it (case-insensitive)."""
    if last < 1:
        raise QAError("--last must be 1 or more")
    connection = open_history(path, create=False)
    try:
        total = connection.execute("SELECT count(*) FROM runs").fetchone()[0]
        rows = connection.execute(
            "SELECT id, recorded_at, ordered_at, timezone, period_start, period_end, inputs, sessions, findings, "
            "suppressed, reviewed_at FROM runs ORDER BY ordered_at DESC, id DESC LIMIT ?",
            (last,),
        ).fetchall()[::-1]
        trends = Trends(path=Path(path), current=current, total_runs=total)
        index = {}
        for position, (run_id, recorded, ordered, tz, start, end, inputs, sessions, findings, suppressed, reviewed) in enumerate(rows):
            period = period_text(_local(start, tz), _local(end, tz)) if start else ""
            trends.runs.append(TrendRun(
                id=run_id, label=_label(run_id, ordered, tz), ran=_local(recorded, tz), period=period,
                inputs=json.loads(inputs), sessions=sessions, findings=findings, suppressed=suppressed or 0,
                reviewed=_local(reviewed, tz) if reviewed else "",
            ))
            index[run_id] = position
        if not rows:
            return trends
        marks = ", ".join("?" for _ in index)
        n = len(rows)
        agent_rows = connection.execute(
            f"SELECT run_id, agent, score, audit_score, sessions, findings, findings_per_100_sessions, false_positives, "
            f"first_response_median_s, avg_response_s, reply_rate, vetoes, credits FROM agent_runs WHERE run_id IN ({marks}) "
            "ORDER BY agent",
            list(index),
        ).fetchall()
        names = sorted({row[1] for row in agent_rows})
        if agent is not None:
            chosen = [name for name in names if name == agent] or [
                name for name in names if agent.casefold() in name.casefold()
            ]
            if not chosen:
                shown = ", ".join(names[:20]) + (" …" if len(names) > 20 else "")
                raise QAError(f"no agent '{agent}' in the last {n} runs of {path} (agents: {shown or 'none'})")
            names = chosen
        wanted = set(names)
        for name in names:
            trends.agents[name] = [None] * n
            trends.details[name] = [{} for _ in range(n)]
        for (run_id, name, score, audit_score, sessions, findings, per_100, false_positives, frt, art, reply, vetoes,
             credits) in agent_rows:
            if name not in wanted:
                continue
            position = index[run_id]
            trends.agents[name][position] = score
            trends.details[name][position] = {
                "score": score, "audit_score": audit_score, "sessions": sessions, "findings": findings,
                "per_100": per_100, "false_positives": false_positives, "first_response_median_s": frt,
                "avg_response_s": art, "reply_rate": reply, "vetoes": vetoes, "credits": credits,
            }
        for run_id, rule, findings, false_positives, sessions in connection.execute(
            f"SELECT r.run_id, r.rule, r.findings, r.false_positives, runs.sessions FROM rule_runs r "
            f"JOIN runs ON runs.id = r.run_id WHERE r.run_id IN ({marks}) ORDER BY r.rule",
            list(index),
        ).fetchall():
            rates = trends.rules.setdefault(rule, [None] * n)
            rates[index[run_id]] = round((findings - (false_positives or 0)) * 100.0 / max(sessions, 1), 1)
        return trends
    except sqlite3.Error as error:
        if _is_locked(error):
            raise _locked(path) from None
        raise QAError(f"cannot read {path}: {error}") from None
    finally:
        connection.close()


# ---------------------------------------------------------------------------------------
# Terminal


def _width(text: str) -> int:
    return sum(2 if unicodedata.east_asian_width(char) in "WF" else 1 for char in text)


def _pad(text: str, width: int, right: bool = False) -> str:
    space = " " * max(width - _width(text), 0)
    return space + text if right else text + space


def _fmt(value: float | None, digits: int = 1) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def _change(values: list[float | None]) -> str:
    present = [v for v in values if v is not None]
    if len(present) < 2:
        return ""
    delta = present[-1] - present[0]
    return f"{delta:+.1f}"


def _table(header: list[str], rows: list[list[str]], numeric_from: int = 1) -> list[str]:
    widths = [max(_width(cell) for cell in column) for column in zip(header, *rows)]
    lines = []
    for row in [header, *rows]:
        cells = [_pad(cell, widths[i], right=i >= numeric_from) for i, cell in enumerate(row)]
        lines.append("  ".join(cells).rstrip())
    return lines


def format_trends(trends: Trends, *, agent_detail: bool = False) -> list[str]:
    """The trends as terminal lines: the runs, each agent's score per run, per-rule rates;
    with ``agent_detail``, one table per agent with a row per run."""
    n = len(trends.runs)
    lines = [f"history: {trends.path} ({n} of {trends.total_runs} runs shown, oldest first)"]
    if not n:
        lines.append("no runs recorded yet")
        return lines
    lines.append("")
    lines += _table(
        ["run", "period", "inputs", "sessions", "findings", "suppressed", "reviewed"],
        [
            [run.label, run.period or f"ran {run.ran}", _short_inputs(run.inputs), str(run.sessions),
             str(run.findings), str(run.suppressed), run.reviewed or "-"]
            for run in trends.runs
        ],
        numeric_from=3,
    )
    labels = [f"#{run.id}" for run in trends.runs]
    if agent_detail:
        for name, per_run in trends.details.items():
            lines.append("")
            lines.append(f"agent {name}")
            rows = []
            for run, detail in zip(trends.runs, per_run):
                if not detail:
                    rows.append([run.label, "-", "", "", "", "", "", "", ""])
                    continue
                score = _fmt(detail["score"])
                if detail["audit_score"] is not None and detail["score"] != detail["audit_score"]:
                    score += f" (audit {_fmt(detail['audit_score'])})"
                rows.append([
                    run.label, score, str(detail["sessions"]), str(detail["findings"]),
                    str(detail["false_positives"] or 0), _fmt(detail["per_100"]),
                    "-" if detail.get("credits") is None else str(detail["credits"]),
                    _fmt(detail["first_response_median_s"]),
                    "-" if detail["reply_rate"] is None else f"{detail['reply_rate'] * 100:.1f}%",
                ])
            lines += _table(
                ["run", "score", "sessions", "findings", "false pos.", "per 100 sessions", "credits",
                 "first response s (median)", "reply rate"],
                rows,
            )
    else:
        lines.append("")
        lines.append("agent scores (after review where reviewed)")
        lines += _table(
            ["agent", *labels, "change"],
            [[name, *(_fmt(v) for v in values), _change(values)] for name, values in trends.agents.items()],
        )
    lines.append("")
    lines.append("findings per 100 sessions (false positives found by review excluded)")
    lines += _table(
        ["rule", *labels, "change"],
        [[rule, *(_fmt(v) for v in values), _change(values)] for rule, values in trends.rules.items()],
    )
    return lines


def _short_inputs(inputs: list[str]) -> str:
    if not inputs:
        return ""
    first = Path(inputs[0]).name or inputs[0]
    return first if len(inputs) == 1 else f"{first} +{len(inputs) - 1}"
