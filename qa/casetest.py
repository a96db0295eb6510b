"""Rule test cases: chats that a rule must flag or leave clean, run through the real tool.

Used by the test suite (tests/rules/<rule-id>.toml) and by ``qa rules test`` for the cases QA
staff keep beside their rule packs (``<name>.cases.toml``).

A case file::

    rule = "forbidden-phrase"

    [[case]]
    name = "flag_contempt_phrase"
    chat = \"\"\"
    session_id,timestamp,role,agent,text
    S1,2026-11-20 10:00:00,customer,,我的快递还没到
    S1,2026-11-20 10:01:00,agent,小美,我已经说过很多遍了
    \"\"\"
    expect = [{ row = 3, match = "我已经说过很多遍了" }]

    [[case]]
    name = "clean_polite_question"
    params = { }            # optional overrides of the rule's parameters
    chat = \"\"\"...\"\"\"
    expect = []             # must stay clean

The chat goes through the real loader (it is written to a CSV file). Each expected finding
is compared on the keys it lists (row, match, severity, reason_contains, role ...); the number
of findings must equal the number expected.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

CASE_KEYS = {"name", "chat", "expect", "params", "note", "columns", "file_name"}


@dataclass
class RuleCase:
    """One chat and the findings one rule must produce on it."""

    rule: str
    name: str
    chat: str
    expect: list[dict[str, Any]]
    params: dict[str, Any]
    columns: dict[str, str]
    file_name: str
    source: Path

    @property
    def id(self) -> str:
        """``rule::name``, the case's id in test output."""
        return f"{self.rule}::{self.name}"


def load_case_file(path: Path) -> list[RuleCase]:
    """Parse one case file, refusing unknown keys so typos cannot silently skip a check."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as error:
        raise ValueError(f"{path}: cannot read cases: {error}") from None
    if not isinstance(data.get("rule"), str):
        raise ValueError(f"{path}: a case file needs rule = \"<rule id>\"")
    rule = data["rule"]
    cases = []
    for raw in data.get("case", []):
        unknown = set(raw) - CASE_KEYS
        if unknown:
            raise ValueError(f"{path}: case {raw.get('name')}: unknown keys {sorted(unknown)}")
        cases.append(
            RuleCase(
                rule=rule,
                name=raw["name"],
                chat=raw["chat"].strip("\n") + "\n",
                expect=list(raw["expect"]),
                params=dict(raw.get("params", {})),
                columns=dict(raw.get("columns", {})),
                file_name=raw.get("file_name", "chat.csv"),
                source=path,
            )
        )
    return cases


def load_case_files(paths: list[Path]) -> list[RuleCase]:
    """Every case of the given case files, in order."""
    cases: list[RuleCase] = []
    for path in paths:
        cases.extend(load_case_file(path))
    return cases


def run_case(case: RuleCase, work_dir: Path, rules: list | None = None) -> list[dict[str, Any]]:
    """Audit the case's chat with its rule only (from ``rules``, default the built-in ones);
    return the findings as JSON-like dicts."""
    from qa.audit.run import AuditOptions, audit
    from qa.report.json_report import findings_records
    from qa.rules import load_rules, with_params

    rules = [rule for rule in (rules if rules is not None else load_rules()) if rule.id == case.rule]
    if not rules:
        raise LookupError(f"no built-in rule '{case.rule}'")
    rule = rules[0]
    if case.params:
        rule = with_params(rule, case.params, case.source)
    path = work_dir / case.file_name
    path.write_text(case.chat, encoding="utf-8")
    # Findings only: the verdict of a case is its findings, and scoring and credits (which
    # never change them) were two thirds of the time of each case's audit.
    result = audit([str(path)], AuditOptions(columns=case.columns), rules=[rule], score=False)
    return findings_records(result)


def compare(case: RuleCase, actual: list[dict[str, Any]]) -> list[str]:
    """Differences between expected and actual findings, as readable lines ([] = pass)."""
    problems: list[str] = []
    wanted = sorted(case.expect, key=lambda e: (e.get("row", 0), e.get("match", "")))
    got = sorted(actual, key=lambda f: (f["row"], f["match"]))
    if len(wanted) != len(got):
        problems.append(f"expected {len(wanted)} finding(s), got {len(got)}")
    for expected, finding in zip(wanted, got):
        for key, value in expected.items():
            if key == "reason_contains":
                if value not in finding["reason"]:
                    problems.append(f"row {finding['row']}: reason {finding['reason']!r} lacks {value!r}")
            elif finding.get(key) != value:
                problems.append(f"row {finding['row']}: {key} = {finding.get(key)!r}, expected {value!r}")
    if problems:
        problems.append("actual: " + "; ".join(
            f"row {f['row']} {f['severity']} match={f['match']!r} reason={f['reason']!r}" for f in got
        ) if got else "actual: no findings")
    return problems
