"""Shared vocabulary of the pipeline: roles, severities, table schemas and result records.

The pipeline is ingest -> normalize -> check -> score -> report. Stages hand each other
pandas DataFrames whose columns are fixed here, so every module agrees on one schema.

Message table (output of :mod:`qa.ingest`, one row per message, sorted by session, time,
seq, original order, with a fresh RangeIndex 0..n-1 that checks use as the message id):

=============  ==========================================================================
session_id     str, never empty
text           str, the message as written (reports show this)
role           str, one of ``Role`` values
timestamp      datetime64[ns, tz] (the audit's timezone) or NaT; all NaT when no times
seq            float, order within the session when the export has it, else NaN
agent          str, agent name/id as exported; "" when the export has none for the row
source_file    str, the input path as the user gave or a directory listing found it
source_row     int, the row number a spreadsheet shows (header = row 1)
source_sheet   str, sheet name for Excel inputs, "" otherwise
norm           str, added by :mod:`qa.normalize`: the text used for matching
=============  ==========================================================================

Finding table (output of every check type, one row per flagged message per rule):

=============  ==========================================================================
msg            int, message id (index into the message table) the finding sits on
rule           str, public rule id (``forbidden-phrase`` ...)
severity       str, one of ``Severity`` values
match          str, the matched fragment in the ORIGINAL text ("" for gap-type findings)
span_start     int, start of ``match`` in the original text, -1 when none
span_end       int, end (exclusive), -1 when none
reason         str, sentence a trainer can read aloud to the agent
context_msg    int, message id of the customer message it relates to, -1 when none
=============  ==========================================================================

The engine enriches findings with session, agent, time, file, row and text from the message
table; see :data:`FINDING_REPORT_COLUMNS`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

# pandas is imported by the functions that build tables: the vocabulary (roles, severities,
# columns) is also what reading and listing rules needs, and that must start without pandas.
if TYPE_CHECKING:
    import pandas as pd


class Role(StrEnum):
    """Who sent a message."""

    AGENT = "agent"
    CUSTOMER = "customer"
    SYSTEM = "system"


class Severity(StrEnum):
    """How bad a finding is; ordered minor < major < critical."""

    MINOR = "minor"
    MAJOR = "major"
    CRITICAL = "critical"

    @property
    def rank(self) -> int:
        """Numeric order, for comparisons such as ``--fail-on``."""
        return SEVERITY_RANK[self.value]


#: Rank of each severity (minor 1 < major 2 < critical 3), by its value.
SEVERITY_RANK: dict[str, int] = {severity.value: rank for rank, severity in enumerate(Severity, 1)}

# The columns a trainer fills in the Findings sheet, (zh, en): the audit workbook writes them and
# `qa review` finds them by these headers, so both read them from here.
REVIEW_COLUMNS: dict[str, tuple[str, str]] = {
    "id": ("编号", "ID"),
    "review": ("复核", "Review"),
    "comment": ("备注", "Comment"),
}

UNKNOWN_AGENT = "(unknown)"

MESSAGE_COLUMNS = [
    "session_id",
    "text",
    "role",
    "timestamp",
    "seq",
    "agent",
    "source_file",
    "source_row",
    "source_sheet",
]

FINDING_COLUMNS = [
    "msg",
    "rule",
    "severity",
    "match",
    "span_start",
    "span_end",
    "reason",
    "context_msg",
]

FINDING_REPORT_COLUMNS = [
    "rule",
    "severity",
    "session_id",
    "agent",
    "timestamp",
    "file",
    "sheet",
    "row",
    "text",
    "match",
    "span_start",
    "span_end",
    "reason",
    "context_text",
    "msg",
    "context_msg",
]

REJECTED_COLUMNS = ["file", "row", "reason", "raw"]


def empty_findings() -> pd.DataFrame:
    """A finding table with no rows and the right columns and dtypes."""
    # Copies of one template: building a frame costs milliseconds, a small audit builds
    # several empty ones (a rule without findings, no rejected rows) and tests run thousands.
    return _empty_findings().copy()


@lru_cache(maxsize=1)
def _empty_findings() -> pd.DataFrame:
    import pandas as pd

    return pd.DataFrame(
        {
            "msg": pd.Series([], dtype="int64"),
            "rule": pd.Series([], dtype="str"),
            "severity": pd.Series([], dtype="str"),
            "match": pd.Series([], dtype="str"),
            "span_start": pd.Series([], dtype="int64"),
            "span_end": pd.Series([], dtype="int64"),
            "reason": pd.Series([], dtype="str"),
            "context_msg": pd.Series([], dtype="int64"),
        }
    )


def naive_times(times: pd.Series, timezone: str | None = None) -> pd.Series:
    """Datetime values without a timezone: tz-aware ones as wall-clock times in ``timezone``
    (None: in their own zone), naive ones unchanged."""
    if getattr(times.dt, "tz", None) is None:
        return times
    if timezone is not None:
        times = times.dt.tz_convert(timezone)
    return times.dt.tz_localize(None)


def period_text(first: str, last: str) -> str:
    """How every output writes a period from its first to its last time."""
    return f"{first} – {last}"


def audit_period(messages: pd.DataFrame) -> str:
    """The period of an audit's messages, first to last message (wall clock, to the minute);
    "" when no message has a time."""
    times = messages["timestamp"].dropna() if "timestamp" in messages else None
    if times is None or times.empty:
        return ""
    times = naive_times(times)
    return period_text(f"{times.min():%Y-%m-%d %H:%M}", f"{times.max():%Y-%m-%d %H:%M}")


def empty_messages(timezone: str) -> pd.DataFrame:
    """A message table (:data:`MESSAGE_COLUMNS`) with no rows, times in ``timezone``."""
    return _empty_messages(timezone).copy()  # a copy of one template, as empty_findings


@lru_cache(maxsize=16)
def _empty_messages(timezone: str) -> pd.DataFrame:
    import pandas as pd

    return pd.DataFrame(
        {
            "session_id": pd.Series([], dtype="str"),
            "text": pd.Series([], dtype="str"),
            "role": pd.Series([], dtype="str"),
            "timestamp": pd.Series([], dtype=pd.DatetimeTZDtype("ns", timezone)),
            "seq": pd.Series([], dtype="float64"),
            "agent": pd.Series([], dtype="str"),
            "source_file": pd.Series([], dtype="str"),
            "source_row": pd.Series([], dtype="int64"),
            "source_sheet": pd.Series([], dtype="str"),
        }
    )


def empty_rejected() -> pd.DataFrame:
    """A rejected-rows table with no rows."""
    return _empty_rejected().copy()  # a copy of one template, as empty_findings


@lru_cache(maxsize=1)
def _empty_rejected() -> pd.DataFrame:
    import pandas as pd

    return pd.DataFrame(
        {
            "file": pd.Series([], dtype="str"),
            "row": pd.Series([], dtype="int64"),
            "reason": pd.Series([], dtype="str"),
            "raw": pd.Series([], dtype="str"),
        }
    )


@dataclass
class IngestResult:
    """What the ingest stage hands on: audited messages plus every row it refused."""

    messages: pd.DataFrame  # MESSAGE_COLUMNS, sorted, RangeIndex
    rejected: pd.DataFrame  # REJECTED_COLUMNS
    input_rows: int  # data rows read from all inputs (header rows excluded)
    files: list[str] = field(default_factory=list)
    has_timestamps: bool = False
    notes: list[str] = field(default_factory=list)
    # inputs of a several-file run that the reader refused before any of their rows (file, reason):
    # the others are audited, the run exits 2 naming these
    refused: list[tuple[str, str]] = field(default_factory=list)


@dataclass
class SkippedRule:
    """A rule that could not run on this input, with the reason shown in every output."""

    rule: str
    reason: str


@dataclass
class AuditResult:
    """Everything one audit produced; the report writers read only this."""

    ingest: IngestResult
    findings: pd.DataFrame  # FINDING_REPORT_COLUMNS, deterministically sorted
    sessions: pd.DataFrame
    agents: pd.DataFrame
    skipped_rules: list[SkippedRule]
    rules: list  # list[qa.rules.Rule]; untyped here to keep model free of imports
    timezone: str = "Asia/Shanghai"
    inputs: list[str] = field(default_factory=list)
    rule_paths: list[Path] = field(default_factory=list)
    scoring: Any = None  # qa.score.Scoring in effect; untyped to keep model free of imports
    config_path: Path | None = None  # the qa.toml / pyproject.toml the CLI used, if any
    # Findings dropped by suppression files (qa.suppress): FINDING_REPORT_COLUMNS + suppression,
    # suppression_reason; None when no suppression file was given.
    suppressed: Any = None
    # Credits for good practice (qa.credits): CREDIT_REPORT_COLUMNS, (msg, credit) order; the
    # credit definitions in effect (list[qa.credits.Credit]).
    credits: Any = None
    credit_defs: list = field(default_factory=list)
    # The parts of the transferred sessions (qa.score.score_parts: one row per session and agent
    # taking part, SESSION_COLUMNS); the agents are scored on them. None or empty when none.
    parts: Any = None
