"""The machine-readable result (``--json``), a public contract (version 1).

Same input and rules give byte-identical JSON (no generation time is written).
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pandas as pd

from qa.mask import mask_series
from qa.model import AuditResult
from qa.report.files import atomic_write_text
from qa.review import finding_ids
from qa.suppress import suppressed_summary

JSON_VERSION = 1


def _plain(value: Any) -> Any:
    """Turn numpy/pandas scalars into JSON-friendly Python values (NaN/NaT -> None)."""
    if value is None or value is pd.NaT:
        return None
    if isinstance(value, pd.Timestamp):
        return value.isoformat()
    if hasattr(value, "item"):
        value = value.item()
    if isinstance(value, float) and math.isnan(value):
        return None
    return value


def _timestamp(value: Any) -> str | None:
    if value is None or pd.isna(value):
        return None
    return pd.Timestamp(value).strftime("%Y-%m-%dT%H:%M:%S")


def findings_records(result: AuditResult, *, mask: bool = False) -> list[dict[str, Any]]:
    """The ``findings`` array: one dict per finding, in the result's deterministic order.

    With ``mask``, phone numbers, ID numbers and e-mails in texts are masked (lengths are
    kept, so spans still point at the match)."""
    findings = result.findings
    ids = finding_ids(findings)  # from the unmasked text: the same id with or without --no-mask
    if mask and len(findings):
        findings = findings.assign(
            text=mask_series(findings["text"]),
            match=mask_series(findings["match"]),
            context_text=mask_series(findings["context_text"]),
            reason=mask_series(findings["reason"]),  # some reasons quote the customer
        )
    records = []
    for finding_id, row in zip(ids, findings.itertuples(index=False)):
        record = {
            "id": finding_id,
            "rule": row.rule,
            "severity": row.severity,
            "session_id": row.session_id,
            "agent": row.agent,
            "timestamp": _timestamp(row.timestamp),
            "file": row.file,
            "row": int(row.row),
            "text": row.text,
            "match": row.match,
            "span": [int(row.span_start), int(row.span_end)] if row.span_start >= 0 else None,
            "reason": row.reason,
        }
        if row.sheet:
            record["sheet"] = row.sheet
        if row.context_text:
            record["context"] = row.context_text
        records.append(record)
    return records


def _table_records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    return [
        {key: _plain(value) for key, value in zip(frame.columns, values)}
        for values in frame.itertuples(index=False, name=None)
    ]


def build_result(result: AuditResult, *, mask: bool = True) -> dict[str, Any]:
    """The whole JSON document as a dict."""
    ingest = result.ingest
    by_rule = {rule.id: 0 for rule in result.rules if rule.enabled}
    if len(result.findings):
        for rule_id, count in result.findings["rule"].value_counts().sort_index().items():
            by_rule[rule_id] = int(count)
    summary = {
        "input_rows": int(ingest.input_rows),
        "audited_rows": int(len(ingest.messages)),
        "rejected_rows": int(len(ingest.rejected)),
        "sessions": int(len(result.sessions)),
        "agents": int(len(result.agents)),
        "findings": int(len(result.findings)),
        "by_rule": by_rule,
        "skipped_rules": [{"rule": s.rule, "reason": s.reason} for s in result.skipped_rules],
        "suppressed": suppressed_summary(result, mask=mask),
    }
    rejected = [
        {"file": r.file, "row": int(r.row), "reason": r.reason}
        for r in ingest.rejected.itertuples(index=False)
    ]
    return {
        "version": JSON_VERSION,
        "summary": summary,
        "findings": findings_records(result, mask=mask),
        "sessions": _table_records(result.sessions),
        "agents": _table_records(result.agents),
        "rejected": rejected,
    }


def write_json(result: AuditResult, path: Path, *, mask: bool = True) -> None:
    """Write the JSON result to ``path`` atomically (UTF-8, Chinese kept readable)."""
    text = json.dumps(build_result(result, mask=mask), ensure_ascii=False, indent=1)
    atomic_write_text(path, text + "\n")
