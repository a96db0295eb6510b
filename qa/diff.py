"""Compare two audits of the same logs (base rules vs changed rules): what a rule change does.

Findings are matched by (file, sheet, row, rule); for each rule the added and removed
findings are counted with a few examples, and each agent's score change is listed.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd

from qa.mask import mask_finding, mask_text
from qa.model import AuditResult
from qa.report.files import atomic_write_text

_KEY = ["file", "sheet", "row", "rule"]


def _examples(frame: pd.DataFrame, limit: int) -> list[dict[str, Any]]:
    examples = []
    for r in frame.head(limit).itertuples(index=False):
        # Always masked: a diff is printed and shared, and has no --no-mask.
        text, _, reason, _ = mask_finding(str(r.text), "", -1, -1, str(r.reason))
        examples.append({"file": mask_text(str(r.file)), "row": int(r.row), "severity": r.severity, "text": text,
                         "reason": reason})
    return examples


def diff_audits(base: AuditResult, changed: AuditResult, *, examples: int = 5) -> dict[str, Any]:
    """The difference between two audits as a JSON-ready dict."""
    before = base.findings[_KEY + ["severity", "text", "reason"]]
    after = changed.findings[_KEY + ["severity", "text", "reason"]]
    merged = before.merge(after, on=_KEY, how="outer", suffixes=("_base", ""), indicator=True)
    added = merged[merged["_merge"] == "right_only"]
    removed = merged[merged["_merge"] == "left_only"].assign(
        severity=lambda f: f["severity_base"], text=lambda f: f["text_base"], reason=lambda f: f["reason_base"]
    )
    rule_ids = sorted(set(before["rule"]) | set(after["rule"]) | {r.id for r in changed.rules} | {r.id for r in base.rules})
    per_rule = []
    for rule_id in rule_ids:
        rule_added = added[added["rule"] == rule_id]
        rule_removed = removed[removed["rule"] == rule_id]
        per_rule.append({
            "rule": rule_id,
            "base": int((before["rule"] == rule_id).sum()),
            "changed": int((after["rule"] == rule_id).sum()),
            "added": int(len(rule_added)),
            "removed": int(len(rule_removed)),
            "added_examples": _examples(rule_added, examples),
            "removed_examples": _examples(rule_removed, examples),
        })
    scores = _agent_columns(base).merge(_agent_columns(changed), on="agent", how="outer", suffixes=("_base", "_changed"))
    scores["delta"] = (scores["score_changed"] - scores["score_base"]).round(1)
    scores = scores.sort_values(["delta", "agent"], kind="stable")
    agents = [
        {"agent": mask_text(str(a.agent)), "score_base": _number(a.score_base), "score_changed": _number(a.score_changed),
         "delta": _number(a.delta), "findings_base": _count(a.findings_base),
         "findings_changed": _count(a.findings_changed), "credits_base": _count(a.credits_base),
         "credits_changed": _count(a.credits_changed)}
        for a in scores.itertuples(index=False)
    ]
    return {
        "version": 1,
        "findings_base": int(len(before)),
        "findings_changed": int(len(after)),
        "rules": per_rule,
        "agents": agents,
    }


def _agent_columns(result: AuditResult) -> pd.DataFrame:
    """agent, score, findings and credits (total credits for good practice; None when the
    audit counted none) of an audit's agents."""
    agents = result.agents
    credits = agents["credits"] if "credits" in agents else pd.Series([None] * len(agents), index=agents.index)
    return pd.DataFrame({
        "agent": agents["agent"], "score": agents["score"],
        "findings": agents["findings"] if "findings" in agents else None,
        "credits": [sum(int(v) for v in c.values() if not isinstance(v, dict)) if isinstance(c, dict) else None
                    for c in credits],
    })


def _count(value: Any) -> int | None:
    return None if value is None or pd.isna(value) else int(value)


def _number(value: Any) -> float | None:
    return None if pd.isna(value) else float(value)


def print_diff(report: dict[str, Any], echo: Callable[[str], None]) -> None:
    """Print the diff for a person: per rule counts and examples, then score changes."""
    echo(f"findings: {report['findings_base']} -> {report['findings_changed']}")
    for rule in report["rules"]:
        if not (rule["added"] or rule["removed"]):
            echo(f"  {rule['rule']}: {rule['base']} (unchanged)")
            continue
        echo(f"  {rule['rule']}: {rule['base']} -> {rule['changed']} (+{rule['added']} -{rule['removed']})")
        for sign, key in (("+", "added_examples"), ("-", "removed_examples")):
            for example in rule[key]:
                echo(f"    {sign} {example['file']}:{example['row']} {example['text'][:60]}  — {example['reason']}")
    moved = [a for a in report["agents"] if a["delta"] not in (0.0, None)]
    if moved:
        echo("agent scores:")
        for agent in moved:
            echo(f"  {agent['agent']}: {agent['score_base']} -> {agent['score_changed']} ({agent['delta']:+.1f})")
    else:
        echo("agent scores: unchanged")
    credited = [a for a in report["agents"] if a.get("credits_base") != a.get("credits_changed")]
    if credited:
        echo("agent credits (good practice):")
        for agent in credited:
            echo(f"  {agent['agent']}: {agent.get('credits_base')} -> {agent.get('credits_changed')}")


def write_diff_json(report: dict[str, Any], path: Path) -> None:
    """Write the diff as JSON, atomically."""
    atomic_write_text(path, json.dumps(report, ensure_ascii=False, indent=1) + "\n")
