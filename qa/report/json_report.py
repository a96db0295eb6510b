"""The machine-readable result (``--json``), a public contract (version 1).

Same input and rules give byte-identical JSON (no generation time is written).

Credits for good practice (:mod:`qa.credits`) are additive: a top-level ``credits`` array
(one record per credited message: credit, session_id, agent, timestamp, file, row, text,
match, span, reason, context), ``summary.credits`` / ``summary.by_credit``, and per agent
``agents[].credits`` (``{credit id: count, …, "per_100_sessions": {…}}``).

Rule display names are additive too: ``summary.rule_names`` (``{rule id: {"zh": …, "en": …}}``,
from each rule file's ``[name]``, the id where it has none).
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd

from qa.identity import ID_SCHEME, masked_finding_ids
from qa.mask import result_masker
from qa.model import AuditResult
from qa.report.files import atomic_write
from qa.rules import rule_label, rule_names
from qa.suppress import suppressed_summary

JSON_VERSION = 1


def _column(frame: pd.DataFrame, name: str) -> list[Any]:
    """One column as plain Python values: NaN/NaT -> None, timestamps -> ISO text."""
    column = frame[name]
    if pd.api.types.is_datetime64_any_dtype(column.dtype):
        text = column.dt.strftime("%Y-%m-%dT%H:%M:%S")
        return [None if pd.isna(v) else v for v in text.tolist()]
    values = column.tolist()
    if pd.api.types.is_float_dtype(column.dtype):
        return [None if v is None or math.isnan(v) else v for v in values]
    if column.dtype == object:
        return [None if (isinstance(v, float) and math.isnan(v)) or v is pd.NaT else v for v in values]
    return values


def iter_findings(result: AuditResult, *, mask: bool = False) -> Iterator[dict[str, Any]]:
    """The ``findings`` records, in the result's deterministic order, built column-wise.

    With ``mask``, phone numbers, ID numbers and e-mails in texts are masked (lengths are
    kept, so spans still point at the match)."""
    findings = result.findings
    if not len(findings):
        return
    masker = result_masker(result, mask)
    ids = masked_finding_ids(masker, findings)  # over the masked text whatever ``mask``: the same id with or without --no-mask
    findings = masker.findings(findings)
    columns = {name: _column(findings, name) for name in (
        "rule", "severity", "session_id", "agent", "timestamp", "file", "row", "text", "match",
        "span_start", "span_end", "reason", "sheet", "context_text")}
    for index, finding_id in enumerate(ids):
        yield {"id": finding_id, "rule": columns["rule"][index], "severity": columns["severity"][index],
               **_located(columns, index)}


def _located(columns: dict[str, list], index: int) -> dict[str, Any]:
    """Where a finding or credit stands and what it matched (the keys after its own id)."""
    start = columns["span_start"][index]
    record = {
        "session_id": columns["session_id"][index],
        "agent": columns["agent"][index],
        "timestamp": columns["timestamp"][index],
        "file": columns["file"][index],
        "row": int(columns["row"][index]),
        "text": columns["text"][index],
        "match": columns["match"][index],
        "span": [int(start), int(columns["span_end"][index])] if start >= 0 else None,
        "reason": columns["reason"][index],
    }
    if columns["sheet"][index]:
        record["sheet"] = columns["sheet"][index]
    if columns["context_text"][index]:
        record["context"] = columns["context_text"][index]
    return record


def iter_credits(result: AuditResult, *, mask: bool = False) -> Iterator[dict[str, Any]]:
    """The ``credits`` records, in the result's (msg, credit) order; masked like findings."""
    credits = getattr(result, "credits", None)
    if credits is None or not len(credits):
        return
    credits = result_masker(result, mask).findings(credits)  # texts, session ids, agents: as findings
    columns = {name: _column(credits, name) for name in (
        "credit", "session_id", "agent", "timestamp", "file", "row", "text", "match",
        "span_start", "span_end", "reason", "sheet", "context_text")}
    for index in range(len(credits)):
        yield {"credit": columns["credit"][index], **_located(columns, index)}


def findings_records(result: AuditResult, *, mask: bool = False) -> list[dict[str, Any]]:
    """The ``findings`` array as a list (see :func:`iter_findings`)."""
    return list(iter_findings(result, mask=mask))


