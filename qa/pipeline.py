"""ingest -> normalize -> check -> score: one audit, as a function the CLI and tests share."""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from qa.checks.base import CheckContext
from qa.engine import report_findings, run_checks, session_agents
from qa.ingest import load_inputs
from qa.model import AuditResult, IngestResult
from qa.normalize import add_norm_column
from qa.rules import Rule, load_rules
from qa.score import load_scoring, score_agents, score_sessions
from qa.suppress import apply_suppressions


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
) -> AuditResult:
    """Audit the given input files with the built-in rules plus ``options.rule_paths``
    (or exactly ``rules`` when given). ``timings`` collects seconds per stage."""
    options = options or AuditOptions()
    timings = timings if timings is not None else {}
    if rules is None:
        rules = load_rules(list(options.rule_paths))
    started = time.perf_counter()
    ingested = load_inputs(
        inputs,
        columns=dict(options.columns) or None,
        encoding=options.encoding,
        sheet=options.sheet,
        timezone=options.timezone,
        agent_pattern=options.agent_pattern,
    )
    timings["read"] = time.perf_counter() - started
    return audit_messages(ingested, rules, options, timings=timings, inputs=list(inputs))


def audit_messages(
    ingested: IngestResult,
    rules: list[Rule],
    options: AuditOptions,
    *,
    timings: dict[str, float] | None = None,
    inputs: list[str] | None = None,
) -> AuditResult:
    """The stages after ingest, on an already loaded message table."""
    timings = timings if timings is not None else {}
    started = time.perf_counter()
    messages = add_norm_column(ingested.messages)
    timings["normalize"] = time.perf_counter() - started

    context = CheckContext(
        lang=options.lang,
        has_timestamps=bool(ingested.has_timestamps and messages["timestamp"].notna().any()),
        timezone=options.timezone,
    )
    raw_findings, skipped = run_checks(messages, rules, context, timings)

    started = time.perf_counter()
    # Rule ids in the scoring file are checked against the full rule set by the CLI; here the
    # rules may be a subset (a single rule's test cases).
    scoring = load_scoring(scoring_file(options.rule_paths))
    agents_by_session = session_agents(messages)
    findings = report_findings(raw_findings, messages, agents_by_session, options.timezone)
    findings, suppressed = apply_suppressions(findings, options.suppressions)  # before scoring
    sessions = score_sessions(
        messages, findings, agents_by_session, scoring=scoring, has_timestamps=context.has_timestamps
    )
    agents = score_agents(sessions, rule_ids=[rule.id for rule in rules if rule.enabled])
    timings["score"] = time.perf_counter() - started
    ingested.messages = messages
    return AuditResult(
        ingest=ingested,
        findings=findings,
        sessions=sessions,
        agents=agents,
        skipped_rules=skipped,
        rules=rules,
        timezone=options.timezone,
        inputs=inputs or ingested.files,
        rule_paths=list(options.rule_paths),
        scoring=scoring,
        suppressed=suppressed if options.suppressions else None,
    )
