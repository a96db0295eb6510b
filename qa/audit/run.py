"""ingest -> normalize -> check -> score: one audit in memory, as a function the CLI and tests share."""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from qa.audit.assemble import assemble
from qa.audit.forked import audit_forked, worker_processes
from qa.audit.partition import audit_partition, prepare_partition
from qa.checks.base import CheckContext
from qa.credits import load_credits
from qa.ingest import ORDER_COLUMN, expand_inputs, load_inputs
from qa.memory import release_memory
from qa.model import AuditResult, IngestResult
from qa.rules import Rule, load_rules
from qa.score import AGENT_COLUMNS, load_scoring
from qa.xlsxlimits import ExcelLimits

#: Above this input size the CLI switches to the out-of-core path (qa.audit.outofcore) by itself.
#: Measured on the benchmark log (136 MB of CSV per 1M messages, nine rules, 2 cores), since the
#: in-memory audit works on every core too (qa.audit.forked): 1M messages take 13.9-14.5 s in memory
#: against 16.5-16.9 s out of core, the summed PSS of all processes alike (1.32-1.33 against
#: 1.26-1.29 GiB; the in-memory parent alone ~1.0 GiB, the out-of-core one ~0.6 GiB). Beyond ~1.2M
#: messages the bounded memory of the out-of-core path is worth its spill. (Kept here, not in
#: qa.audit.outofcore: an ordinary audit decides without importing that module.)
AUTO_THRESHOLD_BYTES = 160 << 20


def input_bytes(inputs: Sequence[str]) -> int:
    """Total size of the input files (folders and globs expanded), for the CLI's automatic
    switch to the out-of-core path above :data:`AUTO_THRESHOLD_BYTES`. Raises InputError
    like the audit would for a missing input."""
    return sum(os.path.getsize(p) for p in expand_inputs(inputs))


@dataclass
class AuditOptions:
    """Everything that shapes one audit besides the input paths."""

    columns: Mapping[str, str] = field(default_factory=dict)
    encoding: str | None = None
    sheet: str | None = None
    timezone: str = "Asia/Shanghai"
    agent_pattern: str | None = None
    rule_paths: Sequence[Path] = ()
    lang: str = "zh"
    suppressions: Any = None  # qa.suppress.Suppressions (qa audit --suppress), applied before scoring
    excel_limits: ExcelLimits = field(default_factory=ExcelLimits)
    header_row: int | None = None  # --header-row (1-based); None: found by the reader
    jobs: int | None = None  # processes auditing a large table's sessions side by side; None: one per core

    def reader_options(self) -> dict[str, Any]:
        """The keyword arguments of :func:`qa.ingest.load_inputs` / ``stream_inputs``."""
        return {
            "columns": dict(self.columns) or None,
            "encoding": self.encoding,
            "sheet": self.sheet,
            "timezone": self.timezone,
            "agent_pattern": self.agent_pattern,
            "excel_limits": self.excel_limits,
            "header_row": self.header_row,
        }


def scoring_file(rule_paths: Sequence[Path]) -> Path | None:
    """The scoring file in effect: ``scoring.toml`` of the last rule pack folder that has one,
    else None (the built-in one)."""
    for pack in reversed(list(rule_paths)):
        candidate = Path(pack) / "scoring.toml"
        if Path(pack).is_dir() and candidate.is_file():
            return candidate
    return None


def audit(
    inputs: Sequence[str],
    options: AuditOptions | None = None,
    *,
    rules: list[Rule] | None = None,
    timings: dict[str, float] | None = None,
    progress: Callable[[str], None] | None = None,
    score: bool = True,
) -> AuditResult:
    """Audit the given input files with the built-in rules plus ``options.rule_paths``
    (or exactly ``rules`` when given). ``timings`` collects seconds per stage; ``progress``
    is told when each stage starts. Without ``score``, only the findings (no credits, session
    rows or agent scorecards: those tables are empty), for a rule's test cases."""
    options = options or AuditOptions()
    timings = timings if timings is not None else {}
    say = progress or (lambda _line: None)
    if rules is None:
        rules = load_rules(list(options.rule_paths))
    started = time.perf_counter()
    say("reading inputs")
    ingested = load_inputs(inputs, **options.reader_options())
    # what parsing the files took and freed (Arrow's pool kept ~290 MB of a 136 MB CSV's reading)
    release_memory()
    timings["read"] = time.perf_counter() - started
    say(f"auditing {len(ingested.messages):,} messages with {sum(r.enabled for r in rules)} rules")
    return audit_messages(ingested, rules, options, timings=timings, inputs=list(inputs), score=score)


def audit_messages(
    ingested: IngestResult,
    rules: list[Rule],
    options: AuditOptions,
    *,
    timings: dict[str, float] | None = None,
    inputs: list[str] | None = None,
    score: bool = True,
) -> AuditResult:
    """The stages after ingest, on an already loaded message table (``score``: as in :func:`audit`)."""
    timings = timings if timings is not None else {}
    messages = ingested.messages
    context = CheckContext(
        lang=options.lang,
        has_timestamps=bool(ingested.has_timestamps and messages["timestamp"].notna().any()),
        timezone=options.timezone,
    )
    # Rule ids in the scoring file are checked against the full rule set by the CLI; here the
    # rules may be a subset (a single rule's test cases).
    scoring = load_scoring(scoring_file(options.rule_paths))
    # The whole table is one partition of the core contract, so the in-memory, out-of-core and
    # cluster paths share one code path. Ingest has sorted it; its positions are its order.
    frame = messages.assign(**{ORDER_COLUMN: np.arange(len(messages), dtype="int64")})
    credit_defs = load_credits(list(options.rule_paths)) if score else []
    workers = worker_processes(options.jobs, len(frame)) if score else 1
    if workers > 1:
        started = time.perf_counter()
        prepared = prepare_partition(frame, rules)
        release_memory()  # before the fork: the workers start from what the table needs, not what preparing it did
        timings["normalize"] = timings.get("normalize", 0.0) + time.perf_counter() - started
        parts = audit_forked(prepared, rules, context, workers, scoring=scoring, timings=timings,
                             suppressions=options.suppressions, credits=credit_defs)
        ingested.messages = prepared
    else:
        part = audit_partition(frame, rules, context, scoring=scoring, timings=timings, keep_messages=True,
                               suppressions=options.suppressions, credits=credit_defs, score=score)
        ingested.messages, parts = part.messages, [part]
    started = time.perf_counter()
    result = assemble(
        parts, ingested, rules=rules, credit_defs=credit_defs, scoring=scoring, timezone=options.timezone,
        inputs=inputs or ingested.files, rule_paths=options.rule_paths, suppressions=options.suppressions,
        agents=None if score else pd.DataFrame(columns=AGENT_COLUMNS),
    )
    timings["score"] = timings.get("score", 0.0) + time.perf_counter() - started
    return result