def iter_table(frame: pd.DataFrame, masker: Any = None) -> Iterator[dict[str, Any]]:
    """Rows of a sessions/agents table as JSON-ready dicts, built column-wise; with a
    :class:`qa.mask.ResultMasker`, session ids and agent names masked."""
    if masker is not None and masker.enabled and len(frame):
        if "session_id" in frame:
            frame = frame.assign(session_id=masker.sessions(frame["session_id"]))
        if "agent" in frame:
            frame = frame.assign(agent=masker.agents(frame["agent"]))
    names = list(frame.columns)
    columns = [_column(frame, name) for name in names]
    for values in zip(*columns):
        yield dict(zip(names, values))


def _summary(result: AuditResult, mask: bool) -> dict[str, Any]:
    ingest = result.ingest
    by_rule = {rule.id: 0 for rule in result.rules if rule.enabled}
    names = rule_names(result.rules)
    if len(result.findings):
        for rule_id, count in result.findings["rule"].value_counts().sort_index().items():
            by_rule[rule_id] = int(count)
    credits = getattr(result, "credits", None)
    by_credit = {credit.id: 0 for credit in getattr(result, "credit_defs", None) or [] if credit.enabled}
    if credits is not None and len(credits):
        for credit_id, count in credits["credit"].value_counts().sort_index().items():
            by_credit[credit_id] = int(count)
    return {
        "input_rows": int(ingest.input_rows),
        "audited_rows": int(len(ingest.messages)),
        "rejected_rows": int(len(ingest.rejected)),
        "sessions": int(len(result.sessions)),
        "agents": int(len(result.agents)),
        "findings": int(len(result.findings)),
        "id_scheme": ID_SCHEME,  # how findings[].id is made (README, "Finding ids")
        "by_rule": by_rule,
        "skipped_rules": [{"rule": s.rule, "reason": s.reason} for s in result.skipped_rules],
        "suppressed": suppressed_summary(result, mask=mask),
        "credits": int(len(credits)) if credits is not None else 0,
        "by_credit": by_credit,
        # Display names ([name] of each rule file; the id where a rule has none), additive.
        "rule_names": {rule_id: {lang: rule_label(rule_id, lang, names) for lang in ("zh", "en")} for rule_id in by_rule},
    }


def _rejected(result: AuditResult, mask: bool) -> Iterator[dict[str, Any]]:
    rejected = result.ingest.rejected
    reasons = result_masker(result, mask).texts(rejected["reason"]).tolist()  # may quote the row
    for file, row, reason in zip(rejected["file"].tolist(), rejected["row"].tolist(), reasons):
        yield {"file": file, "row": int(row), "reason": reason}


def _sections(result: AuditResult, mask: bool) -> list[tuple[str, Any]]:
    """The document's top-level keys in order; arrays as iterators (streamed when written)."""
    return [
        ("version", JSON_VERSION),
        ("summary", _summary(result, mask)),
        ("findings", iter_findings(result, mask=mask)),
        ("sessions", iter_table(result.sessions, result_masker(result, mask))),
        ("agents", iter_table(result.agents, result_masker(result, mask))),
        ("rejected", _rejected(result, mask)),
        ("credits", iter_credits(result, mask=mask)),
    ]


def build_result(result: AuditResult, *, mask: bool = True) -> dict[str, Any]:
    """The whole JSON document as a dict (what :func:`write_json` writes)."""
    return {key: (value if key in ("version", "summary") else list(value)) for key, value in _sections(result, mask)}


def write_json(result: AuditResult, path: Path, *, mask: bool = True) -> None:
    """Write the JSON result to ``path`` atomically, one array element per line.

    The document is streamed: each record is encoded by the C encoder on its own, so a
    million-message audit neither builds the whole text in memory nor falls back to the
    slow pure-Python encoder that indentation needs."""
    encode = json.JSONEncoder(ensure_ascii=False).encode

    def write(temporary: Path) -> None:
        with temporary.open("w", encoding="utf-8") as handle:
            handle.write("{")
            for number, (key, value) in enumerate(_sections(result, mask)):
                handle.write(("\n" if number == 0 else ",\n") + encode(key) + ": ")
                if key in ("version", "summary"):
                    handle.write(encode(value))
                    continue
                handle.write("[")
                written = 0
                for record in value:
                    handle.write(("\n  " if written == 0 else ",\n  ") + encode(record))
                    written += 1
                handle.write("\n]" if written else "]")
            handle.write("\n}\n")

    atomic_write(path, write)
